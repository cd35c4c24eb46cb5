//! Runs our `ntp-keygen` binary in temporary key directories and checks the
//! files, links, modes, header lines, filestamps, exports and the one-line
//! errors an operator meets.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use keystore::export;
use keystore::header;
use keystore::keysdir::read_file;
use keystore::{CertRole, GqLayout, KeyError, Keysdir};

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn keygen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ntp-keygen"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> (String, String) {
    let out = keygen(dir, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {err}");
    (String::from_utf8(out.stdout).unwrap(), err)
}

/// Fails with exactly one `ntp-keygen: ...` line on stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = keygen(dir, args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let last = err.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("ntp-keygen: "), "{err}");
    last
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let content = fs::read(e.path()).unwrap_or_default();
            (name, content)
        })
        .collect();
    v.sort();
    v
}

fn target(dir: &Path, link: &str) -> String {
    fs::read_link(dir.join(link)).unwrap().display().to_string()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn trusted_host_files_links_modes_and_headers() {
    let h = hostname();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    ok(dir, &["-T", "-I", "-p", "serverpassword"]);
    let host_target = target(dir, &format!("ntpkey_host_{h}"));
    let fs_str = host_target.rsplit_once('.').unwrap().1.to_string();
    let fstamp: u32 = fs_str.parse().unwrap();
    assert_eq!(host_target, format!("ntpkey_RSAhost_{h}.{fstamp}"));
    assert_eq!(
        target(dir, &format!("ntpkey_cert_{h}")),
        format!("ntpkey_RSA-MD5cert_{h}.{fstamp}")
    );
    assert_eq!(
        target(dir, &format!("ntpkey_iffkey_{h}")),
        format!("ntpkey_IFFkey_{h}.{fstamp}")
    );
    for (file, m) in [
        (format!("ntpkey_RSAhost_{h}.{fstamp}"), 0o600),
        (format!("ntpkey_IFFkey_{h}.{fstamp}"), 0o600),
        (format!("ntpkey_RSA-MD5cert_{h}.{fstamp}"), 0o640),
    ] {
        assert_eq!(mode(&dir.join(&file)), m, "{file}");
        let text = fs::read_to_string(dir.join(&file)).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), format!("# {file}"));
        let date = lines.next().unwrap();
        assert!(date.starts_with("# ") && date.len() == 26, "{date:?}");
        assert_eq!(lines.next().unwrap(), "");
        assert!(lines.next().unwrap().starts_with("-----BEGIN "));
    }
    let host_text = fs::read_to_string(dir.join(&host_target)).unwrap();
    assert!(host_text.contains("BEGIN ENCRYPTED PRIVATE KEY"));
    let iff_text = fs::read_to_string(dir.join(format!("ntpkey_iffkey_{h}"))).unwrap();
    assert!(
        iff_text.contains("BEGIN DSA PRIVATE KEY") && iff_text.contains("DEK-Info: DES-EDE3-CBC")
    );

    let kd = Keysdir::new(dir);
    let set = kd.host_set(&h, &h, Some("serverpassword")).unwrap();
    assert_eq!(set.host_key.filestamp, fstamp);
    assert_eq!(set.cert.role, CertRole::TrustRoot);
    assert_eq!(set.cert.subject, h);
    assert_eq!(
        set.cert.serial,
        u64::from(set.cert.filestamp).max(set.cert.serial)
    );
    assert_eq!(set.cert.not_after - set.cert.not_before, 365 * 86_400);
    assert!(set.iff.unwrap().value.verify().unwrap());

    // A later run reuses the host key; new files inherit its filestamp.
    ok(
        dir,
        &["-G", "-p", "serverpassword", "-c", "RSA-SHA256", "-l", "30"],
    );
    assert_eq!(
        target(dir, &format!("ntpkey_gqkey_{h}")),
        format!("ntpkey_GQkey_{h}.{fstamp}")
    );
    assert_eq!(
        target(dir, &format!("ntpkey_cert_{h}")),
        format!("ntpkey_RSA-SHA256cert_{h}.{fstamp}")
    );
    let set = kd.host_set(&h, &h, Some("serverpassword")).unwrap();
    assert_eq!(set.cert.scheme, "RSA-SHA256");
    assert_eq!(
        set.cert.role,
        CertRole::TrustRoot,
        "trustRoot is inherited without -T"
    );
    assert_eq!(set.cert.not_after - set.cert.not_before, 30 * 86_400);
    assert_eq!(set.gq.as_ref().unwrap().value.layout, GqLayout::Interop);
    assert_eq!(set.gq.as_ref().unwrap().filestamp, fstamp);
    // The scheme is inherited from the old certificate too.
    ok(dir, &["-p", "serverpassword"]);
    assert_eq!(kd.certificate(&h).unwrap().scheme, "RSA-SHA256");
    // The digest alone names the scheme, as in the reference.
    ok(dir, &["-p", "serverpassword", "-c", "SHA1"]);
    assert_eq!(
        target(dir, &format!("ntpkey_cert_{h}")),
        format!("ntpkey_RSA-SHA1cert_{h}.{fstamp}")
    );
    let cert = kd.certificate(&h).unwrap();
    assert_eq!(cert.scheme, "RSA-SHA1");
    assert!(cert.is_valid_at(cert.not_before) && !cert.is_valid_at(cert.not_after + 1));
    // No temporary files are left.
    assert!(listing(dir).iter().all(|(n, _)| n.starts_with("ntpkey_")));
}

