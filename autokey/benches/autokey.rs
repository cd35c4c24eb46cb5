//! Server cost per COOK, CERT, SIGN, IFF, GQ and MV response and client
//! cost per verification, at 512 and 2048 bits, next to the raw OpenSSL
//! primitives (RSA sign/verify, modexp), plus OpenSSL BIGNUM against
//! num-bigint for the identity schemes' modexp sizes.
//!
//! Keys and identity parameters of both sizes are generated once at
//! start-up (MV with 4 client keys).

use std::hint::black_box;
use std::net::IpAddr;
use std::path::Path;

use autokey::cookie::decrypt_cookie;
use autokey::host::{HostCredentials, LocalHost, RespondContext};
use autokey::identity::{gq, iff, mv};
use autokey::message::{Request, Response};
use autokey::session::SessionDigest;
use autokey::value::SignedValue;
use criterion::{criterion_group, criterion_main, Criterion};
use keystore::cert::{build_certificate, CertRole, CertificateSpec};
use keystore::{Certificate, GqKey, IffKey, MvAuthority};
use openssl::bn::{BigNum, BigNumContext};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use rand::SeedableRng;

const NOW: u32 = 4_004_770_000;

struct World {
    bits: u32,
    host: LocalHost,
    client: LocalHost,
    iff: IffKey,
    gq: GqKey,
    mv: MvAuthority,
}

fn cert_for(key: &PKey<openssl::pkey::Private>, name: &str, gq_v: Option<&[u8]>) -> Certificate {
    let spec = CertificateSpec {
        subject: name,
        issuer: name,
        serial: NOW,
        not_before_unix: i64::from(NOW) - 2_208_988_800 - 86_400,
        lifetime_days: 365,
        role: CertRole::TrustRoot,
        gq_public: gq_v,
        digest: MessageDigest::md5(),
    };
    let x = build_certificate(&spec, key, key).unwrap();
    Certificate::from_x509(Path::new("bench"), x, NOW - 100_000).unwrap()
}

fn world(bits: u32, rng: &mut rand_chacha::ChaCha20Rng) -> World {
    let key = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
    let ckey = PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap();
    let iff = IffKey::generate(bits).unwrap();
    let gq = GqKey::generate(bits).unwrap();
    let mv = MvAuthority::generate(bits, 4).unwrap();
    let cert = cert_for(&key, "alice", Some(&gq.public_octets()));
    let ccert = cert_for(&ckey, "bob", None);
    let creds = |k: &PKey<openssl::pkey::Private>, c| HostCredentials {
        host_key: k.clone(),
        host_key_fs: NOW - 100_000,
        sign_key: k.clone(),
        cert: c,
        identities: Vec::new(),
        digest: SessionDigest::Md5,
    };
    let mut host = LocalHost::new(creds(&key, cert), NOW, 17, rng).unwrap();
    host.update(NOW);
    let mut client = LocalHost::new(creds(&ckey, ccert), NOW, 17, rng).unwrap();
    client.update(NOW);
    World {
        bits,
        host,
        client,
        iff,
        gq,
        mv,
    }
}

fn ctx() -> RespondContext {
    let a: IpAddr = "10.0.0.1".parse().unwrap();
    let b: IpAddr = "10.0.0.2".parse().unwrap();
    RespondContext {
        assoc_id: 1,
        client: b,
        server: a,
        now: NOW,
        cookie: None,
        auto: None,
    }
}

fn value(resp: &Response) -> SignedValue {
    match resp {
        Response::Cook { value, .. }
        | Response::Cert { value, .. }
        | Response::Sign { value, .. } => value.clone(),
        other => panic!("{other:?}"),
    }
}

