//! The `clock-sim` binary: flags, scenario files, key=value output, CSV.

use std::collections::HashMap;
use std::process::Command;

fn clock_sim(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clock-sim"))
        .args(args)
        .output()
        .expect("run clock-sim");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kv(stdout: &str) -> HashMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn prints_the_documented_keys_and_writes_csv() {
    let dir = std::env::temp_dir().join(format!("clock-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("offset.csv");
    let (ok, out, err) = clock_sim(&[
        "--servers",
        "4",
        "--jitter",
        "0.0001",
        "--asymmetry",
        "0",
        "--freq",
        "50",
        "--wander",
        "0.001",
        "--initial-offset",
        "0.01",
        "--falsetickers",
        "1",
        "--loss",
        "0.05",
        "--minpoll",
        "6",
        "--maxpoll",
        "8",
        "--duration",
        "7200",
        "--seed",
        "3",
        "--jitter-dist",
        "exp",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let m = kv(&out);
    for key in [
        "converge_s",
        "rms_offset_s",
        "max_offset_s",
        "freq_error_ppm",
        "steps",
        "falseticker_selected",
    ] {
        assert!(m.contains_key(key), "missing {key} in {out}");
    }
    assert_eq!(m["falseticker_selected"], "0");
    assert_eq!(m["steps"], "0");
    let rms: f64 = m["rms_offset_s"].parse().unwrap();
    assert!(rms > 0.0 && rms < 1e-3, "{rms}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("time_s,offset_s"));
    assert_eq!(lines.count(), 7200);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn scenario_file_and_flags_agree() {
    let dir = std::env::temp_dir().join(format!("clock-sim-scn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lan.scn");
    std::fs::write(
        &file,
        "# LAN\nservers = 4\njitter = 0.0001\nfreq = 50\nduration = 3600\n",
    )
    .unwrap();
    let (ok1, out1, _) = clock_sim(&["--scenario", file.to_str().unwrap()]);
    let (ok2, out2, _) = clock_sim(&[
        "--servers",
        "4",
        "--jitter",
        "0.0001",
        "--freq",
        "50",
        "--duration",
        "3600",
    ]);
    assert!(ok1 && ok2);
    assert_eq!(out1, out2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_flags_are_reported_with_the_fix() {
    let (ok, _, err) = clock_sim(&["--jitter", "fast"]);
    assert!(!ok);
    assert!(
        err.contains("jitter") && err.contains("not seconds"),
        "{err}"
    );
    let (ok, _, err) = clock_sim(&["--jitter-dist", "cauchy"]);
    assert!(!ok);
    assert!(err.contains("normal, exp or uniform"), "{err}");
    let (ok, _, err) = clock_sim(&["--bogus", "1"]);
    assert!(!ok);
    assert!(err.contains("unknown key"), "{err}");
    let (ok, _, err) = clock_sim(&["--scenario", "/nonexistent/x.scn"]);
    assert!(!ok);
    assert!(err.contains("cannot read scenario file"), "{err}");
    let (ok, out, _) = clock_sim(&["--help"]);
    assert!(ok && out.contains("--jitter-dist"));
}
