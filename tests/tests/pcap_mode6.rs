//! Every mode 6 (RFC 9327) datagram the reference ntpq/ntpd 4.2.8p18
//! exchanged in the fixtures is decoded, checked against the fixtures'
//! independent decoder listing (`runs/iff/decode.txt`), re-serialised
//! byte-identically, reassembled, and compared with what the reference
//! ntpq printed (`ntpq-*.txt` beside each capture). The reference ntpd's
//! fragmentation and line breaking are reproduced byte for byte by
//! `ResponseWriter`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ntp_tests::{fixtures_dir, ntp_datagrams, pcap_files};
use proto::control::{
    parse_association_list, ControlHeader, ControlMessage, FragmentKey, Opcode, PeerStatus,
    PeerStatusFlags, ReassembledResponse, Reassembler, ReassemblyProgress, ResponseWriter,
    StatusWord, SystemStatus, VarList, VarValue,
};

fn is_mode6(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b & 7 == 6)
}

fn iff_host(host: &str) -> PathBuf {
    fixtures_dir().join("runs/iff").join(host)
}

fn mode6_messages(host: &str) -> Vec<Captured> {
    let pcap = iff_host(host).join("ntpq-mode6.pcap");
    ntp_datagrams(&pcap)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|d| {
            let m = ControlMessage::parse(&d.payload)
                .unwrap_or_else(|e| panic!("{} frame {}: {e}", pcap.display(), d.frame));
            (d.payload, m)
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One datagram as the fixtures' decoder listed it.
#[derive(Debug, PartialEq)]
struct Listed {
    len: usize,
    response: bool,
    opcode: u8,
    assoc: u16,
    more: bool,
    seq: u16,
    status: u16,
    offset: u16,
    count: u16,
}

/// The `## <host>/ntpq-mode6.pcap` section of `runs/iff/decode.txt`.
fn decode_listing(host: &str) -> Vec<Listed> {
    let text = read(&fixtures_dir().join("runs/iff/decode.txt"));
    let title = format!("## {host}/ntpq-mode6.pcap");
    let mut lines = text
        .lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| !l.starts_with("## "));
    let field = |s: &str, key: &str| -> String {
        let start = s
            .find(key)
            .unwrap_or_else(|| panic!("{key} missing in {s:?}"))
            + key.len();
        s[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect()
    };
    let mut out = Vec::new();
    while let Some(l) = lines.next() {
        if !l.contains("mode 6") {
            continue;
        }
        let detail = lines.next().expect("detail line");
        let hex = |s: String| u16::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
        out.push(Listed {
            len: field(l, "len=").parse().unwrap(),
            response: l.contains("mode 6 response"),
            opcode: field(l, "(op ").parse().unwrap(),
            assoc: field(l, " assoc ").parse().unwrap(),
            more: l.ends_with(", more"),
            seq: field(detail, "seq=").parse().unwrap(),
            status: hex(field(detail, "status=")),
            offset: field(detail, "offset=").parse().unwrap(),
            count: field(detail, "count=").parse().unwrap(),
        });
    }
    out
}

#[test]
fn every_mode6_datagram_parses_and_reserialises() {
    let mut per_capture = BTreeMap::new();
    for pcap in pcap_files(&fixtures_dir()) {
        let mut requests = 0;
        let mut responses = 0;
        for d in ntp_datagrams(&pcap).unwrap_or_else(|e| panic!("{e}")) {
            if !is_mode6(&d.payload) {
                continue;
            }
            let m = ControlMessage::parse(&d.payload)
                .unwrap_or_else(|e| panic!("{} frame {}: {e}", pcap.display(), d.frame));
            assert_eq!(
                m.serialize(),
                d.payload,
                "{} frame {}",
                pcap.display(),
                d.frame
            );
            assert!(
                m.is_aligned() && m.mac().is_none(),
                "{} frame {}",
                pcap.display(),
                d.frame
            );
            assert!(m.count() <= proto::control::MAX_DATA_LEN);
            if m.header.response {
                responses += 1;
            } else {
                requests += 1;
            }
        }
        let name = pcap
            .strip_prefix(fixtures_dir())
            .unwrap()
            .display()
            .to_string();
        per_capture.insert(name, (requests, responses));
    }
    let with_mode6: Vec<_> = per_capture.iter().filter(|(_, c)| **c != (0, 0)).collect();
    assert_eq!(
        with_mode6,
        [
            (&"runs/iff/alice/ntpq-mode6.pcap".to_string(), &(3, 4)),
            (&"runs/iff/bob/ntpq-mode6.pcap".to_string(), &(9, 13))
        ]
    );
    assert_eq!(per_capture.len(), 13, "all captures scanned");
}

#[test]
fn fields_match_the_decoder_listing() {
    for host in ["alice", "bob"] {
        let listed = decode_listing(host);
        let ours: Vec<_> = mode6_messages(host)
            .into_iter()
            .map(|(raw, m)| Listed {
                len: raw.len(),
                response: m.header.response,
                opcode: m.header.opcode.code(),
                assoc: m.header.association_id,
                more: m.header.more,
                seq: m.header.sequence,
                status: m.header.status,
                offset: m.header.offset,
                count: m.count() as u16,
            })
            .collect();
        assert_eq!(ours.len(), if host == "bob" { 22 } else { 7 });
        assert_eq!(ours, listed, "{host}");
        for (_, m) in mode6_messages(host) {
            assert_eq!(
                (m.header.leap, m.header.version, m.header.error),
                (0, 2, false),
                "ntpq sends version 2"
            );
        }
    }
}

/// A captured datagram and its decoding.
type Captured = (Vec<u8>, ControlMessage);

/// A request and the response reassembled for it.
struct Exchange {
    request: ControlMessage,
    response: ReassembledResponse,
    fragments: Vec<Captured>,
}

fn exchanges(host: &str) -> Vec<Exchange> {
    let mut r = Reassembler::default();
    let mut out: Vec<Exchange> = Vec::new();
    let mut open: Option<(ControlMessage, Vec<Captured>)> = None;
    for (raw, m) in mode6_messages(host) {
        if !m.header.response {
            assert!(
                open.is_none(),
                "{host}: request before the previous response completed"
            );
            open = Some((m, Vec::new()));
            continue;
        }
        let (req, frags) = open.as_mut().expect("response without request");
        assert_eq!(FragmentKey::of(&m.header), FragmentKey::of(&req.header));
        frags.push((raw, m.clone()));
        match r.push(&m).unwrap_or_else(|e| panic!("{host}: {e}")) {
            ReassemblyProgress::Incomplete => {}
            ReassemblyProgress::Complete(response) => {
                let (request, fragments) = open.take().unwrap();
                out.push(Exchange {
                    request,
                    response,
                    fragments,
                });
            }
            other => panic!("{host}: unexpected {other:?}"),
        }
    }
    assert!(open.is_none() && r.pending_len() == 0);
    out
}

/// Splits variable-list text into its raw items as the reference wrote
/// them (separators `, ` and `,\r\n`, outside quotes; final CR LF dropped).
fn raw_items(text: &[u8]) -> Vec<Vec<u8>> {
    let text = text.strip_suffix(b"\r\n").unwrap_or(text);
    let mut items = vec![Vec::new()];
    let mut quoted = false;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'"' {
            quoted = !quoted;
        }
        if !quoted
            && b == b','
            && (text[i + 1..].starts_with(b" ") || text[i + 1..].starts_with(b"\r\n"))
        {
            items.push(Vec::new());
            i += if text[i + 1] == b' ' { 2 } else { 3 };
            continue;
        }
        items.last_mut().unwrap().push(b);
        i += 1;
    }
    items
}

#[test]
fn response_writer_reproduces_reference_fragments() {
    let mut checked = 0;
    for host in ["alice", "bob"] {
        for ex in exchanges(host) {
            let mut w = ResponseWriter::new();
            if ex.request.header.opcode == Opcode::ReadStatus {
                w.put_binary(&ex.response.data);
            } else {
                for item in raw_items(&ex.response.data) {
                    w.put_text(&item);
                }
            }
            let frags = w.finish();
            assert_eq!(frags.len(), ex.fragments.len(), "{host}");
            for (f, (raw, captured)) in frags.iter().zip(&ex.fragments) {
                // The reference's response header: request fields echoed,
                // R set, its leap indicator (0 here) and status word.
                let header =
                    ControlHeader::response_to(&ex.request.header, 0, captured.header.status);
                let ours = f.to_message(header).unwrap();
                assert_eq!(&ours, captured, "{host}");
                assert_eq!(&ours.serialize(), raw, "{host}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 17, "every response datagram rebuilt");
}

/// The ntpq output in a fixture file: the optional `associd=N status=XXXX
/// text` header and the (name, value) pairs in order.
struct NtpqVars {
    header: Option<(u16, u16, String)>,
    vars: Vec<(String, String)>,
}

fn ntpq_vars(path: &Path) -> NtpqVars {
    let text = read(path);
    let mut lines: Vec<&str> = text.lines().skip(1).collect(); // "$ ntpq ..."
    let mut header = None;
    if lines.first().is_some_and(|l| l.starts_with("associd=")) {
        let l = lines.remove(0);
        let (assoc, rest) = l["associd=".len()..].split_once(" status=").unwrap();
        let (status, desc) = rest.split_once(' ').unwrap();
        header = Some((
            assoc.parse().unwrap(),
            u16::from_str_radix(status, 16).unwrap(),
            desc.trim_end_matches(',').to_string(),
        ));
    }
    let joined = lines.join("\n");
    // An item starts at the beginning or after ", " / "\n" with `name=`.
    let starts: Vec<usize> = (0..joined.len())
        .filter(|&i| {
            let before_ok = i == 0 || joined[..i].ends_with(", ") || joined[..i].ends_with('\n');
            let name: String = joined[i..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            before_ok && !name.is_empty() && joined[i + name.len()..].starts_with('=')
        })
        .collect();
    let vars = starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let end = starts.get(k + 1).copied().unwrap_or(joined.len());
            let item = joined[s..end].trim_end().trim_end_matches(',');
            let (n, v) = item.split_once('=').unwrap();
            (n.to_string(), v.trim().to_string())
        })
        .collect();
    NtpqVars { header, vars }
}

/// Whether ntpq's printed value is the way ntpq shows the wire value (ntpq
/// reformats some variables: leap in binary, reach in octal, timestamps
/// with a date, signed offsets, flash decoded).
fn ntpq_shows(name: &str, wire: &VarValue, printed: &str) -> bool {
    let w = match wire {
        VarValue::Quoted(s) => return printed == format!("\"{s}\""),
        VarValue::Bare(s) => s.as_str(),
        VarValue::Absent => return printed.is_empty(),
    };
    match name {
        "leap" => printed == format!("{:02b}", w.parse::<u8>().unwrap()),
        "reach" => {
            printed
                == format!(
                    "{:03o}",
                    u32::from_str_radix(w.trim_start_matches("0x"), 16).unwrap()
                )
        }
        "reftime" | "rec" | "clock" => {
            let hex = w.trim_start_matches("0x");
            if hex == "00000000.00000000" {
                printed == "(no time)"
            } else {
                printed.starts_with(&format!("{hex}  "))
            }
        }
        "flash" => w == "0x0" && printed == "00 ok",
        "offset" | "frequency" => printed == w || printed == format!("+{w}"),
        "filtdelay" | "filtoffset" | "filtdisp" => {
            let nums = |s: &str| {
                s.split_whitespace()
                    .map(|t| t.parse::<f64>().unwrap())
                    .collect::<Vec<_>>()
            };
            nums(w) == nums(printed)
        }
        _ => printed == w,
    }
}

/// Compares one reassembled READVAR response with ntpq's output; returns
/// the number of variables compared.
fn compare_rv(host: &str, file: &str, ex: &Exchange) -> usize {
    let path = iff_host(host).join(file);
    let printed = ntpq_vars(&path);
    let wire = VarList::parse(&ex.response.data).unwrap();
    let wire_names: Vec<_> = wire.names().collect();
    let printed_names: Vec<_> = printed.vars.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(wire_names, printed_names, "{}", path.display());
    for (var, (name, value)) in wire.vars.iter().zip(&printed.vars) {
        assert!(
            ntpq_shows(name, &var.value, value),
            "{}: {name}: wire {:?}, ntpq {value:?}",
            path.display(),
            var.value
        );
    }
    if let Some((assoc, status, desc)) = printed.header {
        assert_eq!(
            assoc,
            ex.request.header.association_id,
            "{}",
            path.display()
        );
        assert_eq!(status, ex.response.status, "{}", path.display());
        let ours = if assoc == 0 {
            SystemStatus::from_word(status).describe()
        } else {
            PeerStatus::from_word(status).describe()
        };
        assert_eq!(ours, desc, "{}", path.display());
    }
    wire.vars.len()
}

fn readvar<'a>(exs: &'a [Exchange], assoc: u16, request_data: &[u8]) -> Vec<&'a Exchange> {
    exs.iter()
        .filter(|e| {
            e.request.header.opcode == Opcode::ReadVariables
                && e.request.header.association_id == assoc
                && e.request.data() == request_data
        })
        .collect()
}

#[test]
fn reassembled_variables_match_ntpq_output() {
    let bob = exchanges("bob");
    assert_eq!(bob.len(), 9);
    let sys = readvar(&bob, 0, b"");
    assert_eq!(sys.len(), 1);
    assert_eq!(compare_rv("bob", "ntpq-c-rv.txt", sys[0]), 30);
    let cert = readvar(&bob, 0, b"cert");
    assert_eq!(cert.len(), 1);
    assert_eq!(compare_rv("bob", "ntpq-c-rv-0-cert.txt", cert[0]), 6);
    let peer = readvar(&bob, 32249, b"");
    // `ntpq -p` (which reads the same variables), `rv &1` and `rv 32249`.
    assert_eq!(peer.len(), 3);
    for ex in &peer {
        assert_eq!(
            ex.response.data, peer[0].response.data,
            "the daemon's state did not change between queries"
        );
    }
    assert_eq!(compare_rv("bob", "ntpq-c-rv-amp1.txt", peer[1]), 33);
    assert_eq!(compare_rv("bob", "ntpq-c-rv-32249.txt", peer[2]), 33);
    let sysvars = VarList::parse(&sys[0].response.data).unwrap();
    let certs: Vec<_> = sysvars.get_all("cert").filter_map(VarValue::text).collect();
    assert_eq!(certs, ["bob alice 0x4", "alice alice 0x5", "bob bob 0x0"]);
    assert_eq!(sysvars.get("peer"), Some(&VarValue::Bare("32249".into())));

    let alice = exchanges("alice");
    assert_eq!(alice.len(), 3);
    assert_eq!(
        compare_rv("alice", "ntpq-c-rv.txt", readvar(&alice, 0, b"")[0]),
        26
    );
    assert_eq!(
        compare_rv(
            "alice",
            "ntpq-c-rv-0-cert.txt",
            readvar(&alice, 0, b"cert")[0]
        ),
        2
    );
}

#[test]
fn association_lists_match_ntpq_as() {
    let bob = exchanges("bob");
    let readstats: Vec<_> = bob
        .iter()
        .filter(|e| e.request.header.opcode == Opcode::ReadStatus)
        .collect();
    assert_eq!(readstats.len(), 4);
    let table = read(&iff_host("bob").join("ntpq-n-c-as.txt"));
    let row: Vec<&str> = table.lines().nth(3).unwrap().split_whitespace().collect();
    for ex in readstats {
        assert_eq!(
            SystemStatus::from_word(ex.response.status).describe(),
            "leap_none, sync_ntp, 1 event, restart"
        );
        let list = parse_association_list(&ex.response.data).unwrap();
        assert_eq!(list.len(), 1);
        let e = list[0];
        let st = e.status;
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let auth = match (
            st.flags.contains(PeerStatusFlags::AUTHENABLE),
            st.flags.contains(PeerStatusFlags::AUTHENTIC),
        ) {
            (true, true) => "ok",
            (true, false) => "bad",
            _ => "none",
        };
        let ours = [
            "1".to_string(),
            e.association_id.to_string(),
            format!("{:04x}", st.to_word()),
            yes_no(st.flags.contains(PeerStatusFlags::CONFIG)).to_string(),
            yes_no(st.flags.contains(PeerStatusFlags::REACH)).to_string(),
            auth.to_string(),
            st.selection.condition().to_string(),
            st.last_event.association_column().to_string(),
            st.event_count.to_string(),
        ];
        assert_eq!(ours.to_vec(), row, "ntpq -n -c as row");
    }
    // alice has no associations: an empty READSTAT response, which ntpq
    // reports as "No association ID's returned".
    let alice = exchanges("alice");
    let rs: Vec<_> = alice
        .iter()
        .filter(|e| e.request.header.opcode == Opcode::ReadStatus)
        .collect();
    assert_eq!(rs.len(), 1);
    assert!(parse_association_list(&rs[0].response.data)
        .unwrap()
        .is_empty());
    assert_eq!(
        read(&iff_host("alice").join("ntpq-n-c-as.txt"))
            .lines()
            .nth(1),
        Some("No association ID's returned")
    );
    assert_eq!(
        SystemStatus::from_word(rs[0].response.status).describe(),
        "leap_none, sync_unspec, 1 event, restart"
    );
}

#[test]
fn status_words_read_as_ntpq_reads_them() {
    let mut seen = BTreeMap::new();
    for host in ["alice", "bob"] {
        for (_, m) in mode6_messages(host)
            .into_iter()
            .filter(|(_, m)| m.header.response)
        {
            let word = StatusWord::of(&m.header);
            assert_eq!(word.to_word(), m.header.status);
            seen.insert(m.header.status, word.describe());
        }
    }
    let expected = [
        (0x0016, "leap_none, sync_unspec, 1 event, restart"),
        (0x0616, "leap_none, sync_ntp, 1 event, restart"),
        (
            0xf61a,
            "conf, authenb, auth, reach, sel_sys.peer, 1 event, sys_peer",
        ),
    ];
    let expected: BTreeMap<u16, String> =
        expected.iter().map(|(w, d)| (*w, d.to_string())).collect();
    assert_eq!(seen, expected);
}

#[test]
fn captured_fragments_reassemble_in_reverse_order() {
    let mut multi = 0;
    for host in ["alice", "bob"] {
        for ex in exchanges(host) {
            let mut r = Reassembler::default();
            let mut done = None;
            for (_, m) in ex.fragments.iter().rev() {
                if let ReassemblyProgress::Complete(resp) = r.push(m).unwrap() {
                    done = Some(resp);
                }
            }
            assert_eq!(done.as_ref(), Some(&ex.response), "{host}");
            multi += usize::from(ex.fragments.len() > 1);
        }
    }
    assert_eq!(multi, 5, "five READVAR responses came in two fragments");
}
