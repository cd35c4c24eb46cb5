//! Reading and writing one NTS-KE message on a TLS stream (RFC 8915 §4),
//! shared by the NTS-KE server and client.
//!
//! A message is read until its End of Message record, never past
//! [`nts::record::MAX_MESSAGE_LEN`] octets, within [`NTS_KE_TIMEOUT`].

use std::time::Duration;

use nts::record::{self, RecordError};
use rand::rngs::StdRng;
use rand::SeedableRng;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The TCP port of NTS-KE (§4, IANA "ntske").
pub const NTS_KE_PORT: u16 = 4460;
/// The ALPN protocol id of NTS-KE (§4).
pub const ALPN_NTSKE: &[u8] = b"ntske/1";
/// [`ALPN_NTSKE`] in the length-prefixed wire form openssl takes.
pub const ALPN_NTSKE_WIRE: &[u8] = b"\x07ntske/1";
/// Longest a whole NTS-KE session may take, handshake included.
pub const NTS_KE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a message could not be read.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The peer closed the connection before End of Message.
    #[error("connection closed after {have} octets, before the End of Message record")]
    Closed {
        /// Octets received.
        have: usize,
    },
    /// The octets break the record rules or limits.
    #[error("{0}")]
    Record(#[from] RecordError),
    /// The peer sent more after End of Message.
    #[error("{extra} octets follow the End of Message record")]
    Trailing {
        /// How many.
        extra: usize,
    },
    /// The stream failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one whole message from `stream`.
pub async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(ReadError::Closed { have: buf.len() });
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(len) = record::message_len(&buf)? {
            if buf.len() > len {
                return Err(ReadError::Trailing {
                    extra: buf.len() - len,
                });
            }
            return Ok(buf);
        }
    }
}

/// A generator for cookies and nonces, seeded from OpenSSL's CSPRNG.
pub fn fresh_rng() -> Result<StdRng, openssl::error::ErrorStack> {
    let mut seed = [0u8; 32];
    openssl::rand::rand_bytes(&mut seed)?;
    Ok(StdRng::from_seed(seed))
}
