//! The optional Prometheus endpoint (issue 17): what the daemon
//! publishes, one concern a module:
//!
//! - here: [`MetricsSnapshot`], the values `ntpq` shows, taken from the
//!   [`Core`] by [`Core::metrics_snapshot`] through the same
//!   [`ControlView`](super::control::ControlView) mode 6 answers from (RFC 9327), so a scrape and
//!   `ntpq -c rv` / `ntpq -p` read the same numbers;
//! - `metrics_render`: the snapshot as Prometheus/OpenMetrics text;
//! - `metrics_http`: the listener, a tokio task serving `GET /metrics`.
//!
//! The event loop stays the only owner of the daemon's state: once a
//! second, after the system tick, it replaces the snapshot in a
//! [`tokio::sync::watch`] channel ([`MetricsPublisher`]); the HTTP task
//! only ever reads the latest one, so a scraper never holds anything the
//! event loop waits for.
//!
//! NTS (RFC 8915) sits beside Autokey: the server side (NTS-KE sessions,
//! NTS replies and NAKs, the current cookie key) is
//! [`SystemMetrics::nts_server`] and a `server X nts` association's state
//! (cookies held, key exchanges, replies) is [`AssociationMetrics::nts`],
//! both taken by `metrics_nts` from the counters `ntpq -c rv` shows and
//! rendered by `metrics_render_nts`.

use std::net::SocketAddr;
use std::sync::Arc;

use proto::control::PeerSelection;
use tokio::sync::watch;

pub use self::nts::{AssociationNts, NtsServerMetrics};
use super::control::control_view;
use super::Core;
use crate::mode6::{format_refid, ControlState, PeerVars, SystemCounter};

#[path = "metrics_nts.rs"]
pub mod nts;

/// Everything one scrape shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// The system variables (`ntpq -c rv`).
    pub system: SystemMetrics,
    /// The associations in `ntpq -p` order.
    pub associations: Vec<AssociationMetrics>,
    /// Packet and restriction counters (`ntpq -c sysstats`, `iostats`).
    pub counters: PacketCounters,
    /// The Autokey server budgets against floods (issue 15).
    pub hardening: HardeningCounters,
}

/// The system variables (RFC 5905 §11.1; `ntpq -c rv` names in brackets).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemMetrics {
    /// Seconds since start-up (`ss_uptime`).
    pub uptime: u64,
    /// Leap indicator, 0–3, 3 unsynchronised (`leap`).
    pub leap: u8,
    /// Whether the clock is synchronised: leap indicator other than 3
    /// (`sync_ntp` in the status word rather than `sync_unspec`).
    pub synchronized: bool,
    /// The system peer's association ID (`peer`), if any.
    pub sys_peer: Option<u16>,
    /// `stratum` (16 unsynchronised).
    pub stratum: u8,
    /// `precision`, log2 seconds.
    pub precision: i8,
    /// `rootdelay`, seconds.
    pub root_delay: f64,
    /// `rootdisp`, seconds.
    pub root_dispersion: f64,
    /// `refid` as `rv` shows it (`INIT`, `LOCL`, an address).
    pub refid: String,
    /// `tc`: system poll exponent, log2 seconds.
    pub poll: u8,
    /// `offset`: last clock offset, seconds.
    pub offset: f64,
    /// `frequency`: frequency correction, s/s (`rv` shows ppm).
    pub frequency: f64,
    /// `sys_jitter`, seconds.
    pub sys_jitter: f64,
    /// `clk_jitter`, seconds.
    pub clock_jitter: f64,
    /// `clk_wander`, s/s (`rv` shows ppm).
    pub clock_wander: f64,
    /// The host's Autokey status word (`rv 0 flags`), when `crypto` is
    /// configured.
    pub autokey_flags: Option<u32>,
    /// The NTS server side, with `nts enable` (the `nts_ke_*`, `nts_replies`,
    /// `nts_naks`, `nts_dropped` and `nts_cookie_*` variables of `rv`).
    pub nts_server: Option<NtsServerMetrics>,
}