#[test]
fn ntp428_exports_e_and_q_together() {
    let h = hostname();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    ok(dir, &["-T", "-I", "-p", "serverpassword"]);
    ok(dir, &["-G", "-p", "serverpassword"]);
    ok(dir, &["-V", "5", "-p", "serverpassword"]);
    // The reference crashed on -e with -q; ours writes both sets.
    let (out, err) = ok(dir, &["-e", "-p", "serverpassword", "-q", "clientpassword"]);
    assert!(!err.contains("guide's meaning"), "{err}");
    let blocks = export::split(&out);
    let names: Vec<_> = blocks.iter().map(|b| b.link_name.clone()).collect();
    assert_eq!(
        names,
        ["gqpar", "gqkey", "iffpar", "iffkey", "mvpar", "mvkey"].map(|k| format!("ntpkey_{k}_{h}"))
    );
    let client = tempfile::tempdir().unwrap();
    for b in &blocks {
        let fs = header::parse_filestamp(Path::new(&b.file_name), &b.text).unwrap();
        assert_eq!(b.file_name, format!("{}.{fs}", b.link_name));
        let encrypted = b.text.contains("ENCRYPTED");
        assert_eq!(encrypted, !b.link_name.contains("par_"), "{}", b.file_name);
        fs::write(client.path().join(&b.link_name), &b.text).unwrap();
    }
    // Client parameters load without a password, server keys with -q's.
    let cd = Keysdir::new(client.path());
    let server = Keysdir::new(dir);
    let iff = cd.iff_params(&h, None).unwrap();
    let iff_server = server.iff_key(&h, Some("serverpassword")).unwrap().unwrap();
    assert_eq!(iff.value.v, iff_server.value.params.v);
    assert_eq!(iff.filestamp, iff_server.filestamp);
    assert!(cd.gq_params(&h, None).is_ok());
    let mv = cd.mv_client(&h, None).unwrap();
    let mvkey = cd.mv_key(&h, Some("clientpassword")).unwrap().unwrap();
    assert!(mvkey.value.accepts(&mv.value).unwrap());
    assert!(cd
        .iff_key(&h, Some("clientpassword"))
        .unwrap()
        .unwrap()
        .value
        .verify()
        .unwrap());
    assert!(matches!(
        cd.gq_key(&h, Some("serverpassword")),
        Err(KeyError::WrongPassword { .. })
    ));
    // -V also wrote and linked the MV server key for ntpd.
    let mvkey_local = server.mv_key(&h, Some("serverpassword")).unwrap().unwrap();
    assert!(mvkey_local.value.accepts(&mv.value).unwrap());
}

