//! The daemon's settings: the parsed `ntp.conf` and command line turned
//! into what the daemon acts on (reference ntp.conf(5), ntpd(8)).
//!
//! Directives this build does not act on yet are listed in
//! [`Settings::not_acted_on`] and logged at start-up, never silently
//! dropped.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use config::conf::{
    Address, AssocMode, AssocOptions, Association, DelRestrict, Directive, DiscardOption, Filegen,
    Host, LogConfigItem, MruOption, NtpConf, Origin, RestrictFlag, RestrictTarget, StatsFile,
    SystemFlag, TinkerOption, TosOption,
};

use crate::access::{DiscardParams, MatchFlags, MruParams, RestrictFlags, RestrictList};
use crate::auth::KeyRing;
use crate::cli::Options;
use crate::mode6::ExtraVar;
use crate::net::iface::ListenPolicy;

/// Where the reference keeps its configuration.
pub use crate::saveconfig::DEFAULT_CONFIG;

/// `enable`/`disable` switches (reference defaults: auth, monitor, ntp,
/// kernel and stats on; bclient and calibrate off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    /// `auth`: ephemeral associations need authentication.
    pub auth: bool,
    /// `bclient`: listen for broadcast servers.
    pub bclient: bool,
    /// `kernel`: use the kernel PLL.
    pub kernel: bool,
    /// `monitor`: keep the MRU list.
    pub monitor: bool,
    /// `ntp`: discipline the clock.
    pub ntp: bool,
    /// `stats`: write the statistics files.
    pub stats: bool,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            auth: true,
            bclient: false,
            kernel: true,
            monitor: true,
            ntp: true,
            stats: true,
        }
    }
}

/// `tos` values the daemon uses.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tos {
    /// `orphan STRATUM`.
    pub orphan: Option<u8>,
    /// `orphanwait SECONDS`.
    pub orphan_wait: Option<u32>,
    /// `minsane`, `minclock`, `maxclock`.
    pub minsane: Option<u32>,
    /// `minclock`.
    pub minclock: Option<u32>,
    /// `maxclock`.
    pub maxclock: Option<u32>,
    /// `mindist`.
    pub mindist: Option<f64>,
    /// `maxdist`.
    pub maxdist: Option<f64>,
}

