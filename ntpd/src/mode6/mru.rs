//! `ntpq -c mrulist`: REQ_NONCE and READ_MRU (reference extensions to
//! RFC 9327). A READ_MRU is answered only when it returns a nonce that
//! this server issued to the same address and port less than 16 s ago, so
//! the (large) MRU responses only go to sources that proved they receive
//! traffic sent to them: no reflection through spoofed requests.

use std::net::{IpAddr, SocketAddr};

use md5::{Digest, Md5};
use proto::control::ErrorCode;
use proto::NtpTimestamp;

use super::format::{address_port, timestamp};
use super::request::Items;
use super::state::MruEntry;
use super::writer::Out;

/// Most rows a request may ask for with `limit=` alone (`MRU_ROW_LIMIT`).
pub const MRU_ROW_LIMIT: u32 = 256;
/// Most datagrams a response may use (`MRU_FRAGS_LIMIT`).
pub const MRU_FRAGS_LIMIT: u16 = 128;
/// Starting points (`last.N`/`addr.N`) a request may give.
const MAX_PRIORS: usize = 16;
/// How long a nonce is honoured, seconds.
const NONCE_LIFETIME: u32 = 16;
/// How often the nonce salt is replaced, seconds.
const SALT_LIFETIME: u32 = 3600;

/// The secret that nonces are derived from, replaced every hour.
#[derive(Debug, Clone, Default)]
pub struct NonceKey {
    salt: Option<([u8; 16], NtpTimestamp)>,
}

fn seconds_between(later: NtpTimestamp, earlier: NtpTimestamp) -> u32 {
    (later.to_bits().wrapping_sub(earlier.to_bits()) >> 32) as u32
}

impl NonceKey {
    /// Replaces the salt when it is missing or an hour old; `fresh` is
    /// called for 16 random octets.
    pub fn refresh(&mut self, now: NtpTimestamp, fresh: impl FnOnce() -> [u8; 16]) {
        let stale = self
            .salt
            .is_none_or(|(_, set)| seconds_between(now, set) >= SALT_LIFETIME);
        if stale {
            self.salt = Some((fresh(), now));
        }
    }

    fn derive(&self, source: SocketAddr, ts: NtpTimestamp) -> u32 {
        let salt = self.salt.map_or([0; 16], |(s, _)| s);
        let mut h = Md5::new();
        h.update(salt);
        h.update(ts.seconds().to_be_bytes());
        h.update(ts.fraction().to_be_bytes());
        match source.ip() {
            IpAddr::V4(a) => h.update(a.octets()),
            IpAddr::V6(a) => h.update(a.octets()),
        }
        h.update(source.port().to_be_bytes());
        h.update(salt);
        let d = h.finalize();
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    /// A nonce for `source`: receive time and a keyed hash, 24 hex digits.
    pub fn issue(&self, source: SocketAddr, now: NtpTimestamp) -> String {
        format!(
            "{:08x}{:08x}{:08x}",
            now.seconds(),
            now.fraction(),
            self.derive(source, now)
        )
    }

    /// Whether `nonce` was issued to `source` less than 16 s before `now`.
    pub fn validate(&self, nonce: &[u8], source: SocketAddr, now: NtpTimestamp) -> bool {
        let Some(hex) = nonce.get(..24) else {
            return false;
        };
        let field = |i: usize| {
            std::str::from_utf8(hex.get(i * 8..i * 8 + 8)?)
                .ok()
                .and_then(|s| u32::from_str_radix(s, 16).ok())
        };
        let (Some(secs), Some(frac), Some(claimed)) = (field(0), field(1), field(2)) else {
            return false;
        };
        let ts = NtpTimestamp::from_parts(secs, frac);
        self.salt.is_some()
            && claimed == self.derive(source, ts)
            && seconds_between(now, ts) < NONCE_LIFETIME
    }
}

/// What READ_MRU does with a request.
#[derive(Debug)]
pub enum MruOutcome {
    /// No (valid) nonce, or a malformed parameter: no answer.
    Drop,
    /// An error response.
    Error(ErrorCode),
    /// The response data.
    Data(Out),
}

/// Leading unsigned decimal digits, as `sscanf("%u")` reads them.
fn scan_uint(s: &[u8]) -> Option<u64> {
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let digits: &[u8] = &s[..s
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len())];
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `0x` then hex digits (`sscanf("0x%hx")`).
fn scan_hex(s: &[u8]) -> Option<u64> {
    let s = s.strip_prefix(b"0x")?;
    let digits = &s[..s
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(s.len())];
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// `0xSSSSSSSS.FFFFFFFF`.
fn scan_timestamp(s: &[u8]) -> Option<NtpTimestamp> {
    let s = std::str::from_utf8(s.strip_prefix(b"0x")?).ok()?;
    let (a, b) = s.split_once('.')?;
    let b = &b[..b.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(b.len())];
    Some(NtpTimestamp::from_parts(
        u32::from_str_radix(a, 16).ok()?,
        u32::from_str_radix(b, 16).ok()?,
    ))
}

/// An address with an optional port (123 when absent), as `decodenetnum`.
fn scan_address(s: &[u8]) -> Option<SocketAddr> {
    let s = std::str::from_utf8(s).ok()?;
    s.parse::<SocketAddr>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 123)))
}

