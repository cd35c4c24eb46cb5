//! Interop with chrony (Debian package `chrony`), in a network namespace
//! the test creates: chronyd's client (`chronyd -Q`, which measures and
//! never sets the clock) against our server, and our client against
//! chronyd as a server (`local stratum 8`, `-x`: no clock control), with
//! and without symmetric keys. Every daemon runs without CAP_SYS_TIME.
//! Needs root and chronyd in PATH; skipped with a message otherwise.

mod support;

use std::fs;
use std::time::{Duration, Instant};

use support::*;

fn ready() -> bool {
    if !is_root() {
        eprintln!("skipped: needs root to create a network namespace");
        return false;
    }
    if !have("chronyd") {
        eprintln!("skipped: chronyd not in PATH (apt-get install chrony)");
        return false;
    }
    true
}

const NTP_KEYS: &str = "1 MD5 md5secret\n2 SHA1 0123456789abcdef0123456789abcdef01234567\n";
const CHRONY_KEYS: &str = "1 MD5 md5secret\n2 SHA1 HEX:0123456789abcdef0123456789abcdef01234567\n";
const CHRONY_WRONG_KEYS: &str =
    "1 MD5 other\n2 SHA1 HEX:0123456789abcdef0123456789abcdef01234568\n";

fn chronyd_argv(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "setpriv",
        "--bounding-set",
        "-sys_time",
        "--inh-caps",
        "-sys_time",
        "--",
        "chronyd",
    ]
    .map(String::from)
    .to_vec();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Run `chronyd -Q` against 127.0.0.1 and return the measured offset.
fn chronyd_q(ns: &Netns, scratch: &Scratch, key: Option<(&str, &str)>) -> Option<f64> {
    let mut directives = vec![
        "cmdport 0".to_string(),
        format!("pidfile {}", scratch.path("q.pid").display()),
    ];
    match key {
        Some((id, keys)) => {
            let kf = scratch.file("chrony-q.keys", keys);
            directives.push(format!("keyfile {}", kf.display()));
            directives.push(format!("server 127.0.0.1 iburst key {id} maxsamples 4"));
        }
        None => directives.push("server 127.0.0.1 iburst maxsamples 4".into()),
    }
    let mut argv = chronyd_argv(&["-Q", "-u", "root", "-t", "12"]);
    argv.extend(directives);
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = ns.output(&refs);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let at = text.find("System clock wrong by ")? + 22;
    text[at..].split_whitespace().next()?.parse().ok()
}

fn start_our_server(ns: &Netns, scratch: &Scratch) -> Daemon {
    let keys = scratch.file("ntp.keys", NTP_KEYS);
    let conf = scratch.file(
        "server.conf",
        &format!(
            "disable ntp\ntos orphan 5 orphanwait 1\nkeys {}\ntrustedkey 1 2\n",
            keys.display()
        ),
    );
    let d = start_ntpd(
        Some(ns),
        &conf,
        &["-I", "127.0.0.1"],
        None,
        &scratch.path("server.log"),
    );
    let t0 = Instant::now();
    while ns.query("127.0.0.1").map(|r| r.0) != Some(5) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "server never reached stratum 5"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    d
}

#[test]
fn chronyd_client_measures_our_server() {
    if !ready() {
        return;
    }
    let ns = Netns::new("chq");
    let scratch = Scratch::new("chq");
    let _d = start_our_server(&ns, &scratch);
    let off = chronyd_q(&ns, &scratch, None).expect("chronyd -Q got an offset");
    assert!(off.abs() < 0.001, "same clock: {off}");
    for id in ["1", "2"] {
        let off = chronyd_q(&ns, &scratch, Some((id, CHRONY_KEYS))).expect("authenticated offset");
        assert!(off.abs() < 0.001, "key {id}: {off}");
        assert_eq!(
            chronyd_q(&ns, &scratch, Some((id, CHRONY_WRONG_KEYS))),
            None,
            "key {id}: a wrong secret must not give a measurement"
        );
    }
}

struct ChronyServer {
    pid_file: std::path::PathBuf,
    _child: std::process::Child,
}

