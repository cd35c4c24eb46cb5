//! Fuzz the symmetric keys file reader: any input parses to keys or to an
//! error, never panics; whatever parses is written back canonically and
//! re-parses to the same keys.
#![no_main]
#![forbid(unsafe_code)]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = Path::new("fuzz.keys");
    let Ok(file) = config::keys::parse_bytes(data, name) else {
        return;
    };
    // Secrets of 1..=10 non-printable octets have no keys-file spelling;
    // everything else must round-trip.
    if let Ok(text) = file.to_keys_string() {
        let back = config::keys::parse_str(&text, name).expect("canonical keys text re-parses");
        assert_eq!(back.keys.len(), file.keys.len());
        for (a, b) in file.keys.iter().zip(&back.keys) {
            assert_eq!(
                (a.id, a.kind, &a.secret, &a.allowed),
                (b.id, b.kind, &b.secret, &b.allowed)
            );
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = config::keys::parse_str(text, name);
    }
});
