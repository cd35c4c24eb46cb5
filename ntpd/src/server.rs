//! The server fast path: a mode 3 request answered with a mode 4 reply
//! built in place, without an association (RFC 5905 §9.2 `fast_xmit()`),
//! and the kiss-o'-death replies (RFC 5905 §7.4).
//!
//! Reply rules:
//! * origin = the request's transmit timestamp, receive = our kernel
//!   receive time, transmit = read as late as possible (just before the
//!   MAC is computed);
//! * leap, stratum (16 sent as 0), precision, reference ID, reference time,
//!   root delay and root dispersion from the [`SystemState`]; version =
//!   the request's; poll = max(request poll, `discard average`);
//! * a reply carries a MAC only when the request did: with the same key if
//!   it verified, a crypto-NAK (4-octet key ID 0) if it did not. So an
//!   unauthenticated reply is always 48 octets, never larger than a
//!   request (which is at least 48), and an authenticated one is as long
//!   as the authenticated request's header plus MAC.
//! * a KoD is leap 3, stratum 0, the kiss code as reference ID, and the
//!   request's own poll, precision, root delay, root dispersion and
//!   reference time echoed, with origin = receive = transmit = the
//!   request's transmit timestamp: it reveals nothing of our clock.

use std::net::IpAddr;

use proto::header::HEADER_LEN;
use proto::{KissCode, LeapIndicator, Mode, NtpTimestamp, ReferenceId};

use crate::auth::{AuthOutcome, KeyRing};
use crate::system::SystemState;

/// Octets of a crypto-NAK trailer.
pub const CRYPTO_NAK_LEN: usize = 4;

/// What to put after the 48-octet header of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyAuth {
    /// Nothing: the request had no MAC.
    None,
    /// A MAC with this (trusted, verified) key.
    Key(u32),
    /// A crypto-NAK: the request's MAC did not verify.
    CryptoNak,
}

impl ReplyAuth {
    /// How a server answers a request whose MAC check gave `outcome`
    /// (the reference's `AM_FXMIT` case). `None` means: do not answer
    /// (authentication required and missing, or an Autokey key ID the
    /// fast path cannot serve, or a crypto-NAK).
    pub fn for_request(outcome: AuthOutcome, notrust: bool) -> Option<ReplyAuth> {
        match outcome {
            AuthOutcome::Ok(id) => Some(ReplyAuth::Key(id)),
            AuthOutcome::None if !notrust => Some(ReplyAuth::None),
            AuthOutcome::Error(_) => Some(ReplyAuth::CryptoNak),
            _ => None,
        }
    }
}

/// Build a mode 4 reply to the mode 3 `request` (whose header has been
/// parsed as `req`) into `out`; returns its length. `tx_time` is read
/// last. `None` if the key cannot sign for `peer` or `out` is too short.
#[allow(clippy::too_many_arguments)]
pub fn build_reply(
    request: &[u8],
    rx_time: NtpTimestamp,
    sys: &SystemState,
    auth: ReplyAuth,
    keys: &KeyRing,
    peer: IpAddr,
    out: &mut [u8],
    tx_time: impl FnOnce() -> NtpTimestamp,
) -> Option<usize> {
    let req = request.get(..HEADER_LEN)?;
    let hdr = out.get_mut(..HEADER_LEN)?;
    let version = (req[0] >> 3) & 7;
    hdr[0] = (sys.leap.to_bits() << 6) | (version << 3) | Mode::Server.to_bits();
    hdr[1] = sys.wire_stratum();
    hdr[2] = (req[2] as i8).max(sys.min_poll) as u8;
    hdr[3] = sys.precision as u8;
    hdr[4..8].copy_from_slice(&sys.wire_root_delay().to_bytes());
    hdr[8..12].copy_from_slice(&sys.wire_root_dispersion().to_bytes());
    hdr[12..16].copy_from_slice(&sys.refid.to_bytes());
    hdr[16..24].copy_from_slice(&sys.reftime.to_bytes());
    hdr[24..32].copy_from_slice(&req[40..48]);
    hdr[32..40].copy_from_slice(&rx_time.to_bytes());
    hdr[40..48].copy_from_slice(&tx_time().to_bytes());
    finish(out, auth, keys, peer)
}

