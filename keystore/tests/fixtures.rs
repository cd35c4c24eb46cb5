//! Loads every key file the reference ntp-keygen 4.2.8p18 wrote into
//! tests/data/autokey-ref/keys (passwords from its README) and checks the
//! contents: filestamps, certificate fields, identity algebra, and the
//! detection of the reference's lost public values.

use std::path::{Path, PathBuf};

use keystore::cert::CertRole;
use keystore::export;
use keystore::header;
use keystore::keysdir::read_file;
use keystore::pem;
use keystore::{
    GqKey, GqLayout, GqParams, IffKey, IffParams, KeyError, Keysdir, MvClientKey, MvServerKey,
    Scheme,
};
use openssl::bn::{BigNum, BigNumContext};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};

const ALICE_PW: &str = "serverpassword";
const BOB_PW: &str = "clientpassword";
const ALICE_FS: u32 = 4004757732;
const BOB_FS: u32 = 4004757740;

fn keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref/keys")
}

fn runs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref/runs")
}

fn text(path: &Path) -> String {
    read_file(path).unwrap().unwrap()
}

fn first_key(path: &Path, pw: Option<&str>) -> PKey<Private> {
    pem::private_keys(path, &text(path), pw).unwrap().remove(0)
}

/// Unix seconds of an NTP-seconds filestamp.
fn unix(ntp: u32) -> i64 {
    i64::from(ntp) - header::NTP_UNIX_OFFSET as i64
}

fn modexp(a: &BigNum, e: &BigNum, m: &BigNum) -> BigNum {
    let mut r = BigNum::new().unwrap();
    r.mod_exp(a, e, m, &mut BigNumContext::new().unwrap())
        .unwrap();
    r
}

#[test]
fn alice_host_key_and_certificate() {
    let dir = Keysdir::new(keys().join("alice"));
    let host = dir.host_key("alice", Some(ALICE_PW)).unwrap();
    assert_eq!(host.filestamp, ALICE_FS);
    assert_eq!(host.value.bits(), 512);
    assert_eq!(host.value.public_der().unwrap().len(), 74); // COOKIE request value size
    assert!(dir.sign_key("alice", Some(ALICE_PW)).unwrap().is_none());

    let cert = dir.certificate("alice").unwrap();
    assert_eq!(cert.filestamp, ALICE_FS);
    assert_eq!(cert.subject, "alice");
    assert_eq!(cert.issuer, "alice");
    assert_eq!(cert.group(), None);
    assert_eq!(cert.serial, 4004757738);
    assert_eq!(cert.version, 2);
    // valid 2026-11-27 08:42:18 – 2027-11-27 08:42:18 GMT
    assert_eq!(cert.not_before, unix(4004757738));
    assert_eq!(cert.not_after, unix(4004757738) + 365 * 86_400);
    assert_eq!(cert.signature_nid, Nid::MD5WITHRSAENCRYPTION);
    assert_eq!(cert.scheme, "RSA-MD5");
    assert_eq!(cert.digest.map(|d| d.type_()), Some(Nid::MD5));
    assert_eq!(cert.role, CertRole::TrustRoot);
    assert!(cert.is_ca);
    assert!(cert.is_self_signed());
    cert.check_key(&host.value.pkey, &host.path).unwrap();
    // Filestamp older than notBefore: inherited from the host key (brief §8.3).
    assert!(u64::from(cert.filestamp) < cert.serial);

    // The subjectKeyIdentifier is the GQ public key v = the GQkey's q field.
    let gq = dir.gq_key("alice", Some(ALICE_PW)).unwrap().unwrap();
    assert_eq!(
        cert.subject_key_id.as_deref(),
        Some(gq.value.public_octets().as_slice())
    );
}

#[test]
fn bob_host_key_and_certificate() {
    let dir = Keysdir::new(keys().join("bob"));
    let host = dir.host_key("bob", Some(BOB_PW)).unwrap();
    assert_eq!(host.filestamp, BOB_FS);
    let cert = dir.certificate("bob").unwrap();
    assert_eq!(
        (cert.subject.as_str(), cert.issuer.as_str()),
        ("bob", "bob")
    );
    assert_eq!(cert.serial, 4004757740);
    assert_eq!(cert.filestamp, BOB_FS);
    assert_eq!(cert.not_before, unix(BOB_FS));
    assert_eq!(cert.role, CertRole::Plain);
    assert_eq!(cert.subject_key_id, None);
    assert!(cert.is_self_signed());
    cert.check_key(&host.value.pkey, &host.path).unwrap();

    // bob's key does not match alice's certificate.
    let alice_cert = Keysdir::new(keys().join("alice"))
        .certificate("alice")
        .unwrap();
    assert!(matches!(
        alice_cert.check_key(&host.value.pkey, &host.path),
        Err(KeyError::KeyCertMismatch { .. })
    ));
}

