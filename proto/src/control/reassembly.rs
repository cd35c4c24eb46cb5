//! Reassembly of fragmented mode 6 responses (RFC 9327 §2: offset, count,
//! more bit), with the checks of the reference ntpq (`getresponse`):
//! fragments may arrive in any order and more than once; overlapping
//! fragments, a second final fragment and data beyond the final fragment
//! are refused; a response is complete when the final fragment has arrived
//! and the data from offset 0 to its end has no hole.
//!
//! Memory is bounded: at most `max_pending` responses are collected at
//! once, each with at most `max_fragments` fragments and `max_total_len`
//! octets (defaults: 8, 32 and 32 × 480 octets, ntpq's `MAXFRAGS` and
//! buffer size).

use std::collections::BTreeMap;

use super::error::ReassemblyError;
use super::header::{ControlHeader, Opcode};
use super::message::ControlMessage;
use super::status::ErrorCode;

/// What identifies the fragments of one response: the request's sequence
/// number, opcode and association id, echoed in every fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FragmentKey {
    /// The 16-bit Sequence field the request was sent with.
    pub sequence: u16,
    /// The 5-bit Opcode field (RFC 9327 §2).
    pub opcode: Opcode,
    /// The 16-bit Association ID field; 0 addresses the system.
    pub association_id: u16,
}

impl FragmentKey {
    /// The key a fragment with this header belongs to.
    pub fn of(header: &ControlHeader) -> Self {
        Self {
            sequence: header.sequence,
            opcode: header.opcode,
            association_id: header.association_id,
        }
    }
}

/// Bounds on what a [`Reassembler`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Largest response (end of the last fragment), in octets.
    pub max_total_len: usize,
    /// Most fragments per response.
    pub max_fragments: usize,
    /// Most responses collected at the same time.
    pub max_pending: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        Self {
            max_total_len: 32 * 480,
            max_fragments: 32,
            max_pending: 8,
        }
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassembledResponse {
    /// Which request this answers.
    pub key: FragmentKey,
    /// The status word of the final fragment (ntpq reports that one).
    pub status: u16,
    /// The data of all fragments in offset order.
    pub data: Vec<u8>,
}

/// What [`Reassembler::push`] did with an accepted fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReassemblyProgress {
    /// Stored; the response is not complete yet.
    Incomplete,
    /// Same offset and data as a fragment already stored; ignored.
    Duplicate,
    /// This fragment completed the response (which is no longer pending).
    Complete(ReassembledResponse),
    /// An error response (E bit): the server's error code. Anything
    /// collected under the same key is dropped.
    ServerError {
        /// The response the error fragment belongs to.
        key: FragmentKey,
        /// The error code from the status word (RFC 9327 §2.4).
        code: ErrorCode,
    },
}

#[derive(Debug, Clone, Default)]
struct Partial {
    /// offset → data, non-overlapping.
    fragments: BTreeMap<usize, Vec<u8>>,
    /// End of the final fragment (M bit clear), once received.
    final_end: Option<usize>,
    status: u16,
}

impl Partial {
    fn max_end(&self) -> usize {
        self.fragments
            .iter()
            .next_back()
            .map_or(0, |(o, d)| o + d.len())
    }

    /// The first hole below `end`, if any.
    fn first_gap(&self, end: usize) -> Option<(usize, usize)> {
        let mut at = 0;
        for (&o, d) in &self.fragments {
            if o > at {
                return Some((at, o));
            }
            at = o + d.len();
        }
        (at < end).then_some((at, end))
    }

    fn assemble(self) -> Vec<u8> {
        self.fragments.into_values().flatten().collect()
    }
}

/// Collects response fragments by [`FragmentKey`] until each response is
/// complete. Pure state machine: the caller feeds parsed datagrams and
/// decides about timeouts (see [`Reassembler::finish`]).
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    pending: BTreeMap<FragmentKey, Partial>,
}

