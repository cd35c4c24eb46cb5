//! Speed target: the simulator runs a day of a 4-server LAN scenario, and
//! the clock filter and mitigation run per sample, fast enough that a day
//! takes well under a second of CPU; likewise a day of three hosts in the
//! multi-host simulator.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use clock::filter::{ClockFilter, Estimator};
use clock::sample::Sample;
use clock::select::SelectionParams;
use clock::sim::engine::run;
use clock::sim::scenario::ScenarioArgs;
use clock::system::{Source, SystemProcess};

fn lan_day(c: &mut Criterion) {
    let mut a = ScenarioArgs::default();
    for (k, v) in [
        ("servers", "4"),
        ("jitter", "0.0001"),
        ("freq", "50"),
        ("duration", "86400"),
    ] {
        a.set(k, v).expect("valid flag");
    }
    let scenario = a.build().expect("valid scenario");
    c.bench_function("simulate one day, 4-server LAN", |b| {
        b.iter(|| run(black_box(&scenario)))
    });
}

/// Three hosts, each a client of one server and a symmetric peer of the
/// other two, for a day: the multi-host simulator's cost.
fn mesh_day(c: &mut Criterion) {
    use clock::sim::mesh::{run_mesh, AssocMode, AssocSpec, HostSpec, MeshScenario, Target};
    use clock::sim::scenario::ServerSpec;
    let mut assocs = Vec::new();
    for h in 0..3 {
        assocs.push(AssocSpec {
            host: h,
            target: Target::Server(0),
            mode: AssocMode::Client,
            path: Default::default(),
        });
        for o in (0..3).filter(|&o| o != h) {
            assocs.push(AssocSpec {
                host: h,
                target: Target::Host(o),
                mode: AssocMode::Symmetric,
                path: Default::default(),
            });
        }
    }
    let sc = MeshScenario {
        servers: vec![ServerSpec::default()],
        hosts: (0..3)
            .map(|i| HostSpec {
                address: 0x0a00_0001 + i,
                orphan: Some(8),
                ..HostSpec::default()
            })
            .collect(),
        assocs,
        duration: 86400.0,
        seed: 1,
        record_every: 64.0,
    };
    c.bench_function("simulate one day, 3 symmetric hosts (mesh)", |b| {
        b.iter(|| run_mesh(black_box(&sc)))
    });
}

fn filter_add(c: &mut Criterion) {
    let mut f = ClockFilter::new(1e-6);
    f.set_estimator(Estimator::DelayWeighted);
    let mut t = 0.0f64;
    c.bench_function("clock filter add (delay-weighted)", |b| {
        b.iter(|| {
            t += 64.0;
            let s = Sample {
                offset: 1e-4 * (t / 64.0).sin(),
                delay: 0.001 + 1e-4 * (t / 128.0).cos().abs(),
                dispersion: 1e-5,
                time: t,
            };
            black_box(f.add(s, t, 64.0))
        })
    });
}

fn mitigate(c: &mut Criterion) {
    let sources: Vec<Source> = (0..10)
        .map(|i| Source {
            candidate: clock::select::Candidate {
                id: i,
                offset: i as f64 * 1e-4,
                delay: 0.01,
                dispersion: 0.001,
                jitter: 0.0005,
                time: 0.0,
                root_delay: 0.01,
                root_dispersion: 0.01,
                stratum: 2,
                leap: clock::select::LeapIndicator::NoWarning,
                reachable: true,
                loops_to_us: false,
                prefer: false,
                truechimer: false,
            },
            refid: i as u32,
        })
        .collect();
    let mut sp = SystemProcess::new(SelectionParams::default(), -20, None, 0.0);
    c.bench_function("select+cluster+combine, 10 sources", |b| {
        b.iter(|| black_box(sp.mitigate(black_box(&sources), 1.0)))
    });
}

criterion_group!(benches, lan_day, mesh_day, filter_add, mitigate);
criterion_main!(benches);
