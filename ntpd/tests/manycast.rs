//! Manycast between two of our daemons in network namespaces joined by a
//! veth pair: the server (`manycastserver 224.0.1.1`, a `tos orphan 5`
//! parent) in A, the client (`manycastclient 224.0.1.1 key 1`) in B, both
//! with `disable ntp` and without CAP_SYS_TIME. The client's solicitation
//! must reach the server over multicast, the server's unicast answer must
//! mobilise a client association that then synchronises. Needs root
//! and `ip netns` (see `prerequisite`).

mod interop_support;
mod prerequisite;

use std::path::Path;
use std::time::Duration;

use interop_support::*;
use prerequisite::{require, Need};

#[test]
fn manycast_client_finds_and_synchronises_to_the_manycast_server() {
    require!(Need::Root, Need::IpNetns);
    let mut lab = Lab::new();
    let (a, b) = (lab.a.clone(), lab.b.clone());
    lab.route_multicast();

    let keys = lab.key_lines("server", KEYS);
    let sconf = lab.file(
        "server.conf",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nmanycastserver 224.0.1.1\n\
             logfile {}\n{keys}",
            lab.dir.join("server.log").display()
        ),
    );
    let sconf = sconf.to_str().unwrap().to_owned();
    lab.spawn("server", &a, &[NTPD, "-n", "-x", "-c", &sconf]);

    let keys = lab.key_lines("client", KEYS);
    let cconf = lab.file(
        "client.conf",
        &format!(
            "disable ntp\nmanycastclient 224.0.1.1 key 1 minpoll 3 maxpoll 4 iburst\n\
             logfile {}\n{keys}",
            lab.dir.join("client.log").display()
        ),
    );
    let cconf = cconf.to_str().unwrap().to_owned();
    lab.spawn("client", &b, &[NTPD, "-n", "-x", "-c", &cconf]);

    let server = lab.addr_a.clone();
    let peers = lab.wait_ntpq(
        Path::new(ntpq_binary()),
        &b,
        &["-n", "-p", "127.0.0.1"],
        Duration::from_secs(90),
        "the manycast client selects the server it found",
        |out| {
            peer_rows(out)
                .iter()
                .any(|r| r.remote == server && r.tally == '*')
        },
    );
    let rows = peer_rows(&peers);
    assert_eq!(rows.len(), 2, "{peers}");
    let solicitor = rows
        .iter()
        .find(|r| r.remote == "224.0.1.1")
        .unwrap_or_else(|| panic!("manycast association row: {peers}"));
    assert_eq!(solicitor.tally, ' ', "the solicitor is never a source");
    let found = rows.iter().find(|r| r.remote == server).unwrap();
    assert_eq!(found.st, 5, "{peers}");
    assert_eq!(found.refid, "127.0.0.1", "orphan parent's refid: {peers}");
    assert!(found.reach > 0, "{peers}");
    assert!(
        found.offset.abs() < 50.0,
        "offset {} ms: {peers}",
        found.offset
    );

    // The found server's association is authenticated with key 1.
    let assoc = lab.ntpq(
        &b,
        Path::new(ntpq_binary()),
        &["-n", "-c", "as", "127.0.0.1"],
    );
    let row = assoc
        .lines()
        .filter(|l| l.contains("sys.peer"))
        .collect::<Vec<_>>();
    assert_eq!(row.len(), 1, "{assoc}");
    assert!(row[0].contains(" ok "), "auth ok: {assoc}");
    let log = lab.log("client");
    assert!(
        log.contains("manycast: mobilize client association for"),
        "{log}"
    );
}