#[test]
fn p10_bob_trusted_certificate() {
    let dir = Keysdir::new(keys().join("p10-bob-trusted"));
    let host = dir.host_key("bob", Some(BOB_PW)).unwrap();
    let cert = dir.certificate("bob").unwrap();
    assert_eq!(cert.role, CertRole::TrustRoot);
    assert_eq!(cert.filestamp, BOB_FS);
    cert.check_key(&host.value.pkey, &host.path).unwrap();
}

#[test]
fn wrong_password_is_reported_with_the_file() {
    let dir = Keysdir::new(keys().join("alice"));
    let err = dir.host_key("alice", Some(BOB_PW)).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("ntpkey_host_alice") && msg.contains("password"),
        "{msg}"
    );
    assert!(matches!(
        dir.host_key("alice", None),
        Err(KeyError::WrongPassword { .. })
    ));
    assert!(matches!(
        dir.iff_key("alice", Some("x")),
        Err(KeyError::WrongPassword { .. })
    ));
}

#[test]
fn missing_link_names_what_was_tried() {
    let dir = Keysdir::new(keys().join("bob"));
    let err = dir.host_key("carol", Some(BOB_PW)).unwrap_err();
    assert!(matches!(err, KeyError::NotFound { .. }));
    assert!(err.to_string().contains("ntpkey_host_carol"));
    let err = dir.iff_params("carol", None).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("ntpkey_iffpar_carol") && msg.contains("ntpkey_iff_carol"),
        "{msg}"
    );
}

#[test]
fn alice_iff_key_stock_file_is_usable() {
    let dir = Keysdir::new(keys().join("alice"));
    let iff = dir.iff_key("alice", Some(ALICE_PW)).unwrap().unwrap();
    assert_eq!(iff.filestamp, ALICE_FS);
    let k = &iff.value;
    assert_eq!(k.params.p.num_bits(), 512);
    assert_eq!(k.params.q.num_bits(), 160);
    assert!(k.verify().unwrap());
    // The transcript's -D dump of command #3 shows this g.
    assert!(k.params.g.to_hex_str().unwrap().starts_with("A566FB65D006"));
}

#[test]
fn alice_gq_key_stock_layout() {
    let dir = Keysdir::new(keys().join("alice"));
    let gq = dir.gq_key("alice", Some(ALICE_PW)).unwrap().unwrap();
    assert_eq!(gq.filestamp, ALICE_FS);
    assert_eq!(gq.value.layout, GqLayout::Stock);
    assert_eq!(gq.value.n.num_bits(), 512);
    assert!(gq.value.verify().unwrap());
}

#[test]
fn alice_mv_files_lost_their_public_values() {
    let dir = Keysdir::new(keys().join("alice"));
    for err in [
        dir.mv_key("alice", Some(ALICE_PW)).unwrap_err(),
        dir.mv_authority("alice", Some(ALICE_PW)).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                KeyError::PublicValueLost {
                    scheme: Scheme::Mv,
                    ..
                }
            ),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("PKCS#8") && msg.contains("ntp-keygen -V"),
            "{msg}"
        );
    }
    // The whole start-up set fails on the stock MV server key, naming it.
    let err = dir.host_set("alice", "alice", Some(ALICE_PW)).unwrap_err();
    assert!(err.to_string().contains("ntpkey_mvkey_alice"), "{err}");

    // MVta: 7 keys (authority, server, 5 clients), all decrypt.
    let path = keys().join("alice/ntpkey_mvta_alice");
    let all = pem::private_keys(&path, &text(&path), Some(ALICE_PW)).unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(
        header::parse_filestamp(&path, &text(&path)).unwrap(),
        ALICE_FS
    );
}

