//! The identity algebra checked against the real IFF, GQ and MV exchanges
//! in the reference captures (tests/data/autokey-ref/runs/*/capture.pcap):
//! our client-side verification accepts every response the reference
//! server sent with working key files, and rejects those of the runs that
//! failed (`*-keygen-files`), for the reasons the brief gives.

use std::fs::File;
use std::path::{Path, PathBuf};

use keystore::pem;
use keystore::{
    GqKey, GqParams, IffKey, IffParams, Keysdir, MvClientKey, MvResponse, MvServerKey,
    SchnorrResponse,
};
use openssl::bn::{BigNum, BigNumContext};
use pcap_file::pcap::PcapReader;

const ALICE_PW: &str = "serverpassword";

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/autokey-ref")
}

/// (opcode, is_response, value) of the first extension field of every NTP
/// datagram in an Ethernet/IPv4 capture.
fn extension_fields(run: &str) -> Vec<(u8, bool, Vec<u8>)> {
    let file = File::open(data().join("runs").join(run).join("capture.pcap")).unwrap();
    let mut reader = PcapReader::new(file).unwrap();
    let mut out = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.unwrap();
        let d: &[u8] = &pkt.data;
        if d.len() < 14 + 20 || u16::from_be_bytes([d[12], d[13]]) != 0x0800 {
            continue;
        }
        let ip = &d[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ip[9] != 17 {
            continue;
        }
        let udp = &ip[ihl..];
        let ntp = &udp[8..];
        // NTP header (48) + EF header (4) + assoc (4) + ts (4) + fs (4) + vallen (4).
        if ntp.len() < 48 + 20 {
            continue;
        }
        let ef = &ntp[48..];
        let word = u32::from_be_bytes(ef[0..4].try_into().unwrap());
        let len = (word & 0xffff) as usize;
        if len < 20 || len > ef.len() || (word >> 24) & 0x3f != 2 {
            continue;
        }
        let opcode = ((word >> 16) & 0xff) as u8;
        let vallen = u32::from_be_bytes(ef[16..20].try_into().unwrap()) as usize;
        let Some(value) = ef.get(20..20 + vallen) else {
            continue;
        };
        out.push((opcode, word & 0x8000_0000 != 0, value.to_vec()));
    }
    out
}

/// (challenge r, response value) pairs of one identity opcode.
fn exchanges(run: &str, opcode: u8) -> Vec<(BigNum, Vec<u8>)> {
    let mut pairs = Vec::new();
    let mut pending: Option<BigNum> = None;
    for (op, resp, value) in extension_fields(run) {
        if op != opcode {
            continue;
        }
        if !resp {
            pending = Some(BigNum::from_slice(&value).unwrap());
        } else if let Some(r) = pending.take() {
            pairs.push((r, value));
        }
    }
    assert!(!pairs.is_empty(), "{run}: no exchange with opcode {opcode}");
    pairs
}

fn key_file(rel: &str, pw: Option<&str>) -> (PathBuf, openssl::pkey::PKey<openssl::pkey::Private>) {
    let p = data().join("keys").join(rel);
    let text = std::fs::read_to_string(&p).unwrap();
    let k = pem::private_keys(&p, &text, pw).unwrap().remove(0);
    (p, k)
}

fn iff_params() -> IffParams {
    let (p, k) = key_file("repaired/ntpkey_iffpar_alice.4004757732", None);
    IffParams::from_pkey(&p, &k).unwrap()
}

#[test]
fn iff_responses_of_the_reference_server_verify() {
    let params = iff_params();
    // Repaired client file, and the stock server key (its b is intact, so
    // even the failing run's server answered correctly: only the client's
    // lost v made the reference fail).
    for run in ["iff", "bcast-iff", "p10-bcast-iff", "iff-keygen-files"] {
        for (r, value) in exchanges(run, 7) {
            // 20-octet q: y and H(x) each up to 21 octets with a sign octet.
            assert!((40..=48).contains(&value.len()), "{}", value.len());
            let resp = SchnorrResponse::from_der(&value).unwrap();
            assert!(params.verify(&r, &resp).unwrap(), "{run}");
            // The stock client file's v (= g after PKCS#8) rejects it: 0x10e.
            let stock = IffParams {
                p: params.p.to_owned().unwrap(),
                q: params.q.to_owned().unwrap(),
                g: params.g.to_owned().unwrap(),
                v: params.g.to_owned().unwrap(),
            };
            assert!(!stock.verify(&r, &resp).unwrap(), "{run}");
            // Re-encoding gives the same octets.
            assert_eq!(resp.to_der(), value);
        }
    }
}

