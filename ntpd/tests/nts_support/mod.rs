//! What the NTS tests share: a test CA and a server certificate made with
//! the openssl command line (for 127.0.0.1 and `nts.test`), and running a
//! closure inside a network namespace the test made.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA certificate and a server certificate and key it signed.
pub struct TestPki {
    /// The CA certificate (PEM), the clients' trust anchor.
    pub ca: PathBuf,
    /// The server's certificate (PEM), for IPs 127.0.0.1 and 127.0.0.3 and DNS nts.test.
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Makes the CA and a server certificate in `dir`.
pub fn make_pki(dir: &Path) -> TestPki {
    make_pki_for(dir, None)
}

/// [`make_pki`], the certificate also valid for the address `extra_ip`.
pub fn make_pki_for(dir: &Path, extra_ip: Option<&str>) -> TestPki {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=nts-test-ca",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=nts.test",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("server.ext"),
        format!(
            "subjectAltName=IP:127.0.0.1,IP:127.0.0.3,{}DNS:nts.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            extra_ip.map(|ip| format!("IP:{ip},")).unwrap_or_default()
        ),
    )
    .unwrap();
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
    );
    TestPki {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// Runs `f` on a thread that has entered the network namespace `name`
/// (made by the test with `ip netns add`), and returns its result.
pub fn in_netns<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// A current-thread tokio runtime with I/O and timers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A fresh key line `ntskey ID NOW HEX` for an `nts cookie` file, from
/// the system's random source.
pub fn cookie_key_line(id: u64) -> String {
    let mut k = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut k).unwrap();
    let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("ntskey {id} {now} {hex}")
}

/// chrony.conf for chronyd 4.3 as a stratum-8 NTS server on 127.0.0.1
/// with `pki`'s certificate, its pid file at `pidfile`, its NTS state
/// (server keys) dumped in `dump`, NTS-KE in its main process, and the
/// lines `extra` after it.
pub fn chrony_nts_server_conf(pki: &TestPki, pidfile: &Path, dump: &Path, extra: &str) -> String {
    format!(
        "local stratum 8\nallow all\nbindaddress 127.0.0.1\ncmdport 0\npidfile {}\n\
         ntsserverkey {}\nntsservercert {}\nntsdumpdir {}\nntsprocesses 0\n{extra}",
        pidfile.display(),
        pki.key.display(),
        pki.cert.display(),
        dump.display()
    )
}
