//! The symmetric keys file reader against the ntp.keys(5) format as the
//! reference ntpd 4.2.8p18 reads it.

use std::net::IpAddr;
use std::path::Path;

use config::keys::{self, KeyAccess, KeyId, KeyType, KeysErrorKind, KeysFile, SymmetricKey};
use proptest::prelude::*;

fn parse(text: &str) -> Result<KeysFile, keys::KeysError> {
    keys::parse_str(text, Path::new("/etc/ntp.keys"))
}

/// A keys file in the exact layout `ntp-keygen -M` writes (autokey-protocol
/// brief §8.7): the two header comment lines, the blank line, then
/// `%2d MD5 <20 printable chars>  # MD5 key` for ids 1-10 and
/// `%2d SHA1 <40 hex digits>  # SHA1 key` for ids 11-20.
const NTP_KEYGEN_M: &str = r###"# ntpkey_MD5key_alice.4004757732
# Fri Nov 27 08:34:12 2026

 1 MD5 fr{:Nr6WqG('v_N1C}b_  # MD5 key
 2 MD5 J!F>n\as:]Yca*Vk3y+8  # MD5 key
 3 MD5 $ZnLEW_y1bPsk3^iy1pJ  # MD5 key
 4 MD5 fr~u3ppXI"=siMeAkT"|  # MD5 key
 5 MD5 3H2./:tyT}Fq:|=b\`Rn  # MD5 key
 6 MD5 3D.TKqC7A]BWBV`*360d  # MD5 key
 7 MD5 8m.3<5lvg:t4f.I]2a^D  # MD5 key
 8 MD5 ($J'+UHUsYFRf'Fj:Nyq  # MD5 key
 9 MD5 [?f><s?NF_wZ`ad)(a]O  # MD5 key
10 MD5 _1T|D{xT?*;G=>.$PH=&  # MD5 key
11 SHA1 4adfabcac140c2ec845f1beb941f36d84ea90cb4  # SHA1 key
12 SHA1 ac420f8f2c0dd9674ca44c0a40bfacc763a6daff  # SHA1 key
13 SHA1 dd4b676dbddfc1246b028c92c50024dfc0556a33  # SHA1 key
14 SHA1 7e0a4883675458e6789e6c756c99c5a52f161c51  # SHA1 key
15 SHA1 68123f7d078c1a65e2bf0a2c4060972ddc0afb3a  # SHA1 key
16 SHA1 777960f68dee3a66a32f83206bb5a4785a6b2d6b  # SHA1 key
17 SHA1 8b742bf8c3bda6c4ce34e74464a9348c7d305301  # SHA1 key
18 SHA1 a8c6a4afd5171a3c669f0e3e0bec4f4fcbcbed42  # SHA1 key
19 SHA1 9eaa26ea89edb24e3a5f978f0dc1991b0d311774  # SHA1 key
20 SHA1 8ee9fcc1cac74823c1f87ee14349c5a183a0ac97  # SHA1 key
"###;

#[test]
fn ntp_keygen_m_file_parses() {
    let f = parse(NTP_KEYGEN_M).unwrap();
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    assert_eq!(f.keys.len(), 20);
    for (i, k) in f.keys.iter().enumerate() {
        let id = u16::try_from(i + 1).unwrap();
        assert_eq!(k.id.get(), id);
        assert_eq!(k.line, u32::from(id) + 3);
        assert!(k.allowed.is_empty());
        if id <= 10 {
            assert_eq!(k.kind, KeyType::Md5);
            assert_eq!(k.secret.len(), 20);
        } else {
            assert_eq!(k.kind, KeyType::Sha1);
            assert_eq!(k.secret.len(), 20);
        }
    }
    assert_eq!(
        f.get(KeyId::new(4).unwrap()).unwrap().secret,
        br#"fr~u3ppXI"=siMeAkT"|"#
    );
    assert_eq!(
        f.get(KeyId::new(11).unwrap()).unwrap().secret,
        [
            0x4a, 0xdf, 0xab, 0xca, 0xc1, 0x40, 0xc2, 0xec, 0x84, 0x5f, 0x1b, 0xeb, 0x94, 0x1f,
            0x36, 0xd8, 0x4e, 0xa9, 0x0c, 0xb4
        ]
    );
}

#[test]
fn load_reads_a_file_and_reports_missing_ones() {
    let dir = std::env::temp_dir().join(format!("keys-file-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ntp.keys");
    std::fs::write(&path, NTP_KEYGEN_M).unwrap();
    assert_eq!(keys::load(&path).unwrap().keys.len(), 20);
    let missing = dir.join("absent.keys");
    let err = keys::load(&missing).unwrap_err();
    assert!(err.to_string().starts_with(&format!(
        "{}: cannot read the keys file:",
        missing.display()
    )));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Lines the reference accepts: (line, id, type, secret, allowed list as text).
#[test]
fn good_lines() {
    let table: &[(&str, u16, KeyType, &[u8], &str)] = &[
        ("1 MD5 secret", 1, KeyType::Md5, b"secret", ""),
        ("65535 md5 x", 65535, KeyType::Md5, b"x", ""),
        ("\t2\tSHA1\tabc\t", 2, KeyType::Sha1, b"abc", ""),
        (
            "3 sha256 12345678901234567890",
            3,
            KeyType::Sha256,
            b"12345678901234567890",
            "",
        ),
        (
            "4 AES128CMAC 000102030405060708090a0b0c0d0e0f",
            4,
            KeyType::Aes128Cmac,
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
            "",
        ),
        (
            "5 aes128cmac 00112233445566778899AABBCCDDEEFF",
            5,
            KeyType::Aes128Cmac,
            &[
                0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                0xee, 0xff,
            ],
            "",
        ),
        (
            "6 MD5 0x1234 # 0x is part of an ASCII key",
            6,
            KeyType::Md5,
            b"0x1234",
            "",
        ),
        ("7 MD5 k 192.0.2.1", 7, KeyType::Md5, b"k", "192.0.2.1"),
        (
            "8 SHA1 k 192.0.2.0/24,2001:db8::/32,[2001:db8::1]/64",
            8,
            KeyType::Sha1,
            b"k",
            "192.0.2.0/24,2001:db8::/32,2001:db8::1/64",
        ),
        (
            "9 SHA1 k fe80::1%eth0#comment",
            9,
            KeyType::Sha1,
            b"k",
            "fe80::1%eth0",
        ),
        ("10 SHA512 k", 10, KeyType::Sha512, b"k", ""),
        ("11 ripemd160 k", 11, KeyType::Ripemd160, b"k", ""),
        ("12 M k", 12, KeyType::Md5, b"k", ""),
        (
            "13 MD5 !\"$%&'()*+,-./:;<=>",
            13,
            KeyType::Md5,
            b"!\"$%&'()*+,-./:;<=>",
            "",
        ),
    ];
    for &(line, id, kind, secret, allowed) in table {
        let f = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(f.keys.len(), 1, "{line}");
        let k = &f.keys[0];
        assert_eq!(
            (k.id.get(), k.kind, k.secret.as_slice()),
            (id, kind, secret),
            "{line}"
        );
        let list: Vec<String> = k.allowed.iter().map(KeyAccess::to_string).collect();
        assert_eq!(list.join(","), allowed, "{line}");
    }
}

#[test]
fn comments_and_blank_lines_are_skipped() {
    let f = parse("# comment\n\n   \n\t# indented comment\n1 MD5 a\n").unwrap();
    assert_eq!(f.keys.len(), 1);
    assert_eq!(f.keys[0].line, 5);
}

/// Lines the reference rejects (it then refuses the whole file): exact
/// messages with FILE:LINE:COL.
#[test]
fn bad_lines() {
    let table: &[(&str, &str)] = &[
        ("0 MD5 a", "/etc/ntp.keys:1:1: key id 0 cannot be set (it means \"no key\"); expected a key id from 1 to 65535"),
        ("65536 MD5 a", "/etc/ntp.keys:1:1: key id 65536 is above 65535 (those ids are reserved for Autokey); expected a key id from 1 to 65535"),
        ("99999999999999999999999 MD5 a", "/etc/ntp.keys:1:1: key id 99999999999999999999999 is above 65535 (those ids are reserved for Autokey); expected a key id from 1 to 65535"),
        ("  abc MD5 a", "/etc/ntp.keys:1:3: key id `abc` is not a decimal number; expected a key id from 1 to 65535 at the start of the line"),
        ("12abc MD5 a", "/etc/ntp.keys:1:1: key id `12abc` is not a decimal number; expected a key id from 1 to 65535 at the start of the line"),
        ("-1 MD5 a", "/etc/ntp.keys:1:1: key id `-1` is not a decimal number; expected a key id from 1 to 65535 at the start of the line"),
        ("5", "/etc/ntp.keys:1:2: key 5 has no type; expected `KEYID TYPE KEY`, TYPE one of MD5, SHA1, SHA256, AES128CMAC, SHA224, SHA384, SHA512, SHA512-224, SHA512-256, SHA3-224, SHA3-256, SHA3-384, SHA3-512, RIPEMD160, SM3"),
        ("5 #MD5 a", "/etc/ntp.keys:1:2: key 5 has no type; expected `KEYID TYPE KEY`, TYPE one of MD5, SHA1, SHA256, AES128CMAC, SHA224, SHA384, SHA512, SHA512-224, SHA512-256, SHA3-224, SHA3-256, SHA3-384, SHA3-512, RIPEMD160, SM3"),
        ("5 DES a", "/etc/ntp.keys:1:3: unknown key type `DES` for key 5; expected one of MD5, SHA1, SHA256, AES128CMAC, SHA224, SHA384, SHA512, SHA512-224, SHA512-256, SHA3-224, SHA3-256, SHA3-384, SHA3-512, RIPEMD160, SM3"),
        ("5 MD5 # no key", "/etc/ntp.keys:1:6: key 5 has no secret; expected `KEYID TYPE KEY`, KEY being 1 to 20 ASCII characters or 21 to 128 hex digits"),
        ("5 SHA1 0123456789abcdef0123g", "/etc/ntp.keys:1:28: key 5 is longer than 20 characters, so it is read as hex, but `g` is not a hex digit; expected only 0-9, a-f, A-F (or an ASCII key of at most 20 characters)"),
        ("5 SHA1 0x0123456789abcdef0123", "/etc/ntp.keys:1:9: key 5 is longer than 20 characters, so it is read as hex, but `x` is not a hex digit; expected only 0-9, a-f, A-F (or an ASCII key of at most 20 characters)"),
        ("5 SHA1 k 192.0.2.1,", "/etc/ntp.keys:1:20: `` in the address list of key 5 is not an IP address; expected IPv4 or IPv6 addresses (with an optional /PREFIX) separated by commas, no spaces"),
        ("5 SHA1 k 192.0.2.1,ntp.example.org", "/etc/ntp.keys:1:20: `ntp.example.org` in the address list of key 5 is not an IP address; expected IPv4 or IPv6 addresses (with an optional /PREFIX) separated by commas, no spaces"),
        ("5 SHA1 k 192.0.2.0/2x", "/etc/ntp.keys:1:21: bad subnet `/2x` in the address list of key 5; expected a prefix length in decimal digits, e.g. 192.0.2.0/24"),
        ("5 SHA1 k 192.0.2.1\r", "/etc/ntp.keys:1:10: `192.0.2.1\r` in the address list of key 5 is not an IP address; expected IPv4 or IPv6 addresses (with an optional /PREFIX) separated by commas, no spaces"),
        ("\r", "/etc/ntp.keys:1:1: key id `\r` is not a decimal number; expected a key id from 1 to 65535 at the start of the line"),
        ("1 MD5 a\u{0}b", "/etc/ntp.keys:1:8: NUL byte in the keys file; expected a text file"),
    ];
    for &(line, expected) in table {
        let err = parse(line).expect_err(line);
        assert_eq!(err.to_string(), expected, "{line:?}");
    }
}

#[test]
fn hex_length_limits() {
    let max = "ab".repeat(64);
    assert_eq!(
        parse(&format!("1 SHA1 {max}")).unwrap().keys[0]
            .secret
            .len(),
        64
    );
    let over = format!("1 SHA1 {max}a");
    let err = parse(&over).unwrap_err();
    assert_eq!(
        err.kind(),
        Some(&KeysErrorKind::HexTooLong { id: 1, digits: 129 })
    );
    // 21 digits: 11 octets, the last one holding only its high nibble.
    let k = parse("1 SHA1 ffffffffffffffffffff1").unwrap();
    assert_eq!(k.keys[0].secret.last(), Some(&0x10));
}

#[test]
fn an_error_on_a_later_line_names_that_line() {
    let err = parse(&format!("{NTP_KEYGEN_M}21 SHA1 k 300.1.1.1\n")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/etc/ntp.keys:24:11: `300.1.1.1`"),
        "{err}"
    );
}

#[test]
fn warnings() {
    let cases: &[(&str, &str)] = &[
        ("1 M k", "/etc/ntp.keys:1:3: warning: key type `M` is taken as MD5 (the reference reads any unknown name starting with M as MD5); write MD5"),
        ("1 SHA384 k", "/etc/ntp.keys:1:3: warning: key 1 of type SHA384 is valid for the reference ntpd but this ntpd computes MACs only with MD5, SHA1, SHA256 and AES128CMAC; packets using this key will not authenticate"),
        ("1 AES128CMAC short", "/etc/ntp.keys:1:14: warning: AES128CMAC keys are 128 bits; key 1 has 5 octets and is zero-extended"),
        ("1 MD5 k 192.0.2.1 192.0.2.2", "/etc/ntp.keys:1:19: warning: text after the address list is ignored (addresses must be separated by commas, without spaces)"),
        ("1 MD5 k 192.0.2.1/40", "/etc/ntp.keys:1:9: warning: prefix /40 is longer than the address (32 bits) for key 1; the whole address must match"),
        ("1 MD5 k 192.0.2.1/", "/etc/ntp.keys:1:9: warning: `/` without digits in the address list of key 1 means prefix 0, which matches every address of that family"),
        ("1 MD5 secret\r", "/etc/ntp.keys:1:13: warning: key 1 contains a carriage return (CRLF line end?); it is part of the secret, as in the reference ntpd"),
    ];
    for &(line, expected) in cases {
        let f = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let got: Vec<String> = f.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(got, vec![expected.to_owned()], "{line:?}");
    }
    let long = format!("1 MD5 k # {}", "x".repeat(600));
    let f = parse(&long).unwrap();
    assert_eq!(f.warnings.len(), 1);
    assert!(f.warnings[0]
        .to_string()
        .starts_with("/etc/ntp.keys:1:512: warning: line is 610 bytes long"));
}

#[test]
fn allows_checks_the_address_list() {
    let f = parse("1 MD5 a\n2 MD5 b 192.0.2.0/24,2001:db8::1\n").unwrap();
    let open = f.get_u32(1).unwrap();
    let limited = f.get_u32(2).unwrap();
    assert!(open.allows(ip("203.0.113.1")));
    assert!(limited.allows(ip("192.0.2.200")));
    assert!(limited.allows(ip("2001:db8::1")));
    assert!(!limited.allows(ip("192.0.3.1")));
    assert!(!limited.allows(ip("2001:db8::2")));
}

#[test]
fn unrepresentable_secret_is_a_write_error() {
    let key = SymmetricKey {
        id: KeyId::new(3).unwrap(),
        kind: KeyType::Md5,
        secret: vec![0, 1, 2],
        allowed: Vec::new(),
        line: 0,
    };
    let file = KeysFile {
        keys: vec![key],
        warnings: Vec::new(),
    };
    assert_eq!(
        file.to_keys_string().unwrap_err().to_string(),
        "key 3: a secret of 3 octets that is not printable ASCII cannot be written (hex keys need 11 to 64 octets)"
    );
}

fn arb_secret() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec((0x21u8..0x7f).prop_filter("no #", |b| *b != b'#'), 1..=20),
        proptest::collection::vec(any::<u8>(), 11..=64),
    ]
}

fn arb_access() -> impl Strategy<Value = KeyAccess> {
    prop_oneof![
        (any::<[u8; 4]>(), proptest::option::of(0u8..=32)).prop_map(|(a, p)| KeyAccess {
            addr: IpAddr::from(a),
            scope: None,
            prefix_len: p,
        }),
        (
            any::<[u8; 16]>(),
            proptest::option::of(prop_oneof![Just("eth0".to_owned()), Just("2".to_owned())]),
            proptest::option::of(0u8..=128)
        )
            .prop_map(|(a, scope, p)| KeyAccess {
                addr: IpAddr::from(a),
                scope,
                prefix_len: p,
            }),
    ]
}

fn arb_keys() -> impl Strategy<Value = Vec<SymmetricKey>> {
    proptest::collection::btree_map(
        1u16..=65535,
        (
            proptest::sample::select(KeyType::ALL.to_vec()),
            arb_secret(),
            proptest::collection::vec(arb_access(), 0..4),
        ),
        0..12,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(id, (kind, secret, allowed))| SymmetricKey {
                id: KeyId::new(id).unwrap(),
                kind,
                secret,
                allowed,
                line: 0,
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn generated_files_round_trip(keys in arb_keys()) {
        let file = KeysFile { keys, warnings: Vec::new() };
        let text = file.to_keys_string().unwrap();
        let back = parse(&text).unwrap();
        prop_assert_eq!(back.keys.len(), file.keys.len());
        for (i, (a, b)) in file.keys.iter().zip(&back.keys).enumerate() {
            prop_assert_eq!(a.id, b.id);
            prop_assert_eq!(a.kind, b.kind);
            prop_assert_eq!(&a.secret, &b.secret);
            prop_assert_eq!(&a.allowed, &b.allowed);
            prop_assert_eq!(b.line as usize, i + 1);
        }
        // Canonical text is a fixed point.
        prop_assert_eq!(back.to_keys_string().unwrap(), text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = keys::parse_bytes(&bytes, Path::new("fuzz.keys"));
    }

    #[test]
    fn arbitrary_key_lines_never_panic(line in "[0-9]{1,6}[ \t]+[A-Za-z0-9-]{1,12}[ \t]+[ -~]{1,140}") {
        let _ = parse(&line);
    }
}
