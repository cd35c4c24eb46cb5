//! Sending mode 6 requests and collecting their (fragmented) responses over
//! a connected UDP socket, with the reference ntpq's timeouts and retry
//! (RFC 9327 §2; reference `doquery`/`getresponse`).

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use crate::auth::RequestKey;
use crate::socket::{query_socket, readable};
use proto::control::{
    ControlHeader, ControlMessage, ErrorCode, Opcode, Reassembler, ReassemblyError,
    ReassemblyLimits, ReassemblyProgress, HEADER_LEN, MAX_DATA_LEN,
};

/// Default primary timeout (first fragment), as in the reference.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5000);
/// Default timeout for each further fragment.
pub const DEFAULT_SECONDARY_TIMEOUT: Duration = Duration::from_millis(3000);
/// Mode 6 version ntpq puts in requests (`NTP_OLDVERSION + 1`).
pub const DEFAULT_PKT_VERSION: u8 = 2;
/// The NTP port.
pub const NTP_PORT: u16 = 123;

/// Why a query produced no data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// The server answered with the E bit; its error code.
    Server(ErrorCode),
    /// Nothing arrived within the timeout (after one retry).
    Timeout,
    /// Some fragments arrived, not all (after one retry).
    Incomplete,
    /// The response does not fit the reassembly buffer.
    TooMuch,
    /// The request could not be built or sent; message already printed.
    Local,
}

impl QueryError {
    /// The text the reference prints on stderr (`show_error_msg`).
    pub fn message(&self, associd: u16) -> String {
        match self {
            Self::Server(ErrorCode::InvalidFormat) => {
                "***Server reports a bad format request packet".into()
            }
            Self::Server(ErrorCode::AuthFailure) => {
                "***Server disallowed request (authentication?)".into()
            }
            Self::Server(ErrorCode::InvalidOpcode) => {
                "***Server reports a bad opcode in request".into()
            }
            Self::Server(ErrorCode::UnknownAssociation) => {
                format!("***Association ID {associd} unknown to server")
            }
            Self::Server(ErrorCode::UnknownVariable) => {
                "***A request variable unknown to the server".into()
            }
            Self::Server(ErrorCode::InvalidValue) => {
                "***Server indicates a request variable was bad".into()
            }
            Self::Server(ErrorCode::Unspecified) => {
                "***Server returned an unspecified error".into()
            }
            Self::Server(other) => {
                format!("***Server returns unknown error code {}", other.code())
            }
            Self::Timeout => "***Request timed out".into(),
            Self::Incomplete => "***Response from server was incomplete".into(),
            Self::TooMuch => "***Buffer size exceeded for returned data".into(),
            Self::Local => String::new(),
        }
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status word of the final fragment.
    pub status: u16,
    /// The reassembled data of all fragments, octets.
    pub data: Vec<u8>,
}

/// An open "host": a connected UDP socket and the request state.
pub struct Session {
    socket: UdpSocket,
    /// Name shown in messages (`current host is ...`).
    pub name: String,
    /// The server's address and port (123 unless given).
    pub addr: SocketAddr,
    sequence: u16,
    /// `timeout`: how long to wait for the first fragment (default 5 s).
    pub timeout: Duration,
    /// How long to wait for each further fragment (default 3 s).
    pub secondary_timeout: Duration,
    /// `ntpversion`: the NTP version in request headers, 1 to 4.
    pub pkt_version: u8,
    /// The debug level; the higher, the more request and response
    /// tracing goes to standard error.
    pub debug: u32,
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port` (the port form is an
/// extension of ours, used to reach a test server on a free port).
pub fn split_host_port(spec: &str) -> (String, u16) {
    if let Some(rest) = spec.strip_prefix('[') {
        if let Some((h, tail)) = rest.split_once(']') {
            let port = tail
                .strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(NTP_PORT);
            return (h.to_string(), port);
        }
    }
    if let Some((h, p)) = spec.rsplit_once(':') {
        if !h.contains(':') {
            if let Ok(port) = p.parse() {
                return (h.to_string(), port);
            }
        }
    }
    (spec.to_string(), NTP_PORT)
}

/// Address family preference from `-4` / `-6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// Neither given: use whichever address the name resolves to first.
    #[default]
    Any,
    /// `-4`: IPv4 addresses only.
    V4,
    /// `-6`: IPv6 addresses only.
    V6,
}

impl Session {
    /// Resolves `spec` and connects a UDP socket to it.
    pub fn open(spec: &str, family: Family) -> Result<Self, String> {
        let (host, port) = split_host_port(spec);
        let addrs: Vec<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("{host}: {e}"))?
            .filter(|a| match family {
                Family::Any => true,
                Family::V4 => a.is_ipv4(),
                Family::V6 => a.is_ipv6(),
            })
            .collect();
        let addr = *addrs
            .first()
            .ok_or_else(|| format!("{host}: no address of the requested family"))?;
        let bind: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = query_socket(bind, addr).map_err(|e| e.to_string())?;
        let name = if host.parse::<std::net::IpAddr>().is_ok() {
            addr.ip().to_string()
        } else {
            host
        };
        Ok(Self {
            socket,
            name,
            addr,
            sequence: 0,
            timeout: DEFAULT_TIMEOUT,
            secondary_timeout: DEFAULT_SECONDARY_TIMEOUT,
            pkt_version: DEFAULT_PKT_VERSION,
            debug: 0,
        })
    }

