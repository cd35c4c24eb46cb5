//! The symmetric keys file `ntp-keygen -M` writes (keystore) is read back by
//! the daemon's keys-file parser (config) with every key intact.

use std::path::Path;

use config::keys::{parse_str, KeyType};

#[test]
fn keygen_m_output_parses_with_every_key_intact() {
    // Random keys: repeat so that unusual printable characters (quotes,
    // backslashes, '=' …) are exercised.
    for _ in 0..50 {
        let text = format!(
            "# ntpkey_MD5key_alice.4004757732\n# Fri Nov 27 08:42:12 2026\n{}",
            keystore::symkeys::generate_lines().expect("generate keys")
        );
        let keys =
            parse_str(&text, Path::new("ntp.keys")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(keys.warnings.is_empty(), "{:?}\n{text}", keys.warnings);
        assert_eq!(keys.keys.len(), 20);
        for (i, (key, line)) in keys.keys.iter().zip(text.lines().skip(2)).enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(usize::from(key.id.get()), i + 1);
            if i < 10 {
                assert_eq!(key.kind, KeyType::Md5);
                assert_eq!(key.secret, fields[2].as_bytes(), "{line}");
            } else {
                assert_eq!(key.kind, KeyType::Sha1);
                let hex: String = key.secret.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(hex, fields[2], "{line}");
            }
        }
    }
}
