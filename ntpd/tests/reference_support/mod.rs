//! Harness for the interop suites against the reference ntpd 4.2.8p15
//! (`ntpd/tests/interop_reference*.rs`): which implementation plays which
//! role, one configuration header for both, starting either daemon in a
//! [`Lab`] namespace without CAP_SYS_TIME, running either `ntpq`, polling
//! until a condition holds, and running independent cells concurrently
//! (each cell has its own namespaces) with their time measured.
//!
//! The reference is unpacked, not installed (see `.ci/run`): its programs
//! run with `LD_LIBRARY_PATH` set to its own library folder, passed per
//! command, never to this process.

#![allow(dead_code)]

pub mod autokey;
pub mod mode6;

use std::io::Write;
use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::interop_support::{ntpq_binary, peer_rows, rv_vars, Lab, PeerRow, NTPD};
use crate::prerequisite::{reference_ntpd, Reference};

/// One of the two implementations under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    /// This project's `ntpd` and `ntpq`.
    Ours,
    /// The reference ntpd 4.2.8p15 and its `ntpq`.
    Reference,
}

impl Daemon {
    /// The other implementation.
    pub fn other(self) -> Daemon {
        match self {
            Daemon::Ours => Daemon::Reference,
            Daemon::Reference => Daemon::Ours,
        }
    }

    /// How the matrix names it.
    pub fn label(self) -> &'static str {
        match self {
            Daemon::Ours => "ours",
            Daemon::Reference => "reference",
        }
    }
}

/// The reference programs, once `require!(…, Need::ReferenceNtpd)` found
/// them (looked up once: the look-up runs `ntpd --version`).
pub fn reference() -> &'static Reference {
    static FOUND: OnceLock<Reference> = OnceLock::new();
    FOUND.get_or_init(|| reference_ntpd().expect("the reference ntpd found by require!"))
}

/// The configuration lines every daemon of these suites starts with: no
/// clock discipline (`disable ntp`, `disable kernel`), no access
/// restriction inside the test's namespaces, events of every class logged
/// to `<dir>/<name>.log` (the reference's `=all` would select only the
/// system class), statistics files only in the scratch directory.
pub fn conf_header(lab: &Lab, name: &str) -> String {
    let dir = lab.dir.display();
    format!(
        "disable ntp\ndisable kernel\nrestrict default\nlogfile {dir}/{name}.log\n\
         logconfig =allall\nstatsdir {dir}/\n"
    )
}

/// Writes `<name>.conf` ([`conf_header`] + `body`) and starts `who`'s
/// daemon with it in namespace `ns` (no CAP_SYS_TIME, see
/// [`Lab::spawn`]). The reference gets `-x` too (never step).
pub fn start(lab: &mut Lab, who: Daemon, name: &str, ns: &str, body: &str) {
    let conf = lab.file(
        &format!("{name}.conf"),
        &format!("{}{body}\n", conf_header(lab, name)),
    );
    let conf = conf.to_str().expect("utf-8 path").to_string();
    match who {
        Daemon::Ours => lab.spawn(name, ns, &[NTPD, "-n", "-c", &conf]),
        Daemon::Reference => {
            let r = reference();
            let lib = format!("LD_LIBRARY_PATH={}", r.libdir.display());
            let ntpd = r.ntpd.to_str().expect("utf-8 path").to_string();
            lab.spawn(name, ns, &["env", &lib, &ntpd, "-n", "-x", "-c", &conf]);
        }
    }
}