/// Build a kiss-o'-death with `code` answering `request` in `reply_mode`
/// (4 for a client, 2 for a symmetric active peer) into `out`.
#[allow(clippy::too_many_arguments)]
pub fn build_kod(
    request: &[u8],
    code: KissCode,
    reply_mode: Mode,
    auth: ReplyAuth,
    keys: &KeyRing,
    peer: IpAddr,
    min_poll: i8,
    out: &mut [u8],
) -> Option<usize> {
    let req = request.get(..HEADER_LEN)?;
    let hdr = out.get_mut(..HEADER_LEN)?;
    let version = (req[0] >> 3) & 7;
    hdr[0] = (LeapIndicator::Unsynchronized.to_bits() << 6) | (version << 3) | reply_mode.to_bits();
    hdr[1] = 0;
    hdr[2] = (req[2] as i8).max(min_poll) as u8;
    hdr[3] = req[3];
    hdr[4..12].copy_from_slice(&req[4..12]);
    hdr[12..16].copy_from_slice(&ReferenceId::from_kiss_code(code).to_bytes());
    hdr[16..24].copy_from_slice(&req[16..24]);
    for at in [24, 32, 40] {
        hdr[at..at + 8].copy_from_slice(&req[40..48]);
    }
    finish(out, auth, keys, peer)
}

