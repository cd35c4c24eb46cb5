//! NTS-KE messages (RFC 8915 §4) from arbitrary octets: the stream
//! reader's `message_len`, the whole-message decoder and both sides'
//! negotiation. Nothing may panic; a decoded message re-encodes to the
//! same records; lengths never pass the bounds.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use nts::negotiation;
use nts::record::{self, Record, MAX_MESSAGE_LEN};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(len)) = record::message_len(data) {
        assert!(len <= data.len() && len <= MAX_MESSAGE_LEN);
    }
    if let Ok(records) = record::decode_message(data) {
        assert_eq!(records.last(), Some(&Record::EndOfMessage));
        // Critical bits may differ from the input; the records may not.
        let again = record::encode_message(&records).expect("a decoded message re-encodes");
        assert_eq!(record::decode_message(&again).expect("re-decodes"), records);
    }
    let _ = negotiation::parse_request(data);
    let _ = negotiation::parse_response(data);
});
