//! Registering a socket with tokio's reactor: `AsyncFd` registration is
//! `unsafe` since tokio 1.54 (it cannot check that the descriptor outlives
//! the registration). Here the `AsyncFd` owns the descriptor, which makes
//! that true by construction.
//!
//! The daemon needs `AsyncFd` rather than `tokio::net::UdpSocket` for its
//! readiness guard: after a batch shorter than the batch size the socket is
//! empty, and `clear_ready` on the guard (which ignores events newer than
//! the one it reports) says so without one more `recvmmsg` that would only
//! return `EAGAIN`.

use std::io;
use std::os::fd::OwnedFd;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// `fd`, registered for readability with the reactor of the tokio runtime
/// the caller is in. Panics outside a runtime, as tokio does.
pub fn register_readable(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the `AsyncFd` takes ownership of `fd`, so the descriptor stays
    // open and refers to the same file description for exactly as long as
    // the registration lives, and `OwnedFd::as_raw_fd` always returns it.
    let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
    Ok(registered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn a_registered_socket_reports_a_datagram() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        let to = rx.local_addr().unwrap();
        let fd = register_readable_in(&rt, OwnedFd::from(rx));
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"x", to).unwrap();
        rt.block_on(async {
            let mut guard = fd.readable().await.unwrap();
            let sock = UdpSocket::from(fd.get_ref().try_clone().unwrap());
            let mut buf = [0u8; 4];
            assert_eq!(sock.recv(&mut buf).unwrap(), 1);
            guard.clear_ready();
        });
    }

    fn register_readable_in(rt: &tokio::runtime::Runtime, fd: OwnedFd) -> AsyncFd<OwnedFd> {
        let _context = rt.enter();
        register_readable(fd).unwrap()
    }
}
