//! The association list (RFC 9327 §3.1, READSTAT): `associations`,
//! `lassociations`, `passociations`, `lpassociations`, and the cache the
//! `&N` arguments and `mreadvar` ranges index.

use proto::control::{parse_association_list, Opcode};

use crate::tables::{assoc_line, assoc_table, ASSOC_HEADER};

use super::{check_assoc, Ntpq};

impl Ntpq {
    /// `associations` (`all`: `lassociations`): fetch the list, then
    /// print it.
    pub(super) fn associations_cmd(&mut self, all: bool, out: &mut String) {
        if self.get_assoc(out) {
            out.push_str(&self.print_assoc(all));
        }
    }

    /// READSTAT: fills the association cache (sorted by id).
    pub(super) fn get_assoc(&mut self, out: &mut String) -> bool {
        let Some(resp) = self.query(Opcode::ReadStatus, 0, &[], false) else {
            return false;
        };
        if resp.data.is_empty() {
            self.server_prefix(out);
            out.push_str("No association ID's returned\n");
            return false;
        }
        match parse_association_list(&resp.data) {
            Ok(mut list) => {
                list.sort_by_key(|e| e.association_id);
                self.assoc_cache = list;
                true
            }
            Err(_) => {
                if self.numhosts > 1 {
                    if let Some(s) = &self.session {
                        eprint!("server={} ", s.name);
                    }
                }
                eprintln!(
                    "***Server returned {} octets, should be multiple of 4",
                    resp.data.len()
                );
                false
            }
        }
    }

    /// `findassidrange`: the cache positions of two association ids (the
    /// cache is filled first if empty), lower first.
    pub(super) fn assoc_range(
        &mut self,
        a: u64,
        b: u64,
        out: &mut String,
    ) -> Option<(usize, usize)> {
        if self.assoc_cache.is_empty() {
            self.get_assoc(out);
        }
        let ids = [check_assoc(a)?, check_assoc(b)?];
        let mut pos = [0usize; 2];
        for (p, id) in pos.iter_mut().zip(ids) {
            match self.assoc_cache.iter().position(|e| e.association_id == id) {
                Some(i) => *p = i,
                None => {
                    eprintln!("***Association ID {id} not found in list");
                    return None;
                }
            }
        }
        Some((pos[0].min(pos[1]), pos[0].max(pos[1])))
    }

    pub(super) fn print_assoc(&self, show_all: bool) -> String {
        if show_all {
            let mut out = ASSOC_HEADER.to_string();
            if self.assoc_cache.is_empty() {
                return "No association ID's in list\n".to_string();
            }
            for (i, e) in self.assoc_cache.iter().enumerate() {
                out.push_str(&assoc_line(i + 1, e));
            }
            out
        } else {
            assoc_table(&self.assoc_cache)
        }
    }
}
