//! Reading the server's variables (RFC 9327 §3.2, READVAR and READCLOCK):
//! `readvar`/`readlist`, `clockvar`/`clocklist`, `mreadvar`/`mreadlist`,
//! the statistics tables (`pstats`, `sysinfo`, `kerninfo`, `sysstats`, …)
//! and the ordered lists of `ifstats` and `reslist`.

use proto::control::{Opcode, StatusWord, VarList};

use crate::cooked::{cooked_print, raw_print};
use crate::ordlist::{ifstats, reslist, IFSTATS_HEADER, RESLIST_HEADER};
use crate::tables::{vdc_display, vdc_request, Vdc, PSTATS};

use super::varlist::{add_vars, request_data};
use super::{check_assoc, check_assoc_opt, status_word, Args, Ntpq};

/// An ordered list of READ_ORDLIST_A (an extension of the reference's
/// ntpd): the interfaces, or the restrict list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OrderedList {
    /// `ifstats`.
    Interfaces,
    /// `reslist`.
    Restrictions,
}

impl Ntpq {
    /// `readlist [ASSOC]` (`clock`: `clocklist`): the `addvars` list.
    pub(super) fn readlist_cmd(&mut self, assoc: Option<u64>, clock: bool, out: &mut String) {
        let Some(assoc) = check_assoc_opt(assoc) else {
            return;
        };
        let list = self.varlist.clone();
        self.do_list(&list, assoc, clock, out);
    }

    /// `readvar [ASSOC] [VARS...]` (`clock`: `clockvar`).
    pub(super) fn readvar_cmd(&mut self, args: Args<'_>, clock: bool, out: &mut String) {
        let Some(assoc) = check_assoc_opt(args.uint(0)) else {
            return;
        };
        let mut list = Vec::new();
        for v in (1..args.len()).filter_map(|i| args.str(i)) {
            add_vars(&mut list, &v);
        }
        self.do_list(&list, assoc, clock, out);
    }

    /// `mreadlist FROM TO` (`vars`: `mreadvar FROM TO [VARS]`): the same
    /// variables of every association of the cache between two ids.
    pub(super) fn mread_cmd(&mut self, args: Args<'_>, vars: bool, out: &mut String) {
        let (Some(a), Some(b)) = (args.uint(0), args.uint(1)) else {
            return;
        };
        let Some((from, to)) = self.assoc_range(a, b, out) else {
            return;
        };
        let list = match args.str(2) {
            Some(v) if vars => {
                let mut l = Vec::new();
                add_vars(&mut l, &v);
                l
            }
            _ => self.varlist.clone(),
        };
        for i in from..=to {
            if !vars && i != from {
                out.push('\n');
            }
            let Some(id) = self.assoc_cache.get(i).map(|e| e.association_id) else {
                break;
            };
            if !self.do_list(&list, id, false, out) {
                break;
            }
        }
    }

    /// `pstats ASSOC`.
    pub(super) fn pstats_cmd(&mut self, assoc: Option<u64>, out: &mut String) {
        let Some(assoc) = assoc.and_then(check_assoc) else {
            return;
        };
        self.vdc(assoc, PSTATS, true, out);
    }

    /// `ifstats` and `reslist`: READ_ORDLIST_A, shown as the reference's
    /// tables.
    pub(super) fn ordered_list_cmd(&mut self, list: OrderedList, out: &mut String) {
        let (data, header): (&[u8], _) = match list {
            OrderedList::Interfaces => (b"", IFSTATS_HEADER),
            OrderedList::Restrictions => (b"addr_restrictions", RESLIST_HEADER),
        };
        let Some(resp) = self.query(Opcode::ReadOrderedListA, 0, data, true) else {
            return;
        };
        out.push_str(header);
        let vars = VarList::parse(&resp.data).unwrap_or_else(|e| {
            eprintln!("nextvar: {e}");
            VarList::default()
        });
        let table = match list {
            OrderedList::Interfaces => ifstats(&vars),
            OrderedList::Restrictions => reslist(&vars),
        };
        match table {
            Ok(t) => out.push_str(&t),
            Err((partial, msg)) => {
                out.push_str(&partial);
                eprintln!("{msg}");
            }
        }
    }

    /// READVAR (READCLOCK for `clock`) with a variable list, printed as
    /// `rv`/`rl` (`cv`/`cl`) print it.
    pub(super) fn do_list(
        &mut self,
        list: &[(String, Option<String>)],
        assoc: u16,
        clock: bool,
        out: &mut String,
    ) -> bool {
        let quiet = !list.is_empty();
        let data = request_data(list);
        let opcode = if clock {
            Opcode::ReadClock
        } else {
            Opcode::ReadVariables
        };
        let Some(resp) = self.query(opcode, assoc, data.as_bytes(), false) else {
            return false;
        };
        self.server_prefix(out);
        let clk = if clock { " clock" } else { "" };
        if resp.data.is_empty() {
            if assoc == 0 {
                out.push_str(&format!("No system{clk} variables returned\n"));
            } else {
                out.push_str(&format!(
                    "No information returned for{clk} association {assoc}\n"
                ));
            }
            return true;
        }
        if !quiet {
            out.push_str(&format!("associd={assoc} "));
        }
        if self.raw {
            out.push_str(&raw_print(&resp.data, (!quiet).then_some(resp.status)));
            return true;
        }
        let status = (!quiet).then(|| {
            if clock {
                StatusWord::Clock(proto::control::ClockStatus::from_word(resp.status))
            } else {
                status_word(assoc, resp.status)
            }
        });
        match VarList::parse(&resp.data) {
            // `flags` asked for alone: in words too (autokey_flags).
            Ok(vars) if !clock && list.len() == 1 && list[0].0 == "flags" => {
                let text = cooked_print(&vars, status);
                out.push_str(&crate::autokey_flags::annotate(&text, assoc != 0));
            }
            Ok(vars) => out.push_str(&cooked_print(&vars, status)),
            Err(e) => {
                if let Some(sw) = status {
                    out.push_str(&format!("status={:04x} {},\n", sw.to_word(), sw.describe()));
                }
                eprintln!("nextvar: {e}");
            }
        }
        true
    }

    pub(super) fn vdc(&mut self, assoc: u16, table: &[Vdc], show_status: bool, out: &mut String) {
        let req = vdc_request(table);
        let Some(resp) = self.query(Opcode::ReadVariables, assoc, req.as_bytes(), false) else {
            return;
        };
        let vars = VarList::parse(&resp.data).unwrap_or_else(|e| {
            eprintln!("nextvar: {e}");
            VarList::default()
        });
        let status = show_status.then(|| (assoc, status_word(assoc, resp.status)));
        out.push_str(&vdc_display(table, &vars, status));
    }
}
