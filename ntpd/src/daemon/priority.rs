//! Raising the daemon's scheduling priority (ntpd(8) `-N`/`--nice`,
//! `-P N`/`--priority`), as the reference does on Linux: the real-time
//! `SCHED_FIFO` policy at its highest priority, or at `-P N` clamped to
//! the policy's range; if that is refused, `setpriority(2)` to nice -12.
//! Failures are logged, never fatal. The system calls are in
//! [`ntp_sys::sched`].
//!
//! Call [`raise`] from the thread that runs the event loop, before other
//! threads are started (on Linux the policy is per thread and inherited
//! by threads created afterwards).

use ntp_sys::sched;

use crate::cli::Options;

/// The nice value the reference falls back to (`NTPD_PRIO`).
pub const FALLBACK_NICE: i32 = -12;

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityRequest {
    /// `-P N`: the `SCHED_FIFO` priority wanted; `None` (`-N` alone): the
    /// highest.
    pub fifo: Option<i64>,
}

impl PriorityRequest {
    /// `Some` when `-N` or `-P` was given.
    pub fn from_options(opts: &Options) -> Option<PriorityRequest> {
        (opts.nice || opts.priority.is_some()).then_some(PriorityRequest {
            fifo: opts.priority,
        })
    }
}

/// The `SCHED_FIFO` priority for a request, given the policy's range.
pub fn fifo_priority(requested: Option<i64>, min: i32, max: i32) -> i32 {
    match requested {
        None => max,
        Some(p) => p.clamp(i64::from(min), i64::from(max)) as i32,
    }
}

/// How the priority was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// `SCHED_FIFO` at this priority.
    Fifo(i32),
    /// Nice value [`FALLBACK_NICE`].
    Nice,
    /// Neither was allowed (logged).
    Unchanged,
}

/// Raise the calling thread's priority as `req` asks; logs the outcome.
pub fn raise(req: PriorityRequest) -> Raised {
    if let Some((min, max)) = sched::fifo_range() {
        let priority = fifo_priority(req.fifo, min, max);
        match sched::set_fifo(priority) {
            Ok(()) => {
                tracing::info!("scheduling policy SCHED_FIFO, priority {priority}");
                return Raised::Fifo(priority);
            }
            Err(e) => tracing::error!("sched_setscheduler(): {e}"),
        }
    }
    match sched::set_nice(FALLBACK_NICE) {
        Ok(()) => {
            tracing::info!("nice value {FALLBACK_NICE}");
            return Raised::Nice;
        }
        Err(e) => tracing::error!("setpriority(): {e}"),
    }
    tracing::error!("set_process_priority: No way found to improve our priority");
    Raised::Unchanged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_is_clamped_to_the_policy_range() {
        assert_eq!(fifo_priority(None, 1, 99), 99);
        assert_eq!(fifo_priority(Some(50), 1, 99), 50);
        assert_eq!(fifo_priority(Some(-5), 1, 99), 1);
        assert_eq!(fifo_priority(Some(1000), 1, 99), 99);
        assert_eq!(fifo_priority(Some(i64::MIN), 1, 99), 1);
    }

    #[test]
    fn requested_by_n_or_p_only() {
        assert_eq!(PriorityRequest::from_options(&Options::default()), None);
        let n = Options {
            nice: true,
            ..Options::default()
        };
        assert_eq!(
            PriorityRequest::from_options(&n),
            Some(PriorityRequest { fifo: None })
        );
        let p = Options {
            priority: Some(7),
            ..Options::default()
        };
        assert_eq!(
            PriorityRequest::from_options(&p),
            Some(PriorityRequest { fifo: Some(7) })
        );
    }

    /// On a thread of its own (the policy is per thread): the outcome
    /// reported is the one the kernel shows.
    #[test]
    fn raise_reports_what_the_kernel_applied() {
        std::thread::spawn(|| {
            let r = raise(PriorityRequest { fifo: Some(1) });
            let policy = sched::policy().unwrap();
            match r {
                Raised::Fifo(p) => {
                    assert_eq!(policy, sched::Policy::Fifo);
                    assert_eq!(p, 1);
                    // Back to normal before the thread ends.
                    sched::set_normal().unwrap();
                }
                Raised::Nice => assert_eq!(sched::nice().unwrap(), FALLBACK_NICE),
                Raised::Unchanged => assert_ne!(policy, sched::Policy::Fifo),
            }
        })
        .join()
        .unwrap();
    }
}
