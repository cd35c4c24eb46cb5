//! A private network namespace for one benchmark run
//! (`ip netns add ntpbench-<pid>`, loopback up), deleted on drop, and a
//! flag set by SIGINT/SIGTERM/SIGHUP so the runner stops cleanly.

use std::io;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use ntp_sys::signal::Signal;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Makes SIGINT, SIGTERM and SIGHUP set the [`interrupted`] flag instead
/// of killing the runner, so its drop guards kill the servers and delete
/// the namespace.
pub fn catch_signals() -> io::Result<()> {
    ntp_sys::signal::set_flag_on(
        &INTERRUPTED,
        &[Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP],
    )
}

/// True once a termination signal arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A network namespace owned by this process.
pub struct Netns {
    name: String,
}

fn ip(args: &[&str]) -> io::Result<()> {
    let o = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if o.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )))
    }
}

impl Netns {
    /// Creates `ntpbench-<pid>` with its loopback interface up.
    pub fn create() -> io::Result<Netns> {
        let name = format!("ntpbench-{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let ns = Netns { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `argv` run inside the namespace (`ip netns exec` execs it, so the
    /// child's PID is the program's).
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(argv);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("ntp-server-bench: could not delete namespace: {e}");
        }
    }
}
