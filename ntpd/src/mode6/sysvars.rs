//! The system variables of READVAR association 0: the reference's names,
//! their order (named requests are answered in table order, not request
//! order), the default list of `ntpq -c rv`, and their formats.

use proto::NtpTimestamp;

use super::format::{filestamp, fixed, general, refid, timestamp};
use super::state::{ControlState, ExtraVar, SystemCounter, SystemCrypto, SystemVars};
use super::writer::Out;

/// A system variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysVar {
    Leap,
    Stratum,
    Precision,
    RootDelay,
    RootDisp,
    RefId,
    RefTime,
    Poll,
    PeerId,
    Offset,
    Frequency,
    SysJitter,
    ClkJitter,
    Clock,
    Processor,
    System,
    Version,
    ClkWander,
    VarList,
    Tai,
    LeapTable,
    LeapExpire,
    MinPoll,
    Counter(SystemCounter),
    PeerAddress,
    PeerMode,
    BroadcastDelay,
    AuthDelay,
    KernelOffset,
    KernelFrequency,
    KernelMaxError,
    KernelEstError,
    KernelStatus,
    KernelTimeConstant,
    KernelPrecision,
    KernelTolerance,
    KernelPpsFrequency,
    KernelPpsStability,
    KernelPpsJitter,
    KernelPpsCalibrationInterval,
    KernelPpsCalibrations,
    KernelPpsCalibrationErrors,
    KernelPpsJitterExceeded,
    KernelPpsStabilityExceeded,
    Fuzz,
    WanderThreshold,
    LeapSmearInterval,
    LeapSmearOffset,
    CryptoFlags,
    Host,
    Update,
    Cert,
    Signature,
    Until,
    Ident,
    Digest,
}

use SystemCounter as C;

