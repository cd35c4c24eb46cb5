//! The reserved words of the ntp.conf scanner and what each one does to the
//! scanning of the words after it (reference `ntpd/keyword-gen.c`, 4.2.8).
//!
//! In the reference, an unquoted word that equals a keyword is always that
//! keyword, never a string; quoting it makes it a string. Some keywords
//! force the next word (or every word up to the end of the line) to be read
//! as a plain string, so that host names and paths are never mistaken for
//! keywords or numbers.

/// How the words after a keyword are scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FollowedBy {
    /// Scanned normally (keywords, numbers, special characters).
    Token,
    /// The next word is a plain string.
    String,
    /// Every word up to the end of the line is a plain string.
    StringsToEnd,
}

use FollowedBy::{String as S, StringsToEnd as E, Token as T};

/// Every keyword of the 4.2.8 grammar, with its scanning effect.
pub(crate) const KEYWORDS: &[(&str, FollowedBy)] = &[
    ("-4", T),
    ("-6", T),
    ("...", T),
    ("abbrev", S),
    ("age", T),
    ("all", T),
    ("allan", T),
    ("allpeers", T),
    ("auth", T),
    ("autokey", T),
    ("automax", T),
    ("average", T),
    ("basedate", S),
    ("bclient", T),
    ("bcpollbstep", T),
    ("beacon", T),
    ("beep_delay", T),
    ("broadcast", S),
    ("broadcastclient", T),
    ("broadcastdelay", T),
    ("burst", T),
    ("calibrate", T),
    ("ceiling", T),
    ("checkhash", T),
    ("clockstats", T),
    ("cohort", T),
    ("controlkey", T),
    ("crypto", T),
    ("cryptostats", T),
    ("ctl", T),
    ("day", T),
    ("default", T),
    ("delrestrict", T),
    ("device", S),
    ("digest", S),
    ("disable", T),
    ("discard", T),
    ("dispersion", T),
    ("driftfile", S),
    ("drop", T),
    ("dscp", T),
    ("duration", T),
    ("enable", T),
    ("end", T),
    ("epeer", T),
    ("file", S),
    ("filegen", T),
    ("filenum", T),
    ("flag1", T),
    ("flag2", T),
    ("flag3", T),
    ("flag4", T),
    ("flake", T),
    ("floor", T),
    ("freq", T),
    ("freq_offset", T),
    ("fudge", S),
    ("fuzz", T),
    ("host", S),
    ("huffpuff", T),
    ("iburst", T),
    ("ident", S),
    ("ignore", T),
    ("ignorehash", T),
    ("incalloc", T),
    ("includefile", S),
    ("incmem", T),
    ("initalloc", T),
    ("initmem", T),
    ("interface", T),
    ("io", T),
    ("ippeerlimit", T),
    ("ipv4", T),
    ("ipv6", T),
    ("jitter", T),
    ("kernel", T),
    ("key", T),
    ("keys", S),
    ("keysdir", S),
    ("kod", T),
    ("leapfile", S),
    ("leapsmearinterval", T),
    ("limited", T),
    ("link", T),
    ("listen", T),
    ("logconfig", E),
    ("logfile", S),
    ("loopstats", T),
    ("lowpriotrap", T),
    ("manycastclient", S),
    ("manycastserver", E),
    ("mask", T),
    ("maxage", T),
    ("maxclock", T),
    ("maxdepth", T),
    ("maxdist", T),
    ("maxmem", T),
    ("maxpoll", T),
    ("mdnstries", T),
    ("mem", T),
    ("memlock", T),
    // This daemon's own (not in the 4.2.8 grammar): the Prometheus endpoint.
    ("metrics_listen", S),
    ("minclock", T),
    ("mindepth", T),
    ("mindist", T),
    ("minimum", T),
    ("minjitter", T),
    ("minpoll", T),
    ("minsane", T),
    ("mode", T),
    ("mode7", T),
    ("monitor", T),
    ("month", T),
    ("mru", T),
    ("mssntp", T),
    ("multicastclient", E),
    ("nic", T),
    ("noepeer", T),
    ("nolink", T),
    ("nomodify", T),
    ("nomrulist", T),
    ("none", T),
    ("nonvolatile", T),
    ("nopeer", T),
    ("noquery", T),
    ("noselect", T),
    ("noserve", T),
    ("notrap", T),
    ("notrust", T),
    ("ntp", T),
    ("ntpport", T),
    ("ntpsigndsocket", S),
    ("nts", T),
    ("orphan", T),
    ("orphanwait", T),
    ("panic", T),
    ("peer", S),
    ("peer_clear_digest_early", T),
    ("peerstats", T),
    ("phone", E),
    ("pid", T),
    ("pidfile", S),
    ("pollskewlist", T),
    ("pool", S),
    ("port", T),
    ("ppsdata", S),
    ("preempt", T),
    ("prefer", T),
    ("proc_delay", T),
    ("prop_delay", T),
    ("protostats", T),
    ("pw", S),
    ("randfile", S),
    ("rawstats", T),
    ("refid", S),
    ("requestkey", T),
    ("reset", T),
    ("restrict", T),
    ("revoke", T),
    ("rlimit", T),
    ("saveconfigdir", S),
    ("server", S),
    ("server_offset", T),
    ("serverresponse", T),
    ("setvar", S),
    ("simulate", T),
    ("simulation_duration", T),
    ("source", T),
    ("stacksize", T),
    ("statistics", T),
    ("stats", T),
    ("statsdir", S),
    ("step", T),
    ("stepback", T),
    ("stepfwd", T),
    ("stepout", T),
    ("stratum", T),
    ("sys", T),
    ("sysstats", T),
    ("tick", T),
    ("time1", T),
    ("time2", T),
    ("timedata", S),
    ("timer", T),
    ("timingstats", T),
    ("tinker", T),
    ("tos", T),
    ("trap", S),
    ("true", T),
    ("trustedkey", T),
    ("ttl", T),
    ("type", T),
    ("unconfig", S),
    ("unpeer", S),
    ("unpeer_crypto_early", T),
    ("unpeer_crypto_nak_early", T),
    ("unpeer_digest_early", T),
    ("version", T),
    ("wander", T),
    ("week", T),
    ("wildcard", T),
    ("xleave", T),
    ("xmtnonce", T),
    ("year", T),
];

