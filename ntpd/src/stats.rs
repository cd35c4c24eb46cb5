//! Statistics files (reference ntp.conf(5) "Monitoring Support":
//! `statsdir`, `statistics`, `filegen`) in the reference's line formats.
//!
//! * peerstats: `MJD SECONDS ADDRESS STATUS OFFSET DELAY DISPERSION JITTER`,
//!   the status word in hexadecimal, the four values in seconds with nine
//!   decimals; one line per clock filter update.
//!
//! File sets: `filegen NAME type day` (the default) writes
//! `PREFIX/NAME.YYYYMMDD` and, with `link` (the default), keeps the plain
//! name `PREFIX/NAME` as a symbolic link to the current file; `type none`
//! writes `PREFIX/NAME` itself; `type pid` writes `PREFIX/NAME.PID`.
//! Other types are reported as not built.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use config::conf::{Filegen, FilegenType, StatsFile};

/// Days between the Modified Julian Day epoch and the Unix epoch.
pub const MJD_UNIX_EPOCH: i64 = 40587;

/// The MJD day and the seconds into that day (UTC) of a Unix time.
pub fn mjd(unix_secs: i64, nanos: u32) -> (i64, f64) {
    let day = unix_secs.div_euclid(86400);
    let sod = unix_secs.rem_euclid(86400) as f64 + f64::from(nanos) * 1e-9;
    (day + MJD_UNIX_EPOCH, sod)
}

/// A peerstats line (without the newline).
#[allow(clippy::too_many_arguments)]
pub fn peerstats_line(
    unix_secs: i64,
    nanos: u32,
    addr: IpAddr,
    status: u16,
    offset: f64,
    delay: f64,
    dispersion: f64,
    jitter: f64,
) -> String {
    let (day, sod) = mjd(unix_secs, nanos);
    format!("{day} {sod:.3} {addr} {status:x} {offset:.9} {delay:.9} {dispersion:.9} {jitter:.9}")
}

/// `YYYYMMDD` of a Unix day (proleptic Gregorian, UTC).
pub fn ymd(unix_secs: i64) -> String {
    let (y, m, d) = proto::time::civil_from_days(unix_secs.div_euclid(86400));
    format!("{y:04}{m:02}{d:02}")
}

/// One statistics file set.
#[derive(Debug)]
pub struct FileGen {
    prefix: PathBuf,
    name: String,
    kind: FilegenType,
    link: bool,
    enabled: bool,
    current: Option<(PathBuf, File)>,
    /// The last write failed (logged once until a write succeeds).
    failing: bool,
}

impl FileGen {
    /// The set `stats` under directory `dir`, configured by its `filegen`
    /// line if any, enabled by `statistics`.
    pub fn new(dir: &Path, stats: StatsFile, fg: Option<&Filegen>, enabled: bool) -> Self {
        FileGen {
            prefix: dir.to_path_buf(),
            name: fg
                .and_then(|f| f.file.clone())
                .unwrap_or_else(|| stats.keyword().to_owned()),
            kind: fg.and_then(|f| f.kind).unwrap_or(FilegenType::Day),
            link: fg.and_then(|f| f.link).unwrap_or(true),
            enabled: fg.and_then(|f| f.enabled).unwrap_or(enabled),
            current: None,
            failing: false,
        }
    }

    /// Whether lines are written.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn path_for(&self, unix_secs: i64) -> PathBuf {
        let base = self.prefix.join(&self.name);
        match self.kind {
            FilegenType::Day => PathBuf::from(format!("{}.{}", base.display(), ymd(unix_secs))),
            FilegenType::Pid => PathBuf::from(format!("{}.{}", base.display(), std::process::id())),
            _ => base,
        }
    }

    /// [`write`](Self::write), logging a failure once — not on every
    /// line while, say, the statistics directory is missing — and logging
    /// again when writing works again.
    pub fn write_logged(&mut self, unix_secs: i64, line: &str) {
        match self.write(unix_secs, line) {
            Ok(()) if self.failing => {
                self.failing = false;
                tracing::info!("{}: statistics are written again", self.name);
            }
            Ok(()) => {}
            Err(e) if !self.failing => {
                self.failing = true;
                tracing::warn!(
                    "{}: cannot write {}: {e} (check `statsdir`; not logged again until it works)",
                    self.name,
                    self.path_for(unix_secs).display()
                );
            }
            Err(_) => {}
        }
    }

    /// Append `line` for time `unix_secs`, switching files at day
    /// boundaries.
    pub fn write(&mut self, unix_secs: i64, line: &str) -> io::Result<()> {
        if !self.enabled {
            return Ok(());
        }
        let path = self.path_for(unix_secs);
        if self.current.as_ref().map(|(p, _)| p) != Some(&path) {
            let f = OpenOptions::new().create(true).append(true).open(&path)?;
            if self.link && path != self.prefix.join(&self.name) {
                let link = self.prefix.join(&self.name);
                let _ = fs::remove_file(&link);
                if let Some(target) = path.file_name() {
                    std::os::unix::fs::symlink(target, &link)?;
                }
            }
            self.current = Some((path, f));
        }
        if let Some((_, f)) = &mut self.current {
            writeln!(f, "{line}")?;
            f.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mjd_and_dates() {
        // 2026-11-27 00:00:00 UTC = Unix 1795737600, MJD 61371.
        assert_eq!(mjd(1_795_737_600, 0), (61371, 0.0));
        assert_eq!(ymd(1_795_737_600), "20261127");
        assert_eq!(ymd(0), "19700101");
        assert_eq!(ymd(951_782_400), "20000229");
        let (d, s) = mjd(1_795_737_600 + 3661, 500_000_000);
        assert_eq!(d, 61371);
        assert!((s - 3661.5).abs() < 1e-9);
    }

    #[test]
    fn peerstats_line_format() {
        let l = peerstats_line(
            1_795_737_600 + 3661,
            250_000_000,
            "192.0.2.1".parse().unwrap(),
            0x9614,
            0.000123456789,
            0.0125,
            0.9375,
            1e-6,
        );
        assert_eq!(
            l,
            "61371 3661.250 192.0.2.1 9614 0.000123457 0.012500000 0.937500000 0.000001000"
        );
    }

    #[test]
    fn day_files_with_a_link() {
        let dir = std::env::temp_dir().join(format!("ntpd-stats-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut g = FileGen::new(&dir, StatsFile::Peerstats, None, true);
        g.write(1_795_737_600, "a").unwrap();
        g.write(1_795_737_600 + 86_400, "b").unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("peerstats.20261127")).unwrap(),
            "a\n"
        );
        assert_eq!(
            fs::read_to_string(dir.join("peerstats.20261128")).unwrap(),
            "b\n"
        );
        assert_eq!(fs::read_to_string(dir.join("peerstats")).unwrap(), "b\n");
        let mut off = FileGen::new(&dir, StatsFile::Loopstats, None, false);
        off.write(0, "x").unwrap();
        assert!(!dir.join("loopstats.19700101").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_reported_once_and_writing_resumes() {
        let dir = std::env::temp_dir().join(format!("ntpd-stats-missing-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut g = FileGen::new(&dir, StatsFile::Loopstats, None, true);
        g.write_logged(1_795_737_600, "lost");
        assert!(g.failing);
        g.write_logged(1_795_737_601, "lost too");
        assert!(g.failing, "still failing, not logged again");
        fs::create_dir_all(&dir).unwrap();
        g.write_logged(1_795_737_602, "kept");
        assert!(!g.failing);
        assert_eq!(
            fs::read_to_string(dir.join("loopstats.20261127")).unwrap(),
            "kept\n"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
