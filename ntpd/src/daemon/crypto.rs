//! Autokey in the daemon (RFC 5906; brief §9.2): the host's key files
//! loaded at start-up into an [`autokey::host::LocalHost`], and the client
//! identity parameters (`ntpkey_<scheme>par_<group>`) of `… autokey ident
//! GROUP` associations.
//!
//! A key file that is missing, undecryptable or malformed stops the
//! daemon at start-up with a message naming the file (brief §9.2: the
//! reference exits there too). At run time nothing here aborts (brief
//! §11.3 rule 16): protocol errors are the engine's, logged and survived.

use std::path::PathBuf;

use autokey::association::IdentitySource;
use autokey::host::{HostCredentials, LocalHost};
use autokey::SessionDigest;
use keystore::{KeyError, Keysdir};

use super::settings::{AutokeySettings, DEFAULT_KEYSDIR};

/// Default `automax` (key-list lifetime 2^12 s, brief §9.1).
pub const DEFAULT_AUTOMAX: u8 = 12;

/// Default `revoke` (private-value refresh 2^17 s, brief §9.1).
pub const DEFAULT_REVOKE: u8 = 17;

/// Why Autokey could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CryptoSetupError {
    /// A key file (the message names it and the fix).
    #[error("crypto: {0}")]
    Keys(#[from] KeyError),
    /// The loaded keys do not make a host (e.g. an unsupported signature).
    #[error("crypto: {dir}: the host certificate cannot be used: {source}; regenerate the keys with ntp-keygen")]
    Host {
        dir: PathBuf,
        source: autokey::AutokeyError,
    },
    /// No `crypto host` and the host name is unknown.
    #[error("crypto: cannot read the host name ({0}); give it with `crypto host NAME`")]
    HostName(std::io::Error),
}

/// The daemon's Autokey state: the local host and what associations need.
#[derive(Debug)]
pub struct AutokeyHost {
    /// Keys, certificate, status word, responder.
    pub host: LocalHost,
    /// Where the client parameter files are looked up.
    pub keysdir: Keysdir,
    /// `automax`, log2 s.
    pub automax: u8,
    /// Top-level `ident GROUP`.
    pub ident: Option<String>,
}

/// The host name `crypto host` defaults to (`gethostname()`).
fn host_name() -> Result<String, CryptoSetupError> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .map_err(CryptoSetupError::HostName)
}

/// Loads the host's files in the order of brief §9.2 (host key, sign
/// key, certificate, server identity keys) and builds the host; `None`
/// without a `crypto` line. `now` is NTP seconds.
pub fn load<R: rand::CryptoRng + ?Sized>(
    s: &AutokeySettings,
    now: u32,
    rng: &mut R,
) -> Result<Option<AutokeyHost>, CryptoSetupError> {
    let Some(crypto) = &s.crypto else {
        return Ok(None);
    };
    let host = match &crypto.host {
        Some(h) => h.clone(),
        None => host_name()?,
    };
    let ident = crypto.ident.clone().unwrap_or_else(|| host.clone());
    let pw = crypto.pw.clone().unwrap_or_else(|| host.clone());
    let digest = match crypto.digest.as_deref() {
        None => SessionDigest::Md5,
        Some(name) => SessionDigest::from_name(name).unwrap_or_else(|| {
            tracing::warn!(
                "crypto digest {name}: invalid digest name (expected MD5, SHA1 or another digest of at most 20 octets); using MD5"
            );
            SessionDigest::Md5
        }),
    };
    let dir = s
        .keysdir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KEYSDIR));
    let keysdir = Keysdir::new(dir.clone());
    let set = keysdir.host_set(&host, &ident, Some(&pw))?;
    let creds = HostCredentials::from_host_set(set, digest);
    let revoke = s.revoke.unwrap_or(DEFAULT_REVOKE);
    let local = LocalHost::new(creds, now, revoke, rng)
        .map_err(|source| CryptoSetupError::Host { dir, source })?;
    tracing::info!(
        "crypto: host {} (certificate subject {:?}), status 0x{:x}",
        host,
        local.name(),
        local.status().0
    );
    Ok(Some(AutokeyHost {
        host: local,
        keysdir,
        automax: s.automax.unwrap_or(DEFAULT_AUTOMAX),
        ident: s.ident.clone(),
    }))
}

