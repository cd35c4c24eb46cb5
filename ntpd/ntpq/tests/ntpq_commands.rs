//! Commands without a recorded reference output (sysinfo, kerninfo, the
//! counters, clock variables, the variable list commands, raw mode,
//! several hosts): the requests they send and their layout, following the
//! reference ntpq's tables and format strings. Values are those of
//! runs/iff/bob's ntpd where the capture has them.

mod ntpq_support;

use std::sync::{Arc, Mutex};

use ntpq_support::{binary_response, ntpq, varlist_response, FakeServer};
use proto::control::{ControlHeader, ControlMessage, Opcode, VarValue};

fn b(s: &str) -> VarValue {
    VarValue::Bare(s.to_string())
}

/// (opcode, request data) of every request a server saw.
type Seen = Arc<Mutex<Vec<(u8, String)>>>;

/// A server answering READVAR for association 0 with `items` and
/// recording the request data.
fn system_server(items: Vec<(String, VarValue)>) -> (FakeServer, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let server = FakeServer::start(Box::new(move |req: &ControlMessage| {
        s2.lock().expect("lock").push((
            req.header.opcode.code(),
            String::from_utf8_lossy(req.data()).into_owned(),
        ));
        match req.header.opcode {
            Opcode::ReadStatus => binary_response(req, 0x0616, &[0x7d, 0xf9, 0xf6, 0x1a]),
            _ => varlist_response(req, 0x0616, &items),
        }
    }));
    (server, seen)
}

fn items(pairs: &[(&str, &str)]) -> Vec<(String, VarValue)> {
    pairs.iter().map(|(n, v)| (n.to_string(), b(v))).collect()
}

#[test]
fn sysinfo_layout() {
    let (server, seen) = system_server(items(&[
        ("peeradr", "10.0.0.1:123"),
        ("peermode", "3"),
        ("leap", "0"),
        ("stratum", "6"),
        ("precision", "-23"),
        ("rootdelay", "0.104"),
        ("rootdisp", "1.060"),
        ("refid", "10.0.0.1"),
        ("reftime", "0xeeb3c3ad.12dbb005"),
        ("sys_jitter", "0.000000"),
        ("clk_jitter", "0.000"),
        ("clk_wander", "0.000"),
        ("bcastdelay", "0.000"),
        ("authdelay", "0.000"),
    ]));
    let host = server.host();
    let r = ntpq(&["-c", "sysinfo", &host], &[], None);
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        "associd=0 status=0616 leap_none, sync_ntp, 1 event, restart,\n\
system peer:        10.0.0.1:123\n\
system peer mode:   client\n\
leap indicator:     00\n\
stratum:            6\n\
log2 precision:     -23\n\
root delay:         0.104\n\
root dispersion:    1.060\n\
reference ID:       10.0.0.1\n\
reference time:     eeb3c3ad.12dbb005  Fri, Nov 27 2026  8:54:05.073\n\
system jitter:      0.000000\n\
clock jitter:       0.000\n\
clock wander:       0.000\n\
broadcast delay:    0.000\n\
symm. auth. delay:  0.000\n"
    );
    assert_eq!(
        seen.lock().expect("lock").as_slice(),
        [(
            2,
            "peeradr,peermode,leap,stratum,precision,rootdelay,rootdisp,refid,reftime,\
sys_jitter,clk_jitter,clk_wander,bcastdelay,authdelay"
                .to_string()
        )]
    );
}

