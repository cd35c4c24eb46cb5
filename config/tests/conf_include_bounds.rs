//! Issue 15 item 6: `includefile` fan-out is bounded in total, not only
//! in depth and per-file size. The attack shape: 100 `includefile` lines
//! per file over 4 levels (10^8 openings; the reference and our earlier
//! reader were still parsing after 40 s at 600 MB) is refused at the
//! 257th opening, fast; included files over 4 MiB together are refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use config::conf::{load, MAX_INCLUDED_FILES, MAX_TOTAL_BYTES};

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("conf-bounds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fan_out(dir: &Scratch, levels: usize, lines: usize) -> PathBuf {
    for level in 0..levels {
        let next = dir.path(&format!("level{}.conf", level + 1));
        let text = if level + 1 == levels {
            "server 192.0.2.1\n".to_string()
        } else {
            format!("includefile {}\n", next.display()).repeat(lines)
        };
        std::fs::write(dir.path(&format!("level{level}.conf")), text).unwrap();
    }
    dir.path("level0.conf")
}

#[test]
fn include_fan_out_stops_at_the_total_file_count() {
    let dir = Scratch::new("fanout");
    let top = fan_out(&dir, 5, 100);
    let started = Instant::now();
    let err = load(&top).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains(&format!("more than {MAX_INCLUDED_FILES} included files")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_modest_fan_out_still_loads() {
    let dir = Scratch::new("modest");
    let top = fan_out(&dir, 3, 10); // 10 + 100 openings
    let l = load(&top).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.config.directives().count(), 100);
}

#[test]
fn included_octets_are_capped_in_total() {
    let dir = Scratch::new("bytes");
    // 900 KiB of comments, under the per-file cap, included six times.
    let big = dir.path("big.conf");
    std::fs::write(&big, "# comment\n".repeat(900 * 1024 / 10)).unwrap();
    let top = dir.path("top.conf");
    std::fs::write(&top, format!("includefile {}\n", big.display()).repeat(6)).unwrap();
    let err = load(Path::new(&top))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains(&format!("above {MAX_TOTAL_BYTES} octets")),
        "{err}"
    );
}
