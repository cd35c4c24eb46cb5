//! What the core knows of its sockets (RFC 5905 §9's interfaces as the
//! reference keeps them): the address of each, which datagrams a wildcard
//! socket takes (`interface listen wildcard`, broadcasts for a broadcast
//! client, manycast solicitations to a `manycastserver` group).

use std::net::{IpAddr, SocketAddr};

use proto::Mode;

/// The sockets and which datagrams they take.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Local address and wildcard flag of each socket, by index.
    pub socket_addrs: Vec<(SocketAddr, bool)>,
    /// `interface listen wildcard`: wildcard sockets take everything.
    pub wildcard_listens: bool,
    /// `broadcastclient`, `multicastclient` or `enable bclient`.
    pub bclient: bool,
    /// `manycastserver` groups: solicitations to them are answered.
    pub manycast_groups: Vec<IpAddr>,
}

impl Network {
    /// Whether `addr` is one of our `manycastserver` groups.
    pub fn is_manycast_group(&self, addr: Option<IpAddr>) -> bool {
        addr.is_some_and(|d| self.manycast_groups.contains(&d))
    }

    /// Whether a datagram `buf` sent to `dst` is taken when it arrives on
    /// a wildcard socket: with `interface listen wildcard`, a broadcast for
    /// a broadcast client, a solicitation to one of our manycast groups
    /// (broadcast and multicast datagrams only reach wildcard sockets).
    pub fn wildcard_takes(&self, buf: &[u8], dst: Option<IpAddr>) -> bool {
        let mode = Mode::of_datagram(buf);
        self.wildcard_listens
            || (mode == Some(Mode::Broadcast) && self.bclient)
            || (mode == Some(Mode::Client) && self.is_manycast_group(dst))
    }

    /// The specific local address of socket `socket` (none for a
    /// wildcard socket).
    pub fn local_address(&self, socket: usize) -> Option<IpAddr> {
        self.socket_addrs
            .get(socket)
            .map(|s| s.0.ip())
            .filter(|ip| !ip.is_unspecified())
    }

    /// Whether socket `socket` is a wildcard socket (or unknown).
    pub fn is_wildcard(&self, socket: usize) -> bool {
        self.socket_addrs.get(socket).is_none_or(|s| s.1)
    }
}
