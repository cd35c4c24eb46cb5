//! Variable lists, the text data of READVAR/READCLOCK/WRITEVAR messages
//! (RFC 9327 §3.2): `name=value, name="quoted value", name, ...`, broken
//! into lines by CR LF.
//!
//! The reader follows the reference ntpq (`nextvar`): separators are commas
//! and white space; a name ends at `,`, `=`, CR or LF; an unquoted value
//! ends at `,` or CR and loses trailing white space; a quoted value runs to
//! the closing quote, which must be followed by `,`, CR or the end.
//! Names are limited to 255 octets and values to 2047, as in ntpq.
//! Octets that are not UTF-8 are replaced by U+FFFD.

use super::error::{ControlError, VarListProblem};
use super::fragment::{concat_fragments, ResponseWriter};

const MAX_NAME_LEN: usize = 255;
const MAX_VALUE_LEN: usize = 2047;

/// The value of a variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VarValue {
    /// The name alone (a variable requested in a READVAR, or an empty string value).
    Absent,
    /// `name=value`.
    Bare(String),
    /// `name="value"`; the string is what is between the quotes.
    Quoted(String),
}

impl VarValue {
    /// The value text without quotes (`None` for [`VarValue::Absent`]).
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Absent => None,
            Self::Bare(s) | Self::Quoted(s) => Some(s),
        }
    }
}

/// One `name=value` item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variable {
    /// The variable name (`stratum`, `offset`, ...; at most 255 octets).
    pub name: String,
    /// Its value, bare, quoted or absent (at most 2047 octets).
    pub value: VarValue,
}

/// An ordered list of variables; names may repeat (`cert=..., until=...,
/// cert=...`), and the order is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct VarList {
    /// The variables in the order they appear on the wire.
    pub vars: Vec<Variable>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Mode 6 text is octets, not UTF-8: each octet becomes the character of