/// The parameters of a READ_MRU request.
#[derive(Debug, Default)]
struct Params<'a> {
    nonce: Option<&'a [u8]>,
    frags: u16,
    limit: u32,
    mincount: u64,
    resall: u16,
    resany: u16,
    maxlstint: u32,
    laddr: Option<IpAddr>,
    last: [Option<NtpTimestamp>; MAX_PRIORS],
    addr: [Option<SocketAddr>; MAX_PRIORS],
    priors: usize,
}

/// Reads the parameters; `None` when one is malformed (the reference then
/// forgets the nonce, so nothing is answered). An unknown name ends the
/// list, as in the reference.
fn parse_params(data: &[u8]) -> Option<Params<'_>> {
    let mut p = Params::default();
    for item in Items::new(data) {
        let val = item.value.unwrap_or_default();
        let indexed = |prefix: &[u8]| -> Option<usize> {
            let rest = item.name.strip_prefix(prefix)?;
            let i = scan_uint(rest)? as usize;
            (i < MAX_PRIORS).then_some(i)
        };
        match item.name {
            b"nonce" => p.nonce = (!val.is_empty()).then_some(val),
            b"frags" => p.frags = u16::try_from(scan_uint(val)?).ok()?,
            b"limit" => p.limit = u32::try_from(scan_uint(val)?).ok()?,
            b"mincount" => {
                let neg = val.first() == Some(&b'-');
                let n = scan_uint(val.strip_prefix(b"-").unwrap_or(val))?;
                p.mincount = if neg { 0 } else { n };
            }
            b"resall" => p.resall = u16::try_from(scan_hex(val)?).ok()?,
            b"resany" => p.resany = u16::try_from(scan_hex(val)?).ok()?,
            b"maxlstint" => p.maxlstint = u32::try_from(scan_uint(val)?).ok()?,
            b"laddr" => p.laddr = Some(scan_address(val)?.ip()),
            _ => {
                if let Some(i) = indexed(b"last.") {
                    let ts = scan_timestamp(val)?;
                    p.last[i] = Some(ts);
                    if p.addr[i].is_some() && i == p.priors {
                        p.priors += 1;
                    }
                } else if let Some(i) = indexed(b"addr.") {
                    p.addr[i] = Some(scan_address(val)?);
                    let last_set = p.last[i].is_some_and(|t| t.seconds() != 0 && t.fraction() != 0);
                    if last_set && i == p.priors {
                        p.priors += 1;
                    }
                } else {
                    break;
                }
            }
        }
    }
    Some(p)
}

