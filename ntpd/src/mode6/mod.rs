//! The mode 6 control server (RFC 9327, with the reference ntpd 4.2.8's
//! extensions and behaviour, `ntpd/ntp_control.c`): what `ntpq` and
//! monitoring scripts talk to.
//!
//! Sans-IO: the daemon's socket loop hands each mode 6 datagram to
//! [`ControlServer::handle`] with the time, the sender, its `restrict`
//! flags, a view of the daemon ([`ControlState`]) and its keys
//! ([`ControlKeys`]); it gets back the datagrams to send (already
//! fragmented and, for authenticated requests, signed) or nothing.
//!
//! Served: READSTAT, READVAR (system and peer variables with the
//! reference's names, order and formats, including the Autokey ones when
//! the state has them), REQ_NONCE and READ_MRU (`mrulist`, only with a
//! valid nonce), and, authenticated with `controlkey`: READ_ORDLIST_A
//! (`ifstats`, `reslist`), CONFIGURE and SAVECONFIG (carried out by the
//! state), WRITEVAR (checked, then refused as by the reference), READCLOCK
//! (reference clock variables, [`clockvars`]; error 4 for an association
//! that is not a clock). Refused: WRITECLOCK (7), SETTRAP (no
//! trap slots: error 1; `notrap`: 7), UNSETTRAP (4), and every command
//! that needs authentication when its MAC does not verify with
//! `controlkey` (7). Unknown opcodes get error 3.
//!
//! Amplification (measured by `ntpd/tests/mode6_limits.rs`): the largest
//! answer to an unauthenticated request is 640 octets (two datagrams) for
//! a 12-octet `rv &1` on a daemon like those of the reference runs (one
//! Autokey association), 53 times the request; 992 octets (83 times) with
//! 16 associations and every optional variable set. Whatever the state, an
//! answer never exceeds [`ServerConfig::max_fragments`] datagrams (32, the
//! most ntpq reassembles: at most 15 360 octets; longer answers become
//! error 0). The rate limiter keys on the source address, which in a
//! reflection attack is the victim's: one victim receives at most a burst
//! of 32 datagrams and then 16 per second (about 7.7 kB/s) from this
//! server. `noquery` sources get nothing; MRU lists (up to 128 datagrams)
//! go only to sources that returned a nonce issued to their address.
//!
//! The per-source bucket does not bound the total: 3 000 spoofed sources
//! each within their burst drew 1.24 MB for 36 kB in (issue 15). So a
//! global bucket ([`ServerConfig::global_limit`], in datagrams) is
//! checked beside it: the server answers at most 256 datagrams in a burst
//! and 128 per second in all (at most about 64 kB/s), whatever the number
//! of sources.

mod clockvars;
mod format;
mod keys;
mod mru;
mod ordlist;
mod peervars;
mod ratelimit;
mod request;
mod state;
mod sysvars;
mod writer;

use std::net::{IpAddr, SocketAddr};

use proto::control::{
    write_association_list, ControlHeader, ControlMessage, DataFragment, ErrorCode, Opcode,
};
use proto::NtpTimestamp;

use crate::access::budget::{BucketParams, TokenBucket};

pub use clockvars::ClockVars;
pub use format::refid as format_refid;
pub use keys::{ControlKeys, NoKeys};
pub use mru::{NonceKey, MRU_FRAGS_LIMIT, MRU_ROW_LIMIT};
pub use ratelimit::{RateLimit, RateLimiter};
pub use request::Ignored;
pub use state::reported_broadcast_delay;
pub use state::{
    AutokeyValues, CertInfo, CommandReply, ControlState, ExtraVar, InterfaceStats, KernelPps,
    KernelVars, MruEntry, NtsPeerVars, PeerCrypto, PeerVars, RestrictEntry, SystemCounter,
    SystemCrypto, SystemVars, UNCONFIGURED_BROADCAST_DELAY,
};

