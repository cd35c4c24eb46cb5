//! Reference clock lines: `server 127.127.t.u` and `fudge` of the LOCAL
//! (type 1) and SHM (type 28) drivers become settings; other types are
//! named in a warning with the supported ones, and dropped.

use std::path::Path;

use config::conf::{directive_line, parse_str, AssocOptions, Directive, FudgeLine, RefclockServer};

fn directives(text: &str) -> (Vec<Directive>, Vec<String>) {
    let l = parse_str(text, Path::new("ntp.conf")).unwrap();
    (
        l.config.directives().cloned().collect(),
        l.warnings.iter().map(ToString::to_string).collect(),
    )
}

#[test]
fn local_server_and_fudge_are_settings() {
    let (d, w) = directives(
        "server 127.127.1.0 prefer minpoll 4 maxpoll 5\nfudge 127.127.1.0 stratum 10 time1 0.5 flag1 1 refid LOCL\n",
    );
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        d[0],
        Directive::Refclock(RefclockServer {
            driver_type: 1,
            unit: 0,
            mode: None,
            options: AssocOptions {
                prefer: true,
                minpoll: Some(4),
                maxpoll: Some(5),
                ..AssocOptions::default()
            },
        })
    );
    assert_eq!(
        d[1],
        Directive::Fudge(FudgeLine {
            driver_type: 1,
            unit: 0,
            time1: Some(0.5),
            stratum: Some(10),
            refid: Some("LOCL".into()),
            flags: [Some(true), None, None, None],
            ..FudgeLine::default()
        })
    );
}

#[test]
fn shm_mode_and_noselect() {
    let (d, _) = directives("server 127.127.28.2 mode 1 noselect\n");
    let Directive::Refclock(r) = &d[0] else {
        panic!("{:?}", d[0]);
    };
    assert_eq!((r.driver_type, r.unit, r.mode), (28, 2, Some(1)));
    assert!(r.options.noselect);
}

#[test]
fn canonical_text_reads_back_the_same() {
    let text = "server 127.127.28.0 prefer minpoll 4 mode 1\nfudge 127.127.28.0 time1 0.003 time2 10 stratum 0 refid GPS flag1 0 flag4 1\n";
    let (d, _) = directives(text);
    let written: String = d.iter().map(|x| directive_line(x) + "\n").collect();
    assert_eq!(
        written,
        "server 127.127.28.0 minpoll 4 prefer mode 1\nfudge 127.127.28.0 time1 0.003 time2 10.0 stratum 0 refid GPS flag1 0 flag4 1\n"
    );
    assert_eq!(directives(&written).0, d);
}

#[test]
fn unsupported_types_name_file_line_and_the_supported_ones() {
    let (d, w) = directives(
        "driftfile /tmp/x\nserver 127.127.8.0 mode 16\nfudge 127.127.8.1 flag3 1\npeer 127.127.1.0\nfudge 10.0.0.1 stratum 3\n",
    );
    assert_eq!(d.len(), 1, "only the driftfile: {d:?}");
    assert_eq!(
        w,
        vec![
            "ntp.conf:2:1: warning: server 127.127.8.0: reference clock type 8 is not supported (supported types: 1 (LOCAL), 20 (GPS_NMEA), 22 (PPS), 28 (SHM)); line ignored",
            "ntp.conf:3:1: warning: fudge 127.127.8.1: reference clock type 8 is not supported (supported types: 1 (LOCAL), 20 (GPS_NMEA), 22 (PPS), 28 (SHM)); line ignored",
            "ntp.conf:4:1: warning: peer 127.127.1.0: a reference clock is configured with server; line ignored",
            "ntp.conf:5:1: warning: fudge 10.0.0.1: not a reference clock address (127.127.t.u); line ignored",
        ]
    );
}
