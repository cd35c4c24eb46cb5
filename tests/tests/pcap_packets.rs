//! Every NTP datagram the reference ntpd 4.2.8p18 (and 4.2.8p10) put on the
//! wire in the fixture captures parses with `proto`, agrees field by field
//! with the independent decoder's `decode.txt` beside each capture, and
//! re-serialises byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

use ntp_tests::{decode_txt_path, fixtures_dir, ntp_datagrams, pcap_files, Datagram};
use proto::exten::signed_octets;
use proto::{AutokeyCode, MacKind, Mode, Packet, PacketRef, ParseError};

/// What each capture holds, counted by hand from its `decode.txt`:
/// (path below the fixtures folder, NTP datagrams, of which mode 6,
/// extension fields, value structures, MACs).
const EXPECTED: &[(&str, usize, usize, usize, usize, usize)] = &[
    ("runs/bcast-iff/capture.pcap", 23, 0, 23, 21, 23),
    ("runs/gq-keygen-files/capture.pcap", 14, 0, 14, 14, 14),
    ("runs/gq/capture.pcap", 26, 0, 12, 11, 26),
    ("runs/iff-keygen-files/capture.pcap", 14, 0, 14, 14, 14),
    ("runs/iff/alice/ntpq-mode6.pcap", 7, 7, 0, 0, 0),
    ("runs/iff/bob/ntpq-mode6.pcap", 22, 22, 0, 0, 0),
    ("runs/iff/capture.pcap", 26, 0, 12, 11, 26),
    ("runs/mv-keygen-files/capture.pcap", 14, 0, 14, 14, 14),
    ("runs/mv/capture.pcap", 26, 0, 12, 11, 26),
    ("runs/p10-bcast-iff/capture.pcap", 29, 0, 29, 27, 29),
    ("runs/p10-bcast-tc/capture.pcap", 24, 0, 24, 22, 24),
    ("runs/p10-sym-tc/capture.pcap", 26, 0, 26, 22, 26),
    ("runs/tc/capture.pcap", 18, 0, 10, 9, 18),
];

/// One extension field line of `decode.txt`.
#[derive(Debug, Default)]
struct DecodedField {
    name: String,
    len: usize,
    assoc: u32,
    tstamp: Option<u32>,
    fstamp: Option<u32>,
    vallen: Option<usize>,
    siglen: Option<usize>,
    /// The `value:` line that follows, if any.
    value_text: String,
}

/// One datagram line of `decode.txt` and its detail lines.
#[derive(Debug, Default)]
struct DecodedPacket {
    number: usize,
    mode: u8,
    len: usize,
    /// Opcode/length words listed in the summary, e.g. 0x0201001c.
    opcodes: Vec<u32>,
    fields: Vec<DecodedField>,
    /// (key ID, digest length) of the MAC line.
    mac: Option<(u32, usize)>,
}

fn number(s: &str) -> u32 {
    let s = s.trim_end_matches(',');
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).unwrap_or_else(|e| panic!("{s}: {e}")),
        None => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
    }
}

