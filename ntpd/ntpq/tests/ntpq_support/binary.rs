//! Where the built `ntpq` is, for the tests of this package and for the
//! daemon's tests (package `ntpd`) that run it against a live `ntpd`.
//!
//! Cargo names a binary only to the tests of its own package
//! (`CARGO_BIN_EXE_ntpq`). The daemon's tests take it from the same
//! `target/<profile>/` folder their own executable runs from
//! (`target/<profile>/deps/<test>-<hash>`). `cargo test --workspace` (what
//! CI and the README run) builds every package's binaries before it runs
//! any test, since this package has integration tests; with `-p ntpd`
//! alone build it first (`cargo build -p ntpq`, same profile). A missing
//! binary fails the test with that advice, it never skips it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The path of the built `ntpq` binary.
pub fn ntpq_binary() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| match option_env!("CARGO_BIN_EXE_ntpq") {
        Some(own) => own.to_string(),
        None => beside_test_executable().display().to_string(),
    })
}

/// `target/<profile>/ntpq` for the profile this test was built with.
fn beside_test_executable() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's own path");
    let profile_dir = exe
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "deps"))
        .and_then(Path::parent)
        .unwrap_or_else(|| {
            panic!(
                "{}: not under target/<profile>/deps/, cannot find the ntpq binary next to it",
                exe.display()
            )
        });
    let ntpq = profile_dir.join("ntpq");
    assert!(
        ntpq.is_file(),
        "the ntpq binary is not at {}: it belongs to the `ntpq` package; run \
         `cargo test --workspace` (which builds it before any test runs) or \
         `cargo build -p ntpq` first, with the same profile as these tests",
        ntpq.display()
    );
    ntpq
}
