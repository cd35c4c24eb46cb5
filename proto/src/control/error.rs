//! Errors of the mode 6 codec (RFC 9327) and of fragment reassembly.
//!
//! This module is self-contained: it does not share error types with the
//! rest of `proto`, so the mode 6 code can be used (and fuzzed) on its own.

use thiserror::Error;

use super::reassembly::FragmentKey;

/// Why a mode 6 message, a status word payload or a variable list could not
/// be decoded. Every variant names the offending length, offset or value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ControlError {
    /// Fewer octets than the 12-octet control header (RFC 9327 §2).
    #[error("mode 6 message of {len} octets is shorter than the 12-octet header")]
    TooShort {
        /// Datagram length in octets.
        len: usize,
    },
    /// The mode field of the first octet is not 6.
    #[error("mode field is {mode}, not 6 (control message)")]
    WrongMode {
        /// The 3-bit mode field as received.
        mode: u8,
    },
    /// The count field claims more data than the datagram holds.
    #[error("count field says {count} data octets but only {available} follow the header")]
    CountBeyondDatagram {
        /// The 16-bit Count field: data octets in this fragment.
        count: usize,
        /// Octets after the 12-octet header.
        available: usize,
    },
    /// More data than one mode 6 fragment can carry (468 octets in the reference).
    #[error("{len} data octets exceed the maximum of {max} per mode 6 fragment")]
    DataTooLong {
        /// Data octets offered for one fragment.
        len: usize,
        /// Largest data size of one fragment, in octets.
        max: usize,
    },
    /// A response whose fragments would need offsets beyond 65535.
    #[error("response of {len} octets does not fit the 16-bit offset and count fields")]
    ResponseTooLong {
        /// Total response data length in octets.
        len: usize,
    },
    /// A MAC digest that is neither 16 (MD5, AES-CMAC) nor 20 (SHA1) octets.
    #[error("MAC digest of {len} octets; expected 16 (MD5, AES-CMAC) or 20 (SHA1)")]
    BadDigestLength {
        /// Digest length in octets, key ID excluded.
        len: usize,
    },
    /// A READSTAT association list whose length is not a multiple of 4.
    #[error(
        "association list of {len} octets is not a whole number of 4-octet (id, status) pairs"
    )]
    AssociationListLength {
        /// Data length of the READSTAT response, in octets.
        len: usize,
    },
    /// A variable list (`name=value, ...`) that the reference ntpq would stop at.
    #[error("variable list: {reason} at offset {offset}")]
    VarList {
        /// Octet offset in the message data where the problem starts.
        offset: usize,
        /// What is wrong there.
        reason: VarListProblem,
    },
    /// A variable name or value that the writer cannot represent so that it
    /// reads back the same.
    #[error("variable {name:?} cannot be written: {reason}")]
    Unwritable {
        /// The variable's name, as given.
        name: String,
        /// Why it would not read back the same (for the operator).
        reason: &'static str,
    },
}

/// What is wrong in a variable list (see [`ControlError::VarList`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarListProblem {
    /// A name longer than the reference ntpq accepts (255 octets).
    NameTooLong,
    /// A value longer than the reference ntpq accepts (2047 octets).
    ValueTooLong,
    /// A `"` without a closing `"`.
    UnterminatedQuote,
    /// Something other than `,`, CR or the end after a closing quote.
    TextAfterQuote,
    /// `=value` with no name in front.
    EmptyName,
}

impl std::fmt::Display for VarListProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NameTooLong => "variable name longer than 255 octets",
            Self::ValueTooLong => "variable value longer than 2047 octets",
            Self::UnterminatedQuote => "quoted value without closing quote",
            Self::TextAfterQuote => "text after a closing quote (expected ',' or end of line)",
            Self::EmptyName => "value without a variable name",
        })
    }
}