fn key_value<'a>(tokens: &'a [&'a str], key: &str) -> Option<&'a str> {
    tokens
        .iter()
        .find_map(|t| t.strip_prefix(key)?.strip_prefix('='))
}

/// Parses `decode.txt` into capture name (relative to its folder) →
/// datagrams.
fn parse_decode_txt(path: &Path) -> BTreeMap<String, Vec<DecodedPacket>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: BTreeMap<String, Vec<DecodedPacket>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            let name = name.trim();
            section = name.ends_with(".pcap").then(|| name.to_string());
            if let Some(s) = &section {
                out.entry(s.clone()).or_default();
            }
            continue;
        }
        let Some(sec) = &section else { continue };
        let packets = out.get_mut(sec).expect("section exists");
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        if !line.starts_with("      ") {
            // Datagram line: "N TIME SRC → DST MODE NAME len=L summary [mac=K]".
            let Some(len_at) = tokens.iter().position(|t| t.starts_with("len=")) else {
                continue;
            };
            let mut p = DecodedPacket {
                number: tokens[0].parse().expect("datagram number"),
                mode: tokens[len_at - 2].parse().expect("mode digit"),
                len: number(&tokens[len_at][4..]) as usize,
                ..Default::default()
            };
            for t in &tokens[len_at + 1..] {
                if let Some(h) = t.strip_prefix("(0x") {
                    p.opcodes
                        .push(number(&format!("0x{}", h.trim_end_matches([',', ')']))));
                }
            }
            packets.push(p);
            continue;
        }
        let Some(p) = packets.last_mut() else {
            continue;
        };
        if tokens[0] == "MAC:" {
            // "MAC: key ID 0x7a387691, 16-byte digest"
            let key = number(tokens[3]);
            let digest = tokens[4]
                .trim_end_matches("-byte")
                .parse()
                .expect("digest length");
            p.mac = Some((key, digest));
        } else if tokens[0] == "value:" {
            if let Some(f) = p.fields.last_mut() {
                f.value_text = line.trim().to_string();
            }
        } else if tokens[0].ends_with("-req") || tokens[0].ends_with("-resp") {
            p.fields.push(DecodedField {
                name: tokens[0].to_string(),
                len: number(key_value(&tokens, "len").expect("len=")) as usize,
                assoc: number(key_value(&tokens, "assoc").expect("assoc=")),
                tstamp: key_value(&tokens, "tstamp").map(number),
                fstamp: key_value(&tokens, "fstamp").map(number),
                vallen: key_value(&tokens, "vallen").map(|v| number(v) as usize),
                siglen: key_value(&tokens, "siglen").map(|v| number(v) as usize),
                value_text: String::new(),
            });
        }
    }
    out
}

/// Counts found in one capture.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    datagrams: usize,
    control: usize,
    fields: usize,
    values: usize,
    macs: usize,
}

