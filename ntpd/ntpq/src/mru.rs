//! `mrulist`: the server's most-recently-used client list, fetched in
//! pieces with READ_MRU requests (reference extension to RFC 9327, opcode
//! 10) that carry a nonce obtained with REQ_NONCE (opcode 12) and the last
//! entries already received, and shown as the reference ntpq shows it.

use std::cmp::Ordering;
use std::net::SocketAddr;

use std::time::Duration;

use proto::control::{ErrorCode, Opcode, VarList};

use crate::commands::Ntpq;
use crate::cooked::{decode_netnum, raw_print};
use crate::lfp::{hextolfp, LFp};
use crate::transport::QueryError;

/// Restriction bits shown in the `r` column.
const RES_LIMITED: u16 = 0x0020;
const RES_KOD: u16 = 0x0400;

/// Most fragments ntpq accepts in one response (`MAXFRAGS`).
pub const MAX_FRAGS: u32 = 32;

/// One remote address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MruEntry {
    /// The remote address and port (`addr.N`).
    pub addr: SocketAddr,
    /// Arrival of the latest packet (`last.N`), NTP timestamp.
    pub last: LFp,
    /// Arrival of the first packet (`first.N`), NTP timestamp.
    pub first: LFp,
    /// Packets received (`ct.N`).
    pub count: i64,
    /// NTP mode of the latest packet (`mv.N`, low 3 bits).
    pub mode: u8,
    /// NTP version of the latest packet (`mv.N`, bits 3 to 5).
    pub version: u8,
    /// The restriction bits that applied (`rs.N`, the reference's `RES_*`).
    pub rs: u16,
}

/// Display orders (`sort=` keywords).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// `lstint`: most recently heard first (the default).
    #[default]
    LstInt,
    /// `-lstint`: least recently heard first.
    RevLstInt,
    /// `avgint`: shortest average interval between packets first.
    AvgInt,
    /// `-avgint`: longest average interval first.
    RevAvgInt,
    /// `addr`: by address, ascending.
    Addr,
    /// `-addr`: by address, descending.
    RevAddr,
    /// `count`: fewest packets first.
    Count,
    /// `-count`: most packets first.
    RevCount,
}

impl SortOrder {
    /// The order a `sort=` value names; `None` for an unknown keyword.
    pub fn from_keyword(k: &str) -> Option<Self> {
        Some(match k {
            "lstint" => Self::LstInt,
            "-lstint" => Self::RevLstInt,
            "avgint" => Self::AvgInt,
            "-avgint" => Self::RevAvgInt,
            "addr" => Self::Addr,
            "-addr" => Self::RevAddr,
            "count" => Self::Count,
            "-count" => Self::RevCount,
            _ => return None,
        })
    }
}

/// The request parameters and display order from the command arguments;
/// unknown ones are reported on stderr and ignored.
pub fn parse_args(args: &[String]) -> (String, SortOrder) {
    let mut parms = String::new();
    let mut order = SortOrder::default();
    for arg in args {
        let passed = ["resall=", "resany=", "mincount=", "laddr=", "maxlstint="];
        if passed.iter().any(|p| arg.starts_with(p)) {
            parms.push_str(", ");
            parms.push_str(arg);
        } else if let Some(k) = arg.strip_prefix("sort=") {
            if let Some(o) = SortOrder::from_keyword(k) {
                order = o;
            }
        } else if arg == "limited" || arg == "kod" {
            let bits = if arg == "kod" { RES_KOD } else { RES_LIMITED };
            parms.push_str(&format!(", resany=0x{bits:x}"));
        } else {
            eprintln!("ignoring unrecognized mrulist parameter: {arg}");
        }
    }
    (parms, order)
}

fn lfp_to_f64(v: LFp) -> f64 {
    let signed = ((u64::from(v.int) << 32) | u64::from(v.frac)) as i64;
    signed as f64 / 4_294_967_296.0
}

fn lfp_sub(a: LFp, b: LFp) -> LFp {
    let a = (u64::from(a.int) << 32) | u64::from(a.frac);
    let b = (u64::from(b.int) << 32) | u64::from(b.frac);
    let d = a.wrapping_sub(b);
    LFp {
        int: (d >> 32) as u32,
        frac: d as u32,
    }
}

fn hex_ts(val: &str) -> Option<LFp> {
    val.strip_prefix("0x").and_then(hextolfp)
}

/// A row being collected: the six values of index `ci`.
#[derive(Debug, Default)]
struct Partial {
    addr: Option<SocketAddr>,
    last: Option<LFp>,
    first: Option<LFp>,
    count: Option<i64>,
    mv: Option<u8>,
    rs: Option<u16>,
}

