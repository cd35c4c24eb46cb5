//! Our ntpq against a fake server replaying the mode 6 responses captured
//! while the reference ntpq 4.2.8p18 ran (runs/iff/{bob,alice}/
//! ntpq-mode6.pcap). For each captured ntpq command, our ntpq must send the
//! very same request datagrams (sequence numbers included) and print
//! exactly what the reference printed (the recorded ntpq-*.txt files).

mod ntpq_support;

use ntpq_support::{fixtures, ntpq, pcap_udp, recorded, FakeServer};
use proto::control::ControlMessage;

/// One captured request and the responses that followed it.
#[derive(Debug, Clone)]
struct Exchange {
    request: Vec<u8>,
    responses: Vec<Vec<u8>>,
}

fn exchanges(host: &str) -> Vec<Exchange> {
    let path = fixtures().join(format!("runs/iff/{host}/ntpq-mode6.pcap"));
    let mut out: Vec<Exchange> = Vec::new();
    for (sport, dport, payload) in pcap_udp(&path) {
        if dport == 123 {
            out.push(Exchange {
                request: payload,
                responses: Vec::new(),
            });
        } else if sport == 123 {
            out.last_mut()
                .expect("response after a request")
                .responses
                .push(payload);
        }
    }
    out
}

/// What identifies a request: opcode, association and data (not the
/// sequence number).
fn key(bytes: &[u8]) -> (u8, u16, Vec<u8>) {
    let m = ControlMessage::parse(bytes).expect("captured request parses");
    (
        m.header.opcode.code(),
        m.header.association_id,
        m.data().to_vec(),
    )
}

/// The ntpq arguments of a recorded command line (`ntpq -n -c rv 0 cert`):
/// everything after `-c` is one command.
fn args_of(cmdline: &str) -> Vec<String> {
    let mut words = cmdline.split_whitespace();
    assert_eq!(words.next(), Some("ntpq"));
    let mut args = Vec::new();
    while let Some(w) = words.next() {
        if w == "-c" {
            args.push("-c".to_string());
            args.push(words.collect::<Vec<_>>().join(" "));
            break;
        }
        args.push(w.to_string());
    }
    args
}

/// A fake server replaying `exchanges(host)[range]`, matching requests by
/// opcode, association and data and re-sequencing the responses.
fn replay_server(host: &str, range: std::ops::Range<usize>) -> (FakeServer, Vec<Exchange>) {
    let all = exchanges(host);
    let script: Vec<Exchange> = all[range].to_vec();
    let served = script.clone();
    let mut cursor = 0usize;
    let server = FakeServer::start(Box::new(move |req: &ControlMessage| {
        let k = (
            req.header.opcode.code(),
            req.header.association_id,
            req.data().to_vec(),
        );
        let found = (cursor..served.len())
            .chain(0..cursor)
            .find(|&i| key(&served[i].request) == k);
        let Some(i) = found else {
            return Vec::new();
        };
        cursor = i + 1;
        let seq = req.header.sequence.to_be_bytes();
        served[i]
            .responses
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r[2..4].copy_from_slice(&seq);
                r
            })
            .collect()
    }));
    (server, script)
}

/// Replays `exchanges[range]` for the command of `recorded_file` and
/// compares requests and output.
fn replay(host: &str, range: std::ops::Range<usize>, recorded_file: &str, now: Option<&str>) {
    let (server, script) = replay_server(host, range);
    let (cmdline, expected) =
        recorded(&fixtures().join(format!("runs/iff/{host}/{recorded_file}")));
    let mut args = args_of(&cmdline);
    let hostarg = server.host();
    args.push(hostarg);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = now.map(|n| ("NTPQ_TEST_NOW", n)).into_iter().collect();
    let run = ntpq(&argv, &env, None);
    assert_eq!(run.stderr, "", "{cmdline}: no error expected");
    assert_eq!(
        run.stdout, expected,
        "{cmdline}: output differs from the reference"
    );
    assert!(run.success);
    let sent = server.requests();
    let captured: Vec<Vec<u8>> = script.iter().map(|e| e.request.clone()).collect();
    assert_eq!(
        sent, captured,
        "{cmdline}: requests differ from the reference ntpq's"
    );
}

#[test]
fn capture_holds_the_documented_queries() {
    // README section on runs/iff: 9 queries on bob, 3 on alice.
    assert_eq!(exchanges("bob").len(), 9);
    assert_eq!(exchanges("alice").len(), 3);
}

#[test]
fn bob_n_p() {
    // when=4: bob's clock read 0xeeb3c3b1 (see `clock=` in ntpq-c-rv.txt).
    replay("bob", 0..2, "ntpq-n-p.txt", Some("eeb3c3b1"));
}

#[test]
fn bob_n_c_as() {
    replay("bob", 2..3, "ntpq-n-c-as.txt", None);
    replay("bob", 7..8, "ntpq-n-c-as.txt", None);
}

#[test]
fn bob_rv_0_cert() {
    replay("bob", 3..4, "ntpq-c-rv-0-cert.txt", None);
}

#[test]
fn bob_rv() {
    replay("bob", 4..5, "ntpq-c-rv.txt", None);
}

#[test]
fn bob_rv_amp1() {
    replay("bob", 5..7, "ntpq-c-rv-amp1.txt", None);
}

#[test]
fn bob_rv_32249() {
    replay("bob", 8..9, "ntpq-c-rv-32249.txt", None);
}

#[test]
fn alice_rv_0_cert() {
    replay("alice", 0..1, "ntpq-c-rv-0-cert.txt", None);
}

#[test]
fn alice_rv() {
    replay("alice", 1..2, "ntpq-c-rv.txt", None);
}

#[test]
fn alice_n_c_as_without_associations() {
    replay("alice", 2..3, "ntpq-n-c-as.txt", None);
}

#[test]
fn bob_apeers_and_opeers_from_the_peers_capture() {
    // Same queries as `peers`; the lines follow the reference's apeers and
    // opeers formats (refid in hex plus association id; local address and
    // dispersion instead of refid and jitter).
    let (server, _) = replay_server("bob", 0..2);
    let host = server.host();
    let run = ntpq(
        &["-n", "-c", "apeers", "-c", "opeers", &host],
        &[("NTPQ_TEST_NOW", "eeb3c3b1")],
        None,
    );
    assert_eq!(run.stderr, "");
    let rule = "=".repeat(78);
    assert_eq!(
        run.stdout,
        format!(
            "     remote       refid   assid  st t when poll reach   delay   offset  jitter\n{rule}\n\
*10.0.0.1        7f000001 32249   5 u    4   16   37    0.104   +0.039   0.014\n\
\n     remote           local      st t when poll reach   delay   offset    disp\n{rule}\n\
*10.0.0.1        10.0.0.2         5 u    4   16   37    0.104   +0.039   0.242\n"
        )
    );
}
