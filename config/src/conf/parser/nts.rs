//! `nts [enable|disable] [key FILE] [cert FILE] [cookie FILE] [ca PATH]
//! [port N]` (ntpsec's syntax, see [`NtsOption`]). ntpsec's TLS tuning
//! options (`mintls`, `maxtls`, `tlsciphersuites`, `tlsecdhcurves`,
//! `aead`) are accepted with a warning and ignored: the daemon always uses
//! TLS 1.3 and AEAD_AES_SIV_CMAC_256.

use super::super::ast::{Directive, NtsOption};
use super::super::error::{ConfigError, Warning};
use super::super::lexer::TokKind;
use super::cursor::{narrow, Cursor};

const OPTIONS: &[&str] = &["enable", "disable", "key", "cert", "cookie", "ca", "port"];
const IGNORED: &[&str] = &[
    "mintls",
    "maxtls",
    "tlsciphersuites",
    "tlsecdhcurves",
    "aead",
];

/// Parses the rest of an `nts` line.
pub(crate) fn nts(
    c: &mut Cursor<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Directive, ConfigError> {
    let mut options = Vec::new();
    while let Some(tok) = c.next() {
        let word = match &tok.kind {
            TokKind::Keyword(k) => *k,
            TokKind::Str(s) => s.as_str(),
            _ => return Err(c.unknown_option(tok, "nts", OPTIONS)),
        };
        let option = match word {
            "enable" => NtsOption::Enable,
            "disable" => NtsOption::Disable,
            "key" => NtsOption::Key(c.string("nts key", "a file name")?),
            "cert" => NtsOption::Cert(c.string("nts cert", "a file name")?),
            "cookie" => NtsOption::Cookie(c.string("nts cookie", "a file name")?),
            "ca" => NtsOption::Ca(c.string("nts ca", "a file or directory name")?),
            "port" => NtsOption::Port(narrow(c.int("nts port", 1, 65535)?)),
            w if IGNORED.contains(&w) => {
                let at = c.origin_of(tok);
                let _ = c.next();
                warnings.push(Warning::at(
                    &at,
                    format!(
                        "nts {w} is ignored: NTS always uses TLS 1.3 and AEAD_AES_SIV_CMAC_256"
                    ),
                ));
                continue;
            }
            _ => return Err(c.unknown_option(tok, "nts", OPTIONS)),
        };
        options.push(option);
    }
    if options.is_empty() {
        return Err(c.error_at(
            None,
            format!(
                "nts needs an option; expected one of: {}",
                OPTIONS.join(", ")
            ),
        ));
    }
    Ok(Directive::Nts(options))
}
