//! The ntpq command interpreter: reading a command's arguments and running
//! it against the current host, with the reference's messages (the command
//! table itself is in `cmdtable`).
//!
//! [`Ntpq::docmd`] parses a line and dispatches on the command; the
//! commands themselves live by concern: `session` (ntpq's own settings:
//! host, timeouts, version, debug, output mode, help), `keys` (the
//! authentication settings), `assoc` (the association list), `varlist`
//! (the `addvars` list), `read` (variables, statistics tables, ordered
//! lists), `peers` (the peers billboards) and `write` (requests that change
//! the server: `writevar`, `:config`, `saveconfig`). `mrulist` is in
//! `crate::mru`.

mod assoc;
mod keys;
mod peers;
mod read;
mod session;
mod varlist;
mod write;

use std::io::Write;
use std::time::Duration;

use proto::control::{AssociationEntry, Opcode, StatusWord};

use crate::cmdtable::{find_command, tokenize, usage, Arg, Cmd, CmdDef, MAX_ARGS};
use crate::tables::{
    PeerList, AUTHINFO, IOSTATS, KERNINFO, MONSTATS, SYSINFO, SYSSTATS, TIMERSTATS,
};
use crate::transport::{Family, QueryError, Response, Session};

use read::OrderedList;
use session::{hostnames_cmd, version_cmd};

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

/// A command's parsed arguments, read by position.
#[derive(Debug, Clone, Copy)]
struct Args<'a>(&'a [ArgVal]);

impl Args<'_> {
    /// The text argument at `i`, if that argument is text.
    fn str(self, i: usize) -> Option<String> {
        match self.0.get(i) {
            Some(ArgVal::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// The unsigned argument at `i`, if that argument is a number.
    fn uint(self, i: usize) -> Option<u64> {
        match self.0.get(i) {
            Some(ArgVal::Uint(v)) => Some(*v),
            _ => None,
        }
    }

    /// Every text argument, in order.
    fn strs(self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|a| match a {
                ArgVal::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// The address family of a leading `-4`/`-6` argument.
    fn family(self) -> Family {
        match self.0.first() {
            Some(ArgVal::Int(6)) => Family::V6,
            Some(ArgVal::Int(_)) => Family::V4,
            _ => Family::Any,
        }
    }

    fn len(self) -> usize {
        self.0.len()
    }
}

/// Interpreter state: options, the open host and the caches.
pub struct Ntpq {
    /// The open host (`host` command or the command line), if any.
    pub session: Option<Session>,
    /// `-w`: wide remote names in the peer list.
    pub wide: bool,
    /// `raw`: print variables as received instead of cooked.
    pub raw: bool,
    /// The debug level (`-d`, `debug more`/`less`/`no`).
    pub debug: u32,
    /// How many hosts the command line names; above 1 each output is
    /// prefixed with the host name.
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
    /// An interpreter with no host open, cooked output, debug level 0
    /// and the default timeouts.
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

    /// Runs one parsed command: its text output goes to `out`, except
    /// what the peers billboard flushes to `w` before its slow queries.
    fn run(&mut self, def: &CmdDef, args: &[ArgVal], out: &mut String, w: &mut dyn Write) {
        let args = Args(args);
        match def.cmd {
            Cmd::Help => self.help(args.str(0).as_deref(), out),
            Cmd::Timeout => self.timeout_cmd(args.uint(0), out),
            Cmd::Host => self.host_cmd(&args.strs(), out),
            Cmd::Hostnames => hostnames_cmd(args.str(0).as_deref(), out),
            Cmd::Debug => self.debug_cmd(args.str(0).as_deref(), out),
            Cmd::Quit => self.quit = true,
            Cmd::Version => version_cmd(out),
            Cmd::Raw => self.set_raw(true, out),
            Cmd::Cooked => self.set_raw(false, out),
            Cmd::NtpVersion => self.ntpversion_cmd(args.uint(0), out),
            Cmd::Associations => self.associations_cmd(false, out),
            Cmd::LAssociations => self.associations_cmd(true, out),
            Cmd::PAssociations => out.push_str(&self.print_assoc(false)),
            Cmd::LPAssociations => out.push_str(&self.print_assoc(true)),
            Cmd::AddVars => self.addvars_cmd(args.str(0).as_deref()),
            Cmd::RmVars => self.rmvars_cmd(args.str(0).as_deref()),
            Cmd::ClearVars => self.varlist.clear(),
            Cmd::ShowVars => self.showvars_cmd(out),
            Cmd::ReadList => self.readlist_cmd(args.uint(0), false, out),
            Cmd::ClockList => self.readlist_cmd(args.uint(0), true, out),
            Cmd::ReadVar => self.readvar_cmd(args, false, out),
            Cmd::ClockVar => self.readvar_cmd(args, true, out),
            Cmd::MReadList => self.mread_cmd(args, false, out),
            Cmd::MReadVar => self.mread_cmd(args, true, out),
            Cmd::Pstats => self.pstats_cmd(args.uint(0), out),
            Cmd::Peers => self.peers(PeerList::Peers, false, args.family(), out, w),
            Cmd::LPeers => self.peers(PeerList::Peers, true, args.family(), out, w),
            Cmd::APeers => self.peers(PeerList::APeers, false, args.family(), out, w),
            Cmd::OPeers => self.peers(PeerList::OPeers, false, args.family(), out, w),
            Cmd::LOPeers => self.peers(PeerList::OPeers, true, args.family(), out, w),
            Cmd::SysInfo => self.vdc(0, SYSINFO, true, out),
            Cmd::KernInfo => self.vdc(0, KERNINFO, true, out),
            Cmd::SysStats => self.vdc(0, SYSSTATS, false, out),
            Cmd::MonStats => self.vdc(0, MONSTATS, false, out),
            Cmd::IoStats => self.vdc(0, IOSTATS, false, out),
            Cmd::TimerStats => self.vdc(0, TIMERSTATS, false, out),
            Cmd::AuthInfo => self.vdc(0, AUTHINFO, false, out),
            Cmd::KeyId => self.keyid_cmd(args.uint(0), out),
            Cmd::KeyType => self.keytype_cmd(args.str(0).as_deref(), out),
            Cmd::Passwd => self.passwd_cmd(args.str(0).as_deref(), out),
            Cmd::Authenticate => self.authenticate_cmd(args.str(0).as_deref(), out),
            Cmd::WriteVar => self.writevar_cmd(args.uint(0), args.str(1).as_deref(), out),
            Cmd::WriteList => self.writelist_cmd(args.uint(0), out),
            Cmd::Config => self.config_cmd(&args.str(0).unwrap_or_default(), out),
            Cmd::IfStats => self.ordered_list_cmd(OrderedList::Interfaces, out),
            Cmd::ResList => self.ordered_list_cmd(OrderedList::Restrictions, out),
            Cmd::MruList => self.mrulist(&args.strs(), out),
            Cmd::SaveConfig => self.saveconfig_cmd(&args.str(0).unwrap_or_default(), out),
        }
    }
}

impl Default for Ntpq {
    fn default() -> Self {
        Self::new()
    }
}

/// The status word of a response: the system's for association 0, else
/// the peer's.
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
