//! Status words of mode 6 responses (RFC 9327 §2.1–§2.4) with the code
//! tables of the reference implementation (`ntp_control.h`, `ntp.h`) and
//! the names its ntpq prints (`statustoa`, `ntpq -c as`).
//!
//! Every decoder is total (any 16-bit word decodes) and lossless: encoding
//! the decoded value gives back the same word.

/// Builds "N event(s)" as ntpq prints an event counter.
fn events_text(count: u8) -> String {
    match count {
        0 => "no events".to_string(),
        1 => "1 event".to_string(),
        n => format!("{n} events"),
    }
}

/// Name of a leap indicator value as ntpq prints it in a system status.
pub fn leap_name(leap: u8) -> String {
    match leap {
        0 => "leap_none".to_string(),
        1 => "leap_add_sec".to_string(),
        2 => "leap_del_sec".to_string(),
        3 => "leap_alarm".to_string(),
        n => format!("leap_{n}"),
    }
}

/// Time source of the system clock (system status bits 8–13, `CTL_SST_TS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockSource {
    /// 0: unspecified (no system peer).
    Unspecified,
    /// 1: calibrated atomic clock or PPS.
    Pps,
    /// 2: VLF or LF radio.
    LfRadio,
    /// 3: HF radio.
    HfRadio,
    /// 4: UHF radio.
    UhfRadio,
    /// 5: local clock.
    Local,
    /// 6: NTP server.
    Ntp,
    /// 7: other (UDP/TIME).
    Other,
    /// 8: wristwatch (manual).
    Wristwatch,
    /// 9: telephone modem.
    Telephone,
    /// 10–63.
    Unknown(u8),
}

impl ClockSource {
    /// Decodes the low six bits (the source field of the system status).
    pub fn from_code(code: u8) -> Self {
        match code & 0x3f {
            0 => Self::Unspecified,
            1 => Self::Pps,
            2 => Self::LfRadio,
            3 => Self::HfRadio,
            4 => Self::UhfRadio,
            5 => Self::Local,
            6 => Self::Ntp,
            7 => Self::Other,
            8 => Self::Wristwatch,
            9 => Self::Telephone,
            n => Self::Unknown(n),
        }
    }

    /// The 6-bit code (0–63).
    pub fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::Pps => 1,
            Self::LfRadio => 2,
            Self::HfRadio => 3,
            Self::UhfRadio => 4,
            Self::Local => 5,
            Self::Ntp => 6,
            Self::Other => 7,
            Self::Wristwatch => 8,
            Self::Telephone => 9,
            Self::Unknown(n) => n & 0x3f,
        }
    }

    /// The name ntpq prints (`sync_ntp`, ...; `sync_N` when unknown).
    pub fn name(self) -> String {
        let s = match self {
            Self::Unspecified => "sync_unspec",
            Self::Pps => "sync_pps",
            Self::LfRadio => "sync_lf_radio",
            Self::HfRadio => "sync_hf_radio",
            Self::UhfRadio => "sync_uhf_radio",
            Self::Local => "sync_local",
            Self::Ntp => "sync_ntp",
            Self::Other => "sync_other",
            Self::Wristwatch => "sync_wristwatch",
            Self::Telephone => "sync_telephone",
            Self::Unknown(n) => return format!("sync_{n}"),
        };
        s.to_string()
    }
}

/// System event codes (system status bits 0–3, `EVNT_*` in the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemEvent {
    /// 0: no event.
    Unspecified,
    /// 1: no frequency file; the frequency is being measured.
    FreqNotSet,
    /// 2: frequency set from the drift file.
    FreqSet,
    /// 3: an offset above the step threshold was seen once (SPIK state of
    /// the clock discipline, RFC 5905 §11.3).
    SpikeDetect,
    /// 4: initial frequency measurement (FREQ state).
    FreqMode,
    /// 5: the clock is synchronised.
    ClockSync,
    /// 6: the daemon (re)started.
    Restart,
    /// 7: offset above the panic threshold (1000 s); the daemon exits.
    PanicStop,
    /// 8: no system peer any more.
    NoSysPeer,
    /// 9: a leap second is armed for the end of the month.
    LeapArmed,
    /// 10: an armed leap second was cancelled.
    LeapDisarmed,
    /// 11: the leap second happened.
    LeapEvent,
    /// 12: the clock was stepped.
    ClockStep,
    /// 13: kernel discipline status changed (`kern`).
    Kernel,
    /// 14: TAI offset or leap-second table updated (`TAI`).
    Tai,
    /// 15: the leap-second file has expired.
    StaleLeapsecondValues,
}

