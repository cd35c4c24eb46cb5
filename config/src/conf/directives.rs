//! The table of ntp.conf directives: the words that may start a line,
//! each with its synopsis and a one-line summary (reference 4.2.8 ntp.conf
//! grammar, `ntpd/ntp_parser.y`). The parser takes the directive names it
//! suggests from here, and ntp.conf(5) is generated from it (`ntpd/man`),
//! so the page lists exactly what the parser accepts.

/// One directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directive {
    /// The word that starts the line.
    pub name: &'static str,
    /// Its arguments, man-page style (`[...]` optional, `|` alternatives).
    pub synopsis: &'static str,
    /// What it does, one sentence.
    pub summary: &'static str,
}

const fn d(name: &'static str, synopsis: &'static str, summary: &'static str) -> Directive {
    Directive {
        name,
        synopsis,
        summary,
    }
}

/// Every directive, in alphabetical order.
pub const DIRECTIVES: &[Directive] = &[
    d("automax", "[log2-seconds]", "Lifetime of Autokey session key lists, log2 seconds (RFC 5906 §10)."),
    d("broadcast", "address [key id] [autokey] [version n] [minpoll n] [ttl n]", "Send broadcast or multicast server packets to address, optionally authenticated with a symmetric key or Autokey."),
    d("broadcastclient", "[novolley]", "Listen for broadcast servers and mobilise broadcast client associations."),
    d("broadcastdelay", "seconds", "The default broadcast propagation delay."),
    d("controlkey", "keyid", "The symmetric key that authenticates mode 6 (ntpq) write requests."),
    d("crypto", "[digest name] [host name] [ident group] [pw password] [randfile file]", "Turn on Autokey (RFC 5906): host key and certificate from keysdir, the password that decrypts them."),
    d("delrestrict", "[source] address [mask m]", "Remove a restrict entry."),
    d("device", "unit [timedata file] [ppsdata file]", "Reference clock device names (parsed; reference clocks are not built)."),
    d("disable", "auth | bclient | calibrate | kernel | mode7 | monitor | ntp | stats | peer_clear_digest_early | unpeer_crypto_early | unpeer_crypto_nak_early | unpeer_digest_early", "Turn off a system option."),
    d("discard", "[average log2] [minimum seconds] [monitor n]", "Rate limits for restrict ... limited and kod."),
    d("driftfile", "file [tolerance]", "Where the clock frequency (PPM) is kept across restarts."),
    d("dscp", "value", "The DSCP (IP type of service) of packets sent."),
    d("enable", "auth | bclient | calibrate | kernel | mode7 | monitor | ntp | stats | peer_clear_digest_early | unpeer_crypto_early | unpeer_crypto_nak_early | unpeer_digest_early", "Turn on a system option."),
    d("end", "", "End of the configuration; the rest of the file is ignored."),
    d("filegen", "name [file filename] [type day|week|month|year|age|pid|none] [link|nolink] [enable|disable]", "How a statistics file set is named and rotated."),
    d("fudge", "address [options]", "Reference clock adjustments (parsed; reference clocks are not built)."),
    d("ident", "group", "The Autokey group (trust group) whose identity parameters this host uses."),
    d("includefile", "file", "Read another configuration file here."),
    d("interface", "listen | ignore | drop  all | ipv4 | ipv6 | wildcard | name | address[/prefix]", "Which local addresses the daemon listens on."),
    d("keys", "file", "The symmetric keys file (RFC 5905 §7.3)."),
    d("keysdir", "directory", "Where the Autokey key and certificate files are (default /usr/local/etc)."),
    d("leapfile", "file", "The leap second file (NIST leap-seconds.list)."),
    d("leapsmearinterval", "seconds", "Spread a leap second over this interval (parsed)."),
    d("logconfig", "=|+|-class[event] ...", "Which classes of events are logged (all, clock, peer, sys, sync)."),
    d("logfile", "file", "Log to file instead of syslog."),
    d("manycastclient", "address [key id] [autokey] [minpoll n] [maxpoll n] [ttl n]", "Find servers by manycast solicitation to address."),
    d("manycastserver", "address ...", "Answer manycast solicitations sent to address."),
    d("mdnstries", "n", "How often to try mDNS registration (parsed; mDNS is not built)."),
    d("metrics_listen", "address:port", "Serve Prometheus metrics over HTTP at address:port (this daemon's own directive, off by default; docs/metrics.md)."),
    d("mru", "[maxdepth n] [maxmem kb] [mindepth n] [maxage s] [initalloc n] [initmem kb] [incalloc n] [incmem kb]", "Size of the MRU list of recent clients (ntpq mrulist)."),
    d("multicastclient", "address ...", "Join multicast groups and listen for multicast servers."),
    d("nic", "listen | ignore | drop  all | ipv4 | ipv6 | wildcard | name | address[/prefix]", "The same as interface."),
    d("nonvolatile", "threshold", "Frequency change that triggers a drift file write (PPM)."),
    d("ntpsigndsocket", "directory", "Samba's signing socket (parsed; not built)."),
    d("nts", "[enable|disable] [key file] [cert file] [cookie file] [ca file|directory] [port n]", "Network Time Security (RFC 8915), in ntpsec's syntax: the NTS-KE server's certificate and key, where cookie keys are kept, the client's trust anchors."),
    d("peer", "address [key id] [autokey] [burst] [iburst] [version n] [minpoll n] [maxpoll n] [prefer] [true] [noselect] [xleave]", "A symmetric active association with address."),
    d("phone", "number ...", "Modem numbers for the ACTS driver (parsed; reference clocks are not built)."),
    d("pidfile", "file", "Write the daemon's process ID to file."),
    d("pollskewlist", "[poll early late] ... [default early late]", "Random poll skews (parsed)."),
    d("pool", "name [options as server]", "Mobilise associations with several servers of a DNS pool name."),
    d("requestkey", "keyid", "The key of mode 7 requests (mode 7 is not answered)."),
    d("reset", "allpeers | auth | ctl | io | mem | sys | timer", "Reset statistics counters."),
    d("restrict", "[-4|-6] default | source | address [mask m] [flag ...]", "Access control: ignore, kod, limited, lowpriotrap, mssntp, noepeer, nomodify, nomrulist, nopeer, noquery, noserve, notrap, notrust, ntpport, version."),
    d("revoke", "log2-seconds", "How often Autokey server values are regenerated (RFC 5906 §10)."),
    d("rlimit", "[memlock mb] [stacksize 4k-pages] [filenum n]", "Process resource limits."),
    d("saveconfigdir", "directory", "Where ntpq saveconfig may write."),
    d("server", "address [key id] [autokey] [nts] [burst] [iburst] [version n] [minpoll n] [maxpoll n] [prefer] [true] [noselect] [xleave]", "A client association with the server at address."),
    d("setvar", "name = value [default]", "A system variable served in mode 6 (ntpq rv)."),
    d("simulate", "{ ... }", "Simulator settings (parsed; not built)."),
    d("statistics", "loopstats | peerstats | clockstats | rawstats | sysstats | cryptostats | protostats | timingstats ...", "Which statistics files are written."),
    d("statsdir", "directory", "Where the statistics files go."),
    d("tick", "seconds", "The kernel clock tick."),
    d("tinker", "[allan s] [dispersion ppm] [freq ppm] [huffpuff s] [panic s] [step s] [stepback s] [stepfwd s] [stepout s]", "Clock discipline constants (RFC 5905 §12)."),
    d("tos", "[beacon s] [ceiling n] [cohort 0|1] [floor n] [maxclock n] [maxdist s] [minclock n] [mindist s] [minsane n] [orphan stratum] [orphanwait s] [bcpollbstep n]", "System selection and orphan mode parameters (RFC 5905 §11)."),
    d("trap", "address [port n] [interface address]", "Send mode 6 traps to address."),
    d("trustedkey", "keyid | (first ... last) ...", "Symmetric keys trusted for authentication."),
    d("ttl", "ttl ...", "TTLs of manycast and multicast packets, by ttl index."),
    d("unconfig", "address", "Remove a configured association (runtime configuration)."),
    d("unpeer", "address | associd", "Remove an association (runtime configuration)."),
];

/// The directive names, for "did you mean" hints.
pub fn names() -> Vec<&'static str> {
    DIRECTIVES.iter().map(|d| d.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_described() {
        for w in DIRECTIVES.windows(2) {
            assert!(w[0].name < w[1].name, "{} {}", w[0].name, w[1].name);
        }
        for d in DIRECTIVES {
            assert!(d.summary.ends_with('.'), "{}", d.name);
            assert!(
                super::super::keywords::lookup(d.name).is_some(),
                "{} is not a keyword of the scanner",
                d.name
            );
        }
    }
}