use request::{screen, Items, Request, Screened};
use sysvars::{SysSource, DEFAULT_SYS_VARS, SYS_VARS};
use writer::Out;

/// The `restrict` flags that matter to mode 6, as decided by the caller
/// for the request's source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// `noquery`: mode 6 is ignored entirely.
    pub noquery: bool,
    /// `nomodify`: CONFIGURE and SAVECONFIG are refused (with a message).
    pub nomodify: bool,
    /// `notrap`: SETTRAP refused.
    pub notrap: bool,
    /// `nomrulist`: READ_MRU refused (error 7).
    pub nomrulist: bool,
}

/// Where and when a request arrived.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext {
    /// The sender (responses go back to it).
    pub source: SocketAddr,
    /// Receive time; also the `clock` variable and the nonce time.
    pub now: NtpTimestamp,
    /// The `restrict` flags that matched the source (`noquery` drops mode
    /// 6 requests, RFC 9327 §3).
    pub restrict: Restrictions,
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The source is `noquery`.
    NoQuery,
    /// The source is over its rate.
    RateLimited,
    /// The server is over its rate for all sources together.
    GlobalBudget,
    /// Not a usable request (see [`Ignored`]).
    Ignored(Ignored),
    /// READ_MRU without a valid nonce, or with a malformed parameter.
    NoNonce,
    /// SAVECONFIG without a file name (the reference does not answer).
    Empty,
}

impl std::fmt::Display for DropReason {
    /// Why a mode 6 request went unanswered, for the debug log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::NoQuery => f.write_str("the source is restricted with noquery"),
            DropReason::RateLimited => f.write_str("the source is over its request rate"),
            DropReason::GlobalBudget => {
                f.write_str("the server is over its mode 6 rate for all sources")
            }
            DropReason::Ignored(_) => f.write_str("not a usable mode 6 request"),
            DropReason::NoNonce => {
                f.write_str("READ_MRU without a valid nonce or with a malformed parameter")
            }
            DropReason::Empty => f.write_str("SAVECONFIG without a file name"),
        }
    }
}

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Send nothing.
    Drop(DropReason),
    /// Send these datagrams, in order, to the request's source.
    Send(Vec<Vec<u8>>),
}

/// Server settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerConfig {
    /// The per-source token bucket applied before a request is answered.
    pub rate_limit: RateLimit,
    /// Most datagrams in a response other than READ_MRU (which has its own
    /// limit, `frags=`, at most [`MRU_FRAGS_LIMIT`]); a longer response is
    /// replaced by error 0. 32 is the most a reference ntpq reassembles.
    pub max_fragments: usize,
    /// The bucket of response datagrams for all sources together.
    pub global_limit: BucketParams,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            rate_limit: RateLimit::default(),
            max_fragments: 32,
            global_limit: BucketParams::new(256.0, 128.0),
        }
    }
}

/// Request and response counters (the reference's `numctl*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ControlCounters {
    /// Mode 6 datagrams received (`numctlreq`).
    pub requests: u64,
    /// Datagrams dropped unanswered because they are not a valid request
    /// (responses, wrong version, too short, ...).
    pub ignored: u64,
    /// Requests dropped by the per-source rate limit.
    pub rate_limited: u64,
    /// Requests dropped by the global budget ([`ServerConfig::global_limit`]).
    pub global_limited: u64,
    /// Requests dropped because the source matched `restrict noquery`.
    pub restricted: u64,
    /// Requests with an opcode the server does not implement (`numctlbadop`,
    /// answered with error 3, "invalid opcode", RFC 9327 §4).
    pub bad_opcode: u64,
    /// Requests answered with an error response (`numctlerrors`).
    pub errors: u64,
    /// Requests answered with data (`numctlresponses`).
    pub responses: u64,
    /// Datagrams beyond the first in those responses (`numctlfrags`).
    pub fragments: u64,
}

/// How a request's MAC came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// No MAC.
    None,
    /// A MAC that did not verify: answered padded to 8 octets, unsigned.
    Failed,
    /// Verified with this key: answers are signed with it.
    Ok(u32),
}

