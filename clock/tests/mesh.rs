//! Multi-host scenarios: orphan mode, symmetric peers and broadcast
//! clients, each host running the real filter → select → cluster →
//! combine → discipline code over its own simulated clock.

use clock::sim::clock::Oscillator;
use clock::sim::mesh::{
    run_mesh, AssocMode, AssocSpec, HostSpec, MeshResult, MeshScenario, Target,
};
use clock::sim::network::Path;
use clock::sim::scenario::ServerSpec;
use clock::system::ORPHAN_REFID;

fn lan() -> Path {
    Path {
        base_delay: 0.0005,
        jitter: 0.00005,
        ..Path::default()
    }
}

fn host(i: usize, freq_ppm: f64) -> HostSpec {
    HostSpec {
        oscillator: Oscillator {
            freq_error: freq_ppm * 1e-6,
            wander: 0.0002e-6,
        },
        address: 0x0a00_0001 + i as u32,
        minpoll: 6,
        maxpoll: 6,
        ..HostSpec::default()
    }
}

/// Three hosts of an isolated site, `tos orphan 8`, each a client of one
/// stratum-1 server and a symmetric peer of the other two.  The server
/// vanishes at 7200 s.
fn orphan_site(seed: u64, addresses: [u32; 3]) -> MeshResult {
    let freqs = [12.0, -15.0, 25.0];
    let hosts: Vec<HostSpec> = freqs
        .iter()
        .zip(addresses)
        .enumerate()
        .map(|(i, (&f, address))| HostSpec {
            orphan: Some(8),
            address,
            ..host(i, f)
        })
        .collect();
    let mut assocs = Vec::new();
    for h in 0..3 {
        assocs.push(AssocSpec {
            host: h,
            target: Target::Server(0),
            mode: AssocMode::Client,
            path: lan(),
        });
        for o in (0..3).filter(|&o| o != h) {
            assocs.push(AssocSpec {
                host: h,
                target: Target::Host(o),
                mode: AssocMode::Symmetric,
                path: lan(),
            });
        }
    }
    let sc = MeshScenario {
        servers: vec![ServerSpec {
            outages: vec![(7200.0, f64::INFINITY)],
            ..ServerSpec::default()
        }],
        hosts,
        assocs,
        duration: 7200.0 + 4.0 * 3600.0,
        seed,
        record_every: 16.0,
    };
    run_mesh(&sc)
}

/// Server lost at 7200 s: the hosts give it up, wait `orphanwait`, and
/// the one with the lowest address becomes the orphan parent (stratum 8,
/// refid 127.0.0.1) while the other two follow it at stratum 9 and stay
/// in step with it, although the group as a whole now free-runs.
#[test]
fn orphan_site_elects_one_parent_and_stays_in_step() {
    for (seed, addresses, parent) in [
        (1, [0x0a00_0001, 0x0a00_0002, 0x0a00_0003], 0),
        (2, [0x0a00_0001, 0x0a00_0002, 0x0a00_0003], 0),
        // The lowest address wins wherever it is.
        (1, [0x0a00_0007, 0x0a00_0005, 0x0a00_0002], 2),
    ] {
        let r = orphan_site(seed, addresses);
        let tag = format!("seed {seed}, parent {parent}");
        // Before the loss: everyone follows the server at stratum 2.
        for s in r
            .snapshots
            .iter()
            .filter(|s| (3600.0..7200.0).contains(&s.time))
        {
            for h in &s.hosts {
                assert_eq!(
                    (h.stratum, h.sys_peer),
                    (2, Some(Target::Server(0))),
                    "{tag}"
                );
            }
        }
        // The parent is elected within half an hour of the loss
        // (8 unanswered 64 s polls + the 300 s orphan wait + settling).
        let first = r
            .snapshots
            .iter()
            .find(|s| s.hosts.iter().any(|h| h.orphan_parent))
            .expect("an orphan parent")
            .time;
        assert!(
            (7200.0 + 300.0..7200.0 + 1800.0).contains(&first),
            "{tag}: {first}"
        );
        // From then on: exactly that parent, the others its children.
        let settled = 7200.0 + 1800.0;
        for s in r.after(settled) {
            for (i, h) in s.hosts.iter().enumerate() {
                if i == parent {
                    assert!(h.orphan_parent, "{tag} at {}", s.time);
                    assert_eq!((h.stratum, h.refid), (8, ORPHAN_REFID), "{tag}");
                    assert_eq!(h.sys_peer, None);
                } else {
                    assert!(!h.orphan_parent, "{tag}: host {i} at {}", s.time);
                    assert_eq!(h.stratum, 9, "{tag}: host {i} at {}", s.time);
                    assert_eq!(h.sys_peer, Some(Target::Host(parent)), "{tag}");
                    assert_eq!(h.refid, addresses[parent], "{tag}");
                }
            }
        }
        for child in (0..3).filter(|&c| c != parent) {
            let sep = r.max_separation(parent, child, settled);
            assert!(sep < 50e-6, "{tag}: host {child} {sep} s from the parent");
        }
        assert_eq!(r.steps, vec![0, 0, 0]);
    }
}

