//! Simulation scenarios: servers, paths, the client's configuration, and
//! the `key=value` vocabulary shared by `clock-sim`'s flags and scenario
//! files.

use crate::controller::LoopMode;
use crate::discipline::DisciplineConfig;
use crate::select::SelectionParams;
use crate::sim::clock::Oscillator;
use crate::sim::network::{JitterDirection, JitterDist, Path, RouteChange};

/// A simulated server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// Offset of the server's clock from true time, seconds (a
    /// falseticker has a large one).
    pub offset: f64,
    /// Stratum the server advertises.
    pub stratum: u8,
    /// Root delay it advertises, seconds.
    pub root_delay: f64,
    /// Root dispersion it advertises, seconds.
    pub root_dispersion: f64,
    /// Precision, log2 seconds.
    pub precision: i8,
    /// Outages: (start, end) in true seconds during which it never replies.
    pub outages: Vec<(f64, f64)>,
    /// Network path to it.
    pub path: Path,
    /// Whether it is a falseticker (for the `falseticker_selected` count).
    pub falseticker: bool,
}

impl Default for ServerSpec {
    fn default() -> Self {
        ServerSpec {
            offset: 0.0,
            stratum: 1,
            root_delay: 0.0,
            root_dispersion: 0.0001,
            precision: -20,
            outages: Vec::new(),
            path: Path::default(),
            falseticker: false,
        }
    }
}

/// A complete scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Servers.
    pub servers: Vec<ServerSpec>,
    /// Client oscillator.
    pub oscillator: Oscillator,
    /// Initial phase error of the client (local − true), seconds.
    pub initial_offset: f64,
    /// Drift-file frequency the client starts with, s/s (None: no file).
    pub drift: Option<f64>,
    /// Client minpoll / maxpoll.
    pub minpoll: i8,
    /// See `minpoll`.
    pub maxpoll: i8,
    /// `iburst` on every association.
    pub iburst: bool,
    /// Discipline configuration (flags, tinker).
    pub discipline: DisciplineConfig,
    /// Selection parameters (`tos`).
    pub selection: SelectionParams,
    /// Daemon or kernel loop.
    pub mode: LoopMode,
    /// Simulated duration, seconds.
    pub duration: f64,
    /// RNG seed.
    pub seed: u64,
    /// |offset| below which the client counts as converged, seconds.
    pub converge_threshold: f64,
    /// True time of an inserted leap second (end of the UTC day), if any;
    /// servers announce it for the preceding `leap_warning` seconds.
    pub leap_at: Option<f64>,
    /// How long before `leap_at` servers set LI=1, seconds.
    pub leap_warning: f64,
    /// Clock filters may re-report their best sample on every poll
    /// ([`crate::filter::Estimator::DelayWeighted`]; false: the RFC 5905 minimum-delay filter).
    pub filter_reuse: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            servers: vec![ServerSpec::default()],
            oscillator: Oscillator::default(),
            initial_offset: 0.0,
            drift: None,
            minpoll: 6,
            maxpoll: 10,
            iburst: true,
            discipline: DisciplineConfig::default(),
            selection: SelectionParams::default(),
            mode: LoopMode::Daemon,
            duration: 86400.0,
            seed: 1,
            converge_threshold: 0.001,
            leap_at: None,
            leap_warning: 3600.0,
            filter_reuse: true,
        }
    }
}