#[test]
fn group_names_subject_and_sign_key() {
    let h = hostname();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    ok(dir, &["-T", "-I", "-i", "grp", "-p", "pw", "-S", "RSA"]);
    let kd = Keysdir::new(dir);
    // Files named after the group, linked under host and group.
    assert!(target(dir, &format!("ntpkey_iffkey_{h}")).starts_with("ntpkey_IFFkey_grp."));
    assert!(target(dir, "ntpkey_iffkey_grp").starts_with("ntpkey_IFFkey_grp."));
    assert!(target(dir, &format!("ntpkey_sign_{h}")).starts_with(&format!("ntpkey_RSAsign_{h}.")));
    let set = kd.host_set(&h, "grp", Some("pw")).unwrap();
    assert_eq!(set.cert.subject, format!("{h}@grp"));
    assert_eq!(set.cert.group(), Some("grp"));
    // The certificate carries the sign key, not the host key.
    let sign = set.sign_key.unwrap();
    set.cert.check_key(&sign.value.pkey, &sign.path).unwrap();
    assert!(set
        .cert
        .check_key(&set.host_key.value.pkey, &set.host_key.path)
        .is_err());
    // Later runs find the group's files (reference: silently not).
    let (out, _) = ok(dir, &["-e", "-i", "grp", "-p", "pw"]);
    assert_eq!(export::split(&out).len(), 1);

    // -s host names the files, -P makes a private certificate.
    let d2 = tempfile::tempdir().unwrap();
    ok(d2.path(), &["-s", "alice", "-P", "-p", "pw", "-m", "1024"]);
    let kd2 = Keysdir::new(d2.path());
    let set = kd2.host_set("alice", "alice", Some("pw")).unwrap();
    assert_eq!(set.cert.subject, "alice");
    assert_eq!(set.cert.role, CertRole::Private);
    assert_eq!(set.host_key.value.bits(), 1024);
}

#[test]
fn symmetric_keys_file() {
    let h = hostname();
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["-M"]);
    let t = target(d.path(), "ntp.keys");
    assert!(t.starts_with(&format!("ntpkey_MD5key_{h}.")), "{t}");
    assert_eq!(mode(&d.path().join(&t)), 0o600);
    let text = read_file(&d.path().join("ntp.keys")).unwrap().unwrap();
    assert_eq!(text.lines().filter(|l| l.contains(" MD5 ")).count(), 10);
    assert_eq!(text.lines().filter(|l| l.contains(" SHA1 ")).count(), 10);
    // -M writes nothing else.
    assert_eq!(listing(d.path()).len(), 2);
}

