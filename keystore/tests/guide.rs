//! Walks every command of the "Configuring Autokey" guide
//! (docs/configuring-autokey.txt, §6.7.1 server and §6.7.2 client set-up,
//! multiple schemes, parameter updates) exactly as printed, with our
//! `ntp-keygen` first in PATH, on temporary directories standing in for
//! /etc/ntp of a server and a client host. `mail` is a shell function that
//! saves the message; /etc/ntp and /etc/ntp.conf are mapped to the temp
//! directories. Then checks that the client's keys directory loads for IFF,
//! GQ and MV with the guide's link names and passwords.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keystore::export;
use keystore::Keysdir;

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

struct Host {
    _tmp: tempfile::TempDir,
    keys: PathBuf,
    conf: PathBuf,
    mailbox: PathBuf,
}

impl Host {
    fn new(conf: &str) -> Host {
        let tmp = tempfile::tempdir().unwrap();
        let keys = tmp.path().join("etc-ntp");
        fs::create_dir(&keys).unwrap();
        let conf_path = tmp.path().join("ntp.conf");
        fs::write(&conf_path, conf).unwrap();
        Host {
            mailbox: tmp.path().join("mailbox"),
            keys,
            conf: conf_path,
            _tmp: tmp,
        }
    }

    /// Runs guide lines in sh; `/etc/ntp.conf` and `/etc/ntp` are mapped.
    fn sh(&self, lines: &str) -> Output {
        let script = lines
            .replace("/etc/ntp.conf", &self.conf.display().to_string())
            .replace("/etc/ntp", &self.keys.display().to_string());
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_ntp-keygen"));
        let path = format!(
            "{}:{}",
            bin.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let prelude = format!("set -e\nmail() {{ cat > '{}'; }}\n", self.mailbox.display());
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("{prelude}{script}"))
            .env("PATH", path)
            .current_dir(&self.keys)
            .output()
            .unwrap();
        out
    }

    fn ok(&self, lines: &str) -> String {
        let out = self.sh(lines);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{lines}\n{err}");
        err
    }

    fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.keys.join(name)).unwrap()
    }
}

fn link_target(dir: &Path, link: &str) -> String {
    fs::read_link(dir.join(link)).unwrap().display().to_string()
}

