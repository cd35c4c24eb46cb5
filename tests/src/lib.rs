//! Shared helpers for the cross-crate tests: where the reference fixtures
//! live and how to read NTP datagrams out of their captures.
//!
//! The fixtures in `tests/data/autokey-ref/` are a copy of real data made by
//! the reference ntpd/ntp-keygen 4.2.8p18 (see the README there). A folder of
//! the same layout can be named in `AUTOKEY_FIXTURES` to replay new captures
//! without code changes.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;

pub mod fixture_host;

pub use fixture_host::fixtures_dir;

/// Every `.pcap` file below `dir`, sorted by path.
pub fn pcap_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "pcap") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// One UDP datagram read from a capture.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// 1-based frame number in the capture (as Wireshark counts).
    pub frame: usize,
    /// Capture time, seconds since the Unix epoch.
    pub time: f64,
    /// IP source address and UDP source port.
    pub src: SocketAddr,
    /// IP destination address and UDP destination port.
    pub dst: SocketAddr,
    /// The UDP payload, exactly as captured.
    pub payload: Vec<u8>,
}

/// Errors reading a capture (test data only).
#[derive(Debug)]
pub struct CaptureError(pub String);

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads every UDP datagram to or from port 123 out of a pcap file with an
/// Ethernet, Linux cooked (SLL), raw IP or loopback link layer.
pub fn ntp_datagrams(path: &Path) -> Result<Vec<Datagram>, CaptureError> {
    let err = |m: String| CaptureError(format!("{}: {m}", path.display()));
    let file = File::open(path).map_err(|e| err(e.to_string()))?;
    let mut reader = PcapReader::new(file).map_err(|e| err(e.to_string()))?;
    let link = reader.header().datalink;
    let mut out = Vec::new();
    let mut frame = 0;
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.map_err(|e| err(e.to_string()))?;
        frame += 1;
        let data: &[u8] = &pkt.data;
        let ip = match link {
            DataLink::ETHERNET => ethernet_payload(data),
            DataLink::LINUX_SLL => data
                .get(16..)
                .map(|p| (u16::from_be_bytes([data[14], data[15]]), p)),
            DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => data
                .first()
                .map(|b| (if b >> 4 == 6 { 0x86dd } else { 0x0800 }, data)),
            DataLink::NULL | DataLink::LOOP => data.get(4..).map(|p| {
                (
                    if p.first().is_some_and(|b| b >> 4 == 6) {
                        0x86dd
                    } else {
                        0x0800
                    },
                    p,
                )
            }),
            other => return Err(err(format!("unsupported link type {other:?}"))),
        };
        let Some((ethertype, ip)) = ip else { continue };
        let Some((src_ip, dst_ip, udp)) = ip_udp(ethertype, ip) else {
            continue;
        };
        if udp.len() < 8 {
            continue;
        }
        let sport = u16::from_be_bytes([udp[0], udp[1]]);
        let dport = u16::from_be_bytes([udp[2], udp[3]]);
        let ulen = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        if sport != 123 && dport != 123 {
            continue;
        }
        let end = ulen.clamp(8, udp.len());
        out.push(Datagram {
            frame,
            time: pkt.timestamp.as_secs_f64(),
            src: SocketAddr::new(src_ip, sport),
            dst: SocketAddr::new(dst_ip, dport),
            payload: udp[8..end].to_vec(),
        });
    }
    Ok(out)
}

fn ethernet_payload(data: &[u8]) -> Option<(u16, &[u8])> {
    let mut ethertype = u16::from_be_bytes([*data.get(12)?, *data.get(13)?]);
    let mut off = 14;
    // 802.1Q VLAN tags.
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        ethertype = u16::from_be_bytes([*data.get(off + 2)?, *data.get(off + 3)?]);
        off += 4;
    }
    Some((ethertype, data.get(off..)?))
}

fn ip_udp(ethertype: u16, ip: &[u8]) -> Option<(IpAddr, IpAddr, &[u8])> {
    match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            if ip.get(9)? != &17 {
                return None;
            }
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            let dst = Ipv4Addr::new(*ip.get(16)?, ip[17], ip[18], ip[19]);
            let end = total.min(ip.len());
            Some((src.into(), dst.into(), ip.get(ihl..end)?))
        }
        0x86dd => {
            if ip.get(6)? != &17 {
                return None;
            }
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            Some((
                Ipv6Addr::from(src).into(),
                Ipv6Addr::from(dst).into(),
                ip.get(40..)?,
            ))
        }
        _ => None,
    }
}

/// The `decode.txt` written beside a capture by the fixtures' decoder, if
/// any: one line per datagram (`N  TIME  SRC → DST  MODE ...`) followed by
/// one indented line per extension field.
pub fn decode_txt_path(pcap: &Path) -> Option<PathBuf> {
    let p = pcap.parent()?.join("decode.txt");
    p.exists().then_some(p)
}