/// Parses one datagram, checks it against its `decode.txt` entry, and
/// re-serialises it. Returns the counts it contributes.
fn check_datagram(what: &str, d: &Datagram, dec: &DecodedPacket, counts: &mut Counts) {
    counts.datagrams += 1;
    assert_eq!(d.payload.len(), dec.len, "{what}: length");
    let mode = Mode::of_datagram(&d.payload).expect("non-empty");
    assert_eq!(mode.to_bits(), dec.mode, "{what}: mode");
    if mode == Mode::Control {
        assert_eq!(
            Packet::parse(&d.payload),
            Err(ParseError::ControlMode),
            "{what}"
        );
        counts.control += 1;
        return;
    }
    let packet = Packet::parse(&d.payload).unwrap_or_else(|e| panic!("{what}: {e}"));
    let view = PacketRef::parse(&d.payload).unwrap_or_else(|e| panic!("{what}: {e}"));

    // Byte-identical re-serialisation, both ways.
    assert_eq!(packet.serialize(), d.payload, "{what}: re-serialised");
    let mut buf = [0u8; proto::MAX_DATAGRAM_LEN];
    let n = packet.serialize_into(&mut buf).expect("fits");
    assert_eq!(&buf[..n], &d.payload[..], "{what}: serialize_into");
    assert!(packet.is_unambiguous(), "{what}");
    assert_eq!(view.to_owned(), packet, "{what}");
    assert_eq!(packet.header.version, 4, "{what}: version");

    // MAC.
    let mac = packet.mac.expect("every fixture datagram is authenticated");
    counts.macs += 1;
    let (key, digest) = dec
        .mac
        .unwrap_or_else(|| panic!("{what}: decode.txt has no MAC line"));
    assert_eq!(mac.key_id(), key, "{what}: key ID");
    assert_eq!(mac.digest().len(), digest, "{what}: digest length");
    assert_eq!(mac.kind(), MacKind::Digest16, "{what}");
    assert_eq!(
        view.mac_covered_len() + mac.len(),
        d.payload.len(),
        "{what}"
    );
    assert_eq!(packet.mac_covered_len(), view.mac_covered_len(), "{what}");
    assert_eq!(
        view.authenticated_bytes(),
        &d.payload[..view.mac_covered_len()],
        "{what}"
    );

    // Extension fields.
    assert_eq!(packet.fields.len(), dec.fields.len(), "{what}: field count");
    assert_eq!(
        dec.opcodes.len(),
        dec.fields.len(),
        "{what}: decode.txt summary"
    );
    for (i, ((field, dfield), opcode)) in packet
        .fields
        .iter()
        .zip(&dec.fields)
        .zip(&dec.opcodes)
        .enumerate()
    {
        let what = format!("{what} field {}", i + 1);
        counts.fields += 1;
        let ak = field.autokey().unwrap_or_else(|e| panic!("{what}: {e}"));
        let h = ak.header();
        assert_eq!(h.opcode_word(), *opcode, "{what}: opcode word");
        assert_eq!(usize::from(h.length), dfield.len, "{what}: length");
        assert_eq!(field.len(), dfield.len, "{what}: length");
        assert_eq!(h.association_id, dfield.assoc, "{what}: association ID");
        assert_eq!(h.version, 2, "{what}");
        assert!(!h.error, "{what}: no error responses in the fixtures");
        let kind = if h.response { "resp" } else { "req" };
        assert_eq!(
            format!("{}-{kind}", h.code.name()),
            dfield.name,
            "{what}: code"
        );
        assert!(
            !matches!(h.code, AutokeyCode::Unknown(_) | AutokeyCode::Null),
            "{what}"
        );
        match ak.value().unwrap_or_else(|e| panic!("{what}: {e}")) {
            None => {
                assert_eq!(dfield.len, 8, "{what}: only 8-octet fields lack a value");
                assert!(dfield.vallen.is_none(), "{what}");
            }
            Some(v) => {
                counts.values += 1;
                assert_eq!(Some(v.vallen()), dfield.vallen, "{what}: vallen");
                assert_eq!(Some(v.siglen()), dfield.siglen, "{what}: siglen");
                assert_eq!(Some(v.timestamp), dfield.tstamp, "{what}: timestamp");
                assert_eq!(Some(v.filestamp), dfield.fstamp, "{what}: filestamp");
                // The reference always sends the minimal, zero-padded layout.
                assert_eq!(
                    field.len(),
                    24 + v.vallen().next_multiple_of(4) + v.siglen().next_multiple_of(4)
                );
                assert_eq!(v.signed_range(), 8..20 + v.vallen(), "{what}");
                assert_eq!(
                    signed_octets(field.as_bytes()),
                    Ok(&field.as_bytes()[8..20 + v.vallen()])
                );
                assert_eq!(
                    v.signed_bytes(),
                    &field.as_bytes()[v.signed_range()],
                    "{what}"
                );
                // Rebuilding from the parsed view gives the same octets.
                let rebuilt = proto::ExtensionField::new_autokey(h, Some(&v)).expect("builds");
                assert_eq!(&rebuilt, field, "{what}: rebuilt");
                check_value_text(&what, h.code, v.value, &dfield.value_text);
            }
        }
    }
}