#[test]
fn guide_walkthrough_server_and_client() {
    let h = hostname();
    let server = Host::new("crypto pw serverpassword\nkeysdir /etc/ntp\n");
    let client = Host::new(
        "crypto pw clientpassword\nkeysdir /etc/ntp\nserver ntp.i_have_the_key.for autokey\n",
    );

    // 6.7.1.3.1 IFF Parameters
    server.ok("cd /etc/ntp\nntp-keygen -T -I -p serverpassword");
    let err = server.ok("cd /etc/ntp\nntp-keygen -e -q serverpassword -p clientpassword | mail timelord@client.domain");
    assert!(err.contains("guide's meaning"), "{err}");
    let first_mail = fs::read_to_string(&server.mailbox).unwrap();
    assert_eq!(export::split(&first_mail).len(), 1);
    // 6.7.1.3.2 GQ Parameters
    server.ok("cd /etc/ntp\nntp-keygen -T -G -p serverpassword");
    // 6.7.1.3.3 MV Parameters, exactly as printed: "N" is a placeholder and
    // the sentence's full stop sits in the password. One-line error, nothing written.
    let before: Vec<_> = fs::read_dir(&server.keys)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let out = server.sh("cd /etc/ntp\nntp-keygen -V N -p serverpassword.");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("-V N"), "{err}");
    let after: Vec<_> = fs::read_dir(&server.keys)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
    server.ok("cd /etc/ntp\nntp-keygen -V 5 -p serverpassword");
    // 6.7.1.3.4 Multiple Identity Schemes
    for line in [
        "ntp-keygen -T -I -q serverpassword",
        "ntp-keygen -T -G -q serverpassword",
        "ntp-keygen -V 5 -q serverpassword",
    ] {
        let err = server.ok(&format!("cd /etc/ntp\n{line}"));
        assert!(err.contains("guide's meaning"), "{line}: {err}");
    }
    // The IFF group key export for the client, now that all schemes exist.
    server.ok("cd /etc/ntp\nntp-keygen -e -q serverpassword -p clientpassword | mail timelord@client.domain");
    let mail = fs::read_to_string(&server.mailbox).unwrap();

    // 6.7.1.5 Server Parameter Update: certificate renewed, identity keys kept.
    let iff_before = server.read(&format!("ntpkey_iffkey_{h}"));
    let gq_before = server.read(&format!("ntpkey_gqkey_{h}"));
    let mvta_before = server.read(&format!("ntpkey_mvta_{h}"));
    let err =
        server.ok("cd /etc/ntp\nntp-keygen -T -q `awk '/crypto pw/ { print $3 }' </etc/ntp.conf`");
    assert!(err.contains("Generating new cert file and link"), "{err}");
    assert!(server.read(&format!("ntpkey_iffkey_{h}")) == iff_before);
    assert!(server.read(&format!("ntpkey_gqkey_{h}")) == gq_before);
    assert!(server.read(&format!("ntpkey_mvta_{h}")) == mvta_before);

    // The server's keys load as ntpd would (crypto pw serverpassword).
    let sdir = Keysdir::new(&server.keys);
    let set = sdir.host_set(&h, &h, Some("serverpassword")).unwrap();
    assert!(set.iff.is_some() && set.gq.is_some() && set.mv.is_some());
    assert_eq!(set.cert.role, keystore::CertRole::TrustRoot);

    // 6.7.2.3 Generate Client Parameters
    client.ok("cd /etc/ntp\nntp-keygen -H -p clientpassword");
    // 6.7.2.4 Install Group/Client Keys: the mailed files are saved under
    // the names the guide's ln commands use.
    let blocks = export::split(&mail);
    let kinds: Vec<_> = blocks.iter().map(|b| b.link_name.clone()).collect();
    assert_eq!(
        kinds,
        [
            format!("ntpkey_gqpar_{h}"),
            format!("ntpkey_iffpar_{h}"),
            format!("ntpkey_mvpar_{h}")
        ]
    );
    // Saved under their header names (the real file names), then the
    // guide's links to them; MV: the client key file -V wrote, copied.
    for block in &blocks {
        assert!(
            block.text.contains("ENCRYPTED"),
            "the guide's export is encrypted"
        );
        fs::write(client.keys.join(&block.file_name), &block.text).unwrap();
    }
    let iff_file = blocks[1].file_name.clone();
    let gq_file = blocks[0].file_name.clone();
    let mut mvkeys: Vec<String> = fs::read_dir(&server.keys)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&format!("ntpkey_MVkey1_{h}.")))
        .collect();
    mvkeys.sort();
    let mv_file = mvkeys
        .pop()
        .expect("-V 5 writes ntpkey_MVkey1_<host>.<filestamp>");
    fs::copy(server.keys.join(&mv_file), client.keys.join(&mv_file)).unwrap();
    client.ok(&format!("cd /etc/ntp\nln -s {iff_file} ntpkey_iff_server"));
    client.ok("cd /etc/ntp\nln -s ntpkey_host_client ntpkey_iff_client");
    client.ok(&format!("cd /etc/ntp\nln -s {gq_file} ntpkey_gq_server"));
    client.ok(&format!("cd /etc/ntp\nln -s {mv_file} ntpkey_mv_server"));
    // 6.7.2.6 Client Parameter Update
    let host_before = client.read(&format!("ntpkey_host_{h}"));
    client.ok("cd /etc/ntp\nntp-keygen -q `awk '/crypto pw/ { print $3 }' </etc/ntp.conf`");
    assert!(client.read(&format!("ntpkey_host_{h}")) == host_before);

    // The client keysdir loads for IFF, GQ and MV (crypto pw clientpassword).
    let cdir = Keysdir::new(&client.keys);
    let cset = cdir.host_set(&h, &h, Some("clientpassword")).unwrap();
    assert_eq!(cset.cert.role, keystore::CertRole::Plain);
    let pw = Some("clientpassword");
    let iff = cdir.iff_params("server", pw).unwrap();
    assert_eq!(iff.value.v, set.iff.as_ref().unwrap().value.params.v);
    assert_eq!(iff.filestamp, set.iff.as_ref().unwrap().filestamp);
    let gq = cdir.gq_params("server", pw).unwrap();
    assert_eq!(gq.value.b, set.gq.as_ref().unwrap().value.b);
    assert!(gq
        .value
        .accepts_public(set.cert.subject_key_id.as_deref().unwrap()));
    let mv = cdir.mv_client("server", pw).unwrap();
    assert!(set.mv.as_ref().unwrap().value.accepts(&mv.value).unwrap());
    // The guide's links are relative, as printed.
    assert_eq!(link_target(&client.keys, "ntpkey_iff_server"), iff_file);
}
