//! Turns the tokens of one line into directives (reference grammar
//! `ntpd/ntp_parser.y`, 4.2.8). Following `includefile` and stopping at
//! `end` is the caller's job ([`super::include`]).

mod access;
mod assoc;
mod auth;
mod cursor;
mod misc;
mod nts;
mod refclock;
mod system;

use std::path::Path;

use super::ast::{AssocMode, Directive, Statement};
use super::error::{ConfigError, Origin, Warning};
use super::lexer::{LexedLine, TokKind, Token};
use super::{directives, keywords};
use cursor::{describe, Cursor};

/// What one line asks for.
#[derive(Debug)]
pub(crate) enum Command {
    /// Directives to append (none for blank lines, comments and ignored
    /// directives).
    Statements(Vec<Statement>),
    /// `includefile PATH [directive]`: the trailing directive (if any) comes
    /// first, then the file's contents.
    Include {
        path: String,
        at: Origin,
        then: Vec<Statement>,
    },
    /// `end`: stop reading all files.
    End,
    /// `simulate`: the ntpdsim block starts here; skip to its closing brace.
    Simulate { at: Origin },
}

/// Parses one lexed line.
pub(crate) fn parse_line(
    lexed: &LexedLine,
    file: &Path,
    line: u32,
    warnings: &mut Vec<Warning>,
) -> Result<Command, ConfigError> {
    let mut c = Cursor::new(lexed, file, line);
    let Some(first) = c.next() else {
        return Ok(Command::Statements(Vec::new()));
    };
    match first.kind {
        TokKind::Keyword("includefile") => {
            let at = c.origin_of(first);
            let path = c.string("includefile", "a file name")?;
            let then = match c.peek() {
                None => Vec::new(),
                Some(next) => {
                    let next = next.clone();
                    c.next();
                    if matches!(
                        next.kind,
                        TokKind::Keyword("includefile" | "end" | "simulate")
                    ) {
                        return Err(c.error_at(
                            Some(&next),
                            format!("{} cannot follow includefile on the same line; put it on its own line", describe(Some(&next))),
                        ));
                    }
                    directive(&mut c, &next, warnings)?
                }
            };
            Ok(Command::Include { path, at, then })
        }
        TokKind::Keyword("end") => {
            c.expect_end("end")?;
            Ok(Command::End)
        }
        TokKind::Keyword("simulate") => Ok(Command::Simulate {
            at: c.origin_of(first),
        }),
        _ => directive(&mut c, first, warnings).map(Command::Statements),
    }
}