/// The keyword `word` names, with its scanning effect.
pub(crate) fn lookup(word: &str) -> Option<(&'static str, FollowedBy)> {
    KEYWORDS
        .binary_search_by(|(k, _)| (*k).cmp(word))
        .ok()
        .and_then(|i| KEYWORDS.get(i))
        .copied()
}

/// Levenshtein distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.last().copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// The closest of `candidates` to `word`, if it is close enough to be a
/// plausible typo (case differences count as close).
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if word.chars().count() > 40 {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let limit = match lower.chars().count() {
        0..=3 => 1,
        4..=6 => 2,
        _ => 3,
    };
    candidates
        .iter()
        .map(|c| (distance(&lower, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        for pair in KEYWORDS.windows(2) {
            if let [a, b] = pair {
                assert!(a.0 < b.0, "{} before {}", a.0, b.0);
            }
        }
        assert_eq!(lookup("server"), Some(("server", FollowedBy::String)));
        assert_eq!(
            lookup("logconfig").map(|k| k.1),
            Some(FollowedBy::StringsToEnd)
        );
        assert_eq!(lookup("Server"), None);
    }

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(
            suggest("sever", &super::super::directives::names()),
            Some("server")
        );
        assert_eq!(
            suggest("RESTRICT", &super::super::directives::names()),
            Some("restrict")
        );
        assert_eq!(
            suggest("drifile", &super::super::directives::names()),
            Some("driftfile")
        );
        assert_eq!(
            suggest("frobnicate", &super::super::directives::names()),
            None
        );
    }
}
