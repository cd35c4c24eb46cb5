//! The typed syntax tree of an `ntp.conf` file (reference 4.2.8 ntp.conf(5),
//! grammar `ntpd/ntp_parser.y`).
//!
//! A configuration is the ordered list of its statements after
//! `includefile` has been followed (the included statements appear where
//! the `includefile` line was). Directives the daemon does not implement
//! (`phone`, mDNS, reference clock types other than LOCAL and SHM, …) are
//! accepted with a warning and do not appear here. Options that the reference lets a later
//! occurrence override are stored once (last one wins); lists keep the
//! order of the file.
//!
//! Equality ignores where a statement came from, so a configuration equals
//! the one re-read from its own canonical text.

use std::net::IpAddr;

pub use super::ast_nts::NtsOption;
pub use super::ast_refclock::{refclock_types_text, FudgeLine, RefclockServer, REFCLOCK_TYPES};
pub use super::error::Origin;

/// A whole configuration, `includefile`s expanded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NtpConf {
    /// The statements in file order.
    pub statements: Vec<Statement>,
}

impl NtpConf {
    /// The directives in order, without their origins.
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        self.statements.iter().map(|s| &s.directive)
    }
}

/// One directive and where it was written.
#[derive(Debug, Clone)]
pub struct Statement {
    /// What the line says.
    pub directive: Directive,
    /// Where it starts (file, line, column). Not part of equality.
    pub origin: Origin,
}

impl PartialEq for Statement {
    fn eq(&self, other: &Self) -> bool {
        self.directive == other.directive
    }
}

/// One ntp.conf directive.
#[derive(Debug, Clone, PartialEq)]
pub enum Directive {
    /// `server`/`pool`/`peer`/`broadcast`/`manycastclient ADDRESS options`.
    Association(Association),
    /// `server 127.127.t.u options`: a reference clock.
    Refclock(RefclockServer),
    /// `fudge 127.127.t.u factors`: a reference clock's adjustments.
    Fudge(FudgeLine),
    /// `unpeer ADDRESS` (also spelled `unconfig`): remove an association.
    Unpeer(Address),
    /// `broadcastclient`: listen for broadcast servers.
    BroadcastClient,
    /// `manycastserver ADDRESS...`: answer manycast solicitations.
    ManycastServer(Vec<Address>),
    /// `multicastclient ADDRESS...`: listen on multicast groups.
    MulticastClient(Vec<Address>),
    /// `automax N`: Autokey key-list lifetime, log2 seconds (3..31).
    Automax(u8),
    /// `controlkey ID`: key for mode 6 (ntpq) write access.
    ControlKey(u16),
    /// `requestkey ID`: key for mode 7 (ntpdc) requests.
    RequestKey(u16),
    /// `crypto [digest D] [host H] [ident I] [pw P] [randfile F]`: enables Autokey.
    Crypto(Crypto),
    /// `nts OPTION...` (ntpsec's syntax): Network Time Security, RFC 8915.
    Nts(Vec<NtsOption>),
    /// `keys FILE`: symmetric keys file.
    Keys(String),
    /// `keysdir DIR`: directory of the `ntpkey_*` files.
    Keysdir(String),
    /// `revoke N`: private-value refresh interval, log2 seconds (3..31).
    Revoke(u8),
    /// `trustedkey ID... (LO ... HI)...`.
    TrustedKey(Vec<KeyRange>),
    /// `ident GROUP`: Autokey group for ephemeral associations.
    Ident(String),
    /// `tos option...`.
    Tos(Vec<TosOption>),
    /// `statistics NAME...`.
    Statistics(Vec<StatsFile>),
    /// `statsdir DIR`.
    Statsdir(String),
    /// `filegen NAME [file F] [type T] [link|nolink] [enable|disable]`.
    Filegen(Filegen),
    /// `discard [average N] [minimum N] [monitor N]`.
    Discard(Vec<DiscardOption>),
    /// `mru option...`.
    Mru(Vec<MruOption>),
    /// `restrict ...`.
    Restrict(Restrict),
    /// `delrestrict ADDRESS [mask M]` / `delrestrict source ADDRESS`.
    DelRestrict(DelRestrict),
    /// `rlimit option...`.
    Rlimit(Vec<RlimitOption>),
    /// `enable FLAG...`.
    Enable(Vec<SystemFlag>),
    /// `disable FLAG...`.
    Disable(Vec<SystemFlag>),
    /// `tinker option...`.
    Tinker(Vec<TinkerOption>),
    /// `interface|nic listen|ignore|drop MATCH`.
    Interface(NicRule),
    /// `reset COUNTERS...`.
    Reset(Vec<ResetCounter>),
    /// `broadcastdelay SECONDS`.
    BroadcastDelay(f64),
    /// `nonvolatile THRESHOLD`: frequency change that triggers a drift-file write.
    Nonvolatile(f64),
    /// `tick SECONDS`: the kernel tick.
    Tick(f64),
    /// `dscp VALUE` (0..63).
    Dscp(u8),
    /// `leapsmearinterval SECONDS`.
    LeapSmearInterval(u32),
    /// `logfile FILE`.
    Logfile(String),
    /// `pidfile FILE`.
    Pidfile(String),
    /// `saveconfigdir DIR`.
    Saveconfigdir(String),
    /// `leapfile FILE [checkhash|ignorehash]`.
    Leapfile(Leapfile),
    /// `metrics_listen ADDRESS:PORT`: this daemon's own directive (no
    /// reference ntpd has it), the TCP address of the Prometheus text
    /// endpoint (docs/metrics.md).
    MetricsListen(std::net::SocketAddr),
    /// `driftfile [FILE [WANDER]]`.
    Driftfile(Driftfile),
    /// `logconfig ITEM...`.
    Logconfig(Vec<LogConfigItem>),
    /// `pollskewlist [POLL|default EARLY|LATE]...`.
    PollSkewList(Vec<PollSkew>),
    /// `setvar NAME = VALUE [default]`.
    Setvar(Setvar),
    /// `trap ADDRESS [port N] [interface ADDRESS]`.
    Trap(Trap),
    /// `ttl HOPS...`: manycast TTL table.
    Ttl(Vec<u8>),
}