#[test]
fn counters_leave_out_what_the_server_lacks() {
    let (server, seen) = system_server(items(&[
        ("koffset", "0.000"),
        ("kfreq", "0.000"),
        ("kstflags", "pll nano"),
        ("mru_enabled", "0x0"),
        ("timer_xmts", "21"),
        ("authkeys", "1"),
        ("io_received", "42"),
    ]));
    let host = server.host();
    let r = ntpq(
        &[
            "-c",
            "kerninfo",
            "-c",
            "monstats",
            "-c",
            "timerstats",
            "-c",
            "authinfo",
            "-c",
            "iostats",
            &host,
        ],
        &[],
        None,
    );
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        "associd=0 status=0616 leap_none, sync_ntp, 1 event, restart,\n\
pll offset:            0.000\npll frequency:         0.000\nkernel status:         pll nano\n\
\nenabled:              0x0\n\
\ncalls to transmit:   21\n\
\nstored keys:       1\n\
\nreceived packets:       42\n"
    );
    let seen = seen.lock().expect("lock");
    assert!(seen[0]
        .1
        .starts_with("koffset,kfreq,kmaxerr,kesterr,kstflags,"));
    assert_eq!(seen[2].1, "timerstats_reset,timer_overruns,timer_xmts");
}

#[test]
fn clock_variables_use_readclock() {
    let (server, seen) = system_server(vec![
        ("timecode".to_string(), VarValue::Quoted("abc".into())),
        ("poll".to_string(), b("12")),
    ]);
    let host = server.host();
    let r = ntpq(&["-c", "cv", "-c", "cv 0 poll", &host], &[], None);
    assert_eq!(r.stderr, "");
    let word = proto::control::ClockStatus::from_word(0x0616).describe();
    assert_eq!(
        r.stdout,
        format!("associd=0 status=0616 {word},\ntimecode=\"abc\", poll=12\n\ntimecode=\"abc\", poll=12\n")
    );
    let seen = seen.lock().expect("lock");
    assert_eq!(
        seen.as_slice(),
        [(4, String::new()), (4, "poll".to_string())]
    );
}

#[test]
fn variable_list_commands() {
    let (server, seen) = system_server(items(&[("stratum", "6"), ("leap", "3")]));
    let host = server.host();
    let r = ntpq(
        &[
            "-c",
            "showvars",
            "-c",
            "addvars stratum,leap",
            "-c",
            "addvars precision=1",
            "-c",
            "rmvars leap",
            "-c",
            "showvars",
            "-c",
            "rl",
            "-c",
            "clearvars",
            "-c",
            "rl",
            &host,
        ],
        &[],
        None,
    );
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        "No variables on list\n\n\n\n\nstratum\nprecision=1\n\
\nstratum=6, leap=11\n\n\nassocid=0 status=0616 leap_none, sync_ntp, 1 event, restart,\n\
stratum=6, leap=11\n"
    );
    let seen = seen.lock().expect("lock");
    assert_eq!(seen[0].1, "stratum,precision=1");
    assert_eq!(seen[1].1, "");
}

#[test]
fn raw_mode_prints_data_as_received() {
    let (server, _) = system_server(items(&[
        ("reach", "0x1f"),
        ("reftime", "0x00000000.00000000"),
    ]));
    let host = server.host();
    let r = ntpq(
        &["-c", "raw", "-c", "rv", "-c", "cooked", "-c", "rv", &host],
        &[],
        None,
    );
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        "Output set to raw\n\nassocid=0 status=0x0616,\nreach=0x1f, reftime=0x00000000.00000000\n\
\nOutput set to cooked\n\nassocid=0 status=0616 leap_none, sync_ntp, 1 event, restart,\n\
reach=037, reftime=(no time)\n"
    );
}

#[test]
fn several_hosts_are_labelled() {
    let cert = vec![("cert".to_string(), VarValue::Quoted("a b 0x1".into()))];
    let (s1, _) = system_server(cert.clone());
    let (s2, _) = system_server(cert);
    let (h1, h2) = (s1.host(), s2.host());
    let r = ntpq(&["-c", "rv 0 cert", &h1, &h2], &[], None);
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        "server=127.0.0.1 cert=\"a b 0x1\"\n\nserver=127.0.0.1 cert=\"a b 0x1\"\n"
    );
}

