//! What the mode 6 server reads from (and the few things it asks of) the
//! daemon: [`ControlState`], implemented by the daemon, and the snapshots
//! it returns. Units are those of the daemon (seconds, s/s); the server
//! scales them to the reference's display units (ms, ppm) itself.

use std::net::{IpAddr, SocketAddr};

use proto::control::{AssociationEntry, PeerStatus, SystemStatus};
use proto::NtpTimestamp;

/// The system variables (RFC 5905 §11.1 plus the reference's additions).
#[derive(Debug, Clone, PartialEq)]
pub struct SystemVars {
    /// The system status word (leap, clock source, events).
    pub status: SystemStatus,
    /// `leap`: the system leap indicator (also sent in the response header).
    pub leap: u8,
    /// `stratum` (16 when unsynchronised).
    pub stratum: u8,
    /// `precision`, log2 seconds.
    pub precision: i8,
    /// `rootdelay`, seconds.
    pub root_delay: f64,
    /// `rootdisp`, seconds.
    pub root_dispersion: f64,
    /// `refid`, the four octets as sent in packets.
    pub refid: [u8; 4],
    /// `reftime`.
    pub reftime: NtpTimestamp,
    /// `peer`: association ID of the system peer.
    pub sys_peer: Option<u16>,
    /// `peeradr`: address of the system peer.
    pub sys_peer_address: Option<SocketAddr>,
    /// `peermode`: host mode of the system peer's association (0 without one).
    pub sys_peer_mode: u8,
    /// `tc`: system poll exponent.
    pub poll: u8,
    /// `mintc`: minimum poll exponent (`tos minpoll`/the reference's `ntp_minpoll`).
    pub min_poll: u8,
    /// `offset`: last clock offset, seconds.
    pub offset: f64,
    /// `frequency`: frequency correction, s/s (shown in ppm).
    pub frequency: f64,
    /// `sys_jitter`, seconds.
    pub sys_jitter: f64,
    /// `clk_jitter`, seconds.
    pub clock_jitter: f64,
    /// `clk_wander`: frequency stability, s/s (shown in ppm).
    pub clock_wander: f64,
    /// `version` (e.g. `ntpd 4.2.8p18-o ...`).
    pub version: String,
    /// `processor` (`uname -m`).
    pub processor: String,
    /// `system` (`uname -s`/`uname -r`).
    pub system: String,
    /// `tai`: TAI−UTC offset, 0 when unknown (then not shown).
    pub tai: u32,
    /// `leapsec`: when the leap second table was created (Unix seconds).
    pub leap_table_stamp: Option<i64>,
    /// `expire`: when the leap second table expires (Unix seconds).
    pub leap_table_expire: Option<i64>,
    /// `leapsmearinterval` (s) and `leapsmearoffset` (s), when smearing.
    pub leap_smear: Option<(u32, f64)>,
    /// `fuzz`: the clock reading fuzz, seconds.
    pub fuzz: f64,
    /// `clk_wander_threshold`, s/s.
    pub wander_threshold: f64,
    /// `bcastdelay`, seconds: the reference's `sys_bdelay`, i.e. the
    /// configured `broadcastdelay`, or [`UNCONFIGURED_BROADCAST_DELAY`]
    /// without one (see [`reported_broadcast_delay`]).
    pub broadcast_delay: f64,
    /// `authdelay`, seconds.
    pub auth_delay: f64,
}

/// `bcastdelay` when `broadcastdelay` is not configured: the reference
/// 4.2.8 starts `sys_bdelay` at −0.050 s (its `BDELAY_DEFAULT`, bug 3031).
/// The sign says "not configured": a new broadcast client runs the
/// calibration volley (RFC 5905 §8; only a positive `broadcastdelay`
/// skips it), and 50 ms is the largest calibrated delay it accepts.
/// `ntpq -c sysinfo` shows it as `broadcast delay: -50.000`.
pub const UNCONFIGURED_BROADCAST_DELAY: f64 = -0.050;

/// `bcastdelay` (seconds) as the reference reports it for a
/// `broadcastdelay` that is `configured` (seconds) or not.
pub fn reported_broadcast_delay(configured: Option<f64>) -> f64 {
    configured.unwrap_or(UNCONFIGURED_BROADCAST_DELAY)
}

