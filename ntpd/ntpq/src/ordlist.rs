//! `ifstats` and `reslist`: the server's interface table and restriction
//! list, read with the authenticated READ_ORDLIST_A request (reference
//! extension to RFC 9327, opcode 11) as indexed variables (`addr.0=...,
//! name.0=..., addr.1=...`) and shown one row per index.

use std::net::{IpAddr, SocketAddr};

use proto::control::VarList;

use crate::cooked::{decode_netnum, to_ascii};

/// The column header of `ifstats`, as the reference prints it.
pub const IFSTATS_HEADER: &str =
    "    interface name                                        send\n \
#  address/broadcast     drop flag ttl mc received sent failed peers   uptime\n\
==============================================================================\n";

/// The column header of `reslist`, as the reference prints it.
pub const RESLIST_HEADER: &str = "   hits    addr/prefix or addr mask\n           \
restrictions\n\
==============================================================================\n";

/// Fields of a complete `ifstats` row.
const IFSTATS_FIELDS: usize = 12;
/// Fields of a complete `reslist` row.
const RESLIST_FIELDS: usize = 4;

/// `sscanf("%d")`: the leading decimal integer.
fn leading_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().ok()
}

/// `tag.N` → N when `tag` is `prefix`.
fn index_of(tag: &str, prefix: &str) -> Option<u32> {
    tag.strip_prefix(prefix)?.strip_prefix('.')?.parse().ok()
}

/// An address value with optional port, shown as the reference `sptoa`.
fn sock_text(s: &str) -> Option<String> {
    let t = s.trim();
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Some(sa.to_string());
    }
    decode_netnum(t).map(|a| match a {
        IpAddr::V6(v) => format!("[{v}]:0"),
        IpAddr::V4(v) => format!("{v}:0"),
    })
}

#[derive(Debug, Default)]
struct IfRow {
    addr: String,
    bcast: Option<String>,
    enabled: i64,
    flags: u32,
    mcast: i64,
    name: String,
    peers: i64,
    rx: i64,
    ttl: i64,
    tx: i64,
    txerr: i64,
    up: i64,
}

/// Rows in index order; a row is printed when all its fields are in.
struct Rows {
    out: String,
    index: u32,
    fields: usize,
    want: usize,
}

impl Rows {
    fn new(want: usize) -> Self {
        Self {
            out: String::new(),
            index: 0,
            fields: 0,
            want,
        }
    }

    /// Moves to row `idx`; `Err` when rows come out of order.
    /// `skip_ahead` allows any later index (ifstats), else only the next
    /// one (reslist).
    fn at(&mut self, idx: u32, skip_ahead: bool) -> Result<(), String> {
        if idx == self.index {
            return Ok(());
        }
        let next = self.index.saturating_add(1);
        if idx == next || (skip_ahead && idx > next) {
            if self.fields < self.want {
                self.out.push_str(&format!(
                    "Warning: incomplete row with {} (of {}) fields",
                    self.fields, self.want
                ));
            }
            self.fields = 0;
            self.index = idx;
            return Ok(());
        }
        Err(format!(
            "received index {idx}, have {} of {} fields for index {}, aborting.",
            self.fields, self.want, self.index
        ))
    }

    fn finish(mut self) -> String {
        if self.fields != self.want {
            self.out.push_str(&format!(
                "Warning: incomplete row with {} (of {}) fields",
                self.fields, self.want
            ));
        }
        self.out
    }
}

/// The `ifstats` table from a READ_ORDLIST_A response.
pub fn ifstats(vars: &VarList) -> Result<String, (String, String)> {
    let mut rows = Rows::new(IFSTATS_FIELDS);
    let mut row = IfRow::default();
    for v in &vars.vars {
        let tag = v.name.as_str();
        let val = v.value.text();
        let text = val.unwrap_or("");
        let int = || leading_int(text);
        let parsed: Option<u32> = (|| {
            let p = tag.split('.').next()?;
            let i = index_of(tag, p)?;
            match p {
                "addr" => row.addr = sock_text(text)?,
                // No (or an empty) value: the interface does not broadcast.
                "bcast" => {
                    row.bcast = match val.filter(|b| !b.trim().is_empty()) {
                        None => None,
                        Some(b) => Some(sock_text(b)?),
                    }
                }
                "en" => row.enabled = int()?,
                "flags" => {
                    row.flags = u32::from_str_radix(text.trim().strip_prefix("0x")?, 16).ok()?
                }
                "mc" => row.mcast = int()?,
                "name" => {
                    let raw = crate::cooked::raw_value(&v.value);
                    if raw.len() < 2 {
                        return None;
                    }
                    row.name = raw[1..raw.len() - 1].to_string();
                }
                "pc" => row.peers = int()?,
                "rx" => row.rx = int()?,
                "tl" => row.ttl = int()?,
                "tx" => row.tx = int()?,
                "txerr" => row.txerr = int()?,
                "up" => row.up = int()?,
                _ => return None,
            }
            Some(i)
        })();
        let Some(idx) = parsed else {
            continue;
        };
        rows.at(idx, true).map_err(|e| (rows.out.clone(), e))?;
        rows.fields += 1;
        if rows.fields == IFSTATS_FIELDS {
            let name: String = to_ascii(&row.name).chars().take(24).collect();
            rows.out.push_str(&format!(
                "{:3} {:<24} {} {:4x} {:3} {:2} {:6} {:6} {:6} {:5} {:8}\n    {}\n",
                rows.index,
                name,
                if row.enabled != 0 { '.' } else { 'D' },
                row.flags,
                row.ttl,
                row.mcast,
                row.rx,
                row.tx,
                row.txerr,
                row.peers,
                row.up,
                row.addr
            ));
            if let Some(b) = &row.bcast {
                if !b.starts_with("0.0.0.0:") && !b.starts_with("[::]:") {
                    rows.out.push_str(&format!("    {b}\n"));
                }
            }
            row = IfRow::default();
        }
    }
    Ok(rows.finish())
}

