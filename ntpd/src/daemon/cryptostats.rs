//! The `cryptostats` file (`statistics cryptostats`, `filegen
//! cryptostats`; reference ntp.conf(5) "Monitoring Support"): one line per
//! Autokey protocol event (RFC 5906 §10), in the reference's format
//! `MJD SECONDS ADDRESS MESSAGE`, the address `0.0.0.0` for the host's own
//! events:
//!
//! * at start-up, each key file loaded (`ntpkey_RSAhost_bob.4004757740 mod
//!   512`, the certificate `… 0x0 len 308`, a server identity key) and
//!   `setup 0x80001 host bob md5WithRSAEncryption` (status word, name,
//!   signature);
//! * `signature update ts N` whenever the host re-signs its values;
//! * per association, what its engine recorded
//!   ([`autokey::association::CryptoRecord`]: `assoc`, `cert`, `iff`/`gq`/
//!   `mv`, `cook`, `sign`, `leap`, and refused fields as `TYPEWORD ASSOC
//!   CODE NAME`).
//!
//! The core gathers them once a second ([`Core::flush_cryptostats`]) and
//! hands them out as [`Action::Statistics`]; the start-up lines are made
//! where the key files are read ([`startup_lines`]).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use config::conf::StatsFile;
use keystore::Scheme;

use super::crypto::AutokeyHost;
use super::{Action, Core};

/// The address of the host's own events.
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// What the core keeps for the cryptostats file.
#[derive(Debug, Default)]
pub struct CryptoStats {
    /// Lines are wanted (`statistics cryptostats` with a `statsdir`).
    pub enabled: bool,
    /// Start-up lines not yet written.
    pub startup: Vec<String>,
    /// The host's signature update last written (NTP seconds).
    last_update: u32,
}

/// A cryptostats line (without the newline).
pub fn line(unix_secs: i64, nanos: u32, addr: IpAddr, message: &str) -> String {
    let (day, sod) = crate::stats::mjd(unix_secs, nanos);
    format!("{day} {sod:.3} {addr} {message}")
}

/// The file a key link in the keys directory finally points to (the
/// name the reference logs), or the link's own name.
fn file_name(dir: &Path, link: &str) -> String {
    std::fs::canonicalize(dir.join(link))
        .ok()
        .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| link.to_string())
}

/// The start-up lines of the host's key files, as the reference writes
/// them when it loads them (host key, certificate, server identity keys,
/// then `setup`).
pub fn startup_lines(ak: &AutokeyHost) -> Vec<String> {
    let dir = ak.keysdir.path();
    let host = &ak.host;
    let name = &ak.host_name;
    let mut out = Vec::new();
    out.push(format!(
        "{} mod {}",
        file_name(dir, &format!("ntpkey_host_{name}")),
        host.host_key().bits()
    ));
    let cert = host.cert();
    let own_flags = host
        .cert_cache()
        .entries()
        .iter()
        .find(|e| e.subject == cert.subject && e.issuer == cert.issuer)
        .map_or(0, |e| e.flags);
    out.push(format!(
        "{} 0x{own_flags:x} len {}",
        file_name(dir, &format!("ntpkey_cert_{name}")),
        cert.der.len()
    ));
    for (scheme, link) in [
        (Scheme::Iff, "iffkey"),
        (Scheme::Gq, "gqkey"),
        (Scheme::Mv, "mvkey"),
    ] {
        if let Some(id) = host.identity(scheme) {
            out.push(format!(
                "{} mod {}",
                file_name(dir, &format!("ntpkey_{link}_{name}")),
                id.modulus_bits()
            ));
        }
    }
    out.push(format!(
        "setup 0x{:x} host {} {}",
        host.status().0,
        host.name(),
        cert.signature_nid.long_name().unwrap_or("")
    ));
    out
}

impl Core {
    /// Moves what happened since the last call to cryptostats lines: the
    /// start-up lines, a new signature update, each association's
    /// records. Records are taken (and dropped) also when the file is not
    /// wanted, so that they never pile up.
    pub(super) fn flush_cryptostats(&mut self) {
        let mut lines: Vec<(IpAddr, String)> = Vec::new();
        let st = &mut self.out.cryptostats;
        lines.extend(st.startup.drain(..).map(|l| (LOCAL, l)));
        if let Some(ak) = &self.autokey {
            let ts = ak.host.last_update();
            if ts != st.last_update {
                st.last_update = ts;
                if ts != 0 {
                    lines.push((LOCAL, format!("signature update ts {ts}")));
                }
            }
        }
        for r in &mut self.assocs {
            let addr = r.assoc.remote().ip();
            if let Some(engine) = r.assoc.auth.autokey_engine_mut() {
                lines.extend(engine.take_records().iter().map(|x| (addr, x.to_string())));
            }
        }
        if !self.out.cryptostats.enabled || lines.is_empty() {
            return;
        }
        let (secs, nanos) = self.wall_unix();
        for (addr, message) in lines {
            self.out.actions.push(Action::Statistics {
                file: StatsFile::Cryptostats,
                unix_seconds: secs,
                line: line(secs, nanos, addr, &message),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format_is_the_reference_one() {
        // 61371 31924.079 = 2026-11-27 08:52:04.079 UTC.
        let unix = 1_795_737_600 + 31924;
        assert_eq!(
            line(
                unix,
                79_000_000,
                LOCAL,
                "setup 0x80001 host bob md5WithRSAEncryption"
            ),
            "61371 31924.079 0.0.0.0 setup 0x80001 host bob md5WithRSAEncryption"
        );
        assert_eq!(
            line(
                unix,
                0,
                "10.0.0.1".parse().unwrap(),
                "iff alice fs 4004757732"
            ),
            "61371 31924.000 10.0.0.1 iff alice fs 4004757732"
        );
    }
}
