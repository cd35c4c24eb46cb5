//! Starting the daemon: settings, keys and Autokey files, detaching,
//! sockets, interface restrictions, mobilisation, privileges, then the
//! event loop until a signal or the daemon's own exit.
//!
//! ```text
//! run(opts): Settings::load → KeyRing → [detach, -w parent waits] → [-N/-P]
//!   → bind one socket per listened local address + wildcard per family
//!   → interface restrict entries → [-u] → pid file
//!   → event_loop (tokio): the sockets, a 1 s system timer, signals
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use rand::rngs::StdRng;

use super::settings::Settings;
use super::{
    choose_socket, clockctl, crypto, event_loop, mobilize, notify, priority, privileges, process,
    seccomp, Core, DaemonError, SystemEnvironment,
};
use crate::access::{MatchFlags, RestrictFlags};
use crate::auth::KeyRing;
use crate::cli::Options;
use crate::net::iface::{self, LocalAddr};
use crate::net::socket::NtpSocket;

/// The sockets to bind: wildcard per enabled family and each listened
/// local address, on `port`.
pub fn listen_addresses(
    s: &Settings,
    locals: &[LocalAddr],
    port: u16,
) -> Vec<(SocketAddr, String)> {
    let mut out = Vec::new();
    if s.listen.family_enabled(false) {
        out.push((
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            "wildcard".to_owned(),
        ));
    }
    if s.listen.family_enabled(true) {
        out.push((
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            "wildcard".to_owned(),
        ));
    }
    for a in s.listen.select(locals) {
        let sa = match a.addr {
            IpAddr::V4(v4) => SocketAddr::new(IpAddr::V4(v4), port),
            IpAddr::V6(v6) => SocketAddr::V6(std::net::SocketAddrV6::new(v6, port, 0, a.scope_id)),
        };
        out.push((sa, a.name.clone()));
    }
    out
}

/// Run the daemon until SIGTERM/SIGINT. The caller has checked the
/// command line.
pub fn run(opts: &Options) -> Result<(), DaemonError> {
    let settings = Settings::load(opts)?;
    if let Some(path) = &settings.log_file {
        crate::logging::to_file(path).map_err(|source| DaemonError::Io {
            what: "cannot open the log file (check `logfile` or -l)",
            source,
        })?;
    }
    for line in &settings.not_acted_on {
        tracing::warn!("{line}");
    }
    crate::logging::set_log_mask(crate::logging::log_mask(&settings.log_config));
    let keys = settings.key_ring()?;
    let randfile = settings
        .autokey
        .crypto
        .as_ref()
        .and_then(|c| c.randfile.as_ref());
    let mut rng: StdRng = super::randfile::seeded(randfile.map(Path::new))?;
    let autokey = crypto::load(
        &settings.autokey,
        crate::timing::now_ntp().seconds(),
        &mut rng,
    )?;
    let mut autokey = autokey;
    if let Some(ak) = &mut autokey {
        // The client identity parameters of every configured group, read
        // once; a file that is present but does not load stops the daemon
        // here, naming the file (brief §9.2).
        let groups = crypto::association_groups(&settings.associations, ak);
        ak.preload_identities(&groups)
            .map_err(crypto::CryptoSetupError::Keys)?;
    }
    let port = crate::net::service_port();
    if port != crate::net::NTP_PORT {
        tracing::warn!(
            "{} is set: using UDP port {port} instead of 123 (for tests only)",
            crate::net::TEST_PORT_ENV
        );
    }
    // -u/-i names are resolved now, while /etc is visible (before any
    // chroot).
    let privileges = privileges::PrivilegeDrop::from_options(opts)?;
    // Forks unless -n (-w N > 0 forces the fork, as the reference); the
    // parent waits in `detach` and exits there.
    let mut waiter = process::detach(opts.no_fork, opts.wait_sync)?;
    if waiter.detached() && settings.log_file.is_none() {
        crate::logging::to_syslog();
    }
    // -N / -P: after detaching, before the configuration is acted on;
    // failures are only logged.
    if let Some(req) = priority::PriorityRequest::from_options(opts) {
        priority::raise(req);
    }
    let run = Run {
        settings,
        keys,
        autokey,
        port,
        privileges,
    };
    serve(opts, run, &mut waiter)
}

/// What `run` prepared before detaching, for `serve`.
struct Run {
    settings: Settings,
    keys: KeyRing,
    autokey: Option<crypto::AutokeyHost>,
    port: u16,
    privileges: Option<privileges::PrivilegeDrop>,
}

