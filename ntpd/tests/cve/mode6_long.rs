//! CVE-2016-7434 (a malformed `mrulist` query crashed the reference on a
//! null pointer) and CVE-2015-7855 (a mode 6/7 request with a long data
//! value hit an assertion in `decodenetnum`): READ_MRU with malformed,
//! missing, huge and long parameters, READVAR and WRITEVAR with long
//! names and values, and a REQ_NONCE → READ_MRU exchange with garbage
//! after the nonce — nothing panics, every answer is bounded, and
//! READ_MRU without a valid nonce gets no list.

use std::net::{IpAddr, SocketAddr};

use ntpd::daemon::RECV_BUF;
use ntpd::net::socket::Received;

use super::support::*;

fn mode6(op: u8, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut b = vec![0x16, op];
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&(data.len() as u16).to_be_bytes());
    b.extend_from_slice(data);
    while b.len() % 4 != 0 {
        b.push(0);
    }
    b
}

fn ask(core: &mut ntpd::daemon::Core, src: IpAddr, d: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![0u8; RECV_BUF];
    let r = Received {
        len: d.len(),
        truncated: false,
        src: SocketAddr::new(src, 40000),
        dst: None,
        rx_time: None,
    };
    assert_eq!(core.handle_one(1, false, d, &r, &mut out), None);
    let replies = core.out.actions.take_replies();
    assert!(replies.len() <= 128, "{} datagrams", replies.len());
    for x in &replies {
        assert!(x.len() <= 12 + 468 + 24, "datagram of {}", x.len());
    }
    replies
}

/// The text of a mode 6 answer's data.
fn text(replies: &[Vec<u8>]) -> String {
    replies
        .iter()
        .map(|d| {
            let n = usize::from(u16::from_be_bytes([d[10], d[11]]));
            String::from_utf8_lossy(&d[12..(12 + n).min(d.len())]).into_owned()
        })
        .collect()
}

#[test]
fn cve_2016_7434_malformed_mrulist_queries_are_survived() {
    let (mut core, _clock) = core("");
    let src: IpAddr = [192, 0, 2, 44].into();
    let long = "A".repeat(2000);
    let garbage: Vec<String> = vec![
        String::new(),
        "nonce".into(),
        "nonce=".into(),
        "nonce=zz, frags=4294967296".into(),
        "frags=, limit=-1, mincount=abc".into(),
        format!("nonce={long}"),
        format!("laddr=[::::::::], addr.0={long}, last.0=0x"),
        ",,,,====,,,,".into(),
    ];
    for (i, g) in garbage.iter().enumerate() {
        let replies = ask(&mut core, src, &mode6(10, i as u16, g.as_bytes()));
        assert!(
            !text(&replies).contains("addr.0="),
            "no list without a nonce: {g}"
        );
    }
    // A real nonce followed by garbage.
    let nonce = text(&ask(&mut core, src, &mode6(12, 100, b"")));
    let nonce = nonce.trim().trim_end_matches(['\r', '\n']).to_string();
    assert!(nonce.starts_with("nonce="), "{nonce}");
    for tail in [
        ", frags=999999999, limit=999999999",
        ", mincount=-5, resall=0x, resany=zz",
        ", recent=0, laddr=1.2.3.4.5.6, kod=9",
        &format!(", last.0={long}, addr.0={long}"),
    ] {
        ask(
            &mut core,
            src,
            &mode6(10, 101, format!("{nonce}{tail}").as_bytes()),
        );
    }
}

#[test]
fn cve_2015_7855_long_names_and_values_are_survived() {
    let (mut core, _clock) = core("");
    let src: IpAddr = [192, 0, 2, 45].into();
    let long = "v".repeat(460);
    for data in [
        long.clone(),
        format!("{long}={long}"),
        format!("version={long}"),
        format!("srcadr={long}, dstadr=[{long}"),
        "x=".repeat(200),
    ] {
        for op in [2u8, 3, 8, 9] {
            // READVAR, WRITEVAR, CONFIGURE and SAVECONFIG, unauthenticated.
            ask(&mut core, src, &mode6(op, 7, data.as_bytes()));
        }
    }
    // Still answering an ordinary query afterwards.
    assert!(!ask(&mut core, src, &mode6(1, 8, b"")).is_empty());
}
