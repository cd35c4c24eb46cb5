//! Certificate rules (brief §7, §11.3 rule 11) on the reference
//! fixtures' certificates: parsing, trail, loop and retroactivity checks,
//! and SIGN issuing as the reference does (§7.4).

mod common;

use autokey::cert::{
    check_signed_certificate, issue_certificate, parse_certificate, peer_key, Trail, TrailStep,
};
use autokey::value::Signer;
use autokey::AutokeyError;
use common::fixture_host;
use keystore::cert::CertRole;

const NOW: u32 = 4_004_770_000;

fn certs() -> (keystore::Certificate, keystore::Certificate, Signer) {
    let alice = fixture_host("tc", "alice");
    let bob = fixture_host("tc", "bob");
    let a = alice.keys.certificate(&alice.name).unwrap();
    let b = bob.keys.certificate(&bob.name).unwrap();
    let key = alice
        .keys
        .host_key(&alice.name, alice.pw.as_deref())
        .unwrap()
        .value
        .pkey;
    let digest = autokey::status::digest_for_nid(a.signature_nid.as_raw() as u32).unwrap();
    (a, b, Signer::new(key, digest))
}

#[test]
fn trusted_certificate_completes_a_trail() {
    let (a, _, _) = certs();
    let c = parse_certificate(&a.der, a.filestamp, "bob").unwrap();
    assert_eq!(c.role, CertRole::TrustRoot);
    let mut t = Trail::new("alice", "bob");
    assert_eq!(t.next_subject(), "alice");
    assert_eq!(t.accept(&a.der, a.filestamp).unwrap(), TrailStep::Complete);
    assert!(t.server_key().is_some());
    assert_eq!(
        t.certificates(),
        &[("alice".to_string(), "alice".to_string(), 0x5)]
    );
}

#[test]
fn untrusted_self_signed_never_completes() {
    let (_, b, _) = certs();
    let mut t = Trail::new("bob", "alice");
    assert_eq!(t.accept(&b.der, b.filestamp).unwrap(), TrailStep::Untrusted);
    assert!(t.trusted().is_none());
}

#[test]
fn malformed_certificates_are_rejected() {
    let (a, _, _) = certs();
    let mut trailing = a.der.clone();
    trailing.push(0);
    assert!(matches!(
        parse_certificate(&trailing, a.filestamp, "bob"),
        Err(AutokeyError::Certificate { .. })
    ));
    assert!(parse_certificate(&a.der[..a.der.len() - 1], a.filestamp, "bob").is_err());
    assert!(parse_certificate(&[], 0, "bob").is_err());
    // A flipped bit in the self-signature.
    let mut bad = a.der.clone();
    let n = bad.len();
    bad[n - 3] ^= 1;
    assert!(matches!(
        parse_certificate(&bad, a.filestamp, "bob"),
        Err(AutokeyError::CertificateVerify { .. })
    ));
    // Retroactive: a filestamp later than notBefore.
    let later = (a.not_before + 2_208_988_800 + 10) as u32;
    assert!(matches!(
        parse_certificate(&a.der, later, "bob"),
        Err(AutokeyError::Certificate { .. })
    ));
}

#[test]
fn sign_issues_like_the_reference_and_is_checked() {
    let (a, b, signer) = certs();
    let der = issue_certificate(&b.der, &signer, &a, NOW).unwrap();
    let key = peer_key(&a).unwrap();
    let issued = check_signed_certificate(&der, b.filestamp, &b, "alice", &key).unwrap();
    assert_eq!(issued.subject, "bob");
    assert_eq!(issued.issuer, "alice");
    assert_eq!(issued.serial, u64::from(NOW));
    assert_eq!(issued.not_before + 2_208_988_800, i64::from(NOW));
    assert_eq!(issued.not_after - issued.not_before, 31_536_000);
    assert_eq!(issued.version, b.version);
    // Issued by alice, so alice rejects it as a trail loop.
    assert!(matches!(
        parse_certificate(&der, b.filestamp, "alice"),
        Err(AutokeyError::Certificate { .. })
    ));
    // Wrong requester: alice's own certificate back is not "ours" for bob.
    let other = issue_certificate(&a.der, &signer, &a, NOW).unwrap();
    assert!(check_signed_certificate(&other, a.filestamp, &b, "alice", &key).is_err());
    // Claimed by another server.
    assert!(check_signed_certificate(&der, b.filestamp, &b, "carol", &key).is_err());
    // Signer outside its validity: XEVNT_PER.
    let e = issue_certificate(&b.der, &signer, &a, NOW + 400 * 86_400).unwrap_err();
    assert_eq!(e.event(), autokey::Xevnt::Per);
}

#[test]
fn the_cache_is_bounded_and_keeps_the_newer_filestamp() {
    // Brief §7.2 step 4, §11.3 rule 15: same subject+issuer replaced only
    // by a later filestamp; distinct certificates capped.
    use autokey::certcache::{CertCache, MAX_CACHED_CERTS};
    let (a, b, _) = certs();
    let mut cache = CertCache::new(&b);
    let renamed = |name: &str, fs: u32| {
        let c = common::recertified(
            fixture_host("tc", "alice").credentials(),
            name,
            CertRole::Plain,
        );
        let mut cert = c.cert;
        cert.filestamp = fs;
        cert
    };
    assert!(cache.install(&a));
    assert!(!cache.install(&a), "same filestamp: discarded");
    let mut newer = renamed("alice", a.filestamp + 1);
    newer.issuer = a.issuer.clone();
    assert!(cache.install(&newer));
    assert_eq!(
        cache
            .entries()
            .iter()
            .filter(|e| e.subject == "alice")
            .count(),
        1
    );
    assert_eq!(cache.entries()[0].filestamp, a.filestamp + 1);
    for i in 0..(MAX_CACHED_CERTS + 8) {
        assert!(cache.install(&renamed(&format!("h{i}"), 1)));
    }
    assert_eq!(cache.entries().len(), MAX_CACHED_CERTS);
    // Newest first: the last one installed heads the list.
    assert_eq!(
        cache.entries()[0].subject,
        format!("h{}", MAX_CACHED_CERTS + 7)
    );
}
