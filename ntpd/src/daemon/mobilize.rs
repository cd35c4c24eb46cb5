//! Configured associations (`server`, `pool`, `peer`, `broadcast`,
//! `manycastclient`) turned into [`AssocConfig`]s: names resolved once at
//! start-up, `-4`/`-6` honoured, options mapped. What is not built yet is
//! reported by line, never silently dropped.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use config::conf::{AddressFamily, AssocMode, Association, Host, Origin};

use crate::assoc::{AssocConfig, HostMode};

/// Most associations a `pool` line mobilises (the reference's default
/// `tos maxclock`).
pub const POOL_MAX: usize = 10;

/// The result of mobilising the configured associations.
#[derive(Debug, Default)]
pub struct Mobilized {
    /// Associations to run.
    pub configs: Vec<AssocConfig>,
    /// `FILE:LINE:COL: what` for each part not acted on.
    pub not_built: Vec<String>,
}

fn family_ok(ip: &IpAddr, fam: AddressFamily, ipv4_only: bool, ipv6_only: bool) -> bool {
    let v4 = ip.is_ipv4();
    match fam {
        AddressFamily::Ipv4 if !v4 => return false,
        AddressFamily::Ipv6 if v4 => return false,
        _ => {}
    }
    !(ipv4_only && !v4 || ipv6_only && v4)
}

fn resolve(host: &Host) -> Vec<IpAddr> {
    match host {
        Host::Ip(ip) => vec![*ip],
        Host::Name(n) => (n.as_str(), 0)
            .to_socket_addrs()
            .map(|it| it.map(|a| a.ip()).collect())
            .unwrap_or_default(),
    }
}

