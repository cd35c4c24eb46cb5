//! The host's certificate cache (brief §7.2): its own certificate, the
//! certificates received along trails and those issued to it by SIGN,
//! newest first, as `ntpq -c "rv 0 cert"` lists them.

use keystore::cert::CertRole;
use keystore::Certificate;

/// Trusted (trustRoot extension).
pub const CERT_TRUST: u8 = 0x01;
/// Verified by its issuer during a trail walk.
pub const CERT_SIGN: u8 = 0x02;
/// Installed from the network.
pub const CERT_VALID: u8 = 0x04;
/// Private certificate (PC scheme).
pub const CERT_PRIV: u8 = 0x08;
/// Marked bad.
pub const CERT_ERROR: u8 = 0x80;

/// Largest cache (brief §11.3 rule 15).
pub const MAX_CACHED_CERTS: usize = 32;

/// One cached certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedCert {
    /// Subject CN (`host` or `host@group`).
    pub subject: String,
    /// Issuer CN; equal to `subject` when self-signed.
    pub issuer: String,
    /// `CERT_*` bits: trusted, signed, private, error (brief §7.2).
    pub flags: u8,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// The certificate, DER-encoded as sent in CERT responses.
    pub der: Vec<u8>,
    /// Filestamp of the CERT value or key file it came from, NTP seconds; a
    /// newer one replaces an older entry (brief §7.2).
    pub filestamp: u32,
}

impl CachedCert {
    fn from_cert(c: &Certificate, flags: u8) -> Self {
        let role = match c.role {
            CertRole::TrustRoot => CERT_TRUST,
            CertRole::Private => CERT_PRIV,
            CertRole::Plain | CertRole::Other => 0,
        };
        CachedCert {
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            flags: flags | role,
            not_after: c.not_after,
            der: c.der.clone(),
            filestamp: c.filestamp,
        }
    }

    /// `until=` as ntpq shows it: notAfter as `YYYYMMDDhhmm` (UTC).
    pub fn until(&self) -> String {
        let days = self.not_after.div_euclid(86_400);
        let secs = self.not_after.rem_euclid(86_400);
        let (y, m, d) = proto::time::civil_from_days(days);
        format!(
            "{y:04}{m:02}{d:02}{:02}{:02}",
            secs / 3600,
            secs % 3600 / 60
        )
    }

    /// `cert="subject issuer 0xflags", until=...`.
    pub fn ntpq_entry(&self) -> String {
        format!(
            "cert=\"{} {} {:#x}\", until={}",
            self.subject,
            self.issuer,
            self.flags,
            self.until()
        )
    }
}

/// The cache, newest first.
#[derive(Debug, Clone, Default)]
pub struct CertCache {
    entries: Vec<CachedCert>,
}

impl CertCache {
    /// A cache holding the host's own certificate (not marked VALID).
    pub fn new(own: &Certificate) -> Self {
        CertCache {
            entries: vec![CachedCert::from_cert(own, 0)],
        }
    }

    /// Installs a certificate from the network (brief §7.2 step 4): an
    /// entry with the same subject and issuer is replaced only by a later
    /// filestamp; otherwise the new one goes to the head, marked VALID.
    /// Returns false if it was discarded.
    pub fn install(&mut self, cert: &Certificate) -> bool {
        let new = CachedCert::from_cert(cert, CERT_VALID);
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.subject == new.subject && e.issuer == new.issuer)
        {
            if new.filestamp <= self.entries[i].filestamp && self.entries[i].flags & CERT_VALID != 0
            {
                return false;
            }
            self.entries.remove(i);
        }
        self.entries.insert(0, new);
        self.entries.truncate(MAX_CACHED_CERTS);
        true
    }

    /// Marks the entry (subject, issuer) with `flag`.
    pub fn mark(&mut self, subject: &str, issuer: &str, flag: u8) {
        for e in &mut self.entries {
            if e.subject == subject && e.issuer == issuer {
                e.flags |= flag;
            }
        }
    }

    /// The certificate to answer a CERT request for `subject` with (brief
    /// §2.4): a trusted self-signed one, else the last one issued by
    /// another host; never private or erroneous ones.
    pub fn lookup(&self, subject: &str) -> Option<&CachedCert> {
        let usable = || {
            self.entries
                .iter()
                .filter(move |e| e.subject == subject && e.flags & (CERT_PRIV | CERT_ERROR) == 0)
        };
        usable()
            .find(|e| e.issuer == e.subject && e.flags & CERT_TRUST != 0)
            .or_else(|| usable().rfind(|e| e.issuer != e.subject))
    }

    /// All entries, newest first.
    pub fn entries(&self) -> &[CachedCert] {
        &self.entries
    }

    /// The `rv 0 cert` value list.
    pub fn ntpq_list(&self) -> String {
        self.entries
            .iter()
            .map(CachedCert::ntpq_entry)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_is_civil_utc() {
        let c = CachedCert {
            subject: "a".into(),
            issuer: "a".into(),
            flags: 5,
            // 2027-11-27 08:42:18 UTC
            not_after: 1_827_304_938,
            der: Vec::new(),
            filestamp: 0,
        };
        assert_eq!(c.until(), "202711270842");
        assert_eq!(c.ntpq_entry(), "cert=\"a a 0x5\", until=202711270842");
    }
}
