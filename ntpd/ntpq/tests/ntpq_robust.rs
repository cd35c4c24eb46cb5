//! ntpq against misbehaving servers: silence, garbage, truncated and
//! partial responses, error (E bit) responses, reordered and duplicated
//! fragments, stale sequence numbers. ntpq must never panic, must print the
//! reference's messages and must give up within its timeouts.

mod ntpq_support;

use std::time::Duration;

use ntpq_support::{binary_response, error_response, ntpq, varlist_response, FakeServer, Run};
use proto::control::{ControlMessage, ErrorCode, Opcode, VarValue};

/// Primary timeout used in these tests (ms); the per-fragment timeout
/// follows it down.
const T: &str = "timeout 150";

fn run(server: &FakeServer, cmds: &[&str]) -> Run {
    let mut args = vec!["-c", T];
    for c in cmds {
        args.push("-c");
        args.push(c);
    }
    let host = server.host();
    args.push(&host);
    let r = ntpq(&args, &[], None);
    assert!(
        !r.stderr.contains("panicked"),
        "ntpq panicked: {}",
        r.stderr
    );
    assert!(r.success, "exit status: {}", r.stderr);
    r
}

fn cert_items() -> Vec<(String, VarValue)> {
    vec![
        ("cert".into(), VarValue::Quoted("bob alice 0x4".into())),
        ("until".into(), VarValue::Bare("202711270852".into())),
    ]
}

const CERT_OUT: &str = "cert=\"bob alice 0x4\", until=202711270852\n";

