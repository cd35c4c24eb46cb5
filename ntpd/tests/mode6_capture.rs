//! The mode 6 server reproduces, byte for byte, the reference ntpd's
//! responses recorded in `runs/iff/{alice,bob}/ntpq-mode6.pcap` when it is
//! fed the same values (READSTAT with and without associations, READVAR
//! of the system, of a peer, of `cert`, each with the reference's
//! fragmentation), and the variable names and order of every recorded
//! `ntpq -c rv` / `ntpq -c "rv &1"` output.

mod mode6_support;

use mode6_support::*;
use ntpd::mode6::{AutokeyValues, ControlServer, Response};
use proto::control::{ControlMessage, Opcode};
use proto::NtpTimestamp;

/// `clock=` in bob's READVAR response (frame 11).
const BOB_CLOCK: NtpTimestamp = NtpTimestamp::from_parts(0xeeb3_c3b1, 0x2e83_eab0);
/// `clock=` in alice's READVAR response (frame 4).
const ALICE_CLOCK: NtpTimestamp = NtpTimestamp::from_parts(0xeeb3_c3b1, 0x3aa8_69f0);

fn replay(host: &str, mut state: Fixture, clock: NtpTimestamp) -> usize {
    let path = fixtures().join(format!("runs/iff/{host}/ntpq-mode6.pcap"));
    let mut server = ControlServer::default();
    let mut compared = 0;
    for (request, expected) in exchanges(&read_pcap(&path)) {
        let c = ctx(request.source_port, clock);
        let got = run(&mut server, &mut state, &request.payload, &c);
        let Response::Send(got) = got else {
            panic!("{host}: no answer to {:02x?}", request.payload);
        };
        assert_eq!(got.len(), expected.len(), "{host}: fragments");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(
                g,
                e,
                "{host}: request {:02x?}\n got {:?}\nwant {:?}",
                request.payload,
                String::from_utf8_lossy(g),
                String::from_utf8_lossy(e)
            );
            compared += 1;
        }
    }
    compared
}

#[test]
fn bob_responses_are_byte_identical() {
    // 11 requests: 4 READSTAT, 3 READVAR of the peer (2 fragments each),
    // READVAR "cert", READVAR of the system (2 fragments): 13 datagrams.
    assert_eq!(replay("bob", bob(), BOB_CLOCK), 13);
}

#[test]
fn alice_responses_are_byte_identical() {
    // READVAR "cert", READVAR (2 fragments), READSTAT with no associations.
    assert_eq!(replay("alice", alice(), ALICE_CLOCK), 4);
}

#[test]
fn peer_status_read_returns_the_default_peer_variables() {
    // A READSTAT for one association answers like a READVAR without names.
    let mut state = bob();
    let mut server = ControlServer::default();
    let c = ctx(50000, BOB_CLOCK);
    let req = |op| {
        ControlMessage::new(proto::control::ControlHeader::request(2, op, 3, 32249), b"")
            .unwrap()
            .serialize()
    };
    let a = run(&mut server, &mut state, &req(Opcode::ReadStatus), &c);
    let b = run(&mut server, &mut state, &req(Opcode::ReadVariables), &c);
    let strip = |r: Response| match r {
        Response::Send(d) => d
            .into_iter()
            .map(|mut x| {
                x[1] &= 0xe0; // opcode differs
                x
            })
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(strip(a), strip(b));
}

/// Variable names of an ntpq `rv` output, without `associd`/`status`.
fn names_in_ntpq_output(text: &str) -> Vec<String> {
    let body = text
        .split_once('\n')
        .map_or("", |(_, b)| b)
        .replace('\n', " ");
    let mut names = Vec::new();
    for part in body.split(", ") {
        for piece in part.split(",\u{20}") {
            if let Some((name, _)) = piece.trim().split_once('=') {
                if !name.contains(' ') && name != "associd" {
                    names.push(name.to_string());
                }
            }
        }
    }
    names
}

fn our_names(state: &mut Fixture, assoc: u16) -> Vec<String> {
    let mut server = ControlServer::default();
    let req = ControlMessage::new(
        proto::control::ControlHeader::request(2, Opcode::ReadVariables, 1, assoc),
        b"",
    )
    .unwrap()
    .serialize();
    let Response::Send(d) = run(&mut server, state, &req, &ctx(40000, BOB_CLOCK)) else {
        panic!("no answer");
    };
    let data: Vec<u8> = d
        .iter()
        .flat_map(|x| ControlMessage::parse(x).unwrap().data().to_vec())
        .collect();
    proto::control::VarList::parse(&data)
        .unwrap()
        .names()
        .map(str::to_string)
        .collect()
}

#[test]
fn names_and_order_match_every_recorded_rv_output() {
    let runs = fixtures().join("runs");
    let mut checked = 0;
    for run in std::fs::read_dir(&runs).unwrap() {
        let run = run.unwrap().path();
        for host in ["alice", "bob"] {
            for (file, assoc) in [("ntpq-c-rv.txt", 0u16), ("ntpq-c-rv-amp1.txt", 1)] {
                let Ok(text) = std::fs::read_to_string(run.join(host).join(file)) else {
                    continue;
                };
                let want = names_in_ntpq_output(&text);
                if want.is_empty() {
                    continue;
                }
                let has = |n: &str| want.iter().any(|w| w == n);
                let mut state = bob();
                if assoc == 0 {
                    let c = state.crypto.as_mut().unwrap();
                    c.ident = has("ident").then(|| "group".to_string());
                    let n = want.iter().filter(|w| *w == "cert").count();
                    c.certificates.truncate(n);
                } else {
                    let p = &mut state.peers[0];
                    p.0 = 1;
                    p.1.ttl = has("ttl").then_some(1);
                    if !has("xleave") {
                        p.1.xleave = 0.0;
                    }
                    if has("host") {
                        let c = p.2.as_mut().unwrap();
                        c.ident = has("ident").then(|| "alice".to_string());
                        c.autokey = has("initsequence").then_some(AutokeyValues {
                            sequence: 1,
                            key: 2,
                            timestamp: 0,
                        });
                    } else {
                        p.2 = None;
                    }
                }
                assert_eq!(
                    our_names(&mut state, assoc),
                    want,
                    "{}/{host}/{file}",
                    run.display()
                );
                checked += 1;
            }
        }
    }
    // 22 `ntpq -c rv` and 14 `ntpq -c "rv &1"` outputs.
    assert_eq!(checked, 36);
}
