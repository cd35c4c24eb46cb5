//! ntp.conf(5), from the configuration parser's directive table.

use config::conf::directives::DIRECTIVES;

use crate::page::{Builder, Page};

/// The page.
pub fn page() -> Page {
    let mut b = Builder::new("ntp.conf", "5", "configuration file of ntpd");
    b.section("SYNOPSIS").synopsis("/etc/ntp.conf", "");
    b.section("DESCRIPTION").para(
        "ntpd(8) reads its configuration from /etc/ntp.conf (or the file given with -c). Each \
         line is a directive and its arguments; # starts a comment; a quoted word is never a \
         keyword. The grammar is that of the reference ntpd 4.2.8. Directives the daemon parses \
         but does not act on are named in its log at start. To check a file without running \
         the daemon: ntpd -c FILE --saveconfigquit /dev/stdout.",
    );
    b.section("DIRECTIVES");
    for d in DIRECTIVES {
        let arg = (!d.synopsis.is_empty()).then_some(d.synopsis);
        b.item(d.name, arg, d.summary);
    }
    b.section("AUTOKEY").para(
        "A trusted host of a group: crypto pw serverpassword, keysdir /etc/ntp, and the autokey \
         option on its broadcast line. A client: crypto pw clientpassword, keysdir /etc/ntp, and \
         server NAME autokey. The keys come from ntp-keygen(8); see the Configuring Autokey guide.",
    );
    b.section("SEE ALSO")
        .para("ntpd(8), ntpq(1), ntp-keygen(8).");
    b.build()
}
