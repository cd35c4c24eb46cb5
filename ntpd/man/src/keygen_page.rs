//! ntp-keygen(8), from its option table and notes.

use keystore::keygen::args::OPTIONS;
use keystore::keygen::usage::{synopsis, COMPATIBILITY};

use crate::page::{Builder, Page};

/// The page.
pub fn page() -> Page {
    let mut b = Builder::new("ntp-keygen", "8", "create Autokey (RFC 5906) key files");
    b.section("SYNOPSIS").synopsis("ntp-keygen", "[options]");
    b.section("DESCRIPTION").para(
        "ntp-keygen writes, in the current directory, the host key, sign key, certificate and \
         IFF, GQ or MV identity parameters Autokey uses (RFC 5906), and the symmetric keys file, \
         with the file names, header lines, filestamps and links of the reference ntp-keygen \
         4.2.8. Run it in the keysdir of ntp.conf(5), /etc/ntp in the package.",
    );
    b.section("OPTIONS");
    for o in OPTIONS {
        let term = synopsis(o.short, o.long, None);
        b.item(term.trim(), o.arg, &format!("{}.", o.help));
    }
    b.section("COMPATIBILITY");
    for note in COMPATIBILITY {
        b.para(note);
    }
    b.section("SEE ALSO")
        .para("ntpd(8), ntp.conf(5), RFC 5906.");
    b.build()
}
