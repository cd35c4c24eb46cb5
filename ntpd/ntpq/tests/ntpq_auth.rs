//! Authenticated requests: `writevar`, `:config`, `saveconfig` and, with
//! `authenticate yes`, every request carry a MAC (key id and digest after
//! the data padded to 8 octets) that the server can verify with the same
//! key; keys come from a keys file (`-k`) or from `keyid`/`keytype`/
//! `passwd`.

mod ntpq_support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use config::keys::KeyType;
use ntpq_support::{error_response, ntpq, varlist_response, FakeServer};
use proto::control::{ControlHeader, ControlMessage, ErrorCode, Opcode, VarValue};

/// A keys file in a fresh temporary directory.
fn keys_file(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ntpq-auth-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ntp.keys");
    std::fs::write(
        &path,
        "# test keys\n1 MD5 secretpw\n2 SHA1 0123456789abcdef0123456789abcdef01234567\n",
    )
    .expect("write keys");
    path
}

/// Keys the server trusts: (id, type, secret).
fn server_keys() -> Vec<(u32, KeyType, Vec<u8>)> {
    vec![
        (1, KeyType::Md5, b"secretpw".to_vec()),
        (
            2,
            KeyType::Sha1,
            (0..20)
                .map(|i| {
                    u8::from_str_radix(
                        &"0123456789abcdef0123456789abcdef01234567"[2 * i..2 * i + 2],
                        16,
                    )
                    .expect("hex")
                })
                .collect(),
        ),
        (9, KeyType::Md5, b"typed".to_vec()),
    ]
}

/// Whether `req` carries a valid MAC; the key id used.
fn verified(req: &ControlMessage) -> Option<u32> {
    let mac = req.mac()?;
    let keys = server_keys();
    let (_, kind, secret) = keys.iter().find(|k| k.0 == mac.key_id)?;
    let ok = ntp_mac::verify(*kind, secret, &req.authenticated_bytes(), mac.digest());
    ok.then_some(mac.key_id)
}

/// (opcode, verified key id) of every request a server saw.
type Log = Arc<Mutex<Vec<(u8, Option<u32>)>>>;

/// A server that refuses unauthenticated writes and logs (opcode, key id).
fn server() -> (FakeServer, Log) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l2 = log.clone();
    let s = FakeServer::start(Box::new(move |req: &ControlMessage| {
        let who = verified(req);
        l2.lock()
            .expect("lock")
            .push((req.header.opcode.code(), who));
        match (req.header.opcode, who) {
            (
                Opcode::WriteVariables
                | Opcode::Configure
                | Opcode::SaveConfig
                | Opcode::ReadOrderedListA,
                None,
            ) => error_response(req, ErrorCode::AuthFailure),
            (Opcode::WriteVariables, Some(_)) => {
                let h = ControlHeader::response_to(&req.header, 0, 0x0616);
                vec![ControlMessage::new(h, b"").expect("empty").serialize()]
            }
            (Opcode::Configure, Some(_)) => {
                let h = ControlHeader::response_to(&req.header, 0, 0x0616);
                vec![ControlMessage::new(h, b"column 8 syntax error\n")
                    .expect("msg")
                    .serialize()]
            }
            (Opcode::SaveConfig, Some(_)) => {
                let h = ControlHeader::response_to(&req.header, 0, 0x0616);
                vec![ControlMessage::new(h, b"Configuration saved to x.conf\r\n")
                    .expect("msg")
                    .serialize()]
            }
            (Opcode::ReadOrderedListA, Some(_)) if req.data() == b"addr_restrictions" => {
                let b = |s: &str| VarValue::Bare(s.to_string());
                varlist_response(
                    req,
                    0x0616,
                    &[
                        ("addr.0".into(), b("0.0.0.0")),
                        (
                            "flags.0".into(),
                            b("kod limited nomodify notrap nopeer noquery"),
                        ),
                        ("hits.0".into(), b("7")),
                        ("mask.0".into(), b("0.0.0.0")),
                        ("addr.1".into(), b("127.0.0.1")),
                        ("flags.1".into(), b("")),
                        ("hits.1".into(), b("42")),
                        ("mask.1".into(), b("255.255.255.255")),
                    ],
                )
            }
            (Opcode::ReadOrderedListA, Some(_)) => {
                let b = |s: &str| VarValue::Bare(s.to_string());
                let q = |s: &str| VarValue::Quoted(s.to_string());
                varlist_response(
                    req,
                    0x0616,
                    &[
                        ("addr.0".into(), b("127.0.0.1:123")),
                        ("bcast.0".into(), b("")),
                        ("en.0".into(), b("1")),
                        ("flags.0".into(), b("0x5")),
                        ("mc.0".into(), b("0")),
                        ("name.0".into(), q("lo")),
                        ("pc.0".into(), b("0")),
                        ("rx.0".into(), b("12")),
                        ("tl.0".into(), b("0")),
                        ("tx.0".into(), b("12")),
                        ("txerr.0".into(), b("0")),
                        ("up.0".into(), b("3600")),
                    ],
                )
            }
            _ => varlist_response(
                req,
                0x0616,
                &[("stratum".into(), VarValue::Bare("6".into()))],
            ),
        }
    }));
    (s, log)
}