/// Why a response fragment was refused by the [`super::Reassembler`].
///
/// Errors marked "(fragment dropped)" leave the partial response intact, as
/// the reference ntpq ignores such a packet and keeps waiting; errors marked
/// "(response discarded)" also forget everything collected under that key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReassemblyError {
    /// A request (R bit clear) was offered as a response fragment (fragment dropped).
    #[error("{key}: not a response (R bit clear)")]
    NotResponse {
        /// The response the fragment claims to belong to.
        key: FragmentKey,
    },
    /// A non-final fragment (M bit set) without data (fragment dropped).
    #[error("{key}: empty fragment at offset {offset} with the more bit set")]
    EmptyMoreFragment {
        /// The response the fragment belongs to.
        key: FragmentKey,
        /// The fragment's Offset field, in octets of response data.
        offset: usize,
    },
    /// Two fragments at the same offset with different contents (fragment dropped).
    #[error("{key}: fragment at offset {offset} repeats an earlier offset with different data")]
    ConflictingDuplicate {
        /// The response the fragment belongs to.
        key: FragmentKey,
        /// The Offset field both fragments share, in octets.
        offset: usize,
    },
    /// The fragment overlaps data already received (fragment dropped).
    #[error("{key}: fragment {offset}..{end} overlaps received data {other_offset}..{other_end}")]
    Overlap {
        /// The response the fragment belongs to.
        key: FragmentKey,
        /// First octet of the new fragment in the response data.
        offset: usize,
        /// One past the new fragment's last octet (`offset + count`).
        end: usize,
        /// First octet of the fragment already held.
        other_offset: usize,
        /// One past the last octet of the fragment already held.
        other_end: usize,
    },
    /// A second final fragment (M bit clear) ending elsewhere (fragment dropped).
    #[error("{key}: second final fragment ends at {end}, first ended at {first_end}")]
    SecondFinal {
        /// The response the fragment belongs to.
        key: FragmentKey,
        /// Where the new final fragment ends, in octets of response data.
        end: usize,
        /// Where the first final fragment ended.
        first_end: usize,
    },
    /// Data beyond the end that the final fragment announced (fragment dropped).
    #[error("{key}: data up to {end} lies beyond the end {final_end} set by the final fragment")]
    BeyondFinal {
        /// The response the fragment belongs to.
        key: FragmentKey,
        /// Where the fragment ends, in octets of response data.
        end: usize,
        /// Response length announced by the final fragment.
        final_end: usize,
    },
    /// The response would exceed the configured total size (response discarded).
    #[error("{key}: response would reach {end} octets, above the limit of {max}")]
    TooLarge {
        /// The response that was discarded.
        key: FragmentKey,
        /// Where the refused fragment ends, in octets of response data.
        end: usize,
        /// The configured limit on one response, in octets.
        max: usize,
    },
    /// The response would need more fragments than allowed (response discarded).
    #[error("{key}: more than {max} fragments")]
    TooManyFragments {
        /// The response that was discarded.
        key: FragmentKey,
        /// The configured limit on fragments per response.
        max: usize,
    },
    /// Too many different responses are being collected at once (fragment dropped).
    #[error("{key}: already collecting {max} other responses")]
    TooManyPending {
        /// The response the refused fragment would have started.
        key: FragmentKey,
        /// The configured limit on responses collected at once.
        max: usize,
    },
    /// [`super::Reassembler::finish`] found a hole in the data.
    #[error("{key}: incomplete, octets {offset}..{end} missing")]
    Gap {
        /// The incomplete response.
        key: FragmentKey,
        /// First missing octet of response data.
        offset: usize,
        /// One past the last missing octet.
        end: usize,
    },
    /// [`super::Reassembler::finish`] found no final fragment.
    #[error("{key}: incomplete, final fragment (more bit clear) not received")]
    NoFinalFragment {
        /// The incomplete response.
        key: FragmentKey,
    },
    /// [`super::Reassembler::finish`] was asked about a key it holds nothing for.
    #[error("{key}: nothing received")]
    NothingReceived {
        /// The response asked about.
        key: FragmentKey,
    },
}

impl std::fmt::Display for FragmentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "response seq {} op {} assoc {}",
            self.sequence, self.opcode, self.association_id
        )
    }
}
