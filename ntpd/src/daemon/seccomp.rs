//! `-F LEVEL`: a seccomp filter (seccomp(2), `SECCOMP_SET_MODE_FILTER`)
//! that confines the running daemon to the system calls it makes once
//! start-up is over, like chrony's `-F`. Installed after the sockets are
//! bound, the keys loaded and privileges dropped, just before the daemon
//! reports itself ready; it applies to every thread (`TSYNC`) and sets
//! `no_new_privs` first.
//!
//! - `-F 1`: any other system call kills the daemon (`SECCOMP_RET_KILL_PROCESS`),
//!   which the kernel audit log records with the call's number.
//! - `-F -1`: any other call is allowed and logged (`SECCOMP_RET_LOG`), to
//!   find what a new configuration needs.
//! - `-F 0` (the default): no filter.
//!
//! The filter is built with the `seccompiler` crate (rust-vmm, the one
//! Firecracker uses): pure Rust with only `libc` beneath it, so no C
//! libseccomp has to be installed or linked, and it compiles the rules to
//! BPF for x86_64, aarch64 and riscv64. The list is what the event loop,
//! the receive path, the clock discipline (`adjtimex`/`clock_adjtime`),
//! Autokey (OpenSSL signing, `getrandom`), statistics and drift files,
//! syslog, mode 6, sd_notify and run-time name resolution use; new
//! processes (`clone`, `execve`), changes of identity, tracing, mounts and
//! module loading are not in it.

use std::collections::BTreeMap;

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

/// Why the filter could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum SyscallFilterError {
    /// The processor architecture has no seccompiler backend.
    #[error("-F: no system call filter for the {arch} architecture")]
    Architecture {
        /// `std::env::consts::ARCH`.
        arch: &'static str,
    },
    /// The rules did not compile to BPF.
    #[error("-F: cannot build the system call filter: {0}")]
    Build(seccompiler::BackendError),
    /// The kernel refused the filter (`prctl`/`seccomp`).
    #[error("-F: the kernel refused the system call filter: {0}")]
    Install(seccompiler::Error),
}

/// What `-F` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterLevel {
    /// `-F 1`: other calls kill the daemon.
    Kill,
    /// `-F -1`: other calls are logged and allowed.
    Log,
}

impl FilterLevel {
    /// The level of `-F N`; `None` for 0 (no filter).
    pub fn from_option(level: i8) -> Option<FilterLevel> {
        match level {
            1 => Some(FilterLevel::Kill),
            -1 => Some(FilterLevel::Log),
            _ => None,
        }
    }
}

/// System calls made by the running daemon on every architecture
/// (numbers are `c_long`, 64 bits on every architecture seccompiler
/// supports).
const ALLOWED: &[i64] = &[
    // Event loop (tokio on epoll), timers, signals.
    libc::SYS_epoll_ctl,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
    libc::SYS_ppoll,
    libc::SYS_futex,
    libc::SYS_sched_yield,
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_restart_syscall,
    libc::SYS_exit,
    libc::SYS_exit_group,
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_tgkill,
    libc::SYS_rseq,
    // Time and the clock discipline (RFC 5905 §12).
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_gettimeofday,
    libc::SYS_adjtimex,
    libc::SYS_clock_adjtime,
    libc::SYS_clock_settime,
    libc::SYS_settimeofday,
    // Memory.
    libc::SYS_brk,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_mprotect,
    // Sockets: NTP and mode 6 traffic, syslog, sd_notify, name lookups.
    libc::SYS_recvfrom,
    libc::SYS_recvmsg,
    libc::SYS_recvmmsg,
    libc::SYS_sendto,
    libc::SYS_sendmsg,
    libc::SYS_sendmmsg,
    libc::SYS_socket,
    libc::SYS_connect,
    // TCP services accepting connections (the metrics endpoint, NTS-KE);
    // both sides of an NTS-KE session end it.
    libc::SYS_accept4,
    libc::SYS_shutdown,
    // glibc's getaddrinfo binds a netlink socket (AI_ADDRCONFIG) when a
    // name is resolved at run time (`:config`); without
    // CAP_NET_BIND_SERVICE no privileged port can be bound.
    libc::SYS_bind,
    libc::SYS_getsockname,
    libc::SYS_getpeername,
    libc::SYS_getsockopt,
    libc::SYS_setsockopt,
    // Files: statistics, drift, log, keys, leap file.
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_readv,
    libc::SYS_writev,
    libc::SYS_pread64,
    libc::SYS_pwrite64,
    libc::SYS_openat,
    libc::SYS_close,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_lseek,
    libc::SYS_fcntl,
    libc::SYS_ioctl,
    libc::SYS_fsync,
    libc::SYS_fdatasync,
    libc::SYS_ftruncate,
    libc::SYS_renameat,
    libc::SYS_renameat2,
    libc::SYS_unlinkat,
    libc::SYS_mkdirat,
    libc::SYS_symlinkat,
    libc::SYS_linkat,
    libc::SYS_fchmod,
    libc::SYS_fchmodat,
    libc::SYS_getdents64,
    libc::SYS_getcwd,
    libc::SYS_readlinkat,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    // Randomness (Autokey cookies and nonces, OpenSSL), identity, uname.
    libc::SYS_getrandom,
    libc::SYS_uname,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_prlimit64,
    libc::SYS_sysinfo,
];