impl AutokeyHost {
    /// The client identity parameters of `group` that exist in the keys
    /// directory (IFF, GQ, MV; unencrypted, brief §9.2). A missing file is
    /// skipped; a present one that does not load is an error naming it.
    pub fn identity_sources(&self, group: &str) -> Result<Vec<IdentitySource>, KeyError> {
        let mut out = Vec::new();
        let missing = |e: &KeyError| matches!(e, KeyError::NotFound { .. });
        match self.keysdir.iff_params(group, None) {
            Ok(l) => out.push(IdentitySource::Iff {
                params: l.value,
                filestamp: l.filestamp,
            }),
            Err(e) if missing(&e) => {}
            Err(e) => return Err(e),
        }
        match self.keysdir.gq_params(group, None) {
            Ok(l) => out.push(IdentitySource::Gq {
                params: l.value,
                filestamp: l.filestamp,
            }),
            Err(e) if missing(&e) => {}
            Err(e) => return Err(e),
        }
        match self.keysdir.mv_client(group, None) {
            Ok(l) => out.push(IdentitySource::Mv {
                key: l.value,
                filestamp: l.filestamp,
            }),
            Err(e) if missing(&e) => {}
            Err(e) => return Err(e),
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(host: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/autokey-ref/runs/iff")
            .join(host)
            .join("keys")
    }

    fn settings(host: &str, pw: &str) -> AutokeySettings {
        AutokeySettings {
            crypto: Some(config::conf::Crypto {
                host: Some(host.into()),
                pw: Some(pw.into()),
                ..Default::default()
            }),
            keysdir: Some(fixture(host)),
            ..Default::default()
        }
    }

    #[test]
    fn the_fixture_server_loads_with_its_iff_key() {
        let mut rng: rand::rngs::StdRng = rand::make_rng();
        let ak = load(&settings("alice", "serverpassword"), 0xeeb3_c000, &mut rng)
            .unwrap()
            .unwrap();
        assert_eq!(ak.host.name(), "alice");
        // ENAB | IFF, md5WithRSAEncryption (NID 8) in the upper half, as
        // the reference's "setup 0x80021" (runs/iff/alice/ntpq-c-rv.txt
        // before the first signature refresh).
        assert_eq!(ak.host.status().0, 0x80021);
        assert_eq!(ak.automax, DEFAULT_AUTOMAX);
        // bob's keys hold the client IFF parameters of group alice.
        let bob = load(&settings("bob", "clientpassword"), 0xeeb3_c000, &mut rng)
            .unwrap()
            .unwrap();
        let ids = bob.identity_sources("alice").unwrap();
        assert!(matches!(ids.as_slice(), [IdentitySource::Iff { .. }]));
        assert!(bob.identity_sources("nosuchgroup").unwrap().is_empty());
    }

    #[test]
    fn no_crypto_line_no_autokey_and_bad_files_name_themselves() {
        let mut rng: rand::rngs::StdRng = rand::make_rng();
        assert!(load(&AutokeySettings::default(), 0, &mut rng)
            .unwrap()
            .is_none());
        let e = load(&settings("alice", "wrong"), 0, &mut rng).unwrap_err();
        assert!(e.to_string().contains("ntpkey_host_alice"), "{e}");
        let mut s = settings("carol", "x");
        s.keysdir = Some(fixture("alice"));
        let e = load(&s, 0, &mut rng).unwrap_err().to_string();
        assert!(
            e.contains("ntpkey_host_carol") && e.contains("not found"),
            "{e}"
        );
    }
}