    /// Sends a request and collects the response, retrying once after a
    /// timeout or an incomplete response (with a new sequence number in the
    /// latter case), as the reference `doqueryex`. Timeout notices go to
    /// stderr on the second attempt; the caller prints the error message.
    pub fn query(
        &mut self,
        opcode: Opcode,
        associd: u16,
        data: &[u8],
        key: Option<&RequestKey>,
    ) -> Result<Response, QueryError> {
        if data.len() > MAX_DATA_LEN {
            eprintln!("***Internal error!  qsize ({}) too large", data.len());
            return Err(QueryError::Local);
        }
        self.sequence = self.sequence.wrapping_add(1);
        let mut retried = false;
        loop {
            self.send(opcode, associd, data, key)?;
            match self.receive(opcode, associd, retried) {
                Err(e @ (QueryError::Timeout | QueryError::Incomplete)) if !retried => {
                    if e == QueryError::Incomplete {
                        self.sequence = self.sequence.wrapping_add(1);
                    }
                    retried = true;
                }
                other => return other,
            }
        }
    }

    fn send(
        &self,
        opcode: Opcode,
        associd: u16,
        data: &[u8],
        key: Option<&RequestKey>,
    ) -> Result<(), QueryError> {
        let header = ControlHeader::request(self.pkt_version, opcode, self.sequence, associd);
        let mut msg = ControlMessage::new(header, data).map_err(|e| {
            eprintln!("***Internal error! {e}");
            QueryError::Local
        })?;
        if let Some(k) = key {
            msg = crate::auth::sign(msg, k).map_err(|e| {
                eprintln!("***Cannot sign the request: {e}");
                QueryError::Local
            })?;
        }
        let bytes = msg.serialize();
        if self.debug >= 3 {
            eprintln!("Sending {} octets to {}", bytes.len(), self.addr);
        }
        self.socket.send(&bytes).map_err(|e| {
            eprintln!("ntpq: write to {} failed: {e}", self.name);
            QueryError::Local
        })?;
        Ok(())
    }

