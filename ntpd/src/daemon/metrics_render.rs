//! A [`MetricsSnapshot`] as Prometheus text (the OpenMetrics 1.0 text
//! format, which Prometheus scrapes natively), encoded by the
//! `prometheus-client` crate: the Prometheus project's own Rust client,
//! which escapes label values, appends `_total`/unit suffixes and writes
//! `# HELP`/`# TYPE`/`# UNIT` lines and the closing `# EOF` by the
//! specification, so none of that is written by hand here.
//!
//! A registry is built afresh for each scrape from the snapshot: the
//! associations come and go, and a fresh registry never shows a series for
//! one that is gone. Every name is listed in docs/metrics.md with the
//! `ntpq` variable it mirrors; values are in base units (seconds), and
//! frequencies in ppm as `ntpq -c rv` shows them.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::metrics::{AssociationMetrics, MetricsSnapshot};

/// The HTTP `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The prefix of every metric name.
const PREFIX: &str = "ntpd";

/// A floating-point gauge.
type FloatGauge = Gauge<f64, AtomicU64>;

/// A per-association gauge: name, help, unit, and its value.
type PeerGauge = (
    &'static str,
    &'static str,
    Option<Unit>,
    fn(&AssociationMetrics) -> f64,
);

/// A per-association counter: name, help, and its value.
type PeerCounter = (&'static str, &'static str, fn(&AssociationMetrics) -> u64);

/// The labels of a per-association metric: as `ntpq -p` identifies a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PeerLabels {
    /// `associd`.
    associd: String,
    /// `srcadr` (`ntpq -p`'s `remote` column, numeric).
    remote: String,
    /// `ntpq -p`'s `t` column.
    r#type: String,
}

/// The labels of `ntpd_peer_info`: those of [`PeerLabels`] and the
/// values that change while the association lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PeerInfoLabels {
    associd: String,
    remote: String,
    r#type: String,
    /// `ntpq -p`'s `refid` column.
    refid: String,
    /// `ntpq -p`'s tally code (`*`, `+`, `-`, `x`, …; a space shows as "").
    tally: String,
    /// `ntpq -c as`'s `condition` column (`sys.peer`, `candidate`, …).
    condition: String,
}

/// The labels of `ntpd_system_info`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SystemInfoLabels {
    /// `refid` of `ntpq -c rv`.
    refid: String,
    /// `peer`: the system peer's association ID ("" without one).
    sys_peer: String,
}

/// The labels of the Autokey budget refusals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BudgetLabels {
    /// `source` or `global`.
    budget: String,
}

fn peer_labels(a: &AssociationMetrics) -> PeerLabels {
    PeerLabels {
        associd: a.association_id.to_string(),
        remote: a.remote.ip().to_string(),
        r#type: a.kind.to_string(),
    }
}

/// A gauge of `value`.
fn float(value: f64) -> FloatGauge {
    let g = FloatGauge::default();
    g.set(value);
    g
}

/// An integer gauge of `value`.
fn int(value: i64) -> Gauge {
    let g = Gauge::default();
    g.set(value);
    g
}

/// A counter at `value`.
fn counter(value: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(value);
    c
}

/// The snapshot as Prometheus text.
pub fn render(s: &MetricsSnapshot) -> String {
    let mut r = Registry::with_prefix(PREFIX);
    system(&mut r, s);
    nts::server(&mut r, s.system.nts_server.as_ref());
    associations(&mut r, &s.associations);
    nts::associations(&mut r, &s.associations);
    packets(&mut r, s);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &r);
    out
}

