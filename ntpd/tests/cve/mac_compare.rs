//! CVE-2016-1550: the reference compared MAC digests with `memcmp()`,
//! whose time depends on where the first difference is, so an attacker
//! could forge a MAC octet by octet. Every digest comparison of ours —
//! symmetric keys (`ntp_mac::verify`, used by the daemon, ntpq and the
//! benchmark) and Autokey session keys (`SessionKey::verify`) — is the
//! constant-time one: `subtle::ConstantTimeEq` and `openssl::memcmp::eq`.
//!
//! A timing measurement would be noise on a shared machine, so the test
//! reads the two functions and checks that they compare with nothing
//! else, and checks their behaviour at the edges (a difference in the
//! last octet, a truncated digest).

use std::path::Path;

use config::keys::KeyType;

/// The text of `fn NAME` in `source`, up to the next item at the same
/// indentation.
fn function<'a>(source: &'a str, signature: &str) -> &'a str {
    let start = source
        .find(signature)
        .unwrap_or_else(|| panic!("{signature} not found"));
    let indent = source[..start].rsplit('\n').next().unwrap_or("").len();
    let close = format!("\n{}}}", " ".repeat(indent));
    let end = source[start..]
        .find(&close)
        .map_or(source.len(), |e| start + e);
    &source[start..end]
}

#[test]
fn cve_2016_1550_symmetric_mac_digests_are_compared_in_constant_time() {
    let src = include_str!("../../mac/src/lib.rs");
    let body = function(src, "pub fn verify(");
    assert!(body.contains(".ct_eq(digest)"), "{body}");
    // The only `==` compares lengths, which are public.
    assert_eq!(body.matches("==").count(), 1, "{body}");
    assert!(body.contains(".len() == digest.len()"), "{body}");
    assert!(
        !body.contains("memcmp") && !body.contains("starts_with"),
        "{body}"
    );
    // The daemon's KeyRing checks through it.
    let auth = include_str!("../../src/auth/mod.rs");
    assert!(auth.contains("verify(key.kind, &key.secret, authenticated, mac.digest())"));
    // And it refuses a last-octet difference and a short digest.
    let data = [0x23u8; 48];
    for kind in [KeyType::Md5, KeyType::Sha1] {
        let mut buf = data.to_vec();
        buf.resize(48 + 24, 0);
        let n = ntp_mac::append(kind, b"secret", 1, &mut buf, 48).unwrap();
        let digest = buf[52..n].to_vec();
        assert!(ntp_mac::verify(kind, b"secret", &data, &digest));
        let mut last = digest.clone();
        *last.last_mut().unwrap() ^= 1;
        assert!(!ntp_mac::verify(kind, b"secret", &data, &last));
        assert!(!ntp_mac::verify(
            kind,
            b"secret",
            &data,
            &digest[..digest.len() - 1]
        ));
        assert!(!ntp_mac::verify(kind, b"secret", &data, &[]));
    }
}

#[test]
fn cve_2016_1550_autokey_session_key_macs_are_compared_in_constant_time() {
    let src = include_str!("../../../autokey/src/session.rs");
    let body = function(src, "pub fn verify(");
    assert!(
        body.contains("openssl::memcmp::eq(expect.digest(), mac.digest())"),
        "{body}"
    );
    assert!(!body.contains("digest() =="), "{body}");
    let _ = Path::new(file!());
    let key = autokey::SessionKey::derive(
        autokey::SessionDigest::Md5,
        [10, 0, 0, 2].into(),
        [10, 0, 0, 1].into(),
        0x0001_0000,
        0,
    )
    .unwrap();
    let data = [0x23u8; 48];
    let mac = key.mac(&data).unwrap();
    assert!(key.verify(&data, &mac).is_ok());
    let mut d = mac.digest().to_vec();
    *d.last_mut().unwrap() ^= 1;
    let bad = proto::Mac::new(mac.key_id(), &d).unwrap();
    assert!(key.verify(&data, &bad).is_err());
}
