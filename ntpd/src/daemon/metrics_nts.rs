//! The NTS (RFC 8915) part of a [`MetricsSnapshot`](super::MetricsSnapshot):
//! the server side's NTS-KE and NTP counters and its current cookie master
//! key (RFC 8915 §6), and each `server X nts` association's cookies and
//! replies. The same numbers feed the NTS variables of `ntpq -c rv`
//! (`nts_vars`), so a scrape and `rv` cannot disagree.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::assoc::Authenticator;
use crate::daemon::nts_serve::NtsServer;

/// The NTS server side (`nts enable`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NtsServerMetrics {
    /// NTS-KE sessions that handed out keys and cookies (`nts_ke_served`).
    pub ke_served: u64,
    /// NTS-KE requests refused with an Error record (`nts_ke_refused`).
    pub ke_refused: u64,
    /// TLS handshakes that failed, or completed without ALPN `ntske/1`
    /// (`nts_ke_tls_failed`).
    pub ke_tls_failed: u64,
    /// Sessions cut off by the timeout, closed early or broken
    /// (`nts_ke_aborted`).
    pub ke_aborted: u64,
    /// Connections closed at accept because their source address (or IPv6
    /// /64) had as many NTS-KE sessions running as one source may
    /// (`nts_ke_source_limited`).
    pub ke_source_limited: u64,
    /// NTS-authenticated replies sent (`nts_replies`, RFC 8915 §5.7).
    pub replies: u64,
    /// NTS NAKs sent (`nts_naks`, kiss code NTSN, RFC 8915 §5.7).
    pub naks: u64,
    /// NTS requests dropped unanswered (`nts_dropped`).
    pub dropped: u64,
    /// The id of the key new cookies are sealed under (`nts_cookie_key`).
    pub cookie_key_id: u32,
    /// Seconds since that key was made (`nts_cookie_key_age`).
    pub cookie_key_age: u64,
    /// Keys whose cookies are still accepted, the current one included
    /// (`nts_cookie_keys`).
    pub cookie_keys: u64,
}

/// One `server X nts` association.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssociationNts {
    /// Unused cookies held (0 before NTS-KE finished; RFC 8915 §5.7 keeps 8).
    pub cookies: u64,
    /// NTS-KE sessions completed with the server.
    pub key_exchanges: u64,
    /// Replies that authenticated under the session's S2C key.
    pub authentic: u64,
    /// Replies refused: not authentic, not for our request, or an NTS NAK.
    pub refused: u64,
    /// NTS NAKs among the refused replies.
    pub naks: u64,
}

/// Seconds of the Unix epoch now, the clock cookie keys are stamped with.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The server side's values now.
pub fn server_metrics(s: &NtsServer) -> NtsServerMetrics {
    let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let keys = s.keys.lock().unwrap_or_else(|p| p.into_inner());
    let current = keys.current();
    NtsServerMetrics {
        ke_served: n(&s.ke.served),
        ke_refused: n(&s.ke.refused),
        ke_tls_failed: n(&s.ke.tls_failed) + n(&s.ke.no_alpn),
        ke_aborted: n(&s.ke.aborted),
        ke_source_limited: n(&s.ke.source_limited),
        replies: n(&s.counters.replies),
        naks: n(&s.counters.naks),
        dropped: n(&s.counters.dropped),
        cookie_key_id: current.id,
        cookie_key_age: unix_now().saturating_sub(current.created),
        cookie_keys: keys.keys().len() as u64,
    }
}

/// The NTS values of an association, when it is a `server X nts` one.
pub fn association_metrics(auth: &Authenticator) -> Option<AssociationNts> {
    let Authenticator::Nts(p) = auth else {
        return None;
    };
    Some(AssociationNts {
        cookies: p.cookies() as u64,
        key_exchanges: p.key_exchanges,
        authentic: p.authentic,
        refused: p.refused + p.naks,
        naks: p.naks,
    })
}
