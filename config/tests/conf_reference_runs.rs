//! Every ntp.conf the reference ntpd ran with in the recorded Autokey runs
//! (`tests/data/autokey-ref/runs/*/*/ntp.conf`) parses without errors or
//! warnings, gives the expected Autokey settings, and round-trips.

use std::fs;
use std::path::{Path, PathBuf};

use config::conf::*;

fn reference_confs() -> Vec<PathBuf> {
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref/runs");
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(&runs) else {
        panic!("cannot list {}", runs.display());
    };
    for run in entries.flatten() {
        let Ok(hosts) = fs::read_dir(run.path()) else {
            continue;
        };
        for host in hosts.flatten() {
            let conf = host.path().join("ntp.conf");
            if conf.is_file() {
                out.push(conf);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_reference_config_parses_and_round_trips() {
    let confs = reference_confs();
    assert_eq!(confs.len(), 22, "ntp.conf files under runs/");
    for path in confs {
        let loaded = match load(&path) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        assert!(
            loaded.warnings.is_empty(),
            "{}: {:?}",
            path.display(),
            loaded.warnings
        );
        let conf = &loaded.config;
        let host = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        // Every run: crypto host NAME pw PASSWORD, keysdir keys, cryptostats.
        let crypto = conf.directives().find_map(|d| match d {
            Directive::Crypto(c) => Some(c.clone()),
            _ => None,
        });
        assert_eq!(
            crypto.and_then(|c| c.host),
            Some(host.clone()),
            "{}",
            path.display()
        );
        assert!(conf
            .directives()
            .any(|d| *d == Directive::Keysdir("keys".into())));
        assert!(conf
            .directives()
            .any(|d| *d == Directive::Disable(vec![SystemFlag::Ntp])));
        assert!(conf.directives().any(|d| *d
            == Directive::Logconfig(vec![LogConfigItem {
                op: LogOp::Set,
                class: LogClass::All,
                item: LogItem::All
            }])));
        let text = conf.to_conf_string();
        let again = match parse_str(&text, Path::new("saved.conf")) {
            Ok(l) => l.config,
            Err(e) => panic!("{e}\n{text}"),
        };
        assert_eq!(&again, conf, "{}", path.display());
    }
}

#[test]
fn the_gq_client_asks_for_autokey_with_identity() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref/runs/gq/bob/ntp.conf");
    let conf = match load(&path) {
        Ok(l) => l.config,
        Err(e) => panic!("{e}"),
    };
    let server = conf.directives().find_map(|d| match d {
        Directive::Association(a) => Some(a.clone()),
        _ => None,
    });
    let expected = Association {
        mode: AssocMode::Server,
        address: Address::any(Host::Ip(
            "10.0.0.1"
                .parse()
                .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
        )),
        options: AssocOptions {
            autokey: true,
            ident: Some("alice".into()),
            minpoll: Some(4),
            maxpoll: Some(4),
            iburst: true,
            ..AssocOptions::default()
        },
    };
    assert_eq!(server, Some(expected));
    assert!(conf
        .directives()
        .any(|d| *d == Directive::Tos(vec![TosOption::Orphan(10), TosOption::OrphanWait(1)])));
}
