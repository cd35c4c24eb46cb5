//! The `ntp-keygen` program logic (brief §8): which files a run loads,
//! generates, links and exports, with the reference 4.2.8p18 names, header
//! lines and filestamps.
//!
//! Differences from the reference, all kept file-compatible:
//! - IFF and MV keys are written as traditional `DSA PRIVATE KEY` PEM so
//!   their public values survive (the reference's PKCS#8 loses them);
//! - GQ keys use the RSA slot layout 4.2.8 `ntpd` actually reads
//!   (u in e, b in d), which makes the reference compute the intended maths;
//! - `-V` also writes the MV server key file `ntpkey_mvkey_<group>` and
//!   the enabled client keys `ntpkey_MVkeyJ_<host>.<fs>` the guide links;
//!   without a trusted certificate (`-T`) it warns that MV cannot complete;
//! - a `-p`/`-q` password ending in punctuation is warned about (the
//!   guide's `-p serverpassword.`);
//! - identity files get links under the group name too, so later runs find
//!   them when host and group differ;
//! - private-key files are created 0600, certificates 0640;
//! - files are written to a temporary name, fsynced and renamed; links are
//!   replaced atomically;
//! - `-e` and `-q` work together;
//! - the old guide's password spelling (`-q` reads local files, `-p`
//!   encrypts exports) is accepted when the local files only decrypt that way.

macro_rules! say {
    ($run:expr, $($arg:tt)*) => {{
        let _ = writeln!($run.log, $($arg)*);
    }};
}

pub mod args;
mod certificate;
mod identities;
mod keys;
mod names;
pub mod usage;

use std::io::Write;
use std::path::PathBuf;

use openssl::asn1::Asn1Object;
use openssl::pkey::{PKey, Private};
use openssl::symm::Cipher;

use crate::cert::CertRole;
use crate::error::KeyError;
use crate::header;
use crate::identity::Protection;
use crate::keysdir::read_file;
use crate::pem;
use crate::write::{atomic_symlink, atomic_write};

pub use args::{Options, UsageError};

/// Mode of files holding private keys.
pub const PRIVATE_MODE: u32 = 0o600;
/// Mode of certificate files (the reference's 0640).
pub const CERT_MODE: u32 = 0o640;

/// Where and when a run happens.
#[derive(Debug, Clone)]
pub struct Env {
    /// The keys directory (the reference uses the current directory).
    pub dir: PathBuf,
    /// `gethostname()`.
    pub hostname: String,
    /// Start time of the run, Unix seconds.
    pub now_unix: u64,
}

/// Why a run failed; renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// A key file could not be read, generated or written.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The command line is invalid.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Printing exported parameters or a key to stdout failed.
    #[error("writing to stdout: {0}")]
    Stdout(std::io::Error),
}

/// Which meaning `-p` and `-q` have in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordMeaning {
    /// 4.2.8: `-p` reads and writes local files, `-q` encrypts `-q` exports.
    Ntp428,
    /// The "Configuring Autokey" guide: `-q` reads (and here also writes)
    /// local files, `-p` encrypts the `-e` export.
    Guide,
}

fn cipher_by_name(name: &str) -> Result<Cipher, UsageError> {
    Asn1Object::from_str(name)
        .ok()
        .and_then(|o| Cipher::from_nid(o.nid()))
        .filter(|c| c.iv_len().is_some())
        .ok_or_else(|| {
            UsageError(format!(
                "-C {name}: unknown cipher; use e.g. des-ede3-cbc or aes-256-cbc"
            ))
        })
}

fn crypto(context: &str) -> impl Fn(openssl::error::ErrorStack) -> KeyError + '_ {
    move |e| KeyError::crypto(context, e)
}

/// A loaded private-key file.
struct Found {
    path: PathBuf,
    keys: Vec<PKey<Private>>,
    /// The file the link points at (for messages).
    shown: String,
}

pub(crate) struct Run<'a> {
    dir: PathBuf,
    host: String,
    group: String,
    subject: String,
    fstamp: u32,
    now: u64,
    read_pw: String,
    cipher: Cipher,
    /// Password for `-q` exports of server keys.
    q_export: Option<String>,
    /// Password for the `-e` export (guide meaning), else unencrypted.
    e_export: Option<String>,
    debug: u32,
    log: &'a mut dyn Write,
    out: &'a mut dyn Write,
}

