//! The first decisions of an `ntp-keygen` run, before anything is
//! written: host, group and subject names (brief §8.1), the certificate
//! scheme, and which meaning `-p` and `-q` have (4.2.8's or the
//! "Configuring Autokey" guide's).

use std::io::Write;
use std::path::Path;

use openssl::hash::MessageDigest;

use super::{Env, KeygenError, Options, PasswordMeaning, UsageError};
use crate::cert::{self, Certificate};
use crate::hostkey::SignKeyType;
use crate::keysdir::read_file;
use crate::pem;

/// Host, group and certificate subject of a run.
pub(super) struct Names {
    pub host: String,
    pub group: String,
    /// `host@group` when a group was given, else the host.
    pub subject: String,
}

/// `-s host@group`, `-i group`, else the host name (fixtures README "Host
/// and group names").
pub(super) fn resolve(opts: &Options, env: &Env) -> Result<Names, KeygenError> {
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
        return Err(UsageError(format!("bad host or group name `{host}@{group}`")).into());
    }
    let subject = if group_explicit {
        format!("{host}@{group}")
    } else {
        host.clone()
    };
    Ok(Names {
        host,
        group,
        subject,
    })
}

/// The certificate scheme, checked before anything is written: `-c`, or
/// the old certificate's, or RSA-MD5; and its digest.
pub(super) fn certificate_scheme(
    opts: &Options,
    env: &Env,
    host: &str,
) -> Result<(String, MessageDigest), KeygenError> {
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
    Ok((scheme, digest))
}

/// Warns about a `-p`/`-q` password ending in punctuation: the guide
/// prints `ntp-keygen -V N -p serverpassword.` with its sentence's full
/// stop, which becomes part of the password if typed as printed.
pub(super) fn warn_trailing_punctuation(opts: &Options, log: &mut dyn Write) {
    for (flag, pw) in [("-p", &opts.password), ("-q", &opts.export_password)] {
        let Some(last) = pw.as_deref().and_then(|p| p.chars().last()) else {
            continue;
        };
        if matches!(last, '.' | ',' | ';' | ':' | '!' | '?') {
            let _ = writeln!(
                log,
                "ntp-keygen: warning: the {flag} password ends in '{last}'; it is used exactly as given, so `crypto pw` must end in '{last}' too (if it is a sentence's full stop copied from a guide, run again without it)"
            );
        }
    }
}

/// The passwords of a run.
pub(super) struct Passwords {
    pub meaning: PasswordMeaning,
    /// Reads (and encrypts new) local files.
    pub read: String,
    /// Encrypts `-q` exports of server keys (4.2.8 meaning).
    pub q_export: Option<String>,
    /// Encrypts the `-e` export (guide meaning).
    pub e_export: Option<String>,
}

/// Which password meaning applies (issue: the guide's spelling must work):
/// the guide's when `-q` is given and the local files decrypt only with it.
pub(super) fn passwords(opts: &Options, env: &Env, n: &Names, log: &mut dyn Write) -> Passwords {
    let local_pw = opts
        .password
        .clone()
        .unwrap_or_else(|| env.hostname.clone());
    let probe_names = [
        format!("ntpkey_host_{}", n.host),
        format!("ntpkey_sign_{}", n.host),
        format!("ntpkey_gqkey_{}", n.group),
        format!("ntpkey_iffkey_{}", n.group),
        format!("ntpkey_mvta_{}", n.group),
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
    match meaning {
        PasswordMeaning::Ntp428 => Passwords {
            meaning,
            read: local_pw,
            q_export: opts.export_password.clone(),
            e_export: None,
        },
        PasswordMeaning::Guide => Passwords {
            meaning,
            read: opts.export_password.clone().unwrap_or_default(),
            q_export: None,
            e_export: opts.password.clone(),
        },
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
