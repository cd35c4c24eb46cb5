//! Criterion benchmarks of the server's NTS work per reply (RFC 8915 §5.7):
//! what `ntpd` spends on one NTS request beyond the NTP reply itself, and
//! the part of it that is AES-SIV alone. The request is the one
//! `ntp-loadgen --nts-ke` sends (bench/README.md, "NTS"): header, unique
//! identifier, one 100-octet cookie, no placeholders, authenticator.
//!
//! Run: `cargo bench -p nts -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use nts::aead::{self, AeadKey};
use nts::client::NtsClient;
use nts::cookie;
use nts::keys::SessionKeys;
use nts::server;
use nts::server_keys::{RotationPolicy, ServerKeys};
use rand::SeedableRng;

fn header(mode: u8) -> [u8; 48] {
    let mut h = [0; 48];
    h[0] = 0x20 | mode;
    h[1] = 2;
    h
}

fn benches(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let keys = ServerKeys::new(0, RotationPolicy::default(), &mut rng);
    let session = SessionKeys {
        c2s: AeadKey::random(&mut rng),
        s2c: AeadKey::random(&mut rng),
    };
    let jar = (0..8)
        .map(|_| cookie::seal(&keys, &session, &mut rng))
        .collect();
    let mut client = NtsClient::new(session.clone(), jar);
    let request = client.request(&header(3), &mut rng).expect("a cookie");
    assert_eq!(
        server::check_request(&request, &keys)
            .unwrap()
            .cookies_wanted,
        1
    );

    c.bench_function("nts_server_reply/check_request+reply", |b| {
        b.iter(|| {
            let checked = server::check_request(black_box(&request), &keys).unwrap();
            black_box(server::reply(&checked, &header(4), &keys, &mut rng))
        })
    });

    // The four AES-SIV operations of one reply on inputs of the same
    // lengths: cookie opened, request authenticator checked, new cookie
    // sealed, reply sealed.
    let master = keys.current().key.clone();
    let nonce = [9u8; aead::NONCE_LEN];
    let cookie_ct = aead::seal(&master, &nonce, &[0; 4], &[1; 64]);
    let request_ad = &request[..request.len() - 36];
    let request_tag = aead::seal(&session.c2s, &nonce, request_ad, &[]);
    c.bench_function("nts_server_reply/aes_siv_only", |b| {
        b.iter(|| {
            let s = aead::open(&master, &nonce, &[0; 4], black_box(&cookie_ct)).unwrap();
            aead::open(&session.c2s, &nonce, request_ad, &request_tag).unwrap();
            black_box(aead::seal(&master, &nonce, &[0; 4], &s));
            black_box(aead::seal(&session.s2c, &nonce, &request[..84], &[2; 104]))
        })
    });
}

criterion_group!(nts_benches, benches);
criterion_main!(nts_benches);