/// The association modes that take an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssocMode {
    /// `server`: client mode (3).
    Server,
    /// `pool`: client associations to several addresses of a name.
    Pool,
    /// `peer`: symmetric active (1).
    Peer,
    /// `broadcast`: broadcast/multicast server (5).
    Broadcast,
    /// `manycastclient`.
    ManycastClient,
}

impl AssocMode {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            AssocMode::Server => "server",
            AssocMode::Pool => "pool",
            AssocMode::Peer => "peer",
            AssocMode::Broadcast => "broadcast",
            AssocMode::ManycastClient => "manycastclient",
        }
    }
}

/// A configured association.
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    /// Which directive.
    pub mode: AssocMode,
    /// The remote (or group) address.
    pub address: Address,
    /// The options given.
    pub options: AssocOptions,
}

/// Options of `server`/`peer`/`pool`/`broadcast`/`manycastclient`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssocOptions {
    /// `key ID` (1..65535): symmetric key.
    pub key: Option<u16>,
    /// `autokey`: Autokey authentication.
    pub autokey: bool,
    /// `nts`: Network Time Security (RFC 8915), keys from NTS-KE.
    pub nts: bool,
    /// `ident GROUP`: Autokey group / identity parameter files.
    pub ident: Option<String>,
    /// `minpoll N` (3..17).
    pub minpoll: Option<u8>,
    /// `maxpoll N` (3..17).
    pub maxpoll: Option<u8>,
    /// `version N` (1..4).
    pub version: Option<u8>,
    /// `ttl N` (0..7), broadcast and manycast only.
    pub ttl: Option<u8>,
    /// `burst`.
    pub burst: bool,
    /// `iburst`.
    pub iburst: bool,
    /// `prefer`.
    pub prefer: bool,
    /// `noselect`.
    pub noselect: bool,
    /// `true`: always survives the selection algorithm.
    pub truechimer: bool,
    /// `preempt`.
    pub preempt: bool,
    /// `xleave`: interleaved mode.
    pub xleave: bool,
    /// `xmtnonce`: random transmit timestamp.
    pub xmtnonce: bool,
}

