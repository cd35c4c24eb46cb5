//! The load generator's MACs against digests computed independently
//! (Python's hashlib) over the exact request it sends, plus the RFC 1321 /
//! FIPS 180 "abc" vectors split as key ‖ data.

use ntp_bench::key::{parse_hex, to_hex, MacAlgo, MacCheck, MacKey};
use ntp_bench::wire;

fn key(algo: MacAlgo, hex: &str) -> MacKey {
    MacKey {
        id: 1,
        algo,
        secret: parse_hex(hex).unwrap(),
    }
}

#[test]
fn abc_vectors_hash_key_then_data() {
    let md5 = MacKey {
        id: 1,
        algo: MacAlgo::Md5,
        secret: b"ab".to_vec(),
    };
    assert_eq!(
        to_hex(md5.digest(b"c").unwrap().as_bytes()),
        "900150983cd24fb0d6963f7d28e17f72"
    );
    let sha1 = MacKey {
        algo: MacAlgo::Sha1,
        ..md5
    };
    assert_eq!(
        to_hex(sha1.digest(b"c").unwrap().as_bytes()),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
}

#[test]
fn request_macs_match_independent_digests() {
    let pkt = wire::request(0x0102_0304_0506_0708);
    assert_eq!(
        to_hex(&pkt),
        "230006ec000000000000000000000000000000000000000000000000\
         0000000000000000000000000102030405060708"
    );
    for (k, digest) in [
        (
            key(MacAlgo::Md5, "00112233445566778899aabbccddeeff"),
            "9cb7fa376e8252c92ebd561bab4c9c43",
        ),
        (
            key(MacAlgo::Sha1, "0123456789abcdef0123456789abcdef01234567"),
            "6572c755a5ef1337a646a9714deb93d02e5a8f48",
        ),
    ] {
        let mut buf = [0u8; 128];
        buf[..48].copy_from_slice(&pkt);
        let len = k.append(&mut buf, 48).unwrap();
        assert_eq!(len, 48 + 4 + k.algo.digest_len());
        assert_eq!(to_hex(&buf[48..52]), "00000001", "key ID, big endian");
        assert_eq!(to_hex(&buf[52..len]), digest);
        // What a server returns is checked the same way.
        assert_eq!(k.check(&buf[..len]), MacCheck::Valid);
        let mut bad = buf;
        bad[60] ^= 1;
        assert_eq!(k.check(&bad[..len]), MacCheck::Invalid);
        let mut other_id = buf;
        other_id[51] = 2;
        assert_eq!(k.check(&other_id[..len]), MacCheck::Invalid);
        assert_eq!(k.check(&buf[..48]), MacCheck::Invalid, "no MAC");
    }
}

#[test]
fn crypto_nak_is_recognised() {
    let k = key(MacAlgo::Md5, "00112233445566778899aabbccddeeff");
    let mut buf = [0u8; 52];
    buf[..48].copy_from_slice(&wire::request(1));
    assert_eq!(k.check(&buf), MacCheck::CryptoNak);
}

#[test]
fn append_refuses_short_buffers() {
    let k = key(MacAlgo::Sha1, "0123456789abcdef0123456789abcdef01234567");
    let mut buf = [0u8; 60];
    assert_eq!(k.append(&mut buf, 48), None);
}
