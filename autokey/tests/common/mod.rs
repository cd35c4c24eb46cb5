//! Test hosts built from the reference fixtures: each host folder's
//! `ntp.conf` names the host, password, key folder and role (client,
//! server, peer), so no test names a fixture host and `AUTOKEY_FIXTURES`
//! can point at another fixture set of the same layout.

#![allow(dead_code)]

use std::net::IpAddr;
use std::path::Path;

use autokey::association::{AssociationConfig, IdentitySource};
use autokey::host::{HostCredentials, LocalHost};
use autokey::session::SessionDigest;
use proto::header::{LeapIndicator, Mode, ReferenceId};
use proto::{Header, NtpShort, NtpTimestamp};
use rand::SeedableRng;

pub type Rng = rand_chacha::ChaCha20Rng;

pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

/// The fixture reader shared with `ntp_tests` (one file, included here by
/// path: `ntp_tests` depends on this crate).
#[path = "../../../tests/src/fixture_host.rs"]
mod fixture_host;

pub use fixture_host::HostConf;

/// A host folder of a run, as its `ntp.conf` describes it (fields through
/// `Deref`), and the credentials and configurations our engines take.
pub struct FixtureHost(pub HostConf);

impl std::ops::Deref for FixtureHost {
    type Target = HostConf;
    fn deref(&self) -> &HostConf {
        &self.0
    }
}

/// The two hosts of a client/server or broadcast run, by the role their
/// `ntp.conf` gives them (see `fixture_host::client_and_server`).
pub struct ClientServer {
    pub client: FixtureHost,
    pub server: FixtureHost,
}

/// The client and the server of `run` (e.g. `tc`, `iff`, `p10-bcast-iff`).
pub fn client_server(run: &str) -> ClientServer {
    let dir = fixture_host::run_dir(run);
    let hosts = fixture_host::run_hosts(&dir);
    let (ci, si) = fixture_host::client_and_server(&hosts)
        .unwrap_or_else(|| panic!("{}: no client and server hosts", dir.display()));
    let mut hosts: Vec<Option<HostConf>> = hosts.into_iter().map(Some).collect();
    ClientServer {
        client: FixtureHost(hosts[ci].take().unwrap()),
        server: FixtureHost(hosts[si].take().unwrap()),
    }
}

/// The two peers of the symmetric run `run` (`peer … autokey` on both), in
/// folder order.
pub fn symmetric_peers(run: &str) -> (FixtureHost, FixtureHost) {
    let dir = fixture_host::run_dir(run);
    let mut hosts = fixture_host::run_hosts(&dir);
    assert!(
        hosts.len() == 2 && hosts.iter().all(HostConf::is_peer),
        "{}: not two symmetric peers",
        dir.display()
    );
    let b = hosts.pop().unwrap();
    (FixtureHost(hosts.pop().unwrap()), FixtureHost(b))
}

impl FixtureHost {
    /// `crypto host`: the host's name in its certificate and key files.
    pub fn name(&self) -> &str {
        &self.crypto_host
    }

    /// `name@group`: the host's name under an Autokey group (RFC 5906
    /// §4, brief §2.3).
    pub fn in_group(&self, group: &str) -> String {
        format!("{}@{group}", self.name())
    }

    /// The address of this client's first `server`/`peer` line.
    pub fn server_addr(&self) -> IpAddr {
        self.unicast
            .first()
            .unwrap_or_else(|| panic!("{}: no server line", self.dir.display()))
            .1
    }

