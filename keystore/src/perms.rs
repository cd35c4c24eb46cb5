//! Dangerous permissions on the key material (brief §8: private keys,
//! group keys and client keys are confidential): a keys directory others
//! may write to (anyone could replace `ntpkey_*` links), key files other
//! than certificates that others may read, any key file others may write,
//! and a symmetric keys file others may read. Checked at start-up; the
//! daemon warns and runs on, as the reference does (it checks nothing).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// One permission problem, in operator words (`Display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionWarning {
    /// The file or directory.
    pub path: String,
    /// Its mode bits (`0o777` part).
    pub mode: u32,
    /// What others can do with it and why that matters.
    pub problem: &'static str,
    /// The command that fixes it.
    pub fix: String,
}

impl std::fmt::Display for PermissionWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (mode {:03o}): {}; fix with `{}`",
            self.path, self.mode, self.problem, self.fix
        )
    }
}

/// World bits: read 0o004, write 0o002.
const OTHER_READ: u32 = 0o004;
const OTHER_WRITE: u32 = 0o002;

/// Whether a key file name is a certificate (public: others may read it).
fn is_certificate(name: &str) -> bool {
    name.starts_with("ntpkey_cert_") || name.contains("cert_")
}

/// The warnings for keys directory `dir` (its `ntpkey_*` files, links
/// followed) and the symmetric keys file `keys`, each if given.
pub fn check(dir: Option<&Path>, keys: Option<&Path>) -> Vec<PermissionWarning> {
    let mut out = dir.map(check_keysdir).unwrap_or_default();
    if let Some(k) = keys {
        if let Ok(m) = std::fs::metadata(k) {
            let mode = m.permissions().mode() & 0o777;
            if mode & (OTHER_READ | OTHER_WRITE) != 0 {
                out.push(PermissionWarning {
                    path: k.display().to_string(),
                    mode,
                    problem: "the symmetric keys file is readable or writable by others: its keys sign and authenticate packets",
                    fix: format!("chmod o-rw {}", k.display()),
                });
            }
        }
    }
    out
}

fn check_keysdir(dir: &Path) -> Vec<PermissionWarning> {
    let mut out = Vec::new();
    if let Ok(m) = std::fs::metadata(dir) {
        let mode = m.permissions().mode() & 0o777;
        if mode & OTHER_WRITE != 0 {
            out.push(PermissionWarning {
                path: dir.display().to_string(),
                mode,
                problem: "the keys directory is writable by others: anyone can replace the ntpkey_* links and files",
                fix: format!("chmod o-w {}", dir.display()),
            });
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("ntpkey_"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        // Links are checked through their targets, once: the dated file.
        if path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            continue;
        }
        let Ok(m) = std::fs::metadata(&path) else {
            continue;
        };
        let mode = m.permissions().mode() & 0o777;
        if mode & OTHER_WRITE != 0 {
            out.push(PermissionWarning {
                path: path.display().to_string(),
                mode,
                problem: "the key file is writable by others",
                fix: format!("chmod o-w {}", path.display()),
            });
        } else if mode & OTHER_READ != 0 && !is_certificate(&name) {
            out.push(PermissionWarning {
                path: path.display().to_string(),
                mode,
                problem:
                    "the key file holds private or group key material and is readable by others",
                fix: format!("chmod o-r {}", path.display()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn mode(p: &Path, m: u32) {
        fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    }

    #[test]
    fn world_access_is_named_with_its_fix_and_safe_files_are_not() {
        let dir = std::env::temp_dir().join(format!("keystore-perms-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let host = dir.join("ntpkey_RSAhost_server.4005592457");
        let cert = dir.join("ntpkey_RSA-MD5cert_server.4005592457");
        let iff = dir.join("ntpkey_IFFkey_server.4005592457");
        for f in [&host, &cert, &iff] {
            fs::write(f, "x").unwrap();
        }
        std::os::unix::fs::symlink(host.file_name().unwrap(), dir.join("ntpkey_host_server"))
            .unwrap();
        let keys = dir.join("ntp.keys");
        fs::write(&keys, "1 MD5 secret\n").unwrap();
        mode(&dir, 0o755);
        mode(&host, 0o600);
        mode(&cert, 0o644);
        mode(&iff, 0o600);
        mode(&keys, 0o600);
        assert_eq!(check(Some(&dir), Some(&keys)), vec![]);

        mode(&dir, 0o777);
        mode(&host, 0o644);
        mode(&iff, 0o666);
        mode(&keys, 0o644);
        let w: Vec<String> = check(Some(&dir), Some(&keys))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(w[0].contains("(mode 777): the keys directory is writable by others"));
        assert!(w[0].ends_with(&format!("fix with `chmod o-w {}`", dir.display())));
        assert!(w[1].contains(
            "ntpkey_IFFkey_server.4005592457 (mode 666): the key file is writable by others"
        ));
        assert!(w[2]
            .contains("ntpkey_RSAhost_server.4005592457 (mode 644): the key file holds private"));
        assert!(w[3].contains("ntp.keys (mode 644): the symmetric keys file"));
        mode(&dir, 0o755);
        fs::remove_dir_all(&dir).unwrap();
    }
}
