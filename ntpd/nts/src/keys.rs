//! The NTS session keys from the TLS exporter (RFC 8915 §5.1).
//!
//! Both sides of an NTS-KE session run the TLS 1.3 exporter (RFC 8446
//! §7.5) with the label `EXPORTER-network-time-security` and a five-octet
//! context: the Protocol ID of the next protocol (0x0000 for NTPv4), the
//! negotiated AEAD algorithm id (15 for AEAD_AES_SIV_CMAC_256) and 0x00
//! for the client-to-server key or 0x01 for the server-to-client key.
//! The TLS stack is the caller's: it passes a closure that fills the
//! output from `SSL_export_keying_material` or its equivalent.

use crate::aead::{AeadKey, KEY_LEN};

/// The exporter label of §5.1.
pub const EXPORTER_LABEL: &str = "EXPORTER-network-time-security";
/// NTS Next Protocol id of NTPv4 (§7.4).
pub const PROTOCOL_NTPV4: u16 = 0;
/// IANA AEAD id of AEAD_AES_SIV_CMAC_256 (RFC 5297 §6).
pub const AEAD_AES_SIV_CMAC_256: u16 = 15;

/// Which way a key protects traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to server (context octet 0x00).
    ClientToServer,
    /// Server to client (context octet 0x01).
    ServerToClient,
}

/// The exporter context of §5.1 for NTPv4, `aead` and `direction`.
pub fn exporter_context(aead: u16, direction: Direction) -> [u8; 5] {
    let p = PROTOCOL_NTPV4.to_be_bytes();
    let a = aead.to_be_bytes();
    let d = match direction {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    };
    [p[0], p[1], a[0], a[1], d]
}

/// The two keys of one NTS-KE session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionKeys {
    /// Protects requests (client to server).
    pub c2s: AeadKey,
    /// Protects responses (server to client).
    pub s2c: AeadKey,
}

/// Runs the exporter twice for AEAD_AES_SIV_CMAC_256. `export(label,
/// context, out)` must fill `out` with the TLS exporter's output; its
/// error is passed back unchanged.
pub fn export_session_keys<E>(
    mut export: impl FnMut(&str, &[u8], &mut [u8]) -> Result<(), E>,
) -> Result<SessionKeys, E> {
    let mut one = |direction| {
        let mut k = [0; KEY_LEN];
        export(
            EXPORTER_LABEL,
            &exporter_context(AEAD_AES_SIV_CMAC_256, direction),
            &mut k,
        )?;
        Ok(AeadKey::new(k))
    };
    Ok(SessionKeys {
        c2s: one(Direction::ClientToServer)?,
        s2c: one(Direction::ServerToClient)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_per_section_5_1() {
        assert_eq!(
            exporter_context(15, Direction::ClientToServer),
            [0, 0, 0, 15, 0]
        );
        assert_eq!(
            exporter_context(15, Direction::ServerToClient),
            [0, 0, 0, 15, 1]
        );
    }

    #[test]
    fn asks_the_exporter_for_both_keys() {
        let mut calls = Vec::new();
        let keys = export_session_keys(|label, ctx, out: &mut [u8]| {
            calls.push((label.to_owned(), ctx.to_vec(), out.len()));
            out.fill(ctx[4] + 1);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(keys.c2s, AeadKey::new([1; 32]));
        assert_eq!(keys.s2c, AeadKey::new([2; 32]));
        assert_eq!(
            calls,
            [
                (EXPORTER_LABEL.to_owned(), vec![0, 0, 0, 15, 0], 32),
                (EXPORTER_LABEL.to_owned(), vec![0, 0, 0, 15, 1], 32),
            ]
        );
    }

    #[test]
    fn passes_the_exporter_error_back() {
        let r = export_session_keys(|_, _, _: &mut [u8]| Err("no TLS 1.3"));
        assert_eq!(r, Err("no TLS 1.3"));
    }
}
