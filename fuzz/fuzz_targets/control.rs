//! Mode 6 control messages (RFC 9327): parse → serialise → parse is the
//! identity, status words decode losslessly, association lists and
//! variable lists read back what they write; mode 7 headers round trip.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use proto::control::{
    concat_fragments, fragment_data, parse_association_list, write_association_list, ClockStatus,
    ControlMessage, ErrorCode, PeerStatus, SystemStatus, VarList,
};
use proto::mode7::{is_mode7, Mode7Header};

fn check_var_list(data: &[u8]) {
    let Ok(list) = VarList::parse(data) else {
        return;
    };
    match list.to_response_text() {
        Ok(text) => assert_eq!(VarList::parse(&text).as_ref(), Ok(&list)),
        // Only replacement characters (from non-UTF-8 input) can make a
        // parsed name or value too long to write back.
        Err(e) => assert!(std::str::from_utf8(data).is_err(), "{e}"),
    }
    if let Ok(req) = list.to_request_text() {
        assert_eq!(VarList::parse(&req).as_ref(), Ok(&list));
    }
}

fn check_status(w: u16) {
    let s = SystemStatus::from_word(w);
    assert_eq!(s.to_word(), w);
    let p = PeerStatus::from_word(w);
    assert_eq!(p.to_word(), w);
    let c = ClockStatus::from_word(w);
    assert_eq!(c.to_word(), w);
    assert!(!s.describe().is_empty() && !p.describe().is_empty() && !c.describe().is_empty());
    let e = ErrorCode::from_status(w);
    assert_eq!(ErrorCode::from_code(e.code()), e);
    assert_eq!(e.to_status(), w & 0xff00);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ControlMessage::parse(data) {
        let bytes = m.serialize();
        assert_eq!(bytes, data);
        assert_eq!(bytes.len(), m.wire_len());
        assert_eq!(ControlMessage::parse(&bytes).as_ref(), Ok(&m));
        check_status(m.header.status);
        if let Ok(list) = parse_association_list(m.data()) {
            assert_eq!(write_association_list(&list), m.data());
        }
        check_var_list(m.data());
        assert_eq!(concat_fragments(&fragment_data(m.data())), m.data());
    }
    check_var_list(data);
    if let Some(&[a, b]) = data.first_chunk::<2>() {
        check_status(u16::from_be_bytes([a, b]));
    }
    if let Ok(h) = Mode7Header::parse(data) {
        assert!(is_mode7(data));
        assert_eq!(Some(&h.to_bytes()), data.first_chunk::<8>());
    }
});
