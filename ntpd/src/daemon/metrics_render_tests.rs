//! Rendering of [`MetricsSnapshot`]s: names, types, units, labels and
//! values, and the snapshot a simulated core publishes.

use super::*;
use crate::daemon::metrics::{
    AssociationAutokey, AssociationNts, HardeningCounters, NtsServerMetrics, PacketCounters,
    SystemMetrics,
};
use proto::control::PeerSelection;

/// The value of the sample line `series` (name and labels as written) in
/// `text`, if there is exactly one such line.
fn sample(text: &str, series: &str) -> Option<f64> {
    let mut found = text.lines().filter_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series)
            .then(|| value.parse::<f64>().ok())
            .flatten()
    });
    let v = found.next()?;
    found.next().is_none().then_some(v)
}

fn association(id: u16, ip: &str, selection: PeerSelection) -> AssociationMetrics {
    AssociationMetrics {
        association_id: id,
        remote: format!("{ip}:123").parse().unwrap(),
        kind: 'u',
        refid: ".GPS.".into(),
        selection,
        reach: 0o377,
        unreach: 0,
        stratum: 1,
        poll_seconds: 64,
        host_poll: 6,
        peer_poll: 6,
        delay: 0.000_25,
        offset: -0.000_125,
        jitter: 0.000_031_25,
        dispersion: 0.0625,
        root_delay: 0.0,
        root_dispersion: 0.001,
        key_id: 0,
        authentic: false,
        received: 10,
        sent: 11,
        bad_auth: 1,
        bogus_origin: 2,
        old_packets: 3,
        kiss_received: 4,
        autokey: None,
        nts: None,
    }
}

fn snapshot() -> MetricsSnapshot {
    let mut autokeyed = association(7, "192.0.2.2", PeerSelection::Candidate);
    autokeyed.refid = "192.0.2.9".into();
    autokeyed.stratum = 2;
    autokeyed.key_id = 1234;
    autokeyed.authentic = true;
    autokeyed.autokey = Some(AssociationAutokey {
        flags: 0x80f21,
        proventic: true,
    });
    MetricsSnapshot {
        system: SystemMetrics {
            uptime: 42,
            leap: 0,
            synchronized: true,
            sys_peer: Some(3),
            stratum: 2,
            precision: -20,
            root_delay: 0.000_5,
            root_dispersion: 0.25,
            refid: "192.0.2.1".into(),
            poll: 6,
            offset: 0.001_25,
            frequency: 12.5e-6,
            sys_jitter: 0.000_5,
            clock_jitter: 0.000_25,
            clock_wander: 0.5e-6,
            autokey_flags: Some(0x80021),
            nts_server: None,
        },
        associations: vec![
            association(3, "192.0.2.1", PeerSelection::SysPeer),
            autokeyed,
        ],
        counters: PacketCounters {
            received: 100,
            processed: 90,
            sent: 80,
            send_failed: 1,
            dropped: 2,
            ignored: 3,
            this_version: 95,
            old_version: 5,
            bad_format: 4,
            bad_auth: 6,
            restricted: 7,
            rate_limited: 8,
            kiss_sent: 9,
            mru_depth: 12,
        },
        hardening: HardeningCounters {
            autokey_admitted: 20,
            autokey_refused_source: 21,
            autokey_refused_global: 22,
            autokey_excess_octets: 2300,
            autokey_private_key_ops: 24,
        },
    }
}

