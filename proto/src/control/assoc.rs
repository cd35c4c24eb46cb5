//! The data of a READSTAT response for association 0 (RFC 9327 §3.1): a
//! list of (association id, peer status word) pairs, 16 bits each, in
//! network byte order.

use super::error::ControlError;
use super::status::PeerStatus;

/// One entry of the association list that `ntpq -c as` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssociationEntry {
    /// The association ID (1–65535) to address READVAR requests to.
    pub association_id: u16,
    /// The association's peer status word (RFC 9327 §2.2).
    pub status: PeerStatus,
}

/// Decodes READSTAT data. The length must be a multiple of 4 (ntpq refuses
/// other lengths too); an empty list is valid (no associations).
pub fn parse_association_list(data: &[u8]) -> Result<Vec<AssociationEntry>, ControlError> {
    if data.len() % 4 != 0 {
        return Err(ControlError::AssociationListLength { len: data.len() });
    }
    Ok(data
        .chunks_exact(4)
        .map(|c| AssociationEntry {
            association_id: u16::from_be_bytes([c[0], c[1]]),
            status: PeerStatus::from_word(u16::from_be_bytes([c[2], c[3]])),
        })
        .collect())
}

/// Encodes an association list (the inverse of [`parse_association_list`]).
pub fn write_association_list(entries: &[AssociationEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 4);
    for e in entries {
        out.extend_from_slice(&e.association_id.to_be_bytes());
        out.extend_from_slice(&e.status.to_word().to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::status::{PeerEvent, PeerSelection};

    #[test]
    fn decodes_bob_association_list() {
        // bob/ntpq-mode6.pcap frame 2: association 32249 (0x7df9), status f61a.
        let data = [0x7d, 0xf9, 0xf6, 0x1a];
        let list = parse_association_list(&data).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].association_id, 32249);
        assert_eq!(list[0].status.selection, PeerSelection::SysPeer);
        assert_eq!(list[0].status.last_event, PeerEvent::SysPeer);
        assert_eq!(write_association_list(&list), data);
        assert_eq!(parse_association_list(&[]).unwrap(), vec![]);
        assert_eq!(
            parse_association_list(&data[..3]),
            Err(ControlError::AssociationListLength { len: 3 })
        );
    }
}
