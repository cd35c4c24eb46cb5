//! Writing a [`KeysFile`] back in keys file syntax (canonical form: one key
//! per line, canonical type names, lower-case hex).

use std::fmt::Write as _;

use super::access::valid_scope;
use super::{KeysFile, KeysWriteError, SymmetricKey, MAX_ASCII_KEY_LEN, MAX_SECRET_LEN};

impl KeysFile {
    /// The keys in keys file syntax; parsing the result gives the same keys
    /// (ids, types, secrets, address lists). A secret is written as ASCII
    /// when it has at most 20 printable characters other than `#`, else as
    /// hex, which needs 11 to 64 octets.
    pub fn to_keys_string(&self) -> Result<String, KeysWriteError> {
        let mut out = String::new();
        for key in &self.keys {
            write_key(&mut out, key)?;
        }
        Ok(out)
    }
}

fn write_key(out: &mut String, key: &SymmetricKey) -> Result<(), KeysWriteError> {
    let id = key.id.get();
    let secret = &key.secret;
    if secret.is_empty() {
        return Err(KeysWriteError::EmptySecret { id });
    }
    let _ = write!(out, "{} {} ", key.id, key.kind);
    let ascii_ok = secret.len() <= MAX_ASCII_KEY_LEN
        && secret.iter().all(|&b| b.is_ascii_graphic() && b != b'#');
    if ascii_ok {
        // All bytes are printable ASCII.
        out.extend(secret.iter().map(|&b| char::from(b)));
    } else if secret.len() * 2 > MAX_ASCII_KEY_LEN && secret.len() <= MAX_SECRET_LEN {
        for b in secret {
            let _ = write!(out, "{b:02x}");
        }
    } else {
        return Err(KeysWriteError::Unrepresentable {
            id,
            len: secret.len(),
        });
    }
    for (i, a) in key.allowed.iter().enumerate() {
        if let Some(scope) = &a.scope {
            if !valid_scope(scope) || a.addr.is_ipv4() {
                return Err(KeysWriteError::BadScope {
                    id,
                    scope: scope.clone(),
                });
            }
        }
        out.push(if i == 0 { ' ' } else { ',' });
        let _ = write!(out, "{a}");
    }
    out.push('\n');
    Ok(())
}