#[test]
fn system_variables_are_rendered_in_base_units() {
    let text = render(&snapshot());
    for (series, want) in [
        ("ntpd_system_offset_seconds", 0.001_25),
        ("ntpd_system_jitter_seconds", 0.000_5),
        ("ntpd_system_clock_jitter_seconds", 0.000_25),
        ("ntpd_system_root_delay_seconds", 0.000_5),
        ("ntpd_system_root_dispersion_seconds", 0.25),
        ("ntpd_system_frequency_ppm", 12.5),
        ("ntpd_system_clock_wander_ppm", 0.5),
        ("ntpd_system_stratum", 2.0),
        ("ntpd_system_precision_log2", -20.0),
        ("ntpd_system_poll_log2", 6.0),
        ("ntpd_system_leap", 0.0),
        ("ntpd_system_synchronized", 1.0),
        ("ntpd_uptime_seconds", 42.0),
        ("ntpd_autokey_host_flags", f64::from(0x80021)),
        ("ntpd_system_info{refid=\"192.0.2.1\",sys_peer=\"3\"}", 1.0),
    ] {
        let got = sample(&text, series).unwrap_or_else(|| panic!("{series} in\n{text}"));
        assert!((got - want).abs() < 1e-12, "{series}: {got} != {want}");
    }
    assert!(
        text.contains("# TYPE ntpd_system_offset_seconds gauge\n"),
        "{text}"
    );
    assert!(
        text.contains("# UNIT ntpd_system_offset_seconds seconds\n"),
        "{text}"
    );
    assert!(
        text.contains("# HELP ntpd_system_offset_seconds Last clock offset (rv offset).\n"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn associations_are_labelled_as_ntpq_shows_them() {
    let text = render(&snapshot());
    let peer = "{associd=\"3\",remote=\"192.0.2.1\",type=\"u\"}";
    for (name, want) in [
        ("ntpd_peer_reach", 255.0),
        ("ntpd_peer_stratum", 1.0),
        ("ntpd_peer_poll_seconds", 64.0),
        ("ntpd_peer_delay_seconds", 0.000_25),
        ("ntpd_peer_offset_seconds", -0.000_125),
        ("ntpd_peer_jitter_seconds", 0.000_031_25),
        ("ntpd_peer_dispersion_seconds", 0.0625),
        ("ntpd_peer_selection", 6.0),
        ("ntpd_peer_authenticated", 0.0),
        ("ntpd_peer_received_packets_total", 10.0),
        ("ntpd_peer_sent_packets_total", 11.0),
        ("ntpd_peer_bad_auth_total", 1.0),
        ("ntpd_peer_bogus_origin_total", 2.0),
        ("ntpd_peer_old_packets_total", 3.0),
        ("ntpd_peer_kiss_received_total", 4.0),
    ] {
        let series = format!("{name}{peer}");
        let got = sample(&text, &series).unwrap_or_else(|| panic!("{series} in\n{text}"));
        assert!((got - want).abs() < 1e-12, "{series}: {got} != {want}");
    }
    assert_eq!(
        sample(
            &text,
            "ntpd_peer_info{associd=\"3\",remote=\"192.0.2.1\",type=\"u\",refid=\".GPS.\",tally=\"*\",condition=\"sys.peer\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE ntpd_peer_received_packets counter\n"),
        "{text}"
    );
}

#[test]
fn autokey_state_is_shown_only_for_autokey_associations() {
    let text = render(&snapshot());
    let ak = "{associd=\"7\",remote=\"192.0.2.2\",type=\"u\"}";
    assert_eq!(
        sample(&text, &format!("ntpd_peer_autokey_flags{ak}")),
        Some(f64::from(0x80f21))
    );
    assert_eq!(
        sample(&text, &format!("ntpd_peer_autokey_proventic{ak}")),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, &format!("ntpd_peer_key_id{ak}")),
        Some(1234.0)
    );
    assert_eq!(
        sample(&text, &format!("ntpd_peer_authenticated{ak}")),
        Some(1.0)
    );
    assert!(
        !text.contains("ntpd_peer_autokey_flags{associd=\"3\""),
        "{text}"
    );
    let mut plain = snapshot();
    plain.system.autokey_flags = None;
    assert!(!render(&plain).contains("ntpd_autokey_host_flags"));
}

#[test]
fn packet_and_budget_counters_are_totals() {
    let text = render(&snapshot());
    for (series, want) in [
        ("ntpd_packets_received_total", 100.0),
        ("ntpd_packets_processed_total", 90.0),
        ("ntpd_packets_sent_total", 80.0),
        ("ntpd_packets_send_failed_total", 1.0),
        ("ntpd_packets_dropped_total", 2.0),
        ("ntpd_packets_ignored_total", 3.0),
        ("ntpd_packets_this_version_total", 95.0),
        ("ntpd_packets_old_version_total", 5.0),
        ("ntpd_packets_bad_format_total", 4.0),
        ("ntpd_packets_bad_auth_total", 6.0),
        ("ntpd_packets_restricted_total", 7.0),
        ("ntpd_packets_rate_limited_total", 8.0),
        ("ntpd_kiss_sent_total", 9.0),
        ("ntpd_mru_entries", 12.0),
        ("ntpd_autokey_budget_admitted_total", 20.0),
        ("ntpd_autokey_budget_refused_total{budget=\"source\"}", 21.0),
        ("ntpd_autokey_budget_refused_total{budget=\"global\"}", 22.0),
        ("ntpd_autokey_budget_excess_bytes_total", 2300.0),
        ("ntpd_autokey_budget_private_key_ops_total", 24.0),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{series} in\n{text}");
    }
}

#[test]
fn label_values_are_escaped() {
    let mut s = snapshot();
    s.associations[0].refid = ".A\"B.".into();
    let text = render(&s);
    assert!(text.contains("refid=\".A\\\"B.\""), "{text}");
}

#[test]
fn a_gone_association_leaves_no_series() {
    let mut s = snapshot();
    s.associations.truncate(1);
    let text = render(&s);
    assert!(!text.contains("associd=\"7\""), "{text}");
    s.associations.clear();
    let text = render(&s);
    // An empty family is left out whole (no HELP or TYPE line either).
    assert!(!text.contains("ntpd_peer_"), "{text}");
    assert_eq!(sample(&text, "ntpd_system_stratum"), Some(2.0), "{text}");
}

/// A simulated core publishes what its mode 6 view shows: an
/// unsynchronised daemon with one configured server not yet reached.
#[test]
fn a_fresh_core_snapshot_matches_its_mode6_view() {
    use crate::assoc::{AssocConfig, HostMode};
    let p = std::path::Path::new("t.conf");
    let c = config::conf::parse_str("", p).unwrap();
    let s =
        crate::daemon::settings::Settings::from_conf(&c.config, &Default::default(), p).unwrap();
    let mut core = crate::daemon::Core::simulated(&s, crate::auth::KeyRing::default(), -20);
    core.mobilize(
        AssocConfig::new("192.0.2.9:123".parse().unwrap(), HostMode::Client),
        Some(1),
        None,
    );
    let snap = core.metrics_snapshot();
    let rv = crate::daemon::control::tests::read_system_vars(&mut core, "stratum,leap,refid");
    assert!(rv.contains("stratum=16") && rv.contains("leap=3"), "{rv}");
    assert_eq!(snap.system.stratum, 16);
    assert_eq!(snap.system.leap, 3);
    assert!(!snap.system.synchronized);
    assert_eq!(snap.system.sys_peer, None);
    assert_eq!(snap.associations.len(), 1);
    let a = &snap.associations[0];
    assert_eq!(a.remote, "192.0.2.9:123".parse().unwrap());
    assert_eq!((a.kind, a.refid.as_str(), a.reach), ('u', ".INIT.", 0));
    assert_eq!(a.selection, PeerSelection::Reject);
    assert_eq!(a.stratum, 16);
    assert_eq!(a.autokey, None);
    let text = render(&snap);
    assert_eq!(sample(&text, "ntpd_system_synchronized"), Some(0.0));
    assert_eq!(
        sample(
            &text,
            &format!(
                "ntpd_peer_reach{{associd=\"{}\",remote=\"192.0.2.9\",type=\"u\"}}",
                a.association_id
            )
        ),
        Some(0.0)
    );
}

#[test]
fn nts_server_and_association_series_appear_only_with_nts() {
    let plain = render(&snapshot());
    assert!(!plain.contains("ntpd_nts_"), "{plain}");
    assert!(!plain.contains("ntpd_peer_nts_"), "{plain}");
    let mut s = snapshot();
    s.system.nts_server = Some(NtsServerMetrics {
        ke_served: 5,
        ke_refused: 1,
        ke_tls_failed: 2,
        ke_aborted: 3,
        ke_source_limited: 9,
        replies: 40,
        naks: 4,
        dropped: 6,
        cookie_key_id: 77,
        cookie_key_age: 120,
        cookie_keys: 2,
    });
    s.associations[1].nts = Some(AssociationNts {
        cookies: 8,
        key_exchanges: 1,
        authentic: 30,
        refused: 3,
        naks: 1,
    });
    let text = render(&s);
    let peer = "{associd=\"7\",remote=\"192.0.2.2\",type=\"u\"}";
    for (series, want) in [
        (
            "ntpd_nts_ke_sessions_total{outcome=\"served\"}".to_string(),
            5.0,
        ),
        (
            "ntpd_nts_ke_sessions_total{outcome=\"refused\"}".into(),
            1.0,
        ),
        (
            "ntpd_nts_ke_sessions_total{outcome=\"tls_failed\"}".into(),
            2.0,
        ),
        (
            "ntpd_nts_ke_sessions_total{outcome=\"aborted\"}".into(),
            3.0,
        ),
        (
            "ntpd_nts_ke_sessions_total{outcome=\"source_limited\"}".into(),
            9.0,
        ),
        ("ntpd_nts_replies_total".into(), 40.0),
        ("ntpd_nts_naks_total".into(), 4.0),
        ("ntpd_nts_dropped_total".into(), 6.0),
        ("ntpd_nts_cookie_key_id".into(), 77.0),
        ("ntpd_nts_cookie_key_age_seconds".into(), 120.0),
        ("ntpd_nts_cookie_keys".into(), 2.0),
        (format!("ntpd_peer_nts_cookies{peer}"), 8.0),
        (format!("ntpd_peer_nts_key_exchanges_total{peer}"), 1.0),
        (format!("ntpd_peer_nts_authentic_total{peer}"), 30.0),
        (format!("ntpd_peer_nts_refused_total{peer}"), 3.0),
        (format!("ntpd_peer_nts_naks_total{peer}"), 1.0),
    ] {
        assert_eq!(sample(&text, &series), Some(want), "{series} in\n{text}");
    }
    // The association without NTS has no NTS series.
    assert!(
        !text.contains("ntpd_peer_nts_cookies{associd=\"3\""),
        "{text}"
    );
}