impl Drop for ChronyServer {
    fn drop(&mut self) {
        if let Ok(t) = fs::read_to_string(&self.pid_file) {
            if let Ok(pid) = t.trim().parse::<i32>() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
        let _ = self._child.kill();
        let _ = self._child.wait();
    }
}

fn start_chrony_server(ns: &Netns, scratch: &Scratch) -> ChronyServer {
    let keys = scratch.file("chrony.keys", CHRONY_KEYS);
    let pid_file = scratch.path("chronyd.pid");
    let conf = scratch.file(
        "chrony.conf",
        &format!(
            "local stratum 8\nallow 127.0.0.0/8\nbindaddress 127.0.0.1\ncmdport 0\npidfile {}\nkeyfile {}\n",
            pid_file.display(),
            keys.display()
        ),
    );
    let argv = chronyd_argv(&["-d", "-x", "-u", "root", "-f", conf.to_str().unwrap()]);
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let child = ns
        .command(&refs)
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(scratch.path("chronyd.log")).unwrap())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while ns.query("127.0.0.1").map(|r| r.0) != Some(8) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "chronyd never answered at stratum 8"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    ChronyServer {
        pid_file,
        _child: child,
    }
}

fn our_client(ns: &Netns, scratch: &Scratch, line: &str) -> Daemon {
    let keys = scratch.file("client.keys", NTP_KEYS);
    let stats = scratch.path("stats");
    fs::create_dir_all(&stats).unwrap();
    let conf = scratch.file(
        "client.conf",
        &format!(
            "disable ntp\nstatsdir {}/\nstatistics peerstats\nfilegen peerstats file peerstats type none enable\n\
             keys {}\ntrustedkey 1 2\n{line}\n",
            stats.display(),
            keys.display()
        ),
    );
    start_ntpd(
        Some(ns),
        &conf,
        &["-I", "127.0.0.2"],
        None,
        &scratch.path("client.log"),
    )
}

fn wait_client_synced(ns: &Netns, scratch: &Scratch, within: Duration) -> Vec<String> {
    let t0 = Instant::now();
    loop {
        let text = fs::read_to_string(scratch.path("stats/peerstats")).unwrap_or_default();
        if let Some(last) = text.lines().last() {
            let f: Vec<String> = last.split_whitespace().map(String::from).collect();
            let status = u16::from_str_radix(&f[3], 16).unwrap();
            if status >> 8 & 7 == 6 && ns.query("127.0.0.2").map(|r| r.0) == Some(9) {
                return f;
            }
        }
        assert!(t0.elapsed() < within, "our client never selected chronyd");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn our_client_syncs_to_chronyd() {
    if !ready() {
        return;
    }
    for (tag, line, keyed) in [
        ("chs", "server 127.0.0.1 minpoll 4 maxpoll 4 iburst", false),
        (
            "chs1",
            "server 127.0.0.1 key 1 minpoll 4 maxpoll 4 iburst",
            true,
        ),
        (
            "chs2",
            "server 127.0.0.1 key 2 minpoll 4 maxpoll 4 iburst",
            true,
        ),
    ] {
        let ns = Netns::new(tag);
        ns.run(&["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"]);
        let scratch = Scratch::new(tag);
        let _server = start_chrony_server(&ns, &scratch);
        let _client = our_client(&ns, &scratch, line);
        let f = wait_client_synced(&ns, &scratch, Duration::from_secs(30));
        assert_eq!(f[2], "127.0.0.1");
        let status = u16::from_str_radix(&f[3], 16).unwrap();
        if keyed {
            assert_eq!(
                status >> 8 & 0x60,
                0x60,
                "{tag}: authenticated ({status:x})"
            );
        }
        let offset: f64 = f[4].parse().unwrap();
        assert!(offset.abs() < 0.001, "{tag}: offset {offset}");
        assert_eq!(
            ns.query("127.0.0.2"),
            Some((9, [127, 0, 0, 1])),
            "{tag}: stratum 9 via 127.0.0.1"
        );
    }
}
