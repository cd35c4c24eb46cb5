//! Criterion benchmarks of header and extension-field parsing on a real
//! Autokey datagram: the CERT response (568 octets: header, one 500-octet
//! CERT response field with a 411-octet certificate and a 64-octet RSA-MD5
//! signature, 20-octet MAC) that the reference ntpd 4.2.8p18 sent in
//! `tests/data/autokey-ref/runs/iff/capture.pcap` (datagram 4).
//!
//! Run: `cargo bench -p proto -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use proto::exten::signed_octets;
use proto::{walk_fields, Header, Packet, PacketRef};

/// UDP payload of datagram 4 of runs/iff/capture.pcap, hex.
const CERT_RESPONSE_HEX: &[&str] = &[
    "240504e900000000000000007f0000010000000000000000eeb3c34512e394d1eeb3c34512e6a022eeb3c34512ece7b1",
    "820201f400007df9eeb3c333eeb3c0e40000019b3082019730820141a003020102020500eeb3c0ea300d06092a864886",
    "f70d01010405003010310e300c06035504030c05616c696365301e170d3236313132373038343231385a170d32373131",
    "32373038343231385a3010310e300c06035504030c05616c696365305c300d06092a864886f70d0101010500034b0030",
    "48024100beb917628081741f49b69fafb77028e49130229bf2cb4d2defabad3ccd4d2e88b0f43fda1818e5b2877f962a",
    "71884a19e98187057f57d753de21456eee05aa510203010001a38181307f300f0603551d130101ff040530030101ff30",
    "0b0603551d0f04040302028430490603551d0e044204407f4ec59677b1b42df1ca4c2e5cd294b971709b90ef64d0f444",
    "d95cd9b7b652439593a583c64fbc8b0f04bf1907ef9225e986a713a39bec1b6cc220c8dc261a7b30140603551d25040d",
    "300b06092b060105050730010b300d06092a864886f70d010104050003410093b1d9ef116f9aac324e1b875850458e92",
    "47500455761f67727764b2814b374b3ba6e4482e3ae4978072274ce03caca5a6d0587f5c8efce75f63e40d97d594d000",
    "0000004016484818c62027c9365d05ca0de424c07d8e1a58672c11814007738cc8f4c56368efdcf43233d9c2c50c7a06",
    "24f7779df6ce3754665db8663a308eaecaab22507b9ae12bfc578fab48f72deeef832d3de75026cb",
];

fn cert_response() -> Vec<u8> {
    let hex: String = CERT_RESPONSE_HEX.concat();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn benches(c: &mut Criterion) {
    let pkt = cert_response();
    assert_eq!(pkt.len(), 568);
    let field_bytes = {
        let p = PacketRef::parse(&pkt).expect("captured datagram parses");
        let f = p.fields().next().expect("one field");
        f.as_bytes().to_vec()
    };

    c.bench_function("header_parse", |b| {
        b.iter(|| Header::parse(black_box(&pkt)).expect("parses"))
    });
    c.bench_function("exten_chain_walk", |b| {
        b.iter(|| walk_fields(black_box(&pkt), 48).expect("walks").len())
    });
    c.bench_function("autokey_field_and_value_parse", |b| {
        b.iter(|| {
            let f = proto::AutokeyField::parse(black_box(&field_bytes)).expect("autokey");
            let v = f.value().expect("value").expect("has value");
            (f.header().code, v.vallen(), v.siglen())
        })
    });
    c.bench_function("signed_octets", |b| {
        b.iter(|| signed_octets(black_box(&field_bytes)).expect("range").len())
    });
    c.bench_function("packet_ref_parse", |b| {
        b.iter(|| {
            PacketRef::parse(black_box(&pkt))
                .expect("parses")
                .field_count()
        })
    });
    c.bench_function("packet_parse_owned", |b| {
        b.iter(|| Packet::parse(black_box(&pkt)).expect("parses"))
    });
    let owned = Packet::parse(&pkt).expect("parses");
    let mut buf = [0u8; proto::MAX_DATAGRAM_LEN];
    c.bench_function("packet_serialize_into", |b| {
        b.iter(|| black_box(&owned).serialize_into(&mut buf).expect("fits"))
    });
}

criterion_group!(parse, benches);
criterion_main!(parse);