/// What a handler produced.
enum Reply {
    Data { status: u16, out: Out },
    Error(ErrorCode),
    Drop(DropReason),
}

/// The mode 6 server: rate limiter, nonce key and counters.
#[derive(Debug, Clone)]
pub struct ControlServer {
    config: ServerConfig,
    limiter: RateLimiter,
    global: Option<TokenBucket>,
    nonce: NonceKey,
    counters: ControlCounters,
}

impl Default for ControlServer {
    fn default() -> Self {
        Self::new(ServerConfig::default())
    }
}

/// Opcodes that run only with a MAC made with `controlkey`.
fn needs_auth(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::WriteVariables
            | Opcode::WriteClock
            | Opcode::SetTrap
            | Opcode::Configure
            | Opcode::SaveConfig
            | Opcode::ReadOrderedListA
            | Opcode::UnsetTrap
    )
}

/// The reference's check of a `saveconfig` file name: first character
/// `[_A-Za-z0-9]`, then `[-._+A-Za-z0-9]` (no directories, no globbing).
pub fn is_safe_filename(name: &str) -> bool {
    let b = name.as_bytes();
    let Some((first, rest)) = b.split_first() else {
        return false;
    };
    (first.is_ascii_alphanumeric() || *first == b'_')
        && rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'+'))
}

/// Longest runtime configuration text accepted (the reference's buffer
/// less the newline and NUL it adds).
const MAX_CONFIG_TEXT: usize = 1022;
/// Longest `saveconfig` name (the reference's 128-octet buffer).
const MAX_SAVECONFIG_NAME: usize = 128;