    fn receive(&self, opcode: Opcode, associd: u16, report: bool) -> Result<Response, QueryError> {
        let mut reassembler = Reassembler::new(ReassemblyLimits {
            max_pending: 1,
            ..ReassemblyLimits::default()
        });
        let mut got_any = false;
        let mut base = Instant::now();
        let mut buf = [0u8; 2048];
        loop {
            let span = if got_any {
                self.secondary_timeout
            } else {
                self.timeout
            };
            let left = span.saturating_sub(base.elapsed());
            if left.is_zero() {
                return Err(self.timed_out(got_any, report));
            }
            // Wait with poll(2) (the socket is non-blocking): a libc-level
            // simulator wraps poll, not SO_RCVTIMEO.
            if !readable(&self.socket, left) {
                return Err(self.timed_out(got_any, report));
            }
            let n = match self.socket.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(self.timed_out(got_any, report));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // ICMP port unreachable and the like: the reference
                    // prints the error and gives up without a retry.
                    let text = e.to_string();
                    let text = text.split(" (os error").next().unwrap_or(&text);
                    eprintln!("ntpq: read: {text}");
                    return Err(QueryError::Local);
                }
            };
            let pkt = &buf[..n];
            let Ok((header, count)) = ControlHeader::parse(pkt) else {
                self.trace(1, || {
                    format!("Short or non-mode-6 ({n} byte) packet received")
                });
                continue;
            };
            if !(1..=4).contains(&header.version) {
                self.trace(1, || {
                    format!("Packet received with version {}", header.version)
                });
                continue;
            }
            if !header.response {
                self.trace(1, || "Received request packet, wanted response".into());
                continue;
            }
            if header.sequence != self.sequence {
                self.trace(1, || {
                    format!(
                        "Received sequence number {}, wanted {}",
                        header.sequence, self.sequence
                    )
                });
                continue;
            }
            if header.opcode != opcode {
                self.trace(1, || {
                    format!("Received opcode {}, wanted {}", header.opcode, opcode)
                });
                continue;
            }
            if header.error {
                return Err(QueryError::Server(ErrorCode::from_status(header.status)));
            }
            if n % 4 != 0 {
                self.trace(1, || format!("Response packet not padded, size = {n}"));
                continue;
            }
            let count = usize::from(count);
            if n < (HEADER_LEN + count + 3) & !3 {
                // On stdout, as the reference prints it; a closed stdout
                // must not abort the query.
                let _ = writeln!(
                    std::io::stdout(),
                    "Response packet claims {} octets payload, above {} received",
                    count,
                    n - HEADER_LEN
                );
                return Err(QueryError::Incomplete);
            }
            let Ok(mut msg) = ControlMessage::parse(pkt) else {
                continue;
            };
            // The reference accepts fragments whose association id differs
            // from the request (old fuzzballs); key them to the request.
            msg.header.association_id = associd;
            match reassembler.push(&msg) {
                Ok(ReassemblyProgress::Complete(r)) => {
                    return Ok(Response {
                        status: r.status,
                        data: r.data,
                    })
                }
                Ok(ReassemblyProgress::Incomplete) => {
                    got_any = true;
                    base = Instant::now();
                }
                Ok(ReassemblyProgress::Duplicate) => {}
                Ok(ReassemblyProgress::ServerError { code, .. }) => {
                    return Err(QueryError::Server(code))
                }
                Err(ReassemblyError::TooLarge { .. }) => return Err(QueryError::TooMuch),
                Err(e) => self.trace(1, || format!("fragment ignored: {e}")),
            }
        }
    }

    fn timed_out(&self, got_any: bool, report: bool) -> QueryError {
        if got_any {
            if report {
                eprintln!("{}: timed out with incomplete data", self.name);
            }
            QueryError::Incomplete
        } else {
            if report {
                eprintln!("{}: timed out, nothing received", self.name);
            }
            QueryError::Timeout
        }
    }

    fn trace(&self, level: u32, msg: impl FnOnce() -> String) {
        if self.debug >= level {
            eprintln!("{}", msg());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("127.0.0.1"), ("127.0.0.1".into(), 123));
        assert_eq!(
            split_host_port("127.0.0.1:1234"),
            ("127.0.0.1".into(), 1234)
        );
        assert_eq!(split_host_port("localhost:99"), ("localhost".into(), 99));
        assert_eq!(split_host_port("::1"), ("::1".into(), 123));
        assert_eq!(split_host_port("[::1]"), ("::1".into(), 123));
        assert_eq!(split_host_port("[::1]:5000"), ("::1".into(), 5000));
    }

    #[test]
    fn error_messages_match_reference() {
        assert_eq!(
            QueryError::Server(ErrorCode::UnknownAssociation).message(7),
            "***Association ID 7 unknown to server"
        );
        assert_eq!(QueryError::Timeout.message(0), "***Request timed out");
    }
}