/// Everything the daemon needs from the configuration and command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration file read.
    pub config_file: PathBuf,
    /// Associations: servers named on the command line first (as the
    /// reference configures them), then the file's in file order.
    pub associations: Vec<(Association, Origin)>,
    /// Reference clocks (`server 127.127.t.u`) and their `fudge` lines.
    pub refclocks: super::refclock::RefclockSettings,
    /// `broadcastclient` or `-b`.
    pub broadcast_client: bool,
    /// System variables served in mode 6 (`--var`, `--dvar`, `setvar`),
    /// a later one replacing an earlier one of the same name.
    pub sys_vars: Vec<ExtraVar>,
    /// `multicastclient` groups.
    pub multicast_groups: Vec<IpAddr>,
    /// `manycastserver ADDRESS...`: groups whose manycast solicitations
    /// (mode 3 to the group) this server answers.
    pub manycast_groups: Vec<IpAddr>,
    /// The access list, with `restrict source` kept apart.
    pub restrict: RestrictList,
    /// `restrict source` flags (applied to association addresses).
    pub restrict_source: Option<u32>,
    /// `discard`.
    pub discard: DiscardParams,
    /// `mru`.
    pub mru: MruParams,
    /// Keys file (`-k` wins over `keys`).
    pub keys_file: Option<PathBuf>,
    /// `leapfile FILE` (see `crate::leapfile`).
    pub leapfile: Option<PathBuf>,
    /// `metrics_listen ADDRESS:PORT` or `--metrics` (which wins): where the
    /// Prometheus endpoint listens; `None` (the default) serves none.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Trusted key IDs (`trustedkey`, `-t`).
    pub trusted_keys: Vec<u16>,
    /// `requestkey`.
    pub request_key: Option<u16>,
    /// `controlkey`.
    pub control_key: Option<u16>,
    /// `interface`/`-I`/`-L`/`-4`/`-6`.
    pub listen: ListenPolicy,
    /// `enable`/`disable`, with `-x`/-q effects not included.
    pub switches: Switches,
    /// `tos`.
    pub tos: Tos,
    /// `tinker` values (for the discipline).
    pub tinker: Vec<TinkerOption>,
    /// `driftfile` (`-f` wins); `None` when none is configured.
    pub drift_file: Option<PathBuf>,
    /// `statsdir` (`-s` wins).
    pub stats_dir: Option<PathBuf>,
    /// `statistics` enabled sets.
    pub statistics: Vec<StatsFile>,
    /// `filegen` lines (last one per set wins).
    pub filegens: Vec<Filegen>,
    /// `logfile` (`-l` wins).
    pub log_file: Option<PathBuf>,
    /// `logconfig` items in order.
    pub log_config: Vec<LogConfigItem>,
    /// `pidfile` (`-p` wins).
    pub pid_file: Option<PathBuf>,
    /// `broadcastdelay`, seconds.
    pub broadcast_delay: Option<f64>,
    /// Directives read but not acted on by this build, `FILE:LINE:COL: what`.
    pub not_acted_on: Vec<String>,
    /// `crypto`, `keysdir`, `automax`, `revoke`, `ident` (brief §9.1).
    pub autokey: AutokeySettings,
    /// `nts` lines: Network Time Security (RFC 8915).
    pub nts: super::nts_settings::NtsSettings,
}

/// The Autokey directives (brief §9.1); Autokey is on when a `crypto`
/// line is present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutokeySettings {
    /// The merged `crypto` line(s), `None` without one.
    pub crypto: Option<config::conf::Crypto>,
    /// `keysdir` (default [`DEFAULT_KEYSDIR`]).
    pub keysdir: Option<PathBuf>,
    /// Where the `keysdir` line is (for messages).
    pub keysdir_origin: Option<Origin>,
    /// `automax N` (key-list lifetime, log2 s).
    pub automax: Option<u8>,
    /// `revoke N` (private-value refresh, log2 s).
    pub revoke: Option<u8>,
    /// Top-level `ident GROUP` (ephemeral associations).
    pub ident: Option<String>,
}

/// The reference's compile-time `NTP_KEYSDIR` as Debian builds it.
pub const DEFAULT_KEYSDIR: &str = "/etc/ntp";

/// Why the settings cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The configuration file is wrong (already `FILE:LINE:COL: ...`).
    #[error("{0}")]
    Config(#[from] config::conf::ConfigError),
    /// A `restrict` line cannot be applied.
    #[error("{at}: {message}")]
    Restrict {
        /// Where.
        at: Origin,
        /// What is wrong and how to fix it.
        message: String,
    },
}

fn resolve(host: &Host) -> Vec<IpAddr> {
    match host {
        Host::Ip(ip) => vec![*ip],
        Host::Name(name) => (name.as_str(), 0)
            .to_socket_addrs()
            .map(|it| it.map(|a| a.ip()).collect())
            .unwrap_or_default(),
    }
}

/// Where command-line servers come from, for messages.
pub const COMMAND_LINE: &str = "(command line)";

/// `ntpd [options] SERVER...`: each operand is a `server SERVER iburst`
/// line (the reference configures them before the file's associations).
/// The origin's column is the operand's position.
pub fn command_line_servers(servers: &[String]) -> Vec<(Association, Origin)> {
    servers
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let host = match name.parse::<IpAddr>() {
                Ok(ip) => Host::Ip(ip),
                Err(_) => Host::Name(name.clone()),
            };
            let assoc = Association {
                mode: AssocMode::Server,
                address: Address::any(host),
                options: AssocOptions {
                    iburst: true,
                    ..AssocOptions::default()
                },
            };
            let origin = Origin {
                file: PathBuf::from(COMMAND_LINE),
                line: 1,
                col: u32::try_from(i + 1).unwrap_or(u32::MAX),
            };
            (assoc, origin)
        })
        .collect()
}