const SYSTEM_EVENTS: [(SystemEvent, &str); 16] = [
    (SystemEvent::Unspecified, "unspecified"),
    (SystemEvent::FreqNotSet, "freq_not_set"),
    (SystemEvent::FreqSet, "freq_set"),
    (SystemEvent::SpikeDetect, "spike_detect"),
    (SystemEvent::FreqMode, "freq_mode"),
    (SystemEvent::ClockSync, "clock_sync"),
    (SystemEvent::Restart, "restart"),
    (SystemEvent::PanicStop, "panic_stop"),
    (SystemEvent::NoSysPeer, "no_sys_peer"),
    (SystemEvent::LeapArmed, "leap_armed"),
    (SystemEvent::LeapDisarmed, "leap_disarmed"),
    (SystemEvent::LeapEvent, "leap_event"),
    (SystemEvent::ClockStep, "clock_step"),
    (SystemEvent::Kernel, "kern"),
    (SystemEvent::Tai, "TAI"),
    (
        SystemEvent::StaleLeapsecondValues,
        "stale_leapsecond_values",
    ),
];

impl SystemEvent {
    /// Decodes the low four bits.
    pub fn from_code(code: u8) -> Self {
        SYSTEM_EVENTS[usize::from(code & 0x0f)].0
    }

    /// The 4-bit event code (0–15).
    pub fn code(self) -> u8 {
        // The table is in code order; the position is the code.
        SYSTEM_EVENTS
            .iter()
            .position(|(e, _)| *e == self)
            .map_or(0, |i| i as u8)
    }

    /// The name ntpq prints (`restart`, `clock_sync`, `TAI`, ...).
    pub fn name(self) -> &'static str {
        SYSTEM_EVENTS[usize::from(self.code())].1
    }
}

/// The system status word (RFC 9327 §2.1): leap indicator, clock source,
/// event counter and last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SystemStatus {
    /// Leap indicator (2 bits).
    pub leap: u8,
    /// Time source (6 bits).
    pub clock_source: ClockSource,
    /// Number of events since the last read (4 bits, saturates at 15).
    pub event_count: u8,
    /// Last event (4 bits).
    pub last_event: SystemEvent,
}

impl SystemStatus {
    /// Decodes a status word; every word decodes.
    pub fn from_word(word: u16) -> Self {
        let [hi, lo] = word.to_be_bytes();
        Self {
            leap: hi >> 6,
            clock_source: ClockSource::from_code(hi & 0x3f),
            event_count: lo >> 4,
            last_event: SystemEvent::from_code(lo),
        }
    }

    /// Encodes the word; fields are masked to their widths.
    pub fn to_word(self) -> u16 {
        u16::from_be_bytes([
            ((self.leap & 0x03) << 6) | self.clock_source.code(),
            ((self.event_count & 0x0f) << 4) | self.last_event.code(),
        ])
    }

    /// The text ntpq prints after `status=XXXX` for the system
    /// (`leap_none, sync_ntp, 1 event, restart`).
    pub fn describe(self) -> String {
        format!(
            "{}, {}, {}, {}",
            leap_name(self.leap),
            self.clock_source.name(),
            events_text(self.event_count),
            self.last_event.name()
        )
    }
}

/// The status bits of a peer status word (`CTL_PST_*`, high five bits of
/// the high octet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PeerStatusFlags(u8);

