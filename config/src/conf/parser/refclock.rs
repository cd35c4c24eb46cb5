//! Reference clock lines (reference ntp.conf(5) "Reference Clock
//! Support"): `server 127.127.t.u …` and `fudge 127.127.t.u …`.

use std::net::IpAddr;

use super::super::ast::{
    refclock_types_text, Address, AssocMode, AssocOptions, Directive, FudgeLine, Host,
    RefclockServer, REFCLOCK_TYPES,
};
use super::super::error::{ConfigError, Warning};
use super::super::lexer::{TokKind, Token};
use super::cursor::{narrow, Cursor};
use super::system::boolean;

/// Type and unit of a `127.127.t.u` address.
fn type_unit(a: &Address) -> Option<(u8, u8)> {
    match a.host {
        Host::Ip(IpAddr::V4(v4)) => match v4.octets() {
            [127, 127, t, u] => Some((t, u)),
            _ => None,
        },
        _ => None,
    }
}

fn supported(t: u8) -> bool {
    REFCLOCK_TYPES.iter().any(|(s, _)| *s == t)
}

/// `server 127.127.t.u`, its options already parsed: a
/// [`Directive::Refclock`] for a supported type; a warning naming the
/// supported types, and nothing, otherwise (the reference logs the line
/// and goes on without the clock).
pub(crate) fn server(
    c: &Cursor<'_>,
    kw: &Token,
    mode: AssocMode,
    address: &Address,
    clock_mode: Option<u32>,
    options: AssocOptions,
    warnings: &mut Vec<Warning>,
) -> Option<Directive> {
    let name = mode.keyword();
    let text = super::assoc::kw_text_of(address);
    let (t, u) = type_unit(address)?;
    if mode != AssocMode::Server {
        warnings.push(Warning::at(
            &c.origin_of(kw),
            format!("{name} {text}: a reference clock is configured with server; line ignored"),
        ));
        return None;
    }
    if !supported(t) {
        warnings.push(Warning::at(
            &c.origin_of(kw),
            format!(
                "server {text}: reference clock type {t} is not supported (supported types: {}); line ignored",
                refclock_types_text()
            ),
        ));
        return None;
    }
    Some(Directive::Refclock(RefclockServer {
        driver_type: t,
        unit: u,
        mode: clock_mode,
        options,
    }))
}

/// `fudge ADDRESS factor...`: a [`Directive::Fudge`] for a supported
/// clock type; accepted with a warning and dropped otherwise.
pub(crate) fn fudge(
    c: &mut Cursor<'_>,
    kw: &Token,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Directive>, ConfigError> {
    const OPTS: &[&str] = &[
        "abbrev",
        "flag1",
        "flag2",
        "flag3",
        "flag4",
        "minjitter",
        "refid",
        "stratum",
        "time1",
        "time2",
    ];
    let (address, _) = c.address("fudge")?;
    let mut f = FudgeLine::default();
    let mut any = false;
    while let Some(tok) = c.next() {
        any = true;
        match tok.kind {
            TokKind::Keyword(k @ ("time1" | "time2" | "minjitter")) => {
                let v = c.number(&format!("fudge {k}"), -f64::MAX, f64::MAX)?;
                match k {
                    "time1" => f.time1 = Some(v),
                    "time2" => f.time2 = Some(v),
                    _ => f.minjitter = Some(v),
                }
            }
            TokKind::Keyword(k @ ("flag1" | "flag2" | "flag3" | "flag4")) => {
                let on = boolean(c, &format!("fudge {k}"))?;
                let i = usize::from(k.as_bytes()[4] - b'1');
                f.flags[i] = Some(on);
            }
            TokKind::Keyword("stratum") => {
                f.stratum = Some(narrow(c.int("fudge stratum", 0, 16)?));
            }
            TokKind::Keyword(k @ ("refid" | "abbrev")) => {
                let v = c.string(&format!("fudge {k}"), "a short name")?;
                if k == "refid" {
                    f.refid = Some(v);
                }
            }
            _ => return Err(c.unknown_option(tok, "fudge", OPTS)),
        }
    }
    if !any {
        return Err(c.error_at(
            None,
            format!(
                "fudge needs at least one of: {}; got end of line",
                OPTS.join(", ")
            ),
        ));
    }
    let text = super::assoc::kw_text_of(&address);
    let Some((t, u)) = type_unit(&address) else {
        warnings.push(Warning::at(
            &c.origin_of(kw),
            format!("fudge {text}: not a reference clock address (127.127.t.u); line ignored"),
        ));
        return Ok(None);
    };
    if !supported(t) {
        warnings.push(Warning::at(
            &c.origin_of(kw),
            format!(
                "fudge {text}: reference clock type {t} is not supported (supported types: {}); line ignored",
                refclock_types_text()
            ),
        ));
        return Ok(None);
    }
    f.driver_type = t;
    f.unit = u;
    Ok(Some(Directive::Fudge(f)))
}
