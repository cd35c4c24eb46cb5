//! Test hosts built from the reference fixtures: each run folder's
//! `ntp.conf` names the host, password and key folder.

#![allow(dead_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use autokey::association::{AssociationConfig, IdentitySource};
use autokey::host::{HostCredentials, LocalHost};
use autokey::identity::ServerIdentity;
use autokey::session::SessionDigest;
use config::conf::{Directive, Host as ConfHost};
use keystore::Keysdir;
use proto::header::{LeapIndicator, Mode, ReferenceId};
use proto::{Header, NtpShort, NtpTimestamp};
use rand::SeedableRng;

pub type Rng = rand_chacha::ChaCha20Rng;

pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

pub fn fixtures() -> PathBuf {
    match std::env::var_os("AUTOKEY_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref"),
    }
}

/// A host folder of a run: its keys and the `server` line's target/ident.
pub struct FixtureHost {
    pub keys: Keysdir,
    pub name: String,
    pub pw: Option<String>,
    pub server: Option<(IpAddr, Option<String>)>,
    pub ident: Option<String>,
}

pub fn fixture_host(run: &str, host: &str) -> FixtureHost {
    let dir = fixtures().join("runs").join(run).join(host);
    let conf = config::conf::load(&dir.join("ntp.conf"))
        .expect("ntp.conf")
        .config;
    let mut out = FixtureHost {
        keys: Keysdir::new(dir.join("keys")),
        name: String::new(),
        pw: None,
        server: None,
        ident: None,
    };
    for d in conf.directives() {
        match d {
            Directive::Crypto(c) => {
                out.name = c.host.clone().expect("crypto host");
                out.pw = c.pw.clone();
            }
            Directive::Keysdir(k) => out.keys = Keysdir::new(dir.join(k)),
            Directive::Ident(i) => out.ident = Some(i.clone()),
            Directive::Association(a) => {
                if let ConfHost::Ip(ip) = a.address.host {
                    out.server = Some((ip, a.options.ident.clone()));
                }
            }
            _ => {}
        }
    }
    out
}

impl FixtureHost {
    /// Host credentials with every server identity key present.
    pub fn credentials(&self) -> HostCredentials {
        let pw = self.pw.as_deref();
        let set = self
            .keys
            .host_set(&self.name, &self.name, pw)
            .expect("host keys");
        let mut identities = Vec::new();
        if let Some(l) = set.iff {
            identities.push(ServerIdentity::Iff {
                key: l.value,
                filestamp: l.filestamp,
            });
        }
        if let Some(l) = set.gq {
            identities.push(ServerIdentity::Gq {
                key: l.value,
                filestamp: l.filestamp,
            });
        }
        if let Some(l) = set.mv {
            identities.push(ServerIdentity::Mv {
                key: l.value,
                filestamp: l.filestamp,
            });
        }
        let sign_key = set
            .sign_key
            .map(|s| s.value.pkey)
            .unwrap_or_else(|| set.host_key.value.pkey.clone());
        HostCredentials {
            host_key: set.host_key.value.pkey,
            host_key_fs: set.host_key.filestamp,
            sign_key,
            cert: set.cert,
            identities,
            digest: SessionDigest::Md5,
        }
    }

    pub fn local_host(&self, now: u32, rng: &mut Rng) -> LocalHost {
        LocalHost::new(self.credentials(), now, 17, rng).expect("local host")
    }

    /// Client identity parameters for `group` that load.
    pub fn identity_sources(&self, group: &str) -> Vec<IdentitySource> {
        let mut v = Vec::new();
        if let Ok(l) = self.keys.iff_params(group, None) {
            v.push(IdentitySource::Iff {
                params: l.value,
                filestamp: l.filestamp,
            });
        }
        if let Ok(l) = self.keys.gq_params(group, None) {
            v.push(IdentitySource::Gq {
                params: l.value,
                filestamp: l.filestamp,
            });
        }
        if let Ok(l) = self.keys.mv_client(group, None) {
            v.push(IdentitySource::Mv {
                key: l.value,
                filestamp: l.filestamp,
            });
        }
        v
    }

    /// The client configuration of this host's `server` line.
    pub fn client_config(&self, assoc_id: u32, local: IpAddr, remote: IpAddr) -> AssociationConfig {
        let ident = self
            .server
            .as_ref()
            .and_then(|(_, i)| i.clone())
            .or(self.ident.clone());
        let identities = ident
            .as_deref()
            .map(|g| self.identity_sources(g))
            .unwrap_or_default();
        AssociationConfig {
            assoc_id,
            local,
            remote,
            ident,
            identities,
            poll: 4,
            automax: 12,
            kind: autokey::association::AssocKind::Client,
        }
    }
}

pub fn header(mode: Mode, xmt: u32) -> Header {
    Header {
        leap: LeapIndicator::NoWarning,
        version: 4,
        mode,
        stratum: 2,
        poll: 4,
        precision: -20,
        root_delay: NtpShort::ZERO,
        root_dispersion: NtpShort::ZERO,
        reference_id: ReferenceId(0x7f00_0001),
        reference_timestamp: NtpTimestamp::ZERO,
        origin_timestamp: NtpTimestamp::ZERO,
        receive_timestamp: NtpTimestamp::ZERO,
        transmit_timestamp: NtpTimestamp::from_parts(xmt, 0),
    }
}