impl Reassembler {
    /// An empty reassembler that enforces `limits`.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Self {
            limits,
            pending: BTreeMap::new(),
        }
    }

    /// The bounds this reassembler enforces.
    pub fn limits(&self) -> ReassemblyLimits {
        self.limits
    }

    /// Offers one response datagram.
    ///
    /// `Err` means the fragment was refused; see [`ReassemblyError`] for
    /// which errors also drop the partial response.
    pub fn push(&mut self, msg: &ControlMessage) -> Result<ReassemblyProgress, ReassemblyError> {
        let h = &msg.header;
        let key = FragmentKey::of(h);
        if !h.response {
            return Err(ReassemblyError::NotResponse { key });
        }
        if h.error {
            self.pending.remove(&key);
            return Ok(ReassemblyProgress::ServerError {
                key,
                code: ErrorCode::from_status(h.status),
            });
        }
        let data = msg.data();
        let offset = usize::from(h.offset);
        let end = offset + data.len();
        if data.is_empty() && h.more {
            return Err(ReassemblyError::EmptyMoreFragment { key, offset });
        }
        if end > self.limits.max_total_len {
            self.pending.remove(&key);
            return Err(ReassemblyError::TooLarge {
                key,
                end,
                max: self.limits.max_total_len,
            });
        }
        let empty = Partial::default();
        let partial = match self.pending.get(&key) {
            Some(p) => p,
            None if self.pending.len() >= self.limits.max_pending => {
                return Err(ReassemblyError::TooManyPending {
                    key,
                    max: self.limits.max_pending,
                });
            }
            None => &empty,
        };
        if let Some(existing) = partial.fragments.get(&offset) {
            return if existing.as_slice() == data {
                Ok(ReassemblyProgress::Duplicate)
            } else {
                Err(ReassemblyError::ConflictingDuplicate { key, offset })
            };
        }
        if let Some((&po, pd)) = partial.fragments.range(..offset).next_back() {
            if po + pd.len() > offset {
                return Err(ReassemblyError::Overlap {
                    key,
                    offset,
                    end,
                    other_offset: po,
                    other_end: po + pd.len(),
                });
            }
        }
        if let Some((&no, nd)) = partial.fragments.range(offset..).next() {
            if end > no {
                return Err(ReassemblyError::Overlap {
                    key,
                    offset,
                    end,
                    other_offset: no,
                    other_end: no + nd.len(),
                });
            }
        }
        match (partial.final_end, h.more) {
            (Some(first_end), false) => {
                return Err(ReassemblyError::SecondFinal {
                    key,
                    end,
                    first_end,
                })
            }
            (Some(final_end), true) if end > final_end => {
                return Err(ReassemblyError::BeyondFinal {
                    key,
                    end,
                    final_end,
                });
            }
            (None, false) if partial.max_end() > end => {
                return Err(ReassemblyError::BeyondFinal {
                    key,
                    end: partial.max_end(),
                    final_end: end,
                });
            }
            _ => {}
        }
        if partial.fragments.len() >= self.limits.max_fragments {
            self.pending.remove(&key);
            return Err(ReassemblyError::TooManyFragments {
                key,
                max: self.limits.max_fragments,
            });
        }
        let partial = self.pending.entry(key).or_default();
        partial.fragments.insert(offset, data.to_vec());
        if !h.more {
            partial.final_end = Some(end);
            partial.status = h.status;
        }
        match partial.final_end {
            Some(fe) if partial.first_gap(fe).is_none() => {
                let done = self.pending.remove(&key).unwrap_or_default();
                let status = done.status;
                Ok(ReassemblyProgress::Complete(ReassembledResponse {
                    key,
                    status,
                    data: done.assemble(),
                }))
            }
            _ => Ok(ReassemblyProgress::Incomplete),
        }
    }

    /// Gives up on a response (e.g. after a timeout) and says what is
    /// missing. Always forgets the key.
    pub fn finish(&mut self, key: &FragmentKey) -> Result<ReassembledResponse, ReassemblyError> {
        let key = *key;
        let partial = self
            .pending
            .remove(&key)
            .ok_or(ReassemblyError::NothingReceived { key })?;
        let Some(final_end) = partial.final_end else {
            return Err(ReassemblyError::NoFinalFragment { key });
        };
        if let Some((offset, end)) = partial.first_gap(final_end) {
            return Err(ReassemblyError::Gap { key, offset, end });
        }
        let status = partial.status;
        Ok(ReassembledResponse {
            key,
            status,
            data: partial.assemble(),
        })
    }

    /// Keys of the responses being collected.
    pub fn pending_keys(&self) -> impl Iterator<Item = &FragmentKey> {
        self.pending.keys()
    }

    /// Number of responses being collected.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Forgets one response.
    pub fn remove(&mut self, key: &FragmentKey) {
        self.pending.remove(key);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::fragment::fragment_data;

    fn frag(offset: u16, more: bool, data: &[u8]) -> ControlMessage {
        let mut h = ControlHeader::request(2, Opcode::ReadVariables, 5, 0);
        h.response = true;
        h.more = more;
        h.offset = offset;
        h.status = 0x0616;
        ControlMessage::new(h, data).unwrap()
    }

    fn complete(p: ReassemblyProgress) -> Vec<u8> {
        match p {
            ReassemblyProgress::Complete(r) => r.data,
            other => panic!("not complete: {other:?}"),
        }
    }

    #[test]
    fn out_of_order_with_duplicates() {
        let mut r = Reassembler::default();
        assert_eq!(
            r.push(&frag(4, false, b"efg")).unwrap(),
            ReassemblyProgress::Incomplete
        );
        assert_eq!(
            r.push(&frag(4, false, b"efg")).unwrap(),
            ReassemblyProgress::Duplicate
        );
        assert_eq!(r.pending_len(), 1);
        assert_eq!(
            complete(r.push(&frag(0, true, b"abcd")).unwrap()),
            b"abcdefg"
        );
        assert_eq!(r.pending_len(), 0);
    }

    #[test]
    fn refuses_overlaps_and_bad_finals() {
        let mut r = Reassembler::default();
        r.push(&frag(0, true, b"abcd")).unwrap();
        let key = FragmentKey::of(&frag(0, true, b"").header);
        assert!(matches!(
            r.push(&frag(2, true, b"xy")),
            Err(ReassemblyError::Overlap { .. })
        ));
        assert!(matches!(
            r.push(&frag(0, true, b"abce")),
            Err(ReassemblyError::ConflictingDuplicate { .. })
        ));
        assert!(matches!(
            r.push(&frag(4, true, b"")),
            Err(ReassemblyError::EmptyMoreFragment { .. })
        ));
        r.push(&frag(10, true, b"kl")).unwrap();
        assert_eq!(
            r.push(&frag(6, false, b"gh")),
            Err(ReassemblyError::BeyondFinal {
                key,
                end: 12,
                final_end: 8
            })
        );
        r.push(&frag(12, false, b"m")).unwrap();
        assert_eq!(
            r.push(&frag(13, false, b"")),
            Err(ReassemblyError::SecondFinal {
                key,
                end: 13,
                first_end: 13
            })
        );
        assert_eq!(
            r.push(&frag(14, true, b"z")),
            Err(ReassemblyError::BeyondFinal {
                key,
                end: 15,
                final_end: 13
            })
        );
        // Refused fragments did not disturb the partial response.
        assert_eq!(
            r.finish(&key),
            Err(ReassemblyError::Gap {
                key,
                offset: 4,
                end: 10
            })
        );
        assert_eq!(
            r.finish(&key),
            Err(ReassemblyError::NothingReceived { key })
        );
        r.push(&frag(0, true, b"ab")).unwrap();
        assert_eq!(
            r.finish(&key),
            Err(ReassemblyError::NoFinalFragment { key })
        );
    }

    #[test]
    fn limits_bound_memory() {
        let limits = ReassemblyLimits {
            max_total_len: 10,
            max_fragments: 2,
            max_pending: 1,
        };
        let mut r = Reassembler::new(limits);
        r.push(&frag(0, true, b"ab")).unwrap();
        r.push(&frag(2, true, b"cd")).unwrap();
        assert!(matches!(
            r.push(&frag(4, true, b"ef")),
            Err(ReassemblyError::TooManyFragments { max: 2, .. })
        ));
        assert_eq!(r.pending_len(), 0);
        assert!(matches!(
            r.push(&frag(8, false, b"ijk")),
            Err(ReassemblyError::TooLarge {
                end: 11,
                max: 10,
                ..
            })
        ));
        r.push(&frag(0, true, b"ab")).unwrap();
        let mut other = frag(0, true, b"x");
        other.header.sequence = 6;
        assert!(matches!(
            r.push(&other),
            Err(ReassemblyError::TooManyPending { max: 1, .. })
        ));
    }

    #[test]
    fn error_responses_and_requests() {
        let mut r = Reassembler::default();
        r.push(&frag(0, true, b"ab")).unwrap();
        let mut e = frag(0, false, b"");
        e.header.error = true;
        e.header.status = ErrorCode::UnknownAssociation.to_status();
        let key = FragmentKey::of(&e.header);
        assert_eq!(
            r.push(&e).unwrap(),
            ReassemblyProgress::ServerError {
                key,
                code: ErrorCode::UnknownAssociation
            }
        );
        assert_eq!(r.pending_len(), 0);
        let mut q = frag(0, false, b"");
        q.header.response = false;
        assert!(matches!(
            r.push(&q),
            Err(ReassemblyError::NotResponse { .. })
        ));
    }

    #[test]
    fn empty_final_fragment_completes() {
        let mut r = Reassembler::default();
        assert_eq!(complete(r.push(&frag(0, false, b"")).unwrap()), b"");
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut out = None;
        for f in fragment_data(&data).iter().rev() {
            let h = ControlHeader::request(2, Opcode::ReadStatus, 9, 0);
            if let ReassemblyProgress::Complete(resp) = r.push(&f.to_message(h).unwrap()).unwrap() {
                out = Some(resp.data);
            }
        }
        assert_eq!(out, Some(data));
    }
}