#[test]
fn operator_errors_are_one_line_and_change_nothing() {
    let h = hostname();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    ok(dir, &["-T", "-I", "-p", "serverpassword"]);
    let before = listing(dir);

    // -H replaces the host key without needing the old password.
    let other = tempfile::tempdir().unwrap();
    ok(other.path(), &["-p", "old"]);
    ok(other.path(), &["-H", "-p", "new"]);
    assert!(Keysdir::new(other.path())
        .host_set(&h, &h, Some("new"))
        .is_ok());

    // Wrong password (the 4.2.8 reading of the guide's export fails the same).
    let e = fails(dir, &["-p", "wrong"]);
    assert!(
        e.contains(&format!("ntpkey_host_{h}")) && e.contains("password"),
        "{e}"
    );
    let e = fails(dir, &["-e", "-q", "x", "-p", "y"]);
    assert!(e.contains("wrong password"), "{e}");
    // -V rules from the guide.
    for n in ["4", "16", "31", "0"] {
        let e = fails(dir, &["-V", n, "-p", "serverpassword"]);
        assert!(e.contains("factor of 512"), "{e}");
    }
    // Unknown scheme / cipher / option.
    assert!(fails(dir, &["-c", "RSA-MD2", "-p", "serverpassword"]).contains("RSA-SHA256"));
    assert!(fails(dir, &["-C", "nonsense", "-p", "serverpassword"]).contains("cipher"));
    assert!(fails(dir, &["-Z"]).contains("unknown option"));
    assert!(listing(dir) == before, "a failed run changed files");

    // Corrupt host key file.
    let host_file = target(dir, &format!("ntpkey_host_{h}"));
    let good = fs::read(dir.join(&host_file)).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    fs::write(dir.join(&host_file), &bad).unwrap();
    let e = fails(dir, &["-p", "serverpassword"]);
    assert!(e.contains(&format!("ntpkey_host_{h}")), "{e}");
    fs::write(dir.join(&host_file), &good).unwrap();

    // Dangling symlink.
    fs::rename(dir.join(&host_file), dir.join("moved")).unwrap();
    let e = fails(dir, &["-p", "serverpassword"]);
    assert!(
        e.contains("dangling symlink") && e.contains(&format!("ntpkey_host_{h}")),
        "{e}"
    );
    fs::rename(dir.join("moved"), dir.join(&host_file)).unwrap();

    // Missing header line.
    let body = String::from_utf8(good.clone()).unwrap();
    let no_header: String = body.lines().skip(3).map(|l| format!("{l}\n")).collect();
    fs::write(dir.join(&host_file), no_header).unwrap();
    let e = fails(dir, &["-p", "serverpassword"]);
    assert!(e.contains("filestamp"), "{e}");
    fs::write(dir.join(&host_file), &good).unwrap();

    // A directory that cannot be written (sysfs refuses new files even to root).
    let e = fails(Path::new("/sys"), &["-p", "x"]);
    assert!(
        e.contains("cannot write") && e.contains("writable keys directory"),
        "{e}"
    );
}

#[test]
fn help_mentions_interop_forms() {
    let out = keygen(Path::new("."), &["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "traditional DSA PEM",
        "u in the RSA e slot",
        "-m 2048 -c RSA-SHA256",
        "guide",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
}

/// Copies a fixture key folder (symlinks as symlinks) into a temp dir.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref/keys")
        .join(name);
    let d = tempfile::tempdir().unwrap();
    for e in fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        let to = d.path().join(e.file_name());
        if e.file_type().unwrap().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(e.path()).unwrap(), to).unwrap();
        } else {
            fs::copy(e.path(), to).unwrap();
        }
    }
    d
}

