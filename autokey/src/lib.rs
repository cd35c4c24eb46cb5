//! The Autokey protocol engine (RFC 5906), sans-IO: messages, signatures,
//! session keys and key lists, cookies, identity schemes, certificate
//! trails and the per-association state machines.
//!
//! The specification followed is `docs/autokey-protocol.md` (the "brief"),
//! section numbers cited per item. Where it marks a reference defect
//! ([RFC≠]) the protocol is implemented as designed, staying wire-compatible
//! with what the reference 4.2.8p18 gets right:
//!
//! * the server private value is random and refreshed every `2^revoke` s
//!   ([`session::ServerSecret`]), not the reference's constant 0;
//! * IFF, GQ and MV use the intended maths ([`identity`]); challenges are
//!   right-aligned and zero-padded;
//! * symmetric and broadcast packets are judged by the key-ID chain
//!   (§5.6 step 4), never by the 4.2.8p11+ key-ID equality check;
//! * AUTO values must be 8 octets, SIGN responses must carry our subject,
//!   key and the server as issuer.
//!
//! Also implemented as the reference does: the private-certificate (PC)
//! scheme (§7.6: CERT, VRFY and SIGN pre-set, own-key verification, the
//! private certificate never served), the `host@group` name rules on ASSOC
//! ([`association::group_test`], §2.3) and a host-wide cache of session key
//! IDs so that no two key lists of a host share a key
//! ([`host::LocalHost::key_id_in_use`], §5.4).
//!
//! Layers, bottom up:
//!
//! | module | what |
//! |---|---|
//! | [`error`] | [`AutokeyError`] (one variant per must-reject rule of §11.3) and the `XEVNT_*` codes |
//! | [`status`] | the status word (§3) and the digest bound to a signature NID (§7.5) |
//! | [`message`] | typed requests/responses of every code (§2), parse and build |
//! | [`value`] | signed value structures: signing and verification over `[8, 20+vallen)` (§1.4) |
//! | [`session`] | session keys, MACs (constant-time), next key ID, server cookie (§5.1–§5.3) |
//! | [`keylist`] | key lists, AUTO values and the receive-side chain check (§5.4, §5.6) |
//! | [`cookie`] | RSA-OAEP cookie encryption/decryption (§2.5) |
//! | [`identity`] | IFF, GQ, MV challenge/response/verification (§6) |
//! | [`cert`], [`certcache`] | certificate rules, trail, SIGN issuing, the cache `ntpq rv 0 cert` shows (§7) |
//! | [`host`] | the local host: keys, status, responder for every request |
//! | [`server`] | the stateless fast path (§5.5) |
//! | [`association`] | client, symmetric and broadcast-client state machines (§4) |
//! | [`broadcast`] | the broadcast server (§4.3) |
//! | [`packet`] | sealing a datagram with its session-key MAC |
//!
//! Engines take the time (`now`, NTP seconds) and a `rand::CryptoRng` from
//! the caller and return fields, keys and events; nothing here touches a
//! clock, a socket or a file.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod association;
pub mod broadcast;
pub mod cert;
pub mod certcache;
pub mod cookie;
pub mod error;
pub mod host;
pub mod identity;
pub mod keylist;
pub mod message;
pub mod packet;
pub mod server;
pub mod session;
pub mod status;
pub mod value;

pub use error::{AutokeyError, Xevnt};
pub use message::{AutokeyValues, LeapValues, Message, Request, Response};
pub use session::{ServerSecret, SessionDigest, SessionKey};
pub use status::StatusWord;
pub use value::{PeerKey, SignedValue, Signer};
