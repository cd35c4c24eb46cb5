//! Linux capabilities of the calling thread: `capget(2)`/`capset(2)` and
//! the `prctl(2)` options nix does not wrap (`PR_CAPBSET_READ`,
//! `PR_CAP_AMBIENT`). Used to drop root while keeping `CAP_SYS_TIME`
//! (and `CAP_NET_BIND_SERVICE`), as the reference ntpd does.
//!
//! Sets are `u64` bit masks, bit `n` for capability `n` (the layout of the
//! `CapEff:` lines of /proc/PID/status). Two small fixed-layout calls, so
//! no extra crate.

use std::io;

/// The thread's three capability sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    /// Capabilities in force.
    pub effective: u64,
    /// Capabilities the thread may make effective.
    pub permitted: u64,
    /// Capabilities handed on across `execve`.
    pub inheritable: u64,
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets in two data structs.
const CAP_VERSION_3: u32 = 0x2008_0522;

fn header() -> CapHeader {
    CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    }
}

/// This thread's capability sets (`capget(2)`).
pub fn get() -> io::Result<CapSets> {
    let mut hdr = header();
    let mut data = [CapData::default(); 2];
    // SAFETY: the header and a two-element data array, as version 3 of the
    // call requires; both outlive the call and the kernel writes only
    // within them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | u64::from(f(&data[1])) << 32;
    Ok(CapSets {
        effective: join(|d| d.effective),
        permitted: join(|d| d.permitted),
        inheritable: join(|d| d.inheritable),
    })
}

/// Set this thread's capability sets (`capset(2)`).
pub fn set(sets: CapSets) -> io::Result<()> {
    let mut hdr = header();
    let split = |v: u64| [v as u32, (v >> 32) as u32];
    let (e, p, i) = (
        split(sets.effective),
        split(sets.permitted),
        split(sets.inheritable),
    );
    let data = [
        CapData {
            effective: e[0],
            permitted: p[0],
            inheritable: i[0],
        },
        CapData {
            effective: e[1],
            permitted: p[1],
            inheritable: i[1],
        },
    ];
    // SAFETY: as in `get`; the kernel only reads `data`.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The capability bounding set of this thread (`PR_CAPBSET_READ` for each
/// capability number until the kernel says it does not know it).
pub fn bounding_set() -> u64 {
    let mut set = 0u64;
    for cap in 0..64u8 {
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap), 0, 0, 0) };
        match r {
            1 => set |= 1u64 << cap,
            0 => {}
            _ => break,
        }
    }
    set
}

/// Empty the ambient set (`PR_CAP_AMBIENT_CLEAR_ALL`), so that nothing
/// is handed on to programs the thread might run.
pub fn clear_ambient() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_field(name: &str) -> u64 {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    }

    #[test]
    fn the_sets_agree_with_proc_status() {
        let s = get().unwrap();
        assert_eq!(s.effective, status_field("CapEff:"));
        assert_eq!(s.permitted, status_field("CapPrm:"));
        assert_eq!(s.inheritable, status_field("CapInh:"));
        assert_eq!(bounding_set(), status_field("CapBnd:"));
    }

    /// On a thread of its own: capabilities are per thread, and a
    /// thread's own sets may always be set to what they already are, and
    /// reduced.
    #[test]
    fn set_writes_what_get_reads() {
        std::thread::spawn(|| {
            let now = get().unwrap();
            set(now).unwrap();
            assert_eq!(get().unwrap(), now);
            let fewer = CapSets {
                inheritable: 0,
                ..now
            };
            set(fewer).unwrap();
            assert_eq!(get().unwrap(), fewer);
            assert_eq!(status_field("CapInh:"), 0);
            clear_ambient().unwrap();
            assert_eq!(status_field("CapAmb:"), 0);
        })
        .join()
        .unwrap();
    }
}
