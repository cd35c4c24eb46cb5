//! Random valid directives survive writing and reading back: for any
//! configuration built from them, `parse_str(to_conf_string())` gives an
//! equal configuration and the text is a fixed point.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use config::conf::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

fn ipv4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>()
        .prop_filter("not a reference clock", |o| o[..2] != [127, 127])
        .prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
}

fn ipv6() -> impl Strategy<Value = IpAddr> {
    any::<[u16; 8]>().prop_map(|s| IpAddr::V6(Ipv6Addr::from(s)))
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}"
}

/// Printable text without double quotes, not only spaces, not a family flag.
fn text() -> impl Strategy<Value = String> {
    "[ -!#-~]{1,24}".prop_filter("usable string", |s| {
        !s.trim().is_empty() && !s.starts_with("-4") && !s.starts_with("-6")
    })
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        ipv4().prop_map(Host::Ip),
        ipv6().prop_map(Host::Ip),
        name().prop_map(Host::Name),
    ]
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        host().prop_map(Address::any),
        ipv4().prop_map(|ip| Address {
            family: AddressFamily::Ipv4,
            host: Host::Ip(ip)
        }),
        ipv6().prop_map(|ip| Address {
            family: AddressFamily::Ipv6,
            host: Host::Ip(ip)
        }),
        (name(), any::<bool>()).prop_map(|(n, v4)| Address {
            family: if v4 {
                AddressFamily::Ipv4
            } else {
                AddressFamily::Ipv6
            },
            host: Host::Name(n),
        }),
    ]
}

