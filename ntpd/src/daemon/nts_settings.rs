//! What the `nts` lines of ntp.conf ask for (ntpsec's syntax, RFC 8915).

use std::path::PathBuf;

use config::conf::NtsOption;

use super::nts_ke_io::NTS_KE_PORT;

/// Where the cookie master keys are kept without `nts cookie` (ntpsec's
/// default).
pub const DEFAULT_COOKIE_FILE: &str = "/var/lib/ntp/nts-keys";

/// The NTS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtsSettings {
    /// `nts enable`: run the NTS-KE server and answer NTS requests.
    pub enabled: bool,
    /// `nts key FILE`: the server's private key.
    pub key: Option<PathBuf>,
    /// `nts cert FILE`: the server's certificate chain.
    pub cert: Option<PathBuf>,
    /// `nts cookie FILE`: the cookie master keys.
    pub cookie: PathBuf,
    /// `nts ca PATH`: the client's trust anchors (else the system's).
    pub ca: Option<PathBuf>,
    /// `nts port N`: the NTS-KE server's TCP port.
    pub port: u16,
}

impl Default for NtsSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            key: None,
            cert: None,
            cookie: PathBuf::from(DEFAULT_COOKIE_FILE),
            ca: None,
            port: NTS_KE_PORT,
        }
    }
}

impl NtsSettings {
    /// Takes one `nts` line; later options override earlier ones.
    pub fn apply(&mut self, options: &[NtsOption]) {
        for o in options {
            match o {
                NtsOption::Enable => self.enabled = true,
                NtsOption::Disable => self.enabled = false,
                NtsOption::Key(p) => self.key = Some(PathBuf::from(p)),
                NtsOption::Cert(p) => self.cert = Some(PathBuf::from(p)),
                NtsOption::Cookie(p) => self.cookie = PathBuf::from(p),
                NtsOption::Ca(p) => self.ca = Some(PathBuf::from(p)),
                NtsOption::Port(n) => self.port = *n,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_options_win() {
        let mut s = NtsSettings::default();
        s.apply(&[
            NtsOption::Enable,
            NtsOption::Port(1),
            NtsOption::Cert("a".into()),
        ]);
        s.apply(&[
            NtsOption::Disable,
            NtsOption::Port(2),
            NtsOption::Cookie("c".into()),
        ]);
        assert!(!s.enabled);
        assert_eq!(s.port, 2);
        assert_eq!(s.cert, Some(PathBuf::from("a")));
        assert_eq!(s.cookie, PathBuf::from("c"));
    }
}
