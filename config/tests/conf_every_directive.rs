//! The configuration that uses every directive parses, lands the expected
//! values in the tree, and survives the canonical-text round trip.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use config::conf::*;

const EVERY: &str = "tests/data/every-directive.conf";

fn every() -> Loaded {
    match load(Path::new(EVERY)) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[test]
fn every_directive_lands_in_the_tree() {
    let conf = every().config;
    let d: Vec<&Directive> = conf.directives().collect();
    assert_eq!(d.len(), 77, "statement count");

    let first = Association {
        mode: AssocMode::Server,
        address: Address::any(Host::Ip(v4(192, 0, 2, 1))),
        options: AssocOptions {
            key: Some(17),
            minpoll: Some(4),
            maxpoll: Some(10),
            iburst: true,
            burst: true,
            prefer: true,
            version: Some(4),
            ..AssocOptions::default()
        },
    };
    assert_eq!(d.first(), Some(&&Directive::Association(first)));
    let second = Association {
        mode: AssocMode::Server,
        address: Address {
            family: AddressFamily::Ipv4,
            host: Host::Name("ntp1.example.org".into()),
        },
        options: AssocOptions {
            autokey: true,
            ident: Some("alice".into()),
            noselect: true,
            truechimer: true,
            preempt: true,
            xleave: true,
            ..AssocOptions::default()
        },
    };
    assert!(d.contains(&&Directive::Association(second)));
    // `key 0x20` is the reference's hexadecimal unsigned form.
    assert!(d.iter().any(|x| matches!(x, Directive::Association(a)
        if a.address.host == Host::Ip(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
            && a.options.key == Some(32) && a.options.xmtnonce && a.options.maxpoll == Some(17))));
    assert!(d.iter().any(|x| matches!(x, Directive::Association(a)
        if a.mode == AssocMode::Broadcast && a.options.ttl == Some(1) && a.options.autokey)));

    assert!(d.contains(&&Directive::Crypto(Crypto {
        digest: Some("SHA1".into()),
        host: Some("alice".into()),
        ident: Some("alice".into()),
        pw: Some("server password".into()),
        randfile: Some(".rnd".into()),
    })));
    assert!(d.contains(&&Directive::TrustedKey(vec![
        KeyRange { first: 1, last: 1 },
        KeyRange { first: 2, last: 2 },
        KeyRange {
            first: 10,
            last: 15
        },
        KeyRange {
            first: 65535,
            last: 65535
        },
    ])));
    assert!(d.contains(&&Directive::Automax(12)));
    assert!(d.contains(&&Directive::ControlKey(12)));
    assert!(d.contains(&&Directive::RequestKey(15)));
    assert!(d.contains(&&Directive::Keysdir("/etc/ntp/keys".into())));
    assert!(d.contains(&&Directive::Ident("alice".into())));

    assert!(d.contains(&&Directive::Restrict(Restrict {
        target: RestrictTarget::Address {
            address: Address::any(Host::Ip(v4(192, 0, 2, 0))),
            mask: Some(v4(255, 255, 255, 0)),
        },
        ippeerlimit: Some(-1),
        flags: vec![RestrictFlag::ServerResponseFuzz, RestrictFlag::NoServe],
    })));
    assert!(d.contains(&&Directive::Restrict(Restrict {
        target: RestrictTarget::DefaultIpv6,
        ippeerlimit: None,
        flags: vec![RestrictFlag::NoTrust, RestrictFlag::Version],
    })));
    assert!(d.contains(&&Directive::Filegen(Filegen {
        stats: StatsFile::Cryptostats,
        file: Some("cryptostats".into()),
        kind: Some(FilegenType::None),
        link: None,
        enabled: Some(true),
    })));
    assert!(d.contains(&&Directive::Statistics(StatsFile::ALL.to_vec())));
    assert!(d.iter().any(|x| matches!(x, Directive::Tos(t)
        if t.contains(&TosOption::Orphan(5)) && t.contains(&TosOption::MaxDist(1.5))
            && t.contains(&TosOption::BaseDate("2024-01-01".into())) && t.len() == 13)));
    assert!(d.iter().any(|x| matches!(x, Directive::Tinker(t)
        if t.contains(&TinkerOption::Freq(-12.5)) && t.len() == 10)));
    assert!(d.contains(&&Directive::Logconfig(vec![
        LogConfigItem {
            op: LogOp::Set,
            class: LogClass::All,
            item: LogItem::All
        },
        LogConfigItem {
            op: LogOp::Add,
            class: LogClass::Sync,
            item: LogItem::Status
        },
        LogConfigItem {
            op: LogOp::Remove,
            class: LogClass::Clock,
            item: LogItem::Info
        },
        LogConfigItem {
            op: LogOp::Set,
            class: LogClass::Peer,
            item: LogItem::Events
        },
        LogConfigItem {
            op: LogOp::Set,
            class: LogClass::Clock,
            item: LogItem::All
        },
        LogConfigItem {
            op: LogOp::Set,
            class: LogClass::Sys,
            item: LogItem::All
        },
    ])));
    assert!(d.contains(&&Directive::Interface(NicRule {
        action: NicAction::Ignore,
        matches: NicMatch::Address {
            address: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0)),
            prefix: Some(32)
        },
    })));
    assert!(d.contains(&&Directive::Nonvolatile(1e-7)));
    assert!(d.contains(&&Directive::Dscp(46)));
    assert!(d.contains(&&Directive::Driftfile(Driftfile {
        path: None,
        wander: None
    })));
    assert!(d.contains(&&Directive::Leapfile(Leapfile {
        path: "/etc/ntp/leap-seconds.list".into(),
        check_hash: false
    })));
    assert!(d.contains(&&Directive::Setvar(Setvar {
        name: "owner".into(),
        value: "The Boss".into(),
        default: true
    })));
    assert!(d.contains(&&Directive::Trap(Trap {
        address: Host::Ip(v4(192, 0, 2, 10)),
        port: Some(1234),
        interface: Some(Host::Ip(v4(192, 0, 2, 5))),
    })));
    assert!(d.contains(&&Directive::Ttl(vec![1, 2, 4, 8, 16, 32, 64, 127])));
    assert!(d.contains(&&Directive::PollSkewList(vec![
        PollSkew {
            poll: Some(4),
            early: 2,
            late: 3
        },
        PollSkew {
            poll: None,
            early: 1,
            late: 1
        },
    ])));
    // The last directive before the ignored block is `pollskewlist`; the
    // reference-clock lines, phone, mdnstries, ntpsigndsocket and the
    // simulator block add nothing. The final 4.2.4-style `crypto leap … pw …`
    // keeps its password and drops (with a warning) the leap file.
    assert!(matches!(d[d.len() - 2], Directive::PollSkewList(_)));
    let Some(Directive::Crypto(last)) = d.last() else {
        panic!("last directive is {:?}", d.last());
    };
    assert_eq!(last.pw.as_deref(), Some("server password"));
    assert_eq!(last.host, None);
}

