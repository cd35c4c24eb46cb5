//! The broadcast/multicast server side of Autokey (brief §4.3, §5.2,
//! §5.4): a key list hashed with cookie 0 towards the broadcast or group
//! address, and one extension field per broadcast — an AUTO response when
//! a new list has just been signed, otherwise an ASSOC response.

use std::net::IpAddr;

use proto::exten::ExtensionField;

use crate::error::Result;
use crate::host::LocalHost;
use crate::keylist::{KeyList, KeyListParams};
use crate::message::{AutokeyValues, Message, Response};
use crate::session::SessionKey;
use crate::value::SignedValue;

/// What one broadcast carries.
#[derive(Debug)]
pub struct BroadcastTransmit {
    /// The extension fields to send (ASSOC/AUTO/… as due), in order, before the MAC.
    pub fields: Vec<ExtensionField>,
    /// MAC key: (our unicast address, group address, key ID, cookie 0).
    pub key: SessionKey,
}

/// A `broadcast ADDRESS autokey` association.
#[derive(Debug)]
pub struct BroadcastServer {
    assoc_id: u32,
    local: IpAddr,
    group: IpAddr,
    poll: u8,
    automax: u8,
    keylist: Option<KeyList>,
    auto_signed: Option<(AutokeyValues, SignedValue)>,
    announce: bool,
}

impl BroadcastServer {
    /// A broadcaster with our unicast address `local` sending to `group`.
    pub fn new(assoc_id: u32, local: IpAddr, group: IpAddr, poll: u8, automax: u8) -> Self {
        BroadcastServer {
            assoc_id,
            local,
            group,
            poll,
            automax,
            keylist: None,
            auto_signed: None,
            announce: false,
        }
    }

    /// Our association ID (carried in every broadcast field).
    pub fn assoc_id(&self) -> u32 {
        self.assoc_id
    }

    /// The current list's values for AUTO requests naming this association
    /// (fast path, brief §2.6).
    pub fn auto_values(&self) -> Option<(AutokeyValues, u32)> {
        self.auto_signed.as_ref().map(|(v, s)| (*v, s.timestamp))
    }

    /// The next broadcast's field and MAC key.
    pub fn transmit<R: rand::CryptoRng + ?Sized>(
        &mut self,
        host: &LocalHost,
        now: u32,
        rng: &mut R,
    ) -> Result<BroadcastTransmit> {
        let key_id = match self.keylist.as_mut().and_then(KeyList::next_key) {
            Some(k) => k,
            None => {
                let p = KeyListParams {
                    digest: host.digest(),
                    local: self.local,
                    remote: self.group,
                    cookie: 0,
                    poll: self.poll,
                    automax: self.automax,
                    synchronised: host.synchronised(),
                };
                let fresh = host.fresh_key_list(&p, now, rng)?;
                if let Some(signed) = fresh.auto_signed {
                    self.auto_signed = Some(signed);
                    self.announce = true;
                }
                self.keylist = Some(fresh.list);
                fresh.first_key
            }
        };
        let response = match (&self.auto_signed, std::mem::take(&mut self.announce)) {
            (Some((values, value)), true) => Response::Auto {
                assoc_id: self.assoc_id,
                values: *values,
                value: value.clone(),
            },
            _ => Response::Assoc {
                assoc_id: self.assoc_id,
                host: host.name().to_string(),
                value: host.assoc_value(),
            },
        };
        Ok(BroadcastTransmit {
            fields: vec![Message::Response(response).to_field()?],
            key: SessionKey::derive(host.digest(), self.local, self.group, key_id, 0)?,
        })
    }
}

impl crate::server::AutoLookup for BroadcastServer {
    fn auto_values(&self, assoc_id: u32) -> Option<(AutokeyValues, u32)> {
        (assoc_id == self.assoc_id)
            .then(|| self.auto_values())
            .flatten()
    }
}
