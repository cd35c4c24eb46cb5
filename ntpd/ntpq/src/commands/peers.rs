//! The peers billboards (`peers`, `lpeers`, `apeers`, `opeers`,
//! `lopeers`): the association list, then READVAR of each shown
//! association, one line each, as the reference ntpq prints them.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use proto::control::{Opcode, VarList, VarValue};

use crate::cooked::decode_netnum;
use crate::tables::{is_shown, peer_line, trunc_left, PeerList, PeerOpts, PEERS_RULE};
use crate::transport::Family;

use super::{Ntpq, NOW_ENV};

/// Seconds from the NTP era 0 epoch (1900) to the Unix epoch (1970).
const UNIX_TO_NTP: u64 = 2_208_988_800;

impl Ntpq {
    /// "Now" in NTP seconds for the `when` column: `NTPQ_TEST_NOW` (hex)
    /// if set, else the system clock.
    fn now(&self) -> u32 {
        if let Some(v) = std::env::var(NOW_ENV)
            .ok()
            .and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        {
            return v;
        }
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        (unix + UNIX_TO_NTP) as u32
    }

    /// A billboard: `list`'s columns, every association (`show_all`) or
    /// only the interesting ones, of the family `af` (`-4`/`-6`). The
    /// header is written to `w` before the per-peer queries.
    pub(super) fn peers(
        &mut self,
        list: PeerList,
        show_all: bool,
        af: Family,
        out: &mut String,
        w: &mut dyn Write,
    ) {
        if !self.get_assoc(out) {
            return;
        }
        self.peers_header(list, out);
        // Flush the header before the (possibly slow) per-peer queries.
        let _ = w.write_all(out.as_bytes());
        out.clear();
        let opts = PeerOpts {
            list,
            wide: self.wide,
            now: self.now(),
        };
        let ids: Vec<(u16, u16)> = self
            .assoc_cache
            .iter()
            .map(|e| (e.association_id, e.status.to_word()))
            .collect();
        for (id, st) in ids {
            if !show_all && !is_shown(st) {
                continue;
            }
            if !self.peer_row(id, af, opts, out) {
                return;
            }
        }
    }

    /// The title and rule lines, with the `server` column when several
    /// hosts are queried.
    fn peers_header(&self, list: PeerList, out: &mut String) {
        let multi = self.numhosts > 1;
        let hl = self.max_host_len;
        if multi {
            let title = if list == PeerList::OPeers {
                "server"
            } else {
                "server (local)"
            };
            out.push_str(&format!("{title:<hl$.hl$} "));
        }
        out.push_str(list.header());
        out.push('\n');
        if multi {
            out.push_str(&"=".repeat(hl + 1));
        }
        out.push_str(PEERS_RULE);
        out.push('\n');
    }

    /// READVAR of association `id` and its billboard line (none when its
    /// source is not of family `af`). False when the query failed or
    /// returned nothing, which ends the billboard as in the reference.
    fn peer_row(&mut self, id: u16, af: Family, opts: PeerOpts, out: &mut String) -> bool {
        let multi = self.numhosts > 1;
        let Some(resp) = self.query(Opcode::ReadVariables, id, &[], false) else {
            return false;
        };
        if resp.data.is_empty() {
            if let (true, Some(s)) = (multi, &self.session) {
                eprint!("server={} ", s.name);
            }
            eprintln!("***No information returned for association {id}");
            return false;
        }
        let vars = VarList::parse(&resp.data).unwrap_or_else(|e| {
            eprintln!("nextvar: {e}");
            VarList::default()
        });
        let src_v6 = vars
            .get("srcadr")
            .and_then(VarValue::text)
            .and_then(decode_netnum)
            .map(|a| a.is_ipv6());
        let wanted = match af {
            Family::Any => true,
            Family::V4 => src_v6 == Some(false),
            Family::V6 => src_v6 == Some(true),
        };
        if !wanted {
            return true;
        }
        if multi {
            let hl = self.max_host_len;
            let local = vars
                .get("dstadr")
                .and_then(VarValue::text)
                .and_then(decode_netnum)
                .map(|a| a.to_string())
                .or_else(|| self.session.as_ref().map(|s| s.name.clone()))
                .unwrap_or_default();
            let local = trunc_left(&local, hl);
            out.push_str(&format!("{local:<hl$} "));
        }
        out.push_str(&peer_line(id, resp.status, &vars, opts));
        true
    }
}