/// The table in the reference's code order (code = index + 1).
pub const SYS_VARS: &[(&str, SysVar)] = &[
    ("leap", SysVar::Leap),
    ("stratum", SysVar::Stratum),
    ("precision", SysVar::Precision),
    ("rootdelay", SysVar::RootDelay),
    ("rootdisp", SysVar::RootDisp),
    ("refid", SysVar::RefId),
    ("reftime", SysVar::RefTime),
    ("tc", SysVar::Poll),
    ("peer", SysVar::PeerId),
    ("offset", SysVar::Offset),
    ("frequency", SysVar::Frequency),
    ("sys_jitter", SysVar::SysJitter),
    ("clk_jitter", SysVar::ClkJitter),
    ("clock", SysVar::Clock),
    ("processor", SysVar::Processor),
    ("system", SysVar::System),
    ("version", SysVar::Version),
    ("clk_wander", SysVar::ClkWander),
    ("sys_var_list", SysVar::VarList),
    ("tai", SysVar::Tai),
    ("leapsec", SysVar::LeapTable),
    ("expire", SysVar::LeapExpire),
    ("mintc", SysVar::MinPoll),
    ("mru_enabled", SysVar::Counter(C::MruEnabled)),
    ("mru_depth", SysVar::Counter(C::MruDepth)),
    ("mru_deepest", SysVar::Counter(C::MruDeepest)),
    ("mru_mindepth", SysVar::Counter(C::MruMinDepth)),
    ("mru_maxage", SysVar::Counter(C::MruMaxAge)),
    ("mru_maxdepth", SysVar::Counter(C::MruMaxDepth)),
    ("mru_mem", SysVar::Counter(C::MruMem)),
    ("mru_maxmem", SysVar::Counter(C::MruMaxMem)),
    ("ss_uptime", SysVar::Counter(C::Uptime)),
    ("ss_reset", SysVar::Counter(C::StatsReset)),
    ("ss_received", SysVar::Counter(C::Received)),
    ("ss_thisver", SysVar::Counter(C::ThisVersion)),
    ("ss_oldver", SysVar::Counter(C::OldVersion)),
    ("ss_badformat", SysVar::Counter(C::BadFormat)),
    ("ss_badauth", SysVar::Counter(C::BadAuth)),
    ("ss_declined", SysVar::Counter(C::Declined)),
    ("ss_restricted", SysVar::Counter(C::Restricted)),
    ("ss_limited", SysVar::Counter(C::Limited)),
    ("ss_kodsent", SysVar::Counter(C::KodSent)),
    ("ss_processed", SysVar::Counter(C::Processed)),
    ("ss_lamport", SysVar::Counter(C::Lamport)),
    ("ss_tsrounding", SysVar::Counter(C::TsRounding)),
    ("peeradr", SysVar::PeerAddress),
    ("peermode", SysVar::PeerMode),
    ("bcastdelay", SysVar::BroadcastDelay),
    ("authdelay", SysVar::AuthDelay),
    ("authkeys", SysVar::Counter(C::AuthKeys)),
    ("authfreek", SysVar::Counter(C::AuthFreeKeys)),
    ("authklookups", SysVar::Counter(C::AuthKeyLookups)),
    ("authknotfound", SysVar::Counter(C::AuthKeyNotFound)),
    ("authkuncached", SysVar::Counter(C::AuthKeyUncached)),
    ("authkexpired", SysVar::Counter(C::AuthKeyExpired)),
    ("authencrypts", SysVar::Counter(C::AuthEncrypts)),
    ("authdecrypts", SysVar::Counter(C::AuthDecrypts)),
    ("authreset", SysVar::Counter(C::AuthReset)),
    ("koffset", SysVar::KernelOffset),
    ("kfreq", SysVar::KernelFrequency),
    ("kmaxerr", SysVar::KernelMaxError),
    ("kesterr", SysVar::KernelEstError),
    ("kstflags", SysVar::KernelStatus),
    ("ktimeconst", SysVar::KernelTimeConstant),
    ("kprecis", SysVar::KernelPrecision),
    ("kfreqtol", SysVar::KernelTolerance),
    ("kppsfreq", SysVar::KernelPpsFrequency),
    ("kppsstab", SysVar::KernelPpsStability),
    ("kppsjitter", SysVar::KernelPpsJitter),
    ("kppscalibdur", SysVar::KernelPpsCalibrationInterval),
    ("kppscalibs", SysVar::KernelPpsCalibrations),
    ("kppscaliberrs", SysVar::KernelPpsCalibrationErrors),
    ("kppsjitexc", SysVar::KernelPpsJitterExceeded),
    ("kppsstbexc", SysVar::KernelPpsStabilityExceeded),
    ("iostats_reset", SysVar::Counter(C::IoStatsReset)),
    ("total_rbuf", SysVar::Counter(C::TotalRecvBuffers)),
    ("free_rbuf", SysVar::Counter(C::FreeRecvBuffers)),
    ("used_rbuf", SysVar::Counter(C::UsedRecvBuffers)),
    ("rbuf_lowater", SysVar::Counter(C::RecvBufferLowWater)),
    ("io_dropped", SysVar::Counter(C::IoDropped)),
    ("io_ignored", SysVar::Counter(C::IoIgnored)),
    ("io_received", SysVar::Counter(C::IoReceived)),
    ("io_sent", SysVar::Counter(C::IoSent)),
    ("io_sendfailed", SysVar::Counter(C::IoSendFailed)),
    ("io_wakeups", SysVar::Counter(C::IoWakeups)),
    ("io_goodwakeups", SysVar::Counter(C::IoGoodWakeups)),
    ("timerstats_reset", SysVar::Counter(C::TimerStatsReset)),
    ("timer_overruns", SysVar::Counter(C::TimerOverruns)),
    ("timer_xmts", SysVar::Counter(C::TimerTransmits)),
    ("fuzz", SysVar::Fuzz),
    ("clk_wander_threshold", SysVar::WanderThreshold),
    ("leapsmearinterval", SysVar::LeapSmearInterval),
    ("leapsmearoffset", SysVar::LeapSmearOffset),
    ("flags", SysVar::CryptoFlags),
    ("host", SysVar::Host),
    ("update", SysVar::Update),
    ("cert", SysVar::Cert),
    ("signature", SysVar::Signature),
    ("until", SysVar::Until),
    ("ident", SysVar::Ident),
    ("digest", SysVar::Digest),
];