/// Flag-level description, turned into a [`Scenario`] by [`ScenarioArgs::build`].
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioArgs {
    /// Number of servers.
    pub servers: usize,
    /// One-way base delay, seconds.
    pub delay: f64,
    /// Jitter scale, seconds.
    pub jitter: f64,
    /// Jitter distribution.
    pub jitter_dist: JitterDist,
    /// Path asymmetry, seconds.
    pub asymmetry: f64,
    /// Client frequency error, PPM.
    pub freq_ppm: f64,
    /// Random-walk wander, PPM per √s.
    pub wander_ppm: f64,
    /// Initial offset, seconds.
    pub initial_offset: f64,
    /// Number of falsetickers among the servers.
    pub falsetickers: usize,
    /// Offset of the falsetickers, seconds.
    pub falseticker_offset: f64,
    /// Loss fraction.
    pub loss: f64,
    /// minpoll.
    pub minpoll: i8,
    /// maxpoll.
    pub maxpoll: i8,
    /// Duration, seconds.
    pub duration: f64,
    /// Seed.
    pub seed: u64,
    /// Outage of server 0: (start, end) seconds.
    pub outage: Option<(f64, f64)>,
    /// Route change on every path: (at, extra one-way delay).
    pub route_change: Option<(f64, f64)>,
    /// Leap second at this true time.
    pub leap_at: Option<f64>,
    /// How long before the leap the servers announce it, seconds.
    pub leap_warning: f64,
    /// Kernel loop instead of daemon loop.
    pub kernel: bool,
    /// `-x`.
    pub slew_only: bool,
    /// `-g`.
    pub allow_panic: bool,
    /// Drift file value, PPM.
    pub drift_ppm: Option<f64>,
    /// iburst.
    pub iburst: bool,
    /// Loop gain (phase time constant in polls).
    pub pll_gain: Option<f64>,
    /// Filter sample reuse.
    pub filter_reuse: bool,
    /// Which direction of every path carries the jitter.
    pub jitter_on: JitterDirection,
    /// `tinker huffpuff` span, seconds.
    pub huffpuff: Option<f64>,
    /// `tinker dispersion`, PPM (default 15).
    pub dispersion_ppm: Option<f64>,
    /// Discipline `freq_hold_phase` (default true).
    pub freq_hold_phase: bool,
    /// Discipline `freq_window`, seconds.
    pub freq_window: Option<f64>,
}

impl Default for ScenarioArgs {
    fn default() -> Self {
        ScenarioArgs {
            servers: 4,
            delay: 0.0005,
            jitter: 0.0001,
            jitter_dist: JitterDist::Normal,
            asymmetry: 0.0,
            freq_ppm: 0.0,
            wander_ppm: 0.0,
            initial_offset: 0.0,
            falsetickers: 0,
            falseticker_offset: 0.5,
            loss: 0.0,
            minpoll: 6,
            maxpoll: 10,
            duration: 86400.0,
            seed: 1,
            outage: None,
            route_change: None,
            leap_at: None,
            leap_warning: 3600.0,
            kernel: false,
            slew_only: false,
            allow_panic: false,
            drift_ppm: None,
            iburst: true,
            pll_gain: None,
            filter_reuse: true,
            jitter_on: JitterDirection::Both,
            huffpuff: None,
            dispersion_ppm: None,
            freq_hold_phase: true,
            freq_window: None,
        }
    }
}

/// A bad scenario key or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ScenarioError {
    /// The key (flag name without dashes).
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn num<T: std::str::FromStr>(key: &str, value: &str, what: &str) -> Result<T, ScenarioError> {
    value.trim().parse().map_err(|_| ScenarioError {
        key: key.to_string(),
        message: format!("{value:?} is not {what}"),
    })
}

fn pair(key: &str, value: &str) -> Result<(f64, f64), ScenarioError> {
    let (a, b) = value.split_once(',').ok_or_else(|| ScenarioError {
        key: key.to_string(),
        message: format!("{value:?} must be two numbers separated by a comma, e.g. 3600,7200"),
    })?;
    Ok((num(key, a, "a number")?, num(key, b, "a number")?))
}

