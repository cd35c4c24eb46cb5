//! `server`, `pool`, `peer`, `broadcast`, `manycastclient` (ntp.conf(5)
//! "Configuration Commands"), `unpeer`, and the address lists of
//! `manycastserver` / `multicastclient`.

use super::super::ast::{Address, AssocMode, AssocOptions, Association, Directive};
use super::super::error::{ConfigError, Warning};
use super::super::lexer::{TokKind, Token};
use super::cursor::{describe, is_refclock, narrow, Cursor};

const OPTIONS: &[&str] = &[
    "autokey", "burst", "iburst", "ident", "key", "maxpoll", "minpoll", "mode", "noselect", "nts",
    "preempt", "prefer", "true", "ttl", "version", "xleave", "xmtnonce",
];

/// Parses the rest of an association line. `server 127.127.t.u` of a
/// supported driver type becomes a [`Directive::Refclock`]; other
/// reference clock lines are accepted and ignored with a warning.
pub(crate) fn association(
    c: &mut Cursor<'_>,
    kw: &Token,
    mode: AssocMode,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Directive>, ConfigError> {
    let name = mode.keyword();
    let (address, _) = c.address(name)?;
    let refclock = is_refclock(&address.host);
    let mut o = AssocOptions::default();
    let mut clock_mode = None;
    while let Some(tok) = c.next() {
        let TokKind::Keyword(k) = tok.kind else {
            return Err(c.unknown_option(tok, name, OPTIONS));
        };
        match k {
            "autokey" => o.autokey = true,
            "nts" => o.nts = true,
            "burst" => o.burst = true,
            "iburst" => o.iburst = true,
            "noselect" => o.noselect = true,
            "preempt" => o.preempt = true,
            "prefer" => o.prefer = true,
            "true" => o.truechimer = true,
            "xleave" => o.xleave = true,
            "xmtnonce" => o.xmtnonce = true,
            "key" => o.key = Some(narrow(c.int_or_uint("key", 1, 65535)?)),
            "minpoll" => o.minpoll = Some(narrow(c.int_or_uint("minpoll", 3, 17)?)),
            "maxpoll" => o.maxpoll = Some(narrow(c.int_or_uint("maxpoll", 3, 17)?)),
            "version" => o.version = Some(narrow(c.int_or_uint("version", 1, 4)?)),
            "ttl" => o.ttl = Some(narrow(c.int_or_uint("ttl", 0, 7)?)),
            "ident" => o.ident = Some(c.string("ident", "a group name")?),
            "mode" => {
                let v = c.int_or_uint("mode", 0, i64::from(u32::MAX))?;
                clock_mode = Some(u32::try_from(v).unwrap_or(u32::MAX));
                if !refclock {
                    return Err(c.error_at(
                        Some(tok),
                        "mode applies only to reference clocks (127.127.t.u); remove it from this network association",
                    ));
                }
            }
            _ => return Err(c.unknown_option(tok, name, OPTIONS)),
        }
    }
    if let (Some(lo), Some(hi)) = (o.minpoll, o.maxpoll) {
        if lo > hi {
            return Err(c.error_at(
                Some(kw),
                format!("minpoll {lo} is larger than maxpoll {hi}; expected minpoll <= maxpoll"),
            ));
        }
    }
    if refclock {
        return Ok(super::refclock::server(
            c, kw, mode, &address, clock_mode, o, warnings,
        ));
    }
    Ok(Some(Directive::Association(Association {
        mode,
        address,
        options: o,
    })))
}

pub(crate) fn kw_text_of(a: &Address) -> String {
    match &a.host {
        super::super::ast::Host::Ip(ip) => ip.to_string(),
        super::super::ast::Host::Name(n) => n.clone(),
    }
}

/// `manycastserver` / `multicastclient`: one or more addresses.
pub(crate) fn address_list(c: &mut Cursor<'_>, what: &str) -> Result<Vec<Address>, ConfigError> {
    let mut list = Vec::new();
    while !c.at_end() {
        list.push(c.address(what)?.0);
    }
    if list.is_empty() {
        return Err(c.error_at(
            None,
            format!("{what} needs at least one address; got {}", describe(None)),
        ));
    }
    Ok(list)
}

/// `unpeer ADDRESS` / `unconfig ADDRESS`.
pub(crate) fn unpeer(c: &mut Cursor<'_>, what: &str) -> Result<Directive, ConfigError> {
    let (address, _) = c.address(what)?;
    c.expect_end(what)?;
    Ok(Directive::Unpeer(address))
}
