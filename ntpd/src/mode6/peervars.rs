//! The peer variables of READVAR/READSTAT for one association: the
//! reference's names, code order, default list (`ntpq -c "rv &1"`) and
//! formats.

use super::format::{address, filestamp, filter_array, fixed, refid, timestamp};
use super::state::{PeerCrypto, PeerVars};
use super::sysvars::var_list_item;
use super::writer::Out;

/// A peer variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerVar {
    Config,
    AuthEnable,
    Authentic,
    SrcAdr,
    SrcPort,
    DstAdr,
    DstPort,
    Leap,
    HostMode,
    Stratum,
    PeerPoll,
    HostPoll,
    Precision,
    RootDelay,
    RootDisp,
    RefId,
    RefTime,
    Org,
    Rec,
    Xleave,
    Reach,
    Unreach,
    Timer,
    Delay,
    Offset,
    Jitter,
    Dispersion,
    KeyId,
    FiltDelay,
    FiltOffset,
    PeerMode,
    Received,
    Sent,
    FiltDisp,
    Flash,
    Ttl,
    VarList,
    In,
    Out,
    Headway,
    Bias,
    SrcHost,
    TimeReceived,
    TimeReachable,
    BadAuth,
    BogusOrigin,
    OldPacket,
    SelDisp,
    SelBroken,
    Candidate,
    CryptoFlags,
    Host,
    Valid,
    InitSequence,
    InitKey,
    Timestamp,
    Signature,
    Ident,
    NtsCookies,
    NtsKeyExchanges,
    NtsAuthentic,
    NtsRefused,
}

/// The table in the reference's code order (code = index + 1).
pub const PEER_VARS: &[(&str, PeerVar)] = &[
    ("config", PeerVar::Config),
    ("authenable", PeerVar::AuthEnable),
    ("authentic", PeerVar::Authentic),
    ("srcadr", PeerVar::SrcAdr),
    ("srcport", PeerVar::SrcPort),
    ("dstadr", PeerVar::DstAdr),
    ("dstport", PeerVar::DstPort),
    ("leap", PeerVar::Leap),
    ("hmode", PeerVar::HostMode),
    ("stratum", PeerVar::Stratum),
    ("ppoll", PeerVar::PeerPoll),
    ("hpoll", PeerVar::HostPoll),
    ("precision", PeerVar::Precision),
    ("rootdelay", PeerVar::RootDelay),
    ("rootdisp", PeerVar::RootDisp),
    ("refid", PeerVar::RefId),
    ("reftime", PeerVar::RefTime),
    ("org", PeerVar::Org),
    ("rec", PeerVar::Rec),
    ("xleave", PeerVar::Xleave),
    ("reach", PeerVar::Reach),
    ("unreach", PeerVar::Unreach),
    ("timer", PeerVar::Timer),
    ("delay", PeerVar::Delay),
    ("offset", PeerVar::Offset),
    ("jitter", PeerVar::Jitter),
    ("dispersion", PeerVar::Dispersion),
    ("keyid", PeerVar::KeyId),
    ("filtdelay", PeerVar::FiltDelay),
    ("filtoffset", PeerVar::FiltOffset),
    ("pmode", PeerVar::PeerMode),
    ("received", PeerVar::Received),
    ("sent", PeerVar::Sent),
    ("filtdisp", PeerVar::FiltDisp),
    ("flash", PeerVar::Flash),
    ("ttl", PeerVar::Ttl),
    ("peer_var_list", PeerVar::VarList),
    ("in", PeerVar::In),
    ("out", PeerVar::Out),
    ("headway", PeerVar::Headway),
    ("bias", PeerVar::Bias),
    ("srchost", PeerVar::SrcHost),
    ("timerec", PeerVar::TimeReceived),
    ("timereach", PeerVar::TimeReachable),
    ("badauth", PeerVar::BadAuth),
    ("bogusorg", PeerVar::BogusOrigin),
    ("oldpkt", PeerVar::OldPacket),
    ("seldisp", PeerVar::SelDisp),
    ("selbroken", PeerVar::SelBroken),
    ("candidate", PeerVar::Candidate),
    ("flags", PeerVar::CryptoFlags),
    ("host", PeerVar::Host),
    ("valid", PeerVar::Valid),
    ("initsequence", PeerVar::InitSequence),
    ("initkey", PeerVar::InitKey),
    ("timestamp", PeerVar::Timestamp),
    ("signature", PeerVar::Signature),
    ("ident", PeerVar::Ident),
    // This daemon's own, after the reference's codes: NTS (RFC 8915).
    ("nts_cookies", PeerVar::NtsCookies),
    ("nts_key_exchanges", PeerVar::NtsKeyExchanges),
    ("nts_authentic", PeerVar::NtsAuthentic),
    ("nts_refused", PeerVar::NtsRefused),
];

