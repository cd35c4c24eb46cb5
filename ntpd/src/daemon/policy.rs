//! Who may do what (RFC 5905 §9.2's mobilisation table, the reference's
//! restrict list and keys): the access list and MRU list, the symmetric
//! keys, whether ephemeral associations need authentication and the
//! assumed broadcast delay they start with.

use std::net::IpAddr;

use proto::PacketRef;

use crate::access::Access;
use crate::auth::{AuthOutcome, KeyRing};

/// The core's policy.
#[derive(Debug)]
pub struct Policy {
    /// Access list, MRU list.
    pub access: Access,
    /// Symmetric keys.
    pub keys: KeyRing,
    /// Ephemeral associations need authentication (`enable auth`, `-a`).
    pub auth_required: bool,
    /// `broadcastdelay`, seconds, when configured (without it a broadcast
    /// client assumes `BDELAY` until its calibration volley measures the
    /// delay).
    pub broadcast_delay: Option<f64>,
}

impl Policy {
    /// Whether a new broadcast client skips the calibration volley: with
    /// a positive `broadcastdelay`, as the reference 4.2.8 (its
    /// `sys_bdelay > 0` test in `receive()`); unset, or 0, it runs it.
    pub fn skips_broadcast_volley(&self) -> bool {
        self.broadcast_delay.is_some_and(|d| d > 0.0)
    }

    /// The keyring's verdict on the MAC of `p` from `peer` (RFC 5905
    /// §7.3): checked once per packet, by the receive path.
    pub fn check(&self, p: &PacketRef<'_>, peer: IpAddr) -> AuthOutcome {
        self.keys.check(p.authenticated_bytes(), p.mac(), peer)
    }
}
