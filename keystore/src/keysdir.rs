//! Finding and loading key files in a keys directory (`keysdir`) by the
//! names the reference `ntpd` 4.2.8 uses (brief §8.2, §9.2), plus the older
//! names of the "Configuring Autokey" guide (`ntpkey_iff_<server>`, ...).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use openssl::pkey::{PKey, Private};

use crate::cert::Certificate;
use crate::error::{KeyError, Result};
use crate::header;
use crate::hostkey::{HostKey, SignKey};
use crate::identity::gq::{GqKey, GqParams};
use crate::identity::iff::{IffKey, IffParams};
use crate::identity::mv::{MvAuthority, MvClientKey, MvServerKey};
use crate::identity::Scheme;
use crate::pem;

/// A value read from a key file, with the file's filestamp.
#[derive(Debug)]
pub struct Loaded<T> {
    /// The parsed key, certificate or parameters.
    pub value: T,
    /// Filestamp from the first line of the file (brief §8.3).
    pub filestamp: u32,
    /// The name it was found under (usually a symlink).
    pub path: PathBuf,
}

/// A keys directory.
#[derive(Debug, Clone)]
pub struct Keysdir {
    dir: PathBuf,
}

/// Link names of the server identity keys (`ntpkey_<x>key_<ident>`).
fn server_link(scheme: Scheme, name: &str) -> String {
    match scheme {
        Scheme::Iff => format!("ntpkey_iffkey_{name}"),
        Scheme::Gq => format!("ntpkey_gqkey_{name}"),
        Scheme::Mv => format!("ntpkey_mvkey_{name}"),
    }
}

/// Names a client's parameter file is looked up under: 4.2.8's
/// `ntpkey_<x>par_<group>`, then the guide's `ntpkey_<x>_<group>`.
pub fn client_links(scheme: Scheme, group: &str) -> [String; 2] {
    let s = match scheme {
        Scheme::Iff => "iff",
        Scheme::Gq => "gq",
        Scheme::Mv => "mv",
    };
    [
        format!("ntpkey_{s}par_{group}"),
        format!("ntpkey_{s}_{group}"),
    ]
}

/// A client parameter link found in a keys directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLink {
    /// IFF, GQ or MV, from the `ntpkey_<scheme>_…` or `ntpkey_<scheme>par_…` name.
    pub scheme: Scheme,
    /// The server or group name after the scheme (`server` of
    /// `ntpkey_iff_server`).
    pub name: String,
}

/// `ntpkey_iffpar_NAME`, `ntpkey_iff_NAME`, ... (not the server keys
/// `ntpkey_iffkey_NAME`, nor dated file names `ntpkey_IFFpar_NAME.FS`).
pub fn parse_client_link(file: &str) -> Option<(Scheme, &str)> {
    let rest = file.strip_prefix("ntpkey_")?;
    [("iff", Scheme::Iff), ("gq", Scheme::Gq), ("mv", Scheme::Mv)]
        .into_iter()
        .find_map(|(s, scheme)| {
            let tail = rest.strip_prefix(s)?;
            let name = tail
                .strip_prefix("par_")
                .or_else(|| tail.strip_prefix('_'))?;
            let dated = name
                .rsplit_once('.')
                .is_some_and(|(_, fs)| !fs.is_empty() && fs.bytes().all(|b| b.is_ascii_digit()));
            (!name.is_empty() && !dated).then_some((scheme, name))
        })
}

/// A parameter file that does not decrypt with the password given says
/// which password it needs.
fn client_password(e: KeyError, scheme: Scheme) -> KeyError {
    match e {
        KeyError::WrongPassword { path } => KeyError::ClientPassword {
            path,
            scheme,
            gq: if scheme == Scheme::Gq {
                "; a copied ntpkey_GQkey file needs the same crypto pw on all members of the group"
            } else {
                ""
            },
        },
        other => other,
    }
}

/// Reads a key file; `Ok(None)` when no such directory entry exists.
pub fn read_file(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| KeyError::corrupt(path, "not a text (PEM) file")),
        Err(e) if e.kind() == ErrorKind::NotFound => match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => Err(KeyError::DanglingLink {
                link: path.to_path_buf(),
                target: fs::read_link(path).unwrap_or_default(),
            }),
            _ => Ok(None),
        },
        Err(e) => Err(KeyError::io(path, e)),
    }
}

impl Keysdir {
    /// A keys directory at `dir` (`crypto keysdir`); nothing is read yet.
    pub fn new(dir: impl Into<PathBuf>) -> Keysdir {
        Keysdir { dir: dir.into() }
    }

    /// The directory searched.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The first of `names` that exists, with its text.
    fn find(&self, names: &[String]) -> Result<Option<(PathBuf, String)>> {
        for name in names {
            let path = self.dir.join(name);
            if let Some(text) = read_file(&path)? {
                return Ok(Some((path, text)));
            }
        }
        Ok(None)
    }

