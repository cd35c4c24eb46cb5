//! The `ntpd` binary: flags, refusals and `--saveconfigquit`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ntpd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ntpd"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("NTPD")
        .env_remove("NTPD_CONFIGFILE")
        .output()
        .expect("run ntpd")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ntpd-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn every_directive_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tests/data/every-directive.conf")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn help_lists_every_flag() {
    let o = ntpd(&["--help"]);
    assert!(o.status.success());
    let text = stdout(&o);
    for flag in [
        "-4 ipv4",
        "-6 ipv6",
        "-a authreq",
        "-A authnoreq",
        "-b bcastsync",
        "-c configfile",
        "-d debug-level",
        "-D set-debug-level",
        "-f driftfile",
        "-g panicgate",
        "-G force-step-once",
        "-i jaildir",
        "-I interface",
        "-k keyfile",
        "-l logfile",
        "-L novirtualips",
        "-m mdns",
        "-n nofork",
        "-N nice",
        "-p pidfile",
        "-P priority",
        "-q quit",
        "-r propagationdelay",
        "saveconfigquit FILE",
        "-s statsdir",
        "-t trustedkey",
        "-u user",
        "-U updateinterval",
        "var NAME=VALUE",
        "dvar NAME=VALUE",
        "-w wait-sync",
        "-x slew",
        "version",
        "-? help",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
    assert_eq!(ntpd(&["-?"]).stdout, o.stdout);
}

