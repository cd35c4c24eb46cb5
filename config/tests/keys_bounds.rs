//! Issue 15 item 7: the keys file parses in linear time, is capped in
//! size, and gives one warning for all its redefined ids. The attack
//! shapes: 65 535 keys (2.2 s before, quadratic), 234 k lines redefining
//! ids (234 k warning lines before), a file larger than any real one.

use std::path::Path;
use std::time::{Duration, Instant};

use config::keys::{load, parse_str, KeysError, MAX_KEYS_FILE_BYTES};

fn every_id() -> String {
    (1..=65_535u32)
        .map(|id| format!("{id} SHA1 {:040x}\n", u128::from(id) * 0x9e37_79b9))
        .collect()
}

#[test]
fn every_key_id_parses_in_linear_time() {
    let text = every_id();
    let started = Instant::now();
    let f = parse_str(&text, Path::new("ntp.keys")).unwrap();
    let once = started.elapsed();
    assert_eq!(f.keys.len(), 65_535);
    assert!(f.warnings.is_empty());
    // Twice the lines (every id defined again) take about twice as long,
    // not four times: linear, with room for a noisy machine.
    let doubled = format!("{text}{text}");
    let started = Instant::now();
    let f = parse_str(&doubled, Path::new("ntp.keys")).unwrap();
    let twice = started.elapsed();
    assert_eq!(f.keys.len(), 65_535);
    assert!(
        twice < once * 4 + Duration::from_millis(200),
        "{once:?} then {twice:?}"
    );
    assert!(once < Duration::from_secs(2), "{once:?}");
}

#[test]
fn redefined_ids_give_one_warning() {
    let text: String = (0..234_000u32)
        .map(|i| format!("{} MD5 k{i}\n", i % 1000 + 1))
        .collect();
    let f = parse_str(&text, Path::new("ntp.keys")).unwrap();
    assert_eq!(f.keys.len(), 1000);
    assert_eq!(
        f.warnings.len(),
        1,
        "{:?}",
        &f.warnings[..f.warnings.len().min(3)]
    );
    let w = f.warnings[0].to_string();
    assert!(
        w.contains("key 1 is defined again (first on line 1)")
            && w.contains("232999 more lines (up to line 234000)"),
        "{w}"
    );
}

#[test]
fn a_single_redefinition_keeps_its_own_warning() {
    let f = parse_str("1 MD5 a\n2 MD5 b\n1 MD5 c\n", Path::new("ntp.keys")).unwrap();
    assert_eq!(f.warnings.len(), 1);
    assert!(
        f.warnings[0]
            .to_string()
            .ends_with("and this line is ignored"),
        "{}",
        f.warnings[0]
    );
    assert_eq!(f.warnings[0].line, 3);
}

#[test]
fn a_keys_file_above_the_cap_is_refused() {
    let path = std::env::temp_dir().join(format!("keys-bounds-{}.keys", std::process::id()));
    let line = "# padding\n";
    let lines = usize::try_from(MAX_KEYS_FILE_BYTES).unwrap() / line.len() + 1;
    std::fs::write(&path, line.repeat(lines)).unwrap();
    let r = load(&path);
    std::fs::remove_file(&path).unwrap();
    match r {
        Err(e @ KeysError::TooLarge { .. }) => {
            assert!(e.to_string().contains("larger than"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}
