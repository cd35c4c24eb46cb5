//! The stateless server fast path (brief §5.5): verify the request's MAC
//! with the server cookie, answer the first extension field, and MAC the
//! reply with the request's key ID in the reverse direction. A request
//! whose MAC fails gets a crypto-NAK.

use std::net::IpAddr;

use proto::exten::ExtensionField;
use proto::PacketRef;

use crate::error::{AutokeyError, Result};
use crate::host::{LocalHost, RespondContext};
use crate::message::{AutokeyValues, Message, Request, Response};
use crate::session::SessionKey;

/// What the server sends back.
#[derive(Debug)]
pub enum ServerReply {
    /// Reply with these fields, MAC'd with `key` (same key ID as the request).
    Reply {
        /// The extension fields of the reply, in order, before the MAC.
        fields: Vec<ExtensionField>,
        /// The session key for the MAC: the request's key ID, server cookie (brief §5.5).
        key: SessionKey,
    },
    /// The MAC did not verify: answer with a crypto-NAK (key ID 0).
    CryptoNak(AutokeyError),
}

/// Looks up the Autokey values of a local association (a broadcaster's
/// key list) for AUTO requests naming it (brief §2.6).
pub trait AutoLookup {
    /// The Autokey values of association `assoc_id` and the timestamp (NTP
    /// seconds) they were signed at; `None` if there is no such broadcast
    /// association.
    fn auto_values(&self, assoc_id: u32) -> Option<(AutokeyValues, u32)>;
}

impl AutoLookup for () {
    fn auto_values(&self, _: u32) -> Option<(AutokeyValues, u32)> {
        None
    }
}

/// Handles one client-mode request that matched no association. `src` is
/// the client, `dst` our address. Non-Autokey key IDs are an error (the
/// caller handles symmetric keys).
pub fn fast_path<R: rand::CryptoRng + ?Sized>(
    host: &LocalHost,
    pkt: &PacketRef<'_>,
    src: IpAddr,
    dst: IpAddr,
    now: u32,
    auto: &dyn AutoLookup,
    rng: &mut R,
) -> Result<ServerReply> {
    fast_path_from(host, pkt, src, dst, dst, now, auto, rng)
}

/// [`fast_path`] for a request that came to `dst` but is answered from
/// `reply_from`: a manycast solicitation (RFC 5906 §4 "manycast", brief
/// §4.4). Its MAC was keyed with the group address as destination; the
/// reply leaves from our unicast address and its session key (and any
/// cookie) is bound to that address, as the reference's `fast_xmit()`
/// does after swapping the multicast socket for the unicast interface.
#[allow(clippy::too_many_arguments)]
pub fn fast_path_from<R: rand::CryptoRng + ?Sized>(
    host: &LocalHost,
    pkt: &PacketRef<'_>,
    src: IpAddr,
    dst: IpAddr,
    reply_from: IpAddr,
    now: u32,
    auto: &dyn AutoLookup,
    rng: &mut R,
) -> Result<ServerReply> {
    let (mac, key_id) = crate::session::autokey_mac(pkt)?;
    // `host@group` (brief §2.3): when we have a group, every ASSOC field
    // must name one; unicast client requests are not group-tested.
    for f in pkt.fields() {
        if let Ok(Message::Request(Request::Assoc { host: name, .. })) =
            Message::parse(f.as_bytes())
        {
            crate::association::check_group_name(host, &name)?;
        }
    }
    let has_fields = pkt.as_bytes().len() > 48 + 24;
    let cookie = if has_fields {
        0
    } else {
        host.cookie_for(src, dst)?
    };
    if let Err(e) = SessionKey::derive(host.digest(), src, dst, key_id, cookie)
        .and_then(|k| k.verify(pkt.authenticated_bytes(), mac))
    {
        return Ok(ServerReply::CryptoNak(e));
    }
    let mut fields = Vec::new();
    if let Some(first) = pkt.fields().next() {
        let response = match Message::parse(first.as_bytes()) {
            Ok(Message::Request(req)) => {
                let auto_values = match &req {
                    Request::Auto { assoc_id } => auto.auto_values(*assoc_id),
                    _ => None,
                };
                let ctx = RespondContext {
                    assoc_id: req.assoc_id(),
                    client: src,
                    server: reply_from,
                    now,
                    cookie: None,
                    auto: auto_values,
                };
                Some(host.respond(&req, &ctx, rng))
            }
            Ok(Message::Response(_)) => None,
            Err(e) => {
                tracing::debug!("malformed Autokey request field: {e}");
                first.as_bytes().get(..8).and_then(|h| {
                    let hdr = proto::exten::AutokeyHeader::from_bytes(h.try_into().ok()?);
                    Some(Response::Error {
                        code: hdr.code,
                        assoc_id: hdr.association_id,
                    })
                })
            }
        };
        if let Some(r) = response {
            fields.push(Message::Response(r).to_field()?);
        }
    }
    let cookie = if has_fields || reply_from == dst {
        cookie
    } else {
        host.cookie_for(src, reply_from)?
    };
    let key = SessionKey::derive(host.digest(), reply_from, src, key_id, cookie)?;
    Ok(ServerReply::Reply { fields, key })
}
