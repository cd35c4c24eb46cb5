//! Building the reference's packets from typed values through the public
//! API gives exactly the octets ntpd 4.2.8p18 sent (brief §13, a capture
//! made against the reference; MAC digests are copied, not computed).

use std::time::{Duration, UNIX_EPOCH};

use proto::exten::{signed_octets, CRYPTO_RESP};
use proto::{
    AutokeyCode, AutokeyHeader, AutokeyValue, ExtensionField, Header, KissCode, LeapIndicator, Mac,
    MacKind, Mode, NtpDate, NtpShort, NtpTimestamp, Packet, PacketRef, ReferenceId,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Brief §13.2, packet 1: ASSOC request, client 127.0.0.2 → server.
const PACKET1: &str = "
    e3 00 03 e9 00 00 00 00 00 00 00 00 49 4e 49 54
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 00 ee b3 bf 73 50 08 4b ad
    02 01 00 1c 00 00 38 12 00 00 00 00 00 08 00 01
    00 00 00 03 63 6c 69 00 00 00 00 00 0e c8 55 56
    f4 87 b3 b6 4e 1c a6 d8 b4 0e b0 6b 53 38 e4 f0";

fn client_header() -> Header {
    Header {
        leap: LeapIndicator::Unsynchronized,
        version: 4,
        mode: Mode::Client,
        stratum: 0,
        poll: 3,
        precision: -23,
        root_delay: NtpShort::ZERO,
        root_dispersion: NtpShort::ZERO,
        reference_id: ReferenceId::from_kiss_code(KissCode::Init),
        reference_timestamp: NtpTimestamp::ZERO,
        origin_timestamp: NtpTimestamp::ZERO,
        receive_timestamp: NtpTimestamp::ZERO,
        transmit_timestamp: NtpTimestamp::from_parts(0xeeb3_bf73, 0x5008_4bad),
    }
}

#[test]
fn assoc_request_built_from_typed_values_matches_the_capture() {
    let assoc = AutokeyValue {
        timestamp: 0,
        filestamp: 0x0008_0001, // status word: NID 8, ENAB
        value: b"cli",
        signature: &[],
    };
    let field = ExtensionField::new_autokey(
        AutokeyHeader::request(AutokeyCode::Assoc, 14354),
        Some(&assoc),
    )
    .unwrap();
    let digest = hex("f4 87 b3 b6 4e 1c a6 d8 b4 0e b0 6b 53 38 e4 f0");
    let packet = Packet {
        header: client_header(),
        fields: vec![field],
        mac: Some(Mac::new(0x0ec8_5556, &digest).unwrap()),
    };
    let wire = hex(PACKET1);
    assert_eq!(packet.serialize(), wire);
    assert_eq!(packet.mac_covered_len(), 0x4c);
    assert!(packet.is_unambiguous());

    let view = PacketRef::parse(&wire).unwrap();
    assert_eq!(view.authenticated_bytes(), &wire[..0x4c]);
    assert_eq!(view.mac().unwrap().kind(), MacKind::Digest16);
    // The transmit time is 2026-11-27 (the capture's date).
    let pivot = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    let sent = view
        .header()
        .transmit_timestamp
        .to_system_time(pivot)
        .unwrap();
    let unix = sent.duration_since(UNIX_EPOCH).unwrap();
    assert_eq!(unix.as_secs(), 1_795_768_563);
    assert_eq!(NtpDate::from_system_time(sent).era(), 0);
}

#[test]
fn assoc_response_field_matches_the_capture() {
    // Brief §13.3: 0x8201, L = 28, association ID echoed, ts = last update,
    // status 0x00080003, "srv".
    let v = AutokeyValue {
        timestamp: 0xeeb3_bf71,
        filestamp: 0x0008_0003,
        value: b"srv",
        signature: &[],
    };
    let f = ExtensionField::new_autokey(
        AutokeyHeader::response(AutokeyCode::Assoc, 0x3812),
        Some(&v),
    )
    .unwrap();
    assert_eq!(
        f.as_bytes(),
        &hex("82 01 00 1c 00 00 38 12 ee b3 bf 71 00 08 00 03 00 00 00 03 73 72 76 00 00 00 00 00")
            [..]
    );
    assert_eq!(f.field_type(), 0x8201);
    assert_eq!(u32::from(f.field_type()) << 16 & CRYPTO_RESP, CRYPTO_RESP);
}

#[test]
fn cookie_response_layout_matches_the_capture() {
    // Brief §13.4: COOK response, L = 152, ts 4004757379, fs 4004757361,
    // vallen 64 (OAEP ciphertext), siglen 64 (RSA-MD5 signature).
    let ciphertext = [0x1bu8; 64];
    let signature = [0x5au8; 64];
    let v = AutokeyValue {
        timestamp: 4_004_757_379,
        filestamp: 4_004_757_361,
        value: &ciphertext,
        signature: &signature,
    };
    let f =
        ExtensionField::new_autokey(AutokeyHeader::response(AutokeyCode::Cook, 0x3812), Some(&v))
            .unwrap();
    assert_eq!(f.len(), 152);
    assert_eq!(
        &f.as_bytes()[..20],
        &hex("82 03 00 98 00 00 38 12 ee b3 bf 83 ee b3 bf 71 00 00 00 40")[..]
    );
    assert_eq!(&f.as_bytes()[84..88], &[0, 0, 0, 0x40]);
    // The signature covers field octets [8, 20 + 64).
    assert_eq!(signed_octets(f.as_bytes()).unwrap(), &f.as_bytes()[8..84]);
}

#[test]
fn leap_exchange_and_crypto_nak() {
    // Brief §13.1 packet 9: 8-octet LEAP request + MAC = 76 octets.
    let req = ExtensionField::new_autokey(AutokeyHeader::request(AutokeyCode::Leap, 0x3812), None)
        .unwrap();
    let mut p = Packet::new(client_header());
    p.fields.push(req);
    p.mac = Some(Mac::new(0x2f97_4a6a, &[0u8; 16]).unwrap());
    let wire = p.serialize();
    assert_eq!(wire.len(), 76);
    assert_eq!(Packet::parse(&wire).unwrap(), p);
    // Brief §13.5: LEAP response value is three zero words (no leap file).
    let zeros = [0u8; 12];
    let sig = [1u8; 64];
    let v = AutokeyValue {
        timestamp: 0xeeb3_bf71,
        filestamp: 0xeeb3_bf6c,
        value: &zeros,
        signature: &sig,
    };
    let resp =
        ExtensionField::new_autokey(AutokeyHeader::response(AutokeyCode::Leap, 0x3812), Some(&v))
            .unwrap();
    assert_eq!(resp.len(), 100);
    assert_eq!(&resp.as_bytes()[..8], &hex("82 05 00 64 00 00 38 12")[..]);

    // Crypto-NAK: header + 4 zero octets = 52.
    let mut nak = Packet::new(Header {
        mode: Mode::Server,
        ..client_header()
    });
    nak.mac = Some(Mac::crypto_nak());
    let wire = nak.serialize();
    assert_eq!(wire.len(), 52);
    assert!(Packet::parse(&wire).unwrap().mac.unwrap().is_crypto_nak());
}