impl PeerStatusFlags {
    /// Configured (not ephemeral) association.
    pub const CONFIG: Self = Self(0x80);
    /// Authentication enabled (a key is set).
    pub const AUTHENABLE: Self = Self(0x40);
    /// Last packet authenticated.
    pub const AUTHENTIC: Self = Self(0x20);
    /// Reachable (reach register non-zero).
    pub const REACH: Self = Self(0x10);
    /// Broadcast/multicast/manycast association (transmit only).
    pub const BCAST: Self = Self(0x08);

    const NAMES: [(Self, &'static str); 5] = [
        (Self::CONFIG, "conf"),
        (Self::AUTHENABLE, "authenb"),
        (Self::AUTHENTIC, "auth"),
        (Self::REACH, "reach"),
        (Self::BCAST, "bcast"),
    ];

    /// No bits set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// From the high octet of a peer status word (the selection bits are dropped).
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits & 0xf8)
    }

    /// The flag bits as they sit in the high octet (bits 3–7).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits set in either.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The names of the set bits joined by `, ` as ntpq prints them
    /// (`conf, authenb, auth, reach`).
    pub fn describe(self) -> String {
        Self::NAMES
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::ops::BitOr for PeerStatusFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

/// Peer selection code (peer status bits 8–10, `CTL_PST_SEL_*`): how far
/// the peer got through the selection algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerSelection {
    /// 0: discarded (unreachable, bad distance, ...).
    Reject,
    /// 1: discarded by the intersection algorithm (falseticker).
    Falsetick,
    /// 2: discarded by the table overflow (excess).
    Excess,
    /// 3: discarded by the cluster algorithm (outlier).
    Outlier,
    /// 4: included by the combine algorithm (candidate).
    Candidate,
    /// 5: backup (more than `tos maxclock` survivors).
    Backup,
    /// 6: system peer.
    SysPeer,
    /// 7: PPS peer.
    PpsPeer,
}

const SELECTIONS: [(PeerSelection, &str, char); 8] = [
    (PeerSelection::Reject, "reject", ' '),
    (PeerSelection::Falsetick, "falsetick", 'x'),
    (PeerSelection::Excess, "excess", '.'),
    (PeerSelection::Outlier, "outlier", '-'),
    (PeerSelection::Candidate, "candidate", '+'),
    (PeerSelection::Backup, "backup", '#'),
    (PeerSelection::SysPeer, "sys.peer", '*'),
    (PeerSelection::PpsPeer, "pps.peer", 'o'),
];

impl PeerSelection {
    /// Decodes the low three bits.
    pub fn from_code(code: u8) -> Self {
        SELECTIONS[usize::from(code & 0x07)].0
    }

    /// The 3-bit selection code (0–7).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The `condition` column of `ntpq -c as` (`sys.peer`, `candidate`, ...).
    pub fn condition(self) -> &'static str {
        SELECTIONS[usize::from(self.code())].1
    }

    /// The name in a status description (`sel_sys.peer`, ...).
    pub fn name(self) -> String {
        format!("sel_{}", self.condition())
    }

    /// The tally code `ntpq -p` prints in front of the peer (`*`, `+`, ...).
    pub fn tally(self) -> char {
        SELECTIONS[usize::from(self.code())].2
    }
}

/// Peer event codes (peer status bits 0–3, `PEVNT_*` in the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerEvent {
    /// 0: no event.
    Unspecified,
    /// 1: association mobilised.
    Mobilize,
    /// 2: association demobilised.
    Demobilize,
    /// 3: the reach register became zero (RFC 5905 §13).
    Unreachable,
    /// 4: the first reply after unreachable.
    Reachable,
    /// 5: association restarted (e.g. after an Autokey error).
    Restart,
    /// 6: no server replied (one-shot `-q` mode).
    NoReply,
    /// 7: rate exceeded: a RATE kiss-o'-death was received (RFC 5905 §7.4).
    RateExceeded,
    /// 8: access denied: a DENY or RSTR kiss-o'-death was received.
    AccessDenied,
    /// 9: the server announced a leap second (LI 1 or 2).
    LeapArmed,
    /// 10: became the system peer.
    SysPeer,
    /// 11: reference clock event (`clock_alarm` in `ntpq -c as`).
    ClockEvent,
    /// 12: a packet failed authentication.
    BadAuth,
    /// 13: a popcorn spike was suppressed by the clock filter.
    Popcorn,
    /// 14: switched to interleaved mode.
    InterleaveMode,
    /// 15: an interleaved-mode timestamp mismatch.
    InterleaveError,
}

