//! Property tests of the mode 6 codec (RFC 9327): header/message round
//! trips, fragmentation and reassembly in any order, variable lists.

use proptest::prelude::*;
use proto::control::{
    concat_fragments, fragment_data, parse_association_list, write_association_list,
    AssociationEntry, ControlHeader, ControlMac, ControlMessage, Opcode, PeerStatus, Reassembler,
    ReassemblyProgress, ResponseWriter, VarList, VarValue, MAX_DATA_LEN,
};

fn header() -> impl Strategy<Value = ControlHeader> {
    (
        (
            0u8..4,
            0u8..8,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0u8..32,
        ),
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()),
    )
        .prop_map(
            |(
                (leap, version, response, error, more, op),
                (sequence, status, association_id, offset),
            )| {
                ControlHeader {
                    leap,
                    version,
                    response,
                    error,
                    more,
                    opcode: Opcode::from_code(op),
                    sequence,
                    status,
                    association_id,
                    offset,
                }
            },
        )
}

fn mac() -> impl Strategy<Value = Option<ControlMac>> {
    prop_oneof![
        Just(None),
        (
            any::<u32>(),
            prop::bool::ANY,
            prop::collection::vec(any::<u8>(), 20)
        )
            .prop_map(|(k, sha, d)| {
                let len = if sha { 20 } else { 16 };
                Some(ControlMac::new(k, &d[..len]).unwrap())
            }),
    ]
}

fn message() -> impl Strategy<Value = ControlMessage> {
    (
        header(),
        prop::collection::vec(any::<u8>(), 0..=MAX_DATA_LEN),
        mac(),
    )
        .prop_map(|(h, data, mac)| {
            let m = ControlMessage::new(h, &data).unwrap();
            match mac {
                Some(mac) => m.with_mac(mac),
                None => m,
            }
        })
}

fn var_name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_.]{0,15}"
}

fn var_value() -> impl Strategy<Value = VarValue> {
    prop_oneof![
        Just(VarValue::Absent),
        "([a-zA-Z0-9.:+/-]([a-zA-Z0-9.:+/ -]{0,60}[a-zA-Z0-9.:+/-])?)?".prop_map(VarValue::Bare),
        // Mode 6 text is octets (one character per octet, U+0000..U+00FF).
        "[\\x00-\\x21\\x23-\\xff]{0,80}".prop_map(VarValue::Quoted),
    ]
}

