//! Untrusted bytes never panic the parsers: random and mutated inputs give
//! values or typed errors.

use std::path::Path;

use keystore::cert::Certificate;
use keystore::{der, export, header, pem, MvResponse, SchnorrResponse};
use proptest::prelude::*;

fn fixture_cert() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/autokey-ref/keys/alice/ntpkey_RSA-MD5cert_alice.4004757732");
    std::fs::read_to_string(p).unwrap()
}

fn cert_der() -> Vec<u8> {
    let text = fixture_cert();
    Certificate::from_file_text(Path::new("c"), &text)
        .unwrap()
        .der
}

proptest! {
    #[test]
    fn text_parsers_never_panic(s in ".{0,400}") {
        let _ = header::parse_filestamp(Path::new("f"), &s);
        let _ = pem::blocks(&s);
        let _ = export::split(&s);
        let _ = pem::private_keys(Path::new("f"), &s, Some("pw"));
        let _ = Certificate::from_file_text(Path::new("f"), &s);
    }

    #[test]
    fn der_parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = der::read(&b);
        let _ = der::certificate_extensions(&b);
        let _ = der::decode_unsigned_sequence(&b, 2);
        let _ = SchnorrResponse::from_der(&b);
        let _ = MvResponse::from_der(&b);
    }

    #[test]
    fn mutated_certificates_never_panic(pos in 0usize..2000, byte in any::<u8>(), cut in 0usize..2000) {
        let mut d = cert_der();
        let i = pos % d.len();
        d[i] = byte;
        let _ = der::certificate_extensions(&d);
        d.truncate(cut % (d.len() + 1));
        let _ = der::certificate_extensions(&d);
        // The PEM text mutated in the base64 body.
        let mut t = fixture_cert().into_bytes();
        let j = 70 + pos % (t.len() - 100);
        t[j] = b"ABCDxyz+/="[usize::from(byte) % 10];
        let t = String::from_utf8(t).unwrap();
        let _ = Certificate::from_file_text(Path::new("c"), &t);
    }
}