impl Partial {
    fn complete(&self) -> Option<MruEntry> {
        Some(MruEntry {
            addr: self.addr?,
            last: self.last?,
            first: self.first?,
            count: self.count?,
            mode: self.mv? & 7,
            version: (self.mv? >> 3) & 7,
            rs: self.rs?,
        })
    }

    fn is_empty(&self) -> bool {
        self.addr.is_none()
            && self.last.is_none()
            && self.first.is_none()
            && self.count.is_none()
            && self.mv.is_none()
            && self.rs.is_none()
    }
}

/// What one response told us.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Absorbed {
    /// The list is complete (`now=` or `last.newest=` seen).
    pub complete: bool,
    /// A fresh nonce for the next request.
    pub nonce: Option<String>,
}

/// The list collected so far, newest entry first.
#[derive(Debug, Default)]
pub struct MruList {
    /// The entries, one per remote address.
    pub entries: Vec<MruEntry>,
    /// Entries that replaced an older entry of the same address while the
    /// list was collected.
    pub updates: usize,
    /// The server's `now=` time, the reference for `lstint`/`avgint`.
    pub now: LFp,
}

impl MruList {
    /// Adds an entry as the newest, replacing an older entry of the same
    /// address.
    fn add(&mut self, e: MruEntry) {
        if let Some(i) = self.entries.iter().position(|x| x.addr == e.addr) {
            self.entries.remove(i);
            self.updates += 1;
        }
        self.entries.insert(0, e);
    }

    /// Reads one READ_MRU response (`addr.N`, `last.N`, `first.N`, `ct.N`,
    /// `mv.N`, `rs.N` rows numbered from 0, `now`, `nonce`, `last.newest`,
    /// `last.older`/`addr.older`).
    pub fn absorb(&mut self, vars: &VarList) -> Result<Absorbed, String> {
        let mut out = Absorbed::default();
        let mut row = Partial::default();
        let mut ci = 0u32;
        let mut have_now = false;
        for v in &vars.vars {
            let Some(val) = v.value.text() else {
                continue;
            };
            let tag = v.name.as_str();
            let indexed = |prefix: &str| {
                tag.strip_prefix(prefix)
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|&n| n == ci)
                    .is_some()
            };
            match tag {
                "nonce" => out.nonce = Some(val.to_string()),
                "now" => {
                    self.now = hex_ts(val).ok_or_else(|| format!("now={val} garbled"))?;
                    have_now = true;
                }
                "last.newest" => {
                    if !row.is_empty() {
                        return Err(format!("last.newest {val} before complete row"));
                    }
                    if !have_now {
                        return Err(format!("last.newest {val} before now="));
                    }
                    if let Some(head) = self.entries.first() {
                        if hex_ts(val) != Some(head.last) {
                            return Err(format!(
                                "last.newest {val} mismatches {:08x}.{:08x}",
                                head.last.int, head.last.frac
                            ));
                        }
                    }
                    out.complete = true;
                }
                "last.older" | "addr.older" => {}
                _ if indexed("addr.") => {
                    row.addr = decode_netnum_port(val);
                }
                _ if indexed("last.") => {
                    row.last = hex_ts(val);
                    if let Some(l) = row.last {
                        self.now = l;
                    }
                }
                _ if indexed("first.") => row.first = hex_ts(val),
                _ if indexed("ct.") => row.count = val.trim().parse().ok().filter(|&c| c >= 1),
                _ if indexed("mv.") => row.mv = val.trim().parse::<u32>().ok().map(|m| m as u8),
                _ if indexed("rs.") => {
                    row.rs = val
                        .trim()
                        .strip_prefix("0x")
                        .and_then(|h| u16::from_str_radix(h, 16).ok())
                }
                _ => {}
            }
            if let Some(e) = row.complete() {
                self.add(e);
                row = Partial::default();
                ci += 1;
            }
        }
        if have_now {
            out.complete = true;
        }
        Ok(out)
    }

    /// Forgets the `n` newest entries (the priors the server did not know).
    pub fn drop_newest(&mut self, n: usize) {
        let n = n.min(self.entries.len());
        self.entries.drain(..n);
    }

    /// `, addr.N=A, last.N=0x...` for the newest entries, as many as fit
    /// in `room` octets; returns the text and the number of entries.
    pub fn priors(&self, room: usize) -> (String, usize) {
        let mut s = String::new();
        let mut n = 0;
        for (i, e) in self.entries.iter().enumerate() {
            let item = format!(
                ", addr.{i}={}, last.{i}=0x{:08x}.{:08x}",
                e.addr, e.last.int, e.last.frac
            );
            if s.len() + item.len() >= room {
                break;
            }
            s.push_str(&item);
            n += 1;
        }
        (s, n)
    }

    /// The table (`lstint avgint rstr r m v count rport remote address`).
    pub fn render(&self, order: SortOrder) -> String {
        let avg = |e: &MruEntry| lfp_to_f64(lfp_sub(e.last, e.first)) / e.count as f64;
        let mut rows: Vec<&MruEntry> = self.entries.iter().collect();
        match order {
            SortOrder::LstInt => {}
            SortOrder::RevLstInt => rows.reverse(),
            SortOrder::AvgInt | SortOrder::RevAvgInt => {
                rows.sort_by(|a, b| {
                    avg(a)
                        .partial_cmp(&avg(b))
                        .unwrap_or(Ordering::Equal)
                        .then_with(|| cmp_lfp(b.last, a.last))
                });
                if order == SortOrder::RevAvgInt {
                    rows.reverse();
                }
            }
            SortOrder::Addr | SortOrder::RevAddr => {
                rows.sort_by(|a, b| {
                    let key = |e: &MruEntry| (e.addr.is_ipv6(), e.addr.ip());
                    key(a).cmp(&key(b))
                });
                if order == SortOrder::RevAddr {
                    rows.reverse();
                }
            }
            SortOrder::Count | SortOrder::RevCount => {
                rows.sort_by_key(|e| e.count);
                if order == SortOrder::RevCount {
                    rows.reverse();
                }
            }
        }
        let mut out = String::from(
            "lstint avgint rstr r m v  count rport remote address\n\
==============================================================================\n",
        );
        for e in rows {
            let lstint = (lfp_to_f64(lfp_sub(self.now, e.last)) + 0.5) as i64;
            let avgint = (avg(e) + 0.5) as i64;
            let r = if e.rs & RES_KOD != 0 {
                'K'
            } else if e.rs & RES_LIMITED != 0 {
                'L'
            } else {
                '.'
            };
            out.push_str(&format!(
                "{:6} {:6} {:4x} {} {} {} {:6} {:5} {}\n",
                lstint,
                avgint,
                e.rs,
                r,
                e.mode,
                e.version,
                e.count,
                e.addr.port(),
                e.addr.ip()
            ));
        }
        out
    }
}

