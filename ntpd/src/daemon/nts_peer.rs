//! The NTS side of a `server X nts` association (RFC 8915 §5.7): NTS-KE
//! when it has no cookie, then every poll carries a cookie and an
//! authenticator, and only replies that authenticate under the session's
//! S2C key reach the clock filter.
//!
//! NTS-KE runs on the worker thread of `nts_ke_worker` (TLS and TCP do
//! not belong on the event loop's timing path); the association looks at
//! the outcome at its next poll. The association starts NTS-KE again when its cookies run
//! out or the server answers with an NTS NAK.

use std::net::{IpAddr, SocketAddr};

use nts::client::{NtsClient, ReplyError};
use nts::exten::NTP_HEADER_LEN;
use rand::rngs::StdRng;

use super::nts_ke_worker::{KeSlot as Slot, KeWorker};

/// Where the association is in its NTS life.
#[derive(Debug)]
enum State {
    /// No keys and no exchange running (the last one failed).
    Idle,
    /// NTS-KE is running; its outcome lands in the slot.
    Exchanging(Slot),
    /// Keys and cookies from NTS-KE.
    Ready(Box<NtsClient>),
}

/// Why an NTS association sent no poll.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtsSealError {
    /// NTS-KE has not finished yet.
    #[error("NTS: waiting for NTS-KE with {0}")]
    AwaitingKeyExchange(SocketAddr),
    /// NTS-KE failed; it is tried again at the next poll.
    #[error("NTS: NTS-KE with {addr} failed: {reason}; retrying at the next poll")]
    KeyExchangeFailed {
        /// The NTS-KE server.
        addr: SocketAddr,
        /// What went wrong.
        reason: String,
    },
}

/// The NTS state of one association.
pub struct NtsPeer {
    name: String,
    ke_addr: SocketAddr,
    worker: KeWorker,
    state: State,
    /// NTS-KE sessions completed.
    pub key_exchanges: u64,
    /// Replies that authenticated.
    pub authentic: u64,
    /// Replies refused (not authentic, or not for our request).
    pub refused: u64,
    /// NTS NAKs received.
    pub naks: u64,
}

impl std::fmt::Debug for NtsPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NtsPeer")
            .field("name", &self.name)
            .field("ke_addr", &self.ke_addr)
            .field("state", &self.state)
            .finish()
    }
}

impl NtsPeer {
    /// An association to `name`, whose NTS-KE server is at `ke_addr`; the
    /// first NTS-KE starts now.
    pub fn new(name: String, ke_addr: SocketAddr, worker: KeWorker) -> Self {
        let mut p = Self {
            name,
            ke_addr,
            worker,
            state: State::Idle,
            key_exchanges: 0,
            authentic: 0,
            refused: 0,
            naks: 0,
        };
        p.start_exchange();
        p
    }

    /// Cookies held (0 before or during NTS-KE).
    pub fn cookies(&self) -> usize {
        match &self.state {
            State::Ready(c) => c.cookies(),
            _ => 0,
        }
    }

    fn start_exchange(&mut self) {
        self.state = State::Exchanging(self.worker.submit(self.ke_addr, &self.name));
    }

    /// Takes a finished NTS-KE's outcome.
    fn collect(&mut self) -> Result<(), NtsSealError> {
        let State::Exchanging(slot) = &self.state else {
            return Ok(());
        };
        let Some(result) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Err(NtsSealError::AwaitingKeyExchange(self.ke_addr));
        };
        match result {
            Ok(outcome) => {
                self.key_exchanges += 1;
                tracing::info!(
                    "NTS-KE with {} ({}): {} cookies",
                    self.ke_addr,
                    self.name,
                    outcome.cookies.len()
                );
                self.state = State::Ready(Box::new(NtsClient::new(outcome.keys, outcome.cookies)));
                Ok(())
            }
            Err(e) => {
                self.state = State::Idle;
                Err(NtsSealError::KeyExchangeFailed {
                    addr: self.ke_addr,
                    reason: e.to_string(),
                })
            }
        }
    }

    /// Appends the NTS fields to the request header in `out[..48]`; the
    /// datagram's length. Without cookies, NTS-KE is (re)started and no
    /// request is sent.
    pub fn seal(
        &mut self,
        out: &mut [u8],
        len: usize,
        rng: &mut StdRng,
    ) -> Result<usize, NtsSealError> {
        self.collect()?;
        if let State::Ready(client) = &mut self.state {
            if let (Some(hdr), true) = (out.get(..NTP_HEADER_LEN), len == NTP_HEADER_LEN) {
                let mut header = [0u8; NTP_HEADER_LEN];
                header.copy_from_slice(hdr);
                if let Ok(packet) = client.request(&header, rng) {
                    if let Some(dst) = out.get_mut(..packet.len()) {
                        dst.copy_from_slice(&packet);
                        return Ok(packet.len());
                    }
                }
            }
        }
        self.start_exchange();
        Err(NtsSealError::AwaitingKeyExchange(self.ke_addr))
    }

    /// Whether the reply `packet` authenticates (its new cookies are
    /// kept). An NTS NAK drops the cookies, so the next poll re-keys.
    pub fn verify(&mut self, packet: &[u8], peer: IpAddr) -> bool {
        let State::Ready(client) = &mut self.state else {
            self.refused += 1;
            return false;
        };
        match client.reply(packet) {
            Ok(_) => {
                self.authentic += 1;
                true
            }
            Err(ReplyError::Nak) => {
                self.naks += 1;
                tracing::info!("{peer}: NTS NAK; running NTS-KE again");
                self.state = State::Idle;
                false
            }
            Err(e) => {
                self.refused += 1;
                crate::limited!(DEBUG, "{peer}: NTS reply refused: {e}");
                false
            }
        }
    }
}