#[test]
fn hidden_associations_and_wide_names() {
    // Two associations: one configured (shown), one neither configured nor
    // reachable (only `lpeers`/`lassociations` show it).
    let server = FakeServer::start(Box::new(|req: &ControlMessage| match req.header.opcode {
        Opcode::ReadStatus => binary_response(req, 0x0616, &[0, 1, 0x94, 0x14, 0, 2, 0x00, 0x11]),
        _ => varlist_response(
            req,
            if req.header.association_id == 1 {
                0x9414
            } else {
                0x0011
            },
            &items(&[
                (
                    "srcadr",
                    if req.header.association_id == 1 {
                        "2001:db8::1234:5678"
                    } else {
                        "192.0.2.7"
                    },
                ),
                ("refid", "GPS"),
                ("stratum", "1"),
                ("hmode", "3"),
                ("hpoll", "6"),
                ("ppoll", "6"),
                ("reach", "0x0"),
                ("delay", "1.5"),
                ("offset", "-0.25"),
                ("jitter", "0.125"),
            ]),
        ),
    }));
    let host = server.host();
    let r = ntpq(
        &[
            "-n", "-w", "-c", "peers", "-c", "lpeers", "-c", "as", "-c", "las", &host,
        ],
        &[],
        None,
    );
    assert_eq!(r.stderr, "");
    let rule = "=".repeat(78);
    let hdr = "     remote           refid      st t when poll reach   delay   offset  jitter";
    let wide = "+2001:db8::1234:5678\n                 .GPS.            1 u    -   64    0    1.500   -0.250   0.125\n";
    let v4 = " 192.0.2.7       .GPS.            1 u    -   64    0    1.500   -0.250   0.125\n";
    let as_hdr = "ind assid status  conf reach auth condition  last_event cnt\n".to_string()
        + &"=".repeat(59);
    let l1 = "  1     1  9414   yes   yes  none candidate   reachable  1\n";
    let l2 = "  2     2  0011    no    no  none    reject    mobilize  1\n";
    assert_eq!(
        r.stdout,
        format!(
            "{hdr}\n{rule}\n{wide}\n{hdr}\n{rule}\n{wide}{v4}\n{as_hdr}\n{l1}\n{as_hdr}\n{l1}{l2}"
        )
    );
}

/// A server holding 45 MRU entries, answering READ_MRU 20 rows at a time
/// after the newest prior the request names, with the nonce protocol.
fn mru_server() -> (FakeServer, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let base = 0xeeb3_c000u32;
    // Oldest first: entry i last seen at base + 2i, first at base.
    let entries: Vec<(String, u32, u32, u32)> = (0..45u32)
        .map(|i| {
            (
                format!("10.0.1.{i}:{}", 1000 + i),
                base + 2 * i,
                i + 1,
                if i == 44 { 0x420 } else { 0 },
            )
        })
        .collect();
    let now = base + 100;
    let server = FakeServer::start(Box::new(move |req: &ControlMessage| {
        let data = String::from_utf8_lossy(req.data()).into_owned();
        s2.lock()
            .expect("lock")
            .push((req.header.opcode.code(), data.clone()));
        let h = ControlHeader::response_to(&req.header, 0, 0x0616);
        match req.header.opcode {
            Opcode::RequestNonce => vec![ControlMessage::new(h, b"nonce=feedface\r\n")
                .expect("msg")
                .serialize()],
            Opcode::ReadMru => {
                let vars = proto::control::VarList::parse(req.data()).expect("request list");
                let get = |n: &str| vars.get(n).and_then(VarValue::text).map(str::to_string);
                if get("nonce").as_deref() != Some("feedface") {
                    return ntpq_support::error_response(
                        req,
                        proto::control::ErrorCode::InvalidValue,
                    );
                }
                let start = match get("addr.0") {
                    None => 0,
                    Some(a) => match entries.iter().position(|e| e.0 == a) {
                        Some(i) => i + 1,
                        None => {
                            return ntpq_support::error_response(
                                req,
                                proto::control::ErrorCode::UnknownVariable,
                            )
                        }
                    },
                };
                let mut items = vec![("nonce".to_string(), b("feedface"))];
                let end = (start + 20).min(entries.len());
                for (row, e) in entries[start..end].iter().enumerate() {
                    items.push((format!("addr.{row}"), b(&e.0)));
                    items.push((format!("last.{row}"), b(&format!("0x{:08x}.00000000", e.1))));
                    items.push((format!("first.{row}"), b(&format!("0x{base:08x}.00000000"))));
                    items.push((format!("ct.{row}"), b(&e.2.to_string())));
                    items.push((format!("mv.{row}"), b("35")));
                    items.push((format!("rs.{row}"), b(&format!("0x{:x}", e.3))));
                }
                if end == entries.len() {
                    items.push(("now".into(), b(&format!("0x{now:08x}.00000000"))));
                    items.push((
                        "last.newest".into(),
                        b(&format!("0x{:08x}.00000000", entries[end - 1].1)),
                    ));
                }
                varlist_response(req, 0x0616, &items)
            }
            _ => Vec::new(),
        }
    }));
    (server, seen)
}

