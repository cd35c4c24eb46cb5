//! The `ntp-keygen` program logic (brief §8): which files a run loads,
//! generates, links and exports, with the reference 4.2.8p18 names, header
//! lines and filestamps.
//!
//! Differences from the reference, all kept file-compatible:
//! - IFF and MV keys are written as traditional `DSA PRIVATE KEY` PEM so
//!   their public values survive (the reference's PKCS#8 loses them);
//! - GQ keys use the RSA slot layout 4.2.8 `ntpd` actually reads
//!   (u in e, b in d), which makes the reference compute the intended maths;
//! - `-V` also writes the MV server key file `ntpkey_mvkey_<group>`;
//! - identity files get links under the group name too, so later runs find
//!   them when host and group differ;
//! - private-key files are created 0600, certificates 0640;
//! - files are written to a temporary name, fsynced and renamed; links are
//!   replaced atomically;
//! - `-e` and `-q` work together;
//! - the old guide's password spelling (`-q` reads local files, `-p`
//!   encrypts exports) is accepted when the local files only decrypt that way.

pub mod args;

use std::io::Write;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Object;
use openssl::dsa::Dsa;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::symm::Cipher;

use crate::cert::{self, CertRole, Certificate, CertificateSpec};
use crate::error::KeyError;
use crate::header;
use crate::hostkey::{HostKey, SignKey, SignKeyType};
use crate::identity::gq::GqKey;
use crate::identity::iff::IffKey;
use crate::identity::mv::MvAuthority;
use crate::identity::{pkcs8_pem, Protection};
use crate::keysdir::read_file;
use crate::pem;
use crate::symkeys;
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
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Usage(#[from] UsageError),
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

struct Run<'a> {
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

macro_rules! say {
    ($run:expr, $($arg:tt)*) => {{
        let _ = writeln!($run.log, $($arg)*);
    }};
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

/// Tries each encrypted local file with `pw`; `Some(true)` if the first
/// encrypted one decrypts, `None` if there is none.
fn probe_password(dir: &Path, names: &[String], pw: &str) -> Option<bool> {
    for name in names {
        let path = dir.join(name);
        let Ok(Some(text)) = read_file(&path) else {
            continue;
        };
        let Some(block) = pem::blocks(&text).into_iter().find(|b| b.is_encrypted()) else {
            continue;
        };
        return Some(pem::private_key(&path, &block, Some(pw)).is_ok());
    }
    None
}

/// Runs `ntp-keygen` with `opts` in `env.dir`. Export blocks go to `out`,
/// progress lines to `log`.
pub fn run(
    opts: &Options,
    env: &Env,
    out: &mut dyn Write,
    log: &mut dyn Write,
) -> Result<(), KeygenError> {
    let cipher = cipher_by_name(&opts.cipher)?;
    // Names (brief §8.1, fixtures README "Host and group names").
    let mut host = env.hostname.clone();
    let mut group = env.hostname.clone();
    let mut group_explicit = false;
    if let Some(s) = &opts.subject {
        match s.split_once('@') {
            Some((h, g)) => {
                if !h.is_empty() {
                    host = h.to_string();
                }
                group = g.to_string();
                group_explicit = true;
            }
            None => host = s.clone(),
        }
    }
    if let Some(i) = &opts.ident {
        group = i.clone();
        group_explicit = true;
    }
    if host.is_empty() || group.is_empty() || host.contains('/') || group.contains('/') {
        return Err(UsageError(format!("bad host or group name {host:?}@{group:?}")).into());
    }
    let subject = if group_explicit {
        format!("{host}@{group}")
    } else {
        host.clone()
    };
    // The certificate scheme is checked before anything is written: -c, or
    // the old certificate's, or RSA-MD5.
    let old_scheme = read_file(&env.dir.join(format!("ntpkey_cert_{host}")))
        .ok()
        .flatten()
        .and_then(|t| Certificate::from_file_text(Path::new("old certificate"), &t).ok())
        .map(|c| c.scheme)
        .filter(|s| cert::SCHEMES.contains(&s.as_str()));
    let scheme = match &opts.scheme {
        Some(arg) => cert::normalise_scheme(arg)
            .ok_or_else(|| {
                UsageError(format!(
                    "-c {arg}: unknown scheme; use one of {}",
                    cert::SCHEMES.join(", ")
                ))
            })?
            .to_string(),
        None => old_scheme.unwrap_or_else(|| "RSA-MD5".to_string()),
    };
    let digest = cert::scheme_digest(&scheme)
        .ok_or_else(|| UsageError(format!("-c {scheme}: digest not available in this OpenSSL")))?;
    if opts.sign_key == Some(SignKeyType::Dsa) && digest.type_() == openssl::nid::Nid::MD5 {
        return Err(UsageError(format!(
            "-S DSA: a DSA sign key cannot sign with {scheme}; add -c RSA-SHA1 or -c RSA-SHA256 (4.2.8 ntpd cannot use DSA-signed certificates)"
        ))
        .into());
    }
    let fstamp = header::ntp_seconds(env.now_unix);
    let _ = writeln!(log, "Using OpenSSL version {}", openssl::version::version());
    let _ = writeln!(log, "Using host {host} group {group}");

    // Which password meaning (issue: the guide's spelling must work).
    let local_pw = opts
        .password
        .clone()
        .unwrap_or_else(|| env.hostname.clone());
    let probe_names = [
        format!("ntpkey_host_{host}"),
        format!("ntpkey_sign_{host}"),
        format!("ntpkey_gqkey_{group}"),
        format!("ntpkey_iffkey_{group}"),
        format!("ntpkey_mvta_{group}"),
    ];
    let meaning = match &opts.export_password {
        Some(q)
            if q != &local_pw
                && probe_password(&env.dir, &probe_names, &local_pw) == Some(false)
                && probe_password(&env.dir, &probe_names, q) == Some(true) =>
        {
            let _ = writeln!(
                log,
                "ntp-keygen: the local keys decrypt with the -q password, not the -p one: using the Configuring Autokey guide's meaning (-q = local password, -p = password of the -e export)"
            );
            PasswordMeaning::Guide
        }
        Some(_)
            if opts.password.is_none()
                && probe_password(&env.dir, &probe_names, &local_pw).is_none() =>
        {
            let _ = writeln!(
                log,
                "ntp-keygen: note: no local keys yet; new files are encrypted with -p (default: the host name) and -q only encrypts the export on stdout"
            );
            PasswordMeaning::Ntp428
        }
        _ => PasswordMeaning::Ntp428,
    };
    let (read_pw, q_export, e_export) = match meaning {
        PasswordMeaning::Ntp428 => (local_pw, opts.export_password.clone(), None),
        PasswordMeaning::Guide => (
            opts.export_password.clone().unwrap_or_default(),
            None,
            opts.password.clone(),
        ),
    };

    let mut run = Run {
        dir: env.dir.clone(),
        host,
        group,
        subject,
        fstamp,
        now: env.now_unix,
        read_pw,
        cipher,
        q_export,
        e_export,
        debug: opts.debug,
        log,
        out,
    };

    if opts.md5 {
        let lines = symkeys::generate_lines()?;
        let group = run.group.clone();
        run.write_file(
            "MD5key",
            &group,
            &["ntp.keys".to_string()],
            &lines,
            PRIVATE_MODE,
        )?;
        return Ok(());
    }

    // 1. Host key.
    let host_name = format!("ntpkey_host_{}", run.host);
    // -H generates without reading (or needing to decrypt) the old key.
    let existing = if opts.host_key {
        None
    } else {
        run.load(std::slice::from_ref(&host_name))?
    };
    let host_key = match existing {
        Some(found) => {
            say!(run, "Using host key {}", found.shown);
            let pkey = found
                .keys
                .into_iter()
                .next()
                .ok_or_else(|| KeyError::corrupt(&found.path, "no key"))?;
            HostKey::from_pkey(&found.path, pkey)?.pkey
        }
        _ => {
            say!(run, "Generating RSA keys ({} bits)...", opts.modulus);
            let rsa = Rsa::generate(opts.modulus).map_err(crypto("generating RSA host key"))?;
            let pkey = PKey::from_rsa(rsa).map_err(crypto("generating RSA host key"))?;
            let body = pkcs8_pem(&pkey, run.prot())?;
            let owner = run.host.clone();
            run.write_file(
                "RSAhost",
                &owner,
                std::slice::from_ref(&host_name),
                &body,
                PRIVATE_MODE,
            )?;
            pkey
        }
    };

    // 2. Sign key.
    let sign_name = format!("ntpkey_sign_{}", run.host);
    let sign_key: Option<SignKey> = if let Some(kind) = opts.sign_key {
        say!(
            run,
            "Generating {kind:?} sign keys ({} bits)...",
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
        let body = pkcs8_pem(&pkey, run.prot())?;
        let owner = run.host.clone();
        run.write_file(label, &owner, &[sign_name], &body, PRIVATE_MODE)?;
        Some(SignKey { pkey, kind })
    } else if let Some(found) = run.load(&[sign_name])? {
        say!(run, "Using sign key {}", found.shown);
        let pkey = found
            .keys
            .into_iter()
            .next()
            .ok_or_else(|| KeyError::corrupt(&found.path, "no key"))?;
        Some(SignKey::from_pkey(&found.path, pkey)?)
    } else {
        say!(run, "Using host key as sign key");
        None
    };

    // 3. GQ.
    let gq = if opts.gq {
        say!(run, "Generating GQ parameters ({} bits)...", opts.imbits);
        let key = GqKey::generate(opts.imbits)?;
        let ok = key.verify().map_err(crypto("GQ"))?;
        say!(
            run,
            "Confirm u^b (u^-1)^b = 1 mod n: {}",
            if ok { "yes" } else { "no" }
        );
        for (l, v) in [("n", &key.n), ("b", &key.b), ("u", &key.u), ("v", &key.v)] {
            run.dump(l, v);
        }
        let body = key.to_pem(run.prot())?;
        let (group, links) = (run.group.clone(), run.identity_links("gqkey"));
        run.write_file("GQkey", &group, &links, &body, PRIVATE_MODE)?;
        Some(key)
    } else {
        let names = run.identity_names("gqkey");
        match run.load(&names)? {
            Some(found) => {
                say!(run, "Using GQ parameters {}", found.shown);
                Some(GqKey::from_pkey(&found.path, &found.keys[0])?)
            }
            None => None,
        }
    };
    if let Some(key) = &gq {
        if key.public_octets().len() >= 128 {
            say!(run, "ntp-keygen: warning: the GQ public key is {} octets; 4.2.8 ntpd cannot read keys of 128 octets or more from the certificate (use -b 1016 or less)", key.public_octets().len());
        }
        if opts.export_params {
            let body = key.params_pem(run.e_prot())?;
            run.export("GQ parameters", "gqpar", &body)?;
        }
        if run.q_export.is_some() {
            let body = key.to_pem(run.q_prot())?;
            run.export("GQ keys", "gqkey", &body)?;
        }
    }

    // 4. IFF.
    let iff = if opts.iff {
        say!(run, "Generating IFF keys ({} bits)...", opts.imbits);
        let key = IffKey::generate(opts.imbits)?;
        let ok = key.verify()?;
        say!(
            run,
            "Confirm g^(q - b) g^b = 1 mod p: {}",
            if ok { "yes" } else { "no" }
        );
        for (l, v) in [
            ("p", &key.params.p),
            ("q", &key.params.q),
            ("g", &key.params.g),
            ("b", &key.b),
            ("v", &key.params.v),
        ] {
            run.dump(l, v);
        }
        let body = key.to_pem(run.prot())?;
        let (group, links) = (run.group.clone(), run.identity_links("iffkey"));
        run.write_file("IFFkey", &group, &links, &body, PRIVATE_MODE)?;
        Some(key)
    } else {
        let names = run.identity_names("iffkey");
        match run.load(&names)? {
            Some(found) => {
                say!(run, "Using IFF keys {}", found.shown);
                Some(IffKey::from_pkey(&found.path, &found.keys[0])?)
            }
            None => None,
        }
    };
    if let Some(key) = &iff {
        if opts.export_params {
            let body = key.params_pem(run.e_prot())?;
            run.export("IFF parameters", "iffpar", &body)?;
        }
        if run.q_export.is_some() {
            let body = key.to_pem(run.q_prot())?;
            run.export("IFF keys", "iffkey", &body)?;
        }
    }

    // 5. MV.
    let mv = if let Some(n) = opts.mv {
        say!(
            run,
            "Generating MV parameters for {n} keys ({} bits)...",
            opts.imbits as usize / n
        );
        let ta = MvAuthority::generate(opts.imbits, n)?;
        run.dump("p", &ta.p);
        run.dump("q", &ta.q);
        say!(run, "Revoke key {n}");
        let body = ta.to_pem(run.prot())?;
        let (group, links) = (run.group.clone(), run.identity_links("mvta"));
        run.write_file("MVta", &group, &links, &body, PRIVATE_MODE)?;
        let body = ta.server.to_pem(run.prot())?;
        let links = run.identity_links("mvkey");
        run.write_file("mvkey", &group, &links, &body, PRIVATE_MODE)?;
        Some(ta)
    } else {
        let names = run.identity_names("mvta");
        match run.load(&names)? {
            Some(found) => {
                say!(run, "Using MV keys {}", found.shown);
                match MvAuthority::from_pkeys(&found.path, &found.keys) {
                    Ok(ta) => Some(ta),
                    // A stock 4.2.8 MVta file: say so, keep going without MV.
                    Err(e @ KeyError::PublicValueLost { .. }) => {
                        say!(run, "ntp-keygen: warning: {e}");
                        None
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            None => None,
        }
    };
    if let Some(ta) = &mv {
        if opts.export_params {
            let body = ta.clients[0].to_pem(run.e_prot())?;
            run.export("MV parameters", "mvpar", &body)?;
        }
        if run.q_export.is_some() {
            let body = ta.server.to_pem(run.q_prot())?;
            run.export("MV keys", "mvkey", &body)?;
        }
    }
    if (opts.export_params || run.q_export.is_some())
        && gq.is_none()
        && iff.is_none()
        && mv.is_none()
    {
        say!(
            run,
            "ntp-keygen: no identity keys found to export (looked for ntpkey_gqkey_{g}, ntpkey_iffkey_{g}, ntpkey_mvta_{g}); generate them with -G, -I or -V, or use -i GROUP",
            g = run.group
        );
    }
    if meaning == PasswordMeaning::Guide && opts.export_params && run.e_export.is_some() {
        say!(run, "ntp-keygen: note: the -e export is encrypted with the -p password (the guide's form); 4.2.8 ntpd reads only unencrypted parameter files, this ntpd reads both");
    }

    // 6. Certificate, every run.
    let cert_name = format!("ntpkey_cert_{}", run.host);
    let old = match read_file(&run.dir.join(&cert_name)) {
        Ok(Some(text)) => match Certificate::from_file_text(&run.dir.join(&cert_name), &text) {
            Ok(c) => {
                run.fstamp = c.filestamp;
                Some(c)
            }
            Err(e) => {
                say!(run, "ntp-keygen: warning: ignoring old certificate: {e}");
                None
            }
        },
        Ok(None) => None,
        Err(e) => return Err(e.into()),
    };
    let mut subject = run.subject.clone();
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
    say!(run, "Generating new certificate {subject} {scheme}");
    let gq_public = gq.as_ref().map(|k| k.public_octets());
    let signer = sign_key.as_ref().map(|s| &s.pkey).unwrap_or(&host_key);
    let spec = CertificateSpec {
        subject: &subject,
        issuer: &subject,
        serial: header::ntp_seconds(run.now),
        not_before_unix: run.now as i64,
        lifetime_days: opts.lifetime,
        role: role.clone(),
        gq_public: gq_public.as_deref(),
        digest,
    };
    let x509 = cert::build_certificate(&spec, signer, signer).map_err(|e| {
        KeyError::crypto(format!("signing the certificate with {scheme} (a DSA sign key needs -c RSA-SHA1 or -c RSA-SHA256)"), e)
    })?;
    say!(run, "X509v3 Basic Constraints: critical,CA:TRUE");
    say!(run, "X509v3 Key Usage: digitalSignature,keyCertSign");
    if gq_public.is_some() {
        say!(run, "X509v3 Subject Key Identifier");
    }
    match role {
        CertRole::TrustRoot => say!(run, "X509v3 Extended Key Usage: trustRoot"),
        CertRole::Private => say!(run, "X509v3 Extended Key Usage: private"),
        _ => {}
    }
    let pem_bytes = x509.to_pem().map_err(crypto("encoding certificate"))?;
    let body = String::from_utf8_lossy(&pem_bytes).into_owned();
    let owner = run.host.clone();
    run.write_file(
        &format!("{scheme}cert"),
        &owner,
        &[cert_name],
        &body,
        CERT_MODE,
    )?;
    Ok(())
}