/// One association (RFC 5905 §9.1; `ntpq -c "rv ASSOCID"` names).
#[derive(Debug, Clone, PartialEq)]
pub struct AssociationMetrics {
    /// Association ID (`associd`).
    pub association_id: u16,
    /// `srcadr`/`srcport`.
    pub remote: SocketAddr,
    /// The `t` column of `ntpq -p` (`u`, `b`, `B`, `M`, `s`, `S`, `l`, `p`, `a`).
    pub kind: char,
    /// The `refid` column of `ntpq -p` (`.INIT.`, `.LOCL.`, an address).
    pub refid: String,
    /// The selection (RFC 9327 §2.4.1; its tally code is the first column
    /// of `ntpq -p`).
    pub selection: PeerSelection,
    /// `reach`: the reach register, 0–255 (`ntpq -p` shows it in octal).
    pub reach: u8,
    /// `unreach`: polls since the source was last reached.
    pub unreach: u32,
    /// `stratum` (16 before the first reply).
    pub stratum: u8,
    /// The `poll` column of `ntpq -p`: 2^min(`ppoll`, `hpoll`) seconds.
    pub poll_seconds: u64,
    /// `hpoll`, log2 seconds.
    pub host_poll: u8,
    /// `ppoll`, log2 seconds.
    pub peer_poll: u8,
    /// `delay`, seconds (RFC 5905 §8).
    pub delay: f64,
    /// `offset`, seconds (RFC 5905 §8).
    pub offset: f64,
    /// `jitter`, seconds (RFC 5905 §10).
    pub jitter: f64,
    /// `dispersion`, seconds (RFC 5905 §10).
    pub dispersion: f64,
    /// `rootdelay` the source advertises, seconds.
    pub root_delay: f64,
    /// `rootdisp` the source advertises, seconds.
    pub root_dispersion: f64,
    /// `keyid`: the key in use, 0 none (status bit `authenb`).
    pub key_id: u32,
    /// `authentic`: the last packet was authenticated (status bit `auth`).
    pub authentic: bool,
    /// `received`: packets from the source.
    pub received: u64,
    /// `sent`: polls sent.
    pub sent: u64,
    /// `badauth`: packets that failed authentication.
    pub bad_auth: u64,
    /// `bogusorg`: packets whose origin matched no poll (RFC 5905 §8 test 2).
    pub bogus_origin: u64,
    /// `oldpkt`: duplicates and replays (RFC 5905 §8 test 1).
    pub old_packets: u64,
    /// Kiss-o'-death packets received (RFC 5905 §7.4).
    pub kiss_received: u64,
    /// Autokey (RFC 5906), when the association uses it.
    pub autokey: Option<AssociationAutokey>,
    /// NTS (RFC 8915), when the association is `server X nts`.
    pub nts: Option<AssociationNts>,
}

/// The Autokey state of one association (`ntpq -c "rv ASSOCID flags"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssociationAutokey {
    /// The association's Autokey status word (brief §10.2, RFC 5906 §10).
    pub flags: u32,
    /// PROV: the source's identity and certificate trail are proven (RFC
    /// 5906 §6.1); only then are its packets used for time.
    pub proventic: bool,
}

/// Packet counters (`ntpq -c sysstats` and `iostats` names in brackets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketCounters {
    /// `ss_received`: datagrams received.
    pub received: u64,
    /// `ss_processed`: packets processed for time (replies and samples).
    pub processed: u64,
    /// `io_sent`: datagrams sent.
    pub sent: u64,
    /// `io_sendfailed`: sends that failed.
    pub send_failed: u64,
    /// `io_dropped`: mode 7 requests dropped.
    pub dropped: u64,
    /// `io_ignored`: datagrams on a wildcard socket that does not listen.
    pub ignored: u64,
    /// `ss_thisver`: version 4 packets.
    pub this_version: u64,
    /// `ss_oldver`: version 1–3 packets.
    pub old_version: u64,
    /// `ss_badformat`: bad length or format.
    pub bad_format: u64,
    /// `ss_badauth`: authentication failures.
    pub bad_auth: u64,
    /// `ss_restricted`: dropped by `restrict` (`ignore`, `noserve`, …).
    pub restricted: u64,
    /// `ss_limited`: over the `discard` rate (`restrict … limited`).
    pub rate_limited: u64,
    /// `ss_kodsent`: kiss-o'-death packets sent.
    pub kiss_sent: u64,
    /// `mru_depth`: entries in the MRU list.
    pub mru_depth: u64,
}

