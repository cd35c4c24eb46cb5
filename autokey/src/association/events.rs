//! What an association's engine reports to the daemon (brief §4, §11.3),
//! with operator-readable [`Display`](std::fmt::Display) forms for log lines.

use std::fmt;

use keystore::Scheme;

use crate::error::AutokeyError;
use crate::message::LeapValues;

/// Something the caller should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssocEvent {
    /// The association just became proventic (PROV lit).
    Proventic,
    /// A cookie was installed.
    Cookie(u32),
    /// Leap values received (feed the TAI offset to the leap module).
    Leap(LeapValues),
    /// The server signed our certificate; the host installed it.
    CertificateSigned {
        /// The subject of the server certificate that signed ours (SIGN, brief §2.8).
        issuer: String,
    },
    /// Identity verified.
    IdentityVerified(Scheme),
    /// A protocol error restarted the dance (brief §2.10).
    Restarted(AutokeyError),
    /// A field was rejected; the packet is dropped, state unchanged.
    Rejected(AutokeyError),
    /// The server offers identity schemes, but this host has parameters
    /// for none of them under the names it looked for: the association
    /// runs with the certificate trail only (RFC 5906 §6.2, TC), no proof
    /// of the server's identity. Reported once per association.
    TcOnly {
        /// The server's host name (its certificate subject).
        server: String,
        /// The schemes its status word offers (brief §3).
        offered: Vec<Scheme>,
        /// The parameter file names this host looked for, in the keys directory.
        looked_for: Vec<String>,
    },
    /// `ident GROUP` is configured but none of the server's schemes has
    /// parameters for GROUP: the association waits (no VRFY). Once.
    NoIdentityParameters {
        /// The server's host name (its certificate subject).
        server: String,
        /// The configured `ident` group.
        group: String,
        /// The schemes the server's status word offers (brief §3).
        offered: Vec<Scheme>,
    },
    /// The server's certificate trail ends at a self-signed certificate
    /// that is not trusted (no trustRoot extension), or a synchronised
    /// server serves no certificate for the subject asked (it serves no
    /// untrusted self-signed one): the trail can never complete (brief
    /// §7.2, §7.3). Once per association.
    UntrustedTrail {
        /// The server's host name.
        server: String,
        /// The subject of the untrusted self-signed root (or the subject asked for).
        root: String,
    },
}

/// `IFF, GQ` for a list of schemes.
pub(crate) fn scheme_list(s: &[Scheme]) -> String {
    s.iter()
        .map(Scheme::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for AssocEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssocEvent::Proventic => f.write_str("proventic: the server's packets are authenticated"),
            AssocEvent::Cookie(c) => write!(f, "cookie {c:08x} installed"),
            AssocEvent::Leap(l) => write!(f, "leap values: {l}"),
            AssocEvent::CertificateSigned { issuer } => {
                write!(f, "our certificate was signed by {issuer}")
            }
            AssocEvent::IdentityVerified(s) => write!(f, "{s} identity verified"),
            AssocEvent::Restarted(e) => write!(f, "protocol restarted: {e}"),
            AssocEvent::Rejected(e) => write!(f, "field refused: {e}"),
            AssocEvent::TcOnly {
                server,
                offered,
                looked_for,
            } => write!(
                f,
                "server {server} offers identity scheme {} but this host has no parameters for it (looked for {}): association is TC-only (certificate trail only, no identity proof); install the server's group key and link it, e.g. ntpkey_iff_{server}",
                scheme_list(offered),
                looked_for.join(", ")
            ),
            AssocEvent::NoIdentityParameters {
                server,
                group,
                offered,
            } => write!(
                f,
                "server {server} offers identity scheme {} but there are no parameters for group {group} (ntpkey_iffpar_{group}, ntpkey_gqpar_{group}, ntpkey_mvpar_{group} or ntpkey_iff_{group}, ...): the association waits for identity; install the group key or remove `ident`",
                scheme_list(offered)
            ),
            AssocEvent::UntrustedTrail { server, root } => write!(
                f,
                "server {server}: the certificate trail cannot complete at {root}: its certificate is self-signed and not trusted (no trustRoot), and not signed by a trusted host; regenerate with -T on the trusted host (ntp-keygen -T ...)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_sentences() {
        let leap = AssocEvent::Leap(LeapValues {
            tai_offset: 37,
            era_start: 3_692_217_600,
            expiry: 3_960_057_600,
        });
        assert_eq!(
            leap.to_string(),
            "leap values: TAI offset 37 s, era start 3692217600, expiry 3960057600 (NTP seconds)"
        );
        let none = AssocEvent::Leap(LeapValues {
            tai_offset: 0,
            era_start: 0,
            expiry: 0,
        });
        assert_eq!(
            none.to_string(),
            "leap values: TAI offset 0 s (no leap table)"
        );
        assert_eq!(
            AssocEvent::Cookie(0xf93c_2a49).to_string(),
            "cookie f93c2a49 installed"
        );
        let rejected = AssocEvent::Rejected(AutokeyError::ErrorResponse {
            code: proto::exten::AutokeyCode::Cook,
        });
        assert_eq!(
            rejected.to_string(),
            "field refused: COOK error response from the peer"
        );
        let tc = AssocEvent::TcOnly {
            server: "server".into(),
            offered: vec![Scheme::Iff, Scheme::Mv],
            looked_for: vec!["server".into()],
        };
        let text = tc.to_string();
        assert!(text.contains("offers identity scheme IFF, MV"), "{text}");
        for e in [leap, none, rejected, tc] {
            let t = e.to_string();
            assert!(!t.contains('{') && !t.contains("Some("), "{t}");
        }
    }
}