/// The system variables.
fn system(r: &mut Registry, s: &MetricsSnapshot) {
    let v = &s.system;
    let secs = |r: &mut Registry, name: &str, help: &str, value: f64| {
        r.register_with_unit(name, help, Unit::Seconds, float(value));
    };
    secs(
        r,
        "uptime",
        "Time since the daemon started (ss_uptime)",
        v.uptime as f64,
    );
    secs(
        r,
        "system_offset",
        "Last clock offset (rv offset)",
        v.offset,
    );
    secs(
        r,
        "system_jitter",
        "System jitter (rv sys_jitter)",
        v.sys_jitter,
    );
    secs(
        r,
        "system_clock_jitter",
        "Clock jitter (rv clk_jitter)",
        v.clock_jitter,
    );
    secs(
        r,
        "system_root_delay",
        "Root delay (rv rootdelay)",
        v.root_delay,
    );
    secs(
        r,
        "system_root_dispersion",
        "Root dispersion (rv rootdisp)",
        v.root_dispersion,
    );
    let ppm = |r: &mut Registry, name: &str, help: &str, value: f64| {
        r.register_with_unit(name, help, Unit::Other("ppm".into()), float(value * 1e6));
    };
    ppm(
        r,
        "system_frequency",
        "Frequency correction (rv frequency)",
        v.frequency,
    );
    ppm(
        r,
        "system_clock_wander",
        "Frequency wander (rv clk_wander)",
        v.clock_wander,
    );
    r.register(
        "system_stratum",
        "Stratum, 16 unsynchronised (rv stratum)",
        int(v.stratum.into()),
    );
    r.register(
        "system_precision_log2",
        "Clock precision, log2 seconds (rv precision)",
        int(v.precision.into()),
    );
    r.register(
        "system_poll_log2",
        "System poll interval, log2 seconds (rv tc)",
        int(v.poll.into()),
    );
    r.register(
        "system_leap",
        "Leap indicator, 3 unsynchronised (rv leap)",
        int(v.leap.into()),
    );
    r.register(
        "system_synchronized",
        "1 when the clock is synchronised (leap indicator not 3), else 0",
        int(v.synchronized.into()),
    );
    r.register(
        "system",
        "The system reference ID and system peer (rv refid, peer)",
        Info::new(SystemInfoLabels {
            refid: v.refid.clone(),
            sys_peer: v.sys_peer.map_or_else(String::new, |id| id.to_string()),
        }),
    );
    if let Some(flags) = v.autokey_flags {
        r.register(
            "autokey_host_flags",
            "The host's Autokey status word (rv 0 flags)",
            int(flags.into()),
        );
    }
}

/// The per-association metrics (`ntpq -p`, `rv ASSOCID`).
fn associations(r: &mut Registry, list: &[AssociationMetrics]) {
    let info = Family::<PeerInfoLabels, Gauge>::default();
    let gauges: [PeerGauge; 13] = [
        ("peer_reach", "Reach register, 0-255 (ntpq -p reach, in octal there)", None, |a| a.reach.into()),
        ("peer_unreach", "Polls since the source was last reached (rv unreach)", None, |a| a.unreach.into()),
        ("peer_stratum", "Stratum of the source, 16 before a reply (ntpq -p st)", None, |a| a.stratum.into()),
        ("peer_poll", "Poll interval (ntpq -p poll)", Some(Unit::Seconds), |a| a.poll_seconds as f64),
        ("peer_delay", "Round-trip delay (ntpq -p delay)", Some(Unit::Seconds), |a| a.delay),
        ("peer_offset", "Clock offset (ntpq -p offset)", Some(Unit::Seconds), |a| a.offset),
        ("peer_jitter", "Jitter (ntpq -p jitter)", Some(Unit::Seconds), |a| a.jitter),
        ("peer_dispersion", "Dispersion (rv dispersion)", Some(Unit::Seconds), |a| a.dispersion),
        ("peer_root_delay", "Root delay the source advertises (rv rootdelay)", Some(Unit::Seconds), |a| a.root_delay),
        ("peer_root_dispersion", "Root dispersion the source advertises (rv rootdisp)", Some(Unit::Seconds), |a| a.root_dispersion),
        ("peer_selection", "Selection code: 0 reject, 1 falseticker, 2 excess, 3 outlier, 4 candidate, 5 backup, 6 system peer, 7 PPS peer (ntpq -p tally)", None, |a| a.selection.code().into()),
        ("peer_key_id", "Key ID in use, 0 none (rv keyid)", None, |a| a.key_id.into()),
        ("peer_authenticated", "1 when the last packet was authenticated (rv authentic)", None, |a| f64::from(u8::from(a.authentic))),
    ];
    for (name, help, unit, value) in gauges {
        let family = Family::<PeerLabels, FloatGauge>::default();
        for a in list {
            family.get_or_create(&peer_labels(a)).set(value(a));
        }
        match unit {
            Some(u) => r.register_with_unit(name, help, u, family),
            None => r.register(name, help, family),
        }
    }
    let counters: [PeerCounter; 6] = [
        (
            "peer_received_packets",
            "Packets received from the source (rv received)",
            |a| a.received,
        ),
        (
            "peer_sent_packets",
            "Packets sent to the source (rv sent)",
            |a| a.sent,
        ),
        (
            "peer_bad_auth",
            "Packets that failed authentication (rv badauth)",
            |a| a.bad_auth,
        ),
        (
            "peer_bogus_origin",
            "Packets whose origin matched no poll (rv bogusorg)",
            |a| a.bogus_origin,
        ),
        (
            "peer_old_packets",
            "Duplicate or replayed packets (rv oldpkt)",
            |a| a.old_packets,
        ),
        (
            "peer_kiss_received",
            "Kiss-o'-death packets received from the source",
            |a| a.kiss_received,
        ),
    ];
    for (name, help, value) in counters {
        let family = Family::<PeerLabels, Counter>::default();
        for a in list {
            family.get_or_create(&peer_labels(a)).inc_by(value(a));
        }
        r.register(name, help, family);
    }
    let autokey_flags = Family::<PeerLabels, Gauge>::default();
    let proventic = Family::<PeerLabels, Gauge>::default();
    for a in list {
        let labels = peer_labels(a);
        info.get_or_create(&PeerInfoLabels {
            associd: labels.associd.clone(),
            remote: labels.remote.clone(),
            r#type: labels.r#type.clone(),
            refid: a.refid.clone(),
            tally: a.selection.tally().to_string().trim().to_owned(),
            condition: a.selection.condition().to_owned(),
        })
        .set(1);
        if let Some(ak) = a.autokey {
            autokey_flags.get_or_create(&labels).set(ak.flags.into());
            proventic.get_or_create(&labels).set(ak.proventic.into());
        }
    }
    r.register(
        "peer_info",
        "1 for each association, labelled with its refid, tally code and condition (ntpq -p, ntpq -c as)",
        info,
    );
    r.register(
        "peer_autokey_flags",
        "Autokey status word of an Autokey association (rv ASSOCID flags)",
        autokey_flags,
    );
    r.register(
        "peer_autokey_proventic",
        "1 once an Autokey source is proventic (PROV, RFC 5906 section 6.1)",
        proventic,
    );
}

