//! Speed target: the simulator runs a day of a 4-server LAN scenario, and
//! the clock filter and mitigation run per sample, fast enough that a day
//! takes well under a second of CPU.

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
            },
            refid: i as u32,
        })
        .collect();
    let mut sp = SystemProcess::new(SelectionParams::default(), -20, None, 0.0);
    c.bench_function("select+cluster+combine, 10 sources", |b| {
        b.iter(|| black_box(sp.mitigate(black_box(&sources), 1.0)))
    });
}

criterion_group!(benches, lan_day, filter_add, mitigate);
criterion_main!(benches);