/// An address operand: optional `-4`/`-6` and a literal or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The `-4`/`-6` prefix.
    pub family: AddressFamily,
    /// The address or name.
    pub host: Host,
}

impl Address {
    /// An address without a family prefix.
    pub fn any(host: Host) -> Self {
        Address {
            family: AddressFamily::Any,
            host,
        }
    }
}

/// Which address family a name must resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressFamily {
    /// No prefix.
    #[default]
    Any,
    /// `-4`.
    Ipv4,
    /// `-6`.
    Ipv6,
}

/// A literal address or a DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IPv4 or IPv6 literal.
    Ip(IpAddr),
    /// A host name (resolved by the daemon).
    Name(String),
}

/// `crypto` subcommands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Crypto {
    /// `digest NAME`: OpenSSL short name (`MD5`, `SHA1`, …).
    pub digest: Option<String>,
    /// `host NAME`: selects `ntpkey_host_NAME` etc.
    pub host: Option<String>,
    /// `ident NAME`: selects the identity key files.
    pub ident: Option<String>,
    /// `pw PASSWORD`: key-file password.
    pub pw: Option<String>,
    /// `randfile FILE`.
    pub randfile: Option<String>,
}

/// One `trustedkey` element: a key or an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRange {
    /// First key ID.
    pub first: u16,
    /// Last key ID (equal to `first` for a single key).
    pub last: u16,
}

/// `tos` options.
#[derive(Debug, Clone, PartialEq)]
pub enum TosOption {
    /// `bcpollbstep N` (0..4).
    BcPollBStep(u8),
    /// `beacon SECONDS`.
    Beacon(u32),
    /// `ceiling STRATUM` (1..15).
    Ceiling(u8),
    /// `cohort 0|1`.
    Cohort(bool),
    /// `floor STRATUM` (0..15).
    Floor(u8),
    /// `maxclock N`.
    MaxClock(u32),
    /// `minclock N`.
    MinClock(u32),
    /// `minsane N`.
    MinSane(u32),
    /// `orphan STRATUM` (1..16).
    Orphan(u8),
    /// `orphanwait SECONDS`.
    OrphanWait(u32),
    /// `mindist SECONDS`.
    MinDist(f64),
    /// `maxdist SECONDS`.
    MaxDist(f64),
    /// `basedate YYYY-MM-DD`.
    BaseDate(String),
}

/// Statistics file sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsFile {
    /// `clockstats`.
    Clockstats,
    /// `cryptostats`.
    Cryptostats,
    /// `loopstats`.
    Loopstats,
    /// `peerstats`.
    Peerstats,
    /// `rawstats`.
    Rawstats,
    /// `sysstats`.
    Sysstats,
    /// `timingstats`.
    Timingstats,
    /// `protostats`.
    Protostats,
}

impl StatsFile {
    /// All of them, in the order of ntp.conf(5).
    pub const ALL: [StatsFile; 8] = [
        StatsFile::Clockstats,
        StatsFile::Cryptostats,
        StatsFile::Loopstats,
        StatsFile::Peerstats,
        StatsFile::Rawstats,
        StatsFile::Sysstats,
        StatsFile::Timingstats,
        StatsFile::Protostats,
    ];

    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            StatsFile::Clockstats => "clockstats",
            StatsFile::Cryptostats => "cryptostats",
            StatsFile::Loopstats => "loopstats",
            StatsFile::Peerstats => "peerstats",
            StatsFile::Rawstats => "rawstats",
            StatsFile::Sysstats => "sysstats",
            StatsFile::Timingstats => "timingstats",
            StatsFile::Protostats => "protostats",
        }
    }
}

/// `filegen NAME ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filegen {
    /// Which statistics set.
    pub stats: StatsFile,
    /// `file NAME`: file name prefix.
    pub file: Option<String>,
    /// `type T`.
    pub kind: Option<FilegenType>,
    /// `link` (true) / `nolink` (false).
    pub link: Option<bool>,
    /// `enable` (true) / `disable` (false).
    pub enabled: Option<bool>,
}