/// Answers a READ_MRU from `source` received at `now`.
pub fn read_mru(
    data: &[u8],
    source: SocketAddr,
    now: NtpTimestamp,
    key: &NonceKey,
    entries: impl FnOnce() -> Vec<MruEntry>,
) -> MruOutcome {
    let Some(mut p) = parse_params(data) else {
        return MruOutcome::Drop;
    };
    let Some(nonce) = p.nonce else {
        return MruOutcome::Drop;
    };
    if !key.validate(nonce, source, now) {
        return MruOutcome::Drop;
    }
    if (p.frags == 0 && !(0 < p.limit && p.limit <= MRU_ROW_LIMIT)) || p.frags > MRU_FRAGS_LIMIT {
        return MruOutcome::Error(ErrorCode::InvalidValue);
    }
    if p.frags != 0 && p.limit == 0 {
        p.limit = u32::MAX;
    } else if p.limit != 0 && p.frags == 0 {
        p.frags = MRU_FRAGS_LIMIT;
    }
    let list = entries();
    let mut out = Out::new();
    let start = if p.priors > 0 {
        let found = (0..p.priors).find_map(|i| {
            let (addr, last) = (p.addr[i]?, p.last[i]?);
            list.iter()
                .position(|e| e.address == addr)
                .filter(|&j| list[j].last == last)
        });
        let Some(j) = found else {
            // Every starting point changed: ntpq backs up and retries.
            return MruOutcome::Error(ErrorCode::UnknownVariable);
        };
        out.bare("last.older", &timestamp(list[j].last));
        out.bare("addr.older", &address_port(list[j].address));
        if p.limit > 1 {
            j + 1
        } else {
            j
        }
    } else {
        0
    };
    out.bare("nonce", &key.issue(source, now));
    let mut count: u32 = 0;
    let mut newest = None;
    let mut index = start;
    while let Some(e) = list.get(index) {
        if out.fragments() >= usize::from(p.frags) || count >= p.limit {
            break;
        }
        index += 1;
        let skip = e.count < p.mincount
            || (p.resall != 0 && u32::from(p.resall) & e.restrict != u32::from(p.resall))
            || (p.resany != 0 && u32::from(p.resany) & e.restrict == 0)
            || (p.maxlstint > 0 && now.seconds().wrapping_sub(e.last.seconds()) > p.maxlstint)
            || p.laddr.is_some_and(|l| e.local != Some(l));
        if skip {
            continue;
        }
        out.bare(&format!("addr.{count}"), &address_port(e.address));
        out.bare(&format!("last.{count}"), &timestamp(e.last));
        out.bare(&format!("first.{count}"), &timestamp(e.first));
        out.bare(&format!("ct.{count}"), &e.count.to_string());
        out.bare(&format!("mv.{count}"), &e.mode_version.to_string());
        out.bare(&format!("rs.{count}"), &format!("0x{:x}", e.restrict));
        count += 1;
        newest = Some(e.last);
    }
    if index >= list.len() {
        out.bare("now", &timestamp(now));
        if let Some(last) = newest {
            out.bare("last.newest", &timestamp(last));
        }
    }
    MruOutcome::Data(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: u32) -> NtpTimestamp {
        NtpTimestamp::from_parts(s, 0x8000_0000)
    }

    fn key() -> NonceKey {
        let mut k = NonceKey::default();
        k.refresh(ts(4_000_000_000), || [7; 16]);
        k
    }

    #[test]
    fn nonces_bind_source_and_time() {
        let k = key();
        let src: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let n = k.issue(src, ts(4_000_000_010));
        assert_eq!(n.len(), 24);
        assert!(k.validate(n.as_bytes(), src, ts(4_000_000_025)));
        assert!(!k.validate(n.as_bytes(), src, ts(4_000_000_026)));
        assert!(!k.validate(
            n.as_bytes(),
            "10.0.0.2:40001".parse().unwrap(),
            ts(4_000_000_011)
        ));
        assert!(!k.validate(b"0123", src, ts(4_000_000_011)));
        let mut forged = n.clone().into_bytes();
        forged[23] = if forged[23] == b'0' { b'1' } else { b'0' };
        assert!(!k.validate(&forged, src, ts(4_000_000_011)));
        assert!(!NonceKey::default().validate(n.as_bytes(), src, ts(4_000_000_011)));
    }

    fn entries() -> Vec<MruEntry> {
        (1..=3u8)
            .map(|i| MruEntry {
                address: SocketAddr::from(([10, 0, 0, i], 123)),
                local: Some([10, 0, 0, 100].into()),
                first: ts(4_000_000_000 + u32::from(i)),
                last: ts(4_000_000_100 + u32::from(i)),
                count: u64::from(i),
                mode_version: 0x23,
                restrict: 0,
            })
            .collect()
    }

    fn text(o: MruOutcome) -> String {
        match o {
            MruOutcome::Data(out) => {
                let f = out.finish();
                String::from_utf8(proto::control::concat_fragments(&f)).unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mru_list_with_nonce() {
        let k = key();
        let src: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let now = ts(4_000_000_200);
        let nonce = k.issue(src, now);
        let req = format!("nonce={nonce}, frags=32");
        let t = text(read_mru(req.as_bytes(), src, now, &k, entries));
        assert!(
            t.starts_with(&format!("nonce={nonce}, addr.0=10.0.0.1:123,\r\nlast.0=0x")),
            "{t}"
        );
        assert!(t.contains("ct.2=3, mv.2=35, rs.2=0x0"));
        assert!(t.contains("now=0xee6b28c8.80000000"));
        assert!(t.trim_end().ends_with("last.newest=0xee6b2867.80000000"));
        // Resuming after the second entry.
        let req =
            format!("nonce={nonce}, frags=32, last.0=0xee6b2866.80000000, addr.0=10.0.0.2:123");
        let t = text(read_mru(req.as_bytes(), src, now, &k, entries));
        assert!(t.starts_with("last.older=0xee6b2866.80000000, addr.older=10.0.0.2:123,\r\nnonce="));
        assert!(t.contains("addr.0=10.0.0.3:123"));
        assert!(!t.contains("addr.1="));
        // A starting point that changed: error 5, ntpq backs up.
        let req = format!("nonce={nonce}, frags=32, last.0=0xee6b2866.00000001, addr.0=10.0.0.2");
        assert!(matches!(
            read_mru(req.as_bytes(), src, now, &k, entries),
            MruOutcome::Error(ErrorCode::UnknownVariable)
        ));
        // Neither frags nor a sane limit: error 6.
        let req = format!("nonce={nonce}");
        assert!(matches!(
            read_mru(req.as_bytes(), src, now, &k, entries),
            MruOutcome::Error(ErrorCode::InvalidValue)
        ));
        let req = format!("nonce={nonce}, limit=1000");
        assert!(matches!(
            read_mru(req.as_bytes(), src, now, &k, entries),
            MruOutcome::Error(ErrorCode::InvalidValue)
        ));
    }

    #[test]
    fn mru_without_valid_nonce_is_dropped() {
        let k = key();
        let src: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let now = ts(4_000_000_200);
        for req in [
            "frags=32".to_string(),
            "nonce=, frags=32".to_string(),
            "nonce=000000000000000000000000, frags=32".to_string(),
            format!("nonce={}, frags=x", k.issue(src, now)),
        ] {
            assert!(
                matches!(
                    read_mru(req.as_bytes(), src, now, &k, entries),
                    MruOutcome::Drop
                ),
                "{req}"
            );
        }
        // Spoofed: a nonce issued to another address.
        let other: SocketAddr = "192.0.2.1:123".parse().unwrap();
        let req = format!("nonce={}, frags=32", k.issue(other, now));
        assert!(matches!(
            read_mru(req.as_bytes(), src, now, &k, entries),
            MruOutcome::Drop
        ));
    }
}
