//! Monitoring and miscellaneous directives: `statistics`, `filegen`,
//! `driftfile`, `leapfile`, `logconfig`, `setvar`, `trap`, `pollskewlist`,
//! `ttl`, and the reference-clock / telephone / mDNS / MS-SNTP directives
//! that are accepted and ignored.

use super::super::ast::{
    Directive, Driftfile, Filegen, FilegenType, Leapfile, LogClass, LogConfigItem, LogItem, LogOp,
    PollSkew, Setvar, StatsFile, Trap,
};
use super::super::error::{ConfigError, Origin, Warning};
use super::super::lexer::{TokKind, Token};
use super::cursor::{describe, host, narrow, Cursor};

fn stats_name(tok: Option<&Token>) -> Option<StatsFile> {
    match tok.map(|t| &t.kind) {
        Some(TokKind::Keyword(k)) => StatsFile::ALL.iter().copied().find(|s| s.keyword() == *k),
        _ => None,
    }
}

fn stats_names() -> String {
    StatsFile::ALL.map(StatsFile::keyword).join(", ")
}

/// `statistics NAME...`.
pub(crate) fn statistics(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let mut out = Vec::new();
    while let Some(tok) = c.next() {
        match stats_name(Some(tok)) {
            Some(s) => out.push(s),
            None => {
                let names: Vec<&str> = StatsFile::ALL.map(StatsFile::keyword).to_vec();
                return Err(c.unknown_option(tok, "statistics", &names));
            }
        }
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            format!(
                "statistics needs at least one of: {}; got end of line",
                stats_names()
            ),
        ));
    }
    Ok(Directive::Statistics(out))
}

/// `filegen NAME [file F] [type T] [link|nolink] [enable|disable]`.
pub(crate) fn filegen(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    const OPTS: &[&str] = &["disable", "enable", "file", "link", "nolink", "type"];
    let tok = c.next();
    let Some(stats) = stats_name(tok) else {
        return Err(c.error_at(
            tok,
            format!(
                "filegen needs a statistics name ({}); got {}",
                stats_names(),
                describe(tok)
            ),
        ));
    };
    let mut fg = Filegen {
        stats,
        file: None,
        kind: None,
        link: None,
        enabled: None,
    };
    while let Some(tok) = c.next() {
        match tok.kind {
            TokKind::Keyword("file") => fg.file = Some(c.string("filegen file", "a file name")?),
            TokKind::Keyword("type") => {
                let t = c.next();
                let found = match t.map(|t| &t.kind) {
                    Some(TokKind::Keyword(k)) => {
                        FilegenType::ALL.iter().copied().find(|f| f.keyword() == *k)
                    }
                    _ => None,
                };
                let Some(kind) = found else {
                    return Err(c.error_at(
                        t,
                        format!(
                            "filegen type must be one of: {}; got {}",
                            FilegenType::ALL.map(FilegenType::keyword).join(", "),
                            describe(t)
                        ),
                    ));
                };
                fg.kind = Some(kind);
            }
            TokKind::Keyword("link") => fg.link = Some(true),
            TokKind::Keyword("nolink") => fg.link = Some(false),
            TokKind::Keyword("enable") => fg.enabled = Some(true),
            TokKind::Keyword("disable") => fg.enabled = Some(false),
            _ => return Err(c.unknown_option(tok, "filegen", OPTS)),
        }
    }
    Ok(Directive::Filegen(fg))
}

