//! READCLOCK (opcode 4, `ntpq -c cv`): the variables of a reference clock
//! association, as the reference's `ctl_putclock()` writes them. Without
//! names it sends `device`, `timecode`, `poll`, `noreply`, `badformat`,
//! `baddata`, `fudgetime1` and `fudgetime2` (only when not zero),
//! `stratum`, `refid` and `flags`; asked by name, it sends those in the
//! order asked, `fudgetime1`/`fudgetime2` as 0 when unset. Fudge times
//! are in milliseconds; `flags` has bit 0 for `flag1` … bit 3 for
//! `flag4`. The reply's status word is the clock status (RFC 9327 §3.2:
//! the current status code in the high octet, the last event in the low).

use proto::control::ErrorCode;

use super::format::{fixed, refid};
use super::request::Items;
use super::state::ControlState;
use super::writer::Out;
use super::Reply;

/// One clock's variables.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockVars {
    /// The clock status word.
    pub status: u16,
    /// The driver's description (`device`).
    pub device: String,
    /// The last timecode received.
    pub timecode: String,
    /// Polls of the association.
    pub polls: u64,
    /// Polls without a sample.
    pub noreply: u64,
    /// Input that did not parse.
    pub badformat: u64,
    /// Input that parsed but was not usable.
    pub baddata: u64,
    /// `fudge time1`, seconds, when configured.
    pub fudgetime1: Option<f64>,
    /// `fudge time2`, seconds, when configured.
    pub fudgetime2: Option<f64>,
    /// The clock's stratum.
    pub stratum: u8,
    /// The clock's reference ID.
    pub refid: [u8; 4],
    /// `flag1`..`flag4` as bits 0..3.
    pub flags: u8,
    /// The driver type number (`type`).
    pub driver_type: u8,
}

/// The variable names the reference knows, in its order.
const NAMES: [&str; 14] = [
    "type",
    "timecode",
    "poll",
    "noreply",
    "badformat",
    "baddata",
    "fudgetime1",
    "fudgetime2",
    "stratum",
    "refid",
    "flags",
    "device",
    "clock_var_list",
    "minjitter",
];

fn put(out: &mut Out, name: &str, c: &ClockVars, must: bool) {
    let ms = |v: Option<f64>| fixed(v.unwrap_or(0.0) * 1e3, 3);
    match name {
        "type" => out.bare(name, &c.driver_type.to_string()),
        "timecode" => out.quoted(name, &c.timecode),
        "poll" => out.bare(name, &c.polls.to_string()),
        "noreply" => out.bare(name, &c.noreply.to_string()),
        "badformat" => out.bare(name, &c.badformat.to_string()),
        "baddata" => out.bare(name, &c.baddata.to_string()),
        "fudgetime1" if must || c.fudgetime1.is_some() => out.bare(name, &ms(c.fudgetime1)),
        "fudgetime2" if must || c.fudgetime2.is_some() => out.bare(name, &ms(c.fudgetime2)),
        "stratum" => out.bare(name, &c.stratum.to_string()),
        "refid" => out.bare(name, &refid(c.refid, true)),
        "flags" => out.bare(name, &c.flags.to_string()),
        "device" => out.quoted(name, &c.device),
        "clock_var_list" => out.quoted(name, &NAMES.join(",")),
        "minjitter" => out.bare(name, &fixed(0.0, 3)),
        _ => {}
    }
}

/// READCLOCK of association `id` with the request's variable list `data`.
pub(super) fn read_clock(state: &dyn ControlState, id: u16, data: &[u8]) -> Reply {
    let Some(c) = state.clock(id) else {
        return Reply::Error(ErrorCode::UnknownAssociation);
    };
    let mut names = Vec::new();
    for item in Items::new(data) {
        match NAMES.iter().find(|n| n.as_bytes() == item.name) {
            Some(n) => names.push(*n),
            None => return Reply::Error(ErrorCode::UnknownVariable),
        }
    }
    let mut out = Out::new();
    if names.is_empty() {
        for name in [
            "device",
            "timecode",
            "poll",
            "noreply",
            "badformat",
            "baddata",
            "fudgetime1",
            "fudgetime2",
            "stratum",
            "refid",
            "flags",
        ] {
            put(&mut out, name, &c, false);
        }
    } else {
        for name in names {
            put(&mut out, name, &c, true);
        }
    }
    Reply::Data {
        status: c.status,
        out,
    }
}