/// What `ntpq -c "rv &N"` and a READSTAT for one association get.
pub const DEFAULT_PEER_VARS: &[PeerVar] = &[
    PeerVar::SrcAdr,
    PeerVar::SrcPort,
    PeerVar::SrcHost,
    PeerVar::DstAdr,
    PeerVar::DstPort,
    PeerVar::Out,
    PeerVar::In,
    PeerVar::Leap,
    PeerVar::Stratum,
    PeerVar::Precision,
    PeerVar::RootDelay,
    PeerVar::RootDisp,
    PeerVar::RefId,
    PeerVar::RefTime,
    PeerVar::Rec,
    PeerVar::Reach,
    PeerVar::Unreach,
    PeerVar::HostMode,
    PeerVar::PeerMode,
    PeerVar::HostPoll,
    PeerVar::PeerPoll,
    PeerVar::Headway,
    PeerVar::Flash,
    PeerVar::KeyId,
    PeerVar::Ttl,
    PeerVar::Offset,
    PeerVar::Delay,
    PeerVar::Dispersion,
    PeerVar::Jitter,
    PeerVar::Xleave,
    PeerVar::Bias,
    PeerVar::FiltDelay,
    PeerVar::FiltOffset,
    PeerVar::FiltDisp,
    PeerVar::Host,
    PeerVar::CryptoFlags,
    PeerVar::Signature,
    PeerVar::Valid,
    PeerVar::InitSequence,
    PeerVar::Ident,
    PeerVar::NtsCookies,
    PeerVar::NtsKeyExchanges,
    PeerVar::NtsAuthentic,
    PeerVar::NtsRefused,
];

/// Largest key ID that is a symmetric key (`NTP_MAXKEY`); larger ones
/// (Autokey session keys) are shown in hex.
const MAX_SYMMETRIC_KEY: u32 = 65_535;

/// Index of `name` in [`PEER_VARS`].
pub fn lookup(name: &[u8]) -> Option<usize> {
    PEER_VARS.iter().position(|(n, _)| n.as_bytes() == name)
}