/// Counters and integer settings served as system variables (`ntpq -c
/// sysstats`, `authinfo`, `iostats`, `timerstats`, `monstats`). The
/// state returns `None` for those it does not keep; they are then left out
/// of responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemCounter {
    /// `ss_uptime`: seconds since the daemon started.
    Uptime,
    /// `ss_reset`: seconds since the statistics were reset.
    StatsReset,
    /// `ss_received`: packets received.
    Received,
    /// `ss_thisver`: current version packets.
    ThisVersion,
    /// `ss_oldver`: older version packets.
    OldVersion,
    /// `ss_badformat`: bad length or format.
    BadFormat,
    /// `ss_badauth`: authentication failures.
    BadAuth,
    /// `ss_declined`.
    Declined,
    /// `ss_restricted`.
    Restricted,
    /// `ss_limited`: rate limited.
    Limited,
    /// `ss_kodsent`.
    KodSent,
    /// `ss_processed`: processed for time.
    Processed,
    /// `ss_lamport`: Lamport violations.
    Lamport,
    /// `ss_tsrounding`: timestamp rounding errors.
    TsRounding,
    /// `mru_enabled` (shown in hex).
    MruEnabled,
    /// `mru_depth`.
    MruDepth,
    /// `mru_deepest`.
    MruDeepest,
    /// `mru_mindepth`.
    MruMinDepth,
    /// `mru_maxage`.
    MruMaxAge,
    /// `mru_maxdepth`.
    MruMaxDepth,
    /// `mru_mem`, kilobytes.
    MruMem,
    /// `mru_maxmem`, kilobytes.
    MruMaxMem,
    /// `authkeys`.
    AuthKeys,
    /// `authfreek`.
    AuthFreeKeys,
    /// `authklookups`.
    AuthKeyLookups,
    /// `authknotfound`.
    AuthKeyNotFound,
    /// `authkuncached`.
    AuthKeyUncached,
    /// `authkexpired`.
    AuthKeyExpired,
    /// `authencrypts`.
    AuthEncrypts,
    /// `authdecrypts`.
    AuthDecrypts,
    /// `authreset`: seconds since the auth counters were reset.
    AuthReset,
    /// `iostats_reset`.
    IoStatsReset,
    /// `total_rbuf`.
    TotalRecvBuffers,
    /// `free_rbuf`.
    FreeRecvBuffers,
    /// `used_rbuf`.
    UsedRecvBuffers,
    /// `rbuf_lowater`.
    RecvBufferLowWater,
    /// `io_dropped`.
    IoDropped,
    /// `io_ignored`.
    IoIgnored,
    /// `io_received`.
    IoReceived,
    /// `io_sent`.
    IoSent,
    /// `io_sendfailed`.
    IoSendFailed,
    /// `io_wakeups`.
    IoWakeups,
    /// `io_goodwakeups`.
    IoGoodWakeups,
    /// `timerstats_reset`.
    TimerStatsReset,
    /// `timer_overruns`.
    TimerOverruns,
    /// `timer_xmts`.
    TimerTransmits,
}

/// Kernel clock discipline variables (`ntpq -c kerninfo`), as read from
/// `ntp_adjtime()`, already in display units.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelVars {
    /// `koffset`, ms.
    pub offset_ms: f64,
    /// `kfreq`, ppm.
    pub frequency_ppm: f64,
    /// `kmaxerr`, ms.
    pub max_error_ms: f64,
    /// `kesterr`, ms.
    pub est_error_ms: f64,
    /// `kstflags`: the status bits by name, space separated.
    pub status_flags: String,
    /// `ktimeconst`.
    pub time_constant: i64,
    /// `kprecis`, ms.
    pub precision_ms: f64,
    /// `kfreqtol`, ppm.
    pub tolerance_ppm: f64,
    /// PPS variables, when the kernel PPS discipline is active (else all 0).
    pub pps: Option<KernelPps>,
}

/// Kernel PPS discipline variables.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelPps {
    /// `kppsfreq`, ppm.
    pub frequency_ppm: f64,
    /// `kppsstab`, ppm.
    pub stability_ppm: f64,
    /// `kppsjitter`, ms.
    pub jitter_ms: f64,
    /// `kppscalibdur`, s.
    pub calibration_interval: i64,
    /// `kppscalibs`.
    pub calibrations: i64,
    /// `kppscaliberrs`.
    pub calibration_errors: i64,
    /// `kppsjitexc`.
    pub jitter_exceeded: i64,
    /// `kppsstbexc`.
    pub stability_exceeded: i64,
}