/// Mobilise `assocs` on remote `port`; broadcast clients assume
/// `broadcast_delay` seconds of round trip.
pub fn mobilize(
    assocs: &[(Association, Origin)],
    port: u16,
    ipv4_only: bool,
    ipv6_only: bool,
    broadcast_delay: f64,
) -> Mobilized {
    let mut out = Mobilized::default();
    for (a, at) in assocs {
        let kw = a.mode.keyword();
        let (pool, mode) = match a.mode {
            AssocMode::Server => (false, HostMode::Client),
            AssocMode::Pool => (true, HostMode::Client),
            AssocMode::Peer => (false, HostMode::SymmetricActive),
            AssocMode::Broadcast => (false, HostMode::BroadcastServer),
            AssocMode::ManycastClient => (false, HostMode::ManycastClient),
        };
        let o = &a.options;
        // `autokey` runs in every mode (RFC 5906 §9.3; the manycast
        // client since issue 13: `manycast_autokey`).
        for (set, name) in [
            (
                o.ident.is_some() && mode == HostMode::BroadcastServer,
                "ident",
            ),
            (o.xleave, "xleave"),
            (o.preempt, "preempt"),
            (o.xmtnonce, "xmtnonce"),
            (
                o.ttl.is_some()
                    && !matches!(mode, HostMode::BroadcastServer | HostMode::ManycastClient),
                "ttl",
            ),
        ] {
            if set {
                out.not_built
                    .push(format!("{at}: `{kw}` option `{name}` is not acted on yet"));
            }
        }
        let addrs: Vec<IpAddr> = resolve(&a.address.host)
            .into_iter()
            .filter(|ip| family_ok(ip, a.address.family, ipv4_only, ipv6_only))
            .collect();
        if addrs.is_empty() {
            out.not_built.push(format!(
                "{at}: `{kw} {}` does not resolve to a usable address",
                match &a.address.host {
                    Host::Ip(ip) => ip.to_string(),
                    Host::Name(n) => n.clone(),
                }
            ));
            continue;
        }
        let take = if pool { POOL_MAX } else { 1 };
        for ip in addrs.into_iter().take(take) {
            if out.configs.iter().any(|c| c.remote.ip() == ip) {
                continue;
            }
            out.configs.push(AssocConfig {
                remote: SocketAddr::new(ip, port),
                mode,
                key: o.key,
                version: o.version.unwrap_or(4),
                minpoll: o.minpoll.map_or(6, |v| v as i8),
                maxpoll: o.maxpoll.map_or(10, |v| v as i8),
                iburst: o.iburst,
                prefer: o.prefer,
                noselect: o.noselect,
                from_pool: pool,
                ephemeral: false,
                ttl: o.ttl,
                broadcast_delay,
                burst: o.burst,
                truechimer: o.truechimer,
                autokey: o.autokey,
                ident: o.ident.clone(),
                nts: o.nts,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn assocs(text: &str) -> Vec<(Association, Origin)> {
        let c = config::conf::parse_str(text, Path::new("t.conf")).unwrap();
        crate::daemon::settings::Settings::from_conf(
            &c.config,
            &Default::default(),
            Path::new("t.conf"),
        )
        .unwrap()
        .associations
    }

    #[test]
    fn server_options_map_to_the_association() {
        let m = mobilize(
            &assocs("server 192.0.2.1 iburst minpoll 4 maxpoll 5 key 7 version 3 prefer\n"),
            123,
            false,
            false,
            0.004,
        );
        assert_eq!(m.configs.len(), 1);
        let c = &m.configs[0];
        assert_eq!(c.remote, "192.0.2.1:123".parse().unwrap());
        assert_eq!((c.minpoll, c.maxpoll, c.version, c.key), (4, 5, 3, Some(7)));
        assert!(c.iburst && c.prefer && !c.noselect);
        assert!(m.not_built.is_empty(), "{:?}", m.not_built);
    }

    #[test]
    fn modes_map_and_unbuilt_ones_are_reported_by_line() {
        let m = mobilize(
            &assocs(
                "peer 192.0.2.3\nbroadcast 224.0.1.1 ttl 2 key 1\nmanycastclient 239.1.1.1 ttl 4 key 2\n\
                 server 192.0.2.4 burst true xleave\n",
            ),
            123,
            false,
            false,
            0.004,
        );
        assert_eq!(m.configs.len(), 4);
        assert_eq!(m.configs[0].mode, HostMode::SymmetricActive);
        assert_eq!(m.configs[1].mode, HostMode::BroadcastServer);
        assert_eq!((m.configs[1].ttl, m.configs[1].key), (Some(2), Some(1)));
        assert_eq!(m.configs[2].mode, HostMode::ManycastClient);
        assert_eq!((m.configs[2].ttl, m.configs[2].key), (Some(4), Some(2)));
        assert_eq!(m.configs[3].mode, HostMode::Client);
        assert!(m.configs[3].burst && m.configs[3].truechimer);
        assert!(!m.configs[0].burst && !m.configs[0].truechimer);
        assert_eq!(m.not_built.len(), 1, "{:?}", m.not_built);
        assert!(
            m.not_built[0].starts_with("t.conf:4:1: `server` option `xleave`"),
            "{:?}",
            m.not_built
        );
        // The guide's `broadcast … autokey` (§6.7.1.2.1) runs: no warning.
        let m = mobilize(
            &assocs("broadcast 224.0.1.1 autokey\n"),
            123,
            false,
            false,
            0.004,
        );
        assert_eq!(m.configs.len(), 1);
        assert!(m.configs[0].autokey, "autokey kept on the broadcast");
        assert!(m.not_built.is_empty(), "{:?}", m.not_built);
        // `manycastclient … autokey` (issue 13): carried, no warning.
        let m = mobilize(
            &assocs("manycastclient 224.0.1.1 autokey\n"),
            123,
            false,
            false,
            0.004,
        );
        assert_eq!(m.configs.len(), 1);
        assert_eq!(m.configs[0].mode, HostMode::ManycastClient);
        assert!(m.configs[0].autokey, "autokey kept on the manycast client");
        assert!(m.not_built.is_empty(), "{:?}", m.not_built);
        // -4 on the command line drops IPv6 servers.
        let m = mobilize(&assocs("server 2001:db8::1\n"), 123, true, false, 0.004);
        assert!(m.configs.is_empty());
    }
}
