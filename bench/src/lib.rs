//! Server throughput benchmark tools (see README.md).
//!
//! * [`loadgen`]: an NTPv4 mode 3 load generator that paces bursts of
//!   requests from many loopback source addresses and ports with
//!   `sendmmsg(2)`, collects replies with `recvmmsg(2)` and matches them by
//!   the transmit timestamp echoed as origin (RFC 5905 §8).
//! * [`floor`]: a trivial batched echo server that answers each mode 3
//!   request with a fixed mode 4 reply: the kernel-path floor every real
//!   server is compared with.
//! * [`runner`]: starts each server inside a private network namespace,
//!   steps the offered rate and writes the comparison table.
//! * [`soak`]: hours of mixed ordinary clients, malformed datagrams and
//!   the unauthenticated Autokey and mode 6 floods of issue 15 against
//!   our `ntpd` with `crypto` on, printing its RSS and the ordinary
//!   clients' answered share over time.
//!
//! Batched I/O is `ntp_sys::mmsg`, the daemon's own `recvmmsg`/`sendmmsg`
//! code, so the floor and the load generator measure the same kernel path
//! as the daemon. Linux only; everything is sent to loopback addresses.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cli;
pub mod floor;
pub mod ke_load;
pub mod key;
pub mod loadgen;
pub mod nts_session;
pub mod poller;
pub mod procfs;
pub mod report;
pub mod runner;
pub mod soak;
pub mod wire;
