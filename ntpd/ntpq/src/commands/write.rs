//! Requests that change the server, always signed (RFC 9327 §3.4, §4):
//! `writevar`/`writelist` (WRITEVAR), `:config` (CONFIGURE) and
//! `saveconfig` (SAVECONFIG).

use proto::control::{Opcode, VarList};

use crate::cooked::{cooked_print, octet_text};

use super::varlist::{add_vars, request_data};
use super::{check_assoc_opt, status_word, Ntpq};

impl Ntpq {
    /// `writevar ASSOC name=value,...`.
    pub(super) fn writevar_cmd(
        &mut self,
        assoc: Option<u64>,
        vars: Option<&str>,
        out: &mut String,
    ) {
        let Some(assoc) = check_assoc_opt(assoc) else {
            return;
        };
        let mut list = Vec::new();
        add_vars(&mut list, vars.unwrap_or_default());
        self.write_vars(assoc, &list, out);
    }

    /// `writelist [ASSOC]`: the `addvars` list.
    pub(super) fn writelist_cmd(&mut self, assoc: Option<u64>, out: &mut String) {
        let Some(assoc) = check_assoc_opt(assoc) else {
            return;
        };
        let list = self.varlist.clone();
        self.write_vars(assoc, &list, out);
    }

    /// WRITEVAR with `list`, printing what the server returns.
    fn write_vars(&mut self, assoc: u16, list: &[(String, Option<String>)], out: &mut String) {
        let data = request_data(list);
        let Some(resp) = self.query(Opcode::WriteVariables, assoc, data.as_bytes(), true) else {
            return;
        };
        self.server_prefix(out);
        if resp.data.is_empty() {
            out.push_str("done! (no data returned)\n");
        } else {
            out.push_str(&format!("associd={assoc} "));
            let vars = VarList::parse(&resp.data).unwrap_or_default();
            out.push_str(&cooked_print(&vars, Some(status_word(assoc, resp.status))));
        }
    }

    /// `:config LINE`: the server's answer, with a caret under the column
    /// of a syntax error.
    pub(super) fn config_cmd(&mut self, cfg: &str, out: &mut String) {
        let Some(resp) = self.query(Opcode::Configure, 0, cfg.as_bytes(), true) else {
            return;
        };
        let mut text = octet_text(&resp.data);
        if text.ends_with('\n') {
            text.pop();
        }
        let col = text
            .strip_prefix("column ")
            .and_then(|r| r.split_once(" syntax error"))
            .and_then(|(n, _)| n.parse::<usize>().ok())
            .filter(|&c| c <= cfg.len() + 1);
        if let Some(col) = col {
            out.push_str(&format!("{cfg}\n{}^\n", "_".repeat(col.saturating_sub(1))));
        }
        out.push_str(&text);
        out.push('\n');
    }

    /// `saveconfig FILE`.
    pub(super) fn saveconfig_cmd(&mut self, file: &str, out: &mut String) {
        let Some(resp) = self.query(Opcode::SaveConfig, 0, file.as_bytes(), true) else {
            return;
        };
        if resp.data.is_empty() {
            out.push_str("(no response message, curiously)");
        } else {
            out.push_str(&octet_text(&resp.data));
        }
    }
}