impl Run<'_> {
    fn prot(&self) -> Option<Protection<'_>> {
        Some(Protection {
            cipher: self.cipher,
            password: &self.read_pw,
        })
    }

    /// Loads the first existing file among `names`, all its keys decrypted.
    fn load(&mut self, names: &[String]) -> Result<Option<Found>, KeyError> {
        for name in names {
            let path = self.dir.join(name);
            let Some(text) = read_file(&path)? else {
                continue;
            };
            let filestamp = header::parse_filestamp(&path, &text)?;
            let keys = pem::private_keys(&path, &text, Some(&self.read_pw))?;
            let shown = std::fs::read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| name.clone());
            // Filestamp inheritance (brief §8.3).
            self.fstamp = filestamp;
            return Ok(Some(Found { path, keys, shown }));
        }
        Ok(None)
    }

    /// Writes `ntpkey_<kind>_<owner>.<fs>` and links `links` to it.
    fn write_file(
        &mut self,
        kind: &str,
        owner: &str,
        links: &[String],
        body: &str,
        mode: u32,
    ) -> Result<String, KeyError> {
        let file = header::file_name(kind, owner, self.fstamp);
        let text = format!("{}{}", header::render(&file, self.now), body);
        atomic_write(&self.dir, &file, text.as_bytes(), mode)?;
        let mut done: Vec<&String> = Vec::new();
        for link in links {
            if done.contains(&link) {
                continue;
            }
            atomic_symlink(&self.dir, link, &file)?;
            done.push(link);
        }
        if let Some(first) = links.first() {
            let kind_link = first
                .strip_prefix("ntpkey_")
                .and_then(|l| l.rsplit_once('_'))
                .map(|(k, _)| k.to_string())
                .unwrap_or_else(|| first.clone());
            say!(self, "Generating new {kind_link} file and link");
            for link in done {
                say!(self, "{link}->{file}");
            }
        }
        Ok(file)
    }

    /// Writes one export block to stdout.
    fn export(&mut self, what: &str, kind: &str, body: &str) -> Result<(), KeygenError> {
        let name = header::file_name(kind, &self.group, self.fstamp);
        say!(self, "Writing {what} {name} to stdout");
        let text = format!("{}{}", header::render(&name, self.now), body);
        self.out
            .write_all(text.as_bytes())
            .map_err(KeygenError::Stdout)
    }

    fn identity_links(&self, kind: &str) -> Vec<String> {
        vec![
            format!("ntpkey_{kind}_{}", self.host),
            format!("ntpkey_{kind}_{}", self.group),
        ]
    }

    fn identity_names(&self, kind: &str) -> Vec<String> {
        vec![
            format!("ntpkey_{kind}_{}", self.group),
            format!("ntpkey_{kind}_{}", self.host),
        ]
    }

    fn e_prot(&self) -> Option<Protection<'_>> {
        self.e_export.as_deref().map(|password| Protection {
            cipher: self.cipher,
            password,
        })
    }

    fn q_prot(&self) -> Option<Protection<'_>> {
        self.q_export.as_deref().map(|password| Protection {
            cipher: self.cipher,
            password,
        })
    }

    fn dump(&mut self, label: &str, value: &openssl::bn::BigNumRef) {
        if self.debug > 0 {
            let hex = value
                .to_hex_str()
                .map(|s| s.to_string())
                .unwrap_or_default();
            say!(self, "{label}: {hex}");
        }
    }
}

/// Runs `ntp-keygen` with `opts` in `env.dir`. Export blocks go to `out`,
/// progress lines to `log`. The steps follow the reference's order (brief
/// §8.3 filestamp inheritance): host key, sign key, GQ, IFF, MV,
/// certificate.
pub fn run(
    opts: &Options,
    env: &Env,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> Result<(), KeygenError> {
    let cipher = cipher_by_name(&opts.cipher)?;
    let n = names::resolve(opts, env)?;
    let (scheme, digest) = names::certificate_scheme(opts, env, &n.host)?;
    let _ = writeln!(log, "Using OpenSSL version {}", openssl::version::version());
    let _ = writeln!(log, "Using host {} group {}", n.host, n.group);
    names::warn_trailing_punctuation(opts, log);
    let pw = names::passwords(opts, env, &n, log);
    let mut run = Run {
        dir: env.dir.clone(),
        host: n.host,
        group: n.group,
        subject: n.subject,
        fstamp: header::ntp_seconds(env.now_unix),
        now: env.now_unix,
        read_pw: pw.read,
        cipher,
        q_export: pw.q_export,
        e_export: pw.e_export,
        debug: opts.debug,
        log,
        out,
    };
    if opts.md5 {
        return run.symmetric_keys();
    }
    let host_key = run.host_key(opts)?;
    let sign_key = run.sign_key(opts)?;
    let gq = run.gq(opts)?;
    let iff = run.iff(opts)?;
    let mv = run.mv(opts)?;
    run.nothing_to_export(opts, gq.is_some() || iff.is_some() || mv.is_some());
    if pw.meaning == PasswordMeaning::Guide && opts.export_params && run.e_export.is_some() {
        say!(run, "ntp-keygen: note: the -e export is encrypted with the -p password (the guide's form); 4.2.8 ntpd reads only unencrypted parameter files, this ntpd reads both");
    }
    let signer = sign_key.as_ref().map(|s| &s.pkey).unwrap_or(&host_key);
    let role = run.certificate(opts, &scheme, digest, signer, gq.as_ref())?;
    if mv.is_some() && opts.mv.is_some() && !matches!(role, CertRole::TrustRoot) {
        say!(run, "ntp-keygen: warning: the certificate is not trusted (no -T): MV clients need a trusted certificate trail and will never complete; regenerate with -T on the trusted host (ntp-keygen -T -V N -p PW)");
    }
    Ok(())
}