    fn require(&self, what: &'static str, names: &[String]) -> Result<(PathBuf, String)> {
        self.find(names)?.ok_or_else(|| KeyError::NotFound {
            what,
            dir: self.dir.clone(),
            tried: names.join(", "),
        })
    }

    /// First private key of a file, plus its filestamp.
    fn first_key(path: &Path, text: &str, pw: Option<&str>) -> Result<(PKey<Private>, u32)> {
        let filestamp = header::parse_filestamp(path, text)?;
        let mut keys = pem::private_keys(path, text, pw)?;
        Ok((keys.swap_remove(0), filestamp))
    }

    fn load<T>(
        path: PathBuf,
        text: &str,
        pw: Option<&str>,
        f: impl FnOnce(&Path, PKey<Private>) -> Result<T>,
    ) -> Result<Loaded<T>> {
        let (pkey, filestamp) = Self::first_key(&path, text, pw)?;
        Ok(Loaded {
            value: f(&path, pkey)?,
            filestamp,
            path,
        })
    }

    /// `ntpkey_host_<host>`: required RSA host key.
    pub fn host_key(&self, host: &str, pw: Option<&str>) -> Result<Loaded<HostKey>> {
        let (path, text) = self.require("host key", &[format!("ntpkey_host_{host}")])?;
        Self::load(path, &text, pw, HostKey::from_pkey)
    }

    /// `ntpkey_sign_<host>`: optional RSA or DSA sign key.
    pub fn sign_key(&self, host: &str, pw: Option<&str>) -> Result<Option<Loaded<SignKey>>> {
        match self.find(&[format!("ntpkey_sign_{host}")])? {
            Some((path, text)) => Self::load(path, &text, pw, SignKey::from_pkey).map(Some),
            None => Ok(None),
        }
    }

    /// `ntpkey_cert_<host>`: required certificate.
    pub fn certificate(&self, host: &str) -> Result<Certificate> {
        let (path, text) = self.require("certificate", &[format!("ntpkey_cert_{host}")])?;
        Certificate::from_file_text(&path, &text)
    }

    /// `ntpkey_iffkey_<ident>`: optional server IFF key.
    pub fn iff_key(&self, ident: &str, pw: Option<&str>) -> Result<Option<Loaded<IffKey>>> {
        match self.find(&[server_link(Scheme::Iff, ident)])? {
            Some((path, text)) => {
                Self::load(path, &text, pw, |p, k| IffKey::from_pkey(p, &k)).map(Some)
            }
            None => Ok(None),
        }
    }

    /// `ntpkey_gqkey_<ident>`: optional server GQ key.
    pub fn gq_key(&self, ident: &str, pw: Option<&str>) -> Result<Option<Loaded<GqKey>>> {
        match self.find(&[server_link(Scheme::Gq, ident)])? {
            Some((path, text)) => {
                Self::load(path, &text, pw, |p, k| GqKey::from_pkey(p, &k)).map(Some)
            }
            None => Ok(None),
        }
    }

    /// `ntpkey_mvkey_<ident>`: optional server MV key.
    pub fn mv_key(&self, ident: &str, pw: Option<&str>) -> Result<Option<Loaded<MvServerKey>>> {
        match self.find(&[server_link(Scheme::Mv, ident)])? {
            Some((path, text)) => {
                Self::load(path, &text, pw, |p, k| MvServerKey::from_pkey(p, &k)).map(Some)
            }
            None => Ok(None),
        }
    }

    /// `ntpkey_mvta_<group>`: the MV trusted-authority file.
    pub fn mv_authority(
        &self,
        group: &str,
        pw: Option<&str>,
    ) -> Result<Option<Loaded<MvAuthority>>> {
        let Some((path, text)) = self.find(&[format!("ntpkey_mvta_{group}")])? else {
            return Ok(None);
        };
        let filestamp = header::parse_filestamp(&path, &text)?;
        let keys = pem::private_keys(&path, &text, pw)?;
        let value = MvAuthority::from_pkeys(&path, &keys)?;
        Ok(Some(Loaded {
            value,
            filestamp,
            path,
        }))
    }

    /// Client IFF parameters for `group`. The file may be unencrypted
    /// (4.2.8's `-e` export) or encrypted with `pw` (the guide's export).
    pub fn iff_params(&self, group: &str, pw: Option<&str>) -> Result<Loaded<IffParams>> {
        let (path, text) =
            self.require("IFF client parameters", &client_links(Scheme::Iff, group))?;
        Self::load(path, &text, pw, |p, k| IffParams::from_pkey(p, &k))
            .map_err(|e| client_password(e, Scheme::Iff))
    }

    /// Client GQ parameters for `group`.
    pub fn gq_params(&self, group: &str, pw: Option<&str>) -> Result<Loaded<GqParams>> {
        let (path, text) =
            self.require("GQ client parameters", &client_links(Scheme::Gq, group))?;
        Self::load(path, &text, pw, |p, k| GqParams::from_pkey(p, &k))
            .map_err(|e| client_password(e, Scheme::Gq))
    }

