//! PEM blocks inside `ntp-keygen` files and decryption of private keys.
//!
//! The reference reads private keys with OpenSSL's generic loader, so a
//! key file may hold encrypted PKCS#8 (any PBES2 parameters), traditional
//! `Proc-Type: 4,ENCRYPTED` PEM, or unencrypted PKCS#8 / traditional keys
//! (brief §8.4). An MV trusted-authority file holds several keys in a row.

use std::path::Path;

use openssl::pkey::{PKey, Private};

use crate::error::{KeyError, Result};

/// One `-----BEGIN <label>----- ... -----END <label>-----` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock<'a> {
    /// The label, e.g. `ENCRYPTED PRIVATE KEY`.
    pub label: &'a str,
    /// The whole block including the BEGIN and END lines.
    pub text: &'a str,
}

impl PemBlock<'_> {
    /// True when the block needs a password: PKCS#8 `ENCRYPTED PRIVATE KEY`
    /// or a traditional key with a `Proc-Type: 4,ENCRYPTED` header.
    pub fn is_encrypted(&self) -> bool {
        self.label == "ENCRYPTED PRIVATE KEY" || self.text.contains("Proc-Type: 4,ENCRYPTED")
    }
}

/// Splits text into its PEM blocks, in order, ignoring anything outside
/// them (the header comment lines).
pub fn blocks(text: &str) -> Vec<PemBlock<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let after = &rest[begin + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[begin..].find(&end_marker) else {
            break;
        };
        let stop = begin + end + end_marker.len();
        out.push(PemBlock {
            label: &text[offset + begin + 11..offset + begin + 11 + label_end],
            text: &text[offset + begin..offset + stop],
        });
        offset += stop;
        rest = &rest[stop..];
    }
    out
}

/// Decodes one private-key block, decrypting it with `password` when it is
/// encrypted. `path` names the file in errors.
pub fn private_key(
    path: &Path,
    block: &PemBlock<'_>,
    password: Option<&str>,
) -> Result<PKey<Private>> {
    let pem = block.text.as_bytes();
    if block.is_encrypted() {
        let Some(pw) = password.filter(|p| !p.is_empty()) else {
            return Err(KeyError::WrongPassword {
                path: path.to_path_buf(),
            });
        };
        PKey::private_key_from_pem_passphrase(pem, pw.as_bytes()).map_err(|_| {
            KeyError::WrongPassword {
                path: path.to_path_buf(),
            }
        })
    } else {
        // Never let OpenSSL prompt on the terminal: give it an empty callback.
        PKey::private_key_from_pem_callback(pem, |_buf| Ok(0))
            .map_err(|e| KeyError::corrupt(path, format!("cannot decode {}: {e}", block.label)))
    }
}

/// All private keys of a file, in order.
pub fn private_keys(path: &Path, text: &str, password: Option<&str>) -> Result<Vec<PKey<Private>>> {
    let keys: Vec<_> = blocks(text)
        .into_iter()
        .filter(|b| b.label.ends_with("PRIVATE KEY"))
        .map(|b| private_key(path, &b, password))
        .collect::<Result<_>>()?;
    if keys.is_empty() {
        return Err(KeyError::corrupt(path, "no PEM private key in the file"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_blocks_and_skips_comments() {
        let t = "# a.1\n# date\n\n-----BEGIN X-----\nAAAA\n-----END X-----\njunk\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nBB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let b = blocks(t);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].label, "X");
        assert_eq!(b[0].text, "-----BEGIN X-----\nAAAA\n-----END X-----");
        assert!(!b[0].is_encrypted());
        assert!(b[1].is_encrypted());
        assert!(b[1].text.ends_with("-----END ENCRYPTED PRIVATE KEY-----"));
    }

    #[test]
    fn unterminated_block_is_ignored() {
        assert!(blocks("-----BEGIN X-----\nAAAA\n").is_empty());
        assert!(blocks("-----BEGIN X").is_empty());
    }
}
