//! Which identity parameters a client uses for a server (RFC 5906 §6;
//! brief §6.5, §9.2): with `ident GROUP`, the parameters loaded for GROUP;
//! without it, the parameters installed under one of the server's names
//! (the "Configuring Autokey" guide's `ntpkey_iff_<server>` links, or
//! `ntpkey_<scheme>par_<server>`), for the first scheme the server offers
//! that the client has parameters for (order IFF, GQ, MV).

use keystore::Scheme;

use super::IdentitySource;
use crate::status;

/// Client identity parameters installed under a name (the server's host
/// name or group), with the file they were read from (for log lines).
#[derive(Debug)]
pub struct NamedIdentity {
    /// The name in the link (`server` of `ntpkey_iff_server`).
    pub name: String,
    /// The file (link) it was loaded from, as the operator wrote it.
    pub file: String,
    /// The parameters themselves.
    pub source: IdentitySource,
}

impl NamedIdentity {
    /// A copy, e.g. for each association without `ident`.
    pub fn try_clone(&self) -> Result<Self, keystore::KeyError> {
        Ok(NamedIdentity {
            name: self.name.clone(),
            file: self.file.clone(),
            source: self.source.try_clone()?,
        })
    }
}

/// The schemes a status word offers, in the order they are tried.
pub fn offered_schemes(status_bits: u32) -> Vec<Scheme> {
    [
        (status::IFF, Scheme::Iff),
        (status::GQ, Scheme::Gq),
        (status::MV, Scheme::Mv),
    ]
    .into_iter()
    .filter(|(bit, _)| status_bits & bit != 0)
    .map(|(_, s)| s)
    .collect()
}

/// The names parameters are looked up under for a server: its ASSOC host
/// name and the subject of the trusted certificate that ends its trail,
/// each also split at `@` into host and group (`host@group` subjects).
pub fn lookup_names(server: &str, trusted: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for full in std::iter::once(server).chain(trusted) {
        let mut add = |n: &str| {
            if !n.is_empty() && !out.iter().any(|o| o == n) {
                out.push(n.to_string());
            }
        };
        add(full);
        if let Some((h, g)) = full.split_once('@') {
            add(h);
            add(g);
        }
    }
    out
}

/// Takes the parameters of the first offered scheme out of `own` (those
/// loaded for `ident`).
pub fn take_own(offered: &[Scheme], own: &mut Vec<IdentitySource>) -> Option<IdentitySource> {
    offered.iter().find_map(|s| {
        let pos = own.iter().position(|i| i.scheme() == *s)?;
        Some(own.remove(pos))
    })
}

/// Takes the parameters of the first offered scheme installed under one of
/// `names` out of `named`.
pub fn take_named(
    offered: &[Scheme],
    names: &[String],
    named: &mut Vec<NamedIdentity>,
) -> Option<NamedIdentity> {
    offered.iter().find_map(|s| {
        let pos = named
            .iter()
            .position(|n| n.source.scheme() == *s && names.contains(&n.name))?;
        Some(named.remove(pos))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_schemes_in_trial_order() {
        assert_eq!(
            offered_schemes(status::MV | status::IFF | status::ENAB),
            [Scheme::Iff, Scheme::Mv]
        );
        assert!(offered_schemes(status::ENAB | status::TAI).is_empty());
    }

    #[test]
    fn names_include_host_and_group_parts() {
        assert_eq!(lookup_names("server", Some("server")), ["server"]);
        assert_eq!(
            lookup_names("alice@grp", Some("ta")),
            ["alice@grp", "alice", "grp", "ta"]
        );
    }
}
