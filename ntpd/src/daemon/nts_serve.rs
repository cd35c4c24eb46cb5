//! NTS-protected answers on the server fast path (RFC 8915 §5.7): a mode 3
//! request carrying NTS extension fields is answered with a mode 4 reply
//! built as for any client, followed by the request's unique identifier
//! and an authenticator under the cookie's S2C key holding fresh cookies.
//! A request whose cookie is unusable or whose authenticator fails gets an
//! NTS NAK (kiss code NTSN); one too malformed to echo is dropped.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nts::exten::{self, field_type, NTP_HEADER_LEN};
use nts::server_keys::ServerKeys;

use super::Core;
use crate::server::ReplyAuth;

/// Counters of the NTS server path.
#[derive(Debug, Default)]
pub struct NtsServeCounters {
    /// Authenticated replies sent.
    pub replies: AtomicU64,
    /// NTS NAKs sent.
    pub naks: AtomicU64,
    /// NTS requests dropped unanswered.
    pub dropped: AtomicU64,
}

/// The server side's NTS state: the master keys the NTS-KE server seals
/// cookies under.
#[derive(Debug, Clone)]
pub struct NtsServer {
    /// Shared with the NTS-KE server and the rotation task.
    pub keys: Arc<Mutex<ServerKeys>>,
    /// What happened to NTS requests.
    pub counters: Arc<NtsServeCounters>,
    /// What happened to NTS-KE sessions.
    pub ke: Arc<super::nts_ke_server::NtsKeCounters>,
    /// The `nts cookie FILE` where the keys are kept, opened before any
    /// chroot; shared with the rotation task (read again on SIGHUP).
    pub store: Arc<super::nts_keyfile::CookieStore>,
}

/// Whether `buf` carries NTS fields (a unique identifier or an NTS
/// authenticator), i.e. is meant for this path.
pub fn is_nts_request(buf: &[u8]) -> bool {
    // Walked without collecting: every mode 3 request passes here.
    buf.len() >= NTP_HEADER_LEN
        && exten::fields(buf, NTP_HEADER_LEN)
            .try_fold(false, |nts, f| {
                f.map(|f| {
                    nts || f.field_type == field_type::UNIQUE_IDENTIFIER
                        || f.field_type == field_type::AUTHENTICATOR
                })
            })
            .unwrap_or(false)
}

impl Core {
    /// SIGHUP: the cookie key file read again (`CookieStore::reload`);
    /// nothing without `nts enable`.
    pub(super) fn nts_reload_cookie_keys(&self) {
        let Some(server) = &self.nts.server else {
            return;
        };
        let path = server.store.path();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // Key material from the system's source, as at start-up.
        let Ok(mut rng) = super::nts_ke_io::fresh_rng() else {
            tracing::warn!("SIGHUP: NTS cookie keys not reloaded: no randomness");
            return;
        };
        match server.store.reload(&server.keys, now, &mut rng) {
            Ok(super::nts_keyfile::Reloaded::Unchanged) => {
                tracing::info!("SIGHUP: NTS cookie keys in {} unchanged", path.display());
            }
            Ok(super::nts_keyfile::Reloaded::Replaced { current, accepted }) => {
                tracing::info!(
                    "SIGHUP: NTS cookie keys reloaded from {}: new cookies under key {current}, \
                     cookies under {accepted} key(s) accepted",
                    path.display()
                );
            }
            Err(e) => tracing::warn!("SIGHUP: {e}; the NTS cookie keys in use are kept"),
        }
    }

    /// The NTS answer to the mode 3 request `buf`, when it is an NTS
    /// request and NTS is enabled: `Some(reply length)` or `Some(None)`
    /// when it is dropped; `None` when the ordinary path should take it.
    pub(super) fn nts_reply(
        &mut self,
        buf: &[u8],
        rx: proto::NtpTimestamp,
        peer: IpAddr,
        out: &mut [u8],
    ) -> Option<Option<usize>> {
        // Borrowed, not cloned: this runs per request.
        let server = self.nts.server.as_ref()?;
        let counters = &server.counters;
        if !is_nts_request(buf) {
            return None;
        }
        let mut header = [0u8; NTP_HEADER_LEN];
        let built = crate::server::build_reply(
            buf,
            rx,
            &self.sys,
            ReplyAuth::None,
            &self.policy.keys,
            peer,
            &mut header,
            || self.env.wall(),
        );
        if built != Some(NTP_HEADER_LEN) {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Some(None);
        }
        let keys = server.keys.lock().unwrap_or_else(|p| p.into_inner());
        let reply = match nts::server::check_request(buf, &keys) {
            Ok(request) => {
                counters.replies.fetch_add(1, Ordering::Relaxed);
                nts::server::reply(&request, &header, &keys, &mut self.rng)
            }
            Err(refusal) => {
                let uid = nts::server::unique_id(buf);
                match uid {
                    Some(uid) if refusal.wants_nak() => {
                        tracing::debug!(
                            "NTS request from {peer} refused with an NTS NAK: {refusal}"
                        );
                        counters.naks.fetch_add(1, Ordering::Relaxed);
                        // The server's own reply header (its timestamps,
                        // the request's transmit time as origin), made a
                        // kiss-o'-death: leap 3, stratum 0, NTSN (§5.7).
                        header[0] = (3 << 6) | (header[0] & 0x3f);
                        nts::server::nak(&uid, &header)
                    }
                    _ => {
                        tracing::debug!("NTS request from {peer} dropped: {refusal}");
                        counters.dropped.fetch_add(1, Ordering::Relaxed);
                        return Some(None);
                    }
                }
            }
        };
        drop(keys);
        let Some(dst) = out.get_mut(..reply.len()) else {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Some(None);
        };
        dst.copy_from_slice(&reply);
        self.stats.replies += 1;
        Some(Some(reply.len()))
    }
}