#[test]
fn bob_stock_client_parameters() {
    let dir = Keysdir::new(keys().join("bob"));
    // IFF: v became g when OpenSSL loaded the PKCS#8 file.
    let err = dir.iff_params("alice", None).unwrap_err();
    assert!(
        matches!(
            err,
            KeyError::PublicValueLost {
                scheme: Scheme::Iff,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ntpkey_iffpar_alice"));
    // MV: x̂ became 1.
    let err = dir.mv_client("alice", None).unwrap_err();
    assert!(
        matches!(
            err,
            KeyError::PublicValueLost {
                scheme: Scheme::Mv,
                ..
            }
        ),
        "{err}"
    );
    // GQ: stock layout, b in the e slot; matches alice's key.
    let gq = dir.gq_params("alice", None).unwrap();
    assert_eq!(gq.filestamp, ALICE_FS);
    assert_eq!(gq.value.layout, GqLayout::Stock);
    let server = Keysdir::new(keys().join("alice"))
        .gq_key("alice", Some(ALICE_PW))
        .unwrap()
        .unwrap();
    assert_eq!(gq.value.n, server.value.n);
    assert_eq!(gq.value.b, server.value.b);
    // v from alice's certificate belongs to these parameters.
    let cert = Keysdir::new(keys().join("alice"))
        .certificate("alice")
        .unwrap();
    assert!(gq
        .value
        .accepts_public(cert.subject_key_id.as_deref().unwrap()));
}

#[test]
fn repaired_files_work_and_match_the_genuine_ones() {
    let rep = keys().join("repaired");
    let alice = Keysdir::new(keys().join("alice"));
    let iff_server = alice
        .iff_key("alice", Some(ALICE_PW))
        .unwrap()
        .unwrap()
        .value;
    let gq_server = alice
        .gq_key("alice", Some(ALICE_PW))
        .unwrap()
        .unwrap()
        .value;

    // IFF client: traditional DSA with v = g^(q-b).
    let p = rep.join("ntpkey_iffpar_alice.4004757732");
    assert!(text(&p).contains("BEGIN DSA PRIVATE KEY"));
    let iff = IffParams::from_pkey(&p, &first_key(&p, None)).unwrap();
    assert_eq!(iff.v, iff_server.params.v);
    assert_eq!(iff.p, iff_server.params.p);
    assert_eq!(header::parse_filestamp(&p, &text(&p)).unwrap(), ALICE_FS);

    // GQ server: interop layout with the same n, b, u, v.
    let p = rep.join("ntpkey_gqkey_alice.4004757732");
    let gq = GqKey::from_pkey(&p, &first_key(&p, Some(ALICE_PW))).unwrap();
    assert_eq!(gq.layout, GqLayout::Interop);
    assert_eq!(
        (&gq.n, &gq.b, &gq.u, &gq.v),
        (&gq_server.n, &gq_server.b, &gq_server.u, &gq_server.v)
    );
    let p = rep.join("ntpkey_gqpar_alice.4004757732");
    let gqp = GqParams::from_pkey(&p, &first_key(&p, None)).unwrap();
    assert_eq!(gqp.layout, GqLayout::Interop);
    assert_eq!(gqp.b, gq_server.b);

    // MV: server and client 1 verify each other; private values equal the
    // genuine MVta blocks 1 and 2.
    let p = rep.join("ntpkey_mvkey_alice.4004757732");
    assert!(text(&p).contains("Proc-Type: 4,ENCRYPTED"));
    let mv = MvServerKey::from_pkey(&p, &first_key(&p, Some(ALICE_PW))).unwrap();
    let p = rep.join("ntpkey_mvpar_alice.4004757732");
    let client = MvClientKey::from_pkey(&p, &first_key(&p, None)).unwrap();
    assert!(mv.accepts(&client).unwrap());
    let ta = keys().join("alice/ntpkey_MVta_alice.4004757732");
    let blocks = pem::private_keys(&ta, &text(&ta), Some(ALICE_PW)).unwrap();
    assert_eq!(blocks[1].dsa().unwrap().priv_key(), &*mv.gbar);
    assert_eq!(blocks[2].dsa().unwrap().priv_key(), &*client.xbar);
    assert_eq!(blocks[1].dsa().unwrap().p(), &*mv.p);
    // The stock mvpar has the same x̄ (README §5).
    let stock = keys().join("bob/ntpkey_mvpar_alice");
    assert_eq!(
        first_key(&stock, None).dsa().unwrap().priv_key(),
        &*client.xbar
    );
    // Other client keys are not accepted by a different server: tamper.
    let wrong = MvClientKey {
        p: client.p.to_owned().unwrap(),
        xbar: client.xhat.to_owned().unwrap(),
        xhat: client.xbar.to_owned().unwrap(),
    };
    assert!(!mv.accepts(&wrong).unwrap());
}

#[test]
fn exports_split_and_load() {
    let ex = keys().join("export");
    // 01 failed before writing anything.
    assert!(export::split(&text(
        &ex.join("01_e_q-serverpassword_p-clientpassword.stdout")
    ))
    .is_empty());
    // 03: unencrypted client parameters GQ, IFF, MV.
    let blocks = export::split(&text(&ex.join("03_e_p-serverpassword.stdout")));
    let names: Vec<_> = blocks.iter().map(|b| b.link_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ntpkey_gqpar_alice",
            "ntpkey_iffpar_alice",
            "ntpkey_mvpar_alice"
        ]
    );
    for b in &blocks {
        assert_eq!(b.text, text(&ex.join("03_split").join(&b.file_name)));
        assert_eq!(
            header::parse_filestamp(Path::new(&b.file_name), &b.text).unwrap(),
            ALICE_FS
        );
    }
    // The split copy installed on bob is the same file.
    assert_eq!(
        text(&ex.join("03_split/ntpkey_gqpar_alice.4004757732")),
        text(&keys().join("bob/ntpkey_gqpar_alice.4004757732"))
    );
    // 04 and 05: server keys encrypted with the -q password.
    for (file, dir, pw, other) in [
        (
            "04_p-serverpassword_q-clientpassword.stdout",
            "04_split",
            BOB_PW,
            ALICE_PW,
        ),
        (
            "05_p-serverpassword_q-serverpassword.stdout",
            "05_split",
            ALICE_PW,
            BOB_PW,
        ),
    ] {
        let blocks = export::split(&text(&ex.join(file)));
        let names: Vec<_> = blocks.iter().map(|b| b.link_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ntpkey_gqkey_alice",
                "ntpkey_iffkey_alice",
                "ntpkey_mvkey_alice"
            ]
        );
        let d = Keysdir::new(ex.join(dir));
        // Split files are named with the filestamp; load them by path.
        let load = |n: &str, pw| {
            let p = d.path().join(format!("{n}.{ALICE_FS}"));
            pem::private_keys(&p, &text(&p), pw).map(|mut k| (p, k.remove(0)))
        };
        let (p, k) = load("ntpkey_gqkey_alice", Some(pw)).unwrap();
        assert!(GqKey::from_pkey(&p, &k).unwrap().verify().unwrap());
        let (p, k) = load("ntpkey_iffkey_alice", Some(pw)).unwrap();
        assert!(IffKey::from_pkey(&p, &k).unwrap().verify().unwrap());
        let (p, k) = load("ntpkey_mvkey_alice", Some(pw)).unwrap();
        assert!(matches!(
            MvServerKey::from_pkey(&p, &k),
            Err(KeyError::PublicValueLost { .. })
        ));
        assert!(matches!(
            load("ntpkey_iffkey_alice", Some(other)),
            Err(KeyError::WrongPassword { .. })
        ));
    }
    // 02: the crashed run's GQ key block was exported from a freed key
    // (all fields 0); it must be rejected, not accepted or panic.
    let blocks = export::split(&text(
        &ex.join("02_e_p-serverpassword_q-clientpassword.stdout"),
    ));
    assert_eq!(blocks.len(), 2);
    let p = Path::new(&blocks[1].file_name);
    let r = pem::private_keys(p, &blocks[1].text, Some(BOB_PW))
        .and_then(|k| GqKey::from_pkey(p, &k[0]));
    assert!(r.is_err());
    let p = Path::new(&blocks[0].file_name);
    let gqp =
        GqParams::from_pkey(p, &pem::private_keys(p, &blocks[0].text, None).unwrap()[0]).unwrap();
    assert_eq!(gqp.layout, GqLayout::Stock);
}

#[test]
fn every_run_keysdir_loads_as_ntpd_would() {
    // (run, server ident files present, client scheme file, expect ok)
    let mut seen = 0;
    for entry in std::fs::read_dir(runs()).unwrap() {
        let run = entry.unwrap().path();
        let name = run.file_name().unwrap().to_string_lossy().to_string();
        let alice = Keysdir::new(run.join("alice/keys"));
        let bob = Keysdir::new(run.join("bob/keys"));
        let bob_pw = Some(BOB_PW);
        // bob's own keys load in every run.
        let set = bob.host_set("bob", "bob", bob_pw).unwrap();
        assert_eq!(set.host_key.filestamp, BOB_FS, "{name}");
        // alice's start-up set: fails only where the stock MV key is used.
        let alice_set = alice.host_set("alice", "alice", Some(ALICE_PW));
        if name == "mv-keygen-files" {
            assert!(
                matches!(alice_set, Err(KeyError::PublicValueLost { .. })),
                "{name}"
            );
        } else {
            let s = alice_set.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.cert.subject, "alice");
        }
        // bob's identity file for the run, if any.
        let iff = bob.iff_params("alice", None);
        let gq = bob.gq_params("alice", None);
        let mv = bob.mv_client("alice", None);
        match name.as_str() {
            "iff" | "bcast-iff" | "p10-bcast-iff" => {
                let v = iff.unwrap().value.v;
                let server = alice.iff_key("alice", Some(ALICE_PW)).unwrap().unwrap();
                assert_eq!(v, server.value.params.v, "{name}");
            }
            "iff-keygen-files" => assert!(matches!(iff, Err(KeyError::PublicValueLost { .. }))),
            "gq" => assert_eq!(gq.unwrap().value.layout, GqLayout::Interop),
            "gq-keygen-files" => assert_eq!(gq.unwrap().value.layout, GqLayout::Stock),
            "mv" => {
                let server = alice.mv_key("alice", Some(ALICE_PW)).unwrap().unwrap();
                assert!(server.value.accepts(&mv.unwrap().value).unwrap());
            }
            "mv-keygen-files" => assert!(matches!(mv, Err(KeyError::PublicValueLost { .. }))),
            _ => {
                assert!(matches!(iff, Err(KeyError::NotFound { .. })), "{name}");
                assert!(matches!(gq, Err(KeyError::NotFound { .. })), "{name}");
                assert!(matches!(mv, Err(KeyError::NotFound { .. })), "{name}");
            }
        }
        seen += 1;
    }
    assert_eq!(seen, 11);
}

