//! Access control (ntp.conf(5) "Access Control Commands"): `restrict`,
//! `delrestrict`, `discard`, `mru`.

use std::net::IpAddr;

use super::super::ast::{
    Address, AddressFamily, DelRestrict, Directive, DiscardOption, Host, MruOption, Restrict,
    RestrictFlag, RestrictTarget,
};
use super::super::error::ConfigError;
use super::super::lexer::TokKind;
use super::cursor::{describe, host, narrow, Cursor};

const FLAGS: &[&str] = &[
    "epeer",
    "flake",
    "ignore",
    "kod",
    "limited",
    "lowpriotrap",
    "mssntp",
    "noepeer",
    "nomodify",
    "nomrulist",
    "nopeer",
    "noquery",
    "noserve",
    "notrap",
    "notrust",
    "ntpport",
    "version",
    "serverresponse fuzz",
];

fn flag(k: &str) -> Option<RestrictFlag> {
    RestrictFlag::ALL.iter().copied().find(|f| f.keyword() == k)
}

/// `restrict default|-4 default|-6 default|source|ADDRESS [mask M]
/// [ippeerlimit N] FLAG...`.
pub(crate) fn restrict(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    let target = match c.peek().map(|t| &t.kind) {
        Some(TokKind::Keyword("default")) => {
            c.next();
            RestrictTarget::Default
        }
        Some(TokKind::Keyword("source")) => {
            c.next();
            RestrictTarget::Source
        }
        Some(TokKind::Ipv4Flag | TokKind::Ipv6Flag)
            if matches!(
                c.peek_at(1).map(|t| &t.kind),
                Some(TokKind::Keyword("default"))
            ) =>
        {
            let v4 = matches!(c.next().map(|t| &t.kind), Some(TokKind::Ipv4Flag));
            c.next();
            if v4 {
                RestrictTarget::DefaultIpv4
            } else {
                RestrictTarget::DefaultIpv6
            }
        }
        Some(TokKind::Ipv4Flag | TokKind::Ipv6Flag | TokKind::Str(_)) => {
            let (address, _) = c.address("restrict")?;
            let mask = if c.eat("mask") {
                let at = c.here();
                let m = c.ip_literal("restrict mask")?;
                check_mask_family(&address, m, &at)?;
                Some(m)
            } else {
                None
            };
            RestrictTarget::Address { address, mask }
        }
        _ => {
            let tok = c.peek();
            return Err(c.error_at(
                tok,
                format!(
                    "restrict needs default, -4 default, -6 default, source or an address; got {}",
                    describe(tok)
                ),
            ));
        }
    };
    let ippeerlimit = if c.eat("ippeerlimit") {
        Some(narrow(c.int("ippeerlimit", -1, 100)?))
    } else {
        None
    };
    let mut flags = Vec::new();
    while let Some(tok) = c.next() {
        let f = match &tok.kind {
            TokKind::Keyword("serverresponse") => {
                let next = c.next();
                if !matches!(next.map(|t| &t.kind), Some(TokKind::Keyword("fuzz"))) {
                    return Err(c.error_at(
                        next,
                        format!("serverresponse must be followed by fuzz; got {}", describe(next)),
                    ));
                }
                RestrictFlag::ServerResponseFuzz
            }
            TokKind::Keyword("ippeerlimit") => {
                return Err(c.error_at(
                    Some(tok),
                    "ippeerlimit must come right after the address (and mask), before the flags",
                ))
            }
            TokKind::Keyword("mask") => {
                return Err(c.error_at(
                    Some(tok),
                    "mask must come right after an address (not after default or source, nor after flags)",
                ))
            }
            TokKind::Keyword(k) => match flag(k) {
                Some(f) => f,
                None => return Err(c.unknown_option(tok, "restrict", FLAGS)),
            },
            _ => return Err(c.unknown_option(tok, "restrict", FLAGS)),
        };
        flags.push(f);
    }
    Ok(Directive::Restrict(Restrict {
        target,
        ippeerlimit,
        flags,
    }))
}

