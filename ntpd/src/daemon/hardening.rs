//! The core's defences against unauthenticated traffic that would
//! exhaust, amplify or flood (issue 15), kept apart from the receive path
//! so that it calls them in a line each: the Autokey server budgets
//! ([`crate::access::autokey_budget`]) and the ephemeral slot ledger
//! ([`super::ephemeral`]).

use std::net::IpAddr;

use proto::PacketRef;

use super::ephemeral::EphemeralLedger;
use super::Core;
use crate::access::autokey_budget::{AutokeyBudget, AutokeyBudgetConfig, AutokeyWork};

/// The state of the defences.
#[derive(Debug, Clone)]
pub struct Hardening {
    /// Per-source and global budgets of the Autokey server fast path.
    pub autokey: AutokeyBudget,
    /// Ephemeral associations: when mobilised, whether authenticated.
    pub ephemeral: EphemeralLedger,
}

impl Hardening {
    /// Full budgets and an empty ledger at monotonic time `now`.
    pub fn new(now: f64) -> Self {
        Hardening {
            autokey: AutokeyBudget::new(AutokeyBudgetConfig::default(), now),
            ephemeral: EphemeralLedger::default(),
        }
    }
}

impl Core {
    /// [`Core::autokey_reply`] within the Autokey budgets: a request with
    /// a field is answered only while its source and the daemon are within
    /// them, and is then charged its octets beyond the request and its
    /// private-key work (RFC 5906 §14). `dst` is where the request came,
    /// `from` where the reply leaves (they differ for a manycast group).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn budgeted_autokey_reply(
        &mut self,
        buf: &[u8],
        packet: &PacketRef<'_>,
        rx: proto::NtpTimestamp,
        peer: IpAddr,
        dst: IpAddr,
        from: IpAddr,
        out: &mut [u8],
    ) -> Option<usize> {
        let now = self.env.monotonic();
        let work = AutokeyWork::of_request(packet);
        if let Err(why) = self.hardening.autokey.admit(peer, work, now) {
            crate::limited!(DEBUG, "Autokey request from {peer} not answered: {why}");
            return None;
        }
        let naks = self.stats.crypto_naks;
        let n = self.autokey_reply(buf, packet, rx, peer, (dst, from), out);
        let worked = n.is_some() && self.stats.crypto_naks == naks;
        self.hardening
            .autokey
            .charge(peer, work, buf.len(), n.unwrap_or(0), worked);
        n
    }
}
