//! CVE-2015-7701: the reference leaked memory on every CRYPTO_ASSOC
//! message (the peer's host name was copied again each time), so a
//! stream of ASSOC packets grew the daemon without bound. Here 10 000
//! repetitions — as symmetric active packets to the one association they
//! mobilise, and as client requests to the stateless server fast path —
//! leave one association whose state does not grow, and the process's
//! resident set within a few MB.

use std::net::IpAddr;

use proto::exten::AutokeyCode;
use proto::Mode;

use super::ak;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[test]
fn cve_2015_7701_repeated_assoc_messages_do_not_grow_memory() {
    let (mut core, clock) = ak::alice("");
    let src: IpAddr = [10, 0, 0, 2].into();
    let assoc = ak::field(AutokeyCode::Assoc, b"mallory-with-a-rather-long-host-name");
    let send = |core: &mut ntpd::daemon::Core, n: u32| {
        for _ in 0..n {
            let d = ak::cookie0(Mode::SymmetricActive, 6, src, vec![assoc.clone()]);
            ak::send(core, src, &d);
            let c = ak::cookie0(Mode::Client, 6, src, vec![assoc.clone()]);
            ak::send(core, src, &c);
            // What the driver would carry out (statistics lines, polls).
            core.out.actions.take();
            clock.advance(0.01);
        }
    };
    send(&mut core, 200);
    let state = |core: &ntpd::daemon::Core| format!("{:?}", core.assocs).len();
    let (size, rss) = (state(&core), rss_kb());
    send(&mut core, 10_000);
    assert_eq!(core.assocs.len(), 1, "one association for the one source");
    let grown = state(&core);
    assert!(
        grown <= size + 256,
        "association state {size} → {grown} octets"
    );
    let rss_after = rss_kb();
    assert!(
        rss_after <= rss + 8 * 1024,
        "resident set {rss} kB → {rss_after} kB"
    );
}
