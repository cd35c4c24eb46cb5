//! The `nts` directive in ntpsec's ntp.conf syntax (ntpsec 1.2
//! `docs/includes/nts-commands.adoc`), for Network Time Security (RFC
//! 8915): one line may carry several options, e.g.
//! `nts enable cert /etc/ntp/cert.pem key /etc/ntp/key.pem`.

/// One option of an `nts` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NtsOption {
    /// `enable`: run the NTS-KE server (needs `cert` and `key`).
    Enable,
    /// `disable`: do not run the NTS-KE server.
    Disable,
    /// `key FILE`: the server certificate's private key (PEM).
    Key(String),
    /// `cert FILE`: the server certificate chain (PEM).
    Cert(String),
    /// `cookie FILE`: where the cookie master keys are kept.
    Cookie(String),
    /// `ca FILE|DIR`: trust anchors for the NTS-KE client, instead of the
    /// system's.
    Ca(String),
    /// `port N`: the TCP port of the NTS-KE server (default 4460).
    Port(u16),
}

impl NtsOption {
    /// The option as written on an `nts` line.
    pub fn to_conf(&self, quote: impl Fn(&str) -> String) -> String {
        match self {
            Self::Enable => "enable".into(),
            Self::Disable => "disable".into(),
            Self::Key(p) => format!("key {}", quote(p)),
            Self::Cert(p) => format!("cert {}", quote(p)),
            Self::Cookie(p) => format!("cookie {}", quote(p)),
            Self::Ca(p) => format!("ca {}", quote(p)),
            Self::Port(n) => format!("port {n}"),
        }
    }
}