#[test]
fn gq_responses_of_the_reference_server() {
    let alice = Keysdir::new(data().join("keys/alice"));
    let v =
        BigNum::from_slice(&alice.certificate("alice").unwrap().subject_key_id.unwrap()).unwrap();
    let (p, k) = key_file("repaired/ntpkey_gqpar_alice.4004757732", None);
    let params = GqParams::from_pkey(&p, &k).unwrap();
    for (r, value) in exchanges("gq", 8) {
        let resp = SchnorrResponse::from_der(&value).unwrap();
        assert!(params.verify(&v, &r, &resp).unwrap());
    }
    // Stock files: the reference server computed y = k·b^r and sent H(k)
    // (brief §6.3); the intended check fails, the defect's maths holds.
    let server = alice
        .gq_key("alice", Some(ALICE_PW))
        .unwrap()
        .unwrap()
        .value;
    for (r, value) in exchanges("gq-keygen-files", 8) {
        let resp = SchnorrResponse::from_der(&value).unwrap();
        assert!(!params.verify(&v, &r, &resp).unwrap());
        let mut ctx = BigNumContext::new().unwrap();
        let mut br = BigNum::new().unwrap();
        br.mod_exp(&server.b, &r, &server.n, &mut ctx).unwrap();
        let mut inv = BigNum::new().unwrap();
        inv.mod_inverse(&br, &server.n, &mut ctx).unwrap();
        let mut k_ = BigNum::new().unwrap();
        k_.mod_mul(&resp.y, &inv, &server.n, &mut ctx).unwrap();
        assert_eq!(
            keystore::identity::proof::digest_integer(&k_).unwrap(),
            resp.hx
        );
    }
}

#[test]
fn mv_responses_of_the_reference_server() {
    let (p, k) = key_file("repaired/ntpkey_mvpar_alice.4004757732", None);
    let client = MvClientKey::from_pkey(&p, &k).unwrap();
    for (r, value) in exchanges("mv", 9) {
        let resp = MvResponse::from_der(&value).unwrap();
        assert!(client.verify(&r, &resp).unwrap());
        assert_eq!(resp.to_der(), value);
    }
    // The stock server key's ĝ was recomputed as E^ḡ: the response fails.
    for (r, value) in exchanges("mv-keygen-files", 9) {
        let resp = MvResponse::from_der(&value).unwrap();
        assert!(!client.verify(&r, &resp).unwrap());
    }
}

#[test]
fn our_servers_answer_and_our_clients_check() {
    let alice = Keysdir::new(data().join("keys/alice"));
    // IFF with alice's genuine key.
    let iff: IffKey = alice
        .iff_key("alice", Some(ALICE_PW))
        .unwrap()
        .unwrap()
        .value;
    let (r, k) = (
        BigNum::from_u32(123_456_789).unwrap(),
        BigNum::from_u32(987_654_321).unwrap(),
    );
    let resp = iff.respond(&r, &k).unwrap();
    assert!(iff_params().verify(&r, &resp).unwrap());
    let wrong = BigNum::from_u32(123_456_788).unwrap();
    assert!(!iff_params().verify(&wrong, &resp).unwrap());
    // GQ with the repaired server key and the certificate's v.
    let (p, key) = key_file("repaired/ntpkey_gqkey_alice.4004757732", Some(ALICE_PW));
    let gq = GqKey::from_pkey(&p, &key).unwrap();
    let resp = gq.respond(&r, &k).unwrap();
    let v =
        BigNum::from_slice(&alice.certificate("alice").unwrap().subject_key_id.unwrap()).unwrap();
    assert!(gq.params().unwrap().verify(&v, &r, &resp).unwrap());
    assert!(!gq.params().unwrap().verify(&v, &wrong, &resp).unwrap());
    // MV with the repaired server and client keys.
    let (p, key) = key_file("repaired/ntpkey_mvkey_alice.4004757732", Some(ALICE_PW));
    let mv = MvServerKey::from_pkey(&p, &key).unwrap();
    let (p, key) = key_file("repaired/ntpkey_mvpar_alice.4004757732", None);
    let client = MvClientKey::from_pkey(&p, &key).unwrap();
    let resp = mv.respond(&r, &k).unwrap();
    assert!(client.verify(&r, &resp).unwrap());
    assert!(!client.verify(&wrong, &resp).unwrap());
    // Oversized values are refused even when the algebra would hold.
    let iff_resp = iff.respond(&r, &k).unwrap();
    let mut big_y = BigNum::new().unwrap();
    big_y.checked_add(&iff_resp.y, &iff.params.q).unwrap();
    let oversized = SchnorrResponse {
        y: big_y,
        hx: iff_resp.hx.to_owned().unwrap(),
    };
    assert!(!iff_params().verify(&r, &oversized).unwrap());
    let mut big_y = BigNum::new().unwrap();
    big_y.checked_add(&resp.y, &mv.p).unwrap();
    let oversized = MvResponse {
        y: big_y,
        gbar_k: resp.gbar_k.to_owned().unwrap(),
        ghat_k: resp.ghat_k.to_owned().unwrap(),
    };
    assert!(!client.verify(&r, &oversized).unwrap());
    // Malformed responses are refused, not panicked on.
    assert!(SchnorrResponse::from_der(&[0x30, 0x00]).is_none());
    assert!(MvResponse::from_der(&resp.to_der()[..10]).is_none());
}