#[test]
fn version_prints_one_line() {
    let o = ntpd(&["--version"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1);
    assert!(
        text.starts_with(&format!("ntpd {} ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn bad_flags_give_one_line_and_status_1() {
    let table: &[(&[&str], &str)] = &[
        (&["-z"], "ntpd: unknown option -z; run `ntpd --help` for the list of options\n"),
        (&["--configfil"], "ntpd: option -c/--configfile needs a value; write -c FILE or --configfile=FILE\n"),
        (&["-t", "abc"], "ntpd: option -t/--trustedkey: `abc` is not valid; expected a key id from 1 to 65535\n"),
        (&["-a", "-A"], "ntpd: options -a/--authreq and -A/--authnoreq cannot be used together; drop one of them\n"),
        (&["-D", "much"], "ntpd: option -D/--set-debug-level: `much` is not valid; expected a debug level, a whole number of 0 or more\n"),
    ];
    for (args, expected) in table {
        let o = ntpd(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&o), *expected, "{args:?}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn unbuilt_flags_are_refused_by_name() {
    let dir = scratch("refused");
    let out = dir.join("out.conf");
    let o = ntpd(&["-m"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ntpd: -m/--mdns (mDNS registration needs a DNS-SD library this build does not use) is not supported yet\n"
    );
    let o = ntpd(&["-U", "300"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ntpd: -U/--updateinterval 300 (interfaces are scanned once, at start-up; use -U 0) is not supported yet\n"
    );
    assert!(!out.exists());
    fs::remove_dir_all(&dir).unwrap();
}

/// `-b`, `-U 0`, `--var`, `--dvar` and server operands are accepted (what
/// they do is tested on the settings and the mode 6 server).
#[test]
fn broadcast_variables_and_server_operands_are_accepted() {
    let dir = scratch("accepted");
    let out = dir.join("out.conf");
    let o = ntpd(&[
        "-b",
        "-U",
        "0",
        "--var",
        "site=lab",
        "--dvar",
        "owner=ops",
        "-c",
        s(&every_directive_conf()),
        "--saveconfigquit",
        s(&out),
        "192.0.2.1",
        "pool.ntp.org",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_daemon_refuses_a_missing_configuration_before_detaching() {
    let o = ntpd(&["-c", "/nonexistent/ntpd-test.conf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("ntpd: /nonexistent/ntpd-test.conf: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn environment_presets_are_refused() {
    let o = Command::new(env!("CARGO_BIN_EXE_ntpd"))
        .args(["--saveconfigquit", "/nonexistent/x"])
        .env("NTPD_CONFIGFILE", "/etc/ntp.conf")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ntpd: presetting options through the environment variable NTPD_CONFIGFILE is not supported; unset it and give the option on the command line\n"
    );
}

#[test]
fn saveconfigquit_round_trips_every_directive() {
    let dir = scratch("roundtrip");
    let conf = every_directive_conf();
    let first = dir.join("first.conf");
    let o = ntpd(&["-c", s(&conf), "--saveconfigquit", s(&first)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).ends_with(&format!("configuration saved to {}\n", first.display())),
        "{}",
        stderr(&o)
    );

    let original = config::conf::load(&conf).unwrap().config;
    let text = fs::read_to_string(&first).unwrap();
    let reparsed = config::conf::parse_str(&text, &first).unwrap().config;
    assert_eq!(reparsed, original);
    assert!(!text.is_empty());

    // Fed back through --saveconfigquit, the canonical text is a fixed point.
    let second = dir.join("second.conf");
    let o = ntpd(&["--configfile", s(&first), "--saveconfigquit", s(&second)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&second).unwrap(), text);
    // No temporary files are left behind.
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn saveconfigquit_to_dev_stdout_prints_the_config() {
    let conf = every_directive_conf();
    let o = ntpd(&["-c", s(&conf), "--saveconfigquit", "/dev/stdout"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = config::conf::load(&conf).unwrap().config.to_conf_string();
    assert_eq!(stdout(&o), expected);
}

#[test]
fn saveconfigquit_to_dev_stdout_redirected_to_a_file_writes_into_it() {
    let dir = scratch("redirect");
    let conf = every_directive_conf();
    let out = dir.join("redirected.conf");
    let file = fs::File::create(&out).unwrap();
    let inode = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&out).unwrap());
    let o = Command::new(env!("CARGO_BIN_EXE_ntpd"))
        .args(["-c", s(&conf), "--saveconfigquit", "/dev/stdout"])
        .stdout(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = config::conf::load(&conf).unwrap().config.to_conf_string();
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);
    // The shell's file was written in place, not replaced by a new one.
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&fs::metadata(&out).unwrap()),
        inode
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn broken_config_gives_file_line_col_and_keeps_the_old_output() {
    let dir = scratch("broken");
    let out = dir.join("out.conf");
    fs::write(&out, "previous contents\n").unwrap();
    let cases: &[(&str, u32)] = &[
        ("server 192.0.2.1 minpoll banana\n", 1),
        ("driftfile /var/lib/ntp/drift\nfrobnicate now\n", 2),
    ];
    for (i, (text, line)) in cases.iter().enumerate() {
        let conf = dir.join(format!("broken{i}.conf"));
        fs::write(&conf, text).unwrap();
        let o = ntpd(&["-c", s(&conf), "--saveconfigquit", s(&out)]);
        assert!(!o.status.success());
        let err = stderr(&o);
        let prefix = format!("{}:{line}:", conf.display());
        assert!(err.starts_with(&prefix), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(fs::read_to_string(&out).unwrap(), "previous contents\n");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_config_file_is_an_error() {
    let dir = scratch("missing");
    let out = dir.join("out.conf");
    let o = ntpd(&[
        "-c",
        s(&dir.join("absent.conf")),
        "--saveconfigquit",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("absent.conf"), "{}", stderr(&o));
    assert!(!out.exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unwritable_output_is_an_error() {
    let conf = every_directive_conf();
    let o = ntpd(&[
        "-c",
        s(&conf),
        "--saveconfigquit",
        "/nonexistent-dir/out.conf",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).lines().last().unwrap_or_default().starts_with(
            "ntpd: cannot write the saved configuration to /nonexistent-dir/out.conf:"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn keys_file_given_with_k_is_validated() {
    let dir = scratch("keys");
    let conf = dir.join("ntp.conf");
    fs::write(&conf, "driftfile /var/lib/ntp/drift\n").unwrap();
    let out = dir.join("out.conf");

    let good = dir.join("good.keys");
    fs::write(&good, "1 MD5 secret\n2 SHA1 k 192.0.2.1/40\n").unwrap();
    let o = ntpd(&["-c", s(&conf), "-k", s(&good), "--saveconfigquit", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("{}:2:10: warning: prefix /40", good.display())),
        "{}",
        stderr(&o)
    );
    assert!(out.exists());

    fs::write(&out, "previous\n").unwrap();
    let bad = dir.join("bad.keys");
    fs::write(&bad, "1 MD5 secret\n0 MD5 x\n").unwrap();
    let o = ntpd(&["-c", s(&conf), "-k", s(&bad), "--saveconfigquit", s(&out)]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "{}:2:1: key id 0 cannot be set (it means \"no key\"); expected a key id from 1 to 65535\n",
            bad.display()
        )
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), "previous\n");
    fs::remove_dir_all(&dir).unwrap();
}
