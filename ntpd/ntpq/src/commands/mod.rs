//! The ntpq command interpreter: reading a command's arguments and running
//! it against the current host, with the reference's messages (the command
//! table itself is in `cmdtable`).

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proto::control::{
    parse_association_list, AssociationEntry, Opcode, StatusWord, VarList, VarValue,
};

use crate::cmdtable::{find_command, tokenize, usage, Arg, Cmd, CmdDef, COMMANDS, MAX_ARGS};
use crate::cooked::{cooked_print, raw_print, raw_value};
use crate::tables::{
    assoc_table, is_shown, peer_line, trunc_left, vdc_display, vdc_request, PeerList, PeerOpts,
    Vdc, AUTHINFO, IOSTATS, KERNINFO, MONSTATS, PEERS_RULE, PSTATS, SYSINFO, SYSSTATS, TIMERSTATS,
};
use crate::transport::{Family, QueryError, Response, Session};

/// Environment variable holding "now" as hex NTP seconds, used instead of
/// the system clock for the `when` column. A test aid only.
pub const NOW_ENV: &str = "NTPQ_TEST_NOW";

/// A parsed argument.
#[derive(Debug, Clone)]
enum ArgVal {
    Str(String),
    Uint(u64),
    Int(i64),
}

/// Interpreter state: options, the open host and the caches.
pub struct Ntpq {
    pub session: Option<Session>,
    pub wide: bool,
    pub raw: bool,
    pub debug: u32,
    pub numhosts: usize,
    /// Longest host name among the command line hosts.
    pub max_host_len: usize,
    timeout: Option<Duration>,
    pkt_version: Option<u8>,
    assoc_cache: Vec<AssociationEntry>,
    varlist: Vec<(String, Option<String>)>,
    /// Keys for authenticated requests.
    pub auth: crate::auth::AuthState,
    /// Set by `quit`.
    pub quit: bool,
}

impl Ntpq {
    pub fn new() -> Self {
        Self {
            session: None,
            wide: false,
            raw: false,
            debug: 0,
            numhosts: 1,
            max_host_len: 0,
            timeout: None,
            pkt_version: None,
            assoc_cache: Vec::new(),
            varlist: Vec::new(),
            auth: crate::auth::AuthState::default(),
            quit: false,
        }
    }

    /// Opens `spec` as the current host; prints the error and returns false
    /// when that fails.
    pub fn open_host(&mut self, spec: &str, family: Family) -> bool {
        match Session::open(spec, family) {
            Ok(mut s) => {
                if let Some(t) = self.timeout {
                    s.timeout = t;
                    s.secondary_timeout = s.secondary_timeout.min(t);
                }
                if let Some(v) = self.pkt_version {
                    s.pkt_version = v;
                }
                s.debug = self.debug;
                self.session = Some(s);
                self.assoc_cache.clear();
                true
            }
            Err(e) => {
                eprintln!("{e}");
                false
            }
        }
    }

    fn server_prefix(&self, out: &mut String) {
        if self.numhosts > 1 {
            if let Some(s) = &self.session {
                out.push_str(&format!("server={} ", s.name));
            }
        }
    }

    /// Runs a query, signed when `auth` or `authenticate yes`, printing
    /// the reference's error message on failure.
    fn query(&mut self, opcode: Opcode, associd: u16, data: &[u8], auth: bool) -> Option<Response> {
        if self.session.is_none() {
            eprintln!("***No host open, use `host' command");
            return None;
        }
        let key = if auth || self.auth.always {
            Some(self.auth.request_key()?)
        } else {
            None
        };
        let session = self.session.as_mut()?;
        match session.query(opcode, associd, data, key.as_ref()) {
            Ok(r) => Some(r),
            Err(e) => {
                if e != QueryError::Local {
                    if self.numhosts > 1 {
                        eprint!("server={} ", session.name);
                    }
                    eprintln!("{}", e.message(associd));
                }
                None
            }
        }
    }