/// Writes peer variable `var` (nothing for those without a value).
pub fn put(out: &mut Out, name: &str, var: PeerVar, p: &PeerVars, crypto: Option<&PeerCrypto>) {
    let ms3 = |v: f64| fixed(v * 1e3, 3);
    match var {
        PeerVar::Config => out.bare(name, if p.preemptible { "0" } else { "1" }),
        // The reference writes 1 when the association has no key.
        PeerVar::AuthEnable => out.bare(name, if p.key_id == 0 { "1" } else { "0" }),
        PeerVar::Authentic => out.bare(name, if p.authentic { "1" } else { "0" }),
        PeerVar::SrcAdr => out.bare(name, &address(p.source.ip())),
        PeerVar::SrcPort => out.bare(name, &p.source.port().to_string()),
        PeerVar::SrcHost => {
            if let Some(h) = &p.hostname {
                out.quoted(name, h);
            }
        }
        PeerVar::DstAdr => {
            let a = p
                .destination
                .map_or_else(|| "0.0.0.0".to_string(), |d| address(d.ip()));
            out.bare(name, &a);
        }
        PeerVar::DstPort => {
            out.bare(name, &p.destination.map_or(0, |d| d.port()).to_string());
        }
        PeerVar::In => {
            if p.rate_in > 0.0 {
                out.bare(name, &fixed(p.rate_in / 1e3, 3));
            }
        }
        PeerVar::Out => {
            if p.rate_out > 0.0 {
                out.bare(name, &fixed(p.rate_out / 1e3, 3));
            }
        }
        PeerVar::Headway => out.bare(name, &(p.headway as u64).to_string()),
        PeerVar::Leap => out.bare(name, &p.leap.to_string()),
        PeerVar::HostMode => out.bare(name, &p.host_mode.to_string()),
        PeerVar::Stratum => out.bare(name, &p.stratum.to_string()),
        PeerVar::PeerPoll => out.bare(name, &p.peer_poll.to_string()),
        PeerVar::HostPoll => out.bare(name, &p.host_poll.to_string()),
        PeerVar::Precision => out.bare(name, &p.precision.to_string()),
        PeerVar::RootDelay => out.bare(name, &ms3(p.root_delay)),
        PeerVar::RootDisp => out.bare(name, &ms3(p.root_dispersion)),
        PeerVar::RefId => out.bare(
            name,
            &refid(p.refid, p.refclock || p.stratum <= 1 || p.stratum >= 16),
        ),
        PeerVar::RefTime => out.bare(name, &timestamp(p.reftime)),
        PeerVar::Org => out.bare(name, &timestamp(p.org)),
        PeerVar::Rec => out.bare(name, &timestamp(p.rec)),
        // Always written, 0 before the first poll, as the reference does.
        PeerVar::Xleave => out.bare(name, &ms3(p.xleave)),
        PeerVar::Bias => {
            if p.bias != 0.0 {
                out.bare(name, &ms3(p.bias));
            }
        }
        PeerVar::Reach => out.bare(name, &format!("0x{:x}", p.reach)),
        PeerVar::Flash => out.bare(name, &format!("0x{:x}", p.flash)),
        PeerVar::Ttl => {
            if let Some(t) = p.ttl {
                out.bare(name, &t.to_string());
            }
        }
        PeerVar::Unreach => out.bare(name, &p.unreach.to_string()),
        PeerVar::Timer => out.bare(name, &p.timer.to_string()),
        PeerVar::Delay => out.bare(name, &ms3(p.delay)),
        PeerVar::Offset => out.bare(name, &ms3(p.offset)),
        PeerVar::Jitter => out.bare(name, &ms3(p.jitter)),
        PeerVar::Dispersion => out.bare(name, &ms3(p.dispersion)),
        PeerVar::KeyId => {
            let text = if p.key_id > MAX_SYMMETRIC_KEY {
                format!("0x{:x}", p.key_id)
            } else {
                p.key_id.to_string()
            };
            out.bare(name, &text);
        }
        PeerVar::FiltDelay => out.bare(name, &filter_array(&p.filter_delay)),
        PeerVar::FiltOffset => out.bare(name, &filter_array(&p.filter_offset)),
        PeerVar::FiltDisp => out.bare(name, &filter_array(&p.filter_dispersion)),
        PeerVar::PeerMode => out.bare(name, &p.peer_mode.to_string()),
        PeerVar::Received => out.bare(name, &p.received.to_string()),
        PeerVar::Sent => out.bare(name, &p.sent.to_string()),
        PeerVar::VarList => {
            let item = var_list_item(
                name,
                PEER_VARS.iter().map(|(n, _)| *n),
                std::iter::empty(),
                true,
            );
            if let Some(item) = item {
                out.text(&item);
            }
        }
        PeerVar::TimeReceived => out.bare(name, &p.time_received.to_string()),
        PeerVar::TimeReachable => out.bare(name, &p.time_reachable.to_string()),
        PeerVar::BadAuth => out.bare(name, &p.bad_auth.to_string()),
        PeerVar::BogusOrigin => out.bare(name, &p.bogus_origin.to_string()),
        PeerVar::OldPacket => out.bare(name, &p.old_packets.to_string()),
        PeerVar::SelDisp => out.bare(name, &p.selection_dispersion.to_string()),
        PeerVar::SelBroken => out.bare(name, &p.selection_broken.to_string()),
        PeerVar::Candidate => out.bare(name, &p.candidate.to_string()),
        PeerVar::NtsCookies
        | PeerVar::NtsKeyExchanges
        | PeerVar::NtsAuthentic
        | PeerVar::NtsRefused => {
            if let Some(n) = &p.nts {
                let v = match var {
                    PeerVar::NtsCookies => n.cookies,
                    PeerVar::NtsKeyExchanges => n.key_exchanges,
                    PeerVar::NtsAuthentic => n.authentic,
                    _ => n.refused,
                };
                out.bare(name, &v.to_string());
            }
        }
        PeerVar::CryptoFlags => {
            if let Some(c) = crypto.filter(|c| c.flags != 0) {
                out.bare(name, &format!("0x{:x}", c.flags));
            }
        }
        PeerVar::Signature => {
            if let Some(s) = crypto
                .filter(|c| c.flags != 0)
                .and_then(|c| c.signature.as_deref())
            {
                out.quoted(name, s);
            }
        }
        PeerVar::Host => {
            if let Some(h) = crypto.and_then(|c| c.host.as_deref()) {
                out.quoted(name, h);
            }
        }
        PeerVar::Ident => {
            if let Some(i) = crypto.and_then(|c| c.ident.as_deref()) {
                out.quoted(name, i);
            }
        }
        // `initsequence` brings `initkey` and `timestamp` along; asked for
        // alone, those two (and `valid`) write nothing, as in the reference.
        PeerVar::InitSequence => {
            if let Some(a) = crypto.and_then(|c| c.autokey) {
                out.bare(name, &a.sequence.to_string());
                out.bare("initkey", &format!("0x{:x}", a.key));
                out.bare("timestamp", &filestamp(a.timestamp));
            }
        }
        PeerVar::InitKey | PeerVar::Timestamp | PeerVar::Valid => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_reference_codes() {
        // The reference's 58, then this daemon's NTS variables.
        assert_eq!(PEER_VARS.len(), 62);
        assert_eq!(lookup(b"nts_cookies"), Some(58));
        assert_eq!(lookup(b"srcadr"), Some(3));
        assert_eq!(lookup(b"filtdisp"), Some(33));
        assert_eq!(lookup(b"candidate"), Some(49));
        assert_eq!(lookup(b"ident"), Some(57));
        assert_eq!(lookup(b"cookie"), None);
    }
}
