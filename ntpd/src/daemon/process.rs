//! Process duties: detaching from the terminal, the pid file, dropping
//! root (ntpd(8) `-n`, `-p`, `-u`).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use nix::unistd::{self, ForkResult, Group, User};

use crate::cli::UserSpec;

/// Why a process step failed. `Display` is the one-line message.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The pid file could not be written.
    #[error("cannot write the pid file {}: {source}; expected a writable path (check `pidfile` or -p)", path.display())]
    PidFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// fork/setsid failed.
    #[error("cannot detach from the terminal: {0}; run with -n to stay in the foreground")]
    Detach(nix::Error),
    /// The user or group of `-u` does not exist.
    #[error("-u {0}: no such user or group; expected an existing USER[:GROUP] or numeric ids")]
    UnknownUser(String),
    /// Changing ids failed.
    #[error("-u {who}: cannot switch to it: {source}")]
    Switch {
        /// The argument.
        who: String,
        /// Why.
        source: nix::Error,
    },
}

/// Detach: fork (the parent exits 0), start a new session, and point the
/// standard streams at /dev/null. Call before any thread is started.
pub fn daemonize() -> Result<(), ProcessError> {
    // SAFETY: fork is only unsound with other threads running; the caller
    // guarantees the process is still single-threaded (no runtime yet).
    match unsafe { unistd::fork() }.map_err(ProcessError::Detach)? {
        ForkResult::Parent { .. } => std::process::exit(0),
        ForkResult::Child => {}
    }
    unistd::setsid().map_err(ProcessError::Detach)?;
    if let Ok(null) = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = unistd::dup2_stdin(&null);
        let _ = unistd::dup2_stdout(&null);
        let _ = unistd::dup2_stderr(&null);
    }
    Ok(())
}

/// The pid file: written at start, removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Write our pid (decimal, newline) to `path`, atomically.
    pub fn create(path: &Path) -> Result<PidFile, ProcessError> {
        let err = |source| ProcessError::PidFile {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("tmp-ntpd");
        let mut f = fs::File::create(&tmp).map_err(err)?;
        writeln!(f, "{}", std::process::id()).map_err(err)?;
        f.sync_all().map_err(err)?;
        fs::rename(&tmp, path).map_err(err)?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Switch to `-u USER[:GROUP]` (names or numbers) for good: supplementary
/// groups, gid, then uid.
pub fn drop_privileges(spec: &UserSpec) -> Result<(), ProcessError> {
    let who = match &spec.group {
        Some(g) => format!("{}:{g}", spec.user),
        None => spec.user.clone(),
    };
    let user = match spec.user.parse::<u32>() {
        Ok(n) => User::from_uid(n.into()).ok().flatten(),
        Err(_) => User::from_name(&spec.user).ok().flatten(),
    }
    .ok_or_else(|| ProcessError::UnknownUser(who.clone()))?;
    let gid = match &spec.group {
        None => user.gid,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n.into(),
            Err(_) => {
                Group::from_name(g)
                    .ok()
                    .flatten()
                    .ok_or_else(|| ProcessError::UnknownUser(who.clone()))?
                    .gid
            }
        },
    };
    let sw = |source| ProcessError::Switch {
        who: who.clone(),
        source,
    };
    unistd::setgroups(&[gid]).map_err(sw)?;
    unistd::setgid(gid).map_err(sw)?;
    unistd::setuid(user.uid).map_err(sw)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_holds_our_pid_and_goes_away() {
        let dir = std::env::temp_dir().join(format!("ntpd-pid-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("ntpd.pid");
        {
            let _f = PidFile::create(&p).unwrap();
            assert_eq!(
                fs::read_to_string(&p).unwrap(),
                format!("{}\n", std::process::id())
            );
        }
        assert!(!p.exists());
        let e = PidFile::create(&dir.join("missing/ntpd.pid")).unwrap_err();
        assert!(e.to_string().contains("missing/ntpd.pid"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_user_is_named() {
        let e = drop_privileges(&UserSpec {
            user: "no-such-user-ntpd-test".into(),
            group: None,
        })
        .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("-u no-such-user-ntpd-test: no such user"));
    }
}
