//! End to end on loopback: our `ntpq` against the mode 6 server (on a free
//! port, fed the values of the reference run `runs/iff`) prints exactly
//! what the reference ntpq printed against the reference ntpd.

mod mode6_support;
#[path = "../ntpq/tests/ntpq_support/mod.rs"]
mod ntpq_support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ntpd::mode6::{ControlServer, NoKeys, RequestContext, Response, Restrictions};
use ntpq_support::{ntpq, recorded, FakeServer};
use proto::control::ControlMessage;
use proto::NtpTimestamp;
use rand::SeedableRng;

/// Serves `state` with the mode 6 server; `clock` is the time it reports.
fn serve(state: mode6_support::Fixture, clock: NtpTimestamp) -> FakeServer {
    let server = Arc::new(Mutex::new((ControlServer::default(), state)));
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    FakeServer::start(Box::new(move |req: &ControlMessage| {
        let ctx = RequestContext {
            source: SocketAddr::from(([127, 0, 0, 1], 40000)),
            now: clock,
            restrict: Restrictions::default(),
        };
        let mut guard = server.lock().expect("lock");
        let (s, st) = &mut *guard;
        match s.handle(&req.serialize(), &ctx, st, &NoKeys, &mut rng) {
            Response::Send(d) => d,
            Response::Drop(_) => Vec::new(),
        }
    }))
}

fn check(host: &str, file: &str, state: mode6_support::Fixture, clock: NtpTimestamp) {
    let server = serve(state, clock);
    let (cmdline, expected) =
        recorded(&mode6_support::fixtures().join(format!("runs/iff/{host}/{file}")));
    // `ntpq -n -c rv 0 cert`: everything after -c is one command.
    let mut words = cmdline.split_whitespace().skip(1);
    let mut args: Vec<String> = Vec::new();
    while let Some(w) = words.next() {
        if w == "-c" {
            args.push("-c".into());
            args.push(words.by_ref().collect::<Vec<_>>().join(" "));
        } else {
            args.push(w.into());
        }
    }
    args.push(server.host());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let now = format!("{:08x}", clock.seconds());
    let run = ntpq(&argv, &[("NTPQ_TEST_NOW", &now)], None);
    assert_eq!(run.stderr, "", "{host} {cmdline}");
    assert_eq!(run.stdout, expected, "{host} {cmdline}");
}

const BOB_CLOCK: NtpTimestamp = NtpTimestamp::from_parts(0xeeb3_c3b1, 0x2e83_eab0);
const ALICE_CLOCK: NtpTimestamp = NtpTimestamp::from_parts(0xeeb3_c3b1, 0x3aa8_69f0);

#[test]
fn bob_outputs_match_the_reference() {
    for file in [
        "ntpq-c-rv.txt",
        "ntpq-c-rv-0-cert.txt",
        "ntpq-c-rv-amp1.txt",
        "ntpq-c-rv-32249.txt",
        "ntpq-n-c-as.txt",
        "ntpq-n-p.txt",
    ] {
        check("bob", file, mode6_support::bob(), BOB_CLOCK);
    }
}

#[test]
fn alice_outputs_match_the_reference() {
    for file in ["ntpq-c-rv.txt", "ntpq-c-rv-0-cert.txt", "ntpq-n-c-as.txt"] {
        check("alice", file, mode6_support::alice(), ALICE_CLOCK);
    }
}