fn bench_world(c: &mut Criterion, w: &World, rng: &mut rand_chacha::ChaCha20Rng) {
    let bits = w.bits;
    let ctx = ctx();
    let mut g = c.benchmark_group(format!("autokey-{bits}"));
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(2));
    g.warm_up_time(std::time::Duration::from_millis(500));
    let cook = Request::Cook {
        assoc_id: 1,
        value: w.client.cook_request_value().unwrap(),
    };
    let cert = Request::Cert {
        assoc_id: 1,
        subject: "alice".into(),
        value: SignedValue::unsigned(NOW, NOW, b"alice".to_vec()),
    };
    let sign = Request::Sign {
        assoc_id: 1,
        value: w.client.sign_request_value().unwrap(),
    };
    g.bench_function("server COOK response", |b| {
        b.iter(|| black_box(w.host.respond(&cook, &ctx, rng)))
    });
    g.bench_function("server CERT response", |b| {
        b.iter(|| black_box(w.host.respond(&cert, &ctx, rng)))
    });
    g.bench_function("server SIGN response", |b| {
        b.iter(|| black_box(w.host.respond(&sign, &ctx, rng)))
    });

    let peer = w.host.signer().verifier().unwrap();
    let cook_v = value(&w.host.respond(&cook, &ctx, rng));
    g.bench_function("client verify signature (COOK)", |b| {
        b.iter(|| {
            peer.verify(proto::AutokeyCode::Cook, black_box(&cook_v))
                .unwrap()
        })
    });
    g.bench_function("client decrypt cookie", |b| {
        b.iter(|| decrypt_cookie(w.client.host_key(), black_box(&cook_v.value)).unwrap())
    });
    let data = cook_v.signed_bytes();
    g.bench_function("raw OpenSSL RSA-MD5 sign", |b| {
        b.iter(|| w.host.signer().sign(black_box(&data)).unwrap())
    });

    // Identity schemes.
    let ich = iff::challenge(&w.iff.params, rng).unwrap();
    g.bench_function("server IFF response", |b| {
        b.iter(|| iff::respond(&w.iff, &ich.r, ich.octets.len(), rng).unwrap())
    });
    let iresp = iff::respond(&w.iff, &ich.r, ich.octets.len(), rng).unwrap();
    g.bench_function("client IFF verify", |b| {
        b.iter(|| iff::verify(&w.iff.params, &ich.r, &iresp).unwrap())
    });
    let gparams = w.gq.params().unwrap();
    let gch = gq::challenge(&gparams, rng).unwrap();
    g.bench_function("server GQ response", |b| {
        b.iter(|| gq::respond(&w.gq, &gch.r, rng).unwrap())
    });
    let gresp = gq::respond(&w.gq, &gch.r, rng).unwrap();
    g.bench_function("client GQ verify", |b| {
        b.iter(|| gq::verify(&gparams, &w.gq.v, &gch.r, &gresp).unwrap())
    });
    let mclient = &w.mv.clients[0];
    let mch = mv::challenge(mclient, rng).unwrap();
    g.bench_function("server MV response", |b| {
        b.iter(|| mv::respond(&w.mv.server, &mch.r, rng).unwrap())
    });
    let mresp = mv::respond(&w.mv.server, &mch.r, rng).unwrap();
    g.bench_function("client MV verify", |b| {
        b.iter(|| mv::verify(mclient, &mch.r, &mresp).unwrap())
    });

    // Raw modexp: OpenSSL BIGNUM vs num-bigint at the GQ modulus size.
    let n = &w.gq.n;
    let base = &gch.r;
    let exp = &w.gq.u;
    let mut bctx = BigNumContext::new().unwrap();
    g.bench_function("raw modexp OpenSSL BIGNUM", |b| {
        b.iter(|| {
            let mut r = BigNum::new().unwrap();
            r.mod_exp(base, exp, n, &mut bctx).unwrap();
            r
        })
    });
    let nb = num_bigint::BigUint::from_bytes_be(&n.to_vec());
    let bb = num_bigint::BigUint::from_bytes_be(&base.to_vec());
    let eb = num_bigint::BigUint::from_bytes_be(&exp.to_vec());
    g.bench_function("raw modexp num-bigint", |b| {
        b.iter(|| bb.modpow(black_box(&eb), &nb))
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    for bits in [512, 2048] {
        let w = world(bits, &mut rng);
        bench_world(c, &w, &mut rng);
    }
}

criterion_group!(autokey_benches, benches);
criterion_main!(autokey_benches);