/// (event, name in status descriptions, name in the `last_event` column of
/// `ntpq -c as`, which has its own shorter table).
const PEER_EVENTS: [(PeerEvent, &str, &str); 16] = [
    (PeerEvent::Unspecified, "", ""),
    (PeerEvent::Mobilize, "mobilize", "mobilize"),
    (PeerEvent::Demobilize, "demobilize", "demobilize"),
    (PeerEvent::Unreachable, "unreachable", "unreachable"),
    (PeerEvent::Reachable, "reachable", "reachable"),
    (PeerEvent::Restart, "restart", "restart"),
    (PeerEvent::NoReply, "no_reply", "no_reply"),
    (PeerEvent::RateExceeded, "rate_exceeded", "rate_exceeded"),
    (PeerEvent::AccessDenied, "access_denied", "access_denied"),
    (PeerEvent::LeapArmed, "leap_armed", "leap_armed"),
    (PeerEvent::SysPeer, "sys_peer", "sys_peer"),
    (PeerEvent::ClockEvent, "clock_event", "clock_alarm"),
    (PeerEvent::BadAuth, "bad_auth", ""),
    (PeerEvent::Popcorn, "popcorn", ""),
    (PeerEvent::InterleaveMode, "interleave_mode", ""),
    (PeerEvent::InterleaveError, "interleave_error", ""),
];

impl PeerEvent {
    /// Decodes the low four bits.
    pub fn from_code(code: u8) -> Self {
        PEER_EVENTS[usize::from(code & 0x0f)].0
    }

    /// The 4-bit event code (0–15).
    pub fn code(self) -> u8 {
        PEER_EVENTS
            .iter()
            .position(|(e, _, _)| *e == self)
            .map_or(0, |i| i as u8)
    }

    /// The name in status descriptions and event logs (`sys_peer`,
    /// `clock_event`, ...; empty for [`PeerEvent::Unspecified`]).
    pub fn name(self) -> &'static str {
        PEER_EVENTS[usize::from(self.code())].1
    }

    /// The `last_event` column of `ntpq -c as` (ntpq uses its own table:
    /// `clock_alarm` for 11, nothing for 0 and 12–15).
    pub fn association_column(self) -> &'static str {
        PEER_EVENTS[usize::from(self.code())].2
    }
}

/// A peer status word (RFC 9327 §2.2): status bits, selection code, event
/// counter and last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerStatus {
    /// Status bits (high five bits of the high octet).
    pub flags: PeerStatusFlags,
    /// Selection code (low three bits of the high octet).
    pub selection: PeerSelection,
    /// Number of events (4 bits, saturates at 15).
    pub event_count: u8,
    /// Last event (4 bits).
    pub last_event: PeerEvent,
}

impl PeerStatus {
    /// Decodes a status word; every word decodes.
    pub fn from_word(word: u16) -> Self {
        let [hi, lo] = word.to_be_bytes();
        Self {
            flags: PeerStatusFlags::from_bits(hi),
            selection: PeerSelection::from_code(hi),
            event_count: lo >> 4,
            last_event: PeerEvent::from_code(lo),
        }
    }

    /// Encodes the word; the event count is masked to 4 bits.
    pub fn to_word(self) -> u16 {
        u16::from_be_bytes([
            self.flags.bits() | self.selection.code(),
            ((self.event_count & 0x0f) << 4) | self.last_event.code(),
        ])
    }

    /// The text ntpq prints after `status=XXXX` for a peer
    /// (`conf, authenb, auth, reach, sel_sys.peer, 1 event, sys_peer`); the
    /// event name is left out when there is no last event.
    pub fn describe(self) -> String {
        let mut s = format!(
            "{}, {}, {}",
            self.flags.describe(),
            self.selection.name(),
            events_text(self.event_count)
        );
        if self.last_event != PeerEvent::Unspecified {
            s.push_str(", ");
            s.push_str(self.last_event.name());
        }
        s
    }
}