impl Settings {
    /// Read the configuration named by `opts` (or `/etc/ntp.conf`) and
    /// combine it with the command line.
    pub fn load(opts: &Options) -> Result<Settings, SettingsError> {
        let path = opts
            .config_file
            .clone()
            .unwrap_or_else(|| DEFAULT_CONFIG.into());
        let loaded = config::conf::load(&path)?;
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        Settings::from_conf(&loaded.config, opts, &path)
    }

    /// Combine a parsed configuration with the command line.
    pub fn from_conf(
        conf: &NtpConf,
        opts: &Options,
        path: &Path,
    ) -> Result<Settings, SettingsError> {
        let mut s = Settings {
            config_file: path.to_path_buf(),
            associations: command_line_servers(&opts.servers),
            refclocks: Default::default(),
            // -b: as `broadcastclient`.
            broadcast_client: opts.bcast_sync,
            sys_vars: Vec::new(),
            multicast_groups: Vec::new(),
            manycast_groups: Vec::new(),
            restrict: RestrictList::default(),
            restrict_source: None,
            discard: DiscardParams::default(),
            mru: MruParams::default(),
            keys_file: None,
            leapfile: None,
            metrics_listen: None,
            trusted_keys: Vec::new(),
            request_key: None,
            control_key: None,
            listen: ListenPolicy {
                no_virtual: opts.no_virtual_ips,
                ipv4_only: opts.ipv4_only,
                ipv6_only: opts.ipv6_only,
                ..ListenPolicy::default()
            },
            switches: Switches::default(),
            tos: Tos::default(),
            tinker: Vec::new(),
            drift_file: None,
            stats_dir: None,
            statistics: Vec::new(),
            filegens: Vec::new(),
            log_file: None,
            log_config: Vec::new(),
            pid_file: None,
            broadcast_delay: None,
            not_acted_on: Vec::new(),
            autokey: AutokeySettings::default(),
            nts: Default::default(),
        };
        s.listen.add_command_line_interfaces(&opts.interfaces);
        // The command line's variables come before the file's `setvar`s.
        for (text, default) in opts
            .vars
            .iter()
            .map(|v| (v, false))
            .chain(opts.dvars.iter().map(|v| (v, true)))
        {
            s.set_sys_var(text.clone(), default);
        }
        for st in &conf.statements {
            s.apply(&st.directive, &st.origin)?;
        }
        // The command line wins over the file.
        if let Some(m) = opts.metrics_listen {
            s.metrics_listen = Some(m);
        }
        if let Some(k) = &opts.key_file {
            s.keys_file = Some(k.clone());
        }
        s.trusted_keys.extend(opts.trusted_keys.iter().copied());
        if let Some(f) = &opts.drift_file {
            s.drift_file = Some(f.clone());
        }
        if let Some(d) = &opts.stats_dir {
            s.stats_dir = Some(d.clone());
        }
        if let Some(l) = &opts.log_file {
            s.log_file = Some(l.clone());
        }
        if let Some(p) = &opts.pid_file {
            s.pid_file = Some(p.clone());
        }
        if let Some(d) = opts.propagation_delay {
            s.broadcast_delay = Some(d);
        }
        // -a / -A: ephemeral associations must / need not authenticate
        // (the same switch as `enable auth` / `disable auth`).
        match opts.auth {
            Some(crate::cli::AuthRequirement::Required) => s.switches.auth = true,
            Some(crate::cli::AuthRequirement::NotRequired) => s.switches.auth = false,
            None => {}
        }
        Ok(s)
    }