/// One certificate of the Autokey certificate cache (`cert`/`until`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The certificate's subject name (the `cert` variable's first name).
    pub subject: String,
    /// The certificate's issuer name (the same as `subject` when
    /// self-signed, brief §5).
    pub issuer: String,
    /// The cache entry's flags (TRUST 0x1, SIGN 0x2, VALID 0x4, ...).
    pub flags: u32,
    /// notAfter, Unix seconds.
    pub not_after: i64,
}

/// The host's Autokey variables (brief §10.1); `None` from the state when
/// Autokey is not configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemCrypto {
    /// `flags`: the host status word; 0 hides `flags`, `digest`, `signature`.
    pub flags: u32,
    /// `host`: own certificate subject.
    pub host: Option<String>,
    /// `ident`: the group name.
    pub ident: Option<String>,
    /// `digest`: OpenSSL long name of the digest (`md5`).
    pub digest: String,
    /// `signature`: long name of the signature type (`md5WithRSAEncryption`).
    pub signature: String,
    /// `update`: time of the last signature refresh (Unix seconds).
    pub update: Option<i64>,
    /// `cert`/`until` pairs, most recently installed first.
    pub certificates: Vec<CertInfo>,
}

/// The variables of one association (RFC 5905 §9.1 plus the reference's).
#[derive(Debug, Clone, PartialEq)]
pub struct PeerVars {
    /// The peer status word.
    pub status: PeerStatus,
    /// `config`: 0 for a preemptible association.
    pub preemptible: bool,
    /// `authentic`: the last packet was authenticated.
    pub authentic: bool,
    /// `srcadr`/`srcport`.
    pub source: SocketAddr,
    /// `srchost`: the configured host name, if any.
    pub hostname: Option<String>,
    /// `dstadr`/`dstport` (`0.0.0.0`, 0 when not bound).
    pub destination: Option<SocketAddr>,
    /// `leap`.
    pub leap: u8,
    /// `hmode`.
    pub host_mode: u8,
    /// `pmode`.
    pub peer_mode: u8,
    /// `stratum`.
    pub stratum: u8,
    /// `ppoll`.
    pub peer_poll: u8,
    /// `hpoll`.
    pub host_poll: u8,
    /// `precision`.
    pub precision: i8,
    /// `rootdelay`, seconds.
    pub root_delay: f64,
    /// `rootdisp`, seconds.
    pub root_dispersion: f64,
    /// `refid`, the four octets.
    pub refid: [u8; 4],
    /// A reference clock association (its refid is always text).
    pub refclock: bool,
    /// `reftime`.
    pub reftime: NtpTimestamp,
    /// `org`.
    pub org: NtpTimestamp,
    /// `rec`.
    pub rec: NtpTimestamp,
    /// `xleave`: the reference's name for, in basic mode, the latest
    /// poll's transmit latency (from reading its transmit timestamp to
    /// the socket taking it), seconds; always shown.
    pub xleave: f64,
    /// `bias`, seconds (0 hides it).
    pub bias: f64,
    /// `in`: the reference's `r21` rate (0 hides it).
    pub rate_in: f64,
    /// `out`: the reference's `r34` rate (0 hides it).
    pub rate_out: f64,
    /// `reach` register.
    pub reach: u8,
    /// `unreach` counter.
    pub unreach: u32,
    /// `timer`: seconds to the next poll.
    pub timer: u64,
    /// `delay`: round-trip delay, seconds (RFC 5905 §8).
    pub delay: f64,
    /// `offset`: clock offset, seconds (RFC 5905 §8).
    pub offset: f64,
    /// `jitter`: RMS of the filter's offset differences, seconds (RFC
    /// 5905 §10).
    pub jitter: f64,
    /// `dispersion`: peer dispersion, seconds (RFC 5905 §10).
    pub dispersion: f64,
    /// `keyid`: the key ID in use (0 none).
    pub key_id: u32,
    /// `filtdelay`: the clock filter's delays (RFC 5905 §10), seconds,
    /// newest sample first.
    pub filter_delay: [f64; 8],
    /// `filtoffset`: the clock filter's offsets, seconds, newest first.
    pub filter_offset: [f64; 8],
    /// `filtdisp`: the clock filter's dispersions, seconds, newest first.
    pub filter_dispersion: [f64; 8],
    /// `flash`: the packet test bits.
    pub flash: u16,
    /// `ttl`, when set (already mapped through `ttl` of `ntp.conf`).
    pub ttl: Option<i64>,
    /// `headway`: the reference's `throttle`.
    pub headway: i64,
    /// `received`: packets received from the peer.
    pub received: u64,
    /// `sent`: packets sent to the peer.
    pub sent: u64,
    /// `timerec`: seconds since the last packet was received.
    pub time_received: u64,
    /// `timereach`: seconds since the reach register last changed.
    pub time_reachable: u64,
    /// `badauth`: packets that failed authentication.
    pub bad_auth: u64,
    /// `bogusorg`: packets whose origin timestamp matched no request sent
    /// (RFC 5905 §8, test 2).
    pub bogus_origin: u64,
    /// `oldpkt`: duplicate or replayed packets (RFC 5905 §8, test 1).
    pub old_packets: u64,
    /// `seldisp`: the reference's `seldisptoolarge`, times the peer was
    /// left out of clock selection for too large a dispersion.
    pub selection_dispersion: u64,
    /// `selbroken`: the reference's `selbroken`, which 4.2.8 counts RATE
    /// kiss-o'-death packets from the peer in (RFC 5905 §7.4).
    pub selection_broken: u64,
    /// `candidate`: the selection code of the last clock selection.
    pub candidate: u8,
    /// The NTS state of an NTS association (RFC 8915): `nts_cookies`,
    /// `nts_key_exchanges`, `nts_authentic`, `nts_refused`; `None` for
    /// any other association, which shows none of them.
    pub nts: Option<NtsPeerVars>,
}

