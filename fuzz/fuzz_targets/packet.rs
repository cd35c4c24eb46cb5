//! NTP datagrams of modes 0–5: whatever `Packet::parse` accepts must
//! serialise back to the same octets, parse again to an equal value, and
//! agree with the borrowed `PacketRef` view.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use proto::{Packet, PacketRef};

fuzz_target!(|data: &[u8]| {
    let owned = Packet::parse(data);
    let view = PacketRef::parse(data);
    assert_eq!(owned.is_ok(), view.is_ok());
    let (Ok(packet), Ok(view)) = (owned, view) else {
        return;
    };
    let bytes = packet.serialize();
    assert_eq!(bytes, data, "parse -> serialize is not byte-identical");
    assert_eq!(
        Packet::parse(&bytes).as_ref(),
        Ok(&packet),
        "parse -> serialize -> parse"
    );
    assert!(packet.is_unambiguous());
    assert_eq!(view.to_owned(), packet);
    assert_eq!(view.field_count(), packet.fields.len());
    assert_eq!(view.mac_covered_len(), packet.mac_covered_len());
    assert_eq!(packet.serialized_len(), data.len());
    let mut buf = [0u8; proto::MAX_DATAGRAM_LEN];
    assert_eq!(packet.serialize_into(&mut buf), Ok(data.len()));
    assert_eq!(&buf[..data.len()], data);
    // The Autokey views of the fields never panic.
    for f in view.fields() {
        if let Ok(ak) = f.autokey() {
            let _ = ak.value();
        }
    }
});
