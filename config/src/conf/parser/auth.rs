//! Authentication directives (ntp.conf(5) "Authentication Commands";
//! brief §9.1): `crypto`, `keys`, `keysdir`, `trustedkey`, `controlkey`,
//! `requestkey`, `automax`, `revoke`, `ident`.

use super::super::ast::{Crypto, Directive, KeyRange};
use super::super::error::{ConfigError, Warning};
use super::super::lexer::TokKind;
use super::cursor::{describe, narrow, Cursor};

const CRYPTO_OPTIONS: &[&str] = &["digest", "host", "ident", "pw", "randfile", "revoke"];

/// Subcommands of 4.2.4-era `crypto` lines that 4.2.8 no longer knows.
const REMOVED_CRYPTO: &[&str] = &[
    "cert", "gqpar", "iffpar", "mvpar", "sign", "priv", "gq", "iff", "mv", "flags",
];

/// OpenSSL short names that make Autokey digests of at most 20 octets.
const SHORT_DIGESTS: &[&str] = &["MD5", "MD4", "SHA1", "SHA", "RIPEMD160", "MDC2"];
/// Valid OpenSSL names whose output is too long for Autokey (brief §5.7).
const LONG_DIGESTS: &[&str] = &["SHA224", "SHA256", "SHA384", "SHA512"];

/// `crypto [digest D] [host H] [ident I] [pw P] [randfile F] [revoke N]`.
/// A `revoke` inside `crypto` is the deprecated spelling of `revoke N`
/// and becomes a separate [`Directive::Revoke`].
pub(crate) fn crypto(
    c: &mut Cursor<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Directive>, ConfigError> {
    let mut cr = Crypto::default();
    let mut revoke = None;
    while let Some(tok) = c.next() {
        match &tok.kind {
            TokKind::Keyword("digest") => {
                let at = c.here();
                let d = c.string("crypto digest", "a digest name such as MD5 or SHA1")?;
                if SHORT_DIGESTS.contains(&d.as_str()) {
                    cr.digest = Some(d);
                } else if LONG_DIGESTS.contains(&d.as_str()) {
                    warnings.push(Warning::at(
                        &at,
                        format!("crypto digest {d} makes MACs longer than 20 octets, which Autokey cannot carry; peers will reject the packets"),
                    ));
                    cr.digest = Some(d);
                } else {
                    warnings.push(Warning::at(
                        &at,
                        format!("crypto digest \"{d}\" is not a digest name the reference knows (names are case-sensitive, e.g. MD5, SHA1, RIPEMD160); ignored, MD5 is used"),
                    ));
                }
            }
            TokKind::Keyword("host") => cr.host = Some(c.string("crypto host", "a host name")?),
            TokKind::Keyword("ident") => cr.ident = Some(c.string("crypto ident", "a group name")?),
            TokKind::Keyword("pw") => cr.pw = Some(c.string("crypto pw", "a password")?),
            TokKind::Keyword("randfile") => {
                cr.randfile = Some(c.string("crypto randfile", "a file name")?)
            }
            TokKind::Keyword("revoke") => {
                let n = c.int("crypto revoke", 3, 31)?;
                warnings.push(Warning::at(
                    &c.origin_of(tok),
                    format!(
                        "'crypto revoke {n}' is deprecated; write 'revoke {n}' on its own line"
                    ),
                ));
                revoke = Some(narrow(n));
            }
            // 4.2.4's `crypto leap FILE` named the NIST leap-seconds file.
            // 4.2.8 reads that file through `leapfile`; the reference drops
            // the whole crypto line (Autokey silently off). We keep the rest
            // of the line and say where the setting went.
            TokKind::Str(s) if s == "leap" => {
                let file = c.string("crypto leap", "a leap-seconds file name")?;
                warnings.push(Warning::at(
                    &c.origin_of(tok),
                    format!("crypto leap is from ntp 4.2.4 and is ignored; write 'leapfile {file}' on its own line to use that leap-seconds file"),
                ));
            }
            TokKind::Str(s) if REMOVED_CRYPTO.contains(&s.as_str()) => {
                return Err(c.error_at(
                    Some(tok),
                    format!("crypto {s} was removed after ntp 4.2.4 and makes the reference drop the whole crypto line (Autokey stays off); expected one of: {}", CRYPTO_OPTIONS.join(", ")),
                ));
            }
            _ => return Err(c.unknown_option(tok, "crypto", CRYPTO_OPTIONS)),
        }
    }
    let mut out = vec![Directive::Crypto(cr)];
    if let Some(n) = revoke {
        out.push(Directive::Revoke(n));
    }
    Ok(out)
}

/// `trustedkey ID... (LO ... HI)...`.
pub(crate) fn trustedkey(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let mut keys = Vec::new();
    while let Some(tok) = c.peek() {
        if tok.kind == TokKind::Special('(') {
            c.next();
            let first: u16 = narrow(c.int("trustedkey range", 1, 65535)?);
            let dots = c.next();
            if !matches!(dots.map(|t| &t.kind), Some(TokKind::Keyword("..."))) {
                return Err(c.error_at(
                    dots,
                    format!(
                        "trustedkey range needs \"...\" between its keys, as in (1 ... 5); got {}",
                        describe(dots)
                    ),
                ));
            }
            let last: u16 = narrow(c.int("trustedkey range", 1, 65535)?);
            let close = c.next();
            if close.map(|t| &t.kind) != Some(&TokKind::Special(')')) {
                return Err(c.error_at(
                    close,
                    format!(
                        "trustedkey range must end with ')'; got {}",
                        describe(close)
                    ),
                ));
            }
            if first > last {
                return Err(c.error_at(
                    Some(tok),
                    format!("trustedkey range ({first} ... {last}) is backwards; expected the lower key first"),
                ));
            }
            keys.push(KeyRange { first, last });
        } else {
            let k: u16 = narrow(c.int("trustedkey", 1, 65535)?);
            keys.push(KeyRange { first: k, last: k });
        }
    }
    if keys.is_empty() {
        return Err(c.error_at(
            None,
            "trustedkey needs at least one key ID or range such as (1 ... 5); got end of line",
        ));
    }
    Ok(Directive::TrustedKey(keys))
}

/// `controlkey ID` / `requestkey ID`.
pub(crate) fn key_id(c: &mut Cursor<'_>, what: &str) -> Result<u16, ConfigError> {
    let k = narrow(c.int(what, 1, 65535)?);
    c.expect_end(what)?;
    Ok(k)
}

/// `automax N` / `revoke N` (log2 seconds, 3..31).
pub(crate) fn log2_interval(c: &mut Cursor<'_>, what: &str) -> Result<u8, ConfigError> {
    let n = narrow(c.int(what, 3, 31)?);
    c.expect_end(what)?;
    Ok(n)
}