/// The Autokey server budgets (issue 15; `access::autokey_budget`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HardeningCounters {
    /// Autokey requests admitted by the budgets.
    pub autokey_admitted: u64,
    /// Refused by a per-source budget.
    pub autokey_refused_source: u64,
    /// Refused by a global budget.
    pub autokey_refused_global: u64,
    /// Response octets beyond the request sizes, in total.
    pub autokey_excess_octets: u64,
    /// Responses that took a private-key operation.
    pub autokey_private_key_ops: u64,
}

/// The `t` column of `ntpq -p` for an association with these variables
/// (the reference ntpq's rule: by host mode, then by address).
fn kind_of(p: &PeerVars) -> char {
    let src = p.source.ip();
    match p.host_mode {
        6 => 'b',
        5 if src.is_multicast() => 'M',
        5 => 'B',
        3 if p.refclock => 'l',
        3 if src.is_unspecified() => 'p',
        3 if src.is_multicast() => 'a',
        3 => 'u',
        1 => 's',
        2 => 'S',
        _ => 'u',
    }
}

/// The `refid` column of `ntpq -p`: text refids (stratum 0, 1 and 16,
/// reference clocks) between dots, others as an address.
fn refid_column(p: &PeerVars) -> String {
    let text = p.refclock || p.stratum <= 1 || p.stratum >= 16;
    let r = format_refid(p.refid, text);
    if text {
        format!(".{r}.")
    } else {
        r
    }
}