/// The older x86_64 names glibc and the standard library still use there.
#[cfg(target_arch = "x86_64")]
const ALLOWED_X86_64: &[i64] = &[
    libc::SYS_epoll_wait,
    libc::SYS_poll,
    libc::SYS_open,
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_rename,
    libc::SYS_unlink,
    libc::SYS_mkdir,
    libc::SYS_symlink,
    libc::SYS_link,
    libc::SYS_chmod,
    libc::SYS_access,
    libc::SYS_readlink,
    libc::SYS_time,
    libc::SYS_arch_prctl,
];
#[cfg(not(target_arch = "x86_64"))]
const ALLOWED_X86_64: &[i64] = &[];

/// The system calls the filter allows, for tests and documentation.
pub fn allowed() -> impl Iterator<Item = i64> {
    ALLOWED.iter().chain(ALLOWED_X86_64).copied()
}

/// The BPF program for `level` on this processor.
pub fn program(level: FilterLevel) -> Result<BpfProgram, SyscallFilterError> {
    let arch = std::env::consts::ARCH;
    let target =
        TargetArch::try_from(arch).map_err(|_| SyscallFilterError::Architecture { arch })?;
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        allowed().map(|n| (n, Vec::new())).collect();
    let otherwise = match level {
        FilterLevel::Kill => SeccompAction::KillProcess,
        FilterLevel::Log => SeccompAction::Log,
    };
    let filter = SeccompFilter::new(rules, otherwise, SeccompAction::Allow, target)
        .map_err(SyscallFilterError::Build)?;
    BpfProgram::try_from(filter).map_err(SyscallFilterError::Build)
}

/// Install the filter for `-F level` on every thread; `-F 0` does
/// nothing. Logs what was installed.
pub fn install(level: i8) -> Result<(), SyscallFilterError> {
    let Some(level) = FilterLevel::from_option(level) else {
        return Ok(());
    };
    let bpf = program(level)?;
    seccompiler::apply_filter_all_threads(&bpf).map_err(SyscallFilterError::Install)?;
    let count = allowed().count();
    match level {
        FilterLevel::Kill => tracing::info!(
            "system call filter on (-F 1): {count} calls allowed, any other ends the daemon"
        ),
        FilterLevel::Log => tracing::info!(
            "system call filter on (-F -1): {count} calls allowed, any other is logged by the kernel"
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_chrony() {
        assert_eq!(FilterLevel::from_option(1), Some(FilterLevel::Kill));
        assert_eq!(FilterLevel::from_option(-1), Some(FilterLevel::Log));
        assert_eq!(FilterLevel::from_option(0), None);
    }

    #[test]
    fn the_program_compiles_and_leaves_out_process_creation() {
        let bpf = program(FilterLevel::Kill).unwrap();
        assert!(bpf.len() > allowed().count(), "{} instructions", bpf.len());
        let allowed: Vec<i64> = allowed().collect();
        for forbidden in [
            libc::SYS_execve,
            libc::SYS_clone,
            libc::SYS_setuid,
            libc::SYS_ptrace,
            libc::SYS_mount,
            libc::SYS_init_module,
        ] {
            assert!(!allowed.contains(&forbidden), "{forbidden}");
        }
        assert!(allowed.contains(&libc::SYS_adjtimex));
        assert!(allowed.contains(&libc::SYS_recvmmsg));
    }
}
