//! The leap table in the daemon: a `leapfile` read at start-up feeds the
//! Autokey LEAP responses (RFC 5906 §10.9, brief §2.7: TAI offset, last
//! leap, expiry) and mode 6's `tai`, `leapsec`, `expire`; a client
//! without a file of its own takes the values a server proved in its LEAP
//! response, serves them on in turn, and shows them the same way.

use std::path::Path;

use crate::leapfile::LeapTable;

use super::Core;

/// Reads `leapfile` (if configured) into the core and the Autokey host.
/// A file that cannot be used is logged and the daemon runs without it,
/// as the reference does.
pub(super) fn load(core: &mut Core, leapfile: Option<&Path>) {
    let Some(path) = leapfile else {
        return;
    };
    match LeapTable::load(path) {
        Ok(t) => {
            tracing::info!(
                "leapfile {}: TAI offset {} s since NTP {}, expires NTP {}",
                path.display(),
                t.tai_offset,
                t.last_leap,
                t.expires
            );
            install(core, t);
        }
        Err(e) => tracing::warn!("{e}; running without a leap table"),
    }
}

fn install(core: &mut Core, t: LeapTable) {
    if let Some(ak) = core.autokey.as_mut() {
        ak.host.set_leap(t.leap_values());
    }
    core.leap_table = Some(t);
}

impl Core {
    /// Without a leap table of its own, the first association whose
    /// server proved LEAP values with a TAI offset gives the table
    /// (newer expiry wins later).
    pub(super) fn adopt_leap_values(&mut self) {
        let best = self
            .assocs
            .iter()
            .filter_map(|r| r.assoc.auth.autokey_engine()?.leap_values())
            .filter_map(|v| LeapTable::from_values(&v))
            .max_by_key(|t| t.expires);
        let Some(t) = best else {
            return;
        };
        if self.leap_table.is_some_and(|own| own.expires >= t.expires) {
            return;
        }
        tracing::info!(
            "leap values from a server: TAI offset {} s since NTP {}, expire NTP {}",
            t.tai_offset,
            t.last_leap,
            t.expires
        );
        install(self, t);
    }
}
