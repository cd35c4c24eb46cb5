//! Shared by the Autokey replay tests: the hosts of one fixture run, learnt
//! from their `ntp.conf` files (`ntp_tests::fixture_host`) and key folders,
//! and the run's datagrams with each endpoint mapped to its host.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use autokey::identity::ClientIdentity;
use autokey::session::SessionDigest;
use keystore::{Certificate, HostKey, KeyError, Scheme};
use ntp_tests::fixture_host::{run_hosts, HostConf};
use ntp_tests::{ntp_datagrams, Datagram};

/// One host of a run: its `ntp.conf` (also reachable through `Deref`),
/// the keys it loads and what the run shows of it.
pub struct RunHost {
    pub conf: HostConf,
    /// `crypto digest`, as the session digest.
    pub digest: SessionDigest,
    pub host_key: HostKey,
    pub host_key_fs: u32,
    pub cert: Certificate,
    /// The host's unicast address (learnt from the other hosts' lines and
    /// the capture).
    pub addr: Option<IpAddr>,
    /// `stats/cryptostats`, if present.
    pub cryptostats: String,
}

impl std::ops::Deref for RunHost {
    type Target = HostConf;
    fn deref(&self) -> &HostConf {
        &self.conf
    }
}

impl AsRef<HostConf> for RunHost {
    fn as_ref(&self) -> &HostConf {
        &self.conf
    }
}

impl RunHost {
    /// The identity group this host uses as a client of `server`.
    pub fn group_for(&self, server: IpAddr) -> Option<String> {
        self.unicast
            .iter()
            .find(|(_, a, _)| *a == server)
            .and_then(|(_, _, i)| i.clone())
            .or_else(|| self.ident.clone())
    }

    /// The client identity parameters for `scheme` and `group`, as this
    /// crate loads them; `Err` with keystore's reason otherwise.
    pub fn client_identity(
        &self,
        scheme: Scheme,
        group: &str,
        trusted: Option<&Certificate>,
    ) -> Result<ClientIdentity, KeyError> {
        match scheme {
            Scheme::Iff => {
                let l = self.keys.iff_params(group, None)?;
                Ok(ClientIdentity::Iff {
                    params: l.value,
                    filestamp: l.filestamp,
                })
            }
            Scheme::Gq => {
                let l = self.keys.gq_params(group, None)?;
                let trusted = trusted.expect("GQ needs the trusted certificate");
                Ok(ClientIdentity::gq(l.value, trusted, l.filestamp)
                    .expect("GQ public key in the certificate"))
            }
            Scheme::Mv => {
                let l = self.keys.mv_client(group, None)?;
                Ok(ClientIdentity::Mv {
                    key: l.value,
                    filestamp: l.filestamp,
                })
            }
        }
    }

    /// The parameters exactly as the reference loads a stock 4.2.8 file:
    /// OpenSSL recomputes the DSA public value as g^priv (brief §6.2, §6.4).
    pub fn client_identity_as_reference_loads(
        &self,
        scheme: Scheme,
        group: &str,
    ) -> ClientIdentity {
        let link = self.keys.path().join(format!(
            "ntpkey_{}par_{group}",
            match scheme {
                Scheme::Iff => "iff",
                Scheme::Gq => "gq",
                Scheme::Mv => "mv",
            }
        ));
        let text = std::fs::read_to_string(&link).expect("parameter file");
        let fs = keystore::header::parse_filestamp(&link, &text).expect("filestamp");
        let pkey = keystore::pem::private_keys(&link, &text, None)
            .expect("PEM")
            .swap_remove(0);
        let dsa = pkey.dsa().expect("DSA key");
        match scheme {
            Scheme::Iff => ClientIdentity::Iff {
                params: keystore::IffParams {
                    p: dsa.p().to_owned().unwrap(),
                    q: dsa.q().to_owned().unwrap(),
                    g: dsa.g().to_owned().unwrap(),
                    v: dsa.pub_key().to_owned().unwrap(),
                },
                filestamp: fs,
            },
            Scheme::Mv => ClientIdentity::Mv {
                key: keystore::MvClientKey {
                    p: dsa.p().to_owned().unwrap(),
                    xbar: dsa.priv_key().to_owned().unwrap(),
                    xhat: dsa.pub_key().to_owned().unwrap(),
                },
                filestamp: fs,
            },
            Scheme::Gq => unreachable!("GQ files load; the reference misreads them instead"),
        }
    }

    /// The host's credentials as `ntpd` loads them at start-up (host key,
    /// sign key, certificate, server identity keys).
    pub fn credentials(&self) -> autokey::host::HostCredentials {
        self.try_credentials()
            .unwrap_or_else(|e| panic!("{}: {e}", self.dir.display()))
    }

    /// As [`RunHost::credentials`]; `Err` when a key file does not load
    /// (e.g. a stock MV server key whose public value was lost).
    pub fn try_credentials(&self) -> Result<autokey::host::HostCredentials, KeyError> {
        let set = self
            .keys
            .host_set(&self.crypto_host, &self.crypto_host, self.pw.as_deref())?;
        Ok(autokey::host::HostCredentials::from_host_set(
            set,
            self.digest,
        ))
    }

