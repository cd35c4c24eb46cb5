//! The counters of `ntpq -c authinfo` (RFC 9327
//! system variables; the reference's `ntp_control.c` names) as this
//! daemon has them. Where the reference counts something this daemon
//! does not have, the value says so (0, or what stands in its place); what
//! each one means here is written at its arm below.

use super::control::ControlView;
use crate::mode6::SystemCounter;

impl ControlView<'_> {
    /// The `authinfo` counters; `None` for the others.
    pub(super) fn auth_io_mru_counter(&self, c: SystemCounter) -> Option<u64> {
        use SystemCounter as C;
        let uptime = (self.now - self.started).max(0.0) as u64;
        let auth = self.keys.counts();
        Some(match c {
            // The counters are never reset: their age is the daemon's.
            C::AuthReset => uptime,
            // Keys read from the keys file (Autokey session keys live in
            // each association's Autokey engine and are not among them).
            C::AuthKeys => self.keys.len() as u64,
            // The reference preallocates key slots; keys here are held in
            // a map that grows as needed, so no slot is ever free.
            C::AuthFreeKeys => 0,
            C::AuthKeyLookups => auth.lookups,
            C::AuthKeyNotFound => auth.not_found,
            // No one-key cache here: every lookup searches the key table.
            C::AuthKeyUncached => auth.lookups,
            // Symmetric keys have no lifetime here: none expires.
            C::AuthKeyExpired => 0,
            C::AuthEncrypts => auth.encryptions,
            C::AuthDecrypts => auth.decryptions,
            _ => return None,
        })
    }
}
