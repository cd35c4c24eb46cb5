//! `clock_adjtime(CLOCK_REALTIME)`: the NTP kernel clock interface (RFC
//! 1589, the Linux `adjtimex` API) that reads the kernel clock's state
//! and, with `CAP_SYS_TIME`, changes its frequency, offset, status and
//! error estimates.
//!
//! `unsafe` only for the FFI call on a `struct timex` and for its
//! all-zero initial value; the caller fills the fields with plain
//! assignments.

use std::io;

pub use libc::timex as Timex;

/// A `struct timex` with every field zero: `modes` 0 asks only to read.
pub fn zeroed() -> Timex {
    // SAFETY: `timex` is a plain C struct of integers (and a `timeval`);
    // the all-zero bit pattern is a valid value of every field.
    unsafe { std::mem::zeroed() }
}

/// `clock_adjtime(CLOCK_REALTIME, tx)`: applies what `tx.modes` selects,
/// then fills `tx` with the clock's state. Returns the clock state
/// (`TIME_OK`, `TIME_INS`, …).
pub fn clock_adjtime(tx: &mut Timex) -> io::Result<i32> {
    // SAFETY: `tx` is a valid, exclusively borrowed `timex` for the whole
    // call; the kernel only reads and writes within it.
    let rc = unsafe { libc::clock_adjtime(libc::CLOCK_REALTIME, tx) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read only: never changes this machine's clock.
    #[test]
    fn a_read_gives_the_state_and_changes_nothing() {
        let mut a = zeroed();
        let state = clock_adjtime(&mut a).expect("reading needs no privilege");
        assert!((0..=5).contains(&state), "{state}");
        let mut b = zeroed();
        clock_adjtime(&mut b).unwrap();
        assert_eq!(a.status, b.status);
        assert_eq!(a.freq, b.freq);
    }
}
