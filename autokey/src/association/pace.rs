//! How soon the next Autokey packet should go (RFC 5906 §9; brief §4.1,
//! §4.2): the protocol runs one request per packet, so an exchange of
//! ASSOC, CERT, identity, COOK, AUTO, SIGN and LEAP that waits for the
//! poll timer at every step takes six or seven polls. As the reference's
//! `poll_update()` does while "a crypto response message is pending", the
//! engine asks for an early transmission (the daemon sends it after the
//! minimum headway, 2 s) when the packet just processed moved the exchange
//! on:
//!
//! * it lit a new bit of the peer crypto word (a response was accepted),
//!   and a request of ours is still to be sent; or
//! * (symmetric mode) it carried a request of the peer's other than the
//!   one last answered, whose response waits in our next packet; or
//! * (symmetric mode, asked after a transmission) the packet just sent
//!   announced a new key list (brief §4.2 row 6) in place of our next
//!   request.
//!
//! A packet that repeats the previous request, or that changed nothing,
//! asks for nothing: two peers stuck on a step that does not progress
//! (identity refused, COOK waiting for synchronisation) fall back to one
//! packet per poll instead of ping-ponging.

use proto::exten::AutokeyCode;

use super::Association;

impl Association {
    /// Whether the daemon should transmit before the poll timer (once per
    /// call: the request is cleared). True only while there is something
    /// to send: a queued response, or a request of ours still pending.
    pub fn take_hurry(&mut self) -> bool {
        std::mem::take(&mut self.hurry) && (self.queued.is_some() || !self.is_complete())
    }

    /// After the fields of one packet: a newly lit bit is progress.
    pub(super) fn note_progress(&mut self, before: u32) {
        if self.flags & !before != 0 {
            self.hurry = true;
        }
    }

    /// A symmetric peer's request was queued: a new kind of request means
    /// the peer moved on, and its answer should not wait a whole poll.
    pub(super) fn note_request(&mut self, code: AutokeyCode) {
        if self.last_queued != Some(code) {
            self.last_queued = Some(code);
            self.hurry = true;
        }
    }
}
