//! Time to generate each file set `ntp-keygen` writes, at the default 512
//! bits and at 2048 bits: RSA host key + certificate, IFF, GQ, MV (5 keys).

use criterion::{criterion_group, criterion_main, Criterion};
use keystore::cert::{build_certificate, CertRole, CertificateSpec};
use keystore::{GqKey, IffKey, MvAuthority};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;

fn host_and_cert(bits: u32) {
    let key = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
    let spec = CertificateSpec {
        subject: "bench",
        issuer: "bench",
        serial: 4_004_757_732,
        not_before_unix: 1_795_768_932,
        lifetime_days: 365,
        role: CertRole::TrustRoot,
        gq_public: None,
        digest: MessageDigest::md5(),
    };
    build_certificate(&spec, &key, &key).unwrap();
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("keygen");
    g.sample_size(10)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    for bits in [512u32, 2048] {
        g.bench_function(format!("host+cert/{bits}"), |b| {
            b.iter(|| host_and_cert(bits))
        });
        g.bench_function(format!("iff/{bits}"), |b| {
            b.iter(|| IffKey::generate(bits).unwrap())
        });
        g.bench_function(format!("gq/{bits}"), |b| {
            b.iter(|| GqKey::generate(bits).unwrap())
        });
        g.bench_function(format!("mv5/{bits}"), |b| {
            b.iter(|| MvAuthority::generate(bits, 5).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