    /// The client identity sources for `group` as the reference client
    /// would have them: what loads, or for a stock file whose public value
    /// was lost, the values the reference actually computes with.
    pub fn identity_sources(&self, group: &str) -> Vec<autokey::association::IdentitySource> {
        use autokey::association::IdentitySource;
        let mut v = Vec::new();
        for scheme in [Scheme::Iff, Scheme::Gq, Scheme::Mv] {
            let loaded = match scheme {
                Scheme::Iff => self
                    .keys
                    .iff_params(group, None)
                    .map(|l| IdentitySource::Iff {
                        params: l.value,
                        filestamp: l.filestamp,
                    }),
                Scheme::Gq => self
                    .keys
                    .gq_params(group, None)
                    .map(|l| IdentitySource::Gq {
                        params: l.value,
                        filestamp: l.filestamp,
                    }),
                Scheme::Mv => self
                    .keys
                    .mv_client(group, None)
                    .map(|l| IdentitySource::Mv {
                        key: l.value,
                        filestamp: l.filestamp,
                    }),
            };
            match loaded {
                Ok(s) => v.push(s),
                Err(KeyError::PublicValueLost { .. }) => {
                    match self.client_identity_as_reference_loads(scheme, group) {
                        ClientIdentity::Iff { params, filestamp } => {
                            v.push(IdentitySource::Iff { params, filestamp })
                        }
                        ClientIdentity::Mv { key, filestamp } => {
                            v.push(IdentitySource::Mv { key, filestamp })
                        }
                        ClientIdentity::Gq { .. } => {}
                    }
                }
                Err(_) => {}
            }
        }
        v
    }

    /// True if this host's cryptostats recorded `event` (e.g. 0x10e) for a
    /// field with type word `word` and association `assoc`.
    pub fn logged_event(&self, word: u32, assoc: u32, event: u16) -> bool {
        let needle = format!("{word:08x} {assoc} {event:x} ");
        self.cryptostats.lines().any(|l| l.contains(&needle))
    }
}

/// A fixture run.
pub struct Run {
    pub dir: PathBuf,
    pub hosts: Vec<RunHost>,
    pub datagrams: Vec<Datagram>,
}

impl Run {
    /// Host index by unicast address.
    pub fn host_at(&self, a: IpAddr) -> Option<usize> {
        self.hosts.iter().position(|h| h.addr == Some(a))
    }
}

/// Every run folder below `<fixtures>/runs` with a capture and host folders.
pub fn run_dirs(fixtures: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures.join("runs"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.join("capture.pcap").exists());
    out.sort();
    out
}

fn load_host(conf: HostConf) -> RunHost {
    let digest = match &conf.digest_name {
        Some(n) => SessionDigest::from_name(n).expect("supported crypto digest"),
        None => SessionDigest::Md5,
    };
    let dir = conf.dir.clone();
    let hk = conf
        .keys
        .host_key(&conf.crypto_host, conf.pw.as_deref())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let cert = conf
        .keys
        .certificate(&conf.crypto_host)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    RunHost {
        conf,
        digest,
        host_key: hk.value,
        host_key_fs: hk.filestamp,
        cert,
        addr: None,
        cryptostats: std::fs::read_to_string(dir.join("stats/cryptostats")).unwrap_or_default(),
    }
}

/// Loads a run: hosts from their folders, addresses from the other hosts'
/// `server`/`peer` lines, the broadcaster's from its broadcasts, the rest
/// from the capture's endpoints.
pub fn load_run(dir: &Path) -> Run {
    let mut hosts: Vec<RunHost> = run_hosts(dir).into_iter().map(load_host).collect();
    let datagrams = ntp_datagrams(&dir.join("capture.pcap")).expect("capture");
    // Unicast targets named by the other host.
    let n = hosts.len();
    for i in 0..n {
        let named: Vec<IpAddr> = hosts[i].unicast.iter().map(|(_, a, _)| *a).collect();
        for a in named {
            let others: Vec<usize> = (0..n)
                .filter(|&j| j != i && hosts[j].addr.is_none())
                .collect();
            if let [j] = others[..] {
                hosts[j].addr = Some(a);
            }
        }
    }
    // Broadcasters: the source of datagrams sent to their broadcast address.
    for h in hosts.iter_mut() {
        if h.addr.is_none() {
            if let Some(d) = datagrams.iter().find(|d| h.broadcast.contains(&d.dst.ip())) {
                h.addr = Some(d.src.ip());
            }
        }
    }
    // The rest: the other endpoint of unicast datagrams of a known host.
    let known: Vec<IpAddr> = hosts.iter().filter_map(|h| h.addr).collect();
    let mut endpoints: BTreeMap<IpAddr, ()> = BTreeMap::new();
    for d in &datagrams {
        for (a, b) in [(d.src.ip(), d.dst.ip()), (d.dst.ip(), d.src.ip())] {
            if known.contains(&a) && !known.contains(&b) && !b.is_multicast() {
                endpoints.insert(b, ());
            }
        }
    }
    let mut free = endpoints.keys().copied();
    for h in hosts.iter_mut() {
        if h.addr.is_none() {
            h.addr = free.next();
        }
    }
    Run {
        dir: dir.to_path_buf(),
        hosts,
        datagrams,
    }
}
