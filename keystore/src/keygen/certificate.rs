//! The certificate step of every `ntp-keygen` run (brief §7, §8.2): a new
//! self-signed certificate, keeping the old one's trustRoot/private role
//! and subject unless `-T` or `-P` says otherwise.

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};

use super::{crypto, KeygenError, Options, Run, CERT_MODE};
use crate::cert::{self, CertRole, Certificate, CertificateSpec};
use crate::error::KeyError;
use crate::header;
use crate::identity::gq::GqKey;
use crate::keysdir::read_file;

impl Run<'_> {
    /// The old certificate, if it reads (its filestamp is inherited).
    fn old_certificate(&mut self, name: &str) -> Result<Option<Certificate>, KeygenError> {
        let path = self.dir.join(name);
        match read_file(&path)? {
            Some(text) => match Certificate::from_file_text(&path, &text) {
                Ok(c) => {
                    self.fstamp = c.filestamp;
                    Ok(Some(c))
                }
                Err(e) => {
                    say!(self, "ntp-keygen: warning: ignoring old certificate: {e}");
                    Ok(None)
                }
            },
            None => Ok(None),
        }
    }

    /// Writes `ntpkey_<scheme>cert_<host>.<fs>`; returns its role.
    pub(super) fn certificate(
        &mut self,
        opts: &Options,
        scheme: &str,
        digest: MessageDigest,
        signer: &PKey<Private>,
        gq: Option<&GqKey>,
    ) -> Result<CertRole, KeygenError> {
        let cert_name = format!("ntpkey_cert_{}", self.host);
        let old = self.old_certificate(&cert_name)?;
        let mut subject = self.subject.clone();
        let role = if opts.trusted {
            CertRole::TrustRoot
        } else if opts.private_cert {
            CertRole::Private
        } else {
            match &old {
                Some(c) if matches!(c.role, CertRole::TrustRoot | CertRole::Private) => {
                    subject = c.subject.clone();
                    c.role.clone()
                }
                _ => CertRole::Plain,
            }
        };
        say!(self, "Generating new certificate {subject} {scheme}");
        let gq_public = gq.map(|k| k.public_octets());
        let spec = CertificateSpec {
            subject: &subject,
            issuer: &subject,
            serial: header::ntp_seconds(self.now),
            not_before_unix: self.now as i64,
            lifetime_days: opts.lifetime,
            role: role.clone(),
            gq_public: gq_public.as_deref(),
            digest,
        };
        let x509 = cert::build_certificate(&spec, signer, signer).map_err(|e| {
            KeyError::crypto(format!("signing the certificate with {scheme} (a DSA sign key needs -c RSA-SHA1 or -c RSA-SHA256)"), e)
        })?;
        say!(self, "X509v3 Basic Constraints: critical,CA:TRUE");
        say!(self, "X509v3 Key Usage: digitalSignature,keyCertSign");
        if gq_public.is_some() {
            say!(self, "X509v3 Subject Key Identifier");
        }
        match role {
            CertRole::TrustRoot => say!(self, "X509v3 Extended Key Usage: trustRoot"),
            CertRole::Private => say!(self, "X509v3 Extended Key Usage: private"),
            _ => {}
        }
        let pem_bytes = x509.to_pem().map_err(crypto("encoding certificate"))?;
        let body = String::from_utf8_lossy(&pem_bytes).into_owned();
        let owner = self.host.clone();
        self.write_file(
            &format!("{scheme}cert"),
            &owner,
            &[cert_name],
            &body,
            CERT_MODE,
        )?;
        Ok(role)
    }
}
