//! The variable list of `addvars`, `rmvars`, `clearvars` and `showvars`
//! (what `readlist`, `writelist` and `mreadlist` send), and the request
//! data made of such a list (`name[=value],...`, RFC 9327 §3.3).

use proto::control::{VarList, VarValue};

use crate::cooked::raw_value;

use super::Ntpq;

impl Ntpq {
    /// `addvars name[=value],...`.
    pub(super) fn addvars_cmd(&mut self, list: Option<&str>) {
        if let Some(list) = list {
            add_vars(&mut self.varlist, list);
        }
    }

    /// `rmvars name,...`.
    pub(super) fn rmvars_cmd(&mut self, list: Option<&str>) {
        let Some(list) = list else {
            return;
        };
        if let Ok(vl) = VarList::parse(list.as_bytes()) {
            for name in vl.names() {
                self.varlist.retain(|(n, _)| n != name);
            }
        }
    }

    /// `showvars`.
    pub(super) fn showvars_cmd(&self, out: &mut String) {
        if self.varlist.is_empty() {
            out.push_str("No variables on list\n");
        }
        for (n, v) in &self.varlist {
            match v {
                Some(v) => out.push_str(&format!("{n}={v}\n")),
                None => out.push_str(&format!("{n}\n")),
            }
        }
    }
}

/// Adds `name[=value],...` items to a variable list (replacing values of
/// names already on it).
pub(super) fn add_vars(list: &mut Vec<(String, Option<String>)>, text: &str) {
    let Ok(vl) = VarList::parse(text.as_bytes()) else {
        eprintln!("***Bad variable list `{text}'");
        return;
    };
    for v in vl.vars {
        let value = match &v.value {
            VarValue::Absent => None,
            other => Some(raw_value(other)),
        };
        match list.iter_mut().find(|(n, _)| *n == v.name) {
            Some(slot) => slot.1 = value,
            None => list.push((v.name, value)),
        }
    }
}

/// The request data for a variable list: `name[=value]` joined by `,`,
/// stopping before the item that would not fit one request.
pub(super) fn request_data(list: &[(String, Option<String>)]) -> String {
    let mut s = String::new();
    for (n, v) in list {
        let item = match v {
            Some(v) => format!("{n}={v}"),
            None => n.clone(),
        };
        let extra = item.len() + usize::from(!s.is_empty());
        if s.len() + extra > proto::control::MAX_DATA_LEN {
            eprintln!("***Ignoring variables starting with `{n}'");
            break;
        }
        if !s.is_empty() {
            s.push(',');
        }
        s.push_str(&item);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_lists_for_requests() {
        let mut l = Vec::new();
        add_vars(&mut l, "hmode,pmode,reach");
        add_vars(&mut l, "reach=3");
        assert_eq!(request_data(&l), "hmode,pmode,reach=3");
    }
}