/// The Autokey variables of one association (brief §10.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCrypto {
    /// `flags`: the association's Autokey status word (0 hides
    /// `flags` and `signature`).
    pub flags: u32,
    /// `host`: the peer's host name (certificate subject).
    pub host: Option<String>,
    /// `signature`: long name derived from the peer's signature NID.
    pub signature: Option<String>,
    /// `ident`: the association's group.
    pub ident: Option<String>,
    /// `initsequence`, `initkey`, `timestamp`: the accepted AUTO values.
    pub autokey: Option<AutokeyValues>,
}

/// The NTS state of one NTS client association, as `ntpq -c "rv &N"`
/// shows it (names of this daemon's own; the reference has no NTS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtsPeerVars {
    /// `nts_cookies`: unused cookies held (at most 8, RFC 8915 §4.1.6).
    pub cookies: u64,
    /// `nts_key_exchanges`: NTS-KE sessions completed for it.
    pub key_exchanges: u64,
    /// `nts_authentic`: replies whose authenticator verified.
    pub authentic: u64,
    /// `nts_refused`: replies refused (authenticator, unique identifier)
    /// and NTS NAKs received.
    pub refused: u64,
}

/// The AUTO values of an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutokeyValues {
    /// `initsequence`: the key ID sequence number of the autokey list
    /// (RFC 5906 §6.2).
    pub sequence: i32,
    /// `initkey`: the last key ID of the list, from which the peer
    /// hashes back (RFC 5906 §6.2).
    pub key: u32,
    /// Signature timestamp, Unix seconds.
    pub timestamp: i64,
}

/// One entry of the MRU (monitoring) list, `ntpq -c mrulist`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MruEntry {
    /// The remote address and port.
    pub address: SocketAddr,
    /// The local address the packets arrived on.
    pub local: Option<IpAddr>,
    /// When the first packet from this address arrived.
    pub first: NtpTimestamp,
    /// When the latest packet from this address arrived.
    pub last: NtpTimestamp,
    /// Packets received.
    pub count: u64,
    /// The first octet (LI/VN/mode) of the last packet, without the LI.
    pub mode_version: u8,
    /// The `RES_*` restriction bits that applied.
    pub restrict: u32,
}

/// A system variable set with `setvar` in `ntp.conf`: `text` is sent
/// verbatim (`name=value` or `name="value"`), `default` when it belongs
/// to the `rv` default list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraVar {
    /// The variable as sent in a `readvar` response.
    pub text: String,
    /// Listed by a `readvar` with no names (`setvar ... default`).
    pub default: bool,
}

