//! Export streams: `ntp-keygen -e` / `-q` write one or more files to
//! stdout, each starting with its own `# ntpkey_<type>_<group>.<fs>` header
//! line. The operator splits them and saves each under its header name
//! without the filestamp (brief §8.2).

/// One file of an export stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportBlock {
    /// Name from the header line, e.g. `ntpkey_iffpar_alice.4004757732`.
    pub file_name: String,
    /// The name `ntpd` looks for: the file name without `.<filestamp>`.
    pub link_name: String,
    /// The complete file text, header lines included.
    pub text: String,
}

/// Splits an export stream at each `# ntpkey_` header line.
pub fn split(stream: &str) -> Vec<ExportBlock> {
    let mut out: Vec<ExportBlock> = Vec::new();
    for line in stream.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("# ntpkey_") {
            let file_name = format!("ntpkey_{}", name.trim_end());
            let link_name = match file_name.rfind('.') {
                Some(dot) => file_name[..dot].to_string(),
                None => file_name.clone(),
            };
            out.push(ExportBlock {
                file_name,
                link_name,
                text: String::new(),
            });
        }
        if let Some(last) = out.last_mut() {
            last.text.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_header_lines() {
        let s = "# ntpkey_a_g.5\n# date\n\nX\n# ntpkey_b_g.5\n# date\n\nY\n";
        let b = split(s);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].file_name, "ntpkey_a_g.5");
        assert_eq!(b[0].link_name, "ntpkey_a_g");
        assert_eq!(b[0].text, "# ntpkey_a_g.5\n# date\n\nX\n");
        assert_eq!(b[1].text, "# ntpkey_b_g.5\n# date\n\nY\n");
        assert!(split("").is_empty());
    }
}
