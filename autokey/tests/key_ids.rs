//! Host-wide session key IDs (brief §5.4, reference `make_keylist()`): a
//! new key list never starts at, nor runs into, a key ID that another list
//! of the same host still uses; IDs are released when their list expires.

mod common;

use autokey::association::Association;
use autokey::keylist::{KeyList, KeyListParams};
use autokey::session::next_key_id;
use common::{client_server, rng};

const T0: u32 = 4_004_763_000;

fn assoc(id: u32) -> Association {
    let client = client_server("tc").client;
    let saddr = client.server_addr();
    Association::new(
        client.client_config(id, "10.0.0.2".parse().unwrap(), saddr),
        T0,
    )
}

#[test]
fn a_colliding_start_key_is_skipped() {
    let client = client_server("tc").client;
    // Unsynchronised hosts build one-key lists: the key sent is the random
    // start. Two associations fed identical random streams.
    let host = client.local_host(T0, &mut rng(1));
    let (mut a, mut b) = (assoc(1), assoc(2));
    a.poll(&host, T0, &mut rng(7)).unwrap();
    b.poll(&host, T0, &mut rng(7)).unwrap();
    let (ka, kb) = (a.last_key_id().unwrap(), b.last_key_id().unwrap());
    assert!(ka > 65535 && kb > 65535);
    assert_ne!(ka, kb, "second list must skip the ID in use");
    assert!(host.key_id_in_use(ka, T0) && host.key_id_in_use(kb, T0));
    // Control: on separate hosts the same stream gives the same start.
    let other = client.local_host(T0, &mut rng(1));
    let mut c = assoc(3);
    c.poll(&other, T0, &mut rng(7)).unwrap();
    assert_eq!(c.last_key_id(), Some(ka));
}

#[test]
fn lists_stop_at_a_key_in_use_and_ids_expire() {
    let client = client_server("tc").client;
    let mut host = client.local_host(T0, &mut rng(2));
    host.update(T0);
    let p = KeyListParams {
        digest: host.digest(),
        local: "10.0.0.2".parse().unwrap(),
        remote: "10.0.0.1".parse().unwrap(),
        cookie: 0x1234_5678,
        poll: 4,
        automax: 12,
        synchronised: true,
    };
    let full = KeyList::generate(&p, &mut rng(3), |_| false).unwrap();
    assert_eq!(full.key_ids().len(), 100);
    // Reserve the 11th key of that chain; the same chain now ends before it.
    let ids = full.key_ids();
    host.reserve_key_ids(&ids[10..11], T0, T0 + 100);
    let cut = KeyList::generate(&p, &mut rng(3), |k| host.key_id_in_use(k, T0)).unwrap();
    assert_eq!(cut.key_ids(), &ids[..10]);
    // Its AUTO anchor is still the hash of its last key.
    assert_eq!(
        next_key_id(p.digest, p.local, p.remote, ids[9], p.cookie).unwrap(),
        cut.values().key
    );
    // Expired at T0 + 100: free again, and dropped on the next reservation.
    assert!(host.key_id_in_use(ids[10], T0 + 99));
    assert!(!host.key_id_in_use(ids[10], T0 + 100));
    host.reserve_key_ids(&ids[20..21], T0 + 100, T0 + 200);
    assert_eq!(host.key_ids_recorded(), 1);
    // Lists record their keys for min(2^automax, 100·2^poll) + 2^poll s.
    assert_eq!(KeyList::lifetime(&p), 1600 + 16);
}
