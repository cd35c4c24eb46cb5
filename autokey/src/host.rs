//! The local host's Autokey side (brief §2, §7.4, §9.2): its keys,
//! certificate, identity keys, status word, signature-refresh time and the
//! responder that answers every request code.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use keystore::cert::CertRole;
use keystore::Certificate;
use openssl::pkey::{PKey, Private};
use proto::exten::AutokeyCode;

use crate::cert::issue_certificate;
use crate::certcache::CertCache;
use crate::cookie::encrypt_cookie;
use crate::error::{AutokeyError, Result};
use crate::identity::ServerIdentity;
use crate::keylist::{KeyList, KeyListParams};
use crate::message::{code_scheme, AutokeyValues, LeapValues, Request, Response};
use crate::session::{ServerSecret, SessionDigest};
use crate::status::{self, StatusWord};
use crate::value::{SignedValue, Signer};

/// What a host loads at start-up (brief §9.2).
pub struct HostCredentials {
    /// RSA host key (decrypts cookies) and its filestamp.
    pub host_key: PKey<Private>,
    /// Filestamp of the host key file, NTP seconds (brief §8.3).
    pub host_key_fs: u32,
    /// Sign key (the host key unless a sign key file exists).
    pub sign_key: PKey<Private>,
    /// The host certificate (self-signed, carries the sign key).
    pub cert: Certificate,
    /// Identity keys this host can prove (server side).
    pub identities: Vec<ServerIdentity>,
    /// `crypto digest` (session keys).
    pub digest: SessionDigest,
}

impl HostCredentials {
    /// The credentials `ntpd` builds from the key files it loaded at
    /// start-up (brief §9.2): the sign key defaults to the host key, and
    /// every identity key present (IFF, GQ, MV) is offered.
    pub fn from_host_set(set: keystore::keysdir::HostSet, digest: SessionDigest) -> Self {
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
            digest,
        }
    }
}

/// A key list just generated for an association (brief §5.4), its first
/// key ID, and — when the host is synchronised and can sign — the signed
/// AUTO values that announce it.
pub(crate) struct FreshKeyList {
    pub list: KeyList,
    pub first_key: u32,
    pub auto_signed: Option<(AutokeyValues, SignedValue)>,
}

/// The local host.
pub struct LocalHost {
    name: String,
    digest: SessionDigest,
    host_key: PKey<Private>,
    host_key_fs: u32,
    signer: Signer,
    cert: Certificate,
    /// Own, trail and SIGN-issued certificates (brief §7.2).
    certs: CertCache,
    identities: Vec<ServerIdentity>,
    last_update: u32,
    leap: LeapValues,
    secret: ServerSecret,
    /// Session key IDs in use on this host (key lists of every
    /// association and broadcaster) and when each expires, NTP seconds.
    key_ids: Mutex<HashMap<u32, u32>>,
}

impl std::fmt::Debug for LocalHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalHost")
            .field("name", &self.name)
            .field("last_update", &self.last_update)
            .finish_non_exhaustive()
    }
}

/// Context of one request being answered.
#[derive(Debug, Clone, Copy)]
pub struct RespondContext {
    /// Association ID to put in the response header.
    pub assoc_id: u32,
    /// The requester's and our address (for the server cookie).
    pub client: IpAddr,
    /// Our address the request was sent to.
    pub server: IpAddr,
    /// NTP seconds now.
    pub now: u32,
    /// The cookie to send: `None` = the server cookie (client/server
    /// mode), `Some(hcookie)` in symmetric mode.
    pub cookie: Option<u32>,
    /// Autokey values to answer an AUTO request with, and their timestamp.
    pub auto: Option<(AutokeyValues, u32)>,
}

impl LocalHost {
    /// A host from its credentials; the server private value is drawn from
    /// `rng` (brief §5.3).
    pub fn new<R: rand::CryptoRng + ?Sized>(
        creds: HostCredentials,
        now: u32,
        revoke_log2: u8,
        rng: &mut R,
    ) -> Result<Self> {
        let digest = crate::status::digest_for_nid(creds.cert.signature_nid.as_raw() as u32)?;
        let certs = CertCache::new(&creds.cert);
        Ok(LocalHost {
            name: creds.cert.subject.clone(),
            digest: creds.digest,
            host_key: creds.host_key,
            host_key_fs: creds.host_key_fs,
            signer: Signer::new(creds.sign_key, digest),
            cert: creds.cert,
            certs,
            identities: creds.identities,
            last_update: 0,
            leap: LeapValues::default(),
            secret: ServerSecret::new(rng, u64::from(now), revoke_log2),
            key_ids: Mutex::new(HashMap::new()),
        })
    }

    /// Replaces the server secret (e.g. the reference's value 0 for replays).
    pub fn set_secret(&mut self, secret: ServerSecret) {
        self.secret = secret;
    }

    /// Re-draws the private value when due (brief §5.3, §4.5).
    pub fn refresh_secret<R: rand::CryptoRng + ?Sized>(&mut self, now: u32, rng: &mut R) -> bool {
        self.secret.refresh(rng, u64::from(now))
    }