#[test]
fn mrulist_collects_in_several_requests() {
    let (server, seen) = mru_server();
    let host = server.host();
    let r = ntpq(
        &[
            "-c",
            "mrulist",
            "-c",
            "mrulist mincount=2 sort=count",
            &host,
        ],
        &[],
        None,
    );
    assert_eq!(
        r.stderr,
        "Ctrl-C will stop MRU retrieval and display partial results.\n\
\rRetrieved 45 unique MRU entries and 0 updates.\n"
            .repeat(2)
    );
    let head = "lstint avgint rstr r m v  count rport remote address\n".to_string()
        + &"=".repeat(78)
        + "\n";
    let row = |i: u32| {
        let lstint = 100 - 2 * i;
        let avgint = ((2 * i) as f64 / (i + 1) as f64 + 0.5) as u32;
        let (rs, r) = if i == 44 { (0x420, 'K') } else { (0, '.') };
        format!(
            "{lstint:6} {avgint:6} {rs:4x} {r} 3 4 {:6} {:5} 10.0.1.{i}\n",
            i + 1,
            1000 + i
        )
    };
    let newest_first: String = (0..45).rev().map(row).collect();
    let by_count: String = (0..45).map(row).collect();
    assert_eq!(r.stdout, format!("{head}{newest_first}\n{head}{by_count}"));
    let seen = seen.lock().expect("lock");
    let reqs: Vec<&String> = seen
        .iter()
        .filter(|(op, _)| *op == 10)
        .map(|(_, d)| d)
        .collect();
    assert_eq!(reqs.len(), 6, "3 requests per mrulist: {reqs:?}");
    assert_eq!(reqs[0], "nonce=feedface, frags=32");
    assert!(reqs[1].starts_with("nonce=feedface, frags=32, addr.0=10.0.1.19:1019, last.0=0xeeb3c026.00000000, addr.1=10.0.1.18:1018"), "{}", reqs[1]);
    assert!(
        reqs[3].starts_with("nonce=feedface, frags=32, mincount=2"),
        "{}",
        reqs[3]
    );
    // One nonce per mrulist (the responses renew it).
    assert_eq!(seen.iter().filter(|(op, _)| *op == 12).count(), 2);
}

#[test]
fn multiple_association_reads() {
    let server = FakeServer::start(Box::new(|req: &ControlMessage| match req.header.opcode {
        Opcode::ReadStatus => binary_response(req, 0x0616, &[0, 7, 0x96, 0x1a, 0, 3, 0x94, 0x14]),
        _ => {
            let id = req.header.association_id;
            varlist_response(
                req,
                if id == 7 { 0x961a } else { 0x9414 },
                &items(&[("stratum", &id.to_string())]),
            )
        }
    }));
    let host = server.host();
    let r = ntpq(
        &[
            "-c",
            "mrv 7 3 stratum",
            "-c",
            "addvars stratum",
            "-c",
            "mrl 3 7",
            "-c",
            "mrv 3 9",
            &host,
        ],
        &[],
        None,
    );
    // Cache order is by id (3, 7); `mrl` separates the peers by a blank
    // line, `mrv` does not.
    assert_eq!(
        r.stdout,
        "stratum=3\nstratum=7\n\n\nstratum=3\n\nstratum=7\n\n"
    );
    assert_eq!(r.stderr, "***Association ID 9 not found in list\n");
}
