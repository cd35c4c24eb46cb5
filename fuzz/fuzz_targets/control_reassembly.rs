//! Mode 6 fragment reassembly (RFC 9327 §2): a fuzzer-made sequence of
//! response fragments never panics, memory stays within the limits, and
//! every completed response is exactly the concatenation of the fragments
//! accepted for it.
#![no_main]
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use libfuzzer_sys::fuzz_target;
use proto::control::{
    ControlHeader, ControlMessage, FragmentKey, Opcode, ReassembledResponse, Reassembler,
    ReassemblyError, ReassemblyLimits, ReassemblyProgress,
};

/// Fragments accepted so far, per response: offset → data.
type Model = BTreeMap<FragmentKey, BTreeMap<usize, Vec<u8>>>;

fn check_complete(model: &mut Model, resp: &ReassembledResponse) {
    let frags = model.remove(&resp.key).unwrap_or_default();
    let mut at = 0;
    for (off, d) in &frags {
        assert_eq!(
            *off, at,
            "fragments must tile the response without gaps or overlaps"
        );
        assert_eq!(&resp.data[at..at + d.len()], d.as_slice());
        at += d.len();
    }
    assert_eq!(at, resp.data.len());
}

fuzz_target!(|input: &[u8]| {
    let Some((&sel, mut rest)) = input.split_first() else {
        return;
    };
    let limits = ReassemblyLimits {
        max_total_len: 64 + 64 * usize::from(sel & 0x1f),
        max_fragments: 1 + usize::from(sel >> 5),
        max_pending: 1 + usize::from(sel & 3),
    };
    let mut r = Reassembler::new(limits);
    let mut model = Model::new();
    while let Some((head, tail)) = rest.split_first_chunk::<4>() {
        let [keysel, flags, off_hi, off_lo] = *head;
        let count = usize::from(flags & 0x0f) * 7 + usize::from(keysel >> 6);
        let (data, tail) = tail.split_at(count.min(tail.len()));
        rest = tail;
        let mut h = ControlHeader::request(
            2,
            Opcode::from_code(1 + ((keysel >> 2) & 1)),
            u16::from(keysel & 3),
            0,
        );
        h.association_id = u16::from((keysel >> 3) & 1);
        h.response = flags & 0x80 == 0 || flags & 0x40 == 0;
        h.error = flags & 0xc0 == 0x40;
        h.more = flags & 0x20 != 0;
        h.offset = u16::from_be_bytes([off_hi, off_lo]) % 1024;
        h.status = u16::from_be_bytes([flags, keysel]);
        let Ok(msg) = ControlMessage::new(h, data) else {
            continue;
        };
        let key = FragmentKey::of(&h);
        let offset = usize::from(h.offset);
        match r.push(&msg) {
            Ok(ReassemblyProgress::Incomplete) => {
                let frags = model.entry(key).or_default();
                assert!(frags.insert(offset, data.to_vec()).is_none());
                assert!(frags.len() <= limits.max_fragments);
                assert!(frags.values().map(Vec::len).sum::<usize>() <= limits.max_total_len);
            }
            Ok(ReassemblyProgress::Duplicate) => {
                assert_eq!(
                    model
                        .get(&key)
                        .and_then(|f| f.get(&offset))
                        .map(Vec::as_slice),
                    Some(data)
                );
            }
            Ok(ReassemblyProgress::Complete(resp)) => {
                assert_eq!(resp.key, key);
                model.entry(key).or_default().insert(offset, data.to_vec());
                check_complete(&mut model, &resp);
            }
            Ok(ReassemblyProgress::ServerError { key: k, code }) => {
                assert!(h.error);
                assert_eq!(code.to_status() >> 8, h.status >> 8);
                model.remove(&k);
            }
            Err(ReassemblyError::TooLarge { key: k, .. })
            | Err(ReassemblyError::TooManyFragments { key: k, .. }) => {
                model.remove(&k);
            }
            Err(_) => {}
        }
        let pending: BTreeSet<_> = r.pending_keys().copied().collect();
        let modelled: BTreeSet<_> = model.keys().copied().collect();
        assert_eq!(pending, modelled);
        assert!(r.pending_len() <= limits.max_pending);
    }
    for key in model.keys().copied().collect::<Vec<_>>() {
        match r.finish(&key) {
            Ok(resp) => check_complete(&mut model, &resp),
            Err(ReassemblyError::Gap { .. } | ReassemblyError::NoFinalFragment { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(r.pending_len(), 0);
});