/// `driftfile [FILE [WANDER]]`.
pub(crate) fn driftfile(
    c: &mut Cursor<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Directive, ConfigError> {
    if c.at_end() {
        return Ok(Directive::Driftfile(Driftfile {
            path: None,
            wander: None,
        }));
    }
    let path = c.string("driftfile", "a file name")?;
    let wander = match c.peek().map(|t| &t.kind) {
        None => None,
        Some(TokKind::Double(v)) => {
            let v = *v;
            let at = c.here();
            c.next();
            if v < 0.0 {
                return Err(ConfigError::syntax(
                    &at,
                    format!("driftfile wander threshold must not be negative; got {v}"),
                ));
            }
            warnings.push(Warning::at(
                &at,
                "'driftfile FILE WANDER' is deprecated; write 'driftfile FILE' and 'nonvolatile WANDER' on separate lines",
            ));
            Some(v)
        }
        Some(_) => {
            let tok = c.peek();
            return Err(c.error_at(
                tok,
                format!(
                    "driftfile takes a file name and optionally a decimal wander threshold such as 1e-7; got {}",
                    describe(tok)
                ),
            ));
        }
    };
    c.expect_end("driftfile")?;
    Ok(Directive::Driftfile(Driftfile {
        path: Some(path),
        wander,
    }))
}

/// `leapfile FILE [checkhash|ignorehash]`.
pub(crate) fn leapfile(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let path = c.string("leapfile", "a file name")?;
    let check_hash = if c.eat("ignorehash") {
        false
    } else {
        c.eat("checkhash");
        true
    };
    c.expect_end("leapfile FILE [checkhash|ignorehash]")?;
    Ok(Directive::Leapfile(Leapfile { path, check_hash }))
}

/// `metrics_listen ADDRESS:PORT` (this daemon's own): an IP literal and
/// a port, IPv6 in brackets. Host names are refused: the endpoint is bound
/// once at start-up, before any resolver is trusted.
pub(crate) fn metrics_listen(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let at = c.here();
    let text = c.string(
        "metrics_listen",
        "an address and port such as 127.0.0.1:9123",
    )?;
    let addr = text.parse::<std::net::SocketAddr>().map_err(|_| {
        ConfigError::syntax(
            &at,
            format!("metrics_listen address \"{text}\" is not an IP address and port; expected e.g. 127.0.0.1:9123 or [::1]:9123"),
        )
    })?;
    if addr.port() == 0 {
        return Err(ConfigError::syntax(
            &at,
            format!("metrics_listen address \"{text}\" has port 0; expected a fixed port such as 9123 for Prometheus to scrape"),
        ));
    }
    c.expect_end("metrics_listen ADDRESS:PORT")?;
    Ok(Directive::MetricsListen(addr))
}

/// One `logconfig` element (reference `get_logmask`).
fn log_item(text: &str, at: &Origin) -> Result<LogConfigItem, ConfigError> {
    let (op, rest) = match text.as_bytes().first() {
        Some(b'=') => (LogOp::Set, text.get(1..).unwrap_or("")),
        Some(b'+') => (LogOp::Add, text.get(1..).unwrap_or("")),
        Some(b'-') => (LogOp::Remove, text.get(1..).unwrap_or("")),
        _ => (LogOp::Set, text),
    };
    let item_of = |s: &str| match s {
        "all" => Some(LogItem::All),
        "info" => Some(LogItem::Info),
        "events" => Some(LogItem::Events),
        "status" => Some(LogItem::Status),
        "statistics" => Some(LogItem::Statistics),
        _ => None,
    };
    let found = match rest {
        "allclock" => Some((LogClass::Clock, LogItem::All)),
        "allpeer" => Some((LogClass::Peer, LogItem::All)),
        "allsys" => Some((LogClass::Sys, LogItem::All)),
        "allsync" => Some((LogClass::Sync, LogItem::All)),
        _ => {
            if let Some(item) = rest.strip_prefix("all").and_then(item_of) {
                Some((LogClass::All, item))
            } else {
                let classes = [
                    ("clock", LogClass::Clock),
                    ("peer", LogClass::Peer),
                    ("sync", LogClass::Sync),
                    ("sys", LogClass::Sys),
                ];
                let (class, tail) = classes
                    .iter()
                    .find_map(|(p, cl)| rest.strip_prefix(p).map(|t| (*cl, t)))
                    .unwrap_or((LogClass::Sys, rest));
                item_of(tail).map(|i| (class, i))
            }
        }
    };
    match found {
        Some((class, item)) => Ok(LogConfigItem { op, class, item }),
        None => Err(ConfigError::syntax(
            at,
            format!("logconfig item \"{text}\" is not recognized; expected [=|+|-] then a class (all, sys, peer, clock, sync) and an item (all, info, events, status, statistics), e.g. =syncall or +peerevents"),
        )),
    }
}

/// `logconfig ITEM...`.
pub(crate) fn logconfig(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let mut out = Vec::new();
    while !c.at_end() {
        let at = c.here();
        let text = c.string("logconfig", "an item such as =syncall")?;
        out.push(log_item(&text, &at)?);
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            "logconfig needs at least one item such as =syncall or +peerevents; got end of line",
        ));
    }
    Ok(Directive::Logconfig(out))
}

/// `setvar NAME = VALUE [default]`.
pub(crate) fn setvar(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let name = c.string("setvar", "a variable name")?;
    let eq = c.next();
    if eq.map(|t| &t.kind) != Some(&TokKind::Special('=')) {
        return Err(c.error_at(
            eq,
            format!(
                "setvar needs NAME = VALUE with spaces around '='; got {} after the name",
                describe(eq)
            ),
        ));
    }
    let value = c.string("setvar", "a value after '='")?;
    let default = c.eat("default");
    c.expect_end("setvar NAME = VALUE [default]")?;
    Ok(Directive::Setvar(Setvar {
        name,
        value,
        default,
    }))
}

