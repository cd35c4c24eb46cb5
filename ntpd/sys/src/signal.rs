//! Signals as flags: [`set_flag_on`] makes signals (SIGTERM, SIGINT, …) set
//! an `AtomicBool` instead of killing the process, for a loop that checks
//! it every turn.
//!
//! `sigaction(2)` is `unsafe` because a handler runs at any point of the
//! program and may only do async-signal-safe things. The one handler here
//! only loads and stores lock-free atomics.

use std::io;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

pub use nix::sys::signal::Signal;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};

/// Signal numbers covered (Linux has 64 signals, numbered from 1).
const SIGNALS: usize = 65;

/// The flag each signal raises; null: none.
static FLAGS: [AtomicPtr<AtomicBool>; SIGNALS] =
    [const { AtomicPtr::new(ptr::null_mut()) }; SIGNALS];

extern "C" fn raise_flag(sig: libc::c_int) {
    let Some(slot) = usize::try_from(sig).ok().and_then(|i| FLAGS.get(i)) else {
        return;
    };
    let flag = slot.load(Ordering::SeqCst);
    if !flag.is_null() {
        // SAFETY: only pointers made from `&'static AtomicBool` are stored
        // in `FLAGS` (by `set_flag_on`), so `flag` is valid for ever.
        unsafe { &*flag }.store(true, Ordering::SeqCst);
    }
}

/// From now on each of `signals` sets `flag` (and interrupts a blocking
/// system call with `EINTR`: no `SA_RESTART`) instead of its default
/// action. A later call for the same signal replaces its flag.
pub fn set_flag_on(flag: &'static AtomicBool, signals: &[Signal]) -> io::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(raise_flag),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for &sig in signals {
        let slot = FLAGS
            .get(sig as usize)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        slot.store(ptr::from_ref(flag).cast_mut(), Ordering::SeqCst);
        // SAFETY: the handler only loads and stores atomics, which is
        // async-signal-safe, and reads a pointer that is valid for ever.
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    static RAISED: AtomicBool = AtomicBool::new(false);

    /// SIGUSR2: no other test of this crate uses it, and the handler
    /// stays installed (harmless: it only sets `RAISED`).
    #[test]
    fn a_caught_signal_sets_the_flag() {
        set_flag_on(&RAISED, &[Signal::SIGUSR2]).unwrap();
        assert!(!RAISED.load(Ordering::SeqCst));
        nix::sys::signal::raise(Signal::SIGUSR2).unwrap();
        assert!(RAISED.load(Ordering::SeqCst));
    }
}
