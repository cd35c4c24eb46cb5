//! `ntp-keygen`: generate Autokey keys, certificates and identity
//! parameters, file-compatible with the reference ntp-keygen 4.2.8p18.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use keystore::keygen::{self, args, Env};

const HELP: &str = "\
ntp-keygen - create Autokey (RFC 5906) key files in the current directory

usage: ntp-keygen [options]
  -b, --imbits BITS        identity modulus bits, 512-2048 (512)
  -c, --certificate SCHEME RSA-MD5 (default, or the old certificate's),
                           RSA-SHA1, RSA-SHA224, RSA-SHA256, RSA-SHA384,
                           RSA-SHA512, RSA-RIPEMD160
  -C, --cipher CIPHER      cipher of private-key files (des-ede3-cbc)
  -d, --debug-level        print generated values (repeatable); -D N sets it
  -e, --id-key             write client identity parameters to stdout
  -G, --gq-params          generate new GQ keys
  -H, --host-key           generate a new RSA host key
  -I, --iffkey             generate new IFF keys
  -i, --ident GROUP        group name
  -l, --lifetime DAYS      certificate lifetime (365)
  -m, --modulus BITS       host/sign key bits, 512-2048 (512)
  -M, --md5key             write the symmetric keys file (ntp.keys) only
  -P, --pvt-cert           private certificate
  -p, --password PW        local password (default: the host name)
  -q, --export-passwd PW   write the server identity keys to stdout,
                           encrypted with PW (the receiving host's crypto pw)
  -s, --subject-name NAME  host, host@group or @group
  -S, --sign-key RSA|DSA   generate a new sign key
  -T, --trusted-cert       trusted certificate (trustRoot)
  -V, --mv-params N        generate MV keys for N clients (key N is revoked);
                           N must not be a factor of 512 nor above 30
  -v, --mv-keys N          accepted for compatibility, no effect
      --check              check the keys in the current directory for this
                           host (-s) and password (-p or -q): each link, its
                           file, whether it opens, the certificate's expiry;
                           writes nothing; exit status 1 on a problem
      --help, --version

Compatibility with ntp-keygen 4.2.8p18: same options, defaults, file names,
header lines, filestamps and links. Where 4.2.8 writes files its own ntpd
cannot use, this ntp-keygen writes a form that works with both:
  * IFF and MV keys are traditional DSA PEM, which keeps the public values
    (4.2.8's PKCS#8 drops them and IFF/MV fail with error 0x10e);
  * GQ keys put u in the RSA e slot and b in the d slot, where 4.2.8 ntpd
    reads them;
  * -V also writes the MV server key ntpkey_mvkey_<group> and links it.
The reader accepts the stock 4.2.8 files as well and says when one of them
has lost its public value and must be regenerated.
Passwords: in 4.2.8, -p reads and writes local files and -q encrypts -q
exports. The Configuring Autokey guide's spelling (-q reads local files,
-p encrypts the -e export) is used when the local files decrypt only with
the -q password; a line on stderr says so.
Recommended where all peers allow it: -m 2048 -c RSA-SHA256.
Private-key files are created with mode 0600, certificates 0640.";

fn hostname() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            "cannot read the host name from /proc/sys/kernel/hostname; give it with -s HOST"
                .to_string()
        })
}

fn main() -> ExitCode {
    let opts = match args::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("ntp-keygen: {e}");
            return ExitCode::from(1);
        }
    };
    if opts.help {
        println!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if opts.version {
        println!("ntp-keygen (ntpd-autokey) {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    // gethostname(); without one, the -s host name stands in for it.
    let from_subject = opts
        .subject
        .as_deref()
        .and_then(|s| s.split('@').next())
        .filter(|h| !h.is_empty())
        .map(str::to_string);
    let hostname = match (hostname(), from_subject.clone()) {
        (Ok(h), _) => h,
        (Err(_), Some(h)) => h,
        (Err(e), None) => {
            eprintln!("ntp-keygen: {e}");
            return ExitCode::from(1);
        }
    };
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let env = Env {
        dir: std::path::PathBuf::from("."),
        hostname,
        now_unix,
    };
    if opts.check {
        // The host, group and password as the other options name them.
        let host = from_subject.unwrap_or_else(|| env.hostname.clone());
        let ident = opts.ident.clone().unwrap_or_else(|| host.clone());
        let pw = opts
            .password
            .clone()
            .or_else(|| opts.export_password.clone())
            .unwrap_or_else(|| host.clone());
        let r = keystore::check::check(
            std::path::Path::new("."),
            &host,
            &ident,
            &pw,
            i64::try_from(now_unix).unwrap_or(i64::MAX),
        );
        print!("{}", r.text);
        return if r.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    let mut out = std::io::stdout().lock();
    let mut log = std::io::stderr().lock();
    match keygen::run(&opts, &env, &mut out, &mut log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ntp-keygen: {e}");
            ExitCode::from(1)
        }
    }
}
