//! The files our `ntp-keygen` writes are read by an independent reader, the
//! OpenSSL command line (`openssl pkey`, `x509`, `dsa`, `rsa`), with the
//! password, and hold the values the reference ntpd expects in each slot.

use std::fs;
use std::path::Path;
use std::process::Command;

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn keygen(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_ntp-keygen"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `openssl args...` in `dir`; returns stdout, panics on failure.
fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl CLI");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn openssl_fails(dir: &Path, args: &[&str]) -> bool {
    !Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn openssl_reads_every_file_we_write() {
    let h = hostname();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    keygen(dir, &["-T", "-I", "-p", "serverpassword"]);
    keygen(dir, &["-G", "-p", "serverpassword", "-S", "RSA"]);
    keygen(dir, &["-V", "5", "-p", "serverpassword"]);
    let pass = "pass:serverpassword";

    // Host and sign keys: encrypted PKCS#8 RSA.
    for link in [format!("ntpkey_host_{h}"), format!("ntpkey_sign_{h}")] {
        let text = openssl(
            dir,
            &["pkey", "-in", &link, "-passin", pass, "-noout", "-text"],
        );
        assert!(text.contains("Private-Key: (512 bit"), "{link}: {text}");
        openssl(
            dir,
            &["rsa", "-in", &link, "-passin", pass, "-check", "-noout"],
        );
        assert!(openssl_fails(
            dir,
            &["pkey", "-in", &link, "-passin", "pass:wrong", "-noout"]
        ));
    }

    // Certificate: self-signed by the sign key, trustRoot, GQ key in the SKI.
    let cert = format!("ntpkey_cert_{h}");
    let text = openssl(dir, &["x509", "-in", &cert, "-noout", "-text"]);
    for needle in [
        format!("Subject: CN = {h}"),
        format!("Issuer: CN = {h}"),
        "Signature Algorithm: md5WithRSAEncryption".to_string(),
        "CA:TRUE".to_string(),
        "Digital Signature, Certificate Sign".to_string(),
        "Trust Root".to_string(),
        "X509v3 Subject Key Identifier".to_string(),
    ] {
        assert!(text.contains(&needle), "{needle}\n{text}");
    }
    let cert_pub = openssl(dir, &["x509", "-in", &cert, "-noout", "-pubkey"]);
    let sign_pub = openssl(
        dir,
        &[
            "pkey",
            "-in",
            &format!("ntpkey_sign_{h}"),
            "-passin",
            pass,
            "-pubout",
        ],
    );
    assert_eq!(cert_pub, sign_pub);

    // IFF: traditional DSA keeping v; OpenSSL prints the stored public value.
    let iff = format!("ntpkey_iffkey_{h}");
    let text = openssl(
        dir,
        &["dsa", "-in", &iff, "-passin", pass, "-noout", "-text"],
    );
    assert!(text.contains("pub:") && text.contains("priv:"), "{text}");
    let t = openssl(
        dir,
        &["pkey", "-in", &iff, "-passin", pass, "-noout", "-text"],
    );
    assert!(t.contains("P:") || t.contains("prime P:"), "{t}");

    // GQ: PKCS#8 RSA, interop slots (d = b is not 1).
    let gq = format!("ntpkey_gqkey_{h}");
    let text = openssl(
        dir,
        &["rsa", "-in", &gq, "-passin", pass, "-noout", "-text"],
    );
    assert!(
        text.contains("privateExponent:\n"),
        "d must be the group key, not 1: {text}"
    );
    assert!(text.contains("exponent1: 1 (0x1)"), "{text}");

    // MV: the MVta file's first key and the server key read as DSA.
    for link in [format!("ntpkey_mvta_{h}"), format!("ntpkey_mvkey_{h}")] {
        let text = openssl(
            dir,
            &["dsa", "-in", &link, "-passin", pass, "-noout", "-text"],
        );
        assert!(text.contains("pub:"), "{link}: {text}");
    }

    // Exports: client parameter files unencrypted, server keys with -q's.
    let out = Command::new(env!("CARGO_BIN_EXE_ntp-keygen"))
        .args(["-e", "-p", "serverpassword", "-q", "clientpassword"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stream = String::from_utf8(out.stdout).unwrap();
    for block in keystore::export::split(&stream) {
        let f = dir.join(&block.link_name);
        fs::write(&f, &block.text).unwrap();
        let name = block.link_name.clone();
        if name.contains("par_") {
            openssl(dir, &["pkey", "-in", &name, "-passin", "pass:", "-noout"]);
        } else {
            openssl(
                dir,
                &[
                    "pkey",
                    "-in",
                    &name,
                    "-passin",
                    "pass:clientpassword",
                    "-noout",
                ],
            );
            assert!(openssl_fails(
                dir,
                &["pkey", "-in", &name, "-passin", pass, "-noout"]
            ));
        }
    }
    let text = openssl(
        dir,
        &[
            "dsa",
            "-in",
            &format!("ntpkey_iffpar_{h}"),
            "-noout",
            "-text",
        ],
    );
    assert!(text.contains("priv: 1 (0x1)"), "{text}");
}
