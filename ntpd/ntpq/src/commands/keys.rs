//! The authentication settings (RFC 9327 §4): `keyid`, `keytype`,
//! `passwd` and `authenticate`. The key itself is resolved in
//! `crate::auth` when a request is signed.

use crate::auth::MAX_KEY_ID;

use super::Ntpq;

impl Ntpq {
    /// `keyid [ID]`: show or set the key id requests are signed with.
    pub(super) fn keyid_cmd(&mut self, id: Option<u64>, out: &mut String) {
        match id {
            None if self.auth.key_id == 0 => out.push_str("no keyid defined\n"),
            None => out.push_str(&format!("keyid is {}\n", self.auth.key_id)),
            Some(v) => match u32::try_from(v) {
                Ok(id) if id <= MAX_KEY_ID => self.auth.key_id = id,
                _ => out.push_str("Invalid key identifier\n"),
            },
        }
    }

    /// `keytype [NAME]`: show or set the digest of `passwd` keys.
    pub(super) fn keytype_cmd(&mut self, name: Option<&str>, out: &mut String) {
        match name {
            None => out.push_str(&format!(
                "keytype is {} with {} octet digests\n",
                self.auth.key_type.name(),
                self.auth.key_type.digest_len().min(ntp_mac::MAX_DIGEST)
            )),
            Some(name) => {
                if !self.auth.set_type(name) {
                    out.push_str(
                        "keytype is not valid. Type \"help keytype\" for the available digest types.\n",
                    );
                }
            }
        }
    }

    /// `passwd PASSWORD`: the secret of the current key id.
    pub(super) fn passwd_cmd(&mut self, password: Option<&str>, out: &mut String) {
        match password {
            Some(pw) if !pw.is_empty() => self.auth.set_password(pw),
            _ => out.push_str("Password unchanged\n"),
        }
    }

    /// `authenticate [yes|no]`: sign every request, or only those that
    /// need it.
    pub(super) fn authenticate_cmd(&mut self, arg: Option<&str>, out: &mut String) {
        match arg {
            None if self.auth.always => out.push_str("authenticated requests being sent\n"),
            None => out.push_str("unauthenticated requests being sent\n"),
            Some("yes") => self.auth.always = true,
            Some("no") => self.auth.always = false,
            Some(_) => eprintln!("What?"),
        }
    }
}