/// How a file generation set is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilegenType {
    /// `none`.
    None,
    /// `pid`.
    Pid,
    /// `day`.
    Day,
    /// `week`.
    Week,
    /// `month`.
    Month,
    /// `year`.
    Year,
    /// `age`.
    Age,
}

impl FilegenType {
    /// All of them.
    pub const ALL: [FilegenType; 7] = [
        FilegenType::None,
        FilegenType::Pid,
        FilegenType::Day,
        FilegenType::Week,
        FilegenType::Month,
        FilegenType::Year,
        FilegenType::Age,
    ];

    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            FilegenType::None => "none",
            FilegenType::Pid => "pid",
            FilegenType::Day => "day",
            FilegenType::Week => "week",
            FilegenType::Month => "month",
            FilegenType::Year => "year",
            FilegenType::Age => "age",
        }
    }
}

/// `discard` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscardOption {
    /// `average LOG2SECONDS` (0..255).
    Average(u8),
    /// `minimum SECONDS`.
    Minimum(u32),
    /// `monitor PROBABILITY`.
    Monitor(u32),
}

/// `mru` options (all counts or kilobytes, non-negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MruOption {
    /// `incalloc N`.
    Incalloc(u32),
    /// `incmem KB`.
    Incmem(u32),
    /// `initalloc N`.
    Initalloc(u32),
    /// `initmem KB`.
    Initmem(u32),
    /// `maxage SECONDS`.
    Maxage(u32),
    /// `maxdepth N`.
    Maxdepth(u32),
    /// `maxmem KB`.
    Maxmem(u32),
    /// `mindepth N`.
    Mindepth(u32),
}

/// `restrict TARGET [ippeerlimit N] FLAG...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restrict {
    /// What the entry matches.
    pub target: RestrictTarget,
    /// `ippeerlimit N` (-1..100).
    pub ippeerlimit: Option<i8>,
    /// The flags, in file order.
    pub flags: Vec<RestrictFlag>,
}

/// What a `restrict` line matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestrictTarget {
    /// `default` (both families).
    Default,
    /// `-4 default`.
    DefaultIpv4,
    /// `-6 default`.
    DefaultIpv6,
    /// `source`: template for associations' own addresses.
    Source,
    /// `ADDRESS [mask MASK]`.
    Address {
        /// The address (or name).
        address: Address,
        /// The mask, an address literal.
        mask: Option<IpAddr>,
    },
}

/// Access-control flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestrictFlag {
    /// `epeer`.
    Epeer,
    /// `flake`.
    Flake,
    /// `ignore`.
    Ignore,
    /// `kod`.
    Kod,
    /// `limited`.
    Limited,
    /// `lowpriotrap`.
    LowPriorityTrap,
    /// `mssntp`.
    Mssntp,
    /// `noepeer`.
    NoEpeer,
    /// `nomodify`.
    NoModify,
    /// `nomrulist`.
    NoMruList,
    /// `nopeer`.
    NoPeer,
    /// `noquery`.
    NoQuery,
    /// `noserve`.
    NoServe,
    /// `notrap`.
    NoTrap,
    /// `notrust`.
    NoTrust,
    /// `ntpport`.
    NtpPort,
    /// `version`.
    Version,
    /// `serverresponse fuzz`.
    ServerResponseFuzz,
}

impl RestrictFlag {
    /// All of them.
    pub const ALL: [RestrictFlag; 18] = [
        RestrictFlag::Epeer,
        RestrictFlag::Flake,
        RestrictFlag::Ignore,
        RestrictFlag::Kod,
        RestrictFlag::Limited,
        RestrictFlag::LowPriorityTrap,
        RestrictFlag::Mssntp,
        RestrictFlag::NoEpeer,
        RestrictFlag::NoModify,
        RestrictFlag::NoMruList,
        RestrictFlag::NoPeer,
        RestrictFlag::NoQuery,
        RestrictFlag::NoServe,
        RestrictFlag::NoTrap,
        RestrictFlag::NoTrust,
        RestrictFlag::NtpPort,
        RestrictFlag::Version,
        RestrictFlag::ServerResponseFuzz,
    ];

