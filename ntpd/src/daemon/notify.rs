//! Telling systemd how the daemon is doing (`Type=notify` services,
//! sd_notify(3)): `READY=1` once the sockets are bound, the keys loaded
//! and privileges dropped (on the event loop's first system tick, which
//! runs as soon as the loop starts); a `STATUS=` line whenever the synchronisation
//! state, stratum or Autokey state changes; `WATCHDOG=1` every system
//! tick while the service manager asks for it (`WatchdogSec=`, seen as
//! `WATCHDOG_USEC`); `STOPPING=1` when a signal ends the daemon.
//!
//! The datagrams are sent with the `sd-notify` crate: a small, maintained
//! crate with no dependencies beyond `libc` that writes the documented
//! `NAME=VALUE` lines to `$NOTIFY_SOCKET` (path or abstract socket) and
//! reads `WATCHDOG_USEC`/`WATCHDOG_PID` as sd_watchdog_enabled(3) does,
//! without linking libsystemd. Without `NOTIFY_SOCKET` nothing is sent.

use std::time::{Duration, Instant};

use proto::LeapIndicator;
use sd_notify::NotifyState;

use super::Core;

/// The daemon's side of the notification protocol; `None` from
/// [`ServiceNotifier::from_environment`] when no service manager listens.
#[derive(Debug)]
pub struct ServiceNotifier {
    /// `WATCHDOG_USEC` for this process, if set.
    watchdog: Option<Duration>,
    /// When `WATCHDOG=1` was last sent.
    last_watchdog: Option<Instant>,
    /// The last `STATUS=` text sent, so that only changes are sent.
    last_status: String,
    /// Whether `READY=1` was sent.
    ready: bool,
}

/// What the `STATUS=` line says (systemctl status shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Whether the system leap indicator says synchronised (not 3).
    pub synchronised: bool,
    /// The system peer's address, when there is one.
    pub sys_peer: Option<String>,
    /// The system stratum (RFC 5905 §7.3; 16 when unsynchronised).
    pub stratum: u8,
    /// Autokey associations (RFC 5906) and how many of them are
    /// proventic (PROV lit, §6); `(0, 0)` when none is configured.
    pub autokey: (usize, usize),
}

impl ServiceStatus {
    /// The state of `core` now.
    pub fn of(core: &Core) -> ServiceStatus {
        let sys_peer = core.sync.sys_peer().and_then(|id| {
            core.assocs
                .iter()
                .find(|r| usize::from(r.assoc.id) == id)
                .map(|r| r.assoc.remote().ip().to_string())
        });
        let engines = core
            .assocs
            .iter()
            .filter_map(|r| r.assoc.auth.autokey_engine());
        let autokey = engines.fold((0, 0), |(n, p), e| {
            (n + 1, p + usize::from(e.is_proventic()))
        });
        ServiceStatus {
            synchronised: core.sys.leap != LeapIndicator::Unsynchronized,
            sys_peer,
            stratum: core.sys.stratum.min(16),
            autokey,
        }
    }

    /// The one-line text: `synchronised to 192.0.2.1, stratum 2; Autokey:
    /// 1 of 1 associations proventic`.
    pub fn text(&self) -> String {
        let sync = match (&self.sys_peer, self.synchronised) {
            (Some(peer), true) => format!("synchronised to {peer}, stratum {}", self.stratum),
            (None, true) => format!("synchronised (orphan or local), stratum {}", self.stratum),
            (_, false) => format!("not synchronised, stratum {}", self.stratum),
        };
        match self.autokey {
            (0, _) => sync,
            (n, p) => format!(
                "{sync}; Autokey: {p} of {n} association{} proventic",
                if n == 1 { "" } else { "s" }
            ),
        }
    }
}

impl ServiceNotifier {
    /// A notifier when `NOTIFY_SOCKET` is set, else `None`.
    pub fn from_environment() -> Option<ServiceNotifier> {
        std::env::var_os("NOTIFY_SOCKET")?;
        Some(ServiceNotifier {
            watchdog: sd_notify::watchdog_enabled(),
            last_watchdog: None,
            last_status: String::new(),
            ready: false,
        })
    }

    /// Start-up is over: `READY=1` with the first `STATUS=`, and
    /// `WATCHDOG=1` if the watchdog is on.
    fn ready(&mut self, core: &Core) {
        let status = ServiceStatus::of(core).text();
        let mut states = vec![NotifyState::Ready, NotifyState::Status(&status)];
        if self.watchdog.is_some() {
            states.push(NotifyState::Watchdog);
            self.last_watchdog = Some(Instant::now());
        }
        send(&states);
        if let Some(w) = self.watchdog {
            tracing::info!("service manager watchdog every {} ms", w.as_millis().max(1));
        }
        self.last_status = status;
        self.ready = true;
    }

    /// After a system tick: on the first, `READY=1`; then `STATUS=` when
    /// it changed, `WATCHDOG=1` when half the watchdog interval has passed
    /// (sd_watchdog_enabled(3) recommends half).
    pub fn tick(&mut self, core: &Core) {
        if !self.ready {
            self.ready(core);
            return;
        }
        let status = ServiceStatus::of(core).text();
        let due = self
            .watchdog
            .is_some_and(|w| self.last_watchdog.is_none_or(|t| t.elapsed() >= w / 2));
        let changed = status != self.last_status;
        let mut states = Vec::with_capacity(2);
        if changed {
            states.push(NotifyState::Status(&status));
        }
        if due {
            states.push(NotifyState::Watchdog);
            self.last_watchdog = Some(Instant::now());
        }
        if !states.is_empty() {
            send(&states);
        }
        if changed {
            self.last_status = status;
        }
    }
}

/// `STOPPING=1`: the daemon is shutting down (sent on SIGTERM/SIGINT,
/// before the drift file is saved). Does nothing without `NOTIFY_SOCKET`.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify the service manager through NOTIFY_SOCKET: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_peer_stratum_and_autokey() {
        let mut s = ServiceStatus {
            synchronised: true,
            sys_peer: Some("192.0.2.1".into()),
            stratum: 2,
            autokey: (0, 0),
        };
        assert_eq!(s.text(), "synchronised to 192.0.2.1, stratum 2");
        s.autokey = (2, 1);
        assert_eq!(
            s.text(),
            "synchronised to 192.0.2.1, stratum 2; Autokey: 1 of 2 associations proventic"
        );
        s.synchronised = false;
        s.stratum = 16;
        s.autokey = (1, 0);
        assert_eq!(
            s.text(),
            "not synchronised, stratum 16; Autokey: 0 of 1 association proventic"
        );
        s.synchronised = true;
        s.sys_peer = None;
        s.stratum = 5;
        s.autokey = (0, 0);
        assert_eq!(s.text(), "synchronised (orphan or local), stratum 5");
    }
}
