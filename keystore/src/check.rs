//! `ntp-keygen --check`: what `ntpd` would load from this keys directory
//! for this host, file by file (brief §8, §9.2): each standard link, the
//! file it points to, whether the password opens it, and for the
//! certificate its subject, issuer, trust, group and expiry; the client
//! parameter links (the guide's `ntpkey_iff_<server>`) and dated files no
//! link points to. A file that does not load is named with the reason and
//! the fix the loader gives (e.g. a stock 4.2.8 IFF/MV file that lost its
//! public value, with the command that regenerates it). Read-only.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use crate::cert::CertRole;
use crate::keysdir::Keysdir;
use crate::Scheme;

/// The outcome: the report's lines and whether everything loads.
#[derive(Debug)]
pub struct CheckReport {
    /// One line per file or link, in operator words.
    pub text: String,
    /// No file failed to load and the certificate is valid now.
    pub ok: bool,
}

/// The file a link finally points to (its name), if it is a link.
fn target(dir: &Path, link: &str) -> Option<String> {
    let p = dir.join(link);
    p.symlink_metadata()
        .ok()?
        .file_type()
        .is_symlink()
        .then(|| {
            std::fs::canonicalize(&p)
                .ok()
                .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "(dangling link)".into())
        })
}

/// `YYYY-MM-DD` of a Unix time.
fn date(unix: i64) -> String {
    let (y, m, d) = proto::time::civil_from_days(unix.div_euclid(86400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Checks `dir` for host `host` (group `ident`) with password `pw`, at
/// Unix time `now`.
pub fn check(dir: &Path, host: &str, ident: &str, pw: &str, now: i64) -> CheckReport {
    let kd = Keysdir::new(dir);
    let mut text = String::new();
    let mut ok = true;
    let mut linked: BTreeSet<String> = BTreeSet::new();
    let mut line = |link: &str, result: Result<String, String>, ok: &mut bool| {
        let file = target(dir, link);
        if let Some(f) = &file {
            linked.insert(f.clone());
        }
        let via = file.map(|f| format!(" -> {f}")).unwrap_or_default();
        match result {
            Ok(what) => {
                let _ = writeln!(text, "ok    {link}{via}: {what}");
            }
            Err(why) => {
                *ok = false;
                let _ = writeln!(text, "FAIL  {link}{via}: {why}");
            }
        }
    };
    let opens = "opens with the password";
    line(
        &format!("ntpkey_host_{host}"),
        kd.host_key(host, Some(pw))
            .map(|k| format!("RSA host key, {} bits, {opens}", k.value.bits()))
            .map_err(|e| e.to_string()),
        &mut ok,
    );
    match kd.sign_key(host, Some(pw)) {
        Ok(Some(_)) => line(
            &format!("ntpkey_sign_{host}"),
            Ok(format!("sign key, {opens}")),
            &mut ok,
        ),
        Ok(None) => {}
        Err(e) => line(&format!("ntpkey_sign_{host}"), Err(e.to_string()), &mut ok),
    }
    let cert = kd.certificate(host).map_err(|e| e.to_string());
    let cert = cert.and_then(|c| {
        let role = match c.role {
            CertRole::TrustRoot => "trusted (-T)",
            CertRole::Private => "private (-P)",
            _ => "not trusted (made without -T: fine on a client)",
        };
        let group = c.group().map(|g| format!(", group {g}")).unwrap_or_default();
        let what = format!(
            "certificate {} issued by {}, {role}{group}, valid {} to {}",
            c.subject,
            c.issuer,
            date(c.not_before),
            date(c.not_after)
        );
        if c.is_valid_at(now) {
            Ok(what)
        } else {
            Err(format!(
                "{what}: not valid now; update it with `ntp-keygen -q PASSWORD` (add -T on the trusted host)"
            ))
        }
    });
    line(&format!("ntpkey_cert_{host}"), cert, &mut ok);
    for (scheme, link) in [
        (Scheme::Iff, "iffkey"),
        (Scheme::Gq, "gqkey"),
        (Scheme::Mv, "mvkey"),
    ] {
        let name = format!("ntpkey_{link}_{ident}");
        let result = match scheme {
            Scheme::Iff => kd.iff_key(ident, Some(pw)).map(|o| o.map(|_| ())),
            Scheme::Gq => kd.gq_key(ident, Some(pw)).map(|o| o.map(|_| ())),
            Scheme::Mv => kd.mv_key(ident, Some(pw)).map(|o| o.map(|_| ())),
        };
        match result {
            Ok(Some(())) => line(
                &name,
                Ok(format!("{scheme} server key of group {ident}, {opens}")),
                &mut ok,
            ),
            Ok(None) => {}
            Err(e) => line(&name, Err(e.to_string()), &mut ok),
        }
    }
    for l in kd.client_parameter_links().unwrap_or_default() {
        if l.name == host {
            continue;
        }
        let loaded = match l.scheme {
            Scheme::Iff => kd.iff_params(&l.name, Some(pw)).map(|_| ()),
            Scheme::Gq => kd.gq_params(&l.name, Some(pw)).map(|_| ()),
            Scheme::Mv => kd.mv_client(&l.name, Some(pw)).map(|_| ()),
        };
        let link = crate::keysdir::client_links(l.scheme, &l.name)
            .into_iter()
            .find(|n| dir.join(n).symlink_metadata().is_ok())
            .unwrap_or_default();
        line(
            &link,
            loaded
                .map(|()| format!("{} client parameters for server {}", l.scheme, l.name))
                .map_err(|e| e.to_string()),
            &mut ok,
        );
    }
    let mut dated: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("ntpkey_") && n.contains('.'))
                .filter(|n| !dir.join(n).is_symlink())
                .collect()
        })
        .unwrap_or_default();
    dated.sort();
    for f in dated.iter().filter(|f| !linked.contains(*f)) {
        let _ = writeln!(
            text,
            "      {f}: no link points to it (an older generation, or not used by this host)"
        );
    }
    let _ = writeln!(
        text,
        "{}",
        if ok {
            "keys directory ok"
        } else {
            "keys directory has problems (FAIL lines above)"
        }
    );
    CheckReport { text, ok }
}
