//! The hosts of a reference fixture run, read from each host folder's
//! `ntp.conf` (RFC 5906 §10: `crypto host … pw …`, `keysdir`, `ident`,
//! `server|peer|broadcast … autokey`, `multicastclient`), so no test
//! names a fixture host: `AUTOKEY_FIXTURES=DIR` swaps in any folder of the
//! same layout (`runs/<run>/<host>/ntp.conf`, keys below the host folder).
//!
//! One file for every crate that reads the fixtures: it is the
//! `fixture_host` module of `ntp_tests`, and the autokey crate's tests
//! include it by path (they cannot depend on `ntp_tests`, which depends on
//! them). It uses only `std`, `config` and `keystore`.

#![allow(dead_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use config::conf::{AssocMode, Directive, Host as ConfHost};
use keystore::Keysdir;

/// The reference fixtures folder: `$AUTOKEY_FIXTURES` if set, else the copy
/// committed in this repository (`tests/data/autokey-ref`, found from the
/// including crate's manifest folder, one level below the workspace root).
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("AUTOKEY_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref"),
    }
}

/// A run folder of the fixtures: `<fixtures>/runs/<run>`.
pub fn run_dir(run: &str) -> PathBuf {
    fixtures_dir().join("runs").join(run)
}

/// One host of a run, as its `ntp.conf` describes it.
pub struct HostConf {
    /// Folder name, for messages only (the host's name is `crypto_host`).
    pub label: String,
    /// The host folder (relative paths in `ntp.conf` start here).
    pub dir: PathBuf,
    /// `crypto host`: the name in the key file names and certificates.
    pub crypto_host: String,
    /// `crypto pw`.
    pub pw: Option<String>,
    /// `crypto digest`, if given (the reference default is MD5).
    pub digest_name: Option<String>,
    /// `keysdir`, below the host folder.
    pub keys: Keysdir,
    /// `server`/`peer … autokey` lines: (mode, address, `ident`).
    pub unicast: Vec<(AssocMode, IpAddr, Option<String>)>,
    /// `broadcast … autokey` addresses.
    pub broadcast: Vec<IpAddr>,
    /// `multicastclient` groups.
    pub multicast: Vec<IpAddr>,
    /// Top-level `ident` (group of broadcast/multicast associations).
    pub ident: Option<String>,
}

impl HostConf {
    /// Reads `dir/ntp.conf`; panics naming the file when it does not parse
    /// or has no `crypto host` (test data only).
    pub fn load(dir: &Path) -> HostConf {
        let conf_path = dir.join("ntp.conf");
        let conf = config::conf::load(&conf_path)
            .unwrap_or_else(|e| panic!("{}: {e}", conf_path.display()))
            .config;
        let mut crypto = None;
        let mut keysdir = None;
        let mut unicast = Vec::new();
        let mut broadcast = Vec::new();
        let mut multicast = Vec::new();
        let mut ident = None;
        for d in conf.directives() {
            match d {
                Directive::Crypto(c) => crypto = Some(c.clone()),
                Directive::Keysdir(k) => keysdir = Some(k.clone()),
                Directive::Ident(i) => ident = Some(i.clone()),
                Directive::MulticastClient(v) => {
                    for a in v {
                        if let ConfHost::Ip(ip) = a.host {
                            multicast.push(ip);
                        }
                    }
                }
                Directive::Association(a) if a.options.autokey => {
                    if let ConfHost::Ip(ip) = a.address.host {
                        match a.mode {
                            AssocMode::Broadcast => broadcast.push(ip),
                            m => unicast.push((m, ip, a.options.ident.clone())),
                        }
                    }
                }
                _ => {}
            }
        }
        let crypto = crypto.unwrap_or_else(|| panic!("{}: no crypto line", conf_path.display()));
        let crypto_host = crypto
            .host
            .clone()
            .unwrap_or_else(|| panic!("{}: no crypto host", conf_path.display()));
        HostConf {
            label: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir: dir.to_path_buf(),
            crypto_host,
            pw: crypto.pw.clone(),
            digest_name: crypto.digest.clone(),
            keys: Keysdir::new(dir.join(keysdir.unwrap_or_else(|| "/usr/local/etc".into()))),
            unicast,
            broadcast,
            multicast,
            ident,
        }
    }

    /// A client of a server: a `server … autokey` line or a multicast
    /// group (symmetric peers have `peer` lines instead).
    pub fn is_client(&self) -> bool {
        self.unicast.iter().any(|(m, _, _)| *m == AssocMode::Server) || !self.multicast.is_empty()
    }

    /// Symmetric: a `peer … autokey` line.
    pub fn is_peer(&self) -> bool {
        self.unicast.iter().any(|(m, _, _)| *m == AssocMode::Peer)
    }

    /// The identity group this host names as a client: the `ident` of its
    /// first `server`/`peer` line, else the top-level `ident`.
    pub fn client_group(&self) -> Option<String> {
        self.unicast
            .first()
            .and_then(|(_, _, i)| i.clone())
            .or_else(|| self.ident.clone())
    }
}

/// Every host folder (one with an `ntp.conf`) of the run folder `dir`,
/// sorted by folder name.
pub fn run_hosts(dir: &Path) -> Vec<HostConf> {
    let mut hosts: Vec<HostConf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("ntp.conf").exists())
        .map(|p| HostConf::load(&p))
        .collect();
    hosts.sort_by(|a, b| a.label.cmp(&b.label));
    hosts
}

impl AsRef<HostConf> for HostConf {
    fn as_ref(&self) -> &HostConf {
        self
    }
}

/// In a client/server or broadcast run: the indices of (client, server)
/// among `hosts` — the client is the host with a `server` line or a
/// multicast group, the server the other one. `None` for other runs.
pub fn client_and_server<H: AsRef<HostConf>>(hosts: &[H]) -> Option<(usize, usize)> {
    let client = hosts.iter().position(|h| h.as_ref().is_client())?;
    let server = (0..hosts.len()).find(|&i| i != client)?;
    Some((client, server))
}
