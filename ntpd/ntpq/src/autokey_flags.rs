//! The Autokey `flags` variable in words (RFC 5906 §10, the status word
//! of brief §3): `rv &1 flags` prints `flags=0x87f23 (autokey enabled,
//! leap table, cert valid, identity IFF verified, …)`. The reference's
//! ntpq prints the number only; ours adds the words when `flags` is the
//! one variable asked for, so that every other listing (`rv`, `rv &1`,
//! `rv &1 hmode,…,flags` as scripts poll it) stays the reference's. For
//! an association (peer flags) the Autokey steps not yet
//! done are named too, so that an `ok` in `ntpq -c as` (which the
//! reference shows after the first good MAC) is never read as "identity
//! proven" when it is not.

/// The host's own bits (system and peer status words).
const HOST_BITS: [(u64, &str); 3] = [
    (0x0001, "autokey enabled"),
    (0x0002, "leap table"),
    (0x0010, "private certificate"),
];

/// The association's progress bits (RFC 5906 §10, in dance order).
const STEP_BITS: [(u64, &str); 7] = [
    (0x0100, "cert valid"),
    (0x0200, "identity"),
    (0x0400, "proventic"),
    (0x0800, "cookie"),
    (0x1000, "autokey values"),
    (0x2000, "cert signed"),
    (0x4000, "leap values"),
];

/// The identity scheme bits.
const SCHEMES: [(u64, &str); 3] = [(0x0020, "IFF"), (0x0040, "GQ"), (0x0080, "MV")];

/// The signature algorithm of the high 16 bits (OpenSSL NIDs).
fn signature(nid: u64) -> String {
    match nid {
        8 => "md5WithRSAEncryption".into(),
        65 => "sha1WithRSAEncryption".into(),
        668 => "sha256WithRSAEncryption".into(),
        n => format!("signature NID {n}"),
    }
}

/// The words for `flags` value `v`; `peer` for an association's flags.
pub fn describe(v: u64, peer: bool) -> String {
    let mut words: Vec<String> = HOST_BITS
        .iter()
        .filter(|(b, _)| v & b != 0)
        .map(|(_, w)| w.to_string())
        .collect();
    let schemes: Vec<&str> = SCHEMES
        .iter()
        .filter(|(b, _)| v & b != 0)
        .map(|(_, w)| *w)
        .collect();
    if !peer {
        if !schemes.is_empty() {
            words.push(format!("identity {} offered", schemes.join(", ")));
        }
    } else {
        let mut missing = Vec::new();
        for (b, w) in STEP_BITS {
            let lit = v & b != 0;
            let w = match (b, lit) {
                (0x0200, true) if schemes.is_empty() => {
                    "identity by certificate trail only (TC)".to_string()
                }
                (0x0200, true) => format!("identity {} verified", schemes.join(", ")),
                (0x0200, false) => "identity not verified".to_string(),
                _ => w.to_string(),
            };
            // Identity is always named, lit or not.
            if lit || b == 0x0200 {
                words.push(w);
            } else {
                missing.push(w);
            }
        }
        if !missing.is_empty() {
            words.push(format!("not yet: {}", missing.join(", ")));
        }
    }
    let nid = v >> 16;
    if nid != 0 {
        words.push(signature(nid));
    }
    words.join(", ")
}

/// `text` with every `flags=0x…` item followed by its words.
pub fn annotate(text: &str, peer: bool) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(at) = rest.find("flags=0x") {
        let starts_item = at == 0 || matches!(rest.as_bytes()[at - 1], b' ' | b'\n' | b',');
        let hex_at = at + "flags=0x".len();
        let hex_len = rest[hex_at..]
            .bytes()
            .take_while(u8::is_ascii_hexdigit)
            .count();
        let end = hex_at + hex_len;
        out.push_str(&rest[..end]);
        if starts_item && hex_len > 0 {
            if let Ok(v) = u64::from_str_radix(&rest[hex_at..end], 16) {
                out.push_str(&format!(" ({})", describe(v, peer)));
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_iff_peer_reads_in_words() {
        assert_eq!(
            annotate("flags=0x87f23\n", true),
            "flags=0x87f23 (autokey enabled, leap table, cert valid, identity IFF verified, \
             proventic, cookie, autokey values, cert signed, leap values, md5WithRSAEncryption)\n"
        );
    }

    #[test]
    fn a_tc_only_peer_and_a_waiting_one_say_so() {
        assert_eq!(
            describe(0x87f01, true),
            "autokey enabled, cert valid, identity by certificate trail only (TC), proventic, \
             cookie, autokey values, cert signed, leap values, md5WithRSAEncryption"
        );
        assert_eq!(
            describe(0x81401, true),
            "autokey enabled, identity not verified, proventic, autokey values, not yet: cert \
             valid, cookie, cert signed, leap values, md5WithRSAEncryption"
        );
    }

    #[test]
    fn system_flags_name_the_offered_schemes() {
        assert_eq!(
            describe(0x80023, false),
            "autokey enabled, leap table, identity IFF offered, md5WithRSAEncryption"
        );
        // Other items and other `…flags=` names are left alone.
        assert_eq!(
            annotate("srcflags=0x5, flags=0x1", false),
            "srcflags=0x5, flags=0x1 (autokey enabled)"
        );
    }
}
