//! The symmetric keys file written by `ntp-keygen -M` (brief §8.7): the
//! header lines, then keys 1–10 as 20 printable ASCII characters
//! (0x21–0x7e without `#`) for MD5 and keys 11–20 as 40 hex digits for
//! SHA1. Linked as `ntp.keys`.

use openssl::rand::rand_bytes;

use crate::error::{KeyError, Result};

/// Number of keys of each kind.
pub const KEYS_PER_KIND: usize = 10;
/// Key length in octets.
pub const KEY_LEN: usize = 20;

/// The key lines (without the header).
pub fn generate_lines() -> Result<String> {
    let mut out = String::new();
    for id in 1..=KEYS_PER_KIND {
        let mut key = String::with_capacity(KEY_LEN);
        while key.len() < KEY_LEN {
            let mut b = [0u8; 1];
            rand_bytes(&mut b).map_err(|e| KeyError::crypto("random bytes", e))?;
            if b[0] > 0x20 && b[0] < 0x7f && b[0] != b'#' {
                key.push(char::from(b[0]));
            }
        }
        out.push_str(&format!("{id:2} MD5 {key}  # MD5 key\n"));
    }
    for id in 1..=KEYS_PER_KIND {
        let mut raw = [0u8; KEY_LEN];
        rand_bytes(&mut raw).map_err(|e| KeyError::crypto("random bytes", e))?;
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!(
            "{:2} SHA1 {hex}  # SHA1 key\n",
            id + KEYS_PER_KIND
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_keys_in_reference_format() {
        let text = generate_lines().unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 20);
        for (i, line) in lines.iter().enumerate() {
            let f: Vec<_> = line.split_whitespace().collect();
            assert_eq!(f[0].parse::<usize>().unwrap(), i + 1);
            if i < 10 {
                assert_eq!(f[1], "MD5");
                assert_eq!(f[2].len(), 20);
                assert!(f[2].bytes().all(|b| (0x21..0x7f).contains(&b) && b != b'#'));
                assert!(line.ends_with("  # MD5 key"));
            } else {
                assert_eq!(f[1], "SHA1");
                assert_eq!(f[2].len(), 40);
                assert!(f[2].bytes().all(|b| b.is_ascii_hexdigit()));
            }
        }
        assert!(lines[0].starts_with(" 1 MD5 "));
    }
}
