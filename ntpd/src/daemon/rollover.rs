//! Key rollover on SIGHUP (the guide's monthly updates, §6.7.1.5 and
//! §6.7.2.6, without a restart; RFC 5906 §6 keys and certificates): the
//! event loop reads the client identity parameters of every group again
//! ([`Core::reload_client_params`]: Autokey restarts, with the new ones,
//! on the associations of the groups whose files changed), then the host
//! key, certificate and server identity keys ([`reload`], the IO) and
//! hands them to
//! [`Core::install_host_keys`], which keeps every association, restarts
//! Autokey on those whose exchange depended on what changed (our host key
//! encrypts their cookies, our certificate is what servers sign) and logs
//! what changed. A new file that does not load keeps the old keys running
//! and the log says why.

use super::crypto::{self, AutokeyHost};
use super::settings::AutokeySettings;
use super::Core;

/// What differs between two loaded hosts, in operator words.
fn changes(old: &AutokeyHost, new: &AutokeyHost) -> Vec<String> {
    let mut out = Vec::new();
    let key = |h: &AutokeyHost| h.host.host_key().public_key_to_der().unwrap_or_default();
    if key(old) != key(new) {
        out.push("host key replaced".to_string());
    }
    let (oc, nc) = (old.host.cert(), new.host.cert());
    if oc.der != nc.der {
        out.push(format!(
            "certificate {} (serial {}) replaced by serial {}, valid to Unix {}",
            nc.subject, oc.serial, nc.serial, nc.not_after
        ));
    }
    for scheme in [
        keystore::Scheme::Iff,
        keystore::Scheme::Gq,
        keystore::Scheme::Mv,
    ] {
        let fs = |h: &AutokeyHost| h.host.identity(scheme).map(|i| i.filestamp());
        match (fs(old), fs(new)) {
            (a, b) if a == b => {}
            (_, Some(b)) => out.push(format!("{scheme} server key now filestamp {b}")),
            (Some(_), None) => out.push(format!("{scheme} server key removed")),
            (None, None) => {}
        }
    }
    out
}

/// What made the daemon reload its keys, as the log lines begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// SIGHUP.
    Hangup,
    /// The `ntpkey_*` entries of `keysdir` changed ([`super::keys_watch`]).
    KeysChanged,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cause::Hangup => "SIGHUP received",
            Cause::KeysChanged => "the keys directory changed",
        })
    }
}

/// SIGHUP (or a change in the keys directory): loads the keys again with
/// the start-up settings and installs them; `now` is NTP seconds. Logs
/// the outcome.
pub fn reload(core: &mut Core, settings: &AutokeySettings, now: u32, cause: Cause) {
    if core.autokey.is_none() {
        tracing::info!("{cause}: no crypto configured, nothing to reload");
        return;
    }
    core.reload_client_params(now, cause);
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    match crypto::load(settings, now, &mut rng) {
        Ok(Some(new)) => core.install_host_keys(new, now, cause),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!("{cause}: the new keys were not loaded, the old ones stay in use: {e}")
        }
    }
}

impl Core {
    /// Reads the client identity parameters of every group again
    /// ([`crypto::AutokeyHost::reload_identities`]) and restarts Autokey,
    /// with the new parameters, on the associations of the groups whose
    /// files changed; the others keep running. Logs what changed, and
    /// why a group's new file was not taken.
    pub fn reload_client_params(&mut self, now: u32, cause: Cause) {
        let Some(host) = self.autokey.as_mut() else {
            return;
        };
        let reloaded = host.reload_identities();
        for why in &reloaded.failed {
            tracing::warn!("{cause}: {why}");
        }
        if reloaded.groups.is_empty() {
            return;
        }
        let mut restarted = 0;
        for r in &mut self.assocs {
            let Some(engine) = r.assoc.auth.autokey_engine_mut() else {
                continue;
            };
            let group = engine.ident().map(str::to_owned);
            if !reloaded.groups.contains(&group) {
                continue;
            }
            match host.client_identities(group.as_deref()) {
                Ok((own, named)) => {
                    engine.replace_identities(own, named, now);
                    restarted += 1;
                }
                Err(e) => tracing::warn!(
                    "{cause}: {}: the reloaded client parameters cannot be copied ({e}); Autokey keeps the old ones",
                    r.assoc.cfg.remote
                ),
            }
        }
        tracing::info!(
            "{cause}: {}; Autokey restarted on {restarted} association(s), all kept",
            reloaded.changed.join("; ")
        );
    }

    /// Installs reloaded keys: associations stay; where our host key or
    /// certificate changed, Autokey restarts on every association (its
    /// cookie and signed certificate were for the old ones).
    pub fn install_host_keys(&mut self, mut new: AutokeyHost, now: u32, cause: Cause) {
        let Some(old) = self.autokey.as_ref() else {
            return;
        };
        let changed = changes(old, &new);
        if changed.is_empty() {
            tracing::info!(
                "{cause}: the host key, certificate and server identity files are unchanged"
            );
            return;
        }
        if old.host.synchronised() {
            new.host.update(now);
        }
        if let Some(t) = self.leap_table {
            new.host.set_leap(t.leap_values());
        }
        let restart = changed
            .iter()
            .any(|c| c.starts_with("host key") || c.starts_with("certificate"));
        self.out.cryptostats.startup = super::cryptostats::startup_lines(&new);
        if let Some(old) = self.autokey.as_mut() {
            new.keep_identities_of(old);
        }
        self.autokey = Some(new);
        let mut restarted = 0;
        if restart {
            // A cleared engine is not proventic until it proves the
            // source again.
            for r in &mut self.assocs {
                if let Some(engine) = r.assoc.auth.autokey_engine_mut() {
                    engine.clear(now);
                    restarted += 1;
                }
            }
        }
        tracing::info!(
            "{cause}: keys reloaded: {}; Autokey restarted on {restarted} association(s), all kept",
            changed.join("; ")
        );
    }
}