impl ControlServer {
    /// A server with zeroed counters and an empty rate limiter.
    pub fn new(config: ServerConfig) -> Self {
        ControlServer {
            config,
            limiter: RateLimiter::new(config.rate_limit),
            global: None,
            nonce: NonceKey::default(),
            counters: ControlCounters::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> ControlCounters {
        self.counters
    }

    /// Answers one mode 6 datagram. Never panics; the output is bounded
    /// by [`ServerConfig::max_fragments`] (or `frags=` for READ_MRU)
    /// datagrams of at most 12 + 468 + 24 octets.
    pub fn handle<R: rand::Rng + ?Sized>(
        &mut self,
        datagram: &[u8],
        ctx: &RequestContext,
        state: &mut dyn ControlState,
        keys: &dyn ControlKeys,
        rng: &mut R,
    ) -> Response {
        self.counters.requests += 1;
        if ctx.restrict.noquery {
            self.counters.restricted += 1;
            return Response::Drop(DropReason::NoQuery);
        }
        let source_ip = ctx.source.ip();
        if !self.limiter.admit(source_ip, ctx.now) {
            self.counters.rate_limited += 1;
            return Response::Drop(DropReason::RateLimited);
        }
        // Seconds on the NTP scale: only differences matter.
        let now = ctx.now.to_bits() as f64 / 4_294_967_296.0;
        let limit = self.config.global_limit;
        let global = self
            .global
            .get_or_insert_with(|| TokenBucket::new(limit, now));
        if !global.admit(now) {
            self.counters.global_limited += 1;
            return Response::Drop(DropReason::GlobalBudget);
        }
        let response = self.answer(datagram, ctx, state, keys, rng);
        let sent = match &response {
            Response::Send(d) => d.len(),
            Response::Drop(_) => 0,
        };
        self.limiter.charge(source_ip, sent.max(1));
        if let Some(g) = self.global.as_mut() {
            g.charge(sent.max(1) as f64);
        }
        response
    }

    fn answer<R: rand::Rng + ?Sized>(
        &mut self,
        datagram: &[u8],
        ctx: &RequestContext,
        state: &mut dyn ControlState,
        keys: &dyn ControlKeys,
        rng: &mut R,
    ) -> Response {
        let req = match screen(datagram) {
            Screened::Ignore(why) => {
                self.counters.ignored += 1;
                return Response::Drop(DropReason::Ignored(why));
            }
            Screened::BadFormat(header) => {
                let leap = state.system().leap;
                self.counters.errors += 1;
                let e = ControlMessage::error_response(&header, leap, ErrorCode::InvalidFormat);
                return Response::Send(vec![e.serialize()]);
            }
            Screened::Request(r) => r,
        };
        let auth = match req.mac {
            None => Auth::None,
            Some(m) if keys.verify(m.key_id, ctx.source.ip(), m.covered, m.digest) => {
                Auth::Ok(m.key_id)
            }
            Some(_) => Auth::Failed,
        };
        let op = req.header.opcode;
        let reply =
            if needs_auth(op) && !matches!(auth, Auth::Ok(k) if Some(k) == keys.control_key()) {
                tracing::debug!(
                    "mode 6 {op} from {} refused: not authenticated with the control key",
                    ctx.source
                );
                Reply::Error(ErrorCode::AdministrativelyProhibited)
            } else {
                self.dispatch(&req, ctx, auth, state, rng)
            };
        let leap = state.system().leap;
        let dest = ctx.source.ip();
        match reply {
            Reply::Drop(why) => Response::Drop(why),
            Reply::Error(code) => {
                self.counters.errors += 1;
                if code == ErrorCode::InvalidOpcode {
                    self.counters.bad_opcode += 1;
                }
                Response::Send(vec![error_datagram(
                    &req.header,
                    leap,
                    code,
                    auth,
                    keys,
                    dest,
                )])
            }
            Reply::Data { status, out } => {
                let fragments = out.finish();
                if op != Opcode::ReadMru && fragments.len() > self.config.max_fragments {
                    self.counters.errors += 1;
                    let e =
                        error_datagram(&req.header, leap, ErrorCode::Unspecified, auth, keys, dest);
                    return Response::Send(vec![e]);
                }
                let header = ControlHeader::response_to(&req.header, leap, status);
                let datagrams: Vec<Vec<u8>> = fragments
                    .iter()
                    .filter_map(|f| data_datagram(f, header, auth, keys, dest))
                    .collect();
                self.counters.responses += 1;
                self.counters.fragments += datagrams.len().saturating_sub(1) as u64;
                Response::Send(datagrams)
            }
        }
    }

    fn dispatch<R: rand::Rng + ?Sized>(
        &mut self,
        req: &Request<'_>,
        ctx: &RequestContext,
        auth: Auth,
        state: &mut dyn ControlState,
        rng: &mut R,
    ) -> Reply {
        let assoc = req.header.association_id;
        let authenticated = matches!(auth, Auth::Ok(_));
        match req.header.opcode {
            Opcode::Unknown(0) => match assoc {
                0 => Reply::Data {
                    status: state.system().status.to_word(),
                    out: Out::new(),
                },
                id => match state.peer(id) {
                    Some(p) => Reply::Data {
                        status: p.status.to_word(),
                        out: Out::new(),
                    },
                    None => Reply::Error(ErrorCode::UnknownAssociation),
                },
            },
            Opcode::ReadStatus => {
                // Only a peer's counter is cleared by an authenticated
                // READSTAT; the system's by an authenticated READVAR.
                if authenticated && assoc != 0 {
                    state.events_read(Some(assoc));
                }
                if assoc == 0 {
                    let mut out = Out::new();
                    let list = state.associations();
                    if !list.is_empty() {
                        out.binary(&write_association_list(&list));
                    }
                    Reply::Data {
                        status: state.system().status.to_word(),
                        out,
                    }
                } else {
                    read_peer(state, assoc, b"")
                }
            }
            Opcode::ReadVariables => {
                if authenticated {
                    state.events_read((assoc != 0).then_some(assoc));
                }
                if assoc == 0 {
                    read_system(state, req.data, ctx.now)
                } else {
                    read_peer(state, assoc, req.data)
                }
            }
            Opcode::WriteVariables => write_variables(state, assoc, req.data),
            Opcode::ReadClock => clockvars::read_clock(state, assoc, req.data),
            Opcode::WriteClock => Reply::Error(ErrorCode::AdministrativelyProhibited),
            Opcode::SetTrap => {
                if ctx.restrict.notrap {
                    Reply::Error(ErrorCode::AdministrativelyProhibited)
                } else {
                    // No trap slots: the reference's "no resource".
                    Reply::Error(ErrorCode::AuthFailure)
                }
            }
            // No trap is ever set, so there is none to clear.
            Opcode::UnsetTrap => Reply::Error(ErrorCode::UnknownAssociation),
            Opcode::Configure => configure(state, assoc, req.data, ctx),
            Opcode::SaveConfig => save_config(state, req.data, ctx),
            Opcode::ReadOrderedListA => {
                let mut out = Out::new();
                match ordlist::OrderedList::named(req.data) {
                    Some(ordlist::OrderedList::Interfaces) => {
                        ordlist::put_interfaces(&mut out, &state.interfaces());
                    }
                    Some(ordlist::OrderedList::Restrictions) => {
                        ordlist::put_restrictions(&mut out, &state.restrictions());
                    }
                    None => return Reply::Error(ErrorCode::UnknownVariable),
                }
                Reply::Data { status: 0, out }
            }
            Opcode::RequestNonce => {
                self.refresh_nonce(ctx.now, rng);
                let mut out = Out::new();
                out.bare("nonce", &self.nonce.issue(ctx.source, ctx.now));
                Reply::Data { status: 0, out }
            }
            Opcode::ReadMru => {
                if ctx.restrict.nomrulist {
                    return Reply::Error(ErrorCode::AdministrativelyProhibited);
                }
                self.refresh_nonce(ctx.now, rng);
                let st: &dyn ControlState = state;
                match mru::read_mru(req.data, ctx.source, ctx.now, &self.nonce, || {
                    st.mru_entries()
                }) {
                    mru::MruOutcome::Drop => Reply::Drop(DropReason::NoNonce),
                    mru::MruOutcome::Error(e) => Reply::Error(e),
                    mru::MruOutcome::Data(out) => Reply::Data { status: 0, out },
                }
            }
            Opcode::AsyncMessage | Opcode::Unknown(_) => Reply::Error(ErrorCode::InvalidOpcode),
        }
    }

    fn refresh_nonce<R: rand::Rng + ?Sized>(&mut self, now: NtpTimestamp, rng: &mut R) {
        self.nonce.refresh(now, || {
            let mut salt = [0u8; 16];
            rng.fill_bytes(&mut salt);
            salt
        });
    }
}

/// An item value longer than the reference's 127 octets ends the request's
/// list (the reference logs it as a possible `ntpdx` exploit).
fn warn_overlong(items: &Items<'_>) {
    if items.overlong {
        crate::limited!(
            WARN,
            "mode 6 request with an over-long variable value; rest of the list ignored"
        );
    }
}

/// READVAR for association 0.
fn read_system(state: &dyn ControlState, data: &[u8], now: NtpTimestamp) -> Reply {
    let vars = state.system();
    let crypto = state.system_crypto();
    let extra = state.extra_system_vars();
    let mut wants = [false; SYS_VARS.len()];
    let mut wants_extra = vec![false; extra.len()];
    let mut named = false;
    let mut items = Items::new(data);
    for item in items.by_ref() {
        if let Some(i) = sysvars::lookup(item.name) {
            wants[i] = true;
        } else if let Some(j) = extra
            .iter()
            .position(|e| sysvars::extra_name(&e.text).as_bytes() == item.name)
        {
            wants_extra[j] = true;
        } else {
            return Reply::Error(ErrorCode::UnknownVariable);
        }
        named = true;
    }
    warn_overlong(&items);
    let src = SysSource {
        vars: &vars,
        state,
        crypto: crypto.as_ref(),
        extra: &extra,
        now,
    };
    let mut out = Out::new();
    if named {
        for (i, (name, var)) in SYS_VARS.iter().enumerate() {
            if wants[i] {
                sysvars::put(&mut out, name, *var, &src);
            }
        }
        for (e, _) in extra.iter().zip(&wants_extra).filter(|(_, w)| **w) {
            out.text(e.text.as_bytes());
        }
    } else {
        for var in DEFAULT_SYS_VARS {
            if let Some((name, _)) = SYS_VARS.iter().find(|(_, v)| v == var) {
                sysvars::put(&mut out, name, *var, &src);
            }
        }
        for e in extra.iter().filter(|e| e.default) {
            out.text(e.text.as_bytes());
        }
    }
    Reply::Data {
        status: vars.status.to_word(),
        out,
    }
}

/// READVAR (and READSTAT) for association `id`.
fn read_peer(state: &dyn ControlState, id: u16, data: &[u8]) -> Reply {
    let Some(peer) = state.peer(id) else {
        return Reply::Error(ErrorCode::UnknownAssociation);
    };
    let crypto = state.peer_crypto(id);
    let mut wants = [false; peervars::PEER_VARS.len()];
    let mut named = false;
    let mut items = Items::new(data);
    for item in items.by_ref() {
        match peervars::lookup(item.name) {
            Some(i) => wants[i] = true,
            None => return Reply::Error(ErrorCode::UnknownVariable),
        }
        named = true;
    }
    warn_overlong(&items);
    let mut out = Out::new();
    if named {
        for (i, (name, var)) in peervars::PEER_VARS.iter().enumerate() {
            if wants[i] {
                peervars::put(&mut out, name, *var, &peer, crypto.as_ref());
            }
        }
    } else {
        for var in peervars::DEFAULT_PEER_VARS {
            if let Some((name, _)) = peervars::PEER_VARS.iter().find(|(_, v)| v == var) {
                peervars::put(&mut out, name, *var, &peer, crypto.as_ref());
            }
        }
    }
    Reply::Data {
        status: peer.status.to_word(),
        out,
    }
}

/// WRITEVAR (already authenticated). The reference writes nothing: every
/// outcome ends the request at its first item (peer variables and
/// read-only ones: 7; unknown names: 5; `leap` without a number: 2, out
/// of range: 6, else refused with 0). A request without items succeeds.
fn write_variables(state: &dyn ControlState, assoc: u16, data: &[u8]) -> Reply {
    if assoc != 0 {
        return Reply::Error(ErrorCode::AdministrativelyProhibited);
    }
    let Some(item) = Items::new(data).next() else {
        return Reply::Data {
            status: state.system().status.to_word(),
            out: Out::new(),
        };
    };
    let known = sysvars::lookup(item.name).map(|i| SYS_VARS[i].1);
    let is_extra = state
        .extra_system_vars()
        .iter()
        .any(|e| sysvars::extra_name(&e.text).as_bytes() == item.name);
    let code = match known {
        Some(sysvars::SysVar::Leap) => {
            let number = item
                .value
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|s| s.parse::<i64>().ok());
            match number {
                None => ErrorCode::InvalidFormat,
                Some(v) if v & !3 != 0 => ErrorCode::InvalidValue,
                Some(_) => ErrorCode::Unspecified,
            }
        }
        // Read-only, including every `setvar` variable.
        Some(_) => ErrorCode::AdministrativelyProhibited,
        None if is_extra => ErrorCode::AdministrativelyProhibited,
        None => ErrorCode::UnknownVariable,
    };
    Reply::Error(code)
}

/// A one-line text answer (CONFIGURE, SAVECONFIG).
fn message(text: &str) -> Reply {
    let mut out = Out::new();
    out.text(text.as_bytes());
    Reply::Data { status: 0, out }
}

/// CONFIGURE (already authenticated).
fn configure(state: &mut dyn ControlState, assoc: u16, data: &[u8], ctx: &RequestContext) -> Reply {
    if assoc != 0 {
        return Reply::Error(ErrorCode::InvalidValue);
    }
    if ctx.restrict.nomodify {
        tracing::info!(
            "runtime config from {} rejected due to nomodify restriction",
            ctx.source.ip()
        );
        return message("runtime configuration prohibited by restrict ... nomodify");
    }
    if data.len() > MAX_CONFIG_TEXT {
        return message("runtime configuration failed: request too long");
    }
    let printable = |b: &u8| (0x20..0x7f).contains(b) || matches!(b, b'\t' | b'\n' | b'\r');
    let Some(text) = std::str::from_utf8(data)
        .ok()
        .filter(|_| data.iter().all(printable))
    else {
        return message("runtime configuration failed: request contains an unprintable character");
    };
    tracing::info!("{} config: {}", ctx.source.ip(), text.trim_end());
    let reply = state.configure(ctx.source, text);
    message(&reply.text)
}

/// SAVECONFIG (already authenticated).
fn save_config(state: &mut dyn ControlState, data: &[u8], ctx: &RequestContext) -> Reply {
    if ctx.restrict.nomodify {
        tracing::info!(
            "saveconfig from {} rejected due to nomodify restriction",
            ctx.source.ip()
        );
        return message("saveconfig prohibited by restrict ... nomodify");
    }
    let name = data
        .iter()
        .position(|&b| b == 0)
        .map_or(data, |n| &data[..n]);
    if name.is_empty() {
        return Reply::Drop(DropReason::Empty);
    }
    if name.len() >= MAX_SAVECONFIG_NAME {
        return message(&format!(
            "saveconfig exceeded maximum raw name length ({MAX_SAVECONFIG_NAME})"
        ));
    }
    let text = String::from_utf8_lossy(name);
    if !is_safe_filename(&text) {
        tracing::info!(
            "saveconfig rejects unsafe file name from {}",
            ctx.source.ip()
        );
        return message(&format!("saveconfig rejects unsafe file name '{text}'"));
    }
    let reply = state.save_config(ctx.source, &text);
    message(&reply.text)
}

/// Pads `bytes` to 8 octets and, for a verified request, appends key ID
/// and digest (the reference's `ctl_flushpkt`).
fn authenticate(mut bytes: Vec<u8>, auth: Auth, keys: &dyn ControlKeys, dest: IpAddr) -> Vec<u8> {
    if auth == Auth::None {
        return bytes;
    }
    bytes.resize(bytes.len().div_ceil(8) * 8, 0);
    if let Auth::Ok(key) = auth {
        if let Some(digest) = keys.sign(key, dest, &bytes) {
            bytes.extend_from_slice(&key.to_be_bytes());
            bytes.extend_from_slice(&digest);
        }
    }
    bytes
}

fn data_datagram(
    fragment: &DataFragment,
    header: ControlHeader,
    auth: Auth,
    keys: &dyn ControlKeys,
    dest: IpAddr,
) -> Option<Vec<u8>> {
    let msg = fragment.to_message(header).ok()?;
    Some(authenticate(msg.serialize(), auth, keys, dest))
}

/// An error response; for a verified request the MAC follows the 12-octet
/// header directly, as in the reference's `ctl_error`.
fn error_datagram(
    request: &ControlHeader,
    leap: u8,
    code: ErrorCode,
    auth: Auth,
    keys: &dyn ControlKeys,
    dest: IpAddr,
) -> Vec<u8> {
    let mut bytes = ControlMessage::error_response(request, leap, code).serialize();
    if let Auth::Ok(key) = auth {
        if let Some(digest) = keys.sign(key, dest, &bytes) {
            bytes.extend_from_slice(&key.to_be_bytes());
            bytes.extend_from_slice(&digest);
        }
    }
    bytes
}

#[cfg(test)]
mod tests;
