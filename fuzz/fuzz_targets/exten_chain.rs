//! The extension-field chain walk (brief §1.2) on arbitrary octets after
//! the 48-octet header: fields and trailer tile the input exactly, every
//! field is framed as the rule says, and each field round-trips owned.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use proto::exten::MAC_THRESHOLD;
use proto::{walk_fields, ExtensionField, Mac};

fuzz_target!(|data: &[u8]| {
    // Walk from offset 0 so the fuzzer controls every octet of the chain.
    let Ok(chain) = walk_fields(data, 0) else {
        return;
    };
    let mut offset = 0;
    let mut count = 0;
    for f in chain.fields() {
        assert_eq!(f.offset(), offset);
        assert!(
            data.len() - offset > MAC_THRESHOLD,
            "field where a MAC belongs"
        );
        assert!(f.len() >= 4 && f.len() % 4 == 0);
        assert_eq!(f.as_bytes(), &data[offset..offset + f.len()]);
        let owned = ExtensionField::parse(f.as_bytes()).expect("walked field re-parses");
        assert_eq!(owned.as_bytes(), f.as_bytes());
        let rebuilt = ExtensionField::new(f.field_type(), f.body()).expect("rebuilds");
        assert_eq!(rebuilt, owned);
        offset += f.len();
        count += 1;
    }
    assert_eq!(count, chain.len());
    assert_eq!(offset, chain.end());
    let trailer = chain.trailer();
    assert_eq!(offset + trailer.len(), data.len());
    assert!(trailer.is_empty() || (4..=MAC_THRESHOLD).contains(&trailer.len()));
    assert_eq!(trailer.len() % 4, 0);
    if let Ok(mac) = Mac::parse(trailer) {
        assert_eq!(mac.as_bytes(), trailer);
    }
});
