//! Certificate rules (brief §7, §11.3 rule 11) on the reference
//! fixtures' certificates: parsing, trail, loop and retroactivity checks,
//! and SIGN issuing as the reference does (§7.4).

mod common;

use autokey::cert::{
    check_signed_certificate, issue_certificate, parse_certificate, peer_key, Trail, TrailStep,
};
use autokey::value::Signer;
use autokey::AutokeyError;
use common::client_server;
use keystore::cert::CertRole;

const NOW: u32 = 4_004_770_000;

/// The `tc` run: the server's trusted certificate, the client's
/// self-signed one, the server's signer, and both host names, all as the
/// run's `ntp.conf` files name them.
struct Tc {
    server: keystore::Certificate,
    client: keystore::Certificate,
    signer: Signer,
    sname: String,
    cname: String,
}

fn certs() -> Tc {
    let run = client_server("tc");
    let (s, c) = (&run.server, &run.client);
    let server = s.keys.certificate(s.name()).unwrap();
    let client = c.keys.certificate(c.name()).unwrap();
    let key = s
        .keys
        .host_key(s.name(), s.pw.as_deref())
        .unwrap()
        .value
        .pkey;
    let digest = autokey::status::digest_for_nid(server.signature_nid.as_raw() as u32).unwrap();
    Tc {
        server,
        client,
        signer: Signer::new(key, digest),
        sname: s.name().to_string(),
        cname: c.name().to_string(),
    }
}

#[test]
fn trusted_certificate_completes_a_trail() {
    let Tc {
        server: a,
        sname,
        cname,
        ..
    } = certs();
    let c = parse_certificate(&a.der, a.filestamp, &cname).unwrap();
    assert_eq!(c.role, CertRole::TrustRoot);
    let mut t = Trail::new(&sname, &cname);
    assert_eq!(t.next_subject(), sname);
    assert_eq!(t.accept(&a.der, a.filestamp).unwrap(), TrailStep::Complete);
    assert!(t.server_key().is_some());
    assert_eq!(t.certificates(), &[(sname.clone(), sname, 0x5)]);
}

#[test]
fn untrusted_self_signed_never_completes() {
    let Tc {
        client: b,
        sname,
        cname,
        ..
    } = certs();
    let mut t = Trail::new(&cname, &sname);
    assert_eq!(t.accept(&b.der, b.filestamp).unwrap(), TrailStep::Untrusted);
    assert!(t.trusted().is_none());
}

#[test]
fn malformed_certificates_are_rejected() {
    let Tc {
        server: a, cname, ..
    } = certs();
    let mut trailing = a.der.clone();
    trailing.push(0);
    assert!(matches!(
        parse_certificate(&trailing, a.filestamp, &cname),
        Err(AutokeyError::Certificate { .. })
    ));
    assert!(parse_certificate(&a.der[..a.der.len() - 1], a.filestamp, &cname).is_err());
    assert!(parse_certificate(&[], 0, &cname).is_err());
    // A flipped bit in the self-signature.
    let mut bad = a.der.clone();
    let n = bad.len();
    bad[n - 3] ^= 1;
    assert!(matches!(
        parse_certificate(&bad, a.filestamp, &cname),
        Err(AutokeyError::CertificateVerify { .. })
    ));
    // Retroactive: a filestamp later than notBefore.
    let later = (a.not_before + 2_208_988_800 + 10) as u32;
    assert!(matches!(
        parse_certificate(&a.der, later, &cname),
        Err(AutokeyError::Certificate { .. })
    ));
}

#[test]
fn sign_issues_like_the_reference_and_is_checked() {
    let Tc {
        server: a,
        client: b,
        signer,
        sname,
        cname,
    } = certs();
    let der = issue_certificate(&b.der, &signer, &a, NOW).unwrap();
    let key = peer_key(&a).unwrap();
    let issued = check_signed_certificate(&der, b.filestamp, &b, &sname, &key).unwrap();
    assert_eq!(issued.subject, cname);
    assert_eq!(issued.issuer, sname);
    assert_eq!(issued.serial, u64::from(NOW));
    assert_eq!(issued.not_before + 2_208_988_800, i64::from(NOW));
    assert_eq!(issued.not_after - issued.not_before, 31_536_000);
    assert_eq!(issued.version, b.version);
    // Issued by the server, so the server rejects it as a trail loop.
    assert!(matches!(
        parse_certificate(&der, b.filestamp, &sname),
        Err(AutokeyError::Certificate { .. })
    ));
    // Wrong requester: the server's own certificate back is not "ours"
    // for the client.
    let other = issue_certificate(&a.der, &signer, &a, NOW).unwrap();
    assert!(check_signed_certificate(&other, a.filestamp, &b, &sname, &key).is_err());
    // Claimed by another server.
    let another = format!("not-{sname}");
    assert!(check_signed_certificate(&der, b.filestamp, &b, &another, &key).is_err());
    // Signer outside its validity: XEVNT_PER.
    let e = issue_certificate(&b.der, &signer, &a, NOW + 400 * 86_400).unwrap_err();
    assert_eq!(e.event(), autokey::Xevnt::Per);
}

#[test]
fn the_cache_is_bounded_and_keeps_the_newer_filestamp() {
    // Brief §7.2 step 4, §11.3 rule 15: same subject+issuer replaced only
    // by a later filestamp; distinct certificates capped.
    use autokey::certcache::{CertCache, MAX_CACHED_CERTS};
    let Tc {
        server: a,
        client: b,
        sname,
        ..
    } = certs();
    let mut cache = CertCache::new(&b);
    let server = client_server("tc").server;
    let renamed = |name: &str, fs: u32| {
        let c = common::recertified(server.credentials(), name, CertRole::Plain);
        let mut cert = c.cert;
        cert.filestamp = fs;
        cert
    };
    assert!(cache.install(&a));
    assert!(!cache.install(&a), "same filestamp: discarded");
    let mut newer = renamed(&sname, a.filestamp + 1);
    newer.issuer = a.issuer.clone();
    assert!(cache.install(&newer));
    assert_eq!(
        cache
            .entries()
            .iter()
            .filter(|e| e.subject == sname)
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