/// One local address of the daemon (`ntpq -c ifstats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceStats {
    /// The interface number (the `N` of `addr.N`).
    pub number: u32,
    /// Address and port.
    pub address: SocketAddr,
    /// Broadcast address, when broadcasting is open on it.
    pub broadcast: Option<SocketAddr>,
    /// Packets are accepted on it (not `interface ignore`).
    pub enabled: bool,
    /// Interface name (`eth0`).
    pub name: String,
    /// The reference's `INT_*` flags.
    pub flags: u32,
    /// Last multicast TTL used.
    pub ttl: i64,
    /// Multicast groups joined.
    pub multicast_groups: i64,
    /// Packets received on it.
    pub received: i64,
    /// Packets sent from it.
    pub sent: i64,
    /// Sends from it that failed.
    pub send_errors: i64,
    /// Associations using it.
    pub peers: u64,
    /// Seconds since it was opened.
    pub uptime: u64,
}

/// One `restrict` entry (`ntpq -c reslist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictEntry {
    /// The entry's address.
    pub address: IpAddr,
    /// The entry's mask (all ones for a host entry).
    pub mask: IpAddr,
    /// Packets that matched it.
    pub hits: u64,
    /// Match and access flags by name, space separated
    /// (`ntpport nomodify nopeer`).
    pub flags: String,
}

/// What runtime configuration or saving the configuration answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReply {
    /// The text sent back to ntpq (shown to the operator).
    pub text: String,
}

/// The daemon state the mode 6 server reads. Reads take `&self`; the
/// `&mut self` methods carry out authenticated commands and default to
/// refusing them.
pub trait ControlState {
    /// The system variables.
    fn system(&self) -> SystemVars;

    /// The association list, in the daemon's order (ids and status words).
    fn associations(&self) -> Vec<AssociationEntry>;

    /// The variables of association `id`, `None` if there is none.
    fn peer(&self, id: u16) -> Option<PeerVars>;

    /// The variables of reference clock association `id` (`0`: the system
    /// peer's clock), for READCLOCK.
    fn clock(&self, _id: u16) -> Option<super::ClockVars> {
        None
    }

    /// A counter served as a system variable.
    fn counter(&self, _counter: SystemCounter) -> Option<u64> {
        None
    }

    /// The kernel discipline variables, `None` without a kernel loop.
    fn kernel(&self) -> Option<KernelVars> {
        None
    }

    /// The host's Autokey variables, `None` without Autokey.
    fn system_crypto(&self) -> Option<SystemCrypto> {
        None
    }

    /// The Autokey variables of association `id`.
    fn peer_crypto(&self, _id: u16) -> Option<PeerCrypto> {
        None
    }

    /// `setvar` variables.
    fn extra_system_vars(&self) -> Vec<ExtraVar> {
        Vec::new()
    }

    /// The local addresses, for `ifstats` (authenticated).
    fn interfaces(&self) -> Vec<InterfaceStats> {
        Vec::new()
    }

    /// The `restrict` list, IPv4 entries then IPv6, for `reslist`
    /// (authenticated).
    fn restrictions(&self) -> Vec<RestrictEntry> {
        Vec::new()
    }

    /// The MRU list, oldest entry first.
    fn mru_entries(&self) -> Vec<MruEntry> {
        Vec::new()
    }

    /// An authenticated read of the system (`None`) or of association
    /// `Some(id)` happened: the reference then clears its event counter.
    fn events_read(&mut self, _association: Option<u16>) {}

    /// Authenticated runtime configuration (`ntpq :config`) from `source`.
    /// The reply is sent to ntpq; default: refused.
    fn configure(&mut self, _source: SocketAddr, _text: &str) -> CommandReply {
        CommandReply {
            text: "runtime configuration is not supported by this daemon".to_string(),
        }
    }

    /// Authenticated `saveconfig <file>`; `file` has passed the
    /// reference's safe-name check. Default: refused.
    fn save_config(&mut self, _source: SocketAddr, _file: &str) -> CommandReply {
        CommandReply {
            text: "saveconfig prohibited, no saveconfigdir configured".to_string(),
        }
    }
}