/// `trap ADDRESS [port N] [interface ADDRESS]`.
pub(crate) fn trap(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    const OPTS: &[&str] = &["interface", "port"];
    let at = c.here();
    let a = c.string("trap", "an address")?;
    let mut t = Trap {
        address: host(&a, &at)?,
        port: None,
        interface: None,
    };
    while let Some(tok) = c.next() {
        match tok.kind {
            TokKind::Keyword("port") => t.port = Some(narrow(c.int("trap port", 1, 65535)?)),
            TokKind::Keyword("interface") => {
                let at = c.here();
                let a = c.string("trap interface", "a local address")?;
                t.interface = Some(host(&a, &at)?);
            }
            _ => return Err(c.unknown_option(tok, "trap", OPTS)),
        }
    }
    Ok(Directive::Trap(t))
}

/// `pollskewlist [POLL|default EARLY|LATE]...`.
pub(crate) fn pollskewlist(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let mut out = Vec::new();
    while let Some(tok) = c.next() {
        let poll = match tok.kind {
            TokKind::Keyword("default") => None,
            TokKind::Integer(p) if (3..=17).contains(&p) => Some(narrow::<u8>(i64::from(p))),
            _ => {
                return Err(c.error_at(
                    Some(tok),
                    format!("pollskewlist entries start with a poll exponent from 3 to 17 or default; got {}", describe(Some(tok))),
                ))
            }
        };
        let early: u32 = narrow(c.int("pollskewlist early skew", 0, i64::from(i32::MAX))?);
        let bar = c.next();
        if bar.map(|t| &t.kind) != Some(&TokKind::Special('|')) {
            return Err(c.error_at(
                bar,
                format!(
                    "pollskewlist entries are POLL EARLY|LATE; expected '|', got {}",
                    describe(bar)
                ),
            ));
        }
        let late: u32 = narrow(c.int("pollskewlist late skew", 0, i64::from(i32::MAX))?);
        if let Some(p) = poll {
            let limit = 1u32 << (p - 1);
            if early >= limit || late >= limit {
                return Err(c.error_at(
                    Some(tok),
                    format!("pollskewlist {p}: skews must be below half the poll interval ({limit} s); got {early}|{late}"),
                ));
            }
        }
        out.push(PollSkew { poll, early, late });
    }
    Ok(Directive::PollSkewList(out))
}

/// `ttl HOPS...` (at most 8 entries).
pub(crate) fn ttl(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let mut out = Vec::new();
    while !c.at_end() {
        if out.len() == 8 {
            let tok = c.peek();
            return Err(c.error_at(tok, "ttl takes at most 8 values; remove the extra ones"));
        }
        out.push(narrow(c.int("ttl", 0, 255)?));
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            "ttl needs at least one hop count from 0 to 255; got end of line",
        ));
    }
    Ok(Directive::Ttl(out))
}

/// `device ADDRESS timedata|ppsdata PATH...`: parsed, then ignored.
pub(crate) fn device(
    c: &mut Cursor<'_>,
    kw: &Token,
    warnings: &mut Vec<Warning>,
) -> Result<(), ConfigError> {
    c.address("device")?;
    let mut any = false;
    while let Some(tok) = c.next() {
        any = true;
        match tok.kind {
            TokKind::Keyword(k @ ("timedata" | "ppsdata")) => {
                c.string(&format!("device {k}"), "a device path")?;
            }
            _ => return Err(c.unknown_option(tok, "device", &["ppsdata", "timedata"])),
        }
    }
    if !any {
        return Err(c.error_at(
            None,
            "device needs timedata PATH or ppsdata PATH; got end of line",
        ));
    }
    warnings.push(Warning::at(
        &c.origin_of(kw),
        "device configures a reference clock; reference clocks are not supported, line ignored",
    ));
    Ok(())
}

/// `phone STRING...`: modem reference clocks; ignored.
pub(crate) fn phone(
    c: &mut Cursor<'_>,
    kw: &Token,
    warnings: &mut Vec<Warning>,
) -> Result<(), ConfigError> {
    let mut any = false;
    while !c.at_end() {
        c.string("phone", "a dial string")?;
        any = true;
    }
    if !any {
        return Err(c.error_at(
            None,
            "phone needs at least one dial string; got end of line",
        ));
    }
    warnings.push(Warning::at(
        &c.origin_of(kw),
        "phone configures the modem reference clock; reference clocks are not supported, line ignored",
    ));
    Ok(())
}
