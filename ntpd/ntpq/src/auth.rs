//! Authenticated requests (RFC 9327 §4 / RFC 5905 §7.3 MAC): the key id,
//! key type and secret ntpq signs write and configuration requests with,
//! from a keys file (`-k`) or the `keyid`/`keytype`/`passwd` commands.

use std::io::BufRead;
use std::path::Path;

use config::keys::{KeyType, KeysFile, TypeMatch};
use proto::control::{ControlMac, ControlMessage};

/// Highest key id (`NTP_MAXKEY`).
pub const MAX_KEY_ID: u32 = 65_535;

/// A resolved signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The key ID sent in the MAC, 1 to [`MAX_KEY_ID`].
    pub id: u32,
    /// The digest or CMAC algorithm (RFC 5905 §7.3, RFC 8573).
    pub kind: KeyType,
    /// The secret, octets (never printed).
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for RequestKey {
    // The secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestKey")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish()
    }
}

/// What ntpq knows about keys.
#[derive(Debug, Clone)]
pub struct AuthState {
    /// The `-k` keys file, when one was given and read.
    pub keys: Option<KeysFile>,
    /// `keyid`: the key ID to sign with (0 until set).
    pub key_id: u32,
    /// `keytype`: the algorithm used with a `passwd` secret.
    pub key_type: KeyType,
    password: Option<Vec<u8>>,
    /// `authenticate yes`: sign every request.
    pub always: bool,
}

impl Default for AuthState {
    fn default() -> Self {
        Self {
            keys: None,
            key_id: 0,
            key_type: KeyType::Md5,
            password: None,
            always: false,
        }
    }
}

/// Reads a keys file, with a message naming the file on failure.
pub fn load_keys(path: &Path) -> Result<KeysFile, String> {
    config::keys::load(path).map_err(|e| format!("{e}"))
}

/// Reads a line from the controlling terminal after a prompt on stderr.
fn prompt_tty(prompt: &str) -> Option<String> {
    let tty = std::fs::File::open("/dev/tty").ok()?;
    eprint!("{prompt}");
    let mut line = String::new();
    std::io::BufReader::new(tty).read_line(&mut line).ok()?;
    Some(line.trim_end_matches(['\r', '\n']).to_string())
}

impl AuthState {
    /// `keytype NAME`: a digest the MAC code implements.
    pub fn set_type(&mut self, name: &str) -> bool {
        match KeyType::from_keys_file(name) {
            Some(TypeMatch::Exact(t)) if t.is_implemented() => {
                self.key_type = t;
                true
            }
            _ => false,
        }
    }

    /// `passwd PASSWORD`: the secret for the current key id, used as is.
    pub fn set_password(&mut self, pw: &str) {
        self.password = Some(pw.as_bytes().to_vec());
    }

    /// The key to sign with: the current key id (asked for on the terminal
    /// if unset), with the `passwd` secret and `keytype`, else the keys
    /// file's entry. Prints the reference's message and returns `None`
    /// when there is none.
    pub fn request_key(&mut self) -> Option<RequestKey> {
        if self.key_id == 0 {
            let id = prompt_tty("Keyid: ").and_then(|s| s.trim().parse::<u32>().ok());
            match id {
                Some(id @ 1..=MAX_KEY_ID) => self.key_id = id,
                _ => {
                    eprintln!("Invalid key identifier");
                    return None;
                }
            }
        }
        if let Some(pw) = &self.password {
            return Some(RequestKey {
                id: self.key_id,
                kind: self.key_type,
                secret: pw.clone(),
            });
        }
        match self.keys.as_ref().and_then(|k| k.get_u32(self.key_id)) {
            Some(k) => Some(RequestKey {
                id: self.key_id,
                kind: k.kind,
                secret: k.secret.clone(),
            }),
            None => {
                eprintln!(
                    "Key {} not found (give a keys file with -k, or the password with `passwd')",
                    self.key_id
                );
                None
            }
        }
    }
}

/// `msg` padded to an 8-octet boundary and followed by the key id and the
/// digest of header, data and padding.
pub fn sign(msg: ControlMessage, key: &RequestKey) -> Result<ControlMessage, String> {
    let digest = ntp_mac::compute(key.kind, &key.secret, &msg.authenticated_bytes())
        .map_err(|e| e.to_string())?;
    let mac = ControlMac::new(key.id, digest.as_bytes()).map_err(|e| e.to_string())?;
    Ok(msg.with_mac(mac))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::control::{ControlHeader, Opcode};

    #[test]
    fn signed_request_verifies() {
        let key = RequestKey {
            id: 7,
            kind: KeyType::Md5,
            secret: b"secret".to_vec(),
        };
        let h = ControlHeader::request(2, Opcode::WriteVariables, 1, 0);
        let msg = ControlMessage::new(h, b"foo=1").unwrap();
        let signed = sign(msg, &key).unwrap();
        let bytes = signed.serialize();
        // 12 + 5 data, padded to 24, then 4 + 16.
        assert_eq!(bytes.len(), 44);
        let parsed = ControlMessage::parse(&bytes).unwrap();
        let mac = parsed.mac().unwrap();
        assert_eq!(mac.key_id, 7);
        assert!(ntp_mac::verify(
            KeyType::Md5,
            b"secret",
            &bytes[..24],
            mac.digest()
        ));
    }

    #[test]
    fn key_types() {
        let mut a = AuthState::default();
        assert!(a.set_type("sha1"));
        assert_eq!(a.key_type, KeyType::Sha1);
        assert!(!a.set_type("sha3-512"));
        assert!(!a.set_type("nonsense"));
    }
}
