//! Arbitrary extension fields fed to the Autokey engines (brief §11.3):
//! the server's responder and fast path, and client, symmetric and
//! broadcast-client associations brought past ASSOC and CERT with genuine
//! fields first. Nothing may panic; per-association state stays bounded
//! (one queued request, one key list).
#![no_main]
#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use autokey::association::{AssocKind, Association, AssociationConfig};
use autokey::host::{HostCredentials, LocalHost, RespondContext};
use autokey::message::{Message, Request};
use autokey::server::fast_path;
use autokey::session::SessionDigest;
use keystore::{Certificate, Keysdir};
use libfuzzer_sys::fuzz_target;
use proto::PacketRef;
use rand::SeedableRng;

struct Keys {
    dir: Keysdir,
    name: String,
    pw: Option<String>,
}

fn keys(host: &str) -> Keys {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref/runs/iff")
        .join(host);
    let conf = config::conf::load(&dir.join("ntp.conf"))
        .expect("ntp.conf")
        .config;
    let mut k = Keys {
        dir: Keysdir::new(dir.join("keys")),
        name: String::new(),
        pw: None,
    };
    for d in conf.directives() {
        if let config::conf::Directive::Crypto(c) = d {
            k.name = c.host.clone().unwrap_or_default();
            k.pw = c.pw.clone();
        }
    }
    k
}

/// Loaded once: (DER of the certificate, filestamp) is enough to rebuild
/// the non-Clone parts per input.
struct Fixture {
    alice: (
        openssl::pkey::PKey<openssl::pkey::Private>,
        u32,
        Vec<u8>,
        u32,
    ),
    bob: (
        openssl::pkey::PKey<openssl::pkey::Private>,
        u32,
        Vec<u8>,
        u32,
    ),
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let load = |k: &Keys| {
            let hk = k.dir.host_key(&k.name, k.pw.as_deref()).expect("host key");
            let cert = k.dir.certificate(&k.name).expect("certificate");
            (hk.value.pkey, hk.filestamp, cert.der, cert.filestamp)
        };
        Fixture {
            alice: load(&keys("alice")),
            bob: load(&keys("bob")),
        }
    })
}

fn host(
    part: &(
        openssl::pkey::PKey<openssl::pkey::Private>,
        u32,
        Vec<u8>,
        u32,
    ),
    rng: &mut rand_chacha::ChaCha20Rng,
) -> LocalHost {
    let x = openssl::x509::X509::from_der(&part.2).expect("der");
    let cert = Certificate::from_x509(Path::new("fuzz"), x, part.3).expect("cert");
    let creds = HostCredentials {
        host_key: part.0.clone(),
        host_key_fs: part.1,
        sign_key: part.0.clone(),
        cert,
        identities: Vec::new(),
        digest: SessionDigest::Md5,
    };
    let mut h = LocalHost::new(creds, 4_004_760_000, 17, rng).expect("host");
    h.update(4_004_760_000);
    h
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(u64::from(selector));
    let f = fixture();
    let server = host(&f.alice, &mut rng);
    let mut client_host = host(&f.bob, &mut rng);
    let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    let now = 4_004_760_100;

    // The fuzz octets as the fields (and MAC) of a datagram.
    let mut dgram = vec![0u8; 48];
    dgram[0] = 0x24 | (selector & 0x07); // version 4, mode from the selector
    dgram.extend_from_slice(rest);
    let Ok(pkt) = PacketRef::parse(&dgram) else {
        return;
    };
    let fields: Vec<&[u8]> = pkt.fields().map(|x| x.as_bytes()).collect();

    // Server side: the fast path and the responder for every request.
    let _ = fast_path(&server, &pkt, b, a, now, &(), &mut rng);
    for fld in &fields {
        if let Ok(Message::Request(req)) = Message::parse(fld) {
            let ctx = RespondContext {
                assoc_id: req.assoc_id(),
                client: b,
                server: a,
                now,
                cookie: None,
                auto: None,
            };
            let _ = server.respond(&req, &ctx, &mut rng);
        }
    }

    // Client side, after genuine ASSOC and CERT responses.
    let kind = match selector >> 6 {
        0 | 1 => AssocKind::Client,
        2 => AssocKind::Symmetric,
        _ => AssocKind::BroadcastClient,
    };
    let mut assoc = Association::new(
        AssociationConfig {
            assoc_id: 7,
            local: b,
            remote: a,
            ident: None,
            identities: Vec::new(),
            poll: 4,
            automax: 12,
            kind,
        },
        now,
    );
    for req in [
        Request::Assoc {
            assoc_id: 7,
            host: "bob".into(),
            value: client_host.assoc_value(),
        },
        Request::Cert {
            assoc_id: 7,
            subject: "alice".into(),
            value: autokey::SignedValue::unsigned(now, 0, b"alice".to_vec()),
        },
    ] {
        if selector & 0x20 != 0 {
            break;
        }
        let ctx = RespondContext {
            assoc_id: 7,
            client: b,
            server: a,
            now,
            cookie: None,
            auto: None,
        };
        if let Ok(field) = Message::Response(server.respond(&req, &ctx, &mut rng)).to_field() {
            let _ = assoc.receive_fields(&mut client_host, &[field.as_bytes()], now, &mut rng);
        }
    }
    let _ = assoc.receive_fields(&mut client_host, &fields, now, &mut rng);
    let _ = assoc.receive(&mut client_host, &pkt, a, b, now, &mut rng);
    if let Ok(tx) = assoc.poll(&client_host, now + 16, &mut rng) {
        assert!(tx.fields.len() <= 2, "at most one response and one request");
    }
    assert_eq!(assoc.flags() & 0x8000, 0);
});
