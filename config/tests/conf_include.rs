//! `includefile`: nested files are expanded in place, cycles and too deep
//! nesting are refused naming the chain, a missing file is an error, and
//! `end` stops reading every file. Relative include paths are taken from
//! the working directory (the crate directory under `cargo test`), as the
//! reference does.

use std::path::Path;

use config::conf::*;

fn load_ok(path: &str) -> Loaded {
    match load(Path::new(path)) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn nested_includes_are_expanded_in_place() {
    let l = load_ok("tests/data/include/outer.conf");
    let lines: Vec<String> = l.config.directives().map(directive_line).collect();
    assert_eq!(
        lines,
        vec![
            "server 192.0.2.1 iburst",
            "keysdir /etc/ntp",
            "crypto host alice",
            "restrict default nomodify",
        ]
    );
    let origins: Vec<(String, u32)> = l
        .config
        .statements
        .iter()
        .map(|s| (s.origin.file.display().to_string(), s.origin.line))
        .collect();
    assert_eq!(
        origins,
        vec![
            ("tests/data/include/outer.conf".to_string(), 2),
            ("tests/data/include/middle.conf".to_string(), 1),
            ("tests/data/include/inner.conf".to_string(), 1),
            ("tests/data/include/outer.conf".to_string(), 4),
        ]
    );
}

#[test]
fn a_cycle_is_an_error_naming_the_chain() {
    let err = load(Path::new("tests/data/include/cycle-a.conf")).err();
    assert_eq!(
        err.map(|e| e.to_string()).unwrap_or_default(),
        "tests/data/include/cycle-b.conf:1:1: includefile \"tests/data/include/cycle-a.conf\" would include a file that is already being read (a cycle); remove one of the includefile lines (include chain: tests/data/include/cycle-a.conf -> tests/data/include/cycle-b.conf -> tests/data/include/cycle-a.conf)"
    );
}

#[test]
fn a_missing_include_is_an_error() {
    let err = load(Path::new("tests/data/include/missing-inner.conf")).err();
    match err {
        Some(ConfigError::Include { at, chain, message }) => {
            assert_eq!((at.line, at.col), (1, 1));
            assert_eq!(
                chain,
                vec![
                    Path::new("tests/data/include/missing-inner.conf").to_path_buf(),
                    Path::new("tests/data/include/missing.conf").to_path_buf(),
                ]
            );
            assert!(
                message
                    .starts_with("cannot read included file \"tests/data/include/missing.conf\""),
                "{message}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn nesting_is_limited_like_the_reference() {
    // deep1 -> ... -> deep6 is five includes below the top file: allowed.
    let l = load_ok("tests/data/include/deep2.conf");
    assert_eq!(l.config.statements.len(), 1);
    // deep1 needs six levels below the top file.
    let err = load(Path::new("tests/data/include/deep1.conf")).err();
    match err {
        Some(ConfigError::Include { chain, message, at }) => {
            assert_eq!(chain.len(), 7);
            assert_eq!(at.file, Path::new("tests/data/include/deep6.conf"));
            assert!(message.contains("more than 5 levels"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn end_stops_every_file() {
    let l = load_ok("tests/data/include/end-outer.conf");
    let lines: Vec<String> = l.config.directives().map(directive_line).collect();
    assert_eq!(lines, vec!["server 192.0.2.1"]);
}

#[test]
fn a_directive_may_follow_the_include_path() {
    // The reference grammar is `includefile PATH command`: the trailing
    // command comes first, then the file.
    let l = match parse_str(
        "includefile tests/data/include/inner.conf keys /etc/ntp.keys\n",
        Path::new("t.conf"),
    ) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    let lines: Vec<String> = l.config.directives().map(directive_line).collect();
    assert_eq!(lines, vec!["keys /etc/ntp.keys", "crypto host alice"]);
}