#[test]
fn reference_files_are_reused_and_exports_repaired() {
    // alice's genuine 4.2.8p18 folder: our ntp-keygen reads its host key and
    // stock GQ/IFF keys, and exports client files that work (v kept, GQ in
    // the interop layout). The stock MVta lost its values: one warning.
    let d = copy_fixture("alice");
    let dir = d.path();
    let (out, err) = ok(dir, &["-s", "alice", "-e", "-p", "serverpassword"]);
    assert!(
        err.contains("Using host key ntpkey_RSAhost_alice.4004757732"),
        "{err}"
    );
    assert!(
        err.contains("MV public value was lost") || err.contains("the MV public value was lost"),
        "{err}"
    );
    let blocks = export::split(&out);
    let names: Vec<_> = blocks.iter().map(|b| b.file_name.as_str()).collect();
    // Filestamps inherited from the genuine files.
    assert_eq!(
        names,
        ["ntpkey_gqpar_vm.4004757732", "ntpkey_iffpar_vm.4004757732"]
            .map(|n| n.replace("vm", &hostname()))
    );
    let client = tempfile::tempdir().unwrap();
    for b in &blocks {
        fs::write(
            client
                .path()
                .join(b.link_name.replace(&hostname(), "alice")),
            &b.text,
        )
        .unwrap();
    }
    let cd = Keysdir::new(client.path());
    let genuine = Keysdir::new(dir);
    let iff = cd.iff_params("alice", None).unwrap();
    assert_eq!(iff.filestamp, 4004757732);
    assert_eq!(
        iff.value.v,
        genuine
            .iff_key("alice", Some("serverpassword"))
            .unwrap()
            .unwrap()
            .value
            .params
            .v
    );
    assert_eq!(
        cd.gq_params("alice", None).unwrap().value.layout,
        GqLayout::Interop
    );
    // The regenerated certificate keeps the trustRoot role, the subject and
    // the GQ public key, and inherits the filestamp.
    let set = genuine.host_set("alice", "alice", Some("serverpassword"));
    // (the genuine mvkey link still points at a stock file)
    assert!(matches!(set, Err(KeyError::PublicValueLost { .. })));
    let cert = genuine.certificate("alice").unwrap();
    assert_eq!(cert.role, CertRole::TrustRoot);
    assert_eq!(cert.subject, "alice");
    assert_eq!(cert.filestamp, 4004757732);
    let gq = genuine
        .gq_key("alice", Some("serverpassword"))
        .unwrap()
        .unwrap();
    assert_eq!(cert.subject_key_id.unwrap(), gq.value.public_octets());
    assert_eq!(
        target(dir, "ntpkey_cert_alice"),
        "ntpkey_RSA-MD5cert_alice.4004757732"
    );
}

#[test]
fn dsa_sign_key_needs_a_sha_scheme() {
    let h = hostname();
    let d = tempfile::tempdir().unwrap();
    let e = fails(d.path(), &["-S", "DSA", "-p", "pw"]);
    assert!(e.contains("RSA-SHA1") || e.contains("RSA-SHA256"), "{e}");
    assert!(
        listing(d.path()).is_empty(),
        "nothing is written by a refused run"
    );
    let e = fails(d.path(), &["-I", "-c", "RSA-MD2", "-p", "pw"]);
    assert!(e.contains("unknown scheme"), "{e}");
    assert!(
        listing(d.path()).is_empty(),
        "nothing is written by a refused run"
    );
    ok(
        d.path(),
        &["-S", "DSA", "-c", "RSA-SHA256", "-p", "pw", "-m", "1024"],
    );
    let kd = Keysdir::new(d.path());
    let set = kd.host_set(&h, &h, Some("pw")).unwrap();
    assert_eq!(set.sign_key.unwrap().value.kind, keystore::SignKeyType::Dsa);
    assert!(set.cert.is_self_signed());
}

/// Tags (and OID / BOOLEAN contents) of a DER tree, depth first.
fn der_shape(mut b: &[u8], depth: usize, out: &mut Vec<String>) {
    while let Some((t, rest)) = keystore::der::read(b) {
        let detail = match t.tag {
            0x06 | 0x01 => format!("{:02x?}", t.content),
            _ => String::new(),
        };
        out.push(format!("{depth} {:02x} {detail}", t.tag));
        if t.tag & 0x20 != 0 {
            der_shape(t.content, depth + 1, out);
        }
        b = rest;
    }
}

#[test]
fn certificate_has_the_reference_structure() {
    // Same tags, string types, time types, OIDs and extension order as the
    // certificate the reference wrote for alice (-T with GQ keys).
    let h = hostname();
    let d = tempfile::tempdir().unwrap();
    ok(d.path(), &["-T", "-G", "-p", "pw"]);
    let ours = Keysdir::new(d.path()).certificate(&h).unwrap();
    let reference = Keysdir::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref/keys/alice"),
    )
    .certificate("alice")
    .unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    der_shape(&ours.der, 0, &mut a);
    der_shape(&reference.der, 0, &mut b);
    assert_eq!(a, b);
    assert_eq!(ours.version, reference.version);
}
