//! The host and sign key steps of an `ntp-keygen` run (brief §8.2), and
//! the `-M` symmetric keys file.

use openssl::dsa::Dsa;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;

use super::{crypto, KeygenError, Options, Run, PRIVATE_MODE};
use crate::error::KeyError;
use crate::hostkey::{HostKey, SignKey, SignKeyType};
use crate::identity::pkcs8_pem;
use crate::symkeys;

impl Run<'_> {
    /// `-M`: `ntpkey_MD5key_<group>.<fs>` linked as `ntp.keys`.
    pub(super) fn symmetric_keys(&mut self) -> Result<(), KeygenError> {
        let lines = symkeys::generate_lines()?;
        let group = self.group.clone();
        self.write_file(
            "MD5key",
            &group,
            &["ntp.keys".to_string()],
            &lines,
            PRIVATE_MODE,
        )?;
        Ok(())
    }

    /// The RSA host key: loaded, or generated when missing or with `-H`
    /// (which never reads, or needs to decrypt, the old key).
    pub(super) fn host_key(&mut self, opts: &Options) -> Result<PKey<Private>, KeygenError> {
        let host_name = format!("ntpkey_host_{}", self.host);
        let existing = if opts.host_key {
            None
        } else {
            self.load(std::slice::from_ref(&host_name))?
        };
        if let Some(found) = existing {
            say!(self, "Using host key {}", found.shown);
            let pkey = found
                .keys
                .into_iter()
                .next()
                .ok_or_else(|| KeyError::corrupt(&found.path, "no key"))?;
            return Ok(HostKey::from_pkey(&found.path, pkey)?.pkey);
        }
        say!(self, "Generating RSA keys ({} bits)...", opts.modulus);
        let rsa = Rsa::generate(opts.modulus).map_err(crypto("generating RSA host key"))?;
        let pkey = PKey::from_rsa(rsa).map_err(crypto("generating RSA host key"))?;
        let body = pkcs8_pem(&pkey, self.prot())?;
        let owner = self.host.clone();
        self.write_file(
            "RSAhost",
            &owner,
            std::slice::from_ref(&host_name),
            &body,
            PRIVATE_MODE,
        )?;
        Ok(pkey)
    }

    /// The sign key: generated with `-S`, else loaded if present; `None`
    /// means the host key signs.
    pub(super) fn sign_key(&mut self, opts: &Options) -> Result<Option<SignKey>, KeygenError> {
        let sign_name = format!("ntpkey_sign_{}", self.host);
        if let Some(kind) = opts.sign_key {
            say!(
                self,
                "Generating {kind} sign keys ({} bits)...",
                opts.modulus
            );
            let c = crypto("generating sign key");
            let (pkey, label) = match kind {
                SignKeyType::Rsa => (
                    PKey::from_rsa(Rsa::generate(opts.modulus).map_err(&c)?).map_err(&c)?,
                    "RSAsign",
                ),
                SignKeyType::Dsa => (
                    PKey::from_dsa(Dsa::generate(opts.modulus).map_err(&c)?).map_err(&c)?,
                    "DSAsign",
                ),
            };
            let body = pkcs8_pem(&pkey, self.prot())?;
            let owner = self.host.clone();
            self.write_file(label, &owner, &[sign_name], &body, PRIVATE_MODE)?;
            return Ok(Some(SignKey { pkey, kind }));
        }
        if let Some(found) = self.load(&[sign_name])? {
            say!(self, "Using sign key {}", found.shown);
            let pkey = found
                .keys
                .into_iter()
                .next()
                .ok_or_else(|| KeyError::corrupt(&found.path, "no key"))?;
            return Ok(Some(SignKey::from_pkey(&found.path, pkey)?));
        }
        say!(self, "Using host key as sign key");
        Ok(None)
    }
}