    /// Client MV key for `group`.
    pub fn mv_client(&self, group: &str, pw: Option<&str>) -> Result<Loaded<MvClientKey>> {
        let (path, text) = self.require("MV client key", &client_links(Scheme::Mv, group))?;
        Self::load(path, &text, pw, |p, k| MvClientKey::from_pkey(p, &k))
            .map_err(|e| client_password(e, Scheme::Mv))
    }

    /// Every client parameter link in the directory (`ntpkey_<x>par_<name>`
    /// and the guide's `ntpkey_<x>_<name>`), one per scheme and name, sorted.
    /// The name is the server (or group) the parameters are for.
    pub fn client_parameter_links(&self) -> Result<Vec<ClientLink>> {
        let entries = fs::read_dir(&self.dir).map_err(|e| KeyError::io(&self.dir, e))?;
        let mut out: Vec<ClientLink> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| KeyError::io(&self.dir, e))?;
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            let Some((scheme, name)) = parse_client_link(file) else {
                continue;
            };
            if !out.iter().any(|l| l.scheme == scheme && l.name == name) {
                out.push(ClientLink {
                    scheme,
                    name: name.to_string(),
                });
            }
        }
        out.sort_by(|a, b| (&a.name, a.scheme as u8).cmp(&(&b.name, b.scheme as u8)));
        Ok(out)
    }

    /// Everything `ntpd` loads at start-up for `host` (brief §9.2), checked:
    /// certificate self-signed and carrying the sign key, the GQ public key
    /// in the certificate when GQ keys are present.
    pub fn host_set(&self, host: &str, ident: &str, pw: Option<&str>) -> Result<HostSet> {
        let host_key = self.host_key(host, pw)?;
        let sign_key = self.sign_key(host, pw)?;
        let cert = self.certificate(host)?;
        cert.check_structure()?;
        if !cert.is_self_signed() {
            return Err(KeyError::BadCertificate {
                path: cert.path.clone(),
                what: "certificate is not self-signed; regenerate it with ntp-keygen".into(),
            });
        }
        match &sign_key {
            Some(s) => cert.check_key(&s.value.pkey, &s.path)?,
            None => cert.check_key(&host_key.value.pkey, &host_key.path)?,
        }
        let iff = self.iff_key(ident, pw)?;
        let gq = self.gq_key(ident, pw)?;
        let mv = self.mv_key(ident, pw)?;
        if let Some(gq) = &gq {
            if cert.subject_key_id.as_deref() != Some(gq.value.public_octets().as_slice()) {
                return Err(KeyError::BadCertificate {
                    path: cert.path.clone(),
                    what: format!(
                        "subjectKeyIdentifier is not the GQ public key of {}; regenerate the certificate with ntp-keygen",
                        gq.path.display()
                    ),
                });
            }
        }
        Ok(HostSet {
            host_key,
            sign_key,
            cert,
            iff,
            gq,
            mv,
        })
    }
}

/// The keys a server or client host loads at start-up.
#[derive(Debug)]
pub struct HostSet {
    /// The RSA host key (`ntpkey_host_<host>`); decrypts cookies (brief §5.3).
    pub host_key: Loaded<HostKey>,
    /// The separate sign key (`ntpkey_sign_<host>`), if any; else the host key signs.
    pub sign_key: Option<Loaded<SignKey>>,
    /// The host certificate (`ntpkey_cert_<host>`, brief §7.1).
    pub cert: Certificate,
    /// The IFF server key (group key b), if present (brief §6.2).
    pub iff: Option<Loaded<IffKey>>,
    /// The GQ server key (private key u), if present (brief §6.3).
    pub gq: Option<Loaded<GqKey>>,
    /// The MV server key (`ntpkey_mvkey_<group>`), if present (brief §6.4).
    pub mv: Option<Loaded<MvServerKey>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_links_are_told_from_server_keys_and_dated_files() {
        assert_eq!(
            parse_client_link("ntpkey_iff_server"),
            Some((Scheme::Iff, "server"))
        );
        assert_eq!(
            parse_client_link("ntpkey_gqpar_ntp.example.com"),
            Some((Scheme::Gq, "ntp.example.com"))
        );
        assert_eq!(
            parse_client_link("ntpkey_mv_alice@grp"),
            Some((Scheme::Mv, "alice@grp"))
        );
        for not in [
            "ntpkey_iffkey_server",
            "ntpkey_gqkey_server",
            "ntpkey_mvkey_server",
            "ntpkey_mvta_server",
            "ntpkey_host_server",
            "ntpkey_iffpar_server.3301264563",
            "ntpkey_MVkey1_server.3301144193",
            "ntpkey_iff_",
        ] {
            assert_eq!(parse_client_link(not), None, "{not}");
        }
    }
}