impl Core {
    /// The values `ntpq` would show now, read through the mode 6 view.
    pub fn metrics_snapshot(&mut self) -> MetricsSnapshot {
        let now = self.env.monotonic();
        let now_ntp = self.env.wall();
        type Auth = (u16, u64, Option<AssociationAutokey>, Option<AssociationNts>);
        let kods: Vec<Auth> = self
            .assocs
            .iter()
            .map(|r| {
                let autokey = r.assoc.auth.autokey_engine().map(|e| AssociationAutokey {
                    flags: e.flags(),
                    proventic: e.is_proventic(),
                });
                let nts = nts::association_metrics(&r.assoc.auth);
                (r.assoc.id, r.assoc.stats.kods, autokey, nts)
            })
            .collect();
        let budget = self.hardening.autokey.stats;
        let nts_server = self.nts.server.as_ref().map(nts::server_metrics);
        let view = control_view!(self, now, now_ntp);
        let counter = |c: SystemCounter| view.counter(c).unwrap_or(0);
        let v = view.system();
        let system = SystemMetrics {
            uptime: counter(SystemCounter::Uptime),
            leap: v.leap,
            synchronized: v.leap != 3,
            sys_peer: v.sys_peer,
            stratum: v.stratum,
            precision: v.precision,
            root_delay: v.root_delay,
            root_dispersion: v.root_dispersion,
            refid: format_refid(v.refid, v.stratum <= 1 || v.stratum >= 16),
            poll: v.poll,
            offset: v.offset,
            frequency: v.frequency,
            sys_jitter: v.sys_jitter,
            clock_jitter: v.clock_jitter,
            clock_wander: v.clock_wander,
            autokey_flags: view.system_crypto().map(|c| c.flags),
            nts_server,
        };
        let associations = kods
            .iter()
            .filter_map(|&(id, kiss_received, autokey, nts)| {
                let p = view.peer(id)?;
                Some(AssociationMetrics {
                    association_id: id,
                    remote: p.source,
                    kind: kind_of(&p),
                    refid: refid_column(&p),
                    selection: p.status.selection,
                    reach: p.reach,
                    unreach: p.unreach,
                    stratum: p.stratum,
                    poll_seconds: 1u64 << p.peer_poll.min(p.host_poll).min(62),
                    host_poll: p.host_poll,
                    peer_poll: p.peer_poll,
                    delay: p.delay,
                    offset: p.offset,
                    jitter: p.jitter,
                    dispersion: p.dispersion,
                    root_delay: p.root_delay,
                    root_dispersion: p.root_dispersion,
                    key_id: p.key_id,
                    authentic: p.authentic,
                    received: p.received,
                    sent: p.sent,
                    bad_auth: p.bad_auth,
                    bogus_origin: p.bogus_origin,
                    old_packets: p.old_packets,
                    kiss_received,
                    autokey,
                    nts,
                })
            })
            .collect();
        let counters = PacketCounters {
            received: counter(SystemCounter::Received),
            processed: counter(SystemCounter::Processed),
            sent: counter(SystemCounter::IoSent),
            send_failed: counter(SystemCounter::IoSendFailed),
            dropped: counter(SystemCounter::IoDropped),
            ignored: counter(SystemCounter::IoIgnored),
            this_version: counter(SystemCounter::ThisVersion),
            old_version: counter(SystemCounter::OldVersion),
            bad_format: counter(SystemCounter::BadFormat),
            bad_auth: counter(SystemCounter::BadAuth),
            restricted: counter(SystemCounter::Restricted),
            rate_limited: counter(SystemCounter::Limited),
            kiss_sent: counter(SystemCounter::KodSent),
            mru_depth: counter(SystemCounter::MruDepth),
        };
        MetricsSnapshot {
            system,
            associations,
            counters,
            hardening: HardeningCounters {
                autokey_admitted: budget.admitted,
                autokey_refused_source: budget.refused_source,
                autokey_refused_global: budget.refused_global,
                autokey_excess_octets: budget.excess_octets,
                autokey_private_key_ops: budget.private_key_ops,
            },
        }
    }
}

/// The event loop's end of the snapshot channel.
#[derive(Debug)]
pub struct MetricsPublisher {
    tx: watch::Sender<Arc<MetricsSnapshot>>,
}

/// The HTTP task's end: the latest snapshot.
pub type MetricsReader = watch::Receiver<Arc<MetricsSnapshot>>;

impl MetricsPublisher {
    /// A channel holding an empty snapshot until the first tick.
    pub fn new() -> (MetricsPublisher, MetricsReader) {
        let (tx, rx) = watch::channel(Arc::new(MetricsSnapshot::default()));
        (MetricsPublisher { tx }, rx)
    }

    /// Replace the snapshot with the core's values now. Never waits: a
    /// reader holding the previous snapshot keeps its own `Arc`.
    pub fn publish(&self, core: &mut Core) {
        self.tx.send_replace(Arc::new(core.metrics_snapshot()));
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::cli::Options;
    use crate::daemon::settings::Settings;

    fn settings(conf: &str, opts: &Options) -> Settings {
        let p = Path::new("t.conf");
        let c = config::conf::parse_str(conf, p).unwrap();
        Settings::from_conf(&c.config, opts, p).unwrap()
    }

    #[test]
    fn the_endpoint_is_off_by_default_and_the_flag_wins_over_the_file() {
        let none = Options::default();
        assert_eq!(settings("server 192.0.2.1\n", &none).metrics_listen, None);
        let file = settings("metrics_listen [::1]:9123\n", &none);
        assert_eq!(file.metrics_listen, Some("[::1]:9123".parse().unwrap()));
        let flag = Options {
            metrics_listen: Some("127.0.0.1:9124".parse().unwrap()),
            ..Options::default()
        };
        let both = settings("metrics_listen [::1]:9123\n", &flag);
        assert_eq!(both.metrics_listen, Some("127.0.0.1:9124".parse().unwrap()));
    }
}
