//! The NTS (RFC 8915) metrics: the server side's sessions, replies and
//! cookie key as host-wide series, and each `server X nts` association's
//! cookies and replies under the per-association labels. Names are listed
//! in docs/metrics.md beside the `ntpq -c rv` variable each mirrors.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::{counter, int, peer_labels, PeerLabels};
use crate::daemon::metrics::{AssociationMetrics, AssociationNts, NtsServerMetrics};

/// The labels of the NTS-KE session outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SessionLabels {
    /// `served`, `refused`, `tls_failed`, `aborted` or `source_limited`.
    outcome: String,
}

/// The server side's series; nothing without `nts enable`.
pub(super) fn server(r: &mut Registry, m: Option<&NtsServerMetrics>) {
    let Some(m) = m else {
        return;
    };
    let sessions = Family::<SessionLabels, Counter>::default();
    for (outcome, value) in [
        ("served", m.ke_served),
        ("refused", m.ke_refused),
        ("tls_failed", m.ke_tls_failed),
        ("aborted", m.ke_aborted),
        ("source_limited", m.ke_source_limited),
    ] {
        sessions
            .get_or_create(&SessionLabels {
                outcome: outcome.into(),
            })
            .inc_by(value);
    }
    r.register(
        "nts_ke_sessions",
        "NTS-KE sessions by outcome (rv nts_ke_served, nts_ke_refused, nts_ke_tls_failed, nts_ke_aborted, nts_ke_source_limited)",
        sessions,
    );
    r.register(
        "nts_replies",
        "NTS-authenticated replies sent (rv nts_replies)",
        counter(m.replies),
    );
    r.register(
        "nts_naks",
        "NTS NAKs sent, kiss code NTSN (rv nts_naks)",
        counter(m.naks),
    );
    r.register(
        "nts_dropped",
        "NTS requests dropped unanswered (rv nts_dropped)",
        counter(m.dropped),
    );
    r.register(
        "nts_cookie_key_id",
        "Id of the master key new cookies are sealed under (rv nts_cookie_key)",
        int(m.cookie_key_id.into()),
    );
    r.register_with_unit(
        "nts_cookie_key_age",
        "Age of the current cookie master key (rv nts_cookie_key_age)",
        Unit::Seconds,
        int(i64::try_from(m.cookie_key_age).unwrap_or(i64::MAX)),
    );
    r.register(
        "nts_cookie_keys",
        "Cookie master keys still accepted, the current one included (rv nts_cookie_keys)",
        int(i64::try_from(m.cookie_keys).unwrap_or(i64::MAX)),
    );
}

/// A per-association NTS series: name, help, and its value.
type NtsSeries = (&'static str, &'static str, fn(&AssociationNts) -> u64);

/// The per-association series; only `server X nts` associations have them.
pub(super) fn associations(r: &mut Registry, list: &[AssociationMetrics]) {
    let cookies = Family::<PeerLabels, Gauge>::default();
    for a in list {
        if let Some(n) = &a.nts {
            cookies
                .get_or_create(&peer_labels(a))
                .set(i64::try_from(n.cookies).unwrap_or(i64::MAX));
        }
    }
    r.register(
        "peer_nts_cookies",
        "Unused NTS cookies held for the source (rv nts_cookies summed)",
        cookies,
    );
    let counters: [NtsSeries; 4] = [
        (
            "peer_nts_key_exchanges",
            "NTS-KE sessions completed with the source (rv nts_key_exchanges summed)",
            |n| n.key_exchanges,
        ),
        (
            "peer_nts_authentic",
            "NTS replies that authenticated (rv nts_authentic summed)",
            |n| n.authentic,
        ),
        (
            "peer_nts_refused",
            "NTS replies refused, NTS NAKs included (rv nts_refused summed)",
            |n| n.refused,
        ),
        ("peer_nts_naks", "NTS NAKs received from the source", |n| {
            n.naks
        }),
    ];
    for (name, help, value) in counters {
        let family = Family::<PeerLabels, Counter>::default();
        for a in list {
            if let Some(n) = &a.nts {
                family.get_or_create(&peer_labels(a)).inc_by(value(n));
            }
        }
        r.register(name, help, family);
    }
}
