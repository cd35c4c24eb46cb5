//! Control messages: the receive timestamp and destination address the
//! kernel attaches to a received datagram, and the source address chosen
//! for a sent one.

use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ptr;

use super::UnixTime;

/// Control-message space of one received datagram: `SCM_TIMESTAMPING`
/// (three timespecs) plus `IPV6_PKTINFO`, with room to spare; as `u64`
/// words so the buffer is aligned for `cmsghdr`.
pub(crate) const RX_CMSG_WORDS: usize = 32;

/// Control-message space of one sent datagram: one `IP(V6)_PKTINFO`.
pub(crate) const TX_CMSG_WORDS: usize = 8;

/// A zeroed `msghdr` (null pointers, zero lengths).
pub(crate) fn empty_msghdr() -> libc::msghdr {
    // SAFETY: `msghdr` is a plain C struct for which all-zero is a valid
    // value (null pointers, zero lengths).
    unsafe { mem::zeroed() }
}

/// What the control messages of one received datagram said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RxInfo {
    /// The kernel receive timestamp.
    pub(crate) rx_time: Option<UnixTime>,
    /// The address the datagram was sent to (PKTINFO).
    pub(crate) dst: Option<IpAddr>,
}

/// The kernel receive timestamp and destination address from a received
/// header's control messages.
pub(crate) fn read(h: &libc::msghdr) -> RxInfo {
    let mut info = RxInfo::default();
    if h.msg_control.is_null() || h.msg_controllen == 0 {
        return info;
    }
    // SAFETY: the header's control pointer/length describe the buffer the
    // kernel filled (its length shortened to what was written);
    // CMSG_FIRSTHDR/CMSG_NXTHDR stay inside it, and every payload read is
    // bounded by the cmsg's own length and unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            let level = (*c).cmsg_level;
            let kind = (*c).cmsg_type;
            let payload = ((*c).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            let data = libc::CMSG_DATA(c);
            match (level, kind) {
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPING)
                    if payload >= mem::size_of::<libc::timespec>() =>
                {
                    // [0] software, [1] legacy, [2] raw hardware.
                    let ts: libc::timespec = ptr::read_unaligned(data.cast());
                    if ts.tv_sec != 0 || ts.tv_nsec != 0 {
                        info.rx_time = Some(UnixTime::from_timespec(&ts));
                    }
                }
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS)
                    if payload >= mem::size_of::<libc::timespec>() =>
                {
                    let ts: libc::timespec = ptr::read_unaligned(data.cast());
                    info.rx_time = Some(UnixTime::from_timespec(&ts));
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO)
                    if payload >= mem::size_of::<libc::in_pktinfo>() =>
                {
                    let pi: libc::in_pktinfo = ptr::read_unaligned(data.cast());
                    info.dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr))));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                    if payload >= mem::size_of::<libc::in6_pktinfo>() =>
                {
                    let pi: libc::in6_pktinfo = ptr::read_unaligned(data.cast());
                    info.dst = Some(IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr)));
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
    info
}

/// Write a `IP_PKTINFO`/`IPV6_PKTINFO` control message choosing `from` as
/// the source address into `buf`; returns the control length used (0 when
/// `from` is of the other family than `dst`).
pub(crate) fn write_pktinfo(
    buf: &mut [u64; TX_CMSG_WORDS],
    dst: SocketAddr,
    from: IpAddr,
) -> usize {
    let mut h = empty_msghdr();
    h.msg_control = buf.as_mut_ptr().cast();
    h.msg_controllen = mem::size_of::<[u64; TX_CMSG_WORDS]>();
    // SAFETY: CMSG_SPACE of either pktinfo (<= 40 octets) fits the 64-octet
    // buffer `h` points at; the first header is inside it and the payload
    // write is bounded by CMSG_LEN of the payload's size.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&h);
        if c.is_null() {
            return 0;
        }
        match (dst, from) {
            (SocketAddr::V4(_), IpAddr::V4(f)) => {
                let pi = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(f).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                (*c).cmsg_level = libc::IPPROTO_IP;
                (*c).cmsg_type = libc::IP_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(mem::size_of_val(&pi) as u32) as usize;
                ptr::write_unaligned(libc::CMSG_DATA(c).cast(), pi);
                libc::CMSG_SPACE(mem::size_of_val(&pi) as u32) as usize
            }
            (SocketAddr::V6(_), IpAddr::V6(f)) => {
                let pi = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: f.octets(),
                    },
                    ipi6_ifindex: 0,
                };
                (*c).cmsg_level = libc::IPPROTO_IPV6;
                (*c).cmsg_type = libc::IPV6_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(mem::size_of_val(&pi) as u32) as usize;
                ptr::write_unaligned(libc::CMSG_DATA(c).cast(), pi);
                libc::CMSG_SPACE(mem::size_of_val(&pi) as u32) as usize
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_pktinfo_reads_back_as_the_destination() {
        let mut buf = [0u64; TX_CMSG_WORDS];
        let dst: SocketAddr = "192.0.2.9:123".parse().unwrap();
        let len = write_pktinfo(&mut buf, dst, IpAddr::from([127, 0, 0, 7]));
        assert!(len > 0 && len <= mem::size_of_val(&buf));
        // The send form sets ipi_spec_dst, the receive form ipi_addr: the
        // reader sees the (zero) ipi_addr of a send-side message.
        let mut h = empty_msghdr();
        h.msg_control = buf.as_mut_ptr().cast();
        h.msg_controllen = len;
        assert_eq!(read(&h).dst, Some(IpAddr::from([0, 0, 0, 0])));
        assert_eq!(read(&h).rx_time, None);
        let other = write_pktinfo(&mut buf, dst, "::1".parse().unwrap());
        assert_eq!(other, 0, "family mismatch writes nothing");
    }

    #[test]
    fn an_empty_control_buffer_says_nothing() {
        assert_eq!(read(&empty_msghdr()), RxInfo::default());
    }
}