/// the same value (ISO 8859-1), so no octet is lost and [`octets`] gives
/// the same bytes back (ntpq prints octets >= 0x80 as `M-x`, which needs
/// the original octet).
fn text(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The inverse of [`text`]: characters up to U+00FF are one octet each;
/// any other character (never produced by parsing) is written as UTF-8.
pub fn octets(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for ch in s.chars() {
        match u8::try_from(u32::from(ch)) {
            Ok(b) => out.push(b),
            Err(_) => out.extend_from_slice(ch.encode_utf8(&mut [0u8; 4]).as_bytes()),
        }
    }
    out
}

impl VarList {
    /// Reads a variable list (the reassembled data of a response, or the
    /// data of a READVAR request).
    pub fn parse(data: &[u8]) -> Result<Self, ControlError> {
        let err = |offset: usize, reason| ControlError::VarList { offset, reason };
        let mut vars = Vec::new();
        let mut pos = 0;
        loop {
            while data.get(pos).is_some_and(|&b| b == b',' || is_space(b)) {
                pos += 1;
            }
            if pos >= data.len() {
                break;
            }
            let start = pos;
            let name_end = data[pos..]
                .iter()
                .position(|&b| matches!(b, b',' | b'=' | b'\r' | b'\n'))
                .map_or(data.len(), |i| pos + i);
            let mut name = &data[start..name_end];
            while let Some((last, rest)) = name.split_last() {
                if !is_space(*last) {
                    break;
                }
                name = rest;
            }
            if name.len() > MAX_NAME_LEN {
                return Err(err(start, VarListProblem::NameTooLong));
            }
            if name.is_empty() {
                return Err(err(start, VarListProblem::EmptyName));
            }
            pos = name_end;
            if data.get(pos) != Some(&b'=') {
                // Name alone: skip the ',' / CR / LF that ended it.
                pos += 1;
                vars.push(Variable {
                    name: text(name),
                    value: VarValue::Absent,
                });
                continue;
            }
            pos += 1;
            while data
                .get(pos)
                .is_some_and(|&b| is_space(b) && b != b'\r' && b != b'\n')
            {
                pos += 1;
            }
            let value_start = pos;
            let value = if data.get(pos) == Some(&b'"') {
                let close = data[pos + 1..]
                    .iter()
                    .position(|&b| b == b'"')
                    .map(|i| pos + 1 + i)
                    .ok_or_else(|| err(value_start, VarListProblem::UnterminatedQuote))?;
                if close + 1 - value_start > MAX_VALUE_LEN {
                    return Err(err(value_start, VarListProblem::ValueTooLong));
                }
                pos = close + 1;
                if data.get(pos).is_some_and(|&b| b != b',' && b != b'\r') {
                    return Err(err(pos, VarListProblem::TextAfterQuote));
                }
                VarValue::Quoted(text(&data[value_start + 1..close]))
            } else {
                let end = data[pos..]
                    .iter()
                    .position(|&b| b == b',' || b == b'\r')
                    .map_or(data.len(), |i| pos + i);
                if end - value_start > MAX_VALUE_LEN {
                    return Err(err(value_start, VarListProblem::ValueTooLong));
                }
                let mut v = &data[value_start..end];
                while let Some((last, rest)) = v.split_last() {
                    if !is_space(*last) {
                        break;
                    }
                    v = rest;
                }
                pos = end;
                VarValue::Bare(text(v))
            };
            if data.get(pos) == Some(&b',') {
                pos += 1;
            }
            vars.push(Variable {
                name: text(name),
                value,
            });
        }
        Ok(Self { vars })
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&VarValue> {
        self.vars.iter().find(|v| v.name == name).map(|v| &v.value)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a VarValue> + 'a {
        self.vars
            .iter()
            .filter(move |v| v.name == name)
            .map(|v| &v.value)
    }

    /// The names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().map(|v| v.name.as_str())
    }

    /// Appends a variable.
    pub fn push(&mut self, name: impl Into<String>, value: VarValue) {
        self.vars.push(Variable {
            name: name.into(),
            value,
        });
    }

    /// The list as the reference ntpd writes it in a response: `, `
    /// separators, CR LF before 72 columns, CR LF at the end (when the last
    /// fragment has room). Errors if a name or value could not be read back
    /// the same (see [`write_item`]).
    pub fn to_response_text(&self) -> Result<Vec<u8>, ControlError> {
        let mut w = ResponseWriter::new();
        for v in &self.vars {
            w.put_var(&v.name, &v.value)?;
        }
        Ok(concat_fragments(&w.finish()))
    }

    /// The list as ntpq writes it in a READVAR/WRITEVAR request: items
    /// joined by `,` with no spaces and no line breaks.
    pub fn to_request_text(&self) -> Result<Vec<u8>, ControlError> {
        let mut out = Vec::new();
        for (i, v) in self.vars.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&write_item(&v.name, &v.value)?);
        }
        Ok(out)
    }
}

