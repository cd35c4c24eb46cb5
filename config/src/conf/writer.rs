//! Canonical ntp.conf text for a configuration: one directive per line,
//! options in a fixed order, strings quoted only where the scanner would
//! otherwise read them differently. Reading the text back gives an equal
//! [`NtpConf`], and writing that again gives the same text.

use std::fmt::Write as _;

use super::ast::*;
use super::keywords;
use super::lexer::{is_space, SPECIALS};

/// True when `word` would scan as a number in normal scanning.
fn looks_numeric(word: &str) -> bool {
    let digits = word.strip_prefix('-').unwrap_or(word);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        if hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return true;
        }
    }
    let b = word.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut n = 0;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
        n += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            n += 1;
        }
    }
    n > 0 && (i == b.len() || matches!(b.get(i), Some(b'e' | b'E')))
}

/// A string as a word the scanner reads back unchanged.
fn word(s: &str) -> String {
    let needs_quotes = s.is_empty()
        || s.bytes()
            .any(|b| is_space(b) || b == b'#' || SPECIALS.contains(&b))
        || keywords::lookup(s).is_some()
        || looks_numeric(s);
    if needs_quotes {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// A string in a position where the scanner reads a plain string (after
/// `server`, `file`, `keys`, …): only spaces, `#` and emptiness need quotes.
fn word_s(s: &str) -> String {
    if s.is_empty() || s.bytes().any(|b| is_space(b) || b == b'#') {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// A number the scanner reads as floating point.
fn num(v: f64) -> String {
    format!("{v:?}")
}

/// A host in normal scanning (restrict, interface).
fn host(h: &Host) -> String {
    match h {
        Host::Ip(ip) => ip.to_string(),
        Host::Name(n) => word(n),
    }
}

/// A host after a keyword that forces a string (server, trap, …).
fn host_s(h: &Host) -> String {
    match h {
        Host::Ip(ip) => ip.to_string(),
        Host::Name(n) => word_s(n),
    }
}

fn family(a: &Address) -> &'static str {
    match a.family {
        AddressFamily::Any => "",
        AddressFamily::Ipv4 => "-4 ",
        AddressFamily::Ipv6 => "-6 ",
    }
}

/// An address after a keyword that forces a string.
fn address(a: &Address) -> String {
    format!("{}{}", family(a), host_s(&a.host))
}

/// An address in normal scanning (`restrict`).
fn address_t(a: &Address) -> String {
    format!("{}{}", family(a), host(&a.host))
}

fn assoc_options(o: &AssocOptions, out: &mut String) {
    if let Some(k) = o.key {
        let _ = write!(out, " key {k}");
    }
    if o.autokey {
        out.push_str(" autokey");
    }
    if o.nts {
        out.push_str(" nts");
    }
    if let Some(i) = &o.ident {
        let _ = write!(out, " ident {}", word_s(i));
    }
    for (name, v) in [
        ("minpoll", o.minpoll),
        ("maxpoll", o.maxpoll),
        ("version", o.version),
        ("ttl", o.ttl),
    ] {
        if let Some(v) = v {
            let _ = write!(out, " {name} {v}");
        }
    }
    for (name, on) in [
        ("burst", o.burst),
        ("iburst", o.iburst),
        ("prefer", o.prefer),
        ("noselect", o.noselect),
        ("true", o.truechimer),
        ("preempt", o.preempt),
        ("xleave", o.xleave),
        ("xmtnonce", o.xmtnonce),
    ] {
        if on {
            let _ = write!(out, " {name}");
        }
    }
}

fn tos_option(t: &TosOption) -> String {
    match t {
        TosOption::BcPollBStep(v) => format!("bcpollbstep {v}"),
        TosOption::Beacon(v) => format!("beacon {v}"),
        TosOption::Ceiling(v) => format!("ceiling {v}"),
        TosOption::Cohort(v) => format!("cohort {}", u8::from(*v)),
        TosOption::Floor(v) => format!("floor {v}"),
        TosOption::MaxClock(v) => format!("maxclock {v}"),
        TosOption::MinClock(v) => format!("minclock {v}"),
        TosOption::MinSane(v) => format!("minsane {v}"),
        TosOption::Orphan(v) => format!("orphan {v}"),
        TosOption::OrphanWait(v) => format!("orphanwait {v}"),
        TosOption::MinDist(v) => format!("mindist {}", num(*v)),
        TosOption::MaxDist(v) => format!("maxdist {}", num(*v)),
        TosOption::BaseDate(d) => format!("basedate {}", word_s(d)),
    }
}

fn tinker_option(t: &TinkerOption) -> String {
    let (name, v) = match t {
        TinkerOption::Allan(v) => ("allan", v),
        TinkerOption::Dispersion(v) => ("dispersion", v),
        TinkerOption::Freq(v) => ("freq", v),
        TinkerOption::Huffpuff(v) => ("huffpuff", v),
        TinkerOption::Panic(v) => ("panic", v),
        TinkerOption::Step(v) => ("step", v),
        TinkerOption::Stepback(v) => ("stepback", v),
        TinkerOption::Stepfwd(v) => ("stepfwd", v),
        TinkerOption::Stepout(v) => ("stepout", v),
        TinkerOption::Tick(v) => ("tick", v),
    };
    format!("{name} {}", num(*v))
}

fn log_item(i: &LogConfigItem) -> String {
    let op = match i.op {
        LogOp::Set => '=',
        LogOp::Add => '+',
        LogOp::Remove => '-',
    };
    let class = match i.class {
        LogClass::All => "all",
        LogClass::Sys => "sys",
        LogClass::Peer => "peer",
        LogClass::Clock => "clock",
        LogClass::Sync => "sync",
    };
    let item = match i.item {
        LogItem::All => "all",
        LogItem::Info => "info",
        LogItem::Events => "events",
        LogItem::Status => "status",
        LogItem::Statistics => "statistics",
    };
    format!("{op}{class}{item}")
}

fn list<T>(kw: &str, items: &[T], f: impl Fn(&T) -> String) -> String {
    let mut s = kw.to_string();
    for i in items {
        s.push(' ');
        s.push_str(&f(i));
    }
    s
}

/// The canonical line for one directive (without newline).
pub fn directive_line(d: &Directive) -> String {
    match d {
        Directive::Association(a) => {
            let mut s = format!("{} {}", a.mode.keyword(), address(&a.address));
            assoc_options(&a.options, &mut s);
            s
        }
        Directive::Refclock(r) => {
            let mut s = format!("server 127.127.{}.{}", r.driver_type, r.unit);
            assoc_options(&r.options, &mut s);
            if let Some(m) = r.mode {
                let _ = write!(s, " mode {m}");
            }
            s
        }
        Directive::Fudge(f) => {
            let mut s = format!("fudge 127.127.{}.{}", f.driver_type, f.unit);
            for (name, v) in [("time1", f.time1), ("time2", f.time2)] {
                if let Some(v) = v {
                    let _ = write!(s, " {name} {}", num(v));
                }
            }
            if let Some(v) = f.stratum {
                let _ = write!(s, " stratum {v}");
            }
            if let Some(r) = &f.refid {
                let _ = write!(s, " refid {}", word_s(r));
            }
            for (i, v) in f.flags.iter().enumerate() {
                if let Some(v) = v {
                    let _ = write!(s, " flag{} {}", i + 1, u8::from(*v));
                }
            }
            if let Some(v) = f.minjitter {
                let _ = write!(s, " minjitter {}", num(v));
            }
            s
        }
        Directive::Unpeer(a) => format!("unpeer {}", address(a)),
        Directive::BroadcastClient => "broadcastclient".to_string(),
        Directive::ManycastServer(l) => list("manycastserver", l, address),
        Directive::MulticastClient(l) => list("multicastclient", l, address),
        Directive::Automax(v) => format!("automax {v}"),
        Directive::ControlKey(v) => format!("controlkey {v}"),
        Directive::RequestKey(v) => format!("requestkey {v}"),
        Directive::Crypto(c) => {
            let mut s = "crypto".to_string();
            for (name, v) in [
                ("digest", &c.digest),
                ("host", &c.host),
                ("ident", &c.ident),
                ("pw", &c.pw),
                ("randfile", &c.randfile),
            ] {
                if let Some(v) = v {
                    let _ = write!(s, " {name} {}", word_s(v));
                }
            }
            s
        }
        Directive::Nts(l) => list("nts", l, |o| o.to_conf(word_s)),
        Directive::Keys(p) => format!("keys {}", word_s(p)),
        Directive::Keysdir(p) => format!("keysdir {}", word_s(p)),
        Directive::Revoke(v) => format!("revoke {v}"),
        Directive::TrustedKey(l) => list("trustedkey", l, |r| {
            if r.first == r.last {
                r.first.to_string()
            } else {
                format!("({} ... {})", r.first, r.last)
            }
        }),
        Directive::Ident(g) => format!("ident {}", word_s(g)),
        Directive::Tos(l) => list("tos", l, tos_option),
        Directive::Statistics(l) => list("statistics", l, |s| s.keyword().to_string()),
        Directive::Statsdir(p) => format!("statsdir {}", word_s(p)),
        Directive::Filegen(f) => {
            let mut s = format!("filegen {}", f.stats.keyword());
            if let Some(file) = &f.file {
                let _ = write!(s, " file {}", word_s(file));
            }
            if let Some(k) = f.kind {
                let _ = write!(s, " type {}", k.keyword());
            }
            if let Some(l) = f.link {
                s.push_str(if l { " link" } else { " nolink" });
            }
            if let Some(e) = f.enabled {
                s.push_str(if e { " enable" } else { " disable" });
            }
            s
        }
        Directive::Discard(l) => list("discard", l, |o| match o {
            DiscardOption::Average(v) => format!("average {v}"),
            DiscardOption::Minimum(v) => format!("minimum {v}"),
            DiscardOption::Monitor(v) => format!("monitor {v}"),
        }),
        Directive::Mru(l) => list("mru", l, |o| {
            let (n, v) = match o {
                MruOption::Incalloc(v) => ("incalloc", v),
                MruOption::Incmem(v) => ("incmem", v),
                MruOption::Initalloc(v) => ("initalloc", v),
                MruOption::Initmem(v) => ("initmem", v),
                MruOption::Maxage(v) => ("maxage", v),
                MruOption::Maxdepth(v) => ("maxdepth", v),
                MruOption::Maxmem(v) => ("maxmem", v),
                MruOption::Mindepth(v) => ("mindepth", v),
            };
            format!("{n} {v}")
        }),
        Directive::Restrict(r) => {
            let mut s = "restrict ".to_string();
            match &r.target {
                RestrictTarget::Default => s.push_str("default"),
                RestrictTarget::DefaultIpv4 => s.push_str("-4 default"),
                RestrictTarget::DefaultIpv6 => s.push_str("-6 default"),
                RestrictTarget::Source => s.push_str("source"),
                RestrictTarget::Address { address: a, mask } => {
                    s.push_str(&address_t(a));
                    if let Some(m) = mask {
                        let _ = write!(s, " mask {m}");
                    }
                }
            }
            if let Some(l) = r.ippeerlimit {
                let _ = write!(s, " ippeerlimit {l}");
            }
            for f in &r.flags {
                s.push(' ');
                s.push_str(f.keyword());
            }
            s
        }
        Directive::DelRestrict(DelRestrict::Source(h)) => format!("delrestrict source {}", host(h)),
        Directive::DelRestrict(DelRestrict::Address { address: a, mask }) => {
            let mut s = format!("delrestrict {}", host(a));
            if let Some(m) = mask {
                let _ = write!(s, " mask {m}");
            }
            s
        }
        Directive::Rlimit(l) => list("rlimit", l, |o| match o {
            RlimitOption::Memlock(v) => format!("memlock {v}"),
            RlimitOption::Stacksize(v) => format!("stacksize {v}"),
            RlimitOption::Filenum(v) => format!("filenum {v}"),
        }),
        Directive::Enable(l) => list("enable", l, |f| f.keyword().to_string()),
        Directive::Disable(l) => list("disable", l, |f| f.keyword().to_string()),
        Directive::Tinker(l) => list("tinker", l, tinker_option),
        Directive::Interface(r) => {
            let action = match r.action {
                NicAction::Listen => "listen",
                NicAction::Ignore => "ignore",
                NicAction::Drop => "drop",
            };
            let m = match &r.matches {
                NicMatch::All => "all".to_string(),
                NicMatch::Ipv4 => "ipv4".to_string(),
                NicMatch::Ipv6 => "ipv6".to_string(),
                NicMatch::Wildcard => "wildcard".to_string(),
                NicMatch::Name(n) => word(n),
                NicMatch::Address {
                    address,
                    prefix: Some(p),
                } => format!("{address}/{p}"),
                NicMatch::Address {
                    address,
                    prefix: None,
                } => address.to_string(),
            };
            format!("interface {action} {m}")
        }
        Directive::Reset(l) => list("reset", l, |c| c.keyword().to_string()),
        Directive::BroadcastDelay(v) => format!("broadcastdelay {}", num(*v)),
        Directive::Nonvolatile(v) => format!("nonvolatile {}", num(*v)),
        Directive::Tick(v) => format!("tick {}", num(*v)),
        Directive::Dscp(v) => format!("dscp {v}"),
        Directive::LeapSmearInterval(v) => format!("leapsmearinterval {v}"),
        Directive::Logfile(p) => format!("logfile {}", word_s(p)),
        Directive::Pidfile(p) => format!("pidfile {}", word_s(p)),
        Directive::Saveconfigdir(p) => format!("saveconfigdir {}", word_s(p)),
        Directive::MetricsListen(a) => format!("metrics_listen {a}"),
        Directive::Leapfile(l) => {
            let hash = if l.check_hash { "" } else { " ignorehash" };
            format!("leapfile {}{hash}", word_s(&l.path))
        }
        Directive::Driftfile(d) => match (&d.path, d.wander) {
            (None, _) => "driftfile".to_string(),
            (Some(p), None) => format!("driftfile {}", word_s(p)),
            (Some(p), Some(w)) => format!("driftfile {} {}", word_s(p), num(w)),
        },
        Directive::Logconfig(l) => list("logconfig", l, log_item),
        Directive::PollSkewList(l) => list("pollskewlist", l, |p| match p.poll {
            Some(poll) => format!("{poll} {}|{}", p.early, p.late),
            None => format!("default {}|{}", p.early, p.late),
        }),
        Directive::Setvar(v) => {
            let d = if v.default { " default" } else { "" };
            format!("setvar {} = {}{d}", word_s(&v.name), word_s(&v.value))
        }
        Directive::Trap(t) => {
            let mut s = format!("trap {}", host_s(&t.address));
            if let Some(p) = t.port {
                let _ = write!(s, " port {p}");
            }
            if let Some(i) = &t.interface {
                let _ = write!(s, " interface {}", host(i));
            }
            s
        }
        Directive::Ttl(l) => list("ttl", l, |v| v.to_string()),
    }
}

impl NtpConf {
    /// The configuration as canonical ntp.conf text (what
    /// `ntpd --saveconfigquit` writes).
    pub fn to_conf_string(&self) -> String {
        let mut out = String::new();
        for s in &self.statements {
            out.push_str(&directive_line(&s.directive));
            out.push('\n');
        }
        out
    }
}
