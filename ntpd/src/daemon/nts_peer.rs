//! The NTS side of a `server X nts` association (RFC 8915 §5.7): NTS-KE
//! when it has no cookie, then every poll carries a cookie and an
//! authenticator, and only replies that authenticate under the session's
//! S2C key reach the clock filter.
//!
//! NTS-KE runs on the worker thread of `nts_ke_worker` (TLS and TCP do
//! not belong on the event loop's timing path); the association looks at
//! the outcome at its next poll. The association starts NTS-KE again when its cookies run
//! out, or when a poll comes while its last request got an NTS NAK and no
//! authentic reply (§5.7: a NAK is not authenticated, so it alone drops
//! neither keys nor cookies).

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
    /// The operator was told the cookies are too long for placeholders.
    warned_long_cookies: bool,
    /// The NTP server address and port the last NTS-KE named (§4.1.7,
    /// §4.1.8); `None` for the association's own.
    ntp_ip: Option<IpAddr>,
    ntp_port: Option<u16>,
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
        let mut p = Self::idle(name, ke_addr, worker);
        p.start_exchange();
        p
    }

    /// [`NtsPeer::new`] before its first NTS-KE: no keys, nothing counted.
    fn idle(name: String, ke_addr: SocketAddr, worker: KeWorker) -> Self {
        Self {
            name,
            ke_addr,
            worker,
            state: State::Idle,
            key_exchanges: 0,
            authentic: 0,
            refused: 0,
            naks: 0,
            warned_long_cookies: false,
            ntp_ip: None,
            ntp_port: None,
        }
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
                let longest = outcome.cookies.iter().map(Vec::len).max().unwrap_or(0);
                let client = NtsClient::new(outcome.keys, outcome.cookies);
                if client.oversized_cookies() > 0 && !self.warned_long_cookies {
                    self.warned_long_cookies = true;
                    tracing::warn!(
                        "NTS: {} ({}) hands out cookies of up to {longest} octets; those over {} \
                         octets fit in no NTS request and are not used",
                        self.ke_addr,
                        self.name,
                        nts::client::MAX_COOKIE_LEN
                    );
                }
                self.state = State::Ready(Box::new(client));
                self.take_destination(
                    outcome.ntp_server.as_deref(),
                    outcome.ntp_ip,
                    outcome.ntp_port,
                );
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

    /// Keeps the NTP server and port an NTS-KE named, telling the operator
    /// when they change (so once, unless the server changes its mind).
    fn take_destination(&mut self, name: Option<&str>, ip: Option<IpAddr>, port: Option<u16>) {
        if (ip, port) == (self.ntp_ip, self.ntp_port) {
            return;
        }
        self.ntp_ip = ip;
        self.ntp_port = port;
        let server = match (name, ip) {
            (Some(n), Some(ip)) if n != ip.to_string() => format!("{n} ({ip})"),
            (_, Some(ip)) => ip.to_string(),
            (_, None) => "its own address".to_owned(),
        };
        let port = port.map_or("the configured port".to_owned(), |p| format!("port {p}"));
        tracing::info!(
            "NTS-KE with {} ({}) names NTP server {server}, {port}; NTP requests go there",
            self.ke_addr,
            self.name
        );
    }

    /// Where the NTP requests go: `default` (the association's address
    /// and port) unless NTS-KE named another server or port.
    pub fn ntp_destination(&self, default: SocketAddr) -> SocketAddr {
        super::nts_ke_destination::choose(default, self.ntp_ip, self.ntp_port)
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
            if client.nak_unanswered() {
                tracing::info!(
                    "NTS: no authentic reply from {} ({}) since its NTS NAK; running NTS-KE again",
                    self.ke_addr,
                    self.name
                );
            } else if let (Some(hdr), true) = (out.get(..NTP_HEADER_LEN), len == NTP_HEADER_LEN) {
                let mut header = [0u8; NTP_HEADER_LEN];
                header.copy_from_slice(hdr);
                if let Ok(packet) = client.request(&header, rng) {
                    let shape = client.last_request();
                    if shape.placeholders == 0 && shape.wanted > 0 && !self.warned_long_cookies {
                        self.warned_long_cookies = true;
                        tracing::warn!(
                            "NTS: {} ({}) hands out {}-octet cookies, too long for any cookie \
                             placeholder within {} octets (unfragmented on any path); one cookie comes back per poll \
                             and NTS-KE runs again when a reply is lost",
                            self.ke_addr,
                            self.name,
                            shape.cookie_len,
                            nts::client::PLACEHOLDER_BUDGET
                        );
                    }
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
    /// kept). An NTS NAK is counted and keeps keys, cookies and the
    /// outstanding request (§5.7); the next poll re-keys unless an
    /// authentic reply to that request comes first.
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
                crate::limited!(
                    INFO,
                    "{peer}: NTS NAK (not authenticated); keys and cookies kept, \
                     NTS-KE runs again at the next poll unless an authentic reply comes first"
                );
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

#[cfg(test)]
mod tests {
    use super::*;
    use nts::aead::{self, AeadKey};
    use nts::exten::{self, field_type};
    use nts::keys::SessionKeys;
    use rand::SeedableRng;

    fn keys() -> SessionKeys {
        SessionKeys {
            c2s: AeadKey::new([3; 32]),
            s2c: AeadKey::new([4; 32]),
        }
    }

    /// An association holding `cookies` under [`keys`], no NTS-KE running.
    fn ready(cookies: Vec<Vec<u8>>) -> NtsPeer {
        let worker =
            KeWorker::start(super::super::nts_ke_client::connector(None).unwrap()).unwrap();
        let mut p = NtsPeer::idle(
            "ke.example".into(),
            "127.0.0.1:4460".parse().unwrap(),
            worker,
        );
        p.state = State::Ready(Box::new(NtsClient::new(keys(), cookies)));
        p.key_exchanges = 1;
        p
    }

    fn poll(p: &mut NtsPeer, rng: &mut StdRng) -> Result<Vec<u8>, NtsSealError> {
        let mut out = vec![0u8; 2120];
        out[0] = 0x23;
        let n = p.seal(&mut out, NTP_HEADER_LEN, rng)?;
        out.truncate(n);
        Ok(out)
    }

    fn uid(request: &[u8]) -> Vec<u8> {
        exten::packet_fields(request).unwrap()[0].body.to_vec()
    }

    fn nak(request: &[u8]) -> Vec<u8> {
        let mut p = vec![0; 48];
        p[0] = 0x24;
        p[12..16].copy_from_slice(b"NTSN");
        exten::push_field(&mut p, field_type::UNIQUE_IDENTIFIER, &uid(request));
        p
    }

    fn genuine(request: &[u8]) -> Vec<u8> {
        let mut p = vec![0x24; 48];
        exten::push_field(&mut p, field_type::UNIQUE_IDENTIFIER, &uid(request));
        let mut plain = Vec::new();
        exten::push_field(&mut plain, field_type::COOKIE, &[9; 100]);
        let sealed = aead::seal(&keys().s2c, &[7; 16], &p, &plain);
        exten::push_authenticator(&mut p, &[7; 16], &sealed);
        p
    }

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_forged_nak_then_the_genuine_reply_keeps_the_session() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut p = ready(vec![vec![1; 100]; 3]);
        let req = poll(&mut p, &mut rng).unwrap();
        assert!(!p.verify(&nak(&req), PEER));
        assert_eq!(p.naks, 1);
        assert_eq!(p.cookies(), 2, "a NAK drops no cookie");
        assert!(
            p.verify(&genuine(&req), PEER),
            "the genuine reply still counts"
        );
        assert_eq!(p.authentic, 1);
        assert_eq!(p.cookies(), 3);
        // The next poll sends under the same keys: no NTS-KE.
        poll(&mut p, &mut rng).unwrap();
        assert!(matches!(p.state, State::Ready(_)));
    }

    #[test]
    fn an_unanswered_nak_re_keys_at_the_next_poll() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut p = ready(vec![vec![1; 100]; 3]);
        let req = poll(&mut p, &mut rng).unwrap();
        assert!(!p.verify(&nak(&req), PEER));
        assert!(
            matches!(p.state, State::Ready(_)),
            "kept until the next poll"
        );
        assert_eq!(
            poll(&mut p, &mut rng),
            Err(NtsSealError::AwaitingKeyExchange(p.ke_addr))
        );
        assert!(matches!(p.state, State::Exchanging(_)));
        assert_eq!(p.naks, 1);
    }

    #[test]
    fn long_cookies_still_poll_and_warn_once() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut p = ready(vec![vec![1; 1200]; 2]);
        let req = poll(&mut p, &mut rng).unwrap();
        assert!(req.len() <= nts::client::MAX_REQUEST_LEN);
        assert!(p.warned_long_cookies);
        let placeholders = exten::packet_fields(&req)
            .unwrap()
            .iter()
            .filter(|f| f.field_type == field_type::COOKIE_PLACEHOLDER)
            .count();
        assert_eq!(placeholders, 0);
        poll(&mut p, &mut rng).unwrap();
        assert!(
            matches!(p.state, State::Ready(_)),
            "no NTS-KE while a cookie is held"
        );
    }
}
