//! Key files for the daemon tests, made as an operator makes them: our
//! `ntp-keygen` run in-process in a folder under a given host name, and
//! its export streams (`-e`, `-q`) installed as the guide tells operators
//! to (each block under its header's name, linked without the filestamp).

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use keystore::keygen::{self, args, Env};

/// `ntp-keygen ARGS…` in `dir` as host `host`, one second after now (so
/// that a new file's filestamp differs from one made just before); its
/// standard output.
pub fn keygen_in(dir: &Path, host: &str, argv: &[&str]) -> String {
    let opts = args::parse(argv.iter().map(|s| s.to_string())).unwrap();
    let env = Env {
        dir: dir.to_path_buf(),
        hostname: host.into(),
        now_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    keygen::run(&opts, &env, &mut out, &mut err)
        .unwrap_or_else(|e| panic!("ntp-keygen {argv:?}: {e}"));
    String::from_utf8(out).unwrap()
}

/// Writes each `# ntpkey_…` block of an export into `dir` (mode 0600)
/// under its own name and points the link without the filestamp at it
/// (§6.7.2.6); the names written.
pub fn install_export(stream: &str, dir: &Path) -> Vec<String> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in stream.lines() {
        if let Some(name) = line.strip_prefix("# ntpkey_") {
            blocks.push((format!("ntpkey_{}", name.trim()), String::new()));
        }
        if let Some((_, text)) = blocks.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    assert!(!blocks.is_empty(), "no key in the export:\n{stream}");
    let mut names = Vec::new();
    for (name, text) in blocks {
        let path = dir.join(&name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = name.rsplit_once('.').map_or(name.as_str(), |(l, _)| l);
        let _ = std::fs::remove_file(dir.join(link));
        symlink(&name, dir.join(link)).unwrap();
        names.push(name);
    }
    names
}