/// Bind, build the core, mobilise, drop privileges, then run the event
/// loop until a signal or the daemon's own exit.
fn serve(opts: &Options, run: Run, waiter: &mut process::SyncWaiter) -> Result<(), DaemonError> {
    let Run {
        settings,
        keys,
        autokey,
        port,
        privileges,
    } = run;
    // Key material others may read or change: warned, not fatal.
    let keysdir = autokey.as_ref().map(|a| a.keysdir.path());
    for w in keystore::perms::check(keysdir, settings.keys_file.as_deref()) {
        tracing::warn!("{w}");
    }
    let precision = crate::timing::measure_precision();
    let sockets = bind_sockets(&settings, port)?;
    // Bound before privileges are dropped, like the NTP sockets.
    let metrics = settings
        .metrics_listen
        .map(super::metrics_http::bind)
        .transpose()?;
    let flags = clockctl::LoopFlags {
        ntp: settings.switches.ntp,
        kernel: settings.switches.kernel,
        panic_gate: opts.panic_gate,
        slew_only: opts.slew,
        set_once: opts.quit,
    };
    let clock = clockctl::DynClock(Box::new(clock::kernel::KernelClock::new()));
    let mut core = Core::new(
        &settings,
        keys,
        precision,
        Box::new(SystemEnvironment::start()),
        super::randfile::seeded(
            settings
                .autokey
                .crypto
                .as_ref()
                .and_then(|c| c.randfile.as_deref())
                .map(Path::new),
        )?,
        clock,
        flags,
    );
    core.autokey = autokey;
    core.nts.server = super::nts_service::start(&settings.nts).map_err(|e| DaemonError::Io {
        what: "cannot start NTS",
        source: std::io::Error::other(e),
    })?;
    core.nts.client = super::nts_state::client_side(&settings.associations, &settings.nts)
        .map_err(|e| DaemonError::Io {
            what: "cannot set up NTS for the `server ... nts` lines",
            source: std::io::Error::other(e),
        })?;
    super::leap::load(&mut core, settings.leapfile.as_deref());
    core.net.socket_addrs = sockets
        .iter()
        .map(|s| (s.local_addr(), s.is_wildcard()))
        .collect();
    let outputs = event_loop::Outputs {
        peerstats: statistics_file(&settings, config::conf::StatsFile::Peerstats),
        loopstats: statistics_file(&settings, config::conf::StatsFile::Loopstats),
        cryptostats: statistics_file(&settings, config::conf::StatsFile::Cryptostats),
        clockstats: statistics_file(&settings, config::conf::StatsFile::Clockstats),
    };
    core.out.peerstats = outputs.peerstats.is_some();
    core.out.loopstats = outputs.loopstats.is_some();
    core.out.clockstats = outputs.clockstats.is_some();
    core.out.cryptostats.enabled = outputs.cryptostats.is_some();
    if let Some(ak) = &core.autokey {
        core.out.cryptostats.startup = super::cryptostats::startup_lines(ak);
    }
    restrict_own_addresses(&mut core, &sockets);
    mobilize_configured(&mut core, &settings, opts, port, &sockets);
    let clocks = super::refclock::RefclockSet::start(
        &mut core,
        &settings.refclocks,
        settings
            .tos
            .orphan_wait
            .map_or(clock::constants::ORPHAN_WAIT, f64::from),
        &mut super::refclock_shm::SystemV,
    );
    join_groups(&settings, &sockets);
    // The pid file is written while still root (its directory is
    // usually root's).
    let _pid = settings
        .pid_file
        .as_deref()
        .map(process::PidFile::create)
        .transpose()?;
    // -i (chroot), -u (ids), keeping CAP_SYS_TIME (and
    // CAP_NET_BIND_SERVICE unless -U 0); what cannot be kept is logged.
    if let Some(p) = &privileges {
        p.apply()?;
    }
    let mut service = notify::ServiceNotifier::from_environment();
    // Key rollover: on SIGHUP and when the keys directory changes.
    let keys_hooks = super::keys_watch::hooks(&core, settings.autokey.clone());
    let mut ev = event_loop::EventLoop::new(&mut core, sockets, outputs)?;
    ev.set_refclocks(clocks);
    if let Some(listener) = metrics {
        let addr = listener.local_addr().ok();
        ev.serve_metrics(listener)?;
        if let Some(a) = addr {
            tracing::info!("serving Prometheus metrics at http://{a}/metrics");
        }
    }
    // -F: from here on only the calls the running daemon makes.
    seccomp::install(opts.syscall_filter).map_err(|e| DaemonError::Io {
        what: "cannot install the system call filter",
        source: std::io::Error::other(e),
    })?;
    // Signals are caught now: without -w the waiting parent exits.
    waiter.notify_ready();
    let (mut on_hup, mut keys_tick) = keys_hooks;
    ev.on_hangup(move |c| {
        on_hup(c);
        c.nts_reload_cookie_keys(); // `nts cookie` file, read again
    });
    ev.on_tick(move |c| {
        keys_tick(c);
        if c.sys.leap != proto::LeapIndicator::Unsynchronized {
            // -w: the parent exits 0 now; later calls do nothing.
            waiter.notify_synchronised();
        }
        if let Some(n) = &mut service {
            n.tick(c); // systemd: STATUS= on change, WATCHDOG=1
        }
    });
    let stop = ev.run();
    notify::stopping();
    ev.finish();
    match stop? {
        event_loop::Stop::Signal(name) => {
            tracing::info!("ntpd exiting on {name}");
            Ok(())
        }
        event_loop::Stop::Exit(0) => Ok(()),
        event_loop::Stop::Exit(status) => Err(DaemonError::Exit(status)),
    }
}