fn cmp_lfp(a: LFp, b: LFp) -> Ordering {
    (a.int, a.frac).cmp(&(b.int, b.frac))
}

/// `a.b.c.d:port`, `[v6]:port` or a bare address (port 0).
fn decode_netnum_port(s: &str) -> Option<SocketAddr> {
    s.trim()
        .parse::<SocketAddr>()
        .ok()
        .or_else(|| decode_netnum(s).map(|a| SocketAddr::new(a, 0)))
}

impl Ntpq {
    /// `mrulist [tag=value]...` (the reference `collect_mru_list` and
    /// display).
    pub(crate) fn mrulist(&mut self, args: &[String], out: &mut String) {
        /// Rows per request the reference assumes the server allows.
        const MRU_ROW_LIMIT: u32 = 256;
        /// Restarts from the beginning before giving up.
        const MAX_RESTARTS: u32 = 8;
        /// Requests before giving up on a server that never completes.
        const MAX_REQUESTS: u32 = 100_000;
        eprintln!("Ctrl-C will stop MRU retrieval and display partial results.");
        let (parms, order) = parse_args(args);
        let Some(mut nonce) = self.fetch_nonce() else {
            return;
        };
        let mut list = MruList::default();
        let mut frags = MAX_FRAGS;
        let mut cap_frags = true;
        let mut row_limit = MRU_ROW_LIMIT;
        let mut limit = (3 * MAX_FRAGS).min(row_limit);
        let mut priors = 0usize;
        let mut restarts = 0u32;
        let mut nonce_uses = 1u32;
        let mut req = format!("nonce={nonce}, frags={frags}{parms}");
        for _ in 0..MAX_REQUESTS {
            let res = self.query_quiet(Opcode::ReadMru, req.as_bytes());
            let ok = match res {
                Err(QueryError::Server(ErrorCode::UnknownVariable)) if priors > 0 => {
                    list.drop_newest(priors);
                    if list.entries.is_empty() {
                        restarts += 1;
                        if restarts > MAX_RESTARTS {
                            eprintln!(
                                "Giving up after 8 restarts from the beginning.\n\
With high-traffic NTP servers, this can occur if the\n\
MRU list is limited to less than about 16 seconds' of\n\
entries.  See the 'mru' ntp.conf directive to adjust."
                            );
                            return;
                        }
                    }
                    false
                }
                Err(QueryError::Server(ErrorCode::UnknownVariable)) => {
                    eprintln!("CERR_UNKNOWNVAR from ntpd but no priors given.");
                    return;
                }
                Err(QueryError::Server(ErrorCode::InvalidValue)) => {
                    if cap_frags {
                        cap_frags = false;
                    } else {
                        row_limit = row_limit.saturating_sub(1).max(1);
                        limit = limit.min(row_limit);
                    }
                    false
                }
                Err(QueryError::Incomplete | QueryError::Timeout) => {
                    if cap_frags {
                        frags = (frags / 2).max(2);
                    } else {
                        limit = (limit / 2).max(2);
                    }
                    false
                }
                Err(QueryError::Local) => return,
                Err(e) => {
                    eprintln!("{}", e.message(0));
                    return;
                }
                Ok(resp) => {
                    if self.raw {
                        out.push_str(&raw_print(&resp.data, None));
                    }
                    let vars = match VarList::parse(&resp.data) {
                        Ok(v) => v,
                        Err(e) => {
                            eprintln!("nextvar: {e}");
                            return;
                        }
                    };
                    match list.absorb(&vars) {
                        Err(msg) => {
                            eprintln!("{msg}");
                            return;
                        }
                        Ok(a) => {
                            if let Some(n) = a.nonce {
                                nonce = n;
                                nonce_uses = 0;
                            }
                            if a.complete {
                                eprintln!(
                                    "\rRetrieved {} unique MRU entries and {} updates.",
                                    list.entries.len(),
                                    list.updates
                                );
                                if !self.raw {
                                    out.push_str(&list.render(order));
                                }
                                return;
                            }
                        }
                    }
                    true
                }
            };
            std::thread::sleep(Duration::from_millis(5));
            if ok {
                if cap_frags {
                    frags = (frags + 1).min(MAX_FRAGS);
                } else {
                    limit = (3 * MAX_FRAGS)
                        .min(row_limit)
                        .min((limit + 1).max(limit * 33 / 32));
                }
            }
            let (key, val) = if cap_frags {
                ("frags", frags)
            } else {
                ("limit", limit)
            };
            nonce_uses += 1;
            if nonce_uses >= 4 {
                let Some(n) = self.fetch_nonce() else {
                    return;
                };
                nonce = n;
                nonce_uses = 0;
            }
            req = format!("nonce={nonce}, {key}={val}{parms}");
            let room = proto::control::MAX_DATA_LEN.saturating_sub(req.len());
            let (p, n) = list.priors(room);
            req.push_str(&p);
            priors = n;
        }
        eprintln!("mrulist: giving up after {MAX_REQUESTS} requests without a complete list");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> VarList {
        VarList::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn collects_rows_and_renders() {
        let mut l = MruList::default();
        let a = l
            .absorb(&vars(
                "nonce=abc, addr.0=10.0.0.2:123, last.0=0xeeb3c3a0.00000000, \
                 first.0=0xeeb3c390.00000000, ct.0=5, mv.0=35, rs.0=0x0, \
                 addr.1=10.0.0.3:40000, last.1=0xeeb3c3b0.00000000, \
                 first.1=0xeeb3c3b0.00000000, ct.1=1, mv.1=27, rs.1=0x420",
            ))
            .unwrap();
        assert_eq!(
            a,
            Absorbed {
                complete: false,
                nonce: Some("abc".into())
            }
        );
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[0].addr.to_string(), "10.0.0.3:40000");
        let (p, n) = l.priors(468);
        assert_eq!(n, 2);
        assert!(p.starts_with(", addr.0=10.0.0.3:40000, last.0=0xeeb3c3b0.00000000"));
        let a = l
            .absorb(&vars(
                "now=0xeeb3c3b1.00000000, last.newest=0xeeb3c3b0.00000000",
            ))
            .unwrap();
        assert!(a.complete);
        assert_eq!(
            l.render(SortOrder::LstInt),
            format!(
                "lstint avgint rstr r m v  count rport remote address\n{}\n{}{}",
                "=".repeat(78),
                "     1      0  420 K 3 3      1 40000 10.0.0.3\n",
                "    17      3    0 . 3 4      5   123 10.0.0.2\n"
            )
        );
        let by_count = l.render(SortOrder::RevCount);
        assert!(
            by_count.find("10.0.0.2") < by_count.find("10.0.0.3"),
            "{by_count}"
        );
    }

    #[test]
    fn updates_replace_entries() {
        let mut l = MruList::default();
        let row = "addr.0=10.0.0.2:123, last.0=0x00000002.00000000, first.0=0x00000001.00000000, ct.0=2, mv.0=35, rs.0=0x0";
        l.absorb(&vars(row)).unwrap();
        l.absorb(&vars(row)).unwrap();
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.updates, 1);
        l.drop_newest(5);
        assert!(l.entries.is_empty());
    }

    #[test]
    fn garbled_markers_are_errors() {
        let mut l = MruList::default();
        assert!(l.absorb(&vars("last.newest=0x1.0")).is_err());
        assert!(l.absorb(&vars("now=zz")).is_err());
    }

    #[test]
    fn arguments() {
        let (p, o) = parse_args(&["mincount=2".into(), "sort=-count".into(), "kod".into()]);
        assert_eq!(p, ", mincount=2, resany=0x400");
        assert_eq!(o, SortOrder::RevCount);
    }
}