    /// Add or replace (by name, the text before `=`) a system variable.
    fn set_sys_var(&mut self, text: String, default: bool) {
        let name_of = |t: &str| t.split_once('=').map_or(t, |(n, _)| n).to_owned();
        let name = name_of(&text);
        let var = ExtraVar { text, default };
        match self.sys_vars.iter_mut().find(|v| name_of(&v.text) == name) {
            Some(old) => *old = var,
            None => self.sys_vars.push(var),
        }
    }

    fn skip(&mut self, at: &Origin, what: &str) {
        self.not_acted_on
            .push(format!("{at}: {what} is not acted on by this build yet"));
    }

    fn apply(&mut self, d: &Directive, at: &Origin) -> Result<(), SettingsError> {
        match d {
            Directive::Association(a) => self.associations.push((a.clone(), at.clone())),
            Directive::Refclock(r) => self.refclocks.servers.push((r.clone(), at.clone())),
            Directive::Fudge(f) => self.refclocks.fudges.push(f.clone()),
            Directive::BroadcastClient => self.broadcast_client = true,
            Directive::MulticastClient(groups) => {
                for g in groups {
                    self.multicast_groups.extend(resolve(&g.host));
                }
            }
            Directive::ManycastServer(groups) => {
                for g in groups {
                    self.manycast_groups.extend(resolve(&g.host));
                }
            }
            Directive::ControlKey(k) => self.control_key = Some(*k),
            Directive::RequestKey(k) => self.request_key = Some(*k),
            Directive::Keys(p) => self.keys_file = Some(PathBuf::from(p)),
            Directive::Leapfile(l) => self.leapfile = Some(PathBuf::from(&l.path)),
            Directive::TrustedKey(ranges) => {
                for r in ranges {
                    self.trusted_keys.extend(r.first..=r.last);
                }
            }
            Directive::Tos(opts) => {
                for o in opts {
                    match o {
                        TosOption::Orphan(v) => self.tos.orphan = Some(*v),
                        TosOption::OrphanWait(v) => self.tos.orphan_wait = Some(*v),
                        TosOption::MinSane(v) => self.tos.minsane = Some(*v),
                        TosOption::MinClock(v) => self.tos.minclock = Some(*v),
                        TosOption::MaxClock(v) => self.tos.maxclock = Some(*v),
                        TosOption::MinDist(v) => self.tos.mindist = Some(*v),
                        TosOption::MaxDist(v) => self.tos.maxdist = Some(*v),
                        TosOption::BcPollBStep(v) => self.skip(at, &format!("tos bcpollbstep {v}")),
                        TosOption::Beacon(v) => self.skip(at, &format!("tos beacon {v}")),
                        TosOption::Ceiling(v) => self.skip(at, &format!("tos ceiling {v}")),
                        TosOption::Cohort(v) => {
                            self.skip(at, &format!("tos cohort {}", u8::from(*v)))
                        }
                        TosOption::Floor(v) => self.skip(at, &format!("tos floor {v}")),
                        TosOption::BaseDate(v) => self.skip(at, &format!("tos basedate {v}")),
                    }
                }
            }
            Directive::Statistics(sets) => self.statistics.extend(sets.iter().copied()),
            Directive::Statsdir(d) => self.stats_dir = Some(PathBuf::from(d)),
            Directive::Filegen(f) => {
                self.filegens.retain(|g| g.stats != f.stats);
                self.filegens.push(f.clone());
            }
            Directive::Discard(opts) => {
                for o in opts {
                    match *o {
                        DiscardOption::Average(v) => self.discard.average_log2 = v,
                        DiscardOption::Minimum(v) => self.discard.minimum = v,
                        DiscardOption::Monitor(v) => self.discard.monitor = v,
                    }
                }
            }
            Directive::Mru(opts) => {
                for o in opts {
                    match *o {
                        MruOption::Mindepth(v) => self.mru.mindepth = v as usize,
                        MruOption::Maxdepth(v) => self.mru.maxdepth = v as usize,
                        MruOption::Maxage(v) => self.mru.maxage = v,
                        // Memory sizes: the entry is about 64 octets.
                        MruOption::Maxmem(kb) => {
                            self.mru.maxdepth = (kb as usize * 1024 / 64).max(1)
                        }
                        MruOption::Initalloc(_)
                        | MruOption::Initmem(_)
                        | MruOption::Incalloc(_)
                        | MruOption::Incmem(_) => {}
                    }
                }
            }
            Directive::Restrict(r) => self.apply_restrict(r, at)?,
            Directive::DelRestrict(DelRestrict::Address { address, mask }) => {
                for a in resolve(address) {
                    self.restrict.remove(a, *mask, 0);
                }
            }
            Directive::DelRestrict(DelRestrict::Source(_)) => self.skip(at, "delrestrict source"),
            Directive::Enable(flags) | Directive::Disable(flags) => {
                let on = matches!(d, Directive::Enable(_));
                for f in flags {
                    match f {
                        SystemFlag::Auth => self.switches.auth = on,
                        SystemFlag::Bclient => self.switches.bclient = on,
                        SystemFlag::Kernel => self.switches.kernel = on,
                        SystemFlag::Monitor => self.switches.monitor = on,
                        SystemFlag::Ntp => self.switches.ntp = on,
                        SystemFlag::Stats => self.switches.stats = on,
                        // Mode 7 is never answered; the crypto "early"
                        // switches are moot: a crypto-NAK or a bad digest
                        // never demobilises an association here.
                        SystemFlag::Mode7
                        | SystemFlag::PeerClearDigestEarly
                        | SystemFlag::UnpeerCryptoEarly
                        | SystemFlag::UnpeerCryptoNakEarly
                        | SystemFlag::UnpeerDigestEarly => {}
                        SystemFlag::Calibrate => self.skip(at, "enable/disable calibrate"),
                    }
                }
            }
            Directive::Nts(options) => self.nts.apply(options),
            Directive::Crypto(c) => {
                // Repeating a subcommand overwrites the earlier value.
                let cur = self.autokey.crypto.get_or_insert_with(Default::default);
                for (slot, v) in [
                    (&mut cur.digest, &c.digest),
                    (&mut cur.host, &c.host),
                    (&mut cur.ident, &c.ident),
                    (&mut cur.pw, &c.pw),
                    (&mut cur.randfile, &c.randfile),
                ] {
                    if v.is_some() {
                        slot.clone_from(v);
                    }
                }
            }
            Directive::Setvar(v) => self.set_sys_var(format!("{}={}", v.name, v.value), v.default),
            Directive::Keysdir(d) => {
                self.autokey.keysdir = Some(PathBuf::from(d));
                self.autokey.keysdir_origin = Some(at.clone());
            }
            Directive::Automax(n) => self.autokey.automax = Some(*n),
            Directive::Revoke(n) => self.autokey.revoke = Some(*n),
            Directive::Ident(g) => self.autokey.ident = Some(g.clone()),
            Directive::Tinker(t) => self.tinker.extend(t.iter().copied()),
            Directive::Interface(rule) => self.listen.rules.push(rule.clone()),
            Directive::BroadcastDelay(v) => self.broadcast_delay = Some(*v),
            Directive::Logfile(p) => self.log_file = Some(PathBuf::from(p)),
            Directive::MetricsListen(a) => self.metrics_listen = Some(*a),
            Directive::Pidfile(p) => self.pid_file = Some(PathBuf::from(p)),
            Directive::Driftfile(df) => self.drift_file = df.path.as_ref().map(PathBuf::from),
            Directive::Logconfig(items) => {
                // Applied by `run` through `logging::log_mask`.
                self.log_config.extend(items.iter().copied());
            }
            other => {
                let line = config::conf::directive_line(other);
                let word = line
                    .split_whitespace()
                    .next()
                    .unwrap_or("directive")
                    .to_owned();
                self.skip(at, &format!("`{word}`"));
            }
        }
        Ok(())
    }