#[test]
fn silent_server_times_out_after_one_retry() {
    let server = FakeServer::start(Box::new(|_req: &ControlMessage| Vec::new()));
    let r = run(&server, &["rv 0 cert"]);
    assert_eq!(
        r.stdout, "\n",
        "only the separator between the two commands"
    );
    assert!(
        r.stderr.contains("timed out, nothing received"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.ends_with("***Request timed out\n"), "{}", r.stderr);
    // One request and one retry with the same sequence number.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0], reqs[1]);
    assert!(r.elapsed < Duration::from_secs(5), "{:?}", r.elapsed);
}

#[test]
fn garbage_datagrams_are_ignored() {
    let server = FakeServer::start(Box::new(|req: &ControlMessage| {
        let mut good = varlist_response(req, 0x0616, &cert_items());
        let mut wrong_mode = good[0].clone();
        wrong_mode[0] = (wrong_mode[0] & !7) | 4;
        let mut request_bit = good[0].clone();
        request_bit[1] &= 0x7f;
        let mut wrong_opcode = good[0].clone();
        wrong_opcode[1] = (wrong_opcode[1] & 0xe0) | 1;
        let mut unpadded = good[0].clone();
        unpadded.push(0);
        let mut out = vec![
            vec![],
            vec![0xff; 3],
            b"hello world, this is not NTP".to_vec(),
            wrong_mode,
            request_bit,
            wrong_opcode,
            unpadded,
        ];
        out.append(&mut good);
        out
    }));
    let r = run(&server, &["rv 0 cert"]);
    assert_eq!(r.stdout, format!("\n{CERT_OUT}"));
    assert_eq!(r.stderr, "");
}

#[test]
fn stale_sequence_numbers_are_ignored() {
    let server = FakeServer::start(Box::new(|req: &ControlMessage| {
        let mut stale = varlist_response(
            req,
            0x0616,
            &[("cert".into(), VarValue::Quoted("stale".into()))],
        );
        for d in &mut stale {
            let seq = u16::from_be_bytes([d[2], d[3]]).wrapping_sub(1);
            d[2..4].copy_from_slice(&seq.to_be_bytes());
        }
        stale.extend(varlist_response(req, 0x0616, &cert_items()));
        stale
    }));
    let r = run(&server, &["rv 0 cert"]);
    assert_eq!(r.stdout, format!("\n{CERT_OUT}"));
}

fn many_items() -> Vec<(String, VarValue)> {
    (0..60)
        .map(|i| (format!("var{i}"), VarValue::Bare(format!("{}", i * 1000))))
        .collect()
}

#[test]
fn reordered_and_duplicated_fragments_are_reassembled() {
    let server = FakeServer::start(Box::new(|req: &ControlMessage| {
        let mut frags = varlist_response(req, 0x0616, &many_items());
        assert!(frags.len() >= 2, "test needs a fragmented response");
        frags.reverse();
        let dup = frags[0].clone();
        frags.push(dup);
        frags
    }));
    let r = run(&server, &["rv 0 x"]);
    assert_eq!(r.stderr, "");
    let body = r.stdout.trim_start_matches('\n');
    assert!(body.starts_with("var0=0, var1=1000, var2=2000,"), "{body}");
    assert!(body.trim_end().ends_with("var59=59000"), "{body}");
    // At most 72 columns of items, plus the comma before a line break.
    assert!(body.lines().all(|l| l.len() <= 73), "{body}");
}

#[test]
fn missing_last_fragment_is_incomplete() {
    let server = FakeServer::start(Box::new(|req: &ControlMessage| {
        let frags = varlist_response(req, 0x0616, &many_items());
        frags[..1].to_vec()
    }));
    let r = run(&server, &["rv 0 x"]);
    assert_eq!(r.stdout, "\n");
    assert!(
        r.stderr.contains("timed out with incomplete data"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .ends_with("***Response from server was incomplete\n"),
        "{}",
        r.stderr
    );
    // The retry after an incomplete response uses a new sequence number.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_ne!(reqs[0][2..4], reqs[1][2..4]);
}

#[test]
fn count_beyond_datagram_is_reported() {
    let server = FakeServer::start(Box::new(|req: &ControlMessage| {
        let mut d = varlist_response(req, 0x0616, &cert_items()).remove(0);
        d[10..12].copy_from_slice(&400u16.to_be_bytes());
        vec![d]
    }));
    let r = run(&server, &["rv 0 cert"]);
    assert!(
        r.stdout
            .contains("Response packet claims 400 octets payload"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .ends_with("***Response from server was incomplete\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn error_responses_print_the_reference_messages() {
    let cases = [
        (
            ErrorCode::UnknownAssociation,
            "rv 5",
            "***Association ID 5 unknown to server\n",
        ),
        (
            ErrorCode::UnknownVariable,
            "rv 0 nosuch",
            "***A request variable unknown to the server\n",
        ),
        (
            ErrorCode::AuthFailure,
            "rv",
            "***Server disallowed request (authentication?)\n",
        ),
        (
            ErrorCode::InvalidFormat,
            "rv",
            "***Server reports a bad format request packet\n",
        ),
        (
            ErrorCode::Unspecified,
            "rv",
            "***Server returned an unspecified error\n",
        ),
        (
            ErrorCode::Unknown(99),
            "rv",
            "***Server returns unknown error code 99\n",
        ),
    ];
    for (code, cmd, msg) in cases {
        let server = FakeServer::start(Box::new(move |req: &ControlMessage| {
            error_response(req, code)
        }));
        let r = run(&server, &[cmd]);
        assert_eq!(r.stderr, msg, "{cmd}");
        assert_eq!(r.stdout, "\n");
        // No retry after an error response.
        assert_eq!(server.requests().len(), 1);
    }
}

#[test]
fn malformed_variable_list_does_not_panic() {
    let server = FakeServer::start(Box::new(|req: &ControlMessage| {
        let header = proto::control::ControlHeader::response_to(&req.header, 0, 0x0616);
        let data = b"cert=\"unterminated, until=2027\r\n\xff\xfe=\x01";
        vec![ControlMessage::new(header, data)
            .expect("message")
            .serialize()]
    }));
    let r = run(&server, &["rv", "sysinfo", "sysstats"]);
    assert!(r.stderr.contains("nextvar"), "{}", r.stderr);
}

#[test]
fn association_list_problems() {
    // Odd-sized READSTAT data.
    let server = FakeServer::start(Box::new(|req: &ControlMessage| {
        binary_response(req, 0x0616, &[0, 1, 0x96, 0x1a, 0, 2])
    }));
    let r = run(&server, &["as"]);
    assert!(
        r.stderr
            .contains("***Server returned 6 octets, should be multiple of 4"),
        "{}",
        r.stderr
    );
    // No associations: `&1` cannot be resolved.
    let server = FakeServer::start(Box::new(|req: &ControlMessage| {
        binary_response(req, 0x0016, &[])
    }));
    let r = run(&server, &["rv &1", "pstats &1", "peers"]);
    assert_eq!(
        r.stderr,
        "***No associations found, `&1' unknown\n***No associations found, `&1' unknown\n"
    );
    assert_eq!(
        r.stdout,
        "\nNo association ID's returned\n\nNo association ID's returned\n\nNo association ID's returned\n"
    );
}

#[test]
fn peers_when_a_peer_does_not_answer() {
    let server = FakeServer::start(Box::new(|req: &ControlMessage| match req.header.opcode {
        Opcode::ReadStatus => binary_response(req, 0x0616, &[0x7d, 0xf9, 0xf6, 0x1a]),
        _ => error_response(req, ErrorCode::UnknownAssociation),
    }));
    let r = run(&server, &["peers"]);
    assert!(
        r.stdout.contains("     remote           refid"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stderr, "***Association ID 32249 unknown to server\n");
}

#[test]
fn mutated_responses_never_panic() {
    // Deterministic mutations of a valid two-fragment response: flipped
    // octets, truncation, extension.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut seeds = Vec::new();
    for _ in 0..8 {
        seeds.push(next());
    }
    for seed in seeds {
        let server = FakeServer::start(Box::new(move |req: &ControlMessage| {
            let mut rng = seed;
            let mut frags = varlist_response(req, 0xf61a, &many_items());
            for f in &mut frags {
                for _ in 0..4 {
                    rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let i = (rng >> 33) as usize % f.len();
                    // Keep the sequence number so the fragments are not
                    // simply ignored.
                    if !(2..4).contains(&i) {
                        f[i] ^= (rng >> 24) as u8 | 1;
                    }
                }
                match rng % 3 {
                    0 => f.truncate(f.len() / 2),
                    1 => f.extend_from_slice(&[0xab; 8]),
                    _ => {}
                }
            }
            frags
        }));
        run(
            &server,
            &[
                "rv &1", "peers", "as", "pstats 1", "sysinfo", "kerninfo", "mrulist",
            ],
        );
    }
}

#[test]
fn interactive_prompt_and_command_errors() {
    let server = FakeServer::start(Box::new(|req: &ControlMessage| {
        varlist_response(req, 0x0616, &cert_items())
    }));
    let host = server.host();
    let r = ntpq(
        &["-i", &host],
        &[],
        Some("rv 0 cert\nfrobnicate\nsys\npstats\nrv 70000\nhost\ntimeout 250\ntimeout\nquit\nrv 0 cert\n"),
    );
    assert!(r.success);
    assert_eq!(
        r.stdout,
        format!(
            "ntpq> {CERT_OUT}ntpq> ntpq> ntpq> ntpq> ntpq> current host is 127.0.0.1\n\
ntpq> ntpq> primary timeout 250 ms\nntpq> "
        )
    );
    assert_eq!(
        r.stderr,
        "***Command `frobnicate' unknown\n***Command `sys' ambiguous\nusage: pstats assocID\n\
***Invalid association ID 70000 specified\n"
    );
}

#[test]
fn connection_refused_is_survived() {
    // A port nobody listens on: the ICMP error must not end ntpq early or
    // make it panic.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = sock.local_addr().expect("addr").port();
    drop(sock);
    let host = format!("127.0.0.1:{port}");
    let r = ntpq(&["-c", T, "-c", "rv", &host], &[], None);
    assert!(r.success);
    assert!(!r.stderr.contains("panicked"));
    // As the reference: the error once, no retry, no timeout message.
    assert_eq!(r.stderr, "ntpq: read: Connection refused\n");
    assert!(r.elapsed < std::time::Duration::from_secs(5));
}