/// Reference clock status codes (`CTL_CLK_*` / `CEVNT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockCode {
    /// 0: nominal.
    Nominal,
    /// 1: no reply (timeout).
    NoReply,
    /// 2: bad reply format.
    BadFormat,
    /// 3: hardware or software fault.
    Fault,
    /// 4: propagation failure (bad signal).
    BadSignal,
    /// 5: bad date format or value.
    BadDate,
    /// 6: bad time format or value.
    BadTime,
    /// 7–15.
    Unknown(u8),
}

impl ClockCode {
    /// Decodes the low four bits.
    pub fn from_code(code: u8) -> Self {
        match code & 0x0f {
            0 => Self::Nominal,
            1 => Self::NoReply,
            2 => Self::BadFormat,
            3 => Self::Fault,
            4 => Self::BadSignal,
            5 => Self::BadDate,
            6 => Self::BadTime,
            n => Self::Unknown(n),
        }
    }

    /// The 4-bit code (0–15).
    pub fn code(self) -> u8 {
        match self {
            Self::Nominal => 0,
            Self::NoReply => 1,
            Self::BadFormat => 2,
            Self::Fault => 3,
            Self::BadSignal => 4,
            Self::BadDate => 5,
            Self::BadTime => 6,
            Self::Unknown(n) => n & 0x0f,
        }
    }

    /// The name ntpq prints (`clk_unspec`, `clk_no_reply`, ...; `clk_N` if unknown).
    pub fn name(self) -> String {
        let s = match self {
            Self::Nominal => "clk_unspec",
            Self::NoReply => "clk_no_reply",
            Self::BadFormat => "clk_bad_format",
            Self::Fault => "clk_fault",
            Self::BadSignal => "clk_bad_signal",
            Self::BadDate => "clk_bad_date",
            Self::BadTime => "clk_bad_time",
            Self::Unknown(n) => return format!("clk_{n}"),
        };
        s.to_string()
    }
}

/// A clock status word as the reference ntpd builds it for READCLOCK
/// (`ctlclkstatus`): high octet unused (0), bits 4–7 the last event, bits
/// 0–3 the current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockStatus {
    /// The high octet (0 from the reference; kept for a lossless round trip).
    pub high: u8,
    /// The last reference clock event (bits 4–7).
    pub last_event: ClockCode,
    /// The reference clock's current status (bits 0–3).
    pub current: ClockCode,
}

impl ClockStatus {
    /// Decodes a status word; every word decodes.
    pub fn from_word(word: u16) -> Self {
        let [hi, lo] = word.to_be_bytes();
        Self {
            high: hi,
            last_event: ClockCode::from_code(lo >> 4),
            current: ClockCode::from_code(lo),
        }
    }

    /// Encodes the word.
    pub fn to_word(self) -> u16 {
        u16::from_be_bytes([
            self.high,
            (self.last_event.code() << 4) | self.current.code(),
        ])
    }

    /// The text ntpq prints for a clock status. ntpq reads bits 4–7 as an
    /// event counter (`no events`, `1 event`, ...) even though ntpd puts the
    /// last event code there; this reproduces ntpq.
    pub fn describe(self) -> String {
        format!(
            "{}, {}",
            events_text(self.last_event.code()),
            self.current.name()
        )
    }
}

/// Error codes of E responses (RFC 9327 §2, `CERR_*`), carried in the high
/// octet of the status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: unspecified.
    Unspecified,
    /// 1: authentication failure (also "no resource" in the reference).
    AuthFailure,
    /// 2: invalid message length or format.
    InvalidFormat,
    /// 3: invalid opcode.
    InvalidOpcode,
    /// 4: unknown association identifier.
    UnknownAssociation,
    /// 5: unknown variable name.
    UnknownVariable,
    /// 6: invalid variable value.
    InvalidValue,
    /// 7: administratively prohibited.
    AdministrativelyProhibited,
    /// 8–255.
    Unknown(u8),
}