    /// The text as written in ntp.conf.
    pub fn keyword(self) -> &'static str {
        match self {
            RestrictFlag::Epeer => "epeer",
            RestrictFlag::Flake => "flake",
            RestrictFlag::Ignore => "ignore",
            RestrictFlag::Kod => "kod",
            RestrictFlag::Limited => "limited",
            RestrictFlag::LowPriorityTrap => "lowpriotrap",
            RestrictFlag::Mssntp => "mssntp",
            RestrictFlag::NoEpeer => "noepeer",
            RestrictFlag::NoModify => "nomodify",
            RestrictFlag::NoMruList => "nomrulist",
            RestrictFlag::NoPeer => "nopeer",
            RestrictFlag::NoQuery => "noquery",
            RestrictFlag::NoServe => "noserve",
            RestrictFlag::NoTrap => "notrap",
            RestrictFlag::NoTrust => "notrust",
            RestrictFlag::NtpPort => "ntpport",
            RestrictFlag::Version => "version",
            RestrictFlag::ServerResponseFuzz => "serverresponse fuzz",
        }
    }
}

/// `delrestrict` forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DelRestrict {
    /// `delrestrict ADDRESS [mask MASK]`.
    Address {
        /// The entry's address.
        address: Host,
        /// Its mask.
        mask: Option<IpAddr>,
    },
    /// `delrestrict source ADDRESS`.
    Source(Host),
}

/// `rlimit` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RlimitOption {
    /// `memlock MEGABYTES` (-1 = do not lock memory).
    Memlock(i32),
    /// `stacksize 4K_PAGES`.
    Stacksize(u32),
    /// `filenum DESCRIPTORS`.
    Filenum(u32),
}

/// `enable`/`disable` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemFlag {
    /// `auth`.
    Auth,
    /// `bclient`.
    Bclient,
    /// `calibrate`.
    Calibrate,
    /// `kernel`.
    Kernel,
    /// `monitor`.
    Monitor,
    /// `ntp`.
    Ntp,
    /// `stats`.
    Stats,
    /// `mode7`.
    Mode7,
    /// `peer_clear_digest_early`.
    PeerClearDigestEarly,
    /// `unpeer_crypto_early`.
    UnpeerCryptoEarly,
    /// `unpeer_crypto_nak_early`.
    UnpeerCryptoNakEarly,
    /// `unpeer_digest_early`.
    UnpeerDigestEarly,
}

impl SystemFlag {
    /// All of them.
    pub const ALL: [SystemFlag; 12] = [
        SystemFlag::Auth,
        SystemFlag::Bclient,
        SystemFlag::Calibrate,
        SystemFlag::Kernel,
        SystemFlag::Monitor,
        SystemFlag::Ntp,
        SystemFlag::Stats,
        SystemFlag::Mode7,
        SystemFlag::PeerClearDigestEarly,
        SystemFlag::UnpeerCryptoEarly,
        SystemFlag::UnpeerCryptoNakEarly,
        SystemFlag::UnpeerDigestEarly,
    ];

    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            SystemFlag::Auth => "auth",
            SystemFlag::Bclient => "bclient",
            SystemFlag::Calibrate => "calibrate",
            SystemFlag::Kernel => "kernel",
            SystemFlag::Monitor => "monitor",
            SystemFlag::Ntp => "ntp",
            SystemFlag::Stats => "stats",
            SystemFlag::Mode7 => "mode7",
            SystemFlag::PeerClearDigestEarly => "peer_clear_digest_early",
            SystemFlag::UnpeerCryptoEarly => "unpeer_crypto_early",
            SystemFlag::UnpeerCryptoNakEarly => "unpeer_crypto_nak_early",
            SystemFlag::UnpeerDigestEarly => "unpeer_digest_early",
        }
    }
}

/// `tinker` options (all numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TinkerOption {
    /// `allan SECONDS`.
    Allan(f64),
    /// `dispersion PPM`.
    Dispersion(f64),
    /// `freq PPM`.
    Freq(f64),
    /// `huffpuff SECONDS`.
    Huffpuff(f64),
    /// `panic SECONDS` (0 disables the check).
    Panic(f64),
    /// `step SECONDS`.
    Step(f64),
    /// `stepback SECONDS`.
    Stepback(f64),
    /// `stepfwd SECONDS`.
    Stepfwd(f64),
    /// `stepout SECONDS`.
    Stepout(f64),
    /// `tick SECONDS`.
    Tick(f64),
}