    /// True if `key_id` belongs to a key list of this host that has not
    /// expired at `now` (NTP seconds). The reference keeps every session
    /// key it generates in its host-wide key cache with a lifetime, and
    /// `make_keylist()` (ntpd/ntp_crypto.c) skips a random start ID the
    /// cache already holds and ends a list at a hash that collides with a
    /// cached key (brief §5.4); new lists are built with this test.
    pub fn key_id_in_use(&self, key_id: u32, now: u32) -> bool {
        let ids = self.key_ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.get(&key_id)
            .is_some_and(|&until| i64::from(until) > i64::from(now))
    }

    /// Records the key IDs of a new key list as in use until `until` (NTP
    /// seconds) and forgets expired ones (brief §4.5, §11.3 rule 15: "expire
    /// session keys").
    pub fn reserve_key_ids(&self, key_ids: &[u32], now: u32, until: u32) {
        let mut ids = self.key_ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.retain(|_, &mut u| i64::from(u) > i64::from(now));
        for &k in key_ids {
            ids.insert(k, until);
        }
    }

    /// Number of session key IDs currently recorded (expired ones are
    /// dropped on the next [`reserve_key_ids`](Self::reserve_key_ids)).
    pub fn key_ids_recorded(&self) -> usize {
        self.key_ids.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The server cookie for `client` talking to `server` (brief §5.3).
    pub fn cookie_for(&self, client: IpAddr, server: IpAddr) -> Result<u32> {
        self.secret.cookie(self.digest, client, server)
    }

    /// The host name (certificate subject).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The session-key digest.
    pub fn digest(&self) -> SessionDigest {
        self.digest
    }

    /// The signer.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The host key.
    pub fn host_key(&self) -> &PKey<Private> {
        &self.host_key
    }

    /// The host certificate.
    pub fn cert(&self) -> &Certificate {
        &self.cert
    }

    /// Generates a key list avoiding key IDs in use anywhere on this host,
    /// records its IDs for the list's lifetime, takes the first key and
    /// signs the AUTO values when synchronised (brief §5.4).
    pub(crate) fn fresh_key_list(
        &self,
        p: &KeyListParams,
        now: u32,
        rng: &mut (impl rand::CryptoRng + ?Sized),
    ) -> Result<FreshKeyList> {
        let mut list = KeyList::generate(p, rng, |k| self.key_id_in_use(k, now))?;
        self.reserve_key_ids(
            list.key_ids(),
            now,
            now.saturating_add(KeyList::lifetime(p)),
        );
        let first_key = list
            .next_key()
            .ok_or(AutokeyError::KeySpace { key_id: 0 })?;
        let auto_signed = if self.synchronised() {
            let values = list.values();
            let v = SignedValue::signed(now, self.last_update(), values.to_bytes(), self.signer())?;
            Some((values, v))
        } else {
            None
        };
        Ok(FreshKeyList {
            list,
            first_key,
            auto_signed,
        })
    }

    /// The last signature refresh (0 = never synchronised).
    pub fn last_update(&self) -> u32 {
        self.last_update
    }

    /// True once synchronised (brief §2.12).
    pub fn synchronised(&self) -> bool {
        self.last_update != 0
    }

    /// `crypto_update`: re-stamp values at `now` (first sync, certificate
    /// installed, leap values received).
    pub fn update(&mut self, now: u32) {
        self.last_update = now;
    }

    /// Sets the leap values sent in LEAP responses.
    pub fn set_leap(&mut self, leap: LeapValues) {
        self.leap = leap;
    }

    /// Installs a certificate received in a CERT or SIGN response and
    /// re-signs the host's values (brief §7.2 step 4, §2.12).
    pub fn install_cert(&mut self, cert: &Certificate, now: u32) {
        if self.certs.install(cert) {
            self.update(now);
        }
    }

    /// The certificate cache (`ntpq -c "rv 0 cert"`).
    pub fn cert_cache(&self) -> &CertCache {
        &self.certs
    }

    /// Marks a cached certificate as verified by its issuer.
    pub fn mark_cert(&mut self, subject: &str, issuer: &str, flag: u8) {
        self.certs.mark(subject, issuer, flag);
    }

    /// The status word (brief §3): NID, ENAB, TAI once synchronised, the
    /// identity bits of the keys held, PRIV for a private certificate.
    pub fn status(&self) -> StatusWord {
        let mut flags = status::ENAB;
        if self.synchronised() {
            flags |= status::TAI;
        }
        if self.cert.role == CertRole::Private {
            flags |= status::PRIV;
        }
        for id in &self.identities {
            flags |= match id.scheme() {
                keystore::Scheme::Iff => status::IFF,
                keystore::Scheme::Gq => status::GQ,
                keystore::Scheme::Mv => status::MV,
            };
        }
        StatusWord::new(self.cert.signature_nid, flags)
    }

    /// The ASSOC value: host name, ts = last update, fs = status word.
    pub fn assoc_value(&self) -> SignedValue {
        SignedValue::unsigned(
            self.last_update,
            self.status().0,
            self.name.as_bytes().to_vec(),
        )
    }

    /// The host's identity key of a scheme.
    pub fn identity(&self, scheme: keystore::Scheme) -> Option<&ServerIdentity> {
        self.identities.iter().find(|i| i.scheme() == scheme)
    }

    /// The COOK request value: our RSA host public key (PKCS#1 DER),
    /// ts = last update, fs = host-key filestamp; signed once synchronised.
    pub fn cook_request_value(&self) -> Result<SignedValue> {
        let der = self
            .host_key
            .rsa()
            .and_then(|r| r.public_key_to_der_pkcs1())
            .map_err(|e| AutokeyError::crypto("host public key", e))?;
        SignedValue::signed(self.last_update, self.host_key_fs, der, &self.signer)
    }

    /// The SIGN request value: our self-signed certificate.
    pub fn sign_request_value(&self) -> Result<SignedValue> {
        SignedValue::signed(
            self.last_update,
            self.cert.filestamp,
            self.cert.der.clone(),
            &self.signer,
        )
    }

    /// Answers one request (brief §2.3–§2.10). Failures become the
    /// 8-octet error response, as the reference does.
    pub fn respond<R: rand::CryptoRng + ?Sized>(
        &self,
        req: &Request,
        ctx: &RespondContext,
        rng: &mut R,
    ) -> Response {
        match self.try_respond(req, ctx, rng) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(
                    "Autokey {} request answered with an error response: {e}",
                    crate::error::code_name(req.code())
                );
                Response::Error {
                    code: req.code(),
                    assoc_id: ctx.assoc_id,
                }
            }
        }
    }

    fn try_respond<R: rand::CryptoRng + ?Sized>(
        &self,
        req: &Request,
        ctx: &RespondContext,
        rng: &mut R,
    ) -> Result<Response> {
        let id = ctx.assoc_id;
        let synced = self.synchronised();
        let not_ready = |code, reason| AutokeyError::NotReady { code, reason };
        Ok(match req {
            Request::Assoc { .. } => Response::Assoc {
                assoc_id: id,
                host: self.name.clone(),
                value: self.assoc_value(),
            },
            Request::Cert { subject, .. } => {
                let found = if synced {
                    self.certs.lookup(subject)
                } else {
                    None
                };
                let Some(c) = found else {
                    return Ok(Response::EmptyCert { assoc_id: id });
                };
                Response::Cert {
                    assoc_id: id,
                    value: SignedValue::signed(
                        self.last_update,
                        c.filestamp,
                        c.der.clone(),
                        &self.signer,
                    )?,
                }
            }
            Request::Cook { value, .. } => {
                let cookie = match ctx.cookie {
                    Some(c) => c,
                    None => self.secret.cookie(self.digest, ctx.client, ctx.server)?,
                };
                let ct = encrypt_cookie(&value.value, cookie)?;
                let ts = if synced { ctx.now } else { 0 };
                Response::Cook {
                    assoc_id: id,
                    value: SignedValue::signed(ts, self.last_update, ct, &self.signer)?,
                }
            }
            Request::Auto { .. } => {
                let (values, ts) = ctx
                    .auto
                    .ok_or(not_ready(AutokeyCode::Auto, "no key list"))?;
                Response::Auto {
                    assoc_id: id,
                    values,
                    value: SignedValue::signed(
                        ts,
                        self.last_update,
                        values.to_bytes(),
                        &self.signer,
                    )?,
                }
            }
            Request::Leap { .. } => Response::Leap {
                assoc_id: id,
                leap: self.leap,
                value: SignedValue::signed(
                    self.last_update,
                    self.host_key_fs,
                    self.leap.to_bytes(),
                    &self.signer,
                )?,
            },
            Request::Sign { value, .. } => {
                if !synced {
                    return Err(not_ready(AutokeyCode::Sign, "not synchronised"));
                }
                let der = issue_certificate(&value.value, &self.signer, &self.cert, ctx.now)?;
                Response::Sign {
                    assoc_id: id,
                    value: SignedValue::signed(ctx.now, value.filestamp, der, &self.signer)?,
                }
            }
            Request::Identity { scheme, value, .. } => {
                let key = self.identity(*scheme).ok_or(AutokeyError::Scheme {
                    reason: "no key for the requested identity scheme",
                })?;
                let proof = key.respond(&value.value, rng)?;
                let ts = if synced { ctx.now } else { 0 };
                Response::Identity {
                    scheme: *scheme,
                    assoc_id: id,
                    value: SignedValue::signed(ts, key.filestamp(), proof, &self.signer)?,
                }
            }
            Request::Unknown { code, .. } => {
                return Err(AutokeyError::UnknownCode { code: *code });
            }
        })
    }
}

/// Which identity scheme a client runs against a server advertising
/// `peer_status`: the first of IFF, GQ, MV it advertises (brief §2.9).
pub fn advertised_scheme(peer_status: StatusWord) -> Option<keystore::Scheme> {
    [
        (status::IFF, AutokeyCode::Iff),
        (status::GQ, AutokeyCode::Gq),
        (status::MV, AutokeyCode::Mv),
    ]
    .into_iter()
    .find(|(bit, _)| peer_status.0 & bit != 0)
    .and_then(|(_, c)| code_scheme(c))
}
