//! Mode 6 control messages (RFC 9327), as exchanged by ntpq and ntpd.
//!
//! * [`ControlHeader`] / [`ControlMessage`]: the 12-octet header, data,
//!   padding and optional MAC; parsing and serialising are exact inverses.
//! * [`status`]: system, peer and clock status words, event codes and the
//!   error codes of E responses, with the reference's names.
//! * [`parse_association_list`]: the READSTAT association list.
//! * [`VarList`]: `name=value, ...` variable lists.
//! * [`ResponseWriter`]: builds response data and fragments exactly as the
//!   reference ntpd; [`Reassembler`]: collects fragments into responses.
//!
//! Pure: no I/O, no clock. Untrusted input never panics; every error is a
//! [`ControlError`] or [`ReassemblyError`].

mod assoc;
mod error;
mod fragment;
mod header;
mod message;
mod reassembly;
pub mod status;
mod varlist;

pub use assoc::{parse_association_list, write_association_list, AssociationEntry};
pub use error::{ControlError, ReassemblyError, VarListProblem};
pub use fragment::{concat_fragments, fragment_data, DataFragment, ResponseWriter, MAX_LINE_LEN};
pub use header::{ControlHeader, Opcode, HEADER_LEN, MAX_DATA_LEN, MODE_CONTROL};
pub use message::{ControlMac, ControlMessage, DIGEST_LEN_MD5, DIGEST_LEN_SHA1, KEY_ID_LEN};
pub use reassembly::{
    FragmentKey, ReassembledResponse, Reassembler, ReassemblyLimits, ReassemblyProgress,
};
pub use status::{
    ClockCode, ClockSource, ClockStatus, ErrorCode, PeerEvent, PeerSelection, PeerStatus,
    PeerStatusFlags, StatusWord, SystemEvent, SystemStatus,
};
pub use varlist::{octets, write_item, VarList, VarValue, Variable};
