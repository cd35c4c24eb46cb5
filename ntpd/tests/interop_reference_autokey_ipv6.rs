//! Autokey (RFC 5906) over IPv6 (issue 13): alice serves on an IPv6
//! unique-local address of namespace A, bob is her `server <v6> autokey
//! ident alice` client in B, IFF with the reference fixture keys. Over
//! IPv6 the session-key input hashes the 16-octet source and destination
//! addresses (RFC 5906 §4: 40 octets in all, 16 with IPv4) and the cookie
//! is computed over the same addresses, so a client and server that
//! disagree on either never get past the first MAC.
//!
//! Cells: ours ↔ ours, reference server → our client, our server →
//! reference client. Each asserts every client bit (0x7f00 in `rv <assoc>
//! flags`, with IFF's scheme bit), bob's `srcadr` is alice's IPv6 address,
//! and `rv 0 cert` lists the certificates the IPv4 cells list.
//!
//! Both daemons run with `disable ntp`, without CAP_SYS_TIME, in
//! namespaces the test creates. Needs root, `ip netns` and the reference
//! (see `prerequisite`).

mod interop_support;
mod prerequisite;
mod reference_support;

use std::time::Duration;

use interop_support::*;
use prerequisite::{require, Need};
use reference_support::autokey::*;
use reference_support::*;

/// The handshake bound of the IPv4 cells (one request per 8 s poll).
const HANDSHAKE: Duration = Duration::from_secs(150);
/// bob's certificates once complete (as in `interop_reference_autokey`).
const BOB_CERTS: [&str; 3] = ["bob alice 0x4", "alice alice 0x5", "bob bob 0x0"];
/// md5WithRSAEncryption's NID, the high half of the fixtures' flags.
const NID_MD5: u32 = 8;

/// Gives the lab's veth pair IPv6 addresses `fd6b:<n>::1/64` (A) and
/// `::2` (B), without duplicate address detection so they are usable at
/// once, and makes them the lab's addresses for alice and bob.
fn ipv6_lab() -> Lab {
    let mut lab = Lab::new();
    let net = format!("fd6b:{:x}", std::process::id() % 0xffff);
    let (a6, b6) = (format!("{net}::1"), format!("{net}::2"));
    for (ns, addr) in [(lab.a.clone(), &a6), (lab.b.clone(), &b6)] {
        let dev = lab.veth(&ns).to_string();
        let o = lab
            .command(
                &ns,
                &[
                    "ip",
                    "addr",
                    "add",
                    &format!("{addr}/64"),
                    "dev",
                    &dev,
                    "nodad",
                ],
            )
            .output()
            .expect("ip addr add");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    lab.addr_a = a6;
    lab.addr_b = b6;
    lab
}

/// One IFF cell over IPv6: `server` as alice, `client` as bob.
fn iff_over_ipv6(server: Daemon, client: Daemon) {
    let mut lab = ipv6_lab();
    start_alice(&mut lab, server, &fixture_keys(IFF.run, "alice"));
    start_bob(&mut lab, client, &fixture_keys(IFF.run, "bob"), IFF);
    let flags = wait_flags(
        &mut lab,
        client,
        HANDSHAKE,
        "every client Autokey bit (0x7f00) over IPv6",
        |f| f & CLIENT_BITS == CLIENT_BITS,
    );
    assert_eq!(flags, NID_MD5 << 16 | IFF.flags, "bob's flags {flags:#x}");
    let b = lab.b.clone();
    let assid = first_assid(&lab, client, &b).expect("bob's association");
    let rv = ntpq(
        &lab,
        client,
        &b,
        &["-c", &format!("rv {assid} srcadr"), "127.0.0.1"],
    );
    let srcadr = rv_value(&rv, "srcadr").unwrap_or_default();
    // 4.2.8 writes `srcadr=fd6b:…::1` (port apart), ours the same.
    assert!(
        srcadr.trim_matches(['[', ']']).starts_with(&lab.addr_a),
        "bob's server is not alice's IPv6 address: {rv}"
    );
    let certs = ntpq(&lab, client, &b, &["-c", "rv 0 cert", "127.0.0.1"]);
    assert_eq!(cert_list(&certs), BOB_CERTS, "{certs}");
    lab.assert_running();
}

#[test]
fn autokey_over_ipv6() {
    require!(Need::Root, Need::IpNetns, Need::ReferenceNtpd);
    let mut cells = Vec::new();
    for (server, client) in [
        (Daemon::Ours, Daemon::Ours),
        (Daemon::Reference, Daemon::Ours),
        (Daemon::Ours, Daemon::Reference),
    ] {
        cells.push(Cell::labelled(
            "Autokey IFF over IPv6 (fixture keys)",
            format!("{} server → {} client", server.label(), client.label()),
            move || iff_over_ipv6(server, client),
        ));
    }
    run_cells(cells);
}