/// What `ntpq -c rv` gets (an empty READVAR for association 0).
pub const DEFAULT_SYS_VARS: &[SysVar] = &[
    SysVar::Version,
    SysVar::Processor,
    SysVar::System,
    SysVar::Leap,
    SysVar::Stratum,
    SysVar::Precision,
    SysVar::RootDelay,
    SysVar::RootDisp,
    SysVar::RefId,
    SysVar::RefTime,
    SysVar::Clock,
    SysVar::PeerId,
    SysVar::Poll,
    SysVar::MinPoll,
    SysVar::Offset,
    SysVar::Frequency,
    SysVar::SysJitter,
    SysVar::ClkJitter,
    SysVar::ClkWander,
    SysVar::Tai,
    SysVar::LeapTable,
    SysVar::LeapExpire,
    SysVar::LeapSmearInterval,
    SysVar::LeapSmearOffset,
    SysVar::Host,
    SysVar::Ident,
    SysVar::CryptoFlags,
    SysVar::Digest,
    SysVar::Signature,
    SysVar::Update,
    SysVar::Cert,
];

/// Size of the reference's buffer for `sys_var_list`/`peer_var_list`.
pub const VAR_LIST_BUFFER: usize = 468;

/// Index of `name` in [`SYS_VARS`].
pub fn lookup(name: &[u8]) -> Option<usize> {
    SYS_VARS.iter().position(|(n, _)| n.as_bytes() == name)
}

/// The name part of a `setvar` variable (up to `=`).
pub fn extra_name(text: &str) -> &str {
    text.split_once('=').map_or(text, |(n, _)| n)
}

/// Builds `<tag>="a,b,c"` as the reference does in a fixed buffer: names
/// that do not fit are dropped, and when fewer than three octets remain
/// nothing is written at all. Names after the table's are appended
/// without separators, as the reference does for `setvar` names.
pub fn var_list_item<'a>(
    tag: &str,
    names: impl Iterator<Item = &'a str>,
    extra: impl Iterator<Item = &'a str>,
    commas_in_extra: bool,
) -> Option<Vec<u8>> {
    let mut buf = format!("{tag}=\"").into_bytes();
    let mut first = true;
    for name in names {
        if name.len() + 1 >= VAR_LIST_BUFFER.saturating_sub(buf.len()) {
            break;
        }
        if !first {
            buf.push(b',');
        }
        first = false;
        buf.extend_from_slice(name.as_bytes());
    }
    for name in extra {
        if name.len() + 1 >= VAR_LIST_BUFFER.saturating_sub(buf.len()) {
            break;
        }
        if commas_in_extra && !first {
            buf.push(b',');
        }
        first = false;
        buf.extend_from_slice(name.as_bytes());
    }
    if VAR_LIST_BUFFER.saturating_sub(buf.len()) <= 2 {
        return None;
    }
    buf.push(b'"');
    Some(buf)
}

/// The snapshot one response reads its system variables from.
pub struct SysSource<'a> {
    pub vars: &'a SystemVars,
    pub state: &'a dyn ControlState,
    pub crypto: Option<&'a SystemCrypto>,
    pub extra: &'a [ExtraVar],
    pub now: NtpTimestamp,
}

