//! System options: `tos`, `tinker`, `enable`/`disable`, `rlimit`,
//! `interface`/`nic`, `reset` (ntp.conf(5) "Miscellaneous Options").

use std::net::IpAddr;

use super::super::ast::{
    Directive, NicAction, NicMatch, NicRule, ResetCounter, RlimitOption, SystemFlag, TinkerOption,
    TosOption,
};
use super::super::error::{ConfigError, Origin};
use super::super::lexer::TokKind;
use super::cursor::{describe, narrow, Cursor};

const BIG: i64 = i32::MAX as i64;

/// `tos option value...`.
pub(crate) fn tos(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    const OPTS: &[&str] = &[
        "basedate",
        "bcpollbstep",
        "beacon",
        "ceiling",
        "cohort",
        "floor",
        "maxclock",
        "maxdist",
        "minclock",
        "mindist",
        "minsane",
        "orphan",
        "orphanwait",
    ];
    let mut out = Vec::new();
    while let Some(tok) = c.next() {
        let TokKind::Keyword(k) = tok.kind else {
            return Err(c.unknown_option(tok, "tos", OPTS));
        };
        let what = format!("tos {k}");
        out.push(match k {
            "bcpollbstep" => TosOption::BcPollBStep(narrow(c.int(&what, 0, 4)?)),
            "beacon" => TosOption::Beacon(narrow(c.int(&what, 1, BIG)?)),
            "ceiling" => TosOption::Ceiling(narrow(c.int(&what, 1, 15)?)),
            "floor" => TosOption::Floor(narrow(c.int(&what, 0, 15)?)),
            "maxclock" => TosOption::MaxClock(narrow(c.int(&what, 1, BIG)?)),
            "minclock" => TosOption::MinClock(narrow(c.int(&what, 1, BIG)?)),
            "minsane" => TosOption::MinSane(narrow(c.int(&what, 0, BIG)?)),
            "orphan" => TosOption::Orphan(narrow(c.int(&what, 1, 16)?)),
            "orphanwait" => TosOption::OrphanWait(narrow(c.int(&what, 0, BIG)?)),
            "mindist" => TosOption::MinDist(c.number(&what, 0.0, f64::MAX)?),
            "maxdist" => TosOption::MaxDist(c.number(&what, 0.0, f64::MAX)?),
            "cohort" => TosOption::Cohort(boolean(c, &what)?),
            "basedate" => {
                let at = c.here();
                let d = c.string(&what, "a date YYYY-MM-DD")?;
                check_date(&d, &at)?;
                TosOption::BaseDate(d)
            }
            _ => return Err(c.unknown_option(tok, "tos", OPTS)),
        });
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            format!(
                "tos needs at least one option ({}); got end of line",
                OPTS.join(", ")
            ),
        ));
    }
    Ok(Directive::Tos(out))
}

/// The grammar's `boolean`: `0`, `1` or `true`.
pub(crate) fn boolean(c: &mut Cursor<'_>, what: &str) -> Result<bool, ConfigError> {
    let tok = c.next();
    match tok.map(|t| &t.kind) {
        Some(TokKind::Integer(0)) => Ok(false),
        Some(TokKind::Integer(1)) | Some(TokKind::Keyword("true")) => Ok(true),
        _ => Err(c.error_at(tok, format!("{what} takes 0 or 1; got {}", describe(tok)))),
    }
}

fn check_date(d: &str, at: &Origin) -> Result<(), ConfigError> {
    let parts: Vec<&str> = d.split('-').collect();
    let ok = match parts.as_slice() {
        [y, m, day] if y.len() == 4 && m.len() == 2 && day.len() == 2 => {
            match (y.parse::<u32>(), m.parse::<u32>(), day.parse::<u32>()) {
                (Ok(y), Ok(m), Ok(day)) => {
                    y >= 1970 && (1..=12).contains(&m) && (1..=31).contains(&day)
                }
                _ => false,
            }
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ConfigError::syntax(
            at,
            format!("tos basedate needs a date YYYY-MM-DD from 1970 on; got \"{d}\""),
        ))
    }
}

/// `tinker option value...`.
pub(crate) fn tinker(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    const OPTS: &[&str] = &[
        "allan",
        "dispersion",
        "freq",
        "huffpuff",
        "panic",
        "step",
        "stepback",
        "stepfwd",
        "stepout",
        "tick",
    ];
    let mut out = Vec::new();
    while let Some(tok) = c.next() {
        let TokKind::Keyword(k) = tok.kind else {
            return Err(c.unknown_option(tok, "tinker", OPTS));
        };
        let make: fn(f64) -> TinkerOption = match k {
            "allan" => TinkerOption::Allan,
            "dispersion" => TinkerOption::Dispersion,
            "freq" => TinkerOption::Freq,
            "huffpuff" => TinkerOption::Huffpuff,
            "panic" => TinkerOption::Panic,
            "step" => TinkerOption::Step,
            "stepback" => TinkerOption::Stepback,
            "stepfwd" => TinkerOption::Stepfwd,
            "stepout" => TinkerOption::Stepout,
            "tick" => TinkerOption::Tick,
            _ => return Err(c.unknown_option(tok, "tinker", OPTS)),
        };
        let what = format!("tinker {k}");
        let v = if k == "freq" {
            c.number(&what, -500.0, 500.0)?
        } else {
            c.number(&what, 0.0, f64::MAX)?
        };
        out.push(make(v));
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            format!(
                "tinker needs at least one option ({}); got end of line",
                OPTS.join(", ")
            ),
        ));
    }
    Ok(Directive::Tinker(out))
}