impl ErrorCode {
    /// Decodes an 8-bit error code; every value decodes.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Unspecified,
            1 => Self::AuthFailure,
            2 => Self::InvalidFormat,
            3 => Self::InvalidOpcode,
            4 => Self::UnknownAssociation,
            5 => Self::UnknownVariable,
            6 => Self::InvalidValue,
            7 => Self::AdministrativelyProhibited,
            n => Self::Unknown(n),
        }
    }

    /// The 8-bit error code (0–255).
    pub fn code(self) -> u8 {
        match self {
            Self::Unspecified => 0,
            Self::AuthFailure => 1,
            Self::InvalidFormat => 2,
            Self::InvalidOpcode => 3,
            Self::UnknownAssociation => 4,
            Self::UnknownVariable => 5,
            Self::InvalidValue => 6,
            Self::AdministrativelyProhibited => 7,
            Self::Unknown(n) => n,
        }
    }

    /// The error code of an E response's status word (its high octet).
    pub fn from_status(status: u16) -> Self {
        Self::from_code(status.to_be_bytes()[0])
    }

    /// The status word of an E response (code in the high octet, low octet 0).
    pub fn to_status(self) -> u16 {
        u16::from(self.code()) << 8
    }

    /// A short description.
    pub fn description(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified error",
            Self::AuthFailure => "authentication failure",
            Self::InvalidFormat => "invalid message length or format",
            Self::InvalidOpcode => "invalid opcode",
            Self::UnknownAssociation => "unknown association identifier",
            Self::UnknownVariable => "unknown variable name",
            Self::InvalidValue => "invalid variable value",
            Self::AdministrativelyProhibited => "administratively prohibited",
            Self::Unknown(_) => "unknown error code",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (error {})", self.description(), self.code())
    }
}

/// The status word of a response, read the way ntpq reads it: the error
/// code when the E bit is set, a clock status for READCLOCK/WRITECLOCK, the
/// system status for association 0 and a peer status otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusWord {
    /// System status (association ID 0, RFC 9327 §2.1).
    System(SystemStatus),
    /// Peer status (a non-zero association ID, RFC 9327 §2.2).
    Peer(PeerStatus),
    /// Clock status (READCLOCK/WRITECLOCK responses, RFC 9327 §2.3).
    Clock(ClockStatus),
    /// Error code (E bit set, RFC 9327 §2.4).
    Error(ErrorCode),
}

impl StatusWord {
    /// Reads the status word of `header` by its E bit, opcode and
    /// association ID.
    pub fn of(header: &super::ControlHeader) -> Self {
        use super::Opcode;
        let w = header.status;
        if header.error {
            Self::Error(ErrorCode::from_status(w))
        } else if matches!(header.opcode, Opcode::ReadClock | Opcode::WriteClock) {
            Self::Clock(ClockStatus::from_word(w))
        } else if header.association_id == 0 {
            Self::System(SystemStatus::from_word(w))
        } else {
            Self::Peer(PeerStatus::from_word(w))
        }
    }

    /// The word on the wire.
    pub fn to_word(self) -> u16 {
        match self {
            Self::System(s) => s.to_word(),
            Self::Peer(p) => p.to_word(),
            Self::Clock(c) => c.to_word(),
            Self::Error(e) => e.to_status(),
        }
    }