#[test]
fn iff_algebra_relation_on_fixture() {
    // v · g^b ≡ 1 (mod p) and g^q ≡ 1 (mod p) for alice's genuine key.
    let k = Keysdir::new(keys().join("alice"))
        .iff_key("alice", Some(ALICE_PW))
        .unwrap()
        .unwrap()
        .value;
    let gq = modexp(&k.params.g, &k.params.q, &k.params.p);
    assert_eq!(gq, BigNum::from_u32(1).unwrap());
}

#[test]
fn mismatched_key_and_certificate_in_a_keysdir() {
    // bob's host key linked beside alice's certificate under bob's names.
    let d = tempfile::tempdir().unwrap();
    let k = keys();
    std::os::unix::fs::symlink(
        k.join("bob/ntpkey_RSAhost_bob.4004757740"),
        d.path().join("ntpkey_host_bob"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        k.join("alice/ntpkey_RSA-MD5cert_alice.4004757732"),
        d.path().join("ntpkey_cert_bob"),
    )
    .unwrap();
    let err = Keysdir::new(d.path())
        .host_set("bob", "bob", Some(BOB_PW))
        .unwrap_err();
    assert!(matches!(err, KeyError::KeyCertMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("ntpkey_cert_bob") && msg.contains("ntpkey_host_bob"),
        "{msg}"
    );
    // A dangling link is named as such.
    std::os::unix::fs::symlink("nowhere.1", d.path().join("ntpkey_host_carol")).unwrap();
    let err = Keysdir::new(d.path())
        .host_key("carol", Some(BOB_PW))
        .unwrap_err();
    assert!(matches!(err, KeyError::DanglingLink { .. }), "{err}");
}

#[test]
fn mvta_blocks_hold_the_reference_layout() {
    // Index 0 authority (p, q, g, A), 1 server (p, q, E, ḡ), 2..6 clients
    // (p, 1, 1, x̄ⱼ), all with the same p; every public value is the one
    // OpenSSL recomputed (g^priv), i.e. lost.
    let path = keys().join("alice/ntpkey_MVta_alice.4004757732");
    let blocks = pem::private_keys(&path, &text(&path), Some(ALICE_PW)).unwrap();
    let one = BigNum::from_u32(1).unwrap();
    let p0 = blocks[0].dsa().unwrap().p().to_owned().unwrap();
    assert_eq!(p0.num_bits(), 511);
    // The -D 1 dump in the transcript: authority private A starts 1f:ad:49:70.
    assert!(blocks[0]
        .dsa()
        .unwrap()
        .priv_key()
        .to_hex_str()
        .unwrap()
        .starts_with("1FAD4970"));
    for (i, k) in blocks.iter().enumerate() {
        let d = k.dsa().unwrap();
        assert_eq!(d.p(), &*p0, "block {i}");
        let recomputed = modexp(
            &d.g().to_owned().unwrap(),
            &d.priv_key().to_owned().unwrap(),
            &p0,
        );
        assert_eq!(
            d.pub_key(),
            &*recomputed,
            "block {i}: public value was recomputed"
        );
        if i >= 2 {
            assert_eq!((d.q(), d.g()), (&*one, &*one), "client block {i}");
        } else {
            assert_ne!(d.q(), &*one);
        }
    }
    // The server block's q is the product of the 5 primes (510 bits).
    assert_eq!(blocks[1].dsa().unwrap().q().num_bits(), 510);
}