/// `enable FLAG...` / `disable FLAG...`.
pub(crate) fn system_flags(c: &mut Cursor<'_>, what: &str) -> Result<Vec<SystemFlag>, ConfigError> {
    let names: Vec<&str> = SystemFlag::ALL.iter().map(|f| f.keyword()).collect();
    let mut out = Vec::new();
    while let Some(tok) = c.next() {
        let found = match tok.kind {
            TokKind::Keyword(k) => SystemFlag::ALL.iter().copied().find(|f| f.keyword() == k),
            _ => None,
        };
        match found {
            Some(f) => out.push(f),
            None => return Err(c.unknown_option(tok, what, &names)),
        }
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            format!(
                "{what} needs at least one of: {}; got end of line",
                names.join(", ")
            ),
        ));
    }
    Ok(out)
}

/// `rlimit [memlock MB] [stacksize PAGES] [filenum N]`.
pub(crate) fn rlimit(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    const OPTS: &[&str] = &["filenum", "memlock", "stacksize"];
    let mut out = Vec::new();
    while let Some(tok) = c.next() {
        out.push(match tok.kind {
            TokKind::Keyword("memlock") => {
                RlimitOption::Memlock(narrow(c.int("rlimit memlock", -1, BIG)?))
            }
            TokKind::Keyword("stacksize") => {
                RlimitOption::Stacksize(narrow(c.int("rlimit stacksize", 0, BIG)?))
            }
            TokKind::Keyword("filenum") => {
                RlimitOption::Filenum(narrow(c.int("rlimit filenum", 0, BIG)?))
            }
            _ => return Err(c.unknown_option(tok, "rlimit", OPTS)),
        });
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            "rlimit needs at least one of memlock, stacksize, filenum; got end of line",
        ));
    }
    Ok(Directive::Rlimit(out))
}

/// `interface|nic listen|ignore|drop all|ipv4|ipv6|wildcard|NAME|ADDRESS[/PREFIX]`.
pub(crate) fn interface(c: &mut Cursor<'_>, what: &str) -> Result<Directive, ConfigError> {
    let tok = c.next();
    let action = match tok.map(|t| &t.kind) {
        Some(TokKind::Keyword("listen")) => NicAction::Listen,
        Some(TokKind::Keyword("ignore")) => NicAction::Ignore,
        Some(TokKind::Keyword("drop")) => NicAction::Drop,
        _ => {
            return Err(c.error_at(
                tok,
                format!("{what} needs listen, ignore or drop; got {}", describe(tok)),
            ))
        }
    };
    let matches = match c.peek_keyword() {
        Some("all") => NicMatch::All,
        Some("ipv4") => NicMatch::Ipv4,
        Some("ipv6") => NicMatch::Ipv6,
        Some("wildcard") => NicMatch::Wildcard,
        _ => {
            let at = c.here();
            let text = c.string(
                what,
                "all, ipv4, ipv6, wildcard, an interface name or an address[/prefix]",
            )?;
            nic_match(&text, &at)?
        }
    };
    if matches!(
        matches,
        NicMatch::All | NicMatch::Ipv4 | NicMatch::Ipv6 | NicMatch::Wildcard
    ) {
        c.next();
    }
    c.expect_end(what)?;
    Ok(Directive::Interface(NicRule { action, matches }))
}

fn nic_match(text: &str, at: &Origin) -> Result<NicMatch, ConfigError> {
    if let Some((addr, prefix)) = text.split_once('/') {
        let address: IpAddr = addr.parse().map_err(|_| {
            ConfigError::syntax(at, format!("\"{text}\" has a /prefix but \"{addr}\" is not an IP address; expected ADDRESS/PREFIXLEN"))
        })?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| {
                ConfigError::syntax(
                    at,
                    format!("prefix length \"{prefix}\" must be a number from 0 to {max}"),
                )
            })?;
        return Ok(NicMatch::Address {
            address,
            prefix: Some(prefix),
        });
    }
    if let Ok(address) = text.parse() {
        return Ok(NicMatch::Address {
            address,
            prefix: None,
        });
    }
    Ok(NicMatch::Name(text.to_string()))
}

/// `reset allpeers|auth|ctl|io|mem|sys|timer...`.
pub(crate) fn reset(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let names: Vec<&str> = ResetCounter::ALL.iter().map(|f| f.keyword()).collect();
    let mut out = Vec::new();
    while let Some(tok) = c.next() {
        let found = match tok.kind {
            TokKind::Keyword(k) => ResetCounter::ALL.iter().copied().find(|f| f.keyword() == k),
            _ => None,
        };
        match found {
            Some(f) => out.push(f),
            None => return Err(c.unknown_option(tok, "reset", &names)),
        }
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            format!(
                "reset needs at least one of: {}; got end of line",
                names.join(", ")
            ),
        ));
    }
    Ok(Directive::Reset(out))
}