fn finish(out: &mut [u8], auth: ReplyAuth, keys: &KeyRing, peer: IpAddr) -> Option<usize> {
    match auth {
        ReplyAuth::None => Some(HEADER_LEN),
        ReplyAuth::CryptoNak => {
            out.get_mut(HEADER_LEN..HEADER_LEN + CRYPTO_NAK_LEN)?
                .fill(0);
            Some(HEADER_LEN + CRYPTO_NAK_LEN)
        }
        ReplyAuth::Key(id) => keys.sign(id, out, HEADER_LEN, peer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::{Header, PacketRef};
    use std::path::Path;

    fn request(version: u8, poll: i8) -> [u8; 48] {
        let mut r = [0u8; 48];
        r[0] = (version << 3) | 3;
        r[2] = poll as u8;
        r[3] = (-20i8) as u8;
        r[4..8].copy_from_slice(&[0, 0, 1, 0]);
        r[40..48].copy_from_slice(&[0xe8, 1, 2, 3, 4, 5, 6, 7]);
        r
    }

    fn synced() -> SystemState {
        SystemState {
            leap: LeapIndicator::NoWarning,
            stratum: 2,
            precision: -23,
            refid: ReferenceId::from_ipv4([192, 0, 2, 7].into()),
            reftime: NtpTimestamp::from_parts(0xe800_0000, 0x8000_0000),
            root_delay: 0.015625,
            root_dispersion: 0.5,
            min_poll: 3,
        }
    }

    fn lo() -> IpAddr {
        IpAddr::from([127, 0, 0, 1])
    }

    #[test]
    fn reply_carries_system_state_and_the_three_timestamps() {
        let req = request(4, 6);
        let rx = NtpTimestamp::from_parts(0xe800_0001, 1);
        let tx = NtpTimestamp::from_parts(0xe800_0001, 2);
        let mut out = [0u8; 128];
        let n = build_reply(
            &req,
            rx,
            &synced(),
            ReplyAuth::None,
            &KeyRing::default(),
            lo(),
            &mut out,
            || tx,
        )
        .unwrap();
        assert_eq!(n, 48);
        let h = Header::parse(&out[..n]).unwrap();
        assert_eq!(h.mode, Mode::Server);
        assert_eq!(h.version, 4);
        assert_eq!(h.leap, LeapIndicator::NoWarning);
        assert_eq!(h.stratum, 2);
        assert_eq!(h.poll, 6);
        assert_eq!(h.precision, -23);
        assert_eq!(
            h.reference_id,
            ReferenceId::from_ipv4([192, 0, 2, 7].into())
        );
        assert_eq!(h.root_delay.to_bits(), 0x0000_0400);
        assert_eq!(h.root_dispersion.to_bits(), 0x0000_8000);
        assert_eq!(h.reference_timestamp, synced().reftime);
        assert_eq!(h.origin_timestamp.to_bytes(), req[40..48]);
        assert_eq!(h.receive_timestamp, rx);
        assert_eq!(h.transmit_timestamp, tx);
    }

    #[test]
    fn version_is_echoed_poll_floored_and_stratum_16_sent_as_0() {
        let req = request(3, 1);
        let mut out = [0u8; 48];
        let sys = SystemState::unsynchronized(-20);
        let n = build_reply(
            &req,
            NtpTimestamp::ZERO,
            &sys,
            ReplyAuth::None,
            &KeyRing::default(),
            lo(),
            &mut out,
            || NtpTimestamp::ZERO,
        )
        .unwrap();
        let h = Header::parse(&out[..n]).unwrap();
        assert_eq!(h.version, 3);
        assert_eq!(h.poll, 3);
        assert_eq!(h.stratum, 0);
        assert_eq!(h.leap, LeapIndicator::Unsynchronized);
        assert_eq!(h.reference_id.to_bytes(), *b"INIT");
    }

    #[test]
    fn authenticated_requests_get_a_mac_or_a_crypto_nak() {
        let file = config::keys::parse_str("5 SHA1 secret5\n", Path::new("k")).unwrap();
        let mut keys = KeyRing::from_file(&file);
        keys.trust(5);
        let mut req = [0u8; 72];
        req[..48].copy_from_slice(&request(4, 6));
        let n = keys.sign(5, &mut req, 48, lo()).unwrap();
        let p = PacketRef::parse(&req[..n]).unwrap();
        let outcome = keys.check(p.authenticated_bytes(), p.mac(), lo());
        assert_eq!(outcome, AuthOutcome::Ok(5));
        let auth = ReplyAuth::for_request(outcome, true).unwrap();
        let mut out = [0u8; 128];
        let m = build_reply(
            &req[..n],
            NtpTimestamp::ZERO,
            &synced(),
            auth,
            &keys,
            lo(),
            &mut out,
            || NtpTimestamp::ZERO,
        )
        .unwrap();
        assert_eq!(m, n, "authenticated reply as long as the request");
        let r = PacketRef::parse(&out[..m]).unwrap();
        assert_eq!(
            keys.check(r.authenticated_bytes(), r.mac(), lo()),
            AuthOutcome::Ok(5)
        );

        // A wrong digest gets a crypto-NAK, never larger than the request.
        req[60] ^= 0xff;
        let p = PacketRef::parse(&req[..n]).unwrap();
        let outcome = keys.check(p.authenticated_bytes(), p.mac(), lo());
        let auth = ReplyAuth::for_request(outcome, false).unwrap();
        assert_eq!(auth, ReplyAuth::CryptoNak);
        let m = build_reply(
            &req[..n],
            NtpTimestamp::ZERO,
            &synced(),
            auth,
            &keys,
            lo(),
            &mut out,
            || NtpTimestamp::ZERO,
        )
        .unwrap();
        assert_eq!(m, 52);
        assert!(PacketRef::parse(&out[..m])
            .unwrap()
            .mac()
            .unwrap()
            .is_crypto_nak());

        // notrust and no MAC: no answer; crypto-NAK request: no answer.
        assert_eq!(ReplyAuth::for_request(AuthOutcome::None, true), None);
        assert_eq!(ReplyAuth::for_request(AuthOutcome::CryptoNak, false), None);
        assert_eq!(
            ReplyAuth::for_request(AuthOutcome::Autokey(70000), false),
            None
        );
    }

    #[test]
    fn kod_reveals_nothing_of_our_clock() {
        let req = request(4, 4);
        let mut out = [0u8; 48];
        for code in [KissCode::Rate, KissCode::Deny, KissCode::Rstr] {
            let n = build_kod(
                &req,
                code,
                Mode::Server,
                ReplyAuth::None,
                &KeyRing::default(),
                lo(),
                3,
                &mut out,
            )
            .unwrap();
            assert_eq!(n, 48);
            let h = Header::parse(&out).unwrap();
            assert_eq!(h.kiss_code(), Some(code));
            assert_eq!(h.leap, LeapIndicator::Unsynchronized);
            assert_eq!(h.stratum, 0);
            assert_eq!(h.mode, Mode::Server);
            assert_eq!(h.poll, 4);
            assert_eq!(h.root_delay.to_bits(), 0x100, "request's root delay echoed");
            for t in [
                h.origin_timestamp,
                h.receive_timestamp,
                h.transmit_timestamp,
            ] {
                assert_eq!(t.to_bytes(), req[40..48]);
            }
        }
    }
}