/// `interface`/`nic` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicRule {
    /// What to do.
    pub action: NicAction,
    /// Which interfaces.
    pub matches: NicMatch,
}

/// Interface rule action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NicAction {
    /// `listen`.
    Listen,
    /// `ignore`.
    Ignore,
    /// `drop`.
    Drop,
}

/// Interface rule match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NicMatch {
    /// `all`.
    All,
    /// `ipv4`.
    Ipv4,
    /// `ipv6`.
    Ipv6,
    /// `wildcard`.
    Wildcard,
    /// An interface name such as `eth0`.
    Name(String),
    /// `ADDRESS[/PREFIXLEN]`.
    Address {
        /// The address.
        address: IpAddr,
        /// Prefix length.
        prefix: Option<u8>,
    },
}

/// `reset` counter groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetCounter {
    /// `allpeers`.
    Allpeers,
    /// `auth`.
    Auth,
    /// `ctl`.
    Ctl,
    /// `io`.
    Io,
    /// `mem`.
    Mem,
    /// `sys`.
    Sys,
    /// `timer`.
    Timer,
}

impl ResetCounter {
    /// All of them.
    pub const ALL: [ResetCounter; 7] = [
        ResetCounter::Allpeers,
        ResetCounter::Auth,
        ResetCounter::Ctl,
        ResetCounter::Io,
        ResetCounter::Mem,
        ResetCounter::Sys,
        ResetCounter::Timer,
    ];

    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            ResetCounter::Allpeers => "allpeers",
            ResetCounter::Auth => "auth",
            ResetCounter::Ctl => "ctl",
            ResetCounter::Io => "io",
            ResetCounter::Mem => "mem",
            ResetCounter::Sys => "sys",
            ResetCounter::Timer => "timer",
        }
    }
}

/// `leapfile FILE [checkhash|ignorehash]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leapfile {
    /// The leap-seconds file.
    pub path: String,
    /// Verify the file's hash (`checkhash`, the default) or not (`ignorehash`).
    pub check_hash: bool,
}

/// `driftfile [FILE [WANDER]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Driftfile {
    /// The file; `None` (a bare `driftfile`) disables the drift file.
    pub path: Option<String>,
    /// Deprecated wander threshold (use `nonvolatile`).
    pub wander: Option<f64>,
}

/// `logconfig` element: `[=|+|-]CLASSITEM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfigItem {
    /// `=` (set), `+` (add) or `-` (remove).
    pub op: LogOp,
    /// Which event classes.
    pub class: LogClass,
    /// Which kinds of message.
    pub item: LogItem,
}

/// The operator of a `logconfig` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOp {
    /// `=` (also when no prefix is written).
    Set,
    /// `+`.
    Add,
    /// `-`.
    Remove,
}

/// A `logconfig` class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogClass {
    /// `all…`: every class.
    All,
    /// `sys…` (also an item without a class).
    Sys,
    /// `peer…`.
    Peer,
    /// `clock…`.
    Clock,
    /// `sync…`.
    Sync,
}

/// A `logconfig` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogItem {
    /// `…all`.
    All,
    /// `…info`.
    Info,
    /// `…events`.
    Events,
    /// `…status`.
    Status,
    /// `…statistics`.
    Statistics,
}

/// `pollskewlist` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSkew {
    /// Poll exponent (3..17); `None` for `default`.
    pub poll: Option<u8>,
    /// Largest early skew, seconds.
    pub early: u32,
    /// Largest late skew, seconds.
    pub late: u32,
}

/// `setvar NAME = VALUE [default]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setvar {
    /// Variable name.
    pub name: String,
    /// Value.
    pub value: String,
    /// `default`: reported in the default system-variable list.
    pub default: bool,
}

/// `trap ADDRESS [port N] [interface ADDRESS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// The trap receiver.
    pub address: Host,
    /// `port N` (1..65535).
    pub port: Option<u16>,
    /// `interface ADDRESS`: local address to send from.
    pub interface: Option<Host>,
}