/// One socket per listened address (and the wildcard per family); an
/// error only when nothing but wildcards could be bound.
fn bind_sockets(settings: &Settings, port: u16) -> Result<Vec<NtpSocket>, DaemonError> {
    let locals = iface::local_addresses().map_err(|source| DaemonError::Io {
        what: "cannot list the network interfaces",
        source,
    })?;
    let mut sockets = Vec::new();
    let mut last_err = None;
    for (addr, name) in listen_addresses(settings, &locals, port) {
        match NtpSocket::bind(addr, &name) {
            Ok(s) => {
                tracing::info!("Listen normally on {} {}", name, s.local_addr());
                sockets.push(s);
            }
            Err(e) => {
                tracing::warn!("cannot bind {addr} ({name}): {e}");
                last_err = Some(e);
            }
        }
    }
    if sockets.iter().all(|s| s.is_wildcard()) {
        if let Some(e) = last_err {
            return Err(DaemonError::NoSocket(e));
        }
    }
    Ok(sockets)
}

/// Our own addresses talking from port 123 are ignored (loop guard).
fn restrict_own_addresses(core: &mut Core, sockets: &[NtpSocket]) {
    for s in sockets.iter().filter(|s| !s.is_wildcard()) {
        let _ = core.policy.access.restrict.add(
            s.local_addr().ip(),
            None,
            MatchFlags::NTPONLY | MatchFlags::INTERFACE,
            RestrictFlags::IGNORE,
            0,
            None,
        );
    }
}

/// The configured associations, each sending from the socket towards its
/// remote (`restrict source` entries added for them).
fn mobilize_configured(
    core: &mut Core,
    settings: &Settings,
    opts: &Options,
    port: u16,
    sockets: &[NtpSocket],
) {
    let mobilized = mobilize::mobilize(
        &settings.associations,
        port,
        opts.ipv4_only,
        opts.ipv6_only,
        settings.broadcast_delay.unwrap_or(clock::constants::BDELAY),
    );
    for line in &mobilized.not_built {
        tracing::warn!("{line}");
    }
    for cfg in mobilized.configs {
        let route = core.env.route_to(cfg.remote);
        let socket = choose_socket(&core.net.socket_addrs, cfg.remote, route);
        let local = socket
            .and_then(|i| sockets.get(i))
            .map(|s| s.local_addr().ip())
            .filter(|ip| !ip.is_unspecified())
            .or(route);
        if let Some(flags) = settings.restrict_source {
            let _ = core.policy.access.restrict.add(
                cfg.remote.ip(),
                None,
                MatchFlags::SOURCE,
                flags,
                0,
                None,
            );
        }
        if let (Some(ttl), Some(sock)) = (cfg.ttl, socket.and_then(|i| sockets.get(i))) {
            if let Err(e) = sock.set_multicast_ttl(ttl) {
                tracing::warn!(
                    "cannot set multicast TTL {ttl} on {}: {e}",
                    sock.local_addr()
                );
            }
        }
        match local {
            Some(from) => tracing::info!(
                target: crate::logging::PEER_INFO,
                "mobilize {} association {}, sending from {from}",
                cfg.mode,
                cfg.remote
            ),
            None => tracing::info!(
                target: crate::logging::PEER_INFO,
                "mobilize {} association {} (no route to it yet: sending from the wildcard socket)",
                cfg.mode,
                cfg.remote
            ),
        }
        core.mobilize(cfg, socket, local);
    }
}

/// Join the `multicastclient` and `manycastserver` groups on the
/// wildcard sockets of their family.
fn join_groups(settings: &Settings, sockets: &[NtpSocket]) {
    for group in settings
        .multicast_groups
        .iter()
        .chain(&settings.manycast_groups)
    {
        let joined = sockets
            .iter()
            .filter(|s| s.is_wildcard() && s.local_addr().is_ipv4() == group.is_ipv4())
            .any(|s| s.join_multicast(*group).is_ok());
        if joined {
            tracing::info!("joined multicast group {group}");
        } else {
            tracing::warn!("cannot join multicast group {group}");
        }
    }
}

/// The statistics file set `kind` as `statsdir`, `statistics` and its
/// `filegen` line configure it; `None` when it writes nothing.
fn statistics_file(
    settings: &Settings,
    kind: config::conf::StatsFile,
) -> Option<crate::stats::FileGen> {
    let dir = settings
        .stats_dir
        .as_ref()
        .filter(|_| settings.switches.stats)?;
    let fg = settings.filegens.iter().find(|f| f.stats == kind);
    let g = crate::stats::FileGen::new(dir, kind, fg, settings.statistics.contains(&kind));
    g.enabled().then_some(g)
}