/// Parses the directive that starts with `first`.
fn directive(
    c: &mut Cursor<'_>,
    first: &Token,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Statement>, ConfigError> {
    let origin = c.origin_of(first);
    let kw = match &first.kind {
        TokKind::Keyword(k) => *k,
        TokKind::Str(word) => {
            let hint = match keywords::suggest(word, &directives::names()) {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => {
                    "expected a directive such as server, restrict, driftfile or crypto".to_string()
                }
            };
            return Err(c.error_at(Some(first), format!("unknown directive \"{word}\"; {hint}")));
        }
        _ => {
            return Err(c.error_at(
                Some(first),
                format!(
                    "a line must start with a directive; got {}",
                    describe(Some(first))
                ),
            ))
        }
    };
    let one = |d: Directive| Ok(vec![d]);
    let ds: Result<Vec<Directive>, ConfigError> = match kw {
        "server" | "pool" | "peer" | "broadcast" | "manycastclient" => {
            let mode = match kw {
                "server" => AssocMode::Server,
                "pool" => AssocMode::Pool,
                "peer" => AssocMode::Peer,
                "broadcast" => AssocMode::Broadcast,
                _ => AssocMode::ManycastClient,
            };
            assoc::association(c, first, mode, warnings).map(|d| d.into_iter().collect())
        }
        "unpeer" | "unconfig" => one(assoc::unpeer(c, kw)?),
        "broadcastclient" => {
            if c.peek().is_some_and(|t| t.text == "novolley") {
                return Err(c.error_at(
                    c.peek(),
                    "broadcastclient novolley was removed in ntp 4.2.8; write broadcastclient alone (set broadcastdelay to skip the volley)",
                ));
            }
            c.expect_end("broadcastclient")?;
            one(Directive::BroadcastClient)
        }
        "manycastserver" => one(Directive::ManycastServer(assoc::address_list(c, kw)?)),
        "multicastclient" => one(Directive::MulticastClient(assoc::address_list(c, kw)?)),
        "mdnstries" => {
            c.int("mdnstries", 0, i64::from(i32::MAX))?;
            c.expect_end(kw)?;
            warnings.push(Warning::at(
                &origin,
                "mdnstries: mDNS registration is not supported; line ignored",
            ));
            Ok(Vec::new())
        }
        "automax" => one(Directive::Automax(auth::log2_interval(c, kw)?)),
        "revoke" => one(Directive::Revoke(auth::log2_interval(c, kw)?)),
        "controlkey" => one(Directive::ControlKey(auth::key_id(c, kw)?)),
        "requestkey" => one(Directive::RequestKey(auth::key_id(c, kw)?)),
        "crypto" => auth::crypto(c, warnings),
        "nts" => one(nts::nts(c, warnings)?),
        "keys" => one(Directive::Keys(single_string(c, kw, "a file name")?)),
        "keysdir" => one(Directive::Keysdir(single_string(c, kw, "a directory")?)),
        "trustedkey" => one(auth::trustedkey(c)?),
        "ntpsigndsocket" => {
            single_string(c, kw, "a socket path")?;
            warnings.push(Warning::at(
                &origin,
                "ntpsigndsocket: MS-SNTP signing is not supported; line ignored",
            ));
            Ok(Vec::new())
        }
        "ident" => one(Directive::Ident(single_string(c, kw, "a group name")?)),
        "tos" => one(system::tos(c)?),
        "statistics" => one(misc::statistics(c)?),
        "statsdir" => one(Directive::Statsdir(single_string(c, kw, "a directory")?)),
        "filegen" => one(misc::filegen(c)?),
        "discard" => one(access::discard(c)?),
        "mru" => one(access::mru(c)?),
        "restrict" => one(access::restrict(c)?),
        "delrestrict" => one(access::delrestrict(c)?),
        "fudge" => refclock::fudge(c, first, warnings).map(|d| d.into_iter().collect()),
        "device" => misc::device(c, first, warnings).map(|()| Vec::new()),
        "phone" => misc::phone(c, first, warnings).map(|()| Vec::new()),
        "rlimit" => one(system::rlimit(c)?),
        "enable" => one(Directive::Enable(system::system_flags(c, kw)?)),
        "disable" => one(Directive::Disable(system::system_flags(c, kw)?)),
        "tinker" => one(system::tinker(c)?),
        "interface" | "nic" => one(system::interface(c, kw)?),
        "reset" => one(system::reset(c)?),
        "broadcastdelay" => one(Directive::BroadcastDelay(single_number(c, kw, 0.0, 1.0)?)),
        "nonvolatile" => one(Directive::Nonvolatile(single_number(c, kw, 0.0, 1.0)?)),
        "tick" => one(Directive::Tick(single_number(c, kw, 0.0, 1.0)?)),
        "dscp" => {
            let v = c.int(kw, 0, 63)?;
            c.expect_end(kw)?;
            one(Directive::Dscp(u8::try_from(v).unwrap_or_default()))
        }
        "leapsmearinterval" => {
            let v = c.int(kw, 0, i64::from(i32::MAX))?;
            c.expect_end(kw)?;
            one(Directive::LeapSmearInterval(
                u32::try_from(v).unwrap_or_default(),
            ))
        }
        "logfile" => one(Directive::Logfile(single_string(c, kw, "a file name")?)),
        "pidfile" => one(Directive::Pidfile(single_string(c, kw, "a file name")?)),
        "saveconfigdir" => one(Directive::Saveconfigdir(single_string(
            c,
            kw,
            "a directory",
        )?)),
        "leapfile" => one(misc::leapfile(c)?),
        "metrics_listen" => one(misc::metrics_listen(c)?),
        "driftfile" => one(misc::driftfile(c, warnings)?),
        "logconfig" => one(misc::logconfig(c)?),
        "pollskewlist" => one(misc::pollskewlist(c)?),
        "setvar" => one(misc::setvar(c)?),
        "trap" => one(misc::trap(c)?),
        "ttl" => one(misc::ttl(c)?),
        _ => {
            let hint = match keywords::suggest(kw, &directives::names()) {
                Some(s) if s != kw => format!("did you mean \"{s}\"?"),
                _ => {
                    "expected a directive such as server, restrict, driftfile or crypto".to_string()
                }
            };
            return Err(c.error_at(Some(first), format!("\"{kw}\" cannot start a line; {hint}")));
        }
    };
    Ok(ds?
        .into_iter()
        .map(|directive| Statement {
            directive,
            origin: origin.clone(),
        })
        .collect())
}

fn single_string(c: &mut Cursor<'_>, kw: &str, thing: &str) -> Result<String, ConfigError> {
    let s = c.string(kw, thing)?;
    if let Some(tok) = c.peek() {
        return Err(c.error_at(
            Some(tok),
            format!(
                "unexpected {} after {kw} \"{s}\"; expected end of line ({kw} takes one argument; quote it if it contains spaces)",
                describe(Some(tok))
            ),
        ));
    }
    Ok(s)
}

fn single_number(c: &mut Cursor<'_>, kw: &str, lo: f64, hi: f64) -> Result<f64, ConfigError> {
    let v = c.number(kw, lo, hi)?;
    c.expect_end(kw)?;
    Ok(v)
}
