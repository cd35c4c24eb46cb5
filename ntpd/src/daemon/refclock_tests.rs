//! The PPS rule of the core on simulated clocks (`Core::refclock_polls`,
//! the reference's `atom_poll()`): a PPS clock's pulses reach its clock
//! filter only while a `prefer` peer has survived selection within 0.4 s;
//! otherwise they are dropped at each poll and the clock stays
//! unreachable.

use std::path::Path;

use proto::LeapIndicator;
use refclock::{DriverInfo, Fudge, RefSample};

use super::super::environment::{SimClock, SimEnvironment};
use super::super::settings::Settings;
use super::*;

/// A simulated core of `conf`, its clocks mobilised in file order, with
/// the driver defaults `infos`.
fn core(conf: &str, infos: &[DriverInfo]) -> (SimClock, Core, Vec<u16>) {
    let p = Path::new("t.conf");
    let c = config::conf::parse_str(conf, p).unwrap();
    let s = Settings::from_conf(&c.config, &crate::cli::Options::default(), p).unwrap();
    let clock = SimClock::new();
    let env = SimEnvironment::new(clock.clone(), None).with_epoch(3_974_000_000);
    let mut core = Core::simulated_in(&s, crate::auth::KeyRing::default(), -20, Box::new(env), 1);
    let ids = s
        .refclocks
        .servers
        .iter()
        .zip(infos)
        .map(|((server, _), info)| {
            core.mobilize_refclock(server, *info, &Fudge::default(), 0.0)
                .unwrap()
        })
        .collect();
    (clock, core, ids)
}

fn sample(offset: f64, dispersion: f64) -> RefSample {
    RefSample {
        offset,
        dispersion,
        leap: LeapIndicator::NoWarning,
    }
}

fn reach(core: &Core, id: u16) -> u8 {
    let r = core.assocs.iter().find(|r| r.assoc.id == id).unwrap();
    r.assoc.peer.reach().register()
}

fn offset(core: &Core, id: u16) -> Option<f64> {
    let r = core.assocs.iter().find(|r| r.assoc.id == id).unwrap();
    r.assoc.peer.filter().output().map(|o| o.offset)
}

/// `seconds` of a serial clock at `serial_offset` and a PPS 3 µs off,
/// one sample of each a second: the core and the two clocks' IDs.
fn run(conf: &str, serial_offset: f64, seconds: u32) -> (Core, u16, u16) {
    let (clock, mut core, ids) = core(conf, &[refclock::nmea::INFO, refclock::pps::INFO]);
    let (serial, pps) = (ids[0], ids[1]);
    for _ in 0..seconds {
        core.refclock_sample(serial, sample(serial_offset, 2f64.powi(-9)));
        core.refclock_sample(pps, sample(3e-6, 2f64.powi(-20)));
        core.tick();
        clock.advance(1.0);
    }
    (core, serial, pps)
}

const CLOCKS: &str = "server 127.127.20.0 minpoll 3 prefer\nserver 127.127.22.0 minpoll 3\n";

#[test]
fn pulses_count_once_the_prefer_peer_survives() {
    let (core, serial, pps) = run(&format!("disable ntp\n{CLOCKS}"), 0.000_5, 120);
    assert_ne!(reach(&core, serial), 0);
    assert_ne!(reach(&core, pps), 0, "the prefer peer names the second");
    let o = offset(&core, pps).expect("PPS samples in the filter");
    // Within nanoseconds: the filter rebases its offsets when the
    // discipline's frequency estimate changes.
    assert!((o - 3e-6).abs() < 1e-8, "PPS offset {o}");
    // The first poll comes before any selection: that pulse is dropped.
    let (core, serial, pps) = run(&format!("disable ntp\n{CLOCKS}"), 0.000_5, 1);
    assert_eq!((reach(&core, serial), reach(&core, pps)), (1, 0));
}

#[test]
fn pulses_are_dropped_without_a_prefer_peer() {
    let conf = CLOCKS.replace(" prefer", "");
    let (core, serial, pps) = run(&format!("disable ntp\n{conf}"), 0.000_5, 120);
    assert_ne!(reach(&core, serial), 0);
    assert_eq!(reach(&core, pps), 0);
    assert_eq!(offset(&core, pps), None);
}

#[test]
fn pulses_are_dropped_while_the_prefer_peer_is_0_4_s_off_or_more() {
    let (core, serial, pps) = run(&format!("disable ntp\n{CLOCKS}"), 0.45, 120);
    assert_ne!(reach(&core, serial), 0);
    assert_eq!(reach(&core, pps), 0);
}

#[test]
fn the_pps_clock_is_the_system_peer_beside_the_prefer_peer() {
    let (core, serial, pps) = run(&format!("disable ntp\n{CLOCKS}"), 0.000_5, 120);
    assert_eq!(core.sys_peer(), Some(pps), "the PPS rule of clock_select()");
    // `ntpq -p`: `o` for the PPS clock, `*` for the prefer peer.
    let selection = |id: u16| (core.peer_status(id) >> 8) & 0x7;
    assert_eq!((selection(pps), selection(serial)), (7, 6));
    assert_eq!(core.sys.stratum, 1);
    assert_eq!(core.sys.refid.to_bytes(), *b"PPS\0");
    let Some(clock::system::Mitigation::Synchronized { offset, .. }) = &core.last_mitigation else {
        panic!("not synchronised");
    };
    assert!(
        (offset - 3e-6).abs() < 1e-8,
        "the PPS offset disciplines: {offset}"
    );
    // Without a prefer peer the serial clock is the system peer and the
    // PPS clock stays unused.
    let conf = CLOCKS.replace(" prefer", "");
    let (core, serial, pps) = run(&format!("disable ntp\n{conf}"), 0.000_5, 120);
    assert_eq!(core.sys_peer(), Some(serial));
    assert_ne!((core.peer_status(pps) >> 8) & 0x7, 7);
}

#[test]
fn the_discipline_polls_within_the_clocks_minpoll_and_maxpoll() {
    let conf =
        "server 127.127.20.0 minpoll 4 maxpoll 4 prefer\nserver 127.127.22.0 minpoll 4 maxpoll 4\n";
    let (_, gps, _) = core(conf, &[refclock::nmea::INFO, refclock::pps::INFO]);
    let c = gps.driver.discipline().config();
    assert_eq!((c.minpoll, c.maxpoll), (4, 4));
    // A clock's maxpoll defaults to its minpoll, as it never backs off.
    let (_, local, _) = core("server 127.127.1.0 minpoll 5\n", &[refclock::local::INFO]);
    let c = local.driver.discipline().config();
    assert_eq!((c.minpoll, c.maxpoll), (5, 5));
}
