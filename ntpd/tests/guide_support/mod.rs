//! Runs the command blocks of the "Configuring Autokey" guide (shared
//! docs/configuring-autokey.txt) as printed, on a temporary directory per
//! host standing in for `/etc/ntp` (and `/etc/ntp.conf`):
//!
//! * `cd /etc/ntp` changes to the host's keys directory;
//! * `ntp-keygen ARGS [| mail ADDRESS]`: the arguments are expanded by
//!   `sh` exactly as typed (so the update command's
//!   `` `awk '/crypto pw/ { print $3 }' </etc/ntp.conf` `` runs), then our
//!   `ntp-keygen` (`keystore::keygen`, the code of the binary) runs with
//!   the host's name as its host name; a `| mail` stdout is kept as the
//!   host's mailbox;
//! * every other line (`ln -s …`) runs in `sh` in the keys directory.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use keystore::keygen::{self, args, Env};

/// A host of the guide: its name, keys directory and ntp.conf.
pub struct GuideHost {
    pub name: String,
    pub root: PathBuf,
    pub keys: PathBuf,
    pub conf: PathBuf,
    /// stdout of the last `ntp-keygen … | mail …`.
    pub mailbox: String,
}

impl GuideHost {
    /// `root/NAME/etc-ntp` and `root/NAME/ntp.conf` with `conf` text
    /// (`/etc/ntp` in it is mapped to the keys directory).
    pub fn new(root: &Path, name: &str, conf: &str) -> GuideHost {
        let dir = root.join(name);
        let keys = dir.join("etc-ntp");
        fs::create_dir_all(&keys).unwrap();
        let conf_path = dir.join("ntp.conf");
        let h = GuideHost {
            name: name.to_string(),
            root: dir,
            keys,
            conf: conf_path,
            mailbox: String::new(),
        };
        fs::write(&h.conf, h.map(conf)).unwrap();
        h
    }

    /// `/etc/ntp.conf` and `/etc/ntp` replaced by this host's paths.
    pub fn map(&self, text: &str) -> String {
        text.replace("/etc/ntp.conf", &self.conf.display().to_string())
            .replace("/etc/ntp", &self.keys.display().to_string())
    }

    /// Runs a block of guide lines; returns the stderr of the ntp-keygen
    /// runs. Panics (with the output) on a failing line.
    pub fn run(&mut self, block: &str) -> String {
        let mut log = String::new();
        for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line == "cd /etc/ntp" {
                continue;
            }
            if let Some(rest) = line.strip_prefix("ntp-keygen") {
                let (args_text, mail) = match rest.split_once('|') {
                    Some((a, m)) => (a, Some(m.trim())),
                    None => (rest, None),
                };
                if let Some(m) = mail {
                    assert!(m.starts_with("mail "), "{line}");
                }
                let (out, err) = self.keygen(args_text, line);
                log.push_str(&err);
                if mail.is_some() {
                    self.mailbox = out;
                }
                continue;
            }
            let o = Command::new("sh")
                .arg("-c")
                .arg(self.map(line))
                .current_dir(&self.keys)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{line}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        log
    }

    fn keygen(&self, args_text: &str, line: &str) -> (String, String) {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\n' {}", self.map(args_text)))
            .current_dir(&self.keys)
            .output()
            .unwrap();
        assert!(o.status.success(), "{line}: {o:?}");
        let words: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let opts = args::parse(&words).unwrap_or_else(|e| panic!("{line}: {e}"));
        let now_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let env = Env {
            dir: self.keys.clone(),
            hostname: self.name.clone(),
            now_unix,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        keygen::run(&opts, &env, &mut out, &mut err).unwrap_or_else(|e| {
            panic!("{line}: ntp-keygen: {e}\n{}", String::from_utf8_lossy(&err))
        });
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    /// Saves the mailbox as the operator does: each exported block under
    /// the file name in its header; returns the names.
    pub fn receive_mail(&self, mail: &str) -> Vec<String> {
        keystore::export::split(mail)
            .into_iter()
            .map(|b| {
                fs::write(self.keys.join(&b.file_name), &b.text).unwrap();
                b.file_name
            })
            .collect()
    }

    /// Copies the newest file of `from`'s keys directory whose name starts
    /// with `prefix` into ours (the guide's "copy the key file"); its name.
    pub fn copy_from(&self, from: &GuideHost, prefix: &str) -> String {
        let mut names: Vec<String> = fs::read_dir(&from.keys)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        let name = names
            .pop()
            .unwrap_or_else(|| panic!("no {prefix}* on {}", from.name));
        fs::copy(from.keys.join(&name), self.keys.join(&name)).unwrap();
        name
    }
}
