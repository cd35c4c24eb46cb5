//! Autokey in the daemon (RFC 5906; brief §9.2): the host's key files
//! loaded at start-up into an [`autokey::host::LocalHost`], the client
//! identity parameters of associations — `ntpkey_<scheme>par_<group>` for
//! `… autokey ident GROUP`, and without `ident` every parameter link of
//! the keys directory by the name of the server it is for (the
//! "Configuring Autokey" guide's `ntpkey_iff_<server>`), so that identity
//! runs as the guide promises — and the log lines of engine events.
//!
//! Client parameter files load with `crypto pw` (the guide's encrypted
//! `-e -q SERVERPW -p CLIENTPW` export, a copied GQ key) or unencrypted
//! (4.2.8's `-e -p SERVERPW` export).
//!
//! A key file that is missing, undecryptable or malformed stops the
//! daemon at start-up with a message naming the file (brief §9.2: the
//! reference exits there too). At run time nothing here aborts (brief
//! §11.3 rule 16): protocol errors are the engine's, logged and survived.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;

use autokey::association::{AssocEvent, Association, IdentitySource, NamedIdentity};
use autokey::host::{HostCredentials, LocalHost};
use autokey::SessionDigest;
use keystore::{KeyError, Keysdir, Scheme};

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
        /// The keys directory the certificate was loaded from.
        dir: PathBuf,
        /// Why the Autokey host could not be made from it.
        source: autokey::AutokeyError,
    },
    /// The keys directory does not exist.
    #[error("crypto: keysdir {dir} ({at}) does not exist; create it and run ntp-keygen there (see the Configuring Autokey guide), or correct the keysdir line")]
    Keysdir {
        /// The missing directory.
        dir: PathBuf,
        /// Where the path came from, for the message (`keysdir line at
        /// FILE:LINE`, or that it is the built-in default).
        at: String,
    },
    /// Keys were handed over for a configuration without a `crypto` line.
    #[error("crypto: key files were given but ntp.conf has no crypto line")]
    NoCrypto,
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
    /// This host's name (`crypto host` or the host name).
    pub host_name: String,
    /// `crypto pw`: the password client parameter files are tried with.
    pw: String,
    /// Events already logged at notice level (once per server and kind).
    announced: HashSet<String>,
    /// The client identity parameters of each group associations verify
    /// with (`None`: by server name), read from the keys directory by
    /// [`AutokeyHost::preload_identities`] so that mobilising an
    /// association reads no file.
    identities: HashMap<Option<String>, GroupIdentities>,
}

/// What associations of one group verify a server's identity with.
#[derive(Debug)]
struct GroupIdentities {
    own: Vec<IdentitySource>,
    named: Vec<NamedIdentity>,
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
    let Some(names) = HostNames::of(s)? else {
        return Ok(None);
    };
    let keysdir = Keysdir::new(names.dir.clone());
    let set = keysdir.host_set(&names.host, &names.ident, Some(&names.pw))?;
    build_host(s, names, set, now, rng).map(Some)
}

/// Builds the host from key files already read ([`load`] reads them;
/// a fuzz target reads them once and builds a fresh host per input).
/// `None` without a `crypto` line.
pub fn from_host_set<R: rand::CryptoRng + ?Sized>(
    s: &AutokeySettings,
    set: keystore::keysdir::HostSet,
    now: u32,
    rng: &mut R,
) -> Result<AutokeyHost, CryptoSetupError> {
    let names = HostNames::of(s)?.ok_or(CryptoSetupError::NoCrypto)?;
    build_host(s, names, set, now, rng)
}

/// The host of `set`, named as `names` (read once from the settings).
fn build_host<R: rand::CryptoRng + ?Sized>(
    s: &AutokeySettings,
    names: HostNames,
    set: keystore::keysdir::HostSet,
    now: u32,
    rng: &mut R,
) -> Result<AutokeyHost, CryptoSetupError> {
    let digest = match s.crypto.as_ref().and_then(|c| c.digest.as_deref()) {
        None => SessionDigest::Md5,
        Some(name) => SessionDigest::from_name(name).unwrap_or_else(|| {
            tracing::warn!(
                "crypto digest {name}: invalid digest name (expected MD5, SHA1 or another digest of at most 20 octets); using MD5"
            );
            SessionDigest::Md5
        }),
    };
    let creds = HostCredentials::from_host_set(set, digest);
    let revoke = s.revoke.unwrap_or(DEFAULT_REVOKE);
    let local =
        LocalHost::new(creds, now, revoke, rng).map_err(|source| CryptoSetupError::Host {
            dir: names.dir.clone(),
            source,
        })?;
    tracing::info!(
        "crypto: host {} (certificate subject {}), status 0x{:x}",
        names.host,
        local.name(),
        local.status().0
    );
    let mut host = AutokeyHost {
        host: local,
        keysdir: Keysdir::new(names.dir),
        automax: s.automax.unwrap_or(DEFAULT_AUTOMAX),
        ident: s.ident.clone(),
        host_name: names.host,
        pw: names.pw,
        announced: HashSet::new(),
        identities: HashMap::new(),
    };
    // Ephemeral associations (symmetric passive, broadcast client) verify
    // with the top-level `ident` group, or by server name.
    if let Err(e) = host.preload_identities(std::slice::from_ref(&s.ident)) {
        tracing::warn!("{e}; ephemeral Autokey associations will run the certificate trail only");
    }
    Ok(host)
}