/// Writes system variable `var` (nothing for those without a value).
pub fn put(out: &mut Out, name: &str, var: SysVar, src: &SysSource<'_>) {
    let v = src.vars;
    match var {
        SysVar::Leap => out.bare(name, &v.leap.to_string()),
        SysVar::Stratum => out.bare(name, &v.stratum.to_string()),
        SysVar::Precision => out.bare(name, &v.precision.to_string()),
        SysVar::RootDelay => out.bare(name, &fixed(v.root_delay * 1e3, 3)),
        SysVar::RootDisp => out.bare(name, &fixed(v.root_dispersion * 1e3, 3)),
        SysVar::RefId => out.bare(name, &refid(v.refid, v.stratum <= 1 || v.stratum >= 16)),
        SysVar::RefTime => out.bare(name, &timestamp(v.reftime)),
        SysVar::Poll => out.bare(name, &v.poll.to_string()),
        SysVar::PeerId => out.bare(name, &v.sys_peer.unwrap_or(0).to_string()),
        SysVar::PeerAddress => {
            let a = v
                .sys_peer_address
                .map_or_else(|| "0.0.0.0:0".to_string(), super::format::address_port);
            out.bare(name, &a);
        }
        SysVar::PeerMode => out.bare(name, &v.sys_peer_mode.to_string()),
        SysVar::Offset => out.bare(name, &fixed(v.offset * 1e3, 6)),
        SysVar::Frequency => out.bare(name, &fixed(v.frequency * 1e6, 3)),
        SysVar::SysJitter => out.bare(name, &fixed(v.sys_jitter * 1e3, 6)),
        // Three decimals in 4.2.8p18 (its captures), unlike `sys_jitter`.
        SysVar::ClkJitter => out.bare(name, &fixed(v.clock_jitter * 1e3, 3)),
        SysVar::Clock => out.bare(name, &timestamp(src.now)),
        SysVar::Processor => out.quoted(name, &v.processor),
        SysVar::System => out.quoted(name, &v.system),
        SysVar::Version => out.quoted(name, &v.version),
        SysVar::ClkWander => out.bare(name, &fixed(v.clock_wander * 1e6, 3)),
        SysVar::VarList => {
            let item = var_list_item(
                name,
                SYS_VARS.iter().map(|(n, _)| *n),
                src.extra.iter().map(|e| extra_name(&e.text)),
                false,
            );
            if let Some(item) = item {
                out.text(&item);
            }
        }
        SysVar::Tai => {
            if v.tai > 0 {
                out.bare(name, &v.tai.to_string());
            }
        }
        SysVar::LeapTable => {
            if let Some(t) = v.leap_table_stamp.filter(|&t| t > 0) {
                out.bare(name, &filestamp(t));
            }
        }
        SysVar::LeapExpire => {
            if let Some(t) = v.leap_table_expire.filter(|&t| t > 0) {
                out.bare(name, &filestamp(t));
            }
        }
        SysVar::LeapSmearInterval => {
            if let Some((interval, _)) = v.leap_smear.filter(|s| s.0 > 0) {
                out.bare(name, &interval.to_string());
            }
        }
        SysVar::LeapSmearOffset => {
            if let Some((_, offset)) = v.leap_smear.filter(|s| s.0 > 0) {
                out.bare(name, &fixed(offset * 1e3, 3));
            }
        }
        SysVar::MinPoll => out.bare(name, &v.min_poll.to_string()),
        SysVar::Counter(c) => {
            if let Some(n) = src.state.counter(c) {
                let text = match c {
                    C::MruEnabled => format!("0x{n:x}"),
                    _ => n.to_string(),
                };
                out.bare(name, &text);
            }
        }
        SysVar::BroadcastDelay => out.bare(name, &fixed(v.broadcast_delay * 1e3, 3)),
        SysVar::AuthDelay => out.bare(name, &fixed(v.auth_delay * 1e3, 3)),
        SysVar::Fuzz => out.bare(name, &fixed(v.fuzz * 1e3, 3)),
        SysVar::WanderThreshold => out.bare(name, &fixed(v.wander_threshold * 1e6, 3)),
        SysVar::KernelOffset
        | SysVar::KernelFrequency
        | SysVar::KernelMaxError
        | SysVar::KernelEstError
        | SysVar::KernelStatus
        | SysVar::KernelTimeConstant
        | SysVar::KernelPrecision
        | SysVar::KernelTolerance
        | SysVar::KernelPpsFrequency
        | SysVar::KernelPpsStability
        | SysVar::KernelPpsJitter
        | SysVar::KernelPpsCalibrationInterval
        | SysVar::KernelPpsCalibrations
        | SysVar::KernelPpsCalibrationErrors
        | SysVar::KernelPpsJitterExceeded
        | SysVar::KernelPpsStabilityExceeded => put_kernel(out, name, var, src.state),
        SysVar::CryptoFlags | SysVar::Digest | SysVar::Signature => {
            if let Some(c) = src.crypto.filter(|c| c.flags != 0) {
                match var {
                    SysVar::CryptoFlags => out.bare(name, &format!("0x{:x}", c.flags)),
                    SysVar::Digest => out.quoted(name, &c.digest),
                    _ => out.quoted(name, &c.signature),
                }
            }
        }
        SysVar::Host => {
            if let Some(h) = src.crypto.and_then(|c| c.host.as_deref()) {
                out.quoted(name, h);
            }
        }
        SysVar::Ident => {
            if let Some(i) = src.crypto.and_then(|c| c.ident.as_deref()) {
                out.quoted(name, i);
            }
        }
        SysVar::Update => {
            if let Some(t) = src.crypto.and_then(|c| c.update).filter(|&t| t != 0) {
                out.bare(name, &filestamp(t));
            }
        }
        SysVar::Cert => {
            for cert in src.crypto.map_or(&[][..], |c| &c.certificates[..]) {
                let text = format!("{} {} 0x{:x}", cert.subject, cert.issuer, cert.flags);
                out.quoted(name, &text);
                out.bare("until", &filestamp(cert.not_after));
            }
        }
        // Defined so that it can be named, but never written (the
        // reference writes `until` only after each `cert`).
        SysVar::Until => {}
    }
}

