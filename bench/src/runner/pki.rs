//! The run's test PKI for the NTS servers (RFC 8915 §4: NTS-KE is TLS
//! 1.3, so each server needs a certificate its clients trust): a CA and
//! a server certificate for 127.0.0.1 it signed, P-256 keys, made with the
//! openssl command line in the server's scratch directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of the test PKI.
#[derive(Clone, Debug)]
pub struct TestPki {
    /// The CA certificate (PEM): the load generator's trust anchor.
    pub ca: PathBuf,
    /// The server certificate (PEM), subjectAltName IP:127.0.0.1.
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> io::Result<()> {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run openssl: {e}")))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "openssl {}: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&o.stderr).trim()
        )))
    }
}

const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// Makes the CA and the server certificate in `dir`.
pub fn make(dir: &Path) -> io::Result<TestPki> {
    let mut ca = vec!["req", "-x509"];
    ca.extend(EC_KEY);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ntp-bench-ca",
    ]);
    openssl(dir, &ca)?;
    let mut csr = vec!["req"];
    csr.extend(EC_KEY);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &csr)?;
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    )?;
    Ok(TestPki {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    })
}