/// Checks the decoder's description of the value where it is precise.
fn check_value_text(what: &str, code: AutokeyCode, value: &[u8], text: &str) {
    match code {
        AutokeyCode::Assoc => {
            let name = text
                .split('"')
                .nth(1)
                .unwrap_or_else(|| panic!("{what}: {text}"));
            assert_eq!(value, name.as_bytes(), "{what}: host name");
        }
        AutokeyCode::Cert if text.starts_with("value: subject requested") => {
            let name = text
                .split('"')
                .nth(1)
                .unwrap_or_else(|| panic!("{what}: {text}"));
            assert_eq!(value, name.as_bytes(), "{what}: subject");
        }
        AutokeyCode::Auto => {
            // "value: autokey values: final key ID 0xc570f3dc, sequence number 99"
            let t: Vec<&str> = text.split_whitespace().collect();
            let key = number(t[6]);
            let seq = number(t[9]);
            assert_eq!(value.len(), 8, "{what}");
            assert_eq!(value[..4], key.to_be_bytes(), "{what}: key ID");
            assert_eq!(value[4..], seq.to_be_bytes(), "{what}: sequence");
        }
        AutokeyCode::Leap if text == "value: TAI offset 0, leap epoch 0, expire 0" => {
            assert_eq!(value, &[0u8; 12], "{what}");
        }
        _ => {}
    }
}

#[test]
fn every_captured_datagram_parses_matches_decode_txt_and_round_trips() {
    let dir = fixtures_dir();
    let files = pcap_files(&dir);
    assert!(!files.is_empty(), "no captures under {}", dir.display());
    let mut seen = Vec::new();
    for pcap in &files {
        let rel = pcap
            .strip_prefix(&dir)
            .unwrap_or(pcap)
            .to_string_lossy()
            .replace('\\', "/");
        let datagrams = ntp_datagrams(pcap).unwrap_or_else(|e| panic!("{e}"));
        // The ntpq captures in runs/<run>/<host>/ are decoded in the run's
        // decode.txt, one folder up.
        let decode = decode_txt_path(pcap)
            .or_else(|| pcap.parent().and_then(decode_txt_path))
            .unwrap_or_else(|| panic!("{rel}: no decode.txt"));
        let sections = parse_decode_txt(&decode);
        // decode.txt sections are named relative to the run folder
        // ("capture.pcap", "bob/ntpq-mode6.pcap"): take the longest match.
        let decoded = sections
            .iter()
            .filter(|(name, _)| rel.ends_with(&format!("/{name}")))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("{rel}: no section in {}", decode.display()));
        assert_eq!(
            datagrams.len(),
            decoded.len(),
            "{rel}: datagram count vs decode.txt"
        );
        let mut counts = Counts::default();
        for (d, dec) in datagrams.iter().zip(decoded) {
            let what = format!("{rel} datagram {} (frame {})", dec.number, d.frame);
            check_datagram(&what, d, dec, &mut counts);
        }
        if let Some(&(_, n, control, fields, values, macs)) = EXPECTED.iter().find(|e| e.0 == rel) {
            assert_eq!(
                counts,
                Counts {
                    datagrams: n,
                    control,
                    fields,
                    values,
                    macs
                },
                "{rel}"
            );
            seen.push(rel);
        }
    }
    if std::env::var_os("AUTOKEY_FIXTURES").is_none() {
        assert_eq!(
            seen.len(),
            EXPECTED.len(),
            "expected every listed capture: found {seen:?}"
        );
    }
}

#[test]
fn totals_over_all_captures() {
    // 13 captures: 240 mode 1–5 datagrams with 190 Autokey fields
    // (176 of them with a value structure), and 29 mode 6 datagrams.
    let total: (usize, usize, usize, usize) = EXPECTED.iter().fold((0, 0, 0, 0), |a, e| {
        (a.0 + e.1 - e.2, a.1 + e.2, a.2 + e.3, a.3 + e.4)
    });
    assert_eq!(total, (240, 29, 190, 176));
    let mut fields = 0;
    let mut datagrams = 0;
    for pcap in pcap_files(&fixtures_dir()) {
        for d in ntp_datagrams(&pcap).unwrap_or_else(|e| panic!("{e}")) {
            if let Ok(p) = PacketRef::parse(&d.payload) {
                datagrams += 1;
                fields += p.field_count();
            }
        }
    }
    if std::env::var_os("AUTOKEY_FIXTURES").is_none() {
        assert_eq!((datagrams, fields), (240, 190));
    }
}