    /// Host credentials with every server identity key present.
    pub fn credentials(&self) -> HostCredentials {
        let pw = self.pw.as_deref();
        let set = self
            .keys
            .host_set(self.name(), self.name(), pw)
            .expect("host keys");
        HostCredentials::from_host_set(set, SessionDigest::Md5)
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
        let ident = self.client_group();
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

/// `creds` with a new self-signed certificate for the same sign key:
/// subject `subject` (e.g. `host@group`), role `role` (trustRoot, private
/// or plain), same serial, start and filestamp as the fixture's.
pub fn recertified(
    mut creds: HostCredentials,
    subject: &str,
    role: keystore::cert::CertRole,
) -> HostCredentials {
    let old = &creds.cert;
    let spec = keystore::cert::CertificateSpec {
        subject,
        issuer: subject,
        serial: old.serial as u32,
        not_before_unix: old.not_before,
        lifetime_days: 365,
        role,
        gq_public: old.subject_key_id.as_deref(),
        digest: old.digest.expect("fixture certificate digest"),
    };
    let x509 = keystore::cert::build_certificate(&spec, &creds.sign_key, &creds.sign_key)
        .expect("certificate");
    creds.cert =
        keystore::Certificate::from_x509(Path::new("test"), x509, old.filestamp).expect("parse");
    creds
}

/// Our client association against our server's fast path, in memory.
pub struct Link {
    pub client_host: LocalHost,
    pub server_host: LocalHost,
    pub client: autokey::association::Association,
    pub caddr: IpAddr,
    pub saddr: IpAddr,
    pub now: u32,
    pub rng: Rng,
}

impl Link {
    /// Both hosts synchronised at `now`; the client association uses
    /// `cfg` (its addresses are taken as client and server addresses).
    pub fn new(
        client: HostCredentials,
        server: HostCredentials,
        cfg: AssociationConfig,
        now: u32,
        seed: u64,
    ) -> Link {
        let mut rng = rng(seed);
        let mut server_host = LocalHost::new(server, now, 17, &mut rng).expect("server host");
        server_host.update(now);
        let mut client_host = LocalHost::new(client, now, 17, &mut rng).expect("client host");
        client_host.update(now);
        Link {
            caddr: cfg.local,
            saddr: cfg.remote,
            client: autokey::association::Association::new(cfg, now),
            client_host,
            server_host,
            now: now + 10,
            rng,
        }
    }

    /// The client's next request packet.
    pub fn request(&mut self) -> (Option<proto::exten::AutokeyCode>, Vec<u8>) {
        let tx = self
            .client
            .poll(&self.client_host, self.now, &mut self.rng)
            .expect("poll");
        let bytes = autokey::packet::seal(header(Mode::Client, self.now), tx.fields, &tx.key)
            .expect("seal");
        (tx.request, bytes)
    }

    /// The server fast path's answer to `req`.
    pub fn serve(&mut self, req: &[u8]) -> autokey::error::Result<Vec<u8>> {
        let pkt = proto::PacketRef::parse(req).map_err(autokey::AutokeyError::Field)?;
        match autokey::server::fast_path(
            &self.server_host,
            &pkt,
            self.caddr,
            self.saddr,
            self.now,
            &(),
            &mut self.rng,
        )? {
            autokey::server::ServerReply::Reply { fields, key } => {
                autokey::packet::seal(header(Mode::Server, self.now), fields, &key)
            }
            autokey::server::ServerReply::CryptoNak(e) => Err(e),
        }
    }

    /// One poll: request → fast path → reply bytes.
    pub fn exchange(&mut self) -> (Option<proto::exten::AutokeyCode>, Vec<u8>) {
        let (code, req) = self.request();
        (code, self.serve(&req).expect("server reply"))
    }

    /// Hands a reply to the client association.
    pub fn deliver(
        &mut self,
        bytes: &[u8],
    ) -> autokey::error::Result<Vec<autokey::association::AssocEvent>> {
        let pkt = proto::PacketRef::parse(bytes).map_err(autokey::AutokeyError::Field)?;
        self.client.receive(
            &mut self.client_host,
            &pkt,
            self.saddr,
            self.caddr,
            self.now,
            &mut self.rng,
        )
    }

    /// Polls until a poll sends no request (or `max` polls), asserting no
    /// reply is rejected; returns the request codes sent.
    pub fn run_dance(&mut self, max: usize) -> Vec<proto::exten::AutokeyCode> {
        use autokey::association::AssocEvent;
        let mut codes = Vec::new();
        for _ in 0..max {
            let (code, reply) = self.exchange();
            codes.extend(code);
            let events = self.deliver(&reply).expect("reply accepted");
            assert!(
                events
                    .iter()
                    .all(|e| !matches!(e, AssocEvent::Rejected(_) | AssocEvent::Restarted(_))),
                "{events:?}"
            );
            self.now += 16;
            if code.is_none() {
                break;
            }
        }
        codes
    }

    /// The extension fields of a packet, as owned octets.
    pub fn fields(bytes: &[u8]) -> Vec<Vec<u8>> {
        proto::PacketRef::parse(bytes)
            .expect("packet")
            .fields()
            .map(|f| f.as_bytes().to_vec())
            .collect()
    }

    /// Hands bare extension fields to the client (the MAC step skipped).
    pub fn deliver_fields(&mut self, fields: &[Vec<u8>]) -> Vec<autokey::association::AssocEvent> {
        let refs: Vec<&[u8]> = fields.iter().map(|f| f.as_slice()).collect();
        self.client
            .receive_fields(&mut self.client_host, &refs, self.now, &mut self.rng)
    }
}