    /// The text ntpq prints for the word (for an error, its description).
    pub fn describe(self) -> String {
        match self {
            Self::System(s) => s.describe(),
            Self::Peer(p) => p.describe(),
            Self::Clock(c) => c.describe(),
            Self::Error(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_status_words_from_fixtures() {
        // runs/iff/bob/ntpq-c-rv.txt: "status=0616 leap_none, sync_ntp, 1 event, restart"
        let s = SystemStatus::from_word(0x0616);
        assert_eq!(s.leap, 0);
        assert_eq!(s.clock_source, ClockSource::Ntp);
        assert_eq!(s.event_count, 1);
        assert_eq!(s.last_event, SystemEvent::Restart);
        assert_eq!(s.describe(), "leap_none, sync_ntp, 1 event, restart");
        // runs/iff/alice/ntpq-c-rv.txt: "status=0016 leap_none, sync_unspec, 1 event, restart"
        assert_eq!(
            SystemStatus::from_word(0x0016).describe(),
            "leap_none, sync_unspec, 1 event, restart"
        );
        assert_eq!(
            SystemStatus::from_word(0xc0f5).describe(),
            "leap_alarm, sync_unspec, 15 events, clock_sync"
        );
        assert_eq!(
            SystemStatus::from_word(0x4a0e).describe(),
            "leap_add_sec, sync_10, no events, TAI"
        );
    }

    #[test]
    fn peer_status_word_from_fixture() {
        // runs/iff/bob/ntpq-c-rv-32249.txt:
        // "status=f61a conf, authenb, auth, reach, sel_sys.peer, 1 event, sys_peer"
        let p = PeerStatus::from_word(0xf61a);
        assert!(p
            .flags
            .contains(PeerStatusFlags::CONFIG | PeerStatusFlags::AUTHENABLE));
        assert!(p
            .flags
            .contains(PeerStatusFlags::AUTHENTIC | PeerStatusFlags::REACH));
        assert!(!p.flags.contains(PeerStatusFlags::BCAST));
        assert_eq!(p.selection, PeerSelection::SysPeer);
        assert_eq!(p.selection.condition(), "sys.peer");
        assert_eq!(p.selection.tally(), '*');
        assert_eq!(p.event_count, 1);
        assert_eq!(p.last_event, PeerEvent::SysPeer);
        assert_eq!(
            p.describe(),
            "conf, authenb, auth, reach, sel_sys.peer, 1 event, sys_peer"
        );
        assert_eq!(p.to_word(), 0xf61a);
    }

    #[test]
    fn peer_tables_match_reference_numbering() {
        let names: Vec<_> = (0..16).map(|c| PeerEvent::from_code(c).name()).collect();
        assert_eq!(names[1], "mobilize");
        assert_eq!(names[3], "unreachable");
        assert_eq!(names[7], "rate_exceeded");
        assert_eq!(names[12], "bad_auth");
        assert_eq!(names[15], "interleave_error");
        assert_eq!(PeerEvent::ClockEvent.association_column(), "clock_alarm");
        let tallies: String = (0..8)
            .map(|c| PeerSelection::from_code(c).tally())
            .collect();
        assert_eq!(tallies, " x.-+#*o");
        assert_eq!(PeerSelection::Backup.name(), "sel_backup");
        assert_eq!(
            PeerStatus::from_word(0x0000).describe(),
            ", sel_reject, no events"
        );
        assert_eq!(
            PeerStatus::from_word(0x0b31).describe(),
            "bcast, sel_outlier, 3 events, mobilize"
        );
    }

    #[test]
    fn every_word_round_trips() {
        for w in 0..=u16::MAX {
            assert_eq!(SystemStatus::from_word(w).to_word(), w);
            assert_eq!(PeerStatus::from_word(w).to_word(), w);
            assert_eq!(ClockStatus::from_word(w).to_word(), w);
        }
        for c in 0..=u8::MAX {
            assert_eq!(ErrorCode::from_code(c).code(), c);
            assert_eq!(
                ErrorCode::from_status(ErrorCode::from_code(c).to_status()),
                ErrorCode::from_code(c)
            );
        }
    }

    #[test]
    fn clock_and_error_codes() {
        let c = ClockStatus::from_word(0x0013);
        assert_eq!(c.current, ClockCode::Fault);
        assert_eq!(c.last_event, ClockCode::NoReply);
        assert_eq!(c.describe(), "1 event, clk_fault");
        assert_eq!(ClockCode::from_code(9).name(), "clk_9");
        assert_eq!(
            ErrorCode::from_status(0x0700),
            ErrorCode::AdministrativelyProhibited
        );
        assert_eq!(ErrorCode::UnknownAssociation.to_status(), 0x0400);
        assert_eq!(ErrorCode::AuthFailure.code(), 1);
        assert_eq!(ErrorCode::InvalidFormat.code(), 2);
    }
}
