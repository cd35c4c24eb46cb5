//! ntpd(8), from the option table `ntpd --help` prints.

use ntpd::cli::{Arg, OPTIONS, REPEATABLE, SUPPORTED};

use crate::page::{Builder, Page};

/// The page.
pub fn page() -> Page {
    let mut b = Builder::new("ntpd", "8", "Network Time Protocol daemon with Autokey");
    b.section("SYNOPSIS")
        .synopsis("ntpd", "[-flag [value] | --name[=value]]... [server ...]");
    b.section("DESCRIPTION").para(
        "ntpd keeps the system clock synchronised with time servers by the Network Time Protocol \
         version 4 (RFC 5905), serves time to clients, answers mode 6 control queries (RFC 9327, \
         see ntpq(1)) and authenticates servers with symmetric keys or Autokey public-key \
         cryptography (RFC 5906, keys made by ntp-keygen(8)). It reads ntp.conf(5) and is a \
         drop-in replacement for the reference ntpd 4.2.8.",
    );
    b.section("OPTIONS");
    for o in OPTIONS {
        let term = match o.short {
            Some(c) => format!("-{c}, --{}", o.long),
            None => format!("--{}", o.long),
        };
        let arg = match o.arg {
            Arg::None => None,
            Arg::Required(a) => Some(a.to_owned()),
            Arg::Optional(a) => Some(format!("[={a}]")),
        };
        let mut text = o.help.to_owned();
        if !text.ends_with('.') {
            text.push('.');
        }
        if REPEATABLE.contains(&o.id) {
            text.push_str(" May be given more than once.");
        }
        if !SUPPORTED.contains(&o.id) {
            text.push_str(" Not built in this version: refused with a message naming it.");
        }
        b.item(&term, arg.as_deref(), &text);
    }
    b.para(
        "Long options may be abbreviated to a unique prefix; short flags may be combined (-nx) \
         and take their value attached or separate (-cFILE, -c FILE).",
    );
    b.section("RUNNING AS A SERVICE").para(
        "The packaged ntpd.service starts ntpd -n -u ntp:ntp -F 1 with Type=notify: the daemon \
         sends READY=1 on NOTIFY_SOCKET once its sockets are bound and its keys loaded, a STATUS= \
         line whenever the synchronisation state, stratum or Autokey state changes, WATCHDOG=1 \
         while WatchdogSec= is set, and STOPPING=1 when SIGTERM ends it. SIGHUP reloads the \
         Autokey keys and certificates (keysdir) and the NTS cookie key file (see NTS COOKIE \
         KEYS). With -u the daemon keeps only CAP_SYS_TIME and sets no_new_privs; with -F 1 any \
         system call outside the ones it uses ends it (-F -1 logs them instead). ntp-wait.service \
         reaches time-sync.target once the clock is synchronised.",
    );
    b.section("NTS-KE LIMITS").para(
        "With nts enable ntpd serves NTS-KE (RFC 8915 section 4) on TCP port 4460 (nts port): \
         TLS 1.3 with ALPN ntske/1, one request and one response per connection, each session \
         cut off after 10 s. At most 64 sessions run at once, and at most 4 from one source \
         address (for IPv6, one /64; an IPv4 client on a dual-stack socket counts as its IPv4 \
         address). A connection over either limit is closed as soon as it is accepted, before \
         any TLS: over the per-source limit it is counted in nts_ke_source_limited, over the \
         total in nts_ke_aborted (ntpq -c rv, and ntpd_nts_ke_sessions_total in the metrics).",
    );
    b.section("NTS COOKIE KEYS").para(
        "With nts enable the cookies handed out by NTS-KE (RFC 8915 section 6) are sealed under \
         master keys kept in the nts cookie file (default /var/lib/ntp/nts-keys, mode 0600), one \
         line each: ntskey ID CREATED-UNIX-SECONDS KEY-HEX, key ids increasing by one, the \
         newest last. ntpd makes a new key daily, keeps each old key accepted for 7 days after \
         it was replaced, and rewrites the file after each rotation, through the file's \
         directory opened at start-up, so that with -i the file may lie outside the jail. \
         That open directory is a way out of the jail for whoever takes over the process: to \
         keep -i tight, put the cookie file inside the jail. SIGHUP reads the file again (by \
         the name given at start-up): to rotate by hand, or from a key store shared by several \
         servers, write the new set into the file (atomically, by rename) and send SIGHUP; new \
         cookies are sealed \
         under its newest key from then on (ntpq -c rv shows nts_cookie_key), cookies under the \
         older keys it lists stay accepted, and a cookie under a key it leaves out is answered \
         with an NTS NAK (nts_naks), after which the client runs NTS-KE again. A file that does \
         not read or parse is logged and the keys in use are kept.",
    );
    b.section("METRICS").para(
        "With --metrics ADDR:PORT, or metrics_listen ADDR:PORT in ntp.conf(5) (the option wins), \
         ntpd serves the values ntpq(1) shows as Prometheus text (OpenMetrics 1.0) at \
         http://ADDR:PORT/metrics: the system variables of rv, per association the columns of \
         ntpq -p with the Autokey flags and NTS cookies and replies, the NTS server counters and \
         cookie key, and the packet, restriction and Autokey budget counters. \
         It is off by default. The address is an IP literal with a port ([::1]:9123 for IPv6), \
         bound at start-up before privileges are dropped; a bad one stops the daemon with a \
         message naming it. Only GET and HEAD of /metrics are answered (other paths 404); at \
         most 8 connections are served at once, one request each, whose head must fit in 8 KiB \
         and arrive within 5 s. There is no authentication: bind it to a loopback or management \
         address. The metric names are listed in docs/metrics.md.",
    );
    b.section("FILES")
        .item("/etc/ntp.conf", None, "The configuration, see ntp.conf(5).")
        .item(
            "/etc/ntp",
            None,
            "Autokey keys and certificates (keysdir), mode 0700.",
        )
        .item(
            "/var/lib/ntp/ntp.drift",
            None,
            "The frequency file (driftfile).",
        )
        .item("/var/log/ntpstats", None, "Statistics files (statsdir).");
    b.section("SEE ALSO")
        .para("ntp.conf(5), ntpq(1), ntp-keygen(8), RFC 5905, RFC 5906, RFC 9327.");
    b.build()
}