    fn apply_restrict(
        &mut self,
        r: &config::conf::Restrict,
        at: &Origin,
    ) -> Result<(), SettingsError> {
        let mut flags = 0;
        let mut clear = 0;
        let mut mflags = 0;
        for f in &r.flags {
            match f {
                RestrictFlag::Epeer => clear |= RestrictFlags::NOEPEER,
                RestrictFlag::NtpPort => mflags |= MatchFlags::NTPONLY,
                other => flags |= RestrictFlags::of(*other),
            }
        }
        match &r.target {
            RestrictTarget::Default => {
                self.restrict
                    .add_default(true, true, flags, clear, r.ippeerlimit)
            }
            RestrictTarget::DefaultIpv4 => {
                self.restrict
                    .add_default(true, false, flags, clear, r.ippeerlimit)
            }
            RestrictTarget::DefaultIpv6 => {
                self.restrict
                    .add_default(false, true, flags, clear, r.ippeerlimit)
            }
            RestrictTarget::Source => self.restrict_source = Some(flags & !clear),
            RestrictTarget::Address { address, mask } => {
                let addrs = resolve(&address.host);
                if addrs.is_empty() {
                    return Err(SettingsError::Restrict {
                        at: at.clone(),
                        message: format!(
                            "restrict {}: the name does not resolve; expected an address or a resolvable host name",
                            match &address.host {
                                config::conf::Host::Ip(ip) => ip.to_string(),
                                config::conf::Host::Name(n) => n.clone(),
                            }
                        ),
                    });
                }
                for a in addrs {
                    self.restrict
                        .add(a, *mask, mflags, flags, clear, r.ippeerlimit)
                        .map_err(|e| SettingsError::Restrict {
                            at: at.clone(),
                            message: e.to_string(),
                        })?;
                }
            }
        }
        Ok(())
    }