fn assoc_options() -> impl Strategy<Value = AssocOptions> {
    (
        (
            option::of(1u16..),
            any::<bool>(),
            option::of(name()),
            option::of(3u8..=17),
            option::of(3u8..=17),
        ),
        (option::of(1u8..=4), option::of(0u8..=7), any::<[bool; 9]>()),
    )
        .prop_map(|((key, autokey, ident, a, b), (version, ttl, f))| {
            let (minpoll, maxpoll) = match (a, b) {
                (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                other => other,
            };
            AssocOptions {
                key,
                autokey,
                ident,
                minpoll,
                maxpoll,
                version,
                ttl,
                burst: f[0],
                iburst: f[1],
                prefer: f[2],
                noselect: f[3],
                truechimer: f[4],
                preempt: f[5],
                xleave: f[6],
                xmtnonce: f[7],
                nts: f[8],
            }
        })
}

fn association() -> impl Strategy<Value = Directive> {
    (
        select(vec![
            AssocMode::Server,
            AssocMode::Pool,
            AssocMode::Peer,
            AssocMode::Broadcast,
            AssocMode::ManycastClient,
        ]),
        address(),
        assoc_options(),
    )
        .prop_map(|(mode, address, options)| {
            Directive::Association(Association {
                mode,
                address,
                options,
            })
        })
}

fn crypto() -> impl Strategy<Value = Directive> {
    (
        option::of(select(vec!["MD5", "SHA1", "RIPEMD160", "SHA256"])),
        option::of(text()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
    )
        .prop_map(|(digest, host, ident, pw, randfile)| {
            Directive::Crypto(Crypto {
                digest: digest.map(String::from),
                host,
                ident,
                pw,
                randfile,
            })
        })
}

fn tos() -> impl Strategy<Value = Directive> {
    let opt = prop_oneof![
        (0u8..=4).prop_map(TosOption::BcPollBStep),
        (1u32..100_000).prop_map(TosOption::Beacon),
        (1u8..=15).prop_map(TosOption::Ceiling),
        any::<bool>().prop_map(TosOption::Cohort),
        (0u8..=15).prop_map(TosOption::Floor),
        (1u32..100).prop_map(TosOption::MaxClock),
        (1u32..100).prop_map(TosOption::MinClock),
        (0u32..100).prop_map(TosOption::MinSane),
        (1u8..=16).prop_map(TosOption::Orphan),
        (0u32..10_000).prop_map(TosOption::OrphanWait),
        (0.0f64..1e6).prop_map(TosOption::MinDist),
        (0.0f64..1e6).prop_map(TosOption::MaxDist),
        (1970u32..2100, 1u32..=12, 1u32..=28)
            .prop_map(|(y, m, d)| TosOption::BaseDate(format!("{y:04}-{m:02}-{d:02}"))),
    ];
    vec(opt, 1..6).prop_map(Directive::Tos)
}

fn tinker() -> impl Strategy<Value = Directive> {
    let opt = prop_oneof![
        (0.0f64..1e5).prop_map(TinkerOption::Allan),
        (0.0f64..1e3).prop_map(TinkerOption::Dispersion),
        (-500.0f64..500.0).prop_map(TinkerOption::Freq),
        (0.0f64..1e5).prop_map(TinkerOption::Huffpuff),
        (0.0f64..1e4).prop_map(TinkerOption::Panic),
        (0.0f64..10.0).prop_map(TinkerOption::Step),
        (0.0f64..10.0).prop_map(TinkerOption::Stepback),
        (0.0f64..10.0).prop_map(TinkerOption::Stepfwd),
        (0.0f64..1e4).prop_map(TinkerOption::Stepout),
        (0.0f64..1.0).prop_map(TinkerOption::Tick),
    ];
    vec(opt, 1..5).prop_map(Directive::Tinker)
}

fn restrict() -> impl Strategy<Value = Directive> {
    let target = prop_oneof![
        Just(RestrictTarget::Default),
        Just(RestrictTarget::DefaultIpv4),
        Just(RestrictTarget::DefaultIpv6),
        Just(RestrictTarget::Source),
        (ipv4(), option::of(ipv4())).prop_map(|(a, mask)| RestrictTarget::Address {
            address: Address::any(Host::Ip(a)),
            mask
        }),
        (ipv6(), option::of(ipv6())).prop_map(|(a, mask)| RestrictTarget::Address {
            address: Address {
                family: AddressFamily::Ipv6,
                host: Host::Ip(a)
            },
            mask
        }),
        name().prop_map(|n| RestrictTarget::Address {
            address: Address::any(Host::Name(n)),
            mask: None
        }),
    ];
    (
        target,
        option::of(-1i8..=100),
        vec(select(RestrictFlag::ALL.to_vec()), 0..6),
    )
        .prop_map(|(target, ippeerlimit, flags)| {
            Directive::Restrict(Restrict {
                target,
                ippeerlimit,
                flags,
            })
        })
}

fn misc() -> impl Strategy<Value = Directive> {
    prop_oneof![
        address().prop_map(Directive::Unpeer),
        Just(Directive::BroadcastClient),
        vec(address(), 1..4).prop_map(Directive::ManycastServer),
        vec(address(), 1..4).prop_map(Directive::MulticastClient),
        (3u8..=31).prop_map(Directive::Automax),
        (3u8..=31).prop_map(Directive::Revoke),
        (1u16..).prop_map(Directive::ControlKey),
        (1u16..).prop_map(Directive::RequestKey),
        text().prop_map(Directive::Keys),
        text().prop_map(Directive::Keysdir),
        text().prop_map(Directive::Ident),
        vec((1u16.., 0u16..100), 1..5).prop_map(|v| Directive::TrustedKey(
            v.into_iter()
                .map(|(a, n)| KeyRange {
                    first: a,
                    last: a.saturating_add(n)
                })
                .collect()
        )),
        vec(select(StatsFile::ALL.to_vec()), 1..4).prop_map(Directive::Statistics),
        text().prop_map(Directive::Statsdir),
        (
            select(StatsFile::ALL.to_vec()),
            option::of(text()),
            option::of(select(FilegenType::ALL.to_vec())),
            option::of(any::<bool>()),
            option::of(any::<bool>())
        )
            .prop_map(
                |(stats, file, kind, link, enabled)| Directive::Filegen(Filegen {
                    stats,
                    file,
                    kind,
                    link,
                    enabled
                })
            ),
        vec(
            prop_oneof![
                any::<u8>().prop_map(DiscardOption::Average),
                (0u32..1_000_000).prop_map(DiscardOption::Minimum),
                (0u32..1_000_000).prop_map(DiscardOption::Monitor),
            ],
            1..4
        )
        .prop_map(Directive::Discard),
        vec(
            (0usize..8, 0u32..1_000_000).prop_map(|(k, v)| [
                MruOption::Incalloc(v),
                MruOption::Incmem(v),
                MruOption::Initalloc(v),
                MruOption::Initmem(v),
                MruOption::Maxage(v),
                MruOption::Maxdepth(v),
                MruOption::Maxmem(v),
                MruOption::Mindepth(v),
            ][k]),
            1..4
        )
        .prop_map(Directive::Mru),
        prop_oneof![
            (host(), option::of(ipv4())).prop_map(|(h, m)| {
                // A mask must have the address's family.
                let mask = match (&h, m) {
                    (Host::Ip(IpAddr::V6(_)), Some(_)) => None,
                    (_, m) => m,
                };
                Directive::DelRestrict(DelRestrict::Address { address: h, mask })
            }),
            host().prop_map(|h| Directive::DelRestrict(DelRestrict::Source(h))),
        ],
        vec(
            prop_oneof![
                (-1i32..100_000).prop_map(RlimitOption::Memlock),
                (0u32..100_000).prop_map(RlimitOption::Stacksize),
                (0u32..100_000).prop_map(RlimitOption::Filenum),
            ],
            1..4
        )
        .prop_map(Directive::Rlimit),
        vec(select(SystemFlag::ALL.to_vec()), 1..4).prop_map(Directive::Enable),
        vec(select(SystemFlag::ALL.to_vec()), 1..4).prop_map(Directive::Disable),
        (
            select(vec![NicAction::Listen, NicAction::Ignore, NicAction::Drop]),
            prop_oneof![
                Just(NicMatch::All),
                Just(NicMatch::Ipv4),
                Just(NicMatch::Ipv6),
                Just(NicMatch::Wildcard),
                "[a-z][a-z0-9]{0,8}".prop_map(NicMatch::Name),
                (ipv4(), option::of(0u8..=32))
                    .prop_map(|(address, prefix)| NicMatch::Address { address, prefix }),
                (ipv6(), option::of(0u8..=128))
                    .prop_map(|(address, prefix)| NicMatch::Address { address, prefix }),
            ]
        )
            .prop_map(|(action, matches)| Directive::Interface(NicRule { action, matches })),
        vec(select(ResetCounter::ALL.to_vec()), 1..4).prop_map(Directive::Reset),
        (0.0f64..=1.0).prop_map(Directive::BroadcastDelay),
        (0.0f64..=1.0).prop_map(Directive::Nonvolatile),
        (0.0f64..=1.0).prop_map(Directive::Tick),
        (0u8..=63).prop_map(Directive::Dscp),
        (0u32..1_000_000).prop_map(Directive::LeapSmearInterval),
        text().prop_map(Directive::Logfile),
        text().prop_map(Directive::Pidfile),
        text().prop_map(Directive::Saveconfigdir),
        (prop_oneof![ipv4(), ipv6()], 1u16..)
            .prop_map(|(ip, port)| Directive::MetricsListen(std::net::SocketAddr::new(ip, port))),
        (text(), any::<bool>())
            .prop_map(|(path, check_hash)| Directive::Leapfile(Leapfile { path, check_hash })),
        prop_oneof![
            Just(Directive::Driftfile(Driftfile {
                path: None,
                wander: None
            })),
            (text(), option::of(0.0f64..1.0)).prop_map(|(p, wander)| Directive::Driftfile(
                Driftfile {
                    path: Some(p),
                    wander
                }
            )),
        ],
        vec(
            (
                select(vec![LogOp::Set, LogOp::Add, LogOp::Remove]),
                select(vec![
                    LogClass::All,
                    LogClass::Sys,
                    LogClass::Peer,
                    LogClass::Clock,
                    LogClass::Sync
                ]),
                select(vec![
                    LogItem::All,
                    LogItem::Info,
                    LogItem::Events,
                    LogItem::Status,
                    LogItem::Statistics
                ])
            )
                .prop_map(|(op, class, item)| LogConfigItem { op, class, item }),
            1..5
        )
        .prop_map(Directive::Logconfig),
        vec(
            prop_oneof![
                (3u8..=17, any::<u32>(), any::<u32>()).prop_map(|(p, e, l)| {
                    let limit = 1u32 << (p - 1);
                    PollSkew {
                        poll: Some(p),
                        early: e % limit,
                        late: l % limit,
                    }
                }),
                (0u32..1000, 0u32..1000).prop_map(|(early, late)| PollSkew {
                    poll: None,
                    early,
                    late
                }),
            ],
            0..4
        )
        .prop_map(Directive::PollSkewList),
        (text(), text(), any::<bool>()).prop_map(|(name, value, default)| Directive::Setvar(
            Setvar {
                name,
                value,
                default
            }
        )),
        (host(), option::of(1u16..), option::of(host())).prop_map(|(address, port, interface)| {
            Directive::Trap(Trap {
                address,
                port,
                interface,
            })
        }),
        vec(any::<u8>(), 1..=8).prop_map(Directive::Ttl),
    ]
}

fn directive() -> impl Strategy<Value = Directive> {
    prop_oneof![association(), crypto(), tos(), tinker(), restrict(), misc()]
}

fn conf() -> impl Strategy<Value = NtpConf> {
    vec(directive(), 0..12).prop_map(|ds| NtpConf {
        statements: ds
            .into_iter()
            .map(|directive| Statement {
                directive,
                origin: Origin::default(),
            })
            .collect(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_configurations_round_trip(c in conf()) {
        let text = c.to_conf_string();
        let back = parse_str(&text, Path::new("random.conf"));
        prop_assert!(back.is_ok(), "{:?}\n{}", back.err(), text);
        let back = back.map(|l| l.config).unwrap_or_default();
        prop_assert_eq!(&back, &c, "{}", text);
        prop_assert_eq!(back.to_conf_string(), text);
    }
}

/// Pieces that make interesting ntp.conf text: keywords, numbers of every
/// lexical kind, addresses, quotes, specials, comments, odd whitespace.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "server",
            "pool",
            "peer",
            "broadcast",
            "manycastclient",
            "restrict",
            "default",
            "source",
            "mask",
            "ippeerlimit",
            "nomodify",
            "serverresponse",
            "fuzz",
            "crypto",
            "host",
            "pw",
            "ident",
            "digest",
            "MD5",
            "keys",
            "keysdir",
            "trustedkey",
            "(",
            ")",
            "...",
            "tos",
            "orphan",
            "cohort",
            "true",
            "tinker",
            "step",
            "freq",
            "filegen",
            "file",
            "type",
            "day",
            "link",
            "enable",
            "disable",
            "logconfig",
            "=allall",
            "+syncstatus",
            "setvar",
            "=",
            "default",
            "trap",
            "port",
            "interface",
            "listen",
            "all",
            "eth0",
            "pollskewlist",
            "|",
            "driftfile",
            "leapfile",
            "ignorehash",
            "includefile",
            "end",
            "simulate",
            "{",
            "}",
            ";",
            ",",
            "ttl",
            "minpoll",
            "maxpoll",
            "key",
            "version",
            "autokey",
            "iburst",
            "-4",
            "-6",
            "fudge",
            "127.127.1.0",
            "10.0.0.1",
            "::1",
            "ff05::101",
            "255.255.255.0",
            "ntp.example.org",
            "0",
            "1",
            "3",
            "17",
            "-1",
            "4294967295",
            "0x1F",
            "1.5",
            "1e-7",
            "1e",
            "+2",
            "99999999999",
            "#",
            "\"",
            "\"a b\"",
            "\"\"",
            "\"  \"",
            " ",
            "\t",
            "\n",
            "\r",
            "\u{e9}",
            "mdnstries",
            "phone",
            "nic",
            "reset",
            "dscp",
            "rlimit",
            "memlock",
            "mru",
            "maxdepth",
            "discard",
            "average",
            "statistics",
            "loopstats",
            "unpeer",
            "broadcastclient",
            "multicastclient",
            "basedate",
            "2024-01-01",
        ])
        .prop_map(String::from),
        "[ -~]{1,6}",
    ]
}

/// A line: usually a directive keyword, then random pieces.
fn line() -> impl Strategy<Value = String> {
    let start = select(vec![
        "server",
        "peer",
        "broadcast",
        "restrict",
        "crypto",
        "keys",
        "trustedkey",
        "tos",
        "tinker",
        "filegen",
        "enable",
        "logconfig",
        "setvar",
        "trap",
        "interface",
        "pollskewlist",
        "driftfile",
        "leapfile",
        "ttl",
        "multicastclient",
        "unpeer",
        "discard",
        "mru",
        "rlimit",
        "statistics",
        "fudge",
        "",
    ]);
    (start, vec(piece(), 0..8)).prop_map(|(s, rest)| format!("{s} {}", rest.join(" ")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]

    /// The property of the ntp_conf fuzz target, on grammar-shaped text.
    #[test]
    fn arbitrary_text_never_panics_and_round_trips(lines in vec(line(), 1..4)) {
        let text = lines.join("\n");
        if let Ok(loaded) = parse_str(&text, Path::new("fuzz.conf")) {
            let canonical = loaded.config.to_conf_string();
            let again = parse_str(&canonical, Path::new("canonical.conf"));
            prop_assert!(again.is_ok(), "{:?}\n--- input\n{}\n--- canonical\n{}", again.err(), text, canonical);
            let again = again.map(|l| l.config).unwrap_or_default();
            prop_assert_eq!(&again, &loaded.config, "--- input\n{}\n--- canonical\n{}", text, canonical);
            prop_assert_eq!(again.to_conf_string(), canonical);
        }
    }
}

/// Lines of the every-directive configuration, as mutation seeds.
fn seed_lines() -> Vec<String> {
    let text = include_str!("data/every-directive.conf");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && !l.contains("includefile"))
        .map(String::from)
        .collect()
}

/// A seed line with a few byte-level edits (delete, insert, duplicate).
fn mutated_line() -> impl Strategy<Value = String> {
    let edits = vec(
        (
            0usize..200,
            0u8..4,
            select(b" \t\"#=|(),-.0123456789aefxz:/".to_vec()),
        ),
        0..4,
    );
    (select(seed_lines()), edits).prop_map(|(line, edits)| {
        let mut b = line.into_bytes();
        for (pos, op, ch) in edits {
            let at = pos % (b.len() + 1);
            match op {
                0 if at < b.len() => {
                    b.remove(at);
                }
                1 => b.insert(at, ch),
                2 if at < b.len() => {
                    let tail: Vec<u8> = b[at..].iter().copied().take(8).collect();
                    b.splice(at..at, tail);
                }
                _ => {
                    if let Some(x) = b.get_mut(at) {
                        *x = ch;
                    }
                }
            }
        }
        String::from_utf8_lossy(&b).into_owned()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]

    /// Near-valid lines either fail with a message or round-trip.
    #[test]
    fn mutated_lines_never_panic_and_round_trip(lines in vec(mutated_line(), 1..4)) {
        let text = lines.join("\n");
        match parse_str(&text, Path::new("mutated.conf")) {
            Ok(loaded) => {
                let canonical = loaded.config.to_conf_string();
                let again = parse_str(&canonical, Path::new("canonical.conf"));
                prop_assert!(again.is_ok(), "{:?}\n--- input\n{}\n--- canonical\n{}", again.err(), text, canonical);
                let again = again.map(|l| l.config).unwrap_or_default();
                prop_assert_eq!(&again, &loaded.config, "--- input\n{}\n--- canonical\n{}", text, canonical);
            }
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(shown.starts_with("mutated.conf:"), "{}", shown);
            }
        }
    }
}
