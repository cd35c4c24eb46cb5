//! ntpq(1), from ntpq's option and command tables.

use crate::ntpq_cmdtable::{usage, COMMANDS};
use crate::ntpq_optspec::{OPERAND, OPTIONS};
use crate::page::{Builder, Page};

/// The page.
pub fn page() -> Page {
    let mut b = Builder::new("ntpq", "1", "standard NTP query program");
    b.section("SYNOPSIS").synopsis(
        "ntpq",
        &format!("[-46dinpw] [-k keyfile] [-c command]... [{}...]", OPERAND.0),
    );
    b.section("DESCRIPTION").para(
        "ntpq queries NTP servers with mode 6 control messages (RFC 9327): the peer list, system \
         and peer variables, the MRU list of clients, and authenticated writes. Its commands and \
         output are those of the reference ntpq 4.2.8. Without -c or -p it reads commands from \
         standard input.",
    );
    b.section("OPTIONS");
    for o in OPTIONS {
        b.item(
            &format!("-{}, --{}", o.short, o.long),
            o.arg,
            &format!("{}.", o.help),
        );
    }
    b.item(OPERAND.0, None, &format!("{}.", OPERAND.1));
    b.section("COMMANDS");
    let mut last = None;
    for c in COMMANDS {
        // Aliases (rv, readvar) share one description: list each name.
        let line = usage(c);
        let syntax = line.trim_start_matches("usage: ");
        let text = if last == Some(c.help) {
            "The same as the command above.".to_owned()
        } else {
            format!("{}.", c.help)
        };
        b.item(syntax, None, &text);
        last = Some(c.help);
    }
    b.section("SEE ALSO")
        .para("ntpd(8), ntp.conf(5), RFC 9327.");
    b.build()
}