    /// The key ring: the keys file read, trusted keys and request/control
    /// keys applied. No keys file: an empty ring.
    pub fn key_ring(&self) -> Result<KeyRing, config::keys::KeysError> {
        let mut ring = match &self.keys_file {
            Some(p) => {
                let f = config::keys::load(p)?;
                for w in &f.warnings {
                    tracing::warn!("{w}");
                }
                KeyRing::from_file(&f)
            }
            None => KeyRing::default(),
        };
        for &k in &self.trusted_keys {
            ring.trust(k);
        }
        ring.request_key = self.request_key;
        ring.control_key = self.control_key;
        Ok(ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str, opts: &Options) -> Settings {
        let p = Path::new("test.conf");
        let c = config::conf::parse_str(text, p).unwrap();
        Settings::from_conf(&c.config, opts, p).unwrap()
    }

    #[test]
    fn restrict_lines_build_the_access_list() {
        let mut s = settings(
            "restrict default kod limited nomodify notrap nopeer noquery\n\
             restrict -6 default ignore\n\
             restrict 127.0.0.1\n\
             restrict 192.0.2.0 mask 255.255.255.0 notrust ntpport\n\
             restrict source nomodify\n",
            &Options::default(),
        );
        let f = |s: &mut Settings, a: &str, port| s.restrict.lookup(a.parse().unwrap(), port).0;
        assert_eq!(
            f(&mut s, "198.51.100.1", 5000),
            RestrictFlags::KOD
                | RestrictFlags::LIMITED
                | RestrictFlags::NOMODIFY
                | RestrictFlags::NOTRAP
                | RestrictFlags::NOPEER
                | RestrictFlags::NOQUERY
        );
        assert_eq!(f(&mut s, "127.0.0.1", 5000), 0);
        // `-6 default ignore` adds to what `default` set for IPv6.
        assert!(RestrictFlags(f(&mut s, "2001:db8::1", 5000))
            .has(RestrictFlags::IGNORE | RestrictFlags::KOD));
        assert_eq!(f(&mut s, "192.0.2.7", 123), RestrictFlags::DONTTRUST);
        assert_ne!(f(&mut s, "192.0.2.7", 5000), RestrictFlags::DONTTRUST);
        assert_eq!(s.restrict_source, Some(RestrictFlags::NOMODIFY));
    }

    #[test]
    fn command_line_overrides_and_keys() {
        let opts = Options {
            key_file: Some("/cmd.keys".into()),
            trusted_keys: vec![7],
            interfaces: vec!["lo".into()],
            ipv4_only: true,
            ..Options::default()
        };
        let s = settings(
            "keys /etc/ntp.keys\ntrustedkey 1 (3 ... 5)\nrequestkey 9\ncontrolkey 8\n\
             disable ntp monitor stats\ndiscard average 4 minimum 1\n\
             tos orphan 5 orphanwait 1\nstatsdir /tmp/s/\nstatistics peerstats loopstats\n\
             driftfile /tmp/drift\n",
            &opts,
        );
        assert_eq!(s.keys_file, Some(PathBuf::from("/cmd.keys")));
        assert_eq!(s.trusted_keys, vec![1, 3, 4, 5, 7]);
        assert_eq!((s.request_key, s.control_key), (Some(9), Some(8)));
        assert!(!s.switches.ntp && !s.switches.monitor && !s.switches.stats && s.switches.auth);
        assert_eq!(s.discard.average_log2, 4);
        assert_eq!(s.discard.minimum, 1);
        assert_eq!(s.tos.orphan, Some(5));
        assert_eq!(s.tos.orphan_wait, Some(1));
        assert_eq!(
            s.statistics,
            vec![StatsFile::Peerstats, StatsFile::Loopstats]
        );
        assert_eq!(s.drift_file, Some(PathBuf::from("/tmp/drift")));
        assert!(s.listen.ipv4_only);
        assert_eq!(s.listen.rules.len(), 2, "-I lo: ignore all, listen lo");
    }

    #[test]
    fn command_line_servers_b_and_variables() {
        let opts = Options {
            servers: vec!["192.0.2.1".into(), "ntp.example".into()],
            bcast_sync: true,
            vars: vec!["a=1".into()],
            dvars: vec!["b=2".into(), "a=3".into()],
            ..Options::default()
        };
        let s = settings("server 198.51.100.7\nsetvar c = \"x y\" default\n", &opts);
        let hosts: Vec<String> = s
            .associations
            .iter()
            .map(|(a, o)| format!("{:?} {:?} {} {o}", a.mode, a.address.host, a.options.iburst))
            .collect();
        assert_eq!(
            hosts,
            vec![
                "Server Ip(192.0.2.1) true (command line):1:1",
                "Server Name(\"ntp.example\") true (command line):1:2",
                "Server Ip(198.51.100.7) false test.conf:1:1",
            ]
        );
        assert!(s.broadcast_client, "-b is `broadcastclient`");
        let vars: Vec<(&str, bool)> = s
            .sys_vars
            .iter()
            .map(|v| (v.text.as_str(), v.default))
            .collect();
        assert_eq!(vars, vec![("a=3", true), ("b=2", true), ("c=x y", true)]);
        assert!(s.not_acted_on.is_empty(), "{:?}", s.not_acted_on);
    }

    #[test]
    fn unbuilt_directives_are_reported_not_dropped() {
        let s = settings("tos ceiling 4\n", &Options::default());
        assert_eq!(s.not_acted_on.len(), 1);
        assert!(
            s.not_acted_on[0].starts_with("test.conf:1:1: tos ceiling 4"),
            "{:?}",
            s.not_acted_on
        );
    }
}