#[test]
fn writevar_is_signed_with_the_keys_file_key() {
    let keys = keys_file("md5");
    let (srv, log) = server();
    let host = srv.host();
    let k = keys.to_string_lossy().to_string();
    let r = ntpq(
        &[
            "-k",
            &k,
            "-c",
            "keyid 1",
            "-c",
            "writevar 0 foo=1",
            "-c",
            "keyid 2",
            "-c",
            "writevar 0 foo=2",
            "-c",
            "rv 0 stratum",
            &host,
        ],
        &[],
        None,
    );
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        "\ndone! (no data returned)\n\n\ndone! (no data returned)\n\nstratum=6\n"
    );
    assert_eq!(
        log.lock().expect("lock").as_slice(),
        [(3, Some(1)), (3, Some(2)), (2, None)],
        "writes signed with keys 1 (MD5) and 2 (SHA1), reads not signed"
    );
    let _ = std::fs::remove_dir_all(keys.parent().expect("dir"));
}

#[test]
fn wrong_password_is_refused_by_the_server() {
    let (srv, log) = server();
    let host = srv.host();
    let r = ntpq(
        &[
            "-c",
            "keyid 1",
            "-c",
            "passwd wrong",
            "-c",
            "writevar 0 foo=1",
            &host,
        ],
        &[],
        None,
    );
    assert_eq!(r.stderr, "***Server disallowed request (authentication?)\n");
    // Signed (with the wrong secret), refused, not retried.
    assert_eq!(log.lock().expect("lock").as_slice(), [(3, None)]);
}

#[test]
fn passwd_and_keytype_and_authenticate_yes() {
    let (srv, log) = server();
    let host = srv.host();
    let r = ntpq(
        &[
            "-c",
            "keyid",
            "-c",
            "keytype",
            "-c",
            "authenticate",
            "-c",
            "keyid 9",
            "-c",
            "passwd typed",
            "-c",
            "keytype sha3-512",
            "-c",
            "keytype md5",
            "-c",
            "authenticate yes",
            "-c",
            "authenticate",
            "-c",
            "keyid",
            "-c",
            "rv 0 stratum",
            "-c",
            ":config server 192.0.2.1 iburst",
            "-c",
            "saveconfig x.conf",
            &host,
        ],
        &[],
        None,
    );
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        "no keyid defined\n\nkeytype is MD5 with 16 octet digests\n\nunauthenticated requests being sent\n\
\n\n\nkeytype is not valid. Type \"help keytype\" for the available digest types.\n\n\
\n\nauthenticated requests being sent\n\nkeyid is 9\n\nstratum=6\n\
\nserver 192.0.2.1 iburst\n_______^\ncolumn 8 syntax error\n\
\nConfiguration saved to x.conf\r\n"
    );
    assert_eq!(
        log.lock().expect("lock").as_slice(),
        [(2, Some(9)), (8, Some(9)), (9, Some(9))]
    );
}

#[test]
fn unknown_key_is_reported_without_sending() {
    let keys = keys_file("unknown");
    let (srv, log) = server();
    let host = srv.host();
    let k = keys.to_string_lossy().to_string();
    let r = ntpq(
        &["-k", &k, "-c", "keyid 5", "-c", "writevar 0 foo=1", &host],
        &[],
        None,
    );
    assert!(r.stderr.starts_with("Key 5 not found"), "{}", r.stderr);
    assert!(log.lock().expect("lock").is_empty());
    let _ = std::fs::remove_dir_all(keys.parent().expect("dir"));
    // A missing keys file is a start-up error naming the file.
    let r = ntpq(
        &["-k", "/nonexistent/ntp.keys", "-c", "rv", &host],
        &[],
        None,
    );
    assert!(!r.success);
    assert!(r.stderr.contains("/nonexistent/ntp.keys"), "{}", r.stderr);
}

#[test]
fn ifstats_and_reslist_are_authenticated_ordered_lists() {
    let keys = keys_file("ordlist");
    let (srv, log) = server();
    let host = srv.host();
    let k = keys.to_string_lossy().to_string();
    let r = ntpq(
        &[
            "-k", &k, "-c", "keyid 1", "-c", "ifstats", "-c", "reslist", &host,
        ],
        &[],
        None,
    );
    let rule = "=".repeat(78);
    assert_eq!(r.stderr, "");
    // The first line is the separator after `keyid 1`, which prints
    // nothing.
    let expected = [
        "",
        "    interface name                                        send",
        " #  address/broadcast     drop flag ttl mc received sent failed peers   uptime",
        &rule,
        "  0 lo                       .    5   0  0     12     12      0     0     3600",
        "    127.0.0.1:123",
        "",
        "   hits    addr/prefix or addr mask",
        "           restrictions",
        &rule,
        "         7 0.0.0.0/0",
        "           kod limited nomodify notrap nopeer noquery",
        "        42 127.0.0.1/32",
        "           ",
    ];
    assert_eq!(r.stdout, expected.join("\n") + "\n");
    assert_eq!(
        log.lock().expect("lock").as_slice(),
        [(11, Some(1)), (11, Some(1))]
    );
    let _ = std::fs::remove_dir_all(keys.parent().expect("dir"));
}
