//! NTS extension fields in NTP packets (RFC 8915 §5): arbitrary octets
//! after a header, as a request to the server side (fixed master keys)
//! and as a reply to a client with an outstanding request. Nothing may
//! panic; the client never holds more than eight cookies; nothing forged
//! authenticates.
#![no_main]
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nts::aead::AeadKey;
use nts::client::{NtsClient, MAX_COOKIES};
use nts::keys::SessionKeys;
use nts::server_keys::{RotationPolicy, ServerKeys};
use rand::SeedableRng;

fn server_keys() -> &'static ServerKeys {
    static KEYS: OnceLock<ServerKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        ServerKeys::new(0, RotationPolicy::default(), &mut rng)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut packet = vec![0x23u8; 48];
    packet.extend_from_slice(data);
    if let Ok(req) = nts::server::check_request(&packet, server_keys()) {
        panic!("forged request authenticated: {req:?}");
    }
    let _ = nts::server::unique_id(&packet);
    let keys = SessionKeys {
        c2s: AeadKey::new([1; 32]),
        s2c: AeadKey::new([2; 32]),
    };
    let mut client = NtsClient::new(keys, vec![vec![7; 100]; 2]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    client
        .request(&[0x23; 48], &mut rng)
        .expect("a cookie is left");
    let _ = client.reply(&packet);
    assert!(client.cookies() <= MAX_COOKIES);
});
