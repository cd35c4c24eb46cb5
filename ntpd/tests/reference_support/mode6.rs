//! Field-by-field comparison of `ntpq` outputs (RFC 9327 mode 6, the
//! reference's text forms) for the reference interop mode 6 suite: an
//! output is cut into ordered (field, value) pairs — `name=value` lists,
//! `label: value` lines, table headers and rows — so that two outputs of
//! the same command against two daemons can be compared by field names
//! and by the values that must agree.

/// One field of an ntpq output, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `name` of `name=value`, `label` of `label: value`, `header` of a
    /// table header line, `row N column K` of a table cell.
    pub name: String,
    /// Its value as printed.
    pub value: String,
}

/// How an ntpq command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `name=value, …` (rv, cv, readlist).
    Vars,
    /// `label:  value` lines after an optional status line (sysinfo,
    /// sysstats, kerninfo, authinfo, iostats, monstats).
    Labels,
    /// A header, a `===` rule, rows (-p, as, mrulist, ifstats, reslist).
    Table,
}

/// The fields of `text` printed in `shape`.
pub fn fields(text: &str, shape: Shape) -> Vec<Field> {
    match shape {
        Shape::Vars => crate::reference_support::named_vars(text)
            .into_iter()
            .map(|(name, value)| Field { name, value })
            .collect(),
        Shape::Labels => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match label_value(l) {
                Some((k, v)) => Field {
                    name: k.to_string(),
                    value: v.to_string(),
                },
                None => Field {
                    name: "status line".into(),
                    value: l.trim().to_string(),
                },
            })
            .collect(),
        Shape::Table => {
            let mut out = Vec::new();
            let mut rows = 0;
            let mut after_rule = false;
            for l in text.lines().filter(|l| !l.trim().is_empty()) {
                if l.starts_with("===") {
                    after_rule = true;
                } else if !after_rule {
                    out.push(Field {
                        name: "header".into(),
                        value: l.split_whitespace().collect::<Vec<_>>().join(" "),
                    });
                } else {
                    rows += 1;
                    for (k, cell) in l.split_whitespace().enumerate() {
                        out.push(Field {
                            name: format!("row {rows} column {}", k + 1),
                            value: cell.to_string(),
                        });
                    }
                }
            }
            out.push(Field {
                name: "rows".into(),
                value: rows.to_string(),
            });
            out
        }
    }
}

/// `label:   value` (a label of letters, digits, blanks and `/._-()`,
/// then a colon and blanks).
fn label_value(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(':')?;
    let ok = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._/-()".contains(c));
    (ok && (v.is_empty() || v.starts_with(' '))).then(|| (k.trim(), v.trim()))
}

/// The differences between `ours` and `theirs` (outputs of one command
/// against two daemons): fields present in one only, and fields named in
/// `same` whose values differ. Each difference is one line for a failure
/// message.
pub fn differences(ours: &[Field], theirs: &[Field], same: &[&str]) -> Vec<String> {
    let names = |f: &[Field]| f.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
    let (on, tn) = (names(ours), names(theirs));
    let mut out = Vec::new();
    for n in &tn {
        if !on.contains(n) {
            out.push(format!("missing {n}"));
        }
    }
    for n in &on {
        if !tn.contains(n) {
            out.push(format!("extra {n}"));
        }
    }
    if out.is_empty() && on != tn {
        out.push(format!("field order: {on:?} vs {tn:?}"));
    }
    for s in same {
        let get = |f: &[Field]| f.iter().find(|x| x.name == *s).map(|x| x.value.clone());
        if let (Some(o), Some(t)) = (get(ours), get(theirs)) {
            if o != t {
                out.push(format!("{s}: {o} vs {t}"));
            }
        }
    }
    out
}