    /// A query without error messages (the caller decides).
    pub(crate) fn query_quiet(
        &mut self,
        opcode: Opcode,
        data: &[u8],
    ) -> Result<Response, QueryError> {
        let key = if self.auth.always {
            Some(self.auth.request_key().ok_or(QueryError::Local)?)
        } else {
            None
        };
        let Some(session) = self.session.as_mut() else {
            eprintln!("***No host open, use `host' command");
            return Err(QueryError::Local);
        };
        session.query(opcode, 0, data, key.as_ref())
    }

    /// REQ_NONCE: the nonce READ_MRU requests must carry.
    pub(crate) fn fetch_nonce(&mut self) -> Option<String> {
        let Ok(resp) = self.query_quiet(Opcode::RequestNonce, &[]) else {
            eprintln!("nonce request failed");
            return None;
        };
        let text = crate::cooked::octet_text(&resp.data);
        match text.strip_prefix("nonce=") {
            Some(n) if !n.trim_end_matches(['\r', '\n']).is_empty() => {
                Some(n.trim_end_matches(['\r', '\n']).to_string())
            }
            _ => {
                eprintln!(
                    "unexpected nonce response format: {}",
                    crate::cooked::to_ascii(&text)
                );
                None
            }
        }
    }

    /// Executes one command line, writing its output to `out`.
    pub fn docmd(&mut self, line: &str, out: &mut dyn Write) {
        let tokens = tokenize(line);
        let Some(first) = tokens.first() else {
            return;
        };
        let def = match find_command(first) {
            Ok(d) => d,
            Err(0) => {
                eprintln!("***Command `{first}' unknown");
                return;
            }
            Err(_) => {
                eprintln!("***Command `{first}' ambiguous");
                return;
            }
        };
        for extra in tokens.iter().skip(MAX_ARGS + 1) {
            eprintln!("***Extra arg `{extra}' ignored");
        }
        let mut args = Vec::new();
        for (i, kind) in def.args.iter().enumerate() {
            if *kind == Arg::None {
                break;
            }
            let Some(tok) = tokens.get(i + 1) else {
                if !kind.optional() {
                    eprintln!("{}", usage(def));
                    return;
                }
                break;
            };
            match self.get_arg(tok, *kind, out) {
                Some(v) => args.push(v),
                None => return,
            }
        }
        let mut text = String::new();
        self.run(def, &args, &mut text, out);
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn get_arg(&mut self, tok: &str, kind: Arg, out: &mut dyn Write) -> Option<ArgVal> {
        match kind {
            Arg::Str | Arg::OptStr => Some(ArgVal::Str(tok.to_string())),
            Arg::Uint | Arg::OptUint => {
                if let Some(idx) = tok.strip_prefix('&') {
                    let Ok(n) = idx.parse::<u64>() else {
                        eprintln!("***Association index `{tok}' invalid/undecodable");
                        return None;
                    };
                    if self.assoc_cache.is_empty() {
                        let mut text = String::new();
                        self.get_assoc(&mut text);
                        let _ = out.write_all(text.as_bytes());
                        if self.assoc_cache.is_empty() {
                            eprintln!("***No associations found, `{tok}' unknown");
                            return None;
                        }
                    }
                    let n = usize::try_from(n)
                        .unwrap_or(usize::MAX)
                        .clamp(1, self.assoc_cache.len());
                    self.assoc_cache
                        .get(n - 1)
                        .map(|e| ArgVal::Uint(u64::from(e.association_id)))
                } else {
                    match tok.parse::<u64>() {
                        Ok(v) if v <= u64::from(u32::MAX) => Some(ArgVal::Uint(v)),
                        _ => {
                            eprintln!("***Illegal unsigned value {tok}");
                            None
                        }
                    }
                }
            }
            Arg::OptIpVersion => match tok {
                "-4" => Some(ArgVal::Int(4)),
                "-6" => Some(ArgVal::Int(6)),
                _ => {
                    eprintln!("***Version must be either 4 or 6");
                    None
                }
            },
            Arg::None => None,
        }
    }

    fn run(&mut self, def: &CmdDef, args: &[ArgVal], out: &mut String, w: &mut dyn Write) {
        let s = |i: usize| match args.get(i) {
            Some(ArgVal::Str(s)) => Some(s.clone()),
            _ => None,
        };
        let u = |i: usize| match args.get(i) {
            Some(ArgVal::Uint(v)) => Some(*v),
            _ => None,
        };
        match def.cmd {
            Cmd::Help => self.help(s(0).as_deref(), out),
            Cmd::Timeout => match u(0) {
                None => {
                    let ms = self
                        .session
                        .as_ref()
                        .map_or(
                            self.timeout.unwrap_or(crate::transport::DEFAULT_TIMEOUT),
                            |s| s.timeout,
                        )
                        .as_millis();
                    out.push_str(&format!("primary timeout {ms} ms\n"));
                }
                Some(ms) => {
                    let t = Duration::from_millis(ms);
                    self.timeout = Some(t);
                    if let Some(sess) = self.session.as_mut() {
                        sess.timeout = t;
                        sess.secondary_timeout = crate::transport::DEFAULT_SECONDARY_TIMEOUT.min(t);
                    }
                }
            },
            Cmd::Host => self.host_cmd(args, out),
            // Addresses are never turned into names here (no resolver
            // without unsafe FFI), so the setting is always "no".
            Cmd::Hostnames => match s(0).as_deref() {
                None | Some("no") => {
                    if s(0).is_none() {
                        out.push_str("hostnames not being shown\n");
                    }
                }
                Some("yes") => eprintln!(
                    "***This ntpq does not look up host names; addresses are shown as numbers"
                ),
                Some(_) => eprintln!("What?"),
            },
            Cmd::Debug => {
                match s(0).as_deref() {
                    None => {
                        out.push_str(&format!("debug level is {}\n", self.debug));
                        return;
                    }
                    Some("no") => self.debug = 0,
                    Some("more") => self.debug += 1,
                    Some("less") => self.debug = self.debug.saturating_sub(1),
                    Some(_) => {
                        out.push_str("What?\n");
                        return;
                    }
                }
                if let Some(sess) = self.session.as_mut() {
                    sess.debug = self.debug;
                }
                out.push_str(&format!("debug level set to {}\n", self.debug));
            }
            Cmd::Quit => self.quit = true,
            Cmd::Version => out.push_str(&format!(
                "ntpq {} (ntpd-autokey)\n",
                env!("CARGO_PKG_VERSION")
            )),
            Cmd::Raw => {
                self.raw = true;
                out.push_str("Output set to raw\n");
            }
            Cmd::Cooked => {
                self.raw = false;
                out.push_str("Output set to cooked\n");
            }
            Cmd::NtpVersion => match u(0) {
                None => {
                    let v = self.session.as_ref().map_or(
                        self.pkt_version
                            .unwrap_or(crate::transport::DEFAULT_PKT_VERSION),
                        |s| s.pkt_version,
                    );
                    out.push_str(&format!("NTP version being claimed is {v}\n"));
                }
                Some(v @ 1..=4) => {
                    let v = v as u8;
                    self.pkt_version = Some(v);
                    if let Some(sess) = self.session.as_mut() {
                        sess.pkt_version = v;
                    }
                }
                Some(_) => eprintln!("versions 1 to 4, please"),
            },
            Cmd::Associations => {
                if self.get_assoc(out) {
                    out.push_str(&self.print_assoc(false));
                }
            }
            Cmd::LAssociations => {
                if self.get_assoc(out) {
                    out.push_str(&self.print_assoc(true));
                }
            }
            Cmd::PAssociations => out.push_str(&self.print_assoc(false)),
            Cmd::LPAssociations => out.push_str(&self.print_assoc(true)),
            Cmd::AddVars => {
                if let Some(list) = s(0) {
                    add_vars(&mut self.varlist, &list);
                }
            }
            Cmd::RmVars => {
                if let Some(list) = s(0) {
                    if let Ok(vl) = VarList::parse(list.as_bytes()) {
                        for name in vl.names() {
                            self.varlist.retain(|(n, _)| n != name);
                        }
                    }
                }
            }
            Cmd::ClearVars => self.varlist.clear(),
            Cmd::ShowVars => {
                if self.varlist.is_empty() {
                    out.push_str("No variables on list\n");
                }
                for (n, v) in &self.varlist {
                    match v {
                        Some(v) => out.push_str(&format!("{n}={v}\n")),
                        None => out.push_str(&format!("{n}\n")),
                    }
                }
            }
            Cmd::ReadList | Cmd::ClockList => {
                let Some(assoc) = check_assoc_opt(u(0)) else {
                    return;
                };
                let list = self.varlist.clone();
                let clock = def.cmd == Cmd::ClockList;
                self.do_list(&list, assoc, clock, out);
            }
            Cmd::ReadVar | Cmd::ClockVar => {
                let Some(assoc) = check_assoc_opt(u(0)) else {
                    return;
                };
                let mut list = Vec::new();
                for i in 1..args.len() {
                    if let Some(v) = s(i) {
                        add_vars(&mut list, &v);
                    }
                }
                let clock = def.cmd == Cmd::ClockVar;
                self.do_list(&list, assoc, clock, out);
            }
            Cmd::Pstats => {
                let Some(assoc) = u(0).and_then(check_assoc) else {
                    return;
                };
                self.vdc(assoc, PSTATS, true, out);
            }
            Cmd::Peers | Cmd::LPeers | Cmd::APeers | Cmd::OPeers | Cmd::LOPeers => {
                let af = match args.first() {
                    Some(ArgVal::Int(6)) => Family::V6,
                    Some(ArgVal::Int(_)) => Family::V4,
                    _ => Family::Any,
                };
                let list = match def.cmd {
                    Cmd::APeers => PeerList::APeers,
                    Cmd::OPeers | Cmd::LOPeers => PeerList::OPeers,
                    _ => PeerList::Peers,
                };
                let all = matches!(def.cmd, Cmd::LPeers | Cmd::LOPeers);
                self.peers(list, all, af, out, w);
            }
            Cmd::SysInfo => self.vdc(0, SYSINFO, true, out),
            Cmd::KernInfo => self.vdc(0, KERNINFO, true, out),
            Cmd::SysStats => self.vdc(0, SYSSTATS, false, out),
            Cmd::MonStats => self.vdc(0, MONSTATS, false, out),
            Cmd::IoStats => self.vdc(0, IOSTATS, false, out),
            Cmd::TimerStats => self.vdc(0, TIMERSTATS, false, out),
            Cmd::AuthInfo => self.vdc(0, AUTHINFO, false, out),
            Cmd::KeyId => match u(0) {
                None if self.auth.key_id == 0 => out.push_str("no keyid defined\n"),
                None => out.push_str(&format!("keyid is {}\n", self.auth.key_id)),
                Some(v) => {
                    if v > u64::from(crate::auth::MAX_KEY_ID) {
                        out.push_str("Invalid key identifier\n");
                    } else {
                        self.auth.key_id = v as u32;
                    }
                }
            },
            Cmd::KeyType => match s(0) {
                None => out.push_str(&format!(
                    "keytype is {} with {} octet digests\n",
                    self.auth.key_type.name(),
                    self.auth.key_type.digest_len().min(20)
                )),
                Some(name) => {
                    if !self.auth.set_type(&name) {
                        out.push_str(
                            "keytype is not valid. Type \"help keytype\" for the available digest types.\n",
                        );
                    }
                }
            },
            Cmd::Passwd => match s(0) {
                Some(pw) if !pw.is_empty() => self.auth.set_password(&pw),
                _ => out.push_str("Password unchanged\n"),
            },
            Cmd::Authenticate => match s(0).as_deref() {
                None if self.auth.always => out.push_str("authenticated requests being sent\n"),
                None => out.push_str("unauthenticated requests being sent\n"),
                Some("yes") => self.auth.always = true,
                Some("no") => self.auth.always = false,
                Some(_) => eprintln!("What?"),
            },
            Cmd::WriteVar | Cmd::WriteList => {
                let Some(assoc) = check_assoc_opt(u(0)) else {
                    return;
                };
                let list = if def.cmd == Cmd::WriteVar {
                    let mut l = Vec::new();
                    add_vars(&mut l, &s(1).unwrap_or_default());
                    l
                } else {
                    self.varlist.clone()
                };
                let data = request_data(&list);
                let Some(resp) = self.query(Opcode::WriteVariables, assoc, data.as_bytes(), true)
                else {
                    return;
                };
                self.server_prefix(out);
                if resp.data.is_empty() {
                    out.push_str("done! (no data returned)\n");
                } else {
                    out.push_str(&format!("associd={assoc} "));
                    let vars = VarList::parse(&resp.data).unwrap_or_default();
                    out.push_str(&cooked_print(&vars, Some(status_word(assoc, resp.status))));
                }
            }
            Cmd::Config => {
                let cfg = s(0).unwrap_or_default();
                let Some(resp) = self.query(Opcode::Configure, 0, cfg.as_bytes(), true) else {
                    return;
                };
                let mut text = crate::cooked::octet_text(&resp.data);
                if text.ends_with('\n') {
                    text.pop();
                }
                let col = text
                    .strip_prefix("column ")
                    .and_then(|r| r.split_once(" syntax error"))
                    .and_then(|(n, _)| n.parse::<usize>().ok())
                    .filter(|&c| c <= cfg.len() + 1);
                if let Some(col) = col {
                    out.push_str(&format!("{cfg}\n{}^\n", "_".repeat(col.saturating_sub(1))));
                }
                out.push_str(&text);
                out.push('\n');
            }
            Cmd::MReadList | Cmd::MReadVar => {
                let (Some(a), Some(b)) = (u(0), u(1)) else {
                    return;
                };
                let Some((from, to)) = self.assoc_range(a, b, out) else {
                    return;
                };
                let list = match s(2) {
                    Some(v) if def.cmd == Cmd::MReadVar => {
                        let mut l = Vec::new();
                        add_vars(&mut l, &v);
                        l
                    }
                    _ => self.varlist.clone(),
                };
                for i in from..=to {
                    if def.cmd == Cmd::MReadList && i != from {
                        out.push('\n');
                    }
                    let Some(id) = self.assoc_cache.get(i).map(|e| e.association_id) else {
                        break;
                    };
                    if !self.do_list(&list, id, false, out) {
                        break;
                    }
                }
            }
            Cmd::IfStats | Cmd::ResList => {
                let ifs = def.cmd == Cmd::IfStats;
                let data: &[u8] = if ifs { b"" } else { b"addr_restrictions" };
                let Some(resp) = self.query(Opcode::ReadOrderedListA, 0, data, true) else {
                    return;
                };
                out.push_str(if ifs {
                    crate::ordlist::IFSTATS_HEADER
                } else {
                    crate::ordlist::RESLIST_HEADER
                });
                let vars = VarList::parse(&resp.data).unwrap_or_else(|e| {
                    eprintln!("nextvar: {e}");
                    VarList::default()
                });
                let table = if ifs {
                    crate::ordlist::ifstats(&vars)
                } else {
                    crate::ordlist::reslist(&vars)
                };
                match table {
                    Ok(t) => out.push_str(&t),
                    Err((partial, msg)) => {
                        out.push_str(&partial);
                        eprintln!("{msg}");
                    }
                }
            }
            Cmd::MruList => {
                let list: Vec<String> = (0..args.len()).filter_map(s).collect();
                self.mrulist(&list, out);
            }
            Cmd::SaveConfig => {
                let file = s(0).unwrap_or_default();
                let Some(resp) = self.query(Opcode::SaveConfig, 0, file.as_bytes(), true) else {
                    return;
                };
                if resp.data.is_empty() {
                    out.push_str("(no response message, curiously)");
                } else {
                    out.push_str(&crate::cooked::octet_text(&resp.data));
                }
            }
        }
    }

    fn help(&self, cmd: Option<&str>, out: &mut String) {
        match cmd {
            None => {
                let mut words: Vec<&str> = COMMANDS
                    .iter()
                    .map(|d| d.name)
                    .filter(|n| !n.starts_with('?'))
                    .collect();
                words.sort_unstable();
                let col = words.iter().map(|w| w.len()).max().unwrap_or(0) + 1;
                let cols = (76 / col).max(1);
                let rows = words.len().div_ceil(cols);
                out.push_str("ntpq commands:\n");
                for row in 0..rows {
                    for w in words.iter().skip(row).step_by(rows) {
                        out.push_str(&format!("{w:<col$}"));
                    }
                    out.push('\n');
                }
            }
            Some(c) => match find_command(c) {
                Ok(d) => {
                    out.push_str(&format!("function: {}\n", d.help));
                    out.push_str(&usage(d));
                    out.push('\n');
                }
                Err(0) => eprintln!("Command `{c}' is unknown"),
                Err(_) => eprintln!("Command `{c}' is ambiguous"),
            },
        }
    }

    fn host_cmd(&mut self, args: &[ArgVal], out: &mut String) {
        let strs: Vec<String> = args
            .iter()
            .filter_map(|a| match a {
                ArgVal::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        if strs.is_empty() {
            match &self.session {
                Some(s) => out.push_str(&format!("current host is {}\n", s.name)),
                None => out.push_str("no current host\n"),
            }
            return;
        }
        let (family, name) = if strs.len() == 2 {
            match strs[0].as_str() {
                "-4" => (Some(Family::V4), &strs[1]),
                "-6" => (Some(Family::V6), &strs[1]),
                _ => (None, &strs[1]),
            }
        } else {
            (Some(Family::Any), &strs[0])
        };
        if let Some(f) = family {
            if self.open_host(name, f) {
                let n = self
                    .session
                    .as_ref()
                    .map_or(String::new(), |s| s.name.clone());
                out.push_str(&format!("current host set to {n}\n"));
                return;
            }
        }
        match &self.session {
            Some(s) => out.push_str(&format!("current host remains {}\n", s.name)),
            None => out.push_str("still no current host\n"),
        }
    }

    /// READSTAT: fills the association cache (sorted by id).
    fn get_assoc(&mut self, out: &mut String) -> bool {
        let Some(resp) = self.query(Opcode::ReadStatus, 0, &[], false) else {
            return false;
        };
        if resp.data.is_empty() {
            self.server_prefix(out);
            out.push_str("No association ID's returned\n");
            return false;
        }
        match parse_association_list(&resp.data) {
            Ok(mut list) => {
                list.sort_by_key(|e| e.association_id);
                self.assoc_cache = list;
                true
            }
            Err(_) => {
                if self.numhosts > 1 {
                    if let Some(s) = &self.session {
                        eprint!("server={} ", s.name);
                    }
                }
                eprintln!(
                    "***Server returned {} octets, should be multiple of 4",
                    resp.data.len()
                );
                false
            }
        }
    }

    /// `findassidrange`: the cache positions of two association ids (the
    /// cache is filled first if empty), lower first.
    fn assoc_range(&mut self, a: u64, b: u64, out: &mut String) -> Option<(usize, usize)> {
        if self.assoc_cache.is_empty() {
            self.get_assoc(out);
        }
        let ids = [check_assoc(a)?, check_assoc(b)?];
        let mut pos = [0usize; 2];
        for (p, id) in pos.iter_mut().zip(ids) {
            match self.assoc_cache.iter().position(|e| e.association_id == id) {
                Some(i) => *p = i,
                None => {
                    eprintln!("***Association ID {id} not found in list");
                    return None;
                }
            }
        }
        Some((pos[0].min(pos[1]), pos[0].max(pos[1])))
    }

    fn print_assoc(&self, show_all: bool) -> String {
        if show_all {
            let mut out = crate::tables::ASSOC_HEADER.to_string();
            if self.assoc_cache.is_empty() {
                return "No association ID's in list\n".to_string();
            }
            for (i, e) in self.assoc_cache.iter().enumerate() {
                out.push_str(&crate::tables::assoc_line(i + 1, e));
            }
            out
        } else {
            assoc_table(&self.assoc_cache)
        }
    }

    /// READVAR (READCLOCK for `clock`) with a variable list, printed as
    /// `rv`/`rl` (`cv`/`cl`) print it.
    fn do_list(
        &mut self,
        list: &[(String, Option<String>)],
        assoc: u16,
        clock: bool,
        out: &mut String,
    ) -> bool {
        let quiet = !list.is_empty();
        let data = request_data(list);
        let opcode = if clock {
            Opcode::ReadClock
        } else {
            Opcode::ReadVariables
        };
        let Some(resp) = self.query(opcode, assoc, data.as_bytes(), false) else {
            return false;
        };
        self.server_prefix(out);
        let clk = if clock { " clock" } else { "" };
        if resp.data.is_empty() {
            if assoc == 0 {
                out.push_str(&format!("No system{clk} variables returned\n"));
            } else {
                out.push_str(&format!(
                    "No information returned for{clk} association {assoc}\n"
                ));
            }
            return true;
        }
        if !quiet {
            out.push_str(&format!("associd={assoc} "));
        }
        if self.raw {
            out.push_str(&raw_print(&resp.data, (!quiet).then_some(resp.status)));
            return true;
        }
        let status = (!quiet).then(|| {
            if clock {
                StatusWord::Clock(proto::control::ClockStatus::from_word(resp.status))
            } else {
                status_word(assoc, resp.status)
            }
        });
        match VarList::parse(&resp.data) {
            Ok(vars) => out.push_str(&cooked_print(&vars, status)),
            Err(e) => {
                if let Some(sw) = status {
                    out.push_str(&format!("status={:04x} {},\n", sw.to_word(), sw.describe()));
                }
                eprintln!("nextvar: {e}");
            }
        }
        true
    }

    fn vdc(&mut self, assoc: u16, table: &[Vdc], show_status: bool, out: &mut String) {
        let req = vdc_request(table);
        let Some(resp) = self.query(Opcode::ReadVariables, assoc, req.as_bytes(), false) else {
            return;
        };
        let vars = VarList::parse(&resp.data).unwrap_or_else(|e| {
            eprintln!("nextvar: {e}");
            VarList::default()
        });
        let status = show_status.then(|| (assoc, status_word(assoc, resp.status)));
        out.push_str(&vdc_display(table, &vars, status));
    }

    fn now(&self) -> u32 {
        if let Some(v) = std::env::var(NOW_ENV)
            .ok()
            .and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        {
            return v;
        }
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        (unix + 2_208_988_800) as u32
    }

    fn peers(
        &mut self,
        list: PeerList,
        show_all: bool,
        af: Family,
        out: &mut String,
        w: &mut dyn Write,
    ) {
        if !self.get_assoc(out) {
            return;
        }
        let multi = self.numhosts > 1;
        let hl = self.max_host_len;
        if multi {
            let title = if list == PeerList::OPeers {
                "server"
            } else {
                "server (local)"
            };
            out.push_str(&format!("{title:<hl$.hl$} "));
        }
        out.push_str(list.header());
        out.push('\n');
        if multi {
            out.push_str(&"=".repeat(hl + 1));
        }
        out.push_str(PEERS_RULE);
        out.push('\n');
        // Flush the header before the (possibly slow) per-peer queries.
        let _ = w.write_all(out.as_bytes());
        out.clear();
        let opts = PeerOpts {
            list,
            wide: self.wide,
            now: self.now(),
        };
        let ids: Vec<(u16, u16)> = self
            .assoc_cache
            .iter()
            .map(|e| (e.association_id, e.status.to_word()))
            .collect();
        for (id, st) in ids {
            if !show_all && !is_shown(st) {
                continue;
            }
            let Some(resp) = self.query(Opcode::ReadVariables, id, &[], false) else {
                return;
            };
            if resp.data.is_empty() {
                if let (true, Some(s)) = (multi, &self.session) {
                    eprint!("server={} ", s.name);
                }
                eprintln!("***No information returned for association {id}");
                return;
            }
            let vars = VarList::parse(&resp.data).unwrap_or_else(|e| {
                eprintln!("nextvar: {e}");
                VarList::default()
            });
            let src_v6 = vars
                .get("srcadr")
                .and_then(VarValue::text)
                .and_then(crate::cooked::decode_netnum)
                .map(|a| a.is_ipv6());
            let wanted = match af {
                Family::Any => true,
                Family::V4 => src_v6 == Some(false),
                Family::V6 => src_v6 == Some(true),
            };
            if !wanted {
                continue;
            }
            if multi {
                let local = vars
                    .get("dstadr")
                    .and_then(VarValue::text)
                    .and_then(crate::cooked::decode_netnum)
                    .map(|a| a.to_string())
                    .or_else(|| self.session.as_ref().map(|s| s.name.clone()))
                    .unwrap_or_default();
                let local = trunc_left(&local, hl);
                out.push_str(&format!("{local:<hl$} "));
            }
            out.push_str(&peer_line(id, resp.status, &vars, opts));
        }
    }
}

impl Default for Ntpq {
    fn default() -> Self {
        Self::new()
    }
}

fn status_word(assoc: u16, word: u16) -> StatusWord {
    if assoc == 0 {
        StatusWord::System(proto::control::SystemStatus::from_word(word))
    } else {
        StatusWord::Peer(proto::control::PeerStatus::from_word(word))
    }
}

/// `checkassocid`: a non-zero 16-bit id.
fn check_assoc(v: u64) -> Option<u16> {
    match u16::try_from(v) {
        Ok(id) if id != 0 => Some(id),
        _ => {
            eprintln!("***Invalid association ID {v} specified");
            None
        }
    }
}

/// An optional association argument; 0 or absent means the system.
fn check_assoc_opt(v: Option<u64>) -> Option<u16> {
    match v {
        None | Some(0) => Some(0),
        Some(v) => check_assoc(v),
    }
}

/// Adds `name[=value],...` items to a variable list (replacing values of
/// names already on it).
fn add_vars(list: &mut Vec<(String, Option<String>)>, text: &str) {
    let Ok(vl) = VarList::parse(text.as_bytes()) else {
        eprintln!("***Bad variable list `{text}'");
        return;
    };
    for v in vl.vars {
        let value = match &v.value {
            VarValue::Absent => None,
            other => Some(raw_value(other)),
        };
        match list.iter_mut().find(|(n, _)| *n == v.name) {
            Some(slot) => slot.1 = value,
            None => list.push((v.name, value)),
        }
    }
}

/// The request data for a variable list: `name[=value]` joined by `,`,
/// stopping before the item that would not fit one request.
fn request_data(list: &[(String, Option<String>)]) -> String {
    let mut s = String::new();
    for (n, v) in list {
        let item = match v {
            Some(v) => format!("{n}={v}"),
            None => n.clone(),
        };
        let extra = item.len() + usize::from(!s.is_empty());
        if s.len() + extra > proto::control::MAX_DATA_LEN {
            eprintln!("***Ignoring variables starting with `{n}'");
            break;
        }
        if !s.is_empty() {
            s.push(',');
        }
        s.push_str(&item);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_lists_for_requests() {
        let mut l = Vec::new();
        add_vars(&mut l, "hmode,pmode,reach");
        add_vars(&mut l, "reach=3");
        assert_eq!(request_data(&l), "hmode,pmode,reach=3");
    }
}