/// Runs `who`'s `ntpq args…` inside `ns` (20 s limit); its stdout. A
/// failing ntpq gives its stderr as the text, for the caller's message.
pub fn ntpq(lab: &Lab, who: Daemon, ns: &str, args: &[&str]) -> String {
    let o = ntpq_output(lab, who, ns, args);
    let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
    if !o.status.success() {
        text.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    text
}

/// The whole [`Output`] of `who`'s `ntpq args…` inside `ns`.
pub fn ntpq_output(lab: &Lab, who: Daemon, ns: &str, args: &[&str]) -> Output {
    let mut argv: Vec<String> = vec!["timeout".into(), "20".into()];
    match who {
        Daemon::Ours => argv.push(ntpq_binary().into()),
        Daemon::Reference => {
            let r = reference();
            argv.push("env".into());
            argv.push(format!("LD_LIBRARY_PATH={}", r.libdir.display()));
            argv.push(r.ntpq.display().to_string());
        }
    }
    argv.extend(args.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    lab.command(ns, &argv).output().expect("run ntpq")
}

/// Polls `who`'s `ntpq args…` inside `ns` every second until `done`
/// accepts its output or `limit` passes (then panics with the last
/// output and the logs of `names`); returns that output.
pub fn wait_ntpq(
    lab: &mut Lab,
    who: Daemon,
    ns: &str,
    args: &[&str],
    limit: Duration,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let t0 = Instant::now();
    loop {
        lab.assert_running();
        let out = ntpq(lab, who, ns, args);
        if done(&out) {
            return out;
        }
        assert!(
            t0.elapsed() < limit,
            "{what} not reached within {limit:?}; last output of {} ntpq {args:?}:\n{out}\n\
             logs:\n{}",
            who.label(),
            all_logs(lab)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The logs of the daemons these suites name (`server`, `client`).
pub fn all_logs(lab: &Lab) -> String {
    ["server", "client"]
        .iter()
        .map(|n| format!("--- {n}:\n{}", lab.log(n)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Polls `who`'s `ntpq -n -p 127.0.0.1` in `ns` until the first row is the
/// selected source (tally `*`, reach not 0); that row and the output.
pub fn wait_selected(
    lab: &mut Lab,
    who: Daemon,
    ns: &str,
    secs: u64,
    what: &str,
) -> (PeerRow, String) {
    let out = wait_ntpq(
        lab,
        who,
        ns,
        &["-n", "-p", "127.0.0.1"],
        Duration::from_secs(secs),
        what,
        |out| {
            peer_rows(out)
                .first()
                .is_some_and(|r| r.tally == '*' && r.reach != 0)
        },
    );
    (peer_rows(&out)[0].clone(), out)
}

/// Polls until `who`'s daemon in `ns` runs at `stratum` (an orphan parent
/// after `orphanwait`).
pub fn wait_stratum(lab: &mut Lab, who: Daemon, ns: &str, stratum: &str, what: &str) {
    wait_ntpq(
        lab,
        who,
        ns,
        &["-c", "rv 0 stratum", "127.0.0.1"],
        Duration::from_secs(30),
        what,
        |out| {
            named_vars(out)
                .iter()
                .any(|(k, v)| k == "stratum" && v == stratum)
        },
    );
}

/// The (name, value) pairs of `rv` output, also of output for named
/// variables (`rv 0 cert`), which has no `associd=… status=…` line
/// ([`rv_vars`] takes the first line for that one).
pub fn named_vars(text: &str) -> Vec<(String, String)> {
    if text.trim_start().starts_with("associd=") {
        return rv_vars(text);
    }
    rv_vars(&format!("associd=- status=-\n{text}"))
        .into_iter()
        .skip(2)
        .collect()
}

/// The value of `name` in `rv` output, if there.
pub fn rv_value(text: &str, name: &str) -> Option<String> {
    named_vars(text)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

/// Gives both veth addresses their subnet broadcast address (`brd +`):
/// the reference's `broadcastclient` listens on the interface's broadcast
/// address and receives nothing on an interface that has none (what `ip
/// addr add` without `brd` leaves). Returns the broadcast address.
pub fn set_broadcast_address(lab: &Lab) -> String {
    for (ns, addr) in [(&lab.a, &lab.addr_a), (&lab.b, &lab.addr_b)] {
        let dev = lab.veth(ns);
        let cidr = format!("{addr}/24");
        for op in [
            vec!["ip", "addr", "del", &cidr, "dev", dev],
            vec!["ip", "addr", "add", &cidr, "brd", "+", "dev", dev],
        ] {
            let o = lab.command(ns, &op).output().expect("ip addr");
            assert!(o.status.success(), "{op:?} in {ns}: {o:?}");
        }
    }
    let (net, _) = lab.addr_a.rsplit_once('.').expect("IPv4 address");
    format!("{net}.255")
}

/// A path of the reference Autokey fixtures (`tests/data/autokey-ref/…`).
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref")
        .join(rel)
}

/// One cell of the matrix: what runs in which direction, and its body.
pub struct Cell {
    /// The cell (e.g. "client/server plain").
    pub name: String,
    /// Who serves and who is the client (e.g. "reference → ours").
    pub direction: String,
    /// The test body; panics on failure.
    pub run: Box<dyn FnOnce() + Send>,
}

impl Cell {
    /// A cell whose `server` side serves `client` (the direction).
    pub fn new(
        name: &str,
        server: Daemon,
        client: Daemon,
        run: impl FnOnce() + Send + 'static,
    ) -> Cell {
        Cell {
            name: name.to_string(),
            direction: format!("{} server → {} client", server.label(), client.label()),
            run: Box::new(run),
        }
    }

    /// A cell with its own direction label (symmetric modes: "reference
    /// passive, ours active").
    pub fn labelled(name: &str, direction: String, run: impl FnOnce() + Send + 'static) -> Cell {
        Cell {
            name: name.to_string(),
            direction,
            run: Box::new(run),
        }
    }
}

/// Runs every cell in its own thread (they share nothing but the
/// machine), prints `cell: <name> | <direction> | ok|FAILED | <s> s` for
/// each (the README matrix is made of these lines), and panics naming the
/// failed cells, if any.
pub fn run_cells(cells: Vec<Cell>) {
    let handles: Vec<_> = cells
        .into_iter()
        .map(|c| {
            let (name, direction) = (c.name.clone(), c.direction.clone());
            let h = std::thread::spawn(move || {
                let t0 = Instant::now();
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(c.run));
                (r.is_ok(), t0.elapsed())
            });
            (name, direction, h)
        })
        .collect();
    let mut failed = Vec::new();
    for (name, direction, h) in handles {
        let (ok, took) = h.join().unwrap_or((false, Duration::ZERO));
        let line = format!(
            "cell: {name} | {direction} | {} | {:.0} s\n",
            if ok { "ok" } else { "FAILED" },
            took.as_secs_f64()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        if !ok {
            failed.push(format!("{name} ({direction})"));
        }
    }
    assert!(failed.is_empty(), "failed cells: {}", failed.join("; "));
}
