//! The NTS state in mode 6 system variables (`ntpq -c rv`), after the
//! `setvar` ones: the server side's NTS-KE and NTP counters and current
//! cookie key (its id, age in seconds, and how many keys are accepted),
//! and the client associations' totals; the values come from
//! `metrics_nts`, which the Prometheus endpoint shares. Per association,
//! the peer status word shows an NTS association as authentication
//! enabled and, once a reply verified, authentic (`ntpq -c as`).

use super::metrics::nts::{association_metrics, server_metrics};
use super::Core;
use crate::mode6::ExtraVar;

fn var(name: &str, value: impl std::fmt::Display) -> ExtraVar {
    ExtraVar {
        text: format!("{name}={value}"),
        default: true,
    }
}

impl Core {
    /// The NTS variables, in the default `rv` list.
    pub(super) fn nts_system_vars(&self) -> Vec<ExtraVar> {
        let mut out = Vec::new();
        if let Some(s) = &self.nts.server {
            let m = server_metrics(s);
            out.push(var("nts_ke_served", m.ke_served));
            out.push(var("nts_ke_refused", m.ke_refused));
            out.push(var("nts_ke_tls_failed", m.ke_tls_failed));
            out.push(var("nts_ke_aborted", m.ke_aborted));
            out.push(var("nts_ke_source_limited", m.ke_source_limited));
            out.push(var("nts_replies", m.replies));
            out.push(var("nts_naks", m.naks));
            out.push(var("nts_dropped", m.dropped));
            out.push(var("nts_cookie_key", m.cookie_key_id));
            out.push(var("nts_cookie_key_age", m.cookie_key_age));
            out.push(var("nts_cookie_keys", m.cookie_keys));
        }
        let peers: Vec<_> = self
            .assocs
            .iter()
            .filter_map(|r| association_metrics(&r.assoc.auth))
            .collect();
        if !peers.is_empty() {
            out.push(var("nts_associations", peers.len()));
            out.push(var(
                "nts_cookies",
                peers.iter().map(|p| p.cookies).sum::<u64>(),
            ));
            out.push(var(
                "nts_key_exchanges",
                peers.iter().map(|p| p.key_exchanges).sum::<u64>(),
            ));
            out.push(var(
                "nts_authentic",
                peers.iter().map(|p| p.authentic).sum::<u64>(),
            ));
            out.push(var(
                "nts_refused",
                peers.iter().map(|p| p.refused).sum::<u64>(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use nts::server_keys::{RotationPolicy, ServerKeys};
    use rand::SeedableRng;
    use std::sync::atomic::Ordering;

    use super::super::control::tests::read_system_vars;
    use super::super::nts_serve::NtsServer;
    use super::*;

    #[test]
    fn server_counters_are_system_variables() {
        let p = std::path::Path::new("t.conf");
        let c = config::conf::parse_str("", p).unwrap();
        let s =
            super::super::settings::Settings::from_conf(&c.config, &Default::default(), p).unwrap();
        let mut core = Core::simulated(&s, crate::auth::KeyRing::default(), -20);
        assert!(!read_system_vars(&mut core, "").contains("nts_"));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let keys = ServerKeys::new(0, RotationPolicy::default(), &mut rng);
        let id = keys.current().id;
        let server = NtsServer {
            keys: Arc::new(Mutex::new(keys)),
            counters: Arc::default(),
            ke: Arc::default(),
            store: super::super::nts_keyfile::store(&std::env::temp_dir().join("nts-keys"))
                .unwrap(),
        };
        server.ke.served.fetch_add(3, Ordering::Relaxed);
        server.ke.source_limited.fetch_add(2, Ordering::Relaxed);
        server.counters.replies.fetch_add(5, Ordering::Relaxed);
        core.nts.server = Some(server);
        let all = read_system_vars(&mut core, "");
        for want in [
            "nts_ke_served=3",
            "nts_ke_source_limited=2",
            "nts_replies=5",
            "nts_naks=0",
            "nts_cookie_keys=1",
            &format!("nts_cookie_key={id}"),
        ] {
            assert!(all.contains(want), "{want}: {all}");
        }
        assert_eq!(
            read_system_vars(&mut core, "nts_replies"),
            "nts_replies=5\r\n"
        );
    }
}
