//! The one place of `unsafe` in the workspace: thin, safe wrappers over the
//! few Linux system calls that neither `std` nor `nix` offers safely. Every
//! other crate is `#![forbid(unsafe_code)]` (the workspace `[lints]` table
//! says so too) and reaches these calls only through the functions here.
//!
//! Why each module needs `unsafe`:
//!
//! * [`mmsg`]: `recvmmsg(2)`/`sendmmsg(2)` (with the `recvmsg`/`sendmsg`
//!   fallback) take arrays of `mmsghdr` whose raw pointers lead into
//!   buffers owned by the batch, and the kernel receive timestamps and
//!   destination addresses come back as control messages read with
//!   `CMSG_*` pointer arithmetic. The daemon's reply path (RFC 5905 §9)
//!   and the benchmark's load generator and echo floor share it.
//! * [`caps`]: `capget(2)`/`capset(2)` (raw `syscall` with C structs) and
//!   the `prctl(2)` options nix lacks (`PR_CAPBSET_READ`,
//!   `PR_CAP_AMBIENT`), for dropping root while keeping `CAP_SYS_TIME`.
//! * [`sched`]: `sched_setscheduler(2)`, `setpriority(2)` and their
//!   getters, for ntpd(8) `-N`/`-P`.
//! * [`process`]: `fork(2)`, only sound while the process has one thread;
//!   the wrapper checks that before forking.
//! * [`signal`]: `sigaction(2)` with a handler that only raises a flag.
//! * [`adjtime`]: `clock_adjtime(2)` with a `struct timex` (the NTP kernel
//!   interface of RFC 1589), for the kernel clock discipline.
//! * [`pps`]: the RFC 2783 PPS API's ioctls on `/dev/ppsN` (`PPS_GETCAP`,
//!   `PPS_GETPARAMS`, `PPS_SETPARAMS`, `PPS_FETCH`) with `#[repr(C)]`
//!   copies of `linux/pps.h`'s structures, for the PPS reference clock.
//! * [`reactor`]: tokio's `AsyncFd` registration of the daemon's sockets,
//!   `unsafe` since tokio 1.54; sound here because the registration owns
//!   the descriptor.
//!
//! Each `unsafe` block carries a `// SAFETY:` comment (enforced by
//! `clippy::undocumented_unsafe_blocks`). Where a safe crate covers a call
//! (nix's epoll, timerfd, poll, sysconf, socket options), callers use that
//! instead of adding code here.

#![deny(missing_docs)]

pub mod adjtime;
pub mod caps;
pub mod mmsg;
pub mod pps;
pub mod process;
pub mod reactor;
pub mod sched;
pub mod serial;
pub mod shm;
pub mod signal;
