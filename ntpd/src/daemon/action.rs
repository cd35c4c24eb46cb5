//! The one way the core acts on the world: it queues [`Action`]s, and the
//! event loop (or a simulation) carries them out. Datagrams to send,
//! statistics lines, the drift file and the daemon's own exit all leave
//! the core this way, so the core itself owns no socket, file or process.

use std::net::SocketAddr;
use std::path::PathBuf;

use config::conf::StatsFile;

/// Something the core wants done.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The reply to the datagram just handled has been written into the
    /// caller's reply buffer, `len` octets: send it to the request's
    /// source, from the socket and local address the request came to.
    ReplyInPlace {
        /// Octets of the reply.
        len: usize,
    },
    /// A further datagram to the source of the datagram just handled,
    /// from where it came (the fragments of a mode 6 answer).
    Reply(Vec<u8>),
    /// A datagram of the core's own (a poll, a broadcast, a manycast
    /// solicitation).
    Send(Outgoing),
    /// Append `line` to statistics file set `file`; `unix_seconds` picks
    /// the file of the period.
    Statistics {
        /// Which file set (`peerstats`, `loopstats`).
        file: StatsFile,
        /// When the line was written.
        unix_seconds: i64,
        /// The line, without its newline.
        line: String,
    },
    /// Write the drift file (atomically: the old one stays until the new
    /// one is complete).
    SaveDrift {
        /// The `driftfile` path.
        path: PathBuf,
        /// Its new content.
        text: String,
    },
    /// Stop the daemon with this exit status (`-q` done, panic threshold).
    Exit(u8),
}

/// A datagram the core sends on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Index of the socket.
    pub socket: usize,
    /// Destination.
    pub dst: SocketAddr,
    /// The datagram.
    pub bytes: Vec<u8>,
    /// Multicast hops to send with (a manycast solicitation).
    pub ttl: Option<u8>,
    /// The association whose poll this is (its `xleave` is measured).
    pub association: Option<u16>,
}

/// The core's queue of actions, emptied by whoever drives the core.
#[derive(Debug, Default)]
pub struct Actions(Vec<Action>);

impl Actions {
    /// Queue `a`.
    pub fn push(&mut self, a: Action) {
        self.0.push(a);
    }

    /// Move every queued action into `into` (cleared first). The two
    /// vectors swap, so a driver that keeps `into` allocates nothing in
    /// the steady state.
    pub fn take_into(&mut self, into: &mut Vec<Action>) {
        into.clear();
        std::mem::swap(into, &mut self.0);
    }

    /// Take every queued action (tests and simple drivers).
    pub fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.0)
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Remove and return the length of the queued in-place reply, if any.
    pub fn take_reply_in_place(&mut self) -> Option<usize> {
        let mut len = None;
        self.0.retain(|a| match a {
            Action::ReplyInPlace { len: n } => {
                len = Some(*n);
                false
            }
            _ => true,
        });
        len
    }

    /// Remove and return the queued [`Action::Reply`] datagrams.
    pub fn take_replies(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.0.retain_mut(|a| match a {
            Action::Reply(d) => {
                out.push(std::mem::take(d));
                false
            }
            _ => true,
        });
        out
    }

    /// Remove and return the queued [`Action::Send`] datagrams.
    pub fn take_sends(&mut self) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for a in std::mem::take(&mut self.0) {
            match a {
                Action::Send(o) => out.push(o),
                other => self.0.push(other),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_into_keeps_both_allocations() {
        let mut q = Actions::default();
        let mut buf = Vec::with_capacity(8);
        q.push(Action::Exit(3));
        q.take_into(&mut buf);
        assert_eq!(buf, vec![Action::Exit(3)]);
        assert!(q.is_empty());
        q.push(Action::ReplyInPlace { len: 48 });
        q.take_into(&mut buf);
        assert_eq!(buf, vec![Action::ReplyInPlace { len: 48 }]);
        assert!(
            q.0.capacity() >= 1,
            "the queue reuses the driver's old vector"
        );
    }

    #[test]
    fn each_kind_is_taken_alone_in_order() {
        let mut q = Actions::default();
        let send = |port| {
            Action::Send(Outgoing {
                socket: 0,
                dst: SocketAddr::from(([192, 0, 2, 1], port)),
                bytes: vec![1],
                ttl: None,
                association: None,
            })
        };
        q.push(send(1));
        q.push(Action::Reply(vec![7]));
        q.push(Action::ReplyInPlace { len: 48 });
        q.push(send(2));
        q.push(Action::Exit(0));
        assert_eq!(q.take_reply_in_place(), Some(48));
        assert_eq!(q.take_replies(), vec![vec![7]]);
        let ports: Vec<u16> = q.take_sends().iter().map(|o| o.dst.port()).collect();
        assert_eq!(ports, [1, 2]);
        assert_eq!(q.take(), vec![Action::Exit(0)]);
    }
}
