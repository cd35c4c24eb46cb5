//! The datagrams of the soak: ordinary mode 3 requests, malformed ones,
//! and the unauthenticated Autokey and mode 6 requests of issue 15, whose
//! MACs use the cookie-0 session key anyone can compute from the
//! addresses (RFC 5906 §6.2).

use std::net::IpAddr;

use autokey::{SessionDigest, SessionKey, SignedValue};
use proto::exten::{AutokeyCode, AutokeyHeader, ExtensionField};
use proto::{Header, LeapIndicator, Mode, NtpShort, NtpTimestamp, ReferenceId};

/// The Autokey key ID of every flood request (any ID above 65535).
pub const FLOOD_KEY_ID: u32 = 0x0001_2345;

/// A small, fast generator (xorshift64*): the soak needs variety, not
/// cryptographic randomness.
#[derive(Debug, Clone)]
pub struct Xorshift(u64);

impl Xorshift {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Xorshift(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

fn header(mode: Mode, poll: i8, xmt: NtpTimestamp) -> Header {
    Header {
        leap: LeapIndicator::NoWarning,
        version: 4,
        mode,
        stratum: 3,
        poll,
        precision: -20,
        root_delay: NtpShort::ZERO,
        root_dispersion: NtpShort::ZERO,
        reference_id: ReferenceId(0x7f00_0001),
        reference_timestamp: NtpTimestamp::ZERO,
        origin_timestamp: NtpTimestamp::ZERO,
        receive_timestamp: NtpTimestamp::ZERO,
        transmit_timestamp: xmt,
    }
}

/// An ordinary client request whose transmit timestamp is `xmt` (the
/// reply echoes it as origin, RFC 5905 §8).
pub fn client_request(xmt: u64) -> Vec<u8> {
    header(Mode::Client, 6, NtpTimestamp::from_bits(xmt))
        .to_bytes()
        .to_vec()
}

/// A request field of `code` with `value` (unsigned, as anyone sends it).
fn field(code: AutokeyCode, value: &[u8], now: u32) -> Option<ExtensionField> {
    let v = SignedValue::unsigned(now, 0, value.to_vec());
    ExtensionField::new_autokey(AutokeyHeader::request(code, 0x5eed), Some(&v.as_ref())).ok()
}

/// A datagram of `mode` from `src` to `dst` carrying one Autokey request
/// field, MAC'd with the cookie-0 session key.
pub fn autokey_request(
    mode: Mode,
    poll: i8,
    code: AutokeyCode,
    value: &[u8],
    src: IpAddr,
    dst: IpAddr,
    now: u32,
) -> Option<Vec<u8>> {
    let key = SessionKey::derive(SessionDigest::Md5, src, dst, FLOOD_KEY_ID, 0).ok()?;
    let f = field(code, value, now)?;
    let h = header(mode, poll, NtpTimestamp::from_parts(now, 0));
    autokey::packet::seal(h, vec![f], &key).ok()
}

/// A 12-octet mode 6 READVAR of the system variables (`ntpq -c rv`).
pub fn readvar(sequence: u16) -> Vec<u8> {
    let s = sequence.to_be_bytes();
    vec![0x16, 0x02, s[0], s[1], 0, 0, 0, 0, 0, 0, 0, 0]
}

/// A malformed datagram: random octets, a truncated or mutated header, or
/// a header with a garbage extension field and MAC.
pub fn malformed(rng: &mut Xorshift) -> Vec<u8> {
    let kind = rng.below(4);
    let mut b = client_request(rng.next_u64());
    match kind {
        0 => {
            let n = 1 + rng.below(600) as usize;
            b = (0..n).map(|_| rng.next_u64() as u8).collect();
        }
        1 => b.truncate(rng.below(48) as usize),
        2 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len() as u64) as usize;
                b[i] ^= 1 << rng.below(8);
            }
        }
        _ => {
            let len = 4 * (2 + rng.below(40) as usize);
            b.extend_from_slice(&[0x02, rng.next_u64() as u8]);
            b.extend_from_slice(&(len as u16).to_be_bytes());
            b.extend((4..len).map(|_| rng.next_u64() as u8));
            b.extend_from_slice(&FLOOD_KEY_ID.to_be_bytes());
            b.extend((0..16).map(|_| rng.next_u64() as u8));
        }
    }
    b
}