/// What the `crypto` line and `keysdir` name: the host, its group, the
/// password and the keys directory (checked to exist).
struct HostNames {
    host: String,
    ident: String,
    pw: String,
    dir: PathBuf,
}

impl HostNames {
    fn of(s: &AutokeySettings) -> Result<Option<HostNames>, CryptoSetupError> {
        let Some(crypto) = &s.crypto else {
            return Ok(None);
        };
        let host = match &crypto.host {
            Some(h) => h.clone(),
            None => host_name()?,
        };
        let ident = crypto.ident.clone().unwrap_or_else(|| host.clone());
        let pw = crypto.pw.clone().unwrap_or_else(|| host.clone());
        let dir = s
            .keysdir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_KEYSDIR));
        if !dir.is_dir() {
            let at = match &s.keysdir_origin {
                Some(o) => format!("keysdir line at {o}"),
                None if s.keysdir.is_some() => "keysdir line".to_string(),
                None => "the default; ntp.conf has no keysdir line".to_string(),
            };
            return Err(CryptoSetupError::Keysdir { dir, at });
        }
        Ok(Some(HostNames {
            host,
            ident,
            pw,
            dir,
        }))
    }
}

impl AutokeyHost {
    /// The client identity parameters of `group` that exist in the keys
    /// directory (IFF, GQ, MV; with `crypto pw`, or unencrypted). A missing
    /// file is skipped; a present one that does not load is an error
    /// naming it and the fix.
    pub fn identity_sources(&self, group: &str) -> Result<Vec<IdentitySource>, KeyError> {
        let mut out = Vec::new();
        for scheme in [Scheme::Iff, Scheme::Gq, Scheme::Mv] {
            match self.load_params(scheme, group) {
                Ok(source) => out.push(source),
                Err(KeyError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn load_params(&self, scheme: Scheme, name: &str) -> Result<IdentitySource, KeyError> {
        let pw = Some(self.pw.as_str());
        Ok(match scheme {
            Scheme::Iff => {
                let l = self.keysdir.iff_params(name, pw)?;
                IdentitySource::Iff {
                    params: l.value,
                    filestamp: l.filestamp,
                }
            }
            Scheme::Gq => {
                let l = self.keysdir.gq_params(name, pw)?;
                IdentitySource::Gq {
                    params: l.value,
                    filestamp: l.filestamp,
                }
            }
            Scheme::Mv => {
                let l = self.keysdir.mv_client(name, pw)?;
                IdentitySource::Mv {
                    key: l.value,
                    filestamp: l.filestamp,
                }
            }
        })
    }

    /// Every client parameter link of the keys directory, loaded, by the
    /// server name it is for (used by associations without `ident`). Links
    /// under this host's own name are skipped: the guide's optional
    /// `ln -s ntpkey_host_client ntpkey_iff_client` names no server.
    pub fn named_identities(&self) -> Result<Vec<NamedIdentity>, KeyError> {
        let mut out = Vec::new();
        for link in self.keysdir.client_parameter_links()? {
            if link.name == self.host_name {
                continue;
            }
            let source = self.load_params(link.scheme, &link.name)?;
            let file = keystore::keysdir::client_links(link.scheme, &link.name)
                .into_iter()
                .map(|n| self.keysdir.path().join(n))
                .find(|p| p.symlink_metadata().is_ok())
                .unwrap_or_default();
            out.push(NamedIdentity {
                name: link.name,
                file: file.display().to_string(),
                source,
            });
        }
        Ok(out)
    }

    /// Reads the client identity parameters of every group in `groups`
    /// (`None`: the parameter links by server name) from the keys
    /// directory, once, at start-up. A file that is present but does not
    /// load is an error naming it and the fix.
    pub fn preload_identities(&mut self, groups: &[Option<String>]) -> Result<(), KeyError> {
        for group in groups {
            if self.identities.contains_key(group) {
                continue;
            }
            let loaded = match group.as_deref() {
                Some(g) => GroupIdentities {
                    own: self.identity_sources(g)?,
                    named: Vec::new(),
                },
                None => GroupIdentities {
                    own: Vec::new(),
                    named: self.named_identities()?,
                },
            };
            self.identities.insert(group.clone(), loaded);
        }
        Ok(())
    }

    /// Keeps the client identity parameters `old` read at start-up for
    /// the groups this host has not read itself (a key reload re-reads the
    /// host's own files, not the configured groups' parameters).
    pub fn keep_identities_of(&mut self, old: &mut AutokeyHost) {
        for (group, ids) in old.identities.drain() {
            self.identities.entry(group).or_insert(ids);
        }
    }

    /// What an association of group `ident` (or, without one, of the
    /// servers named by the parameter links) verifies the server with: a
    /// copy of what [`AutokeyHost::preload_identities`] read. A group not
    /// read at start-up has none (its association runs the certificate
    /// trail only, and the engine says so).
    pub fn client_identities(
        &self,
        ident: Option<&str>,
    ) -> Result<(Vec<IdentitySource>, Vec<NamedIdentity>), KeyError> {
        let Some(g) = self.identities.get(&ident.map(str::to_owned)) else {
            return Ok((Vec::new(), Vec::new()));
        };
        let own = g
            .own
            .iter()
            .map(IdentitySource::try_clone)
            .collect::<Result<_, _>>()?;
        let named = g
            .named
            .iter()
            .map(NamedIdentity::try_clone)
            .collect::<Result<_, _>>()?;
        Ok((own, named))
    }

    /// Logs an engine event of the association with `peer`: what the
    /// operator must act on (TC-only, no parameters, untrusted trail,
    /// identity refused) once per server at notice level, the rest at the
    /// reference's event level.
    pub fn log_event(&mut self, peer: IpAddr, engine: &Association, event: &AssocEvent) {
        let server = engine.server_name().unwrap_or("?");
        let once = |kind: &str| format!("{peer} {server} {kind}");
        match event {
            AssocEvent::TcOnly { .. }
            | AssocEvent::NoIdentityParameters { .. }
            | AssocEvent::UntrustedTrail { .. } => {
                if self.announced.insert(once(&event_kind(event))) {
                    tracing::warn!("{peer}: Autokey {event}");
                }
            }
            AssocEvent::Rejected(e) if is_identity_refusal(e) => {
                if self.announced.insert(once("identity")) {
                    let file = engine
                        .identity_file()
                        .map(|f| format!(" (parameters {f})"))
                        .unwrap_or_default();
                    tracing::warn!("{peer}: Autokey server {server} refused{file}: {e}");
                }
            }
            AssocEvent::Rejected(_) => crate::limited!(DEBUG, "{peer}: Autokey {event}"),
            AssocEvent::IdentityVerified(_) => {
                self.announced.remove(&once("identity"));
                let file = engine
                    .identity_file()
                    .map(|f| format!(" with {f}"))
                    .unwrap_or_default();
                tracing::info!(target: crate::logging::PEER_INFO, "{peer}: Autokey server {server}: {event}{file}");
            }
            _ => tracing::info!(target: crate::logging::PEER_INFO, "{peer}: Autokey {event}"),
        }
    }
}

/// The identity group of each configured `autokey` association: its
/// `ident`, else the top-level one, else none (by server name).
pub fn association_groups(
    associations: &[(config::conf::Association, config::conf::Origin)],
    host: &AutokeyHost,
) -> Vec<Option<String>> {
    associations
        .iter()
        .filter(|(a, _)| a.options.autokey)
        .map(|(a, _)| a.options.ident.clone().or_else(|| host.ident.clone()))
        .collect()
}

fn event_kind(e: &AssocEvent) -> String {
    match e {
        AssocEvent::TcOnly { .. } => "tc-only".into(),
        AssocEvent::NoIdentityParameters { .. } => "no-parameters".into(),
        AssocEvent::UntrustedTrail { .. } => "untrusted".into(),
        _ => "other".into(),
    }
}

/// An identity proof that did not verify (wrong group, old parameters).
fn is_identity_refusal(e: &autokey::AutokeyError) -> bool {
    use autokey::AutokeyError as E;
    matches!(
        e,
        E::Identity { .. }
            | E::Filestamp { .. }
            | E::MissingGroupKey { .. }
            | E::IdentityFormat { .. }
    )
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
    fn without_ident_the_parameter_links_are_loaded_by_server_name() {
        let mut rng: rand::rngs::StdRng = rand::make_rng();
        let mut bob = load(&settings("bob", "clientpassword"), 0xeeb3_c000, &mut rng)
            .unwrap()
            .unwrap();
        // Without `ident`, load() read the links for ephemeral
        // associations; a configured group is read before mobilising.
        let (own, named) = bob.client_identities(None).unwrap();
        assert!(own.is_empty());
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].name, "alice");
        assert!(
            named[0].file.ends_with("ntpkey_iffpar_alice"),
            "{}",
            named[0].file
        );
        assert!(matches!(named[0].source, IdentitySource::Iff { .. }));
        // With `ident alice` the same file is the group's.
        assert!(bob.client_identities(Some("alice")).unwrap().0.is_empty());
        bob.preload_identities(&[Some("alice".into())]).unwrap();
        let (own, named) = bob.client_identities(Some("alice")).unwrap();
        assert!(matches!(own.as_slice(), [IdentitySource::Iff { .. }]) && named.is_empty());
    }

    #[test]
    fn a_missing_keysdir_names_itself() {
        let mut rng: rand::rngs::StdRng = rand::make_rng();
        let mut s = settings("bob", "clientpassword");
        s.keysdir = Some(PathBuf::from("/nonexistent/keys"));
        let e = load(&s, 0, &mut rng).unwrap_err().to_string();
        assert!(
            e.contains("keysdir /nonexistent/keys") && e.contains("does not exist"),
            "{e}"
        );
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
