//! `fork(2)` for detaching a daemon from its terminal.
//!
//! After `fork` the child of a multi-threaded process may only call
//! async-signal-safe functions until it execs (another thread may have
//! held the allocator's lock, for one): that is why nix's `fork` is
//! `unsafe`. [`fork`] makes it safe by checking first that the calling
//! thread is the process's only one (`/proc/self/task`); with one thread
//! no other can start during the call, since only this one could start it.

use std::io;

pub use nix::unistd::ForkResult;

/// Why [`fork`] did not fork.
#[derive(Debug, thiserror::Error)]
pub enum ForkError {
    /// Other threads are running.
    #[error("{0} threads are running; fork needs the process to have one")]
    Threads(usize),
    /// The thread count could not be read.
    #[error("cannot count this process's threads in /proc/self/task: {0}")]
    Unverified(#[source] io::Error),
    /// The call failed.
    #[error("fork: {0}")]
    Fork(#[source] nix::Error),
}

/// The number of threads of this process (entries of `/proc/self/task`).
pub fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// `fork(2)`, after checking that this process has a single thread.
pub fn fork() -> Result<ForkResult, ForkError> {
    match thread_count().map_err(ForkError::Unverified)? {
        1 => {}
        n => return Err(ForkError::Threads(n)),
    }
    // SAFETY: the process has exactly one thread (checked just above, and
    // only this thread could start another), so the child may run any
    // code, not only async-signal-safe functions.
    unsafe { nix::unistd::fork() }.map_err(ForkError::Fork)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test harness runs tests on threads of their own, so the check
    /// refuses here: never forks a copy of the test runner.
    #[test]
    fn refuses_with_other_threads_running() {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let keep = std::thread::spawn(move || wait.recv());
        let n = thread_count().unwrap();
        assert!(n >= 2, "{n}");
        match fork() {
            Err(ForkError::Threads(m)) => assert!(m >= 2),
            other => panic!("expected a refusal, got {other:?}"),
        }
        drop(done);
        let _ = keep.join().unwrap();
    }
}