/// The kernel variables: without a kernel loop the reference (built
/// without one) writes 0 for each number and an empty `kstflags`; without
/// kernel PPS, 0 for the PPS variables.
fn put_kernel(out: &mut Out, name: &str, var: SysVar, state: &dyn ControlState) {
    let Some(k) = state.kernel() else {
        if var == SysVar::KernelStatus {
            out.quoted(name, "");
        } else {
            out.bare(name, "0");
        }
        return;
    };
    let text = match var {
        SysVar::KernelOffset => general(k.offset_ms),
        SysVar::KernelFrequency => general(k.frequency_ppm),
        SysVar::KernelMaxError => general(k.max_error_ms),
        SysVar::KernelEstError => general(k.est_error_ms),
        SysVar::KernelStatus => {
            out.quoted(name, &k.status_flags);
            return;
        }
        SysVar::KernelTimeConstant => k.time_constant.to_string(),
        SysVar::KernelPrecision => general(k.precision_ms),
        SysVar::KernelTolerance => general(k.tolerance_ppm),
        _ => match &k.pps {
            None => "0".to_string(),
            Some(p) => match var {
                SysVar::KernelPpsFrequency => general(p.frequency_ppm),
                SysVar::KernelPpsStability => general(p.stability_ppm),
                SysVar::KernelPpsJitter => fixed(p.jitter_ms, 3),
                SysVar::KernelPpsCalibrationInterval => p.calibration_interval.to_string(),
                SysVar::KernelPpsCalibrations => p.calibrations.to_string(),
                SysVar::KernelPpsCalibrationErrors => p.calibration_errors.to_string(),
                SysVar::KernelPpsJitterExceeded => p.jitter_exceeded.to_string(),
                _ => p.stability_exceeded.to_string(),
            },
        },
    };
    out.bare(name, &text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_reference_codes() {
        assert_eq!(SYS_VARS.len(), 101);
        assert_eq!(lookup(b"leap"), Some(0));
        assert_eq!(lookup(b"version"), Some(16));
        assert_eq!(lookup(b"mintc"), Some(22));
        assert_eq!(lookup(b"ss_uptime"), Some(31));
        assert_eq!(lookup(b"leapsmearoffset"), Some(92));
        assert_eq!(lookup(b"digest"), Some(100));
        assert_eq!(lookup(b"hostkey"), None);
        assert_eq!(lookup(b"stratum "), None);
        for (name, _) in SYS_VARS {
            assert!(DEFAULT_SYS_VARS.len() < SYS_VARS.len());
            assert_eq!(SYS_VARS.iter().filter(|(n, _)| n == name).count(), 1);
        }
    }

    #[test]
    fn var_list_is_cut_to_the_reference_buffer() {
        let item = var_list_item(
            "sys_var_list",
            SYS_VARS.iter().map(|(n, _)| *n),
            std::iter::empty(),
            false,
        )
        .unwrap();
        assert!(item.len() <= VAR_LIST_BUFFER);
        assert!(item.starts_with(b"sys_var_list=\"leap,stratum,precision,"));
        assert!(item.ends_with(b"\""));
        let short =
            var_list_item("x", ["a", "b"].into_iter(), ["c=1", "d"].into_iter(), false).unwrap();
        assert_eq!(short, b"x=\"a,bc=1d\"");
    }
}