impl ScenarioArgs {
    /// Set one `key=value` (flag name without the leading dashes).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ScenarioError> {
        let unit = |v: f64, k: &str| -> Result<f64, ScenarioError> {
            if v.is_finite() {
                Ok(v)
            } else {
                Err(ScenarioError {
                    key: k.to_string(),
                    message: "must be finite".into(),
                })
            }
        };
        match key {
            "servers" => self.servers = num(key, value, "a server count")?,
            "delay" => self.delay = unit(num(key, value, "seconds")?, key)?,
            "jitter" => self.jitter = unit(num(key, value, "seconds")?, key)?,
            "jitter-dist" => {
                self.jitter_dist = value.parse().map_err(|m| ScenarioError {
                    key: key.into(),
                    message: m,
                })?
            }
            "asymmetry" => self.asymmetry = unit(num(key, value, "seconds")?, key)?,
            "freq" => self.freq_ppm = unit(num(key, value, "PPM")?, key)?,
            "wander" => self.wander_ppm = unit(num(key, value, "PPM")?, key)?,
            "initial-offset" => self.initial_offset = unit(num(key, value, "seconds")?, key)?,
            "falsetickers" => self.falsetickers = num(key, value, "a count")?,
            "falseticker-offset" => {
                self.falseticker_offset = unit(num(key, value, "seconds")?, key)?
            }
            "loss" => {
                let l: f64 = num(key, value, "a fraction")?;
                if !(0.0..=1.0).contains(&l) {
                    return Err(ScenarioError {
                        key: key.into(),
                        message: format!("{l} must be between 0 and 1"),
                    });
                }
                self.loss = l
            }
            "minpoll" => self.minpoll = num(key, value, "a poll exponent")?,
            "maxpoll" => self.maxpoll = num(key, value, "a poll exponent")?,
            "duration" => self.duration = unit(num(key, value, "seconds")?, key)?,
            "seed" => self.seed = num(key, value, "an unsigned integer")?,
            "outage" => self.outage = Some(pair(key, value)?),
            "route-change" => self.route_change = Some(pair(key, value)?),
            "leap" => self.leap_at = Some(num(key, value, "seconds")?),
            "leap-warning" => self.leap_warning = unit(num(key, value, "seconds")?, key)?,
            "kernel" => self.kernel = num(key, value, "true or false")?,
            "slew-only" => self.slew_only = num(key, value, "true or false")?,
            "allow-panic" => self.allow_panic = num(key, value, "true or false")?,
            "drift" => self.drift_ppm = Some(num(key, value, "PPM")?),
            "iburst" => self.iburst = num(key, value, "true or false")?,
            "pll-gain" => self.pll_gain = Some(num(key, value, "a number")?),
            "filter-reuse" => self.filter_reuse = num(key, value, "true or false")?,
            "jitter-on" => {
                self.jitter_on = value.parse().map_err(|m| ScenarioError {
                    key: key.into(),
                    message: m,
                })?
            }
            "freq-window" => self.freq_window = Some(unit(num(key, value, "seconds")?, key)?),
            "freq-hold-phase" => self.freq_hold_phase = num(key, value, "true or false")?,
            "huffpuff" => self.huffpuff = Some(unit(num(key, value, "seconds")?, key)?),
            "dispersion" => {
                let v = unit(num(key, value, "PPM")?, key)?;
                if v < 0.0 {
                    return Err(ScenarioError {
                        key: key.into(),
                        message: format!("{v} must not be negative"),
                    });
                }
                self.dispersion_ppm = Some(v)
            }
            other => {
                return Err(ScenarioError {
                    key: other.to_string(),
                    message: "unknown key; see clock-sim --help".into(),
                })
            }
        }
        Ok(())
    }

    /// Parse a scenario file: `key = value` lines, `#` comments.
    pub fn parse_file(&mut self, text: &str) -> Result<(), (usize, ScenarioError)> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err((
                    n + 1,
                    ScenarioError {
                        key: line.to_string(),
                        message: "expected key = value".into(),
                    },
                ));
            };
            self.set(k.trim(), v.trim()).map_err(|e| (n + 1, e))?;
        }
        Ok(())
    }

    /// Validate and build the scenario.
    pub fn build(&self) -> Result<Scenario, ScenarioError> {
        if self.servers == 0 {
            return Err(ScenarioError {
                key: "servers".into(),
                message: "need at least one server".into(),
            });
        }
        if self.falsetickers > self.servers {
            return Err(ScenarioError {
                key: "falsetickers".into(),
                message: format!("{} exceeds --servers {}", self.falsetickers, self.servers),
            });
        }
        if !(crate::constants::MINPOLL..=crate::constants::MAXPOLL).contains(&self.minpoll)
            || self.maxpoll < self.minpoll
            || self.maxpoll > crate::constants::MAXPOLL
        {
            return Err(ScenarioError {
                key: "minpoll".into(),
                message: format!(
                    "need {} <= minpoll <= maxpoll <= {}",
                    crate::constants::MINPOLL,
                    crate::constants::MAXPOLL
                ),
            });
        }
        let mut servers = Vec::new();
        for i in 0..self.servers {
            let falseticker = i >= self.servers - self.falsetickers;
            let mut path = Path {
                base_delay: self.delay,
                jitter: self.jitter,
                dist: self.jitter_dist,
                asymmetry: self.asymmetry,
                loss: self.loss,
                route_changes: Vec::new(),
                jitter_on: self.jitter_on,
            };
            if let Some((at, extra)) = self.route_change {
                path.route_changes.push(RouteChange {
                    at,
                    extra_delay: extra,
                });
            }
            let outages = match (i, self.outage) {
                (0, Some(o)) => vec![o],
                _ => Vec::new(),
            };
            servers.push(ServerSpec {
                offset: if falseticker {
                    self.falseticker_offset
                } else {
                    0.0
                },
                outages,
                path,
                falseticker,
                ..ServerSpec::default()
            });
        }
        let mut discipline = DisciplineConfig {
            minpoll: self.minpoll,
            maxpoll: self.maxpoll,
            slew_only: self.slew_only,
            allow_first_panic: self.allow_panic,
            ..DisciplineConfig::default()
        };
        if let Some(g) = self.pll_gain {
            discipline.pll_gain = g;
        }
        discipline.huffpuff = self.huffpuff;
        discipline.freq_hold_phase = self.freq_hold_phase;
        if let Some(w) = self.freq_window {
            discipline.freq_window = w;
        }
        let mut selection = SelectionParams::default();
        if let Some(d) = self.dispersion_ppm {
            selection.phi = d * 1e-6;
        }
        Ok(Scenario {
            servers,
            oscillator: Oscillator {
                freq_error: self.freq_ppm * 1e-6,
                wander: self.wander_ppm * 1e-6,
            },
            initial_offset: self.initial_offset,
            drift: self.drift_ppm.map(|p| p * 1e-6),
            minpoll: self.minpoll,
            maxpoll: self.maxpoll,
            iburst: self.iburst,
            discipline,
            selection,
            mode: if self.kernel {
                LoopMode::Kernel
            } else {
                LoopMode::Daemon
            },
            duration: self.duration,
            seed: self.seed,
            converge_threshold: 0.001,
            leap_at: self.leap_at,
            leap_warning: self.leap_warning,
            filter_reuse: self.filter_reuse,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_files_build_scenarios() {
        let mut a = ScenarioArgs::default();
        a.set("servers", "4").unwrap();
        a.set("falsetickers", "1").unwrap();
        a.set("jitter-dist", "exp").unwrap();
        a.parse_file("# comment\nfreq = 50\nloss=0.1 # trailing\n")
            .unwrap();
        let s = a.build().unwrap();
        assert_eq!(s.servers.len(), 4);
        assert!(s.servers[3].falseticker && !s.servers[0].falseticker);
        assert_eq!(s.servers[3].offset, 0.5);
        assert_eq!(s.servers[0].path.dist, JitterDist::Exponential);
        assert!((s.oscillator.freq_error - 50e-6).abs() < 1e-15);
        assert_eq!(s.servers[1].path.loss, 0.1);
    }

    #[test]
    fn bad_input_names_the_key_and_line() {
        let mut a = ScenarioArgs::default();
        let e = a.set("jitter", "fast").unwrap_err();
        assert_eq!(e.key, "jitter");
        assert!(e.to_string().contains("not seconds"));
        let (line, e) = a.parse_file("seed = 1\nbogus = 2\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(e.message.contains("unknown key"));
        assert!(a.set("loss", "1.5").is_err());
        a.set("servers", "2").unwrap();
        a.set("falsetickers", "3").unwrap();
        assert!(a.build().is_err());
    }
}
