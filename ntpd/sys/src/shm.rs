//! System V shared memory for the SHM reference clock (reference
//! `refclock_shm.c`): `shmget(2)` + `shmat(2)` of a segment of a fixed
//! size, volatile reads and writes of its bytes, `shmdt(2)` on drop.

use std::io;
use std::ptr::NonNull;

/// One attached segment.
#[derive(Debug)]
pub struct SharedSegment {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping belongs to this value alone in this process (other
// processes write it, which volatile accesses allow); moving it to another
// thread does not change that.
unsafe impl Send for SharedSegment {}

impl SharedSegment {
    /// Attach the segment of `key`, creating it with permission bits
    /// `perm` and `len` octets if it does not exist.
    pub fn attach(key: i32, len: usize, perm: u32) -> io::Result<SharedSegment> {
        let flags = libc::IPC_CREAT | (perm & 0o777) as libc::c_int;
        // SAFETY: shmget takes plain integers and touches no memory of ours.
        let id = unsafe { libc::shmget(key, len, flags) };
        if id < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `id` is a segment identifier just returned; a null address
        // lets the kernel choose where to map it.
        let p = unsafe { libc::shmat(id, std::ptr::null(), 0) };
        if p as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        let base =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("shmat gave null"))?;
        Ok(SharedSegment { base, len })
    }

    /// Copy the first `out.len()` octets (at most the segment's length),
    /// each read volatile because another process writes them.
    pub fn read(&self, out: &mut [u8]) {
        for (i, o) in out.iter_mut().enumerate().take(self.len) {
            // SAFETY: `i < len`, inside the mapping attached in `attach`
            // and kept until drop.
            *o = unsafe { std::ptr::read_volatile(self.base.as_ptr().add(i)) };
        }
    }

    /// Write `bytes` at `offset` (volatile), if they fit.
    pub fn write(&mut self, offset: usize, bytes: &[u8]) {
        if offset
            .checked_add(bytes.len())
            .is_none_or(|end| end > self.len)
        {
            return;
        }
        for (i, b) in bytes.iter().enumerate() {
            // SAFETY: `offset + i < len` (checked above), inside the mapping.
            unsafe { std::ptr::write_volatile(self.base.as_ptr().add(offset + i), *b) };
        }
    }
}

impl Drop for SharedSegment {
    fn drop(&mut self) {
        // SAFETY: `base` is the address shmat returned; it is detached once.
        unsafe {
            libc::shmdt(self.base.as_ptr().cast());
        }
    }
}
