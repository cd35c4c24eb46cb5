//! Autokey on `manycastclient … autokey` and `manycastserver` (RFC 5906
//! §4 "manycast mode", brief §4.4), as the reference runs it:
//!
//! - The solicitor (the `manycastclient` association) is an Autokey client
//!   whose remote is the group: each solicitation carries an ASSOC request
//!   and a session-key MAC keyed (local address, group address, key ID,
//!   cookie 0) — cookie 0 because it carries a field (brief §5.2).
//! - The manycast server verifies that MAC with the group as destination
//!   and answers on the fast path from its unicast address, with the
//!   session key bound to that address (the reference's `fast_xmit()`
//!   swaps the multicast socket for the unicast interface first). No
//!   crypto-NAK goes to a group.
//! - The solicitor's host checks the reply's MAC (cookie 0: it carries the
//!   ASSOC response) before the reply may mobilise a client association
//!   (the reference's `AM_MANYCAST`, which requires `AUTH(…)`); the
//!   reply's fields are not processed further. The new association is an
//!   ordinary `server … autokey` client of the server's unicast address
//!   and runs the whole dance (ASSOC, CERT, identity, COOK, AUTO, SIGN,
//!   LEAP) itself.

use std::net::{IpAddr, SocketAddr};

use proto::PacketRef;

use super::Core;
use crate::auth::AuthOutcome;

/// Why an Autokey manycast packet was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ManycastAutokeyError {
    /// No `crypto` line: no session keys can be computed.
    #[error("Autokey is not configured here (no `crypto` line)")]
    NoCrypto,
    /// No extension field: its MAC would use a cookie the receiver does
    /// not hold (a solicitation and its answer always carry one).
    #[error("no extension field (a manycast solicitation and its answer carry ASSOC)")]
    NoField,
    /// The session-key MAC did not verify.
    #[error("session-key MAC does not verify with cookie 0 from {src} to {dst}: {source}")]
    Mac {
        /// The sender.
        src: IpAddr,
        /// The destination the key was computed for.
        dst: IpAddr,
        /// The engine's reason.
        source: autokey::AutokeyError,
    },
}

/// Verifies the session-key MAC of an Autokey packet with a field from
/// `src` to `dst`: cookie 0, the rule for every packet with a field
/// (brief §5.2); the key ID is the packet's own.
pub fn verify_cookie0(
    digest: autokey::session::SessionDigest,
    packet: &PacketRef<'_>,
    src: IpAddr,
    dst: IpAddr,
) -> Result<u32, ManycastAutokeyError> {
    if packet.field_count() == 0 {
        return Err(ManycastAutokeyError::NoField);
    }
    let mac_err = |source| ManycastAutokeyError::Mac { src, dst, source };
    let (mac, key_id) = autokey::session::autokey_mac(packet).map_err(mac_err)?;
    autokey::session::SessionKey::derive(digest, src, dst, key_id, 0)
        .and_then(|k| k.verify(packet.authenticated_bytes(), mac))
        .map_err(mac_err)?;
    Ok(key_id)
}

impl Core {
    /// A manycast solicitation with an Autokey MAC sent to our
    /// `manycastserver` `group` by `peer`: answered on the budgeted
    /// Autokey fast path from our unicast address towards `peer` if its
    /// MAC verifies with the group as destination; otherwise dropped
    /// silently (no crypto-NAK to a group, as the reference).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn manycast_autokey_reply(
        &mut self,
        buf: &[u8],
        packet: &PacketRef<'_>,
        rx: proto::NtpTimestamp,
        peer: IpAddr,
        group: IpAddr,
        out: &mut [u8],
    ) -> Option<usize> {
        let digest = self.autokey.as_ref()?.host.digest();
        if let Err(e) = verify_cookie0(digest, packet, peer, group) {
            crate::limited!(
                DEBUG,
                "manycast solicitation from {peer} to {group} not answered: {e}"
            );
            self.stats.badauth += 1;
            return None;
        }
        // The event loop sends the reply from the route's source towards
        // the solicitor (never the group): the session key is bound there.
        let Some(from) = self.env.route_to(SocketAddr::new(peer, 123)) else {
            crate::limited!(
                DEBUG,
                "manycast solicitation from {peer}: no route back to it, not answered"
            );
            return None;
        };
        self.budgeted_autokey_reply(buf, packet, rx, peer, group, from, out)
    }

    /// The keyring's `outcome` of a server's answer to the Autokey
    /// solicitation of `manycastclient` association `parent`, judged with
    /// the session key: an Autokey MAC that verifies (cookie 0, from `src`
    /// to our address `dst`) becomes [`AuthOutcome::Ok`] with its session
    /// key ID, one that does not becomes [`AuthOutcome::Error`] (logged,
    /// naming why); anything else, or a solicitor without `autokey`, is
    /// left as it is.
    pub(super) fn judge_manycast_answer(
        &self,
        packet: &PacketRef<'_>,
        outcome: AuthOutcome,
        parent: usize,
        src: IpAddr,
        dst: Option<IpAddr>,
    ) -> AuthOutcome {
        let AuthOutcome::Autokey(id) = outcome else {
            return outcome;
        };
        if !self.assocs.get(parent).is_some_and(|p| p.assoc.cfg.autokey) {
            return outcome;
        }
        let judged = match (&self.autokey, dst) {
            (None, _) => Err(ManycastAutokeyError::NoCrypto),
            (Some(ak), Some(dst)) => verify_cookie0(ak.host.digest(), packet, src, dst),
            (Some(_), None) => Err(ManycastAutokeyError::NoField),
        };
        match judged {
            Ok(key_id) => AuthOutcome::Ok(key_id),
            Err(e) => {
                crate::limited!(
                    WARN,
                    "manycast: answer from {src} does not mobilise an Autokey association: {e}"
                );
                AuthOutcome::Error(id)
            }
        }
    }
}