/// The packet, restriction and budget counters.
fn packets(r: &mut Registry, s: &MetricsSnapshot) {
    let c = &s.counters;
    let list: [(&str, &str, u64); 13] = [
        (
            "packets_received",
            "Datagrams received (ss_received)",
            c.received,
        ),
        (
            "packets_processed",
            "Packets processed for time (ss_processed)",
            c.processed,
        ),
        ("packets_sent", "Datagrams sent (io_sent)", c.sent),
        (
            "packets_send_failed",
            "Sends that failed (io_sendfailed)",
            c.send_failed,
        ),
        (
            "packets_dropped",
            "Mode 7 requests dropped (io_dropped)",
            c.dropped,
        ),
        (
            "packets_ignored",
            "Datagrams on a wildcard socket that does not listen (io_ignored)",
            c.ignored,
        ),
        (
            "packets_this_version",
            "NTP version 4 packets (ss_thisver)",
            c.this_version,
        ),
        (
            "packets_old_version",
            "NTP version 1-3 packets (ss_oldver)",
            c.old_version,
        ),
        (
            "packets_bad_format",
            "Packets of bad length or format (ss_badformat)",
            c.bad_format,
        ),
        (
            "packets_bad_auth",
            "Authentication failures (ss_badauth)",
            c.bad_auth,
        ),
        (
            "packets_restricted",
            "Packets dropped by restrict (ss_restricted)",
            c.restricted,
        ),
        (
            "packets_rate_limited",
            "Packets over the discard rate of restrict limited (ss_limited)",
            c.rate_limited,
        ),
        (
            "kiss_sent",
            "Kiss-o'-death packets sent (ss_kodsent)",
            c.kiss_sent,
        ),
    ];
    for (name, help, value) in list {
        r.register(name, help, counter(value));
    }
    r.register(
        "mru_entries",
        "Entries in the MRU list of recent clients (mru_depth)",
        int(i64::try_from(c.mru_depth).unwrap_or(i64::MAX)),
    );
    let h = &s.hardening;
    r.register(
        "autokey_budget_admitted",
        "Autokey requests the server budgets let through",
        counter(h.autokey_admitted),
    );
    let refused = Family::<BudgetLabels, Counter>::default();
    for (budget, value) in [
        ("source", h.autokey_refused_source),
        ("global", h.autokey_refused_global),
    ] {
        refused
            .get_or_create(&BudgetLabels {
                budget: budget.into(),
            })
            .inc_by(value);
    }
    r.register(
        "autokey_budget_refused",
        "Autokey requests refused by a per-source or the global budget",
        refused,
    );
    r.register_with_unit(
        "autokey_budget_excess",
        "Autokey response octets beyond the request sizes",
        Unit::Bytes,
        counter(h.autokey_excess_octets),
    );
    r.register(
        "autokey_budget_private_key_ops",
        "Autokey responses that took a private-key operation",
        counter(h.autokey_private_key_ops),
    );
}

#[path = "metrics_render_nts.rs"]
mod nts;

#[cfg(test)]
#[path = "metrics_render_tests.rs"]
mod tests;
