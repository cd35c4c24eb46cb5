//! Whole daemons in memory: several [`Core`]s on one [`SimClock`], joined
//! by a simulated network that delivers each datagram after a fixed
//! delay. It does what the event loop does with the cores' actions —
//! sends, in-place replies, mode 6 answers, once-a-second ticks — with no
//! socket, no root and no namespace, so that client/server, symmetric,
//! broadcast and Autokey exchanges between real cores run as unit tests.
//!
//! Each host has a wildcard socket (index 0: broadcasts and multicast it
//! joined arrive there, with their destination) and one socket on its
//! address (index 1: unicast). Multicast reaches the hosts whose
//! configuration joins the group (`multicastclient`, `manycastserver`);
//! any other non-unicast destination (a broadcast address) reaches every
//! other host.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use rand::SeedableRng;

use super::environment::{Environment, SimClock, SimEnvironment};
use super::settings::Settings;
use super::{crypto, mobilize, Action, Core, DaemonError, RECV_BUF};
use crate::auth::KeyRing;
use crate::cli::Options;
use crate::net::socket::Received;

/// One simulated host.
#[derive(Debug)]
pub struct SimHost {
    /// The name it was added under.
    pub name: String,
    /// Its one unicast address.
    pub addr: IpAddr,
    /// The daemon's core.
    pub core: Core,
    env: SimEnvironment,
    groups: Vec<IpAddr>,
}

/// A datagram on the wire.
#[derive(Debug)]
struct InFlight {
    at: f64,
    src: SocketAddr,
    dst: SocketAddr,
    bytes: Vec<u8>,
}

/// Hosts, the clock they share and the datagrams in flight.
#[derive(Debug)]
pub struct SimNetwork {
    clock: SimClock,
    epoch: u32,
    delay: f64,
    hosts: Vec<SimHost>,
    in_flight: Vec<InFlight>,
    reply: Vec<u8>,
    /// Datagrams delivered so far.
    pub delivered: u64,
}

impl SimNetwork {
    /// An empty network delivering every datagram `delay` seconds after
    /// it is sent; its hosts' wall clocks read `epoch` (NTP seconds) at
    /// simulated time zero.
    pub fn new(delay: f64, epoch: u32) -> Self {
        SimNetwork {
            clock: SimClock::new(),
            epoch,
            delay,
            hosts: Vec::new(),
            in_flight: Vec::new(),
            reply: vec![0; RECV_BUF],
            delivered: 0,
        }
    }

    /// Seconds of simulated time so far.
    pub fn now(&self) -> f64 {
        self.clock.now()
    }

