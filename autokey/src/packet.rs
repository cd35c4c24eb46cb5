//! Assembling an authenticated datagram: header, Autokey fields, and the
//! session-key MAC over `[0, authlen)` (brief §1.1, §5.1).

use proto::exten::ExtensionField;
use proto::{Header, Packet};

use crate::error::Result;
use crate::session::SessionKey;

/// Serialises `header ‖ fields ‖ MAC(key)`.
pub fn seal(header: Header, fields: Vec<ExtensionField>, key: &SessionKey) -> Result<Vec<u8>> {
    let mut p = Packet {
        header,
        fields,
        mac: None,
    };
    let unsealed = p.serialize();
    p.mac = Some(key.mac(&unsealed)?);
    Ok(p.serialize())
}