fn var_list() -> impl Strategy<Value = VarList> {
    prop::collection::vec((var_name(), var_value()), 0..80).prop_map(|vars| {
        let mut list = VarList::default();
        for (n, v) in vars {
            list.push(n, v);
        }
        list
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn built_messages_round_trip(m in message()) {
        let bytes = m.serialize();
        prop_assert_eq!(bytes.len(), m.wire_len());
        prop_assert!(m.is_aligned());
        if m.mac().is_some() {
            // The MAC starts on an 8-octet boundary.
            prop_assert_eq!(m.authenticated_bytes().len() % 8, 0);
            prop_assert_eq!(&bytes[..m.authenticated_bytes().len()], &m.authenticated_bytes()[..]);
        }
        let back = ControlMessage::parse(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        let (h, count) = ControlHeader::parse(&bytes).unwrap();
        prop_assert_eq!(h, m.header);
        prop_assert_eq!(usize::from(count), m.count());
    }

    #[test]
    fn parsed_datagrams_serialise_identically(
        h in header(),
        count in 0u16..600,
        body in prop::collection::vec(any::<u8>(), 0..700),
    ) {
        let mut bytes = h.to_bytes(count).to_vec();
        bytes.extend_from_slice(&body);
        match ControlMessage::parse(&bytes) {
            Ok(m) => {
                prop_assert_eq!(m.serialize(), bytes);
                prop_assert_eq!(m.header, h);
            }
            Err(_) => prop_assert!(usize::from(count) > body.len()),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = ControlMessage::parse(&bytes) {
            prop_assert_eq!(m.serialize(), bytes.clone());
        }
        let _ = VarList::parse(&bytes);
        let _ = parse_association_list(&bytes);
    }

    #[test]
    fn fragments_reassemble_in_any_order(
        (data, order, dups) in prop::collection::vec(any::<u8>(), 0..(31 * MAX_DATA_LEN))
            .prop_flat_map(|data| {
                let n = fragment_data(&data).len();
                (Just(data), Just((0..n).collect::<Vec<_>>()).prop_shuffle(), prop::collection::vec(0..n, 0..4))
            }),
        h in header(),
    ) {
        let frags = fragment_data(&data);
        prop_assert!(frags.iter().all(|f| f.data.len() <= MAX_DATA_LEN));
        prop_assert_eq!(frags.iter().filter(|f| !f.more).count(), 1);
        prop_assert_eq!(concat_fragments(&frags), data.clone());
        let msgs: Vec<_> = frags.iter().map(|f| f.to_message(h).unwrap()).collect();
        let mut r = Reassembler::default();
        let mut done = None;
        // Duplicates first (they count as first arrivals), then every fragment.
        for &i in dups.iter().chain(order.iter()) {
            if done.is_some() {
                // Complete (possibly early, when the duplicates covered
                // everything): the response is forgotten, stop feeding.
                break;
            }
            match r.push(&msgs[i]).unwrap() {
                ReassemblyProgress::Complete(resp) => {
                    prop_assert!(done.is_none());
                    prop_assert_eq!(resp.key.sequence, h.sequence);
                    done = Some(resp.data);
                }
                ReassemblyProgress::Incomplete | ReassemblyProgress::Duplicate => {}
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(done, Some(data));
        prop_assert_eq!(r.pending_len(), 0);
    }

    #[test]
    fn var_lists_round_trip_through_response_text(list in var_list()) {
        let text = list.to_response_text().unwrap();
        prop_assert_eq!(VarList::parse(&text).unwrap(), list.clone());
        let req = list.to_request_text().unwrap();
        prop_assert_eq!(VarList::parse(&req).unwrap(), list.clone());
        // Lines never reach 72 octets unless a single item is that long
        // (checked when no quoted value contains ", " itself).
        let commas_in_values = list.vars.iter().any(|v| v.value.text().is_some_and(|t| t.contains(',')));
        for line in text.split(|&b| b == b'\n').filter(|_| !commas_in_values) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // The separator's comma stays on the line it ends.
            let line = line.strip_suffix(b",").unwrap_or(line);
            prop_assert!(line.len() < 72 || !line.windows(2).any(|w| w == b", "), "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn response_writer_fragments_concatenate(list in var_list()) {
        let mut w = ResponseWriter::new();
        for v in &list.vars {
            w.put_var(&v.name, &v.value).unwrap();
        }
        let frags = w.finish();
        let mut offset = 0;
        for (i, f) in frags.iter().enumerate() {
            prop_assert_eq!(f.offset, offset);
            prop_assert!(f.data.len() <= MAX_DATA_LEN);
            prop_assert_eq!(f.more, i + 1 < frags.len());
            offset += f.data.len();
        }
        prop_assert_eq!(VarList::parse(&concat_fragments(&frags)).unwrap(), list);
    }

    #[test]
    fn parsed_var_lists_rewrite_stably(text in "[ -~\r\n]{0,300}") {
        if let Ok(list) = VarList::parse(text.as_bytes()) {
            let again = list.to_response_text().unwrap();
            prop_assert_eq!(VarList::parse(&again).unwrap(), list);
        }
    }

    #[test]
    fn association_lists_round_trip(entries in prop::collection::vec((any::<u16>(), any::<u16>()), 0..117)) {
        let list: Vec<_> = entries
            .iter()
            .map(|&(id, st)| AssociationEntry { association_id: id, status: PeerStatus::from_word(st) })
            .collect();
        let bytes = write_association_list(&list);
        prop_assert_eq!(bytes.len(), 4 * list.len());
        prop_assert_eq!(parse_association_list(&bytes).unwrap(), list);
    }
}
