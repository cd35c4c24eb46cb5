//! Broken configurations are refused with `FILE:LINE:COL: what is wrong;
//! what was expected`.

use std::path::Path;

use config::conf::parse_str;

/// (configuration text, exact message).
const CASES: &[(&str, &str)] = &[
    ("server 10.0.0.1 minpoll abc",
     "ntp.conf:1:25: minpoll takes a number from 3 to 17; got \"abc\""),
    ("server 10.0.0.1 minpoll 2",
     "ntp.conf:1:25: minpoll takes a number from 3 to 17; got 2"),
    ("server 10.0.0.1 maxpoll 18",
     "ntp.conf:1:25: maxpoll takes a number from 3 to 17; got 18"),
    ("server 10.0.0.1 minpoll 10 maxpoll 6",
     "ntp.conf:1:1: minpoll 10 is larger than maxpoll 6; expected minpoll <= maxpoll"),
    ("server 10.0.0.1 version 5",
     "ntp.conf:1:25: version takes a number from 1 to 4; got 5"),
    ("server 10.0.0.1 key 0",
     "ntp.conf:1:21: key takes a number from 1 to 65535; got 0"),
    ("server 10.0.0.1 key 65536",
     "ntp.conf:1:21: key takes a number from 1 to 65535; got 65536"),
    ("server 10.0.0.1 ttl 8",
     "ntp.conf:1:21: ttl takes a number from 0 to 7; got 8"),
    ("server 10.0.0.1 iburts",
     "ntp.conf:1:17: unknown server option \"iburts\"; did you mean \"iburst\"?"),
    ("server 10.0.0.1 mode 3",
     "ntp.conf:1:17: mode applies only to reference clocks (127.127.t.u); remove it from this network association"),
    ("server",
     "ntp.conf:1:7: server needs an address or host name; got end of line"),
    ("server -4 2001:db8::1",
     "ntp.conf:1:11: 2001:db8::1 is an IPv6 address but -4 asks for IPv4; remove -4 or give an IPv4 address"),
    ("server bad!host",
     "ntp.conf:1:8: \"bad!host\" is not an IP address or host name; expected e.g. 192.0.2.1, 2001:db8::1 or ntp.example.org"),
    ("peer 10.0.0.2 ident",
     "ntp.conf:1:20: ident needs a group name; got end of line"),
    ("sever 10.0.0.1",
     "ntp.conf:1:1: unknown directive \"sever\"; did you mean \"server\"?"),
    ("metrics_listen localhost:9123",
     "ntp.conf:1:16: metrics_listen address \"localhost:9123\" is not an IP address and port; expected e.g. 127.0.0.1:9123 or [::1]:9123"),
    ("metrics_listen 127.0.0.1",
     "ntp.conf:1:16: metrics_listen address \"127.0.0.1\" is not an IP address and port; expected e.g. 127.0.0.1:9123 or [::1]:9123"),
    ("metrics_listen [::1]:0",
     "ntp.conf:1:16: metrics_listen address \"[::1]:0\" has port 0; expected a fixed port such as 9123 for Prometheus to scrape"),
    ("metrics_listen",
     "ntp.conf:1:15: metrics_listen needs an address and port such as 127.0.0.1:9123; got end of line"),
    ("frobnicate yes",
     "ntp.conf:1:1: unknown directive \"frobnicate\"; expected a directive such as server, restrict, driftfile or crypto"),
    ("iburst",
     "ntp.conf:1:1: \"iburst\" cannot start a line; expected a directive such as server, restrict, driftfile or crypto"),
    ("restrict default nomodify ippeerlimit 5",
     "ntp.conf:1:27: ippeerlimit must come right after the address (and mask), before the flags"),
    ("restrict default mask 255.0.0.0",
     "ntp.conf:1:18: mask must come right after an address (not after default or source, nor after flags)"),
    ("restrict 10.0.0.0 mask 255.0.0",
     "ntp.conf:1:24: restrict mask needs an IP address such as 255.255.255.0 or ffff:ffff::; got \"255.0.0\""),
    ("restrict 10.0.0.0 mask ffff::",
     "ntp.conf:1:24: mask ffff:: is not of the same address family as the address; expected an IPv4 mask"),
    ("restrict default nomodfy",
     "ntp.conf:1:18: unknown restrict option \"nomodfy\"; did you mean \"nomodify\"?"),
    ("restrict default serverresponse",
     "ntp.conf:1:32: serverresponse must be followed by fuzz; got end of line"),
    ("restrict",
     "ntp.conf:1:9: restrict needs default, -4 default, -6 default, source or an address; got end of line"),
    ("restrict default ippeerlimit 101",
     "ntp.conf:1:30: ippeerlimit takes a number from -1 to 100; got 101"),
    ("trustedkey",
     "ntp.conf:1:11: trustedkey needs at least one key ID or range such as (1 ... 5); got end of line"),
    ("trustedkey (5 ... 1)",
     "ntp.conf:1:12: trustedkey range (5 ... 1) is backwards; expected the lower key first"),
    ("trustedkey (1 .. 5)",
     "ntp.conf:1:15: trustedkey range needs \"...\" between its keys, as in (1 ... 5); got \"..\""),
    ("trustedkey 0",
     "ntp.conf:1:12: trustedkey takes a number from 1 to 65535; got 0"),
    ("controlkey 70000",
     "ntp.conf:1:12: controlkey takes a number from 1 to 65535; got 70000"),
    ("automax 2",
     "ntp.conf:1:9: automax takes a number from 3 to 31; got 2"),
    ("crypto cert /etc/ntp/cert",
     "ntp.conf:1:8: crypto cert was removed after ntp 4.2.4 and makes the reference drop the whole crypto line (Autokey stays off); expected one of: digest, host, ident, pw, randfile, revoke"),
    ("crypto pw",
     "ntp.conf:1:10: crypto pw needs a password; got end of line"),
    ("crypto foo bar",
     "ntp.conf:1:8: unknown crypto option \"foo\"; expected one of: digest, host, ident, pw, randfile, revoke"),
    ("keys",
     "ntp.conf:1:5: keys needs a file name; got end of line"),
    ("keys a b",
     "ntp.conf:1:8: unexpected \"b\" after keys \"a\"; expected end of line (keys takes one argument; quote it if it contains spaces)"),
    ("tos orphan 17",
     "ntp.conf:1:12: tos orphan takes a number from 1 to 16; got 17"),
    ("tos cohort 2",
     "ntp.conf:1:12: tos cohort takes 0 or 1; got 2"),
    ("tos ceiling 0",
     "ntp.conf:1:13: tos ceiling takes a number from 1 to 15; got 0"),
    ("tos",
     "ntp.conf:1:4: tos needs at least one option (basedate, bcpollbstep, beacon, ceiling, cohort, floor, maxclock, maxdist, minclock, mindist, minsane, orphan, orphanwait); got end of line"),
    ("tos basedate 2024-13-01",
     "ntp.conf:1:14: tos basedate needs a date YYYY-MM-DD from 1970 on; got \"2024-13-01\""),
    ("tinker panic -1",
     "ntp.conf:1:14: tinker panic takes a number of at least 0; got -1"),
    ("tinker step x",
     "ntp.conf:1:13: tinker step takes a number of at least 0; got \"x\""),
    ("statistics loopstats bogusstats",
     "ntp.conf:1:22: unknown statistics option \"bogusstats\"; expected one of: clockstats, cryptostats, loopstats, peerstats, rawstats, sysstats, timingstats, protostats"),
    ("filegen loopstats type hourly",
     "ntp.conf:1:24: filegen type must be one of: none, pid, day, week, month, year, age; got \"hourly\""),
    ("filegen bogus",
     "ntp.conf:1:9: filegen needs a statistics name (clockstats, cryptostats, loopstats, peerstats, rawstats, sysstats, timingstats, protostats); got \"bogus\""),
    ("enable kernel pll",
     "ntp.conf:1:15: unknown enable option \"pll\"; expected one of: auth, bclient, calibrate, kernel, monitor, ntp, stats, mode7, peer_clear_digest_early, unpeer_crypto_early, unpeer_crypto_nak_early, unpeer_digest_early"),
    ("disable",
     "ntp.conf:1:8: disable needs at least one of: auth, bclient, calibrate, kernel, monitor, ntp, stats, mode7, peer_clear_digest_early, unpeer_crypto_early, unpeer_crypto_nak_early, unpeer_digest_early; got end of line"),
    ("interface listen",
     "ntp.conf:1:17: interface needs all, ipv4, ipv6, wildcard, an interface name or an address[/prefix]; got end of line"),
    ("interface shout all",
     "ntp.conf:1:11: interface needs listen, ignore or drop; got \"shout\""),
    ("interface listen 10.0.0.0/33",
     "ntp.conf:1:18: prefix length \"33\" must be a number from 0 to 32"),
    ("logconfig =syncal",
     "ntp.conf:1:11: logconfig item \"=syncal\" is not recognized; expected [=|+|-] then a class (all, sys, peer, clock, sync) and an item (all, info, events, status, statistics), e.g. =syncall or +peerevents"),
    ("setvar owner=boss",
     "ntp.conf:1:18: setvar needs NAME = VALUE with spaces around '='; got end of line after the name"),
    ("driftfile /var/lib/ntp/drift 1",
     "ntp.conf:1:30: driftfile takes a file name and optionally a decimal wander threshold such as 1e-7; got 1"),
    ("dscp 64",
     "ntp.conf:1:6: dscp takes a number from 0 to 63; got 64"),
    ("discard average 256",
     "ntp.conf:1:17: discard average takes a number from 0 to 255; got 256"),
    ("mru maxdepth -1",
     "ntp.conf:1:14: mru maxdepth takes a whole number of at least 0; got -1"),
    ("rlimit memlock -2",
     "ntp.conf:1:16: rlimit memlock takes a whole number of at least -1; got -2"),
    ("ttl 1 2 3 4 5 6 7 8 9",
     "ntp.conf:1:21: ttl takes at most 8 values; remove the extra ones"),
    ("pollskewlist 4 8|1",
     "ntp.conf:1:14: pollskewlist 4: skews must be below half the poll interval (8 s); got 8|1"),
    ("pollskewlist 2 1|1",
     "ntp.conf:1:14: pollskewlist entries start with a poll exponent from 3 to 17 or default; got 2"),
    ("pollskewlist 4 1 2",
     "ntp.conf:1:18: pollskewlist entries are POLL EARLY|LATE; expected '|', got 2"),
    ("trap 10.0.0.1 port 0",
     "ntp.conf:1:20: trap port takes a number from 1 to 65535; got 0"),
    ("broadcastclient novolley",
     "ntp.conf:1:17: broadcastclient novolley was removed in ntp 4.2.8; write broadcastclient alone (set broadcastdelay to skip the volley)"),
    ("multicastclient",
     "ntp.conf:1:16: multicastclient needs at least one address; got end of line"),
    ("leapfile /etc/leap bogus",
     "ntp.conf:1:20: unexpected \"bogus\" after leapfile FILE [checkhash|ignorehash]; expected end of line"),
    ("end now",
     "ntp.conf:1:5: unexpected \"now\" after end; expected end of line"),
    ("simulate {",
     "ntp.conf:1:1: simulate block is not closed; expected '}' before the end of the file"),
    ("includefile /nonexistent/ntp-include.conf",
     "ntp.conf:1:1: cannot read included file \"/nonexistent/ntp-include.conf\": No such file or directory (os error 2); expected a readable file (relative paths are taken from the working directory) (include chain: ntp.conf -> /nonexistent/ntp-include.conf)"),
    ("tos mindist 1e999",
     "ntp.conf:1:13: number 1e999 is out of range"),
    ("keys \"   \"",
     "ntp.conf:1:6: a quoted string holds only spaces; write a name or path"),
    ("# ok\n\nserver 10.0.0.1 iburst\n  restrict default limited kod nomodify bogus\n",
     "ntp.conf:4:41: unknown restrict option \"bogus\"; expected one of: epeer, flake, ignore, kod, limited, lowpriotrap, mssntp, noepeer, nomodify, nomrulist, nopeer, noquery, noserve, notrap, notrust, ntpport, version, serverresponse fuzz"),
    ("fudge 127.127.1.0 stratum 17",
     "ntp.conf:1:27: fudge stratum takes a number from 0 to 16; got 17"),
    ("broadcastdelay 2",
     "ntp.conf:1:16: broadcastdelay takes a number from 0 to 1; got 2"),
    ("revoke 32",
     "ntp.conf:1:8: revoke takes a number from 3 to 31; got 32"),
    ("server 10.0.0.1 key 1 ) ",
     "ntp.conf:1:23: unknown server option ')'; expected one of: autokey, burst, iburst, ident, key, maxpoll, minpoll, mode, noselect, nts, preempt, prefer, true, ttl, version, xleave, xmtnonce"),
    ("unpeer",
     "ntp.conf:1:7: unpeer needs an address or host name; got end of line"),

];

fn message(text: &str) -> String {
    match parse_str(text, Path::new("ntp.conf")) {
        Ok(_) => "PARSED".to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_broken_config_gives_its_message() {
    let mut wrong = Vec::new();
    for (text, expected) in CASES {
        let got = message(text);
        if got != *expected {
            wrong.push(format!("{text:?}\n  expected {expected}\n  got      {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(CASES.len() >= 30);
}

#[test]
fn errors_expose_their_position() {
    let err = parse_str("\n\nserver 10.0.0.1 minpoll 99\n", Path::new("x.conf")).err();
    let at = err
        .as_ref()
        .and_then(|e| e.origin())
        .map(|o| (o.line, o.col));
    assert_eq!(at, Some((3, 25)));
}

#[test]
fn unreadable_top_level_file_names_the_file() {
    let err = config::conf::load(Path::new("tests/data/does-not-exist.conf")).err();
    let shown = err.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        shown,
        "tests/data/does-not-exist.conf: No such file or directory (os error 2)"
    );
}