#[test]
fn ignored_directives_warn_with_position() {
    let l = every();
    let shown: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "tests/data/every-directive.conf:93:1: warning: server 127.127.8.0: reference clock type 8 is not supported (supported types: 1 (LOCAL), 20 (GPS_NMEA), 22 (PPS), 28 (SHM)); line ignored",
            "tests/data/every-directive.conf:94:1: warning: fudge 127.127.8.0: reference clock type 8 is not supported (supported types: 1 (LOCAL), 20 (GPS_NMEA), 22 (PPS), 28 (SHM)); line ignored",
            "tests/data/every-directive.conf:95:1: warning: device configures a reference clock; reference clocks are not supported, line ignored",
            "tests/data/every-directive.conf:96:1: warning: phone configures the modem reference clock; reference clocks are not supported, line ignored",
            "tests/data/every-directive.conf:97:1: warning: mdnstries: mDNS registration is not supported; line ignored",
            "tests/data/every-directive.conf:98:1: warning: ntpsigndsocket: MS-SNTP signing is not supported; line ignored",
            "tests/data/every-directive.conf:99:1: warning: simulate configures the ntpdsim simulator; block ignored",
            "tests/data/every-directive.conf:102:8: warning: crypto leap is from ntp 4.2.4 and is ignored; write 'leapfile /etc/ntp/leap-seconds.list' on its own line to use that leap-seconds file",
        ]
    );
}

#[test]
fn statements_remember_where_they_came_from() {
    let conf = every().config;
    let trap = conf
        .statements
        .iter()
        .find(|s| matches!(s.directive, Directive::Trap(_)))
        .map(|s| s.origin.clone());
    let expected = Origin {
        file: EVERY.into(),
        line: 86,
        col: 1,
    };
    assert_eq!(trap, Some(expected));
}

#[test]
fn canonical_text_round_trips_and_is_a_fixed_point() {
    let conf = every().config;
    let text = conf.to_conf_string();
    let again = match parse_str(&text, Path::new("saved.conf")) {
        Ok(l) => l,
        Err(e) => panic!("{e}\n{text}"),
    };
    assert_eq!(again.config, conf);
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.config.to_conf_string(), text);
    // A few canonical forms.
    assert!(
        text.contains("\nunpeer 192.0.2.98\n"),
        "unconfig is written as unpeer"
    );
    assert!(
        text.contains("\ninterface drop wildcard\n"),
        "nic is written as interface"
    );
    assert!(text.contains("\nfilegen cryptostats file cryptostats type none enable\n"));
    assert!(text.contains(
        "\ncrypto digest SHA1 host alice ident alice pw \"server password\" randfile .rnd\n"
    ));
    assert!(
        text.contains("\nlogconfig =allall +syncstatus -clockinfo =peerevents =clockall =sysall\n")
    );
}