/// Formats one item (`name`, `name=value` or `name="value"`), refusing
/// names and values that [`VarList::parse`] would not read back the same.
pub fn write_item(name: &str, value: &VarValue) -> Result<Vec<u8>, ControlError> {
    let bad = |reason| ControlError::Unwritable {
        name: name.to_string(),
        reason,
    };
    let beyond_octet = |t: &str| t.chars().any(|c| u32::from(c) > 0xff);
    if beyond_octet(name) || value.text().is_some_and(beyond_octet) {
        return Err(bad("character beyond U+00FF (mode 6 text is octets)"));
    }
    let name_octets = octets(name);
    let nb = name_octets.as_slice();
    if nb.is_empty() {
        return Err(bad("empty name"));
    }
    if nb.len() > MAX_NAME_LEN {
        return Err(bad("name longer than 255 octets"));
    }
    if nb.iter().any(|&b| matches!(b, b',' | b'=' | b'\r' | b'\n')) {
        return Err(bad("name contains ',', '=', CR or LF"));
    }
    if nb.first().is_some_and(|&b| is_space(b)) || nb.last().is_some_and(|&b| is_space(b)) {
        return Err(bad("name starts or ends with white space"));
    }
    let mut out = nb.to_vec();
    match value {
        VarValue::Absent => {}
        VarValue::Bare(v) => {
            let value_octets = octets(v);
            let vb = value_octets.as_slice();
            if vb.len() > MAX_VALUE_LEN {
                return Err(bad("value longer than 2047 octets"));
            }
            if vb.iter().any(|&b| b == b',' || b == b'\r') {
                return Err(bad("unquoted value contains ',' or CR"));
            }
            // The reader skips blanks (not line ends) after '=' and trims
            // trailing white space; a leading '"' would start a quoted value.
            if vb
                .first()
                .is_some_and(|&b| matches!(b, b' ' | b'\t' | 0x0b | 0x0c | b'"'))
                || vb.last().is_some_and(|&b| is_space(b))
            {
                return Err(bad(
                    "unquoted value starts with a blank or '\"', or ends with white space",
                ));
            }
            out.push(b'=');
            out.extend_from_slice(vb);
        }
        VarValue::Quoted(v) => {
            let value_octets = octets(v);
            let vb = value_octets.as_slice();
            if vb.len() + 2 > MAX_VALUE_LEN {
                return Err(bad("quoted value longer than 2045 octets"));
            }
            if vb.contains(&b'"') {
                return Err(bad("quoted value contains '\"'"));
            }
            out.extend_from_slice(b"=\"");
            out.extend_from_slice(vb);
            out.push(b'"');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reference_cert_list() {
        // bob/ntpq-mode6.pcap frame 9 (READVAR 0 "cert").
        let data = b"cert=\"bob alice 0x4\", until=202711270852, cert=\"alice alice 0x5\",\r\nuntil=202711270842, cert=\"bob bob 0x0\", until=202711270842\r\n";
        let list = VarList::parse(data).unwrap();
        let names: Vec<_> = list.names().collect();
        assert_eq!(names, ["cert", "until", "cert", "until", "cert", "until"]);
        assert_eq!(
            list.get("cert"),
            Some(&VarValue::Quoted("bob alice 0x4".into()))
        );
        let certs: Vec<_> = list.get_all("cert").filter_map(VarValue::text).collect();
        assert_eq!(certs, ["bob alice 0x4", "alice alice 0x5", "bob bob 0x0"]);
        assert_eq!(list.to_response_text().unwrap(), data.to_vec());
    }

    #[test]
    fn values_with_spaces_and_names_alone() {
        let list = VarList::parse(b"filtdelay=     0.10    0.09, peer, x=\"a, b\"\r\n").unwrap();
        assert_eq!(list.vars[0].value, VarValue::Bare("0.10    0.09".into()));
        assert_eq!(
            list.vars[1],
            Variable {
                name: "peer".into(),
                value: VarValue::Absent
            }
        );
        assert_eq!(list.vars[2].value, VarValue::Quoted("a, b".into()));
        assert_eq!(
            list.to_request_text().unwrap(),
            b"filtdelay=0.10    0.09,peer,x=\"a, b\""
        );
        assert_eq!(VarList::parse(b"").unwrap(), VarList::default());
        assert_eq!(VarList::parse(b" ,\r\n, ").unwrap(), VarList::default());
    }

    #[test]
    fn malformed_lists_are_refused() {
        let problem = |d: &[u8]| match VarList::parse(d) {
            Err(ControlError::VarList { reason, offset }) => (reason, offset),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(problem(b"a=\"open"), (VarListProblem::UnterminatedQuote, 2));
        assert_eq!(problem(b"a=\"x\" y"), (VarListProblem::TextAfterQuote, 5));
        assert_eq!(problem(b"=3"), (VarListProblem::EmptyName, 0));
        assert_eq!(problem(&[b'n'; 256]), (VarListProblem::NameTooLong, 0));
        let mut long = b"v=".to_vec();
        long.extend_from_slice(&[b'1'; 2048]);
        assert_eq!(problem(&long), (VarListProblem::ValueTooLong, 2));
    }

    #[test]
    fn writer_refuses_what_cannot_be_read_back() {
        assert!(write_item("a,b", &VarValue::Absent).is_err());
        assert!(write_item("", &VarValue::Absent).is_err());
        assert!(write_item("a", &VarValue::Bare("x,y".into())).is_err());
        assert!(write_item("a", &VarValue::Bare(" x".into())).is_err());
        assert!(write_item("a", &VarValue::Quoted("say \"hi\"".into())).is_err());
        assert_eq!(
            write_item("a", &VarValue::Bare(String::new())).unwrap(),
            b"a="
        );
        assert_eq!(
            VarList::parse(b"a=").unwrap().vars[0].value,
            VarValue::Bare(String::new())
        );
    }
}