/// Prefix length of a contiguous netmask, else `None`.
fn prefix_len(mask: IpAddr) -> Option<u32> {
    let (bits, total) = match mask {
        IpAddr::V4(m) => (u128::from(u32::from(m)) << 96, 32),
        IpAddr::V6(m) => (u128::from(m), 128),
    };
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0 && ones <= total).then_some(ones)
}

/// The `reslist` table from a READ_ORDLIST_A response.
pub fn reslist(vars: &VarList) -> Result<String, (String, String)> {
    let mut rows = Rows::new(RESLIST_FIELDS);
    let (mut addr, mut mask, mut hits, mut flags) = (None, None, 0u64, String::new());
    for v in &vars.vars {
        let tag = v.name.as_str();
        let text = v.value.text().unwrap_or("");
        let parsed: Option<u32> = (|| {
            let p = tag.split('.').next()?;
            let i = index_of(tag, p)?;
            match p {
                "addr" => addr = Some(decode_netnum(text)?),
                "mask" => mask = Some(decode_netnum(text)?),
                "hits" => hits = u64::try_from(leading_int(text)?).ok()?,
                "flags" => flags = text.to_string(),
                _ => return None,
            }
            Some(i)
        })();
        let Some(idx) = parsed else {
            continue;
        };
        rows.at(idx, false).map_err(|e| (rows.out.clone(), e))?;
        rows.fields += 1;
        if rows.fields == RESLIST_FIELDS {
            let a = addr.map_or_else(|| "0.0.0.0".to_string(), |a| a.to_string());
            let am = match mask.and_then(prefix_len) {
                Some(p) => format!("{a}/{p}"),
                None => format!(
                    "{a} {}",
                    mask.map_or_else(|| "0.0.0.0".to_string(), |m| m.to_string())
                ),
            };
            rows.out.push_str(&format!(
                "{hits:10} {am}\n           {}\n",
                to_ascii(&flags)
            ));
            addr = None;
            mask = None;
            hits = 0;
            flags.clear();
        }
    }
    Ok(rows.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_rows() {
        let vars = VarList::parse(
            b"addr.0=0.0.0.0:123, bcast.0, en.0=1, flags.0=0x89, mc.0=0, name.0=\"wildcard\", \
              pc.0=0, rx.0=0, tl.0=0, tx.0=0, txerr.0=0, up.0=180, \
              addr.1=10.0.0.1:123, bcast.1=10.0.0.255:123, en.1=1, flags.1=0x19, mc.1=0, \
              name.1=\"veth0\", pc.1=1, rx.1=42, tl.1=0, tx.1=40, txerr.1=0, up.1=180",
        )
        .unwrap();
        let t = ifstats(&vars).unwrap();
        assert_eq!(
            t,
            format!(
                "{}{}{}{}{}",
                "  0 wildcard                 .   89   0  0      0      0      0     0      180\n",
                "    0.0.0.0:123\n",
                "  1 veth0                    .   19   0  0     42     40      0     1      180\n",
                "    10.0.0.1:123\n",
                "    10.0.0.255:123\n"
            )
        );
        assert_eq!(
            IFSTATS_HEADER.lines().collect::<Vec<_>>(),
            [
                "    interface name                                        send",
                " #  address/broadcast     drop flag ttl mc received sent failed peers   uptime",
                &"=".repeat(78),
            ]
        );
        assert_eq!(
            RESLIST_HEADER.lines().nth(1),
            Some("           restrictions")
        );
    }

    #[test]
    fn restriction_rows() {
        let vars = VarList::parse(
            b"addr.0=0.0.0.0, flags.0=nopeer noquery, hits.0=12, mask.0=0.0.0.0, \
              addr.1=10.0.0.0, flags.1=, hits.1=3, mask.1=255.255.255.0, \
              addr.2=10.1.0.0, flags.2=kod, hits.2=0, mask.2=255.0.255.0",
        )
        .unwrap();
        assert_eq!(
            reslist(&vars).unwrap(),
            format!(
                "{}{}{}{}{}{}",
                "        12 0.0.0.0/0\n",
                "           nopeer noquery\n",
                "         3 10.0.0.0/24\n",
                "           \n",
                "         0 10.1.0.0 255.0.255.0\n",
                "           kod\n"
            )
        );
    }

    #[test]
    fn out_of_order_and_incomplete() {
        let vars = VarList::parse(b"addr.1=10.0.0.0, addr.0=10.0.0.1").unwrap();
        assert!(reslist(&vars).is_err());
        let vars = VarList::parse(b"addr.0=10.0.0.0, hits.0=1").unwrap();
        assert_eq!(
            reslist(&vars).unwrap(),
            "Warning: incomplete row with 2 (of 4) fields"
        );
    }
}
