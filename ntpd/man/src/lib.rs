//! The man pages of ntpd-autokey, rendered with the `roff` crate from the
//! same tables the programs parse their command lines and configuration
//! with, so that a page cannot list an option the program does not know
//! or miss one it does:
//!
//! - ntpd(8) from `ntpd::cli::OPTIONS` (which `ntpd --help` prints);
//! - ntpq(1) from ntpq's `optspec::OPTIONS` and `cmdtable::COMMANDS`
//!   (included from ntpq's sources, which its parser and `help` use);
//! - ntp-keygen(8) from `keystore::keygen::args::OPTIONS` and its notes;
//! - ntp.conf(5) from `config::conf::directives::DIRECTIVES`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod conf_page;
mod keygen_page;
mod ntpd_page;
mod ntpq_page;
mod page;

/// ntpq's option table, the very file ntpq compiles.
#[allow(dead_code)]
#[path = "../../ntpq/src/optspec.rs"]
mod ntpq_optspec;

/// ntpq's command table, the very file ntpq compiles.
#[allow(dead_code)]
#[path = "../../ntpq/src/cmdtable.rs"]
mod ntpq_cmdtable;

pub use page::Page;

/// Every page.
pub fn pages() -> Vec<Page> {
    vec![
        ntpd_page::page(),
        ntpq_page::page(),
        keygen_page::page(),
        conf_page::page(),
    ]
}