fn check_mask_family(
    address: &Address,
    mask: IpAddr,
    at: &super::super::error::Origin,
) -> Result<(), ConfigError> {
    let addr_v4 = match (&address.host, address.family) {
        (Host::Ip(ip), _) => Some(ip.is_ipv4()),
        (Host::Name(_), AddressFamily::Ipv4) => Some(true),
        (Host::Name(_), AddressFamily::Ipv6) => Some(false),
        (Host::Name(_), AddressFamily::Any) => None,
    };
    match addr_v4 {
        Some(v4) if v4 != mask.is_ipv4() => Err(ConfigError::syntax(
            at,
            format!(
                "mask {mask} is not of the same address family as the address; expected an {} mask",
                if v4 { "IPv4" } else { "IPv6" }
            ),
        )),
        _ => Ok(()),
    }
}

/// `delrestrict ADDRESS [mask M]` / `delrestrict source ADDRESS`.
pub(crate) fn delrestrict(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    if c.eat("source") {
        let at = c.here();
        let a = c.string("delrestrict source", "an address")?;
        let h = host(&a, &at)?;
        c.expect_end("delrestrict source ADDRESS")?;
        return Ok(Directive::DelRestrict(DelRestrict::Source(h)));
    }
    let at = c.here();
    let a = c.string("delrestrict", "an address (or source ADDRESS)")?;
    let address = host(&a, &at)?;
    let mask = if c.eat("mask") {
        let at = c.here();
        let m = c.ip_literal("delrestrict mask")?;
        check_mask_family(&Address::any(address.clone()), m, &at)?;
        Some(m)
    } else {
        None
    };
    c.expect_end("delrestrict")?;
    Ok(Directive::DelRestrict(DelRestrict::Address {
        address,
        mask,
    }))
}

/// `discard [average N] [minimum N] [monitor N]`.
pub(crate) fn discard(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    const OPTS: &[&str] = &["average", "minimum", "monitor"];
    let mut out = Vec::new();
    while let Some(tok) = c.next() {
        out.push(match tok.kind {
            TokKind::Keyword("average") => {
                DiscardOption::Average(narrow(c.int("discard average", 0, 255)?))
            }
            TokKind::Keyword("minimum") => {
                DiscardOption::Minimum(narrow(c.int("discard minimum", 0, i64::from(i32::MAX))?))
            }
            TokKind::Keyword("monitor") => {
                DiscardOption::Monitor(narrow(c.int("discard monitor", 0, i64::from(i32::MAX))?))
            }
            _ => return Err(c.unknown_option(tok, "discard", OPTS)),
        });
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            "discard needs at least one of average, minimum, monitor; got end of line",
        ));
    }
    Ok(Directive::Discard(out))
}

/// `mru option N...`.
pub(crate) fn mru(c: &mut Cursor<'_>) -> Result<Directive, ConfigError> {
    const OPTS: &[&str] = &[
        "incalloc",
        "incmem",
        "initalloc",
        "initmem",
        "maxage",
        "maxdepth",
        "maxmem",
        "mindepth",
    ];
    let mut out = Vec::new();
    while let Some(tok) = c.next() {
        let TokKind::Keyword(k) = tok.kind else {
            return Err(c.unknown_option(tok, "mru", OPTS));
        };
        let make: fn(u32) -> MruOption = match k {
            "incalloc" => MruOption::Incalloc,
            "incmem" => MruOption::Incmem,
            "initalloc" => MruOption::Initalloc,
            "initmem" => MruOption::Initmem,
            "maxage" => MruOption::Maxage,
            "maxdepth" => MruOption::Maxdepth,
            "maxmem" => MruOption::Maxmem,
            "mindepth" => MruOption::Mindepth,
            _ => return Err(c.unknown_option(tok, "mru", OPTS)),
        };
        out.push(make(narrow(c.int(
            &format!("mru {k}"),
            0,
            i64::from(i32::MAX),
        )?)));
    }
    if out.is_empty() {
        return Err(c.error_at(
            None,
            format!(
                "mru needs at least one of {}; got end of line",
                OPTS.join(", ")
            ),
        ));
    }
    Ok(Directive::Mru(out))
}