fn sym_pair(seed: u64, asym: f64) -> MeshResult {
    let path = |a: f64| Path {
        asymmetry: a,
        jitter: 0.00002,
        ..lan()
    };
    let sc = MeshScenario {
        servers: vec![ServerSpec::default()],
        hosts: vec![host(0, 5.0), host(1, 30.0)],
        assocs: vec![
            AssocSpec {
                host: 0,
                target: Target::Server(0),
                mode: AssocMode::Client,
                path: lan(),
            },
            AssocSpec {
                host: 0,
                target: Target::Host(1),
                mode: AssocMode::Symmetric,
                path: path(-asym),
            },
            AssocSpec {
                host: 1,
                target: Target::Host(0),
                mode: AssocMode::Symmetric,
                path: path(asym),
            },
        ],
        duration: 4.0 * 3600.0,
        seed,
        record_every: 16.0,
    };
    run_mesh(&sc)
}

fn bcast(seed: u64) -> MeshResult {
    let path = Path {
        base_delay: 0.003,
        jitter: 0.0001,
        ..Path::default()
    };
    let sc = MeshScenario {
        servers: vec![ServerSpec::default()],
        hosts: vec![host(0, 20.0), host(1, 20.0)],
        assocs: vec![
            AssocSpec {
                host: 0,
                target: Target::Server(0),
                mode: AssocMode::BroadcastClient { calibrate: true },
                path: path.clone(),
            },
            AssocSpec {
                host: 1,
                target: Target::Server(0),
                mode: AssocMode::BroadcastClient { calibrate: false },
                path,
            },
        ],
        duration: 4.0 * 3600.0,
        seed,
        record_every: 16.0,
    };
    run_mesh(&sc)
}

/// Symmetric active peers: host 0 is a client of a stratum-1 server,
/// host 1 (30 PPM fast) only peers with host 0 in symmetric mode.  Host 1
/// synchronises through the symmetric exchange; host 0 never takes its
/// own child as a source (loop detection by refid).  A 200 µs asymmetry
/// between the peers shows as half of it, 100 µs (RFC 5905 §8).
#[test]
fn symmetric_peers_synchronise_and_show_half_the_asymmetry() {
    for seed in [1, 2, 3] {
        let r = sym_pair(seed, 0.0);
        // Both directions produced samples every poll.
        assert!(r.samples[1] > 200 && r.samples[2] > 200, "{:?}", r.samples);
        for s in r.after(3600.0) {
            assert_eq!(s.hosts[0].sys_peer, Some(Target::Server(0)));
            assert_eq!(s.hosts[1].sys_peer, Some(Target::Host(0)));
            assert_eq!((s.hosts[0].stratum, s.hosts[1].stratum), (2, 3));
        }
        let rms1 = r.rms_phase(1, 3600.0);
        assert!(rms1 < 25e-6, "seed {seed}: {rms1}");
        // The separation is measured once both start-up frequency
        // measurements (up to 1200 s each, host 1's only after host 0's
        // settled) and the loops' settling are over: two hours.
        let sep = r.mean_phase(1, 7200.0) - r.mean_phase(0, 7200.0);
        assert!(sep.abs() < 5e-6, "seed {seed}: {sep}");

        let r = sym_pair(seed, 0.0002);
        let sep = r.mean_phase(1, 7200.0) - r.mean_phase(0, 7200.0);
        assert!((sep - 100e-6).abs() < 5e-6, "seed {seed}: {sep}");
        assert_eq!(r.steps, vec![0, 0]);
    }
}

/// Broadcast clients 3 ms (one way) from a stratum-1 broadcaster.  The
/// calibrating client measures the round trip with a client/server volley
/// (about 6 ms) and ends up within 0.2 ms of true time; the other assumes
/// the default `broadcastdelay` of 4 ms round trip, so it runs 1 ms plus
/// the mean queueing delay (80 µs) behind.
#[test]
fn broadcast_client_with_delay_calibration() {
    for seed in [1, 2, 3] {
        let r = bcast(seed);
        let calibrated = r.broadcast_delay[0].expect("broadcast association");
        assert!(
            (calibrated - 0.006).abs() < 0.0003,
            "seed {seed}: {calibrated}"
        );
        assert_eq!(r.broadcast_delay[1], Some(0.004));
        let m0 = r.mean_phase(0, 3600.0);
        assert!(m0.abs() < 200e-6, "seed {seed}: {m0}");
        assert!(r.rms_phase(0, 3600.0) < 200e-6);
        let m1 = r.mean_phase(1, 3600.0);
        assert!((m1 + 1.08e-3).abs() < 50e-6, "seed {seed}: {m1}");
        // One sample per 64 s broadcast over 4 hours.
        assert!(
            r.samples.iter().all(|&n| (200..=226).contains(&n)),
            "{:?}",
            r.samples
        );
        for s in r.after(3600.0) {
            assert!(s.hosts.iter().all(|h| h.stratum == 2));
        }
    }
}