    /// Add host `name` at `addr`, running the `ntp.conf` text `conf` with
    /// symmetric keys `keys` and a system clock off by `wall_error`
    /// seconds. Its `crypto` line loads the key files it names (the
    /// harness's only I/O); its associations are mobilised as the daemon
    /// mobilises them.
    pub fn add_host(
        &mut self,
        name: &str,
        addr: IpAddr,
        conf: &str,
        keys: KeyRing,
        wall_error: f64,
    ) -> Result<&mut SimHost, DaemonError> {
        let path = Path::new(name);
        let parsed = config::conf::parse_str(conf, path).map_err(|e| DaemonError::Io {
            what: "the simulated host's ntp.conf does not parse",
            source: std::io::Error::other(e.to_string()),
        })?;
        let s = Settings::from_conf(&parsed.config, &Options::default(), path)?;
        let env = SimEnvironment::new(self.clock.clone(), Some(addr))
            .with_epoch(self.epoch)
            .with_wall_error(wall_error);
        let seed = self.hosts.len() as u64 + 1;
        let mut core = Core::simulated_in(&s, keys, -20, Box::new(env.clone()), seed);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed << 32);
        core.autokey = crypto::load(&s.autokey, env.wall().seconds(), &mut rng)?;
        if let Some(ak) = core.autokey.as_mut() {
            let groups = crypto::association_groups(&s.associations, ak);
            ak.preload_identities(&groups)
                .map_err(crypto::CryptoSetupError::Keys)?;
        }
        core.net.socket_addrs = vec![
            (SocketAddr::new(unspecified(addr), 123), true),
            (SocketAddr::new(addr, 123), false),
        ];
        let delay = s.broadcast_delay.unwrap_or(clock::constants::BDELAY);
        for cfg in mobilize::mobilize(&s.associations, 123, false, false, delay).configs {
            core.mobilize(cfg, Some(1), Some(addr));
        }
        let mut groups = s.multicast_groups.clone();
        groups.extend(&s.manycast_groups);
        self.hosts.push(SimHost {
            name: name.to_owned(),
            addr,
            core,
            env,
            groups,
        });
        Ok(self.hosts.last_mut().expect("just pushed"))
    }

    /// The host added as `name`.
    pub fn host(&self, name: &str) -> &SimHost {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no simulated host {name}"))
    }

    /// Put a datagram on the wire now, as if `src` had sent it (a crafted
    /// packet, e.g. a forgery a test wants refused).
    pub fn inject(&mut self, src: SocketAddr, dst: SocketAddr, bytes: Vec<u8>) {
        self.in_flight.push(InFlight {
            at: self.clock.now() + self.delay,
            src,
            dst,
            bytes,
        });
    }

    /// Run `seconds` of simulated time: every host ticks at each whole
    /// second; the datagrams in flight arrive, in order, in between.
    pub fn run(&mut self, seconds: u32) {
        for _ in 0..seconds {
            let second_ends = self.clock.now() + 1.0;
            for i in 0..self.hosts.len() {
                self.hosts[i].core.tick();
                self.collect(i, None);
            }
            while let Some(k) = self.next_arrival(second_ends) {
                let d = self.in_flight.remove(k);
                self.clock.advance(d.at - self.clock.now());
                self.deliver(d);
            }
            self.clock.advance(second_ends - self.clock.now());
        }
    }

    /// The earliest datagram arriving before `until`.
    fn next_arrival(&self, until: f64) -> Option<usize> {
        self.in_flight
            .iter()
            .enumerate()
            .filter(|(_, d)| d.at < until)
            .min_by(|a, b| a.1.at.total_cmp(&b.1.at))
            .map(|(k, _)| k)
    }

    /// Put host `i`'s queued datagrams on the wire; `answering` is the
    /// (source, destination) of the datagram it just handled, for its
    /// replies.
    fn collect(&mut self, i: usize, answering: Option<(SocketAddr, SocketAddr)>) {
        let from = SocketAddr::new(self.hosts[i].addr, 123);
        let at = self.clock.now() + self.delay;
        for a in self.hosts[i].core.out.actions.take() {
            // A reply leaves from the address the request came to, unless
            // that was a group (then from the host's own address).
            let reply_from = |came_to: SocketAddr| {
                if came_to.ip().is_multicast() || is_broadcast(came_to.ip()) {
                    from
                } else {
                    came_to
                }
            };
            let (src, dst, bytes) = match (a, answering) {
                (Action::Send(o), _) => (from, o.dst, o.bytes),
                (Action::ReplyInPlace { len }, Some((to, came_to))) => {
                    (reply_from(came_to), to, self.reply[..len].to_vec())
                }
                (Action::Reply(d), Some((to, came_to))) => (reply_from(came_to), to, d),
                // Statistics, the drift file and exits stay in the host.
                _ => continue,
            };
            self.in_flight.push(InFlight {
                at,
                src,
                dst,
                bytes,
            });
        }
    }

    fn deliver(&mut self, d: InFlight) {
        let ip = d.dst.ip();
        let recipients: Vec<(usize, usize)> = self
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.addr != d.src.ip())
            .filter_map(|(k, h)| {
                if h.addr == ip {
                    Some((k, 1))
                } else if ip.is_multicast() {
                    h.groups.contains(&ip).then_some((k, 0))
                } else {
                    is_broadcast(ip).then_some((k, 0))
                }
            })
            .collect();
        for (k, socket) in recipients {
            self.delivered += 1;
            let h = &mut self.hosts[k];
            let r = Received {
                len: d.bytes.len(),
                truncated: false,
                src: d.src,
                dst: (socket == 0).then_some(ip),
                rx_time: Some(h.env.wall()),
            };
            h.core
                .handle(socket, socket == 0, &d.bytes, &r, &mut self.reply);
            let came_to = SocketAddr::new(if socket == 0 { ip } else { h.addr }, 123);
            self.collect(k, Some((d.src, came_to)));
        }
    }
}

/// Whether `ip` is no host's unicast address in this simulation: the
/// limited broadcast or a subnet's broadcast address (…255).
fn is_broadcast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_broadcast() || v4.octets()[3] == 255,
        IpAddr::V6(_) => false,
    }
}

fn unspecified(like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}
