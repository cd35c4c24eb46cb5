//! Autokey field header and value structure (brief §1.3, §1.4, §11.3
//! rules 2–3) on arbitrary octets taken as one whole field: accepted
//! values satisfy every receiver length check, the signed range is inside
//! the field, and rebuilding gives back the field when its layout is the
//! minimal zero-padded one.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use proto::exten::{pad4, signed_octets, AutokeyValue, MAX_VALLEN};
use proto::{AutokeyField, AutokeyHeader, ExtensionField};

fuzz_target!(|data: &[u8]| {
    // The value structure alone (L = data.len()).
    if let Ok(v) = AutokeyValue::parse(data) {
        assert!(v.vallen() >= 1 && v.vallen() <= MAX_VALLEN as usize);
        assert!(v.siglen() <= MAX_VALLEN as usize);
        assert!(24 + pad4(v.vallen()) + pad4(v.siglen()) <= data.len());
        let range = v.signed_range();
        assert_eq!(signed_octets(data), Ok(&data[range.clone()]));
        assert_eq!(v.signed_bytes(), &data[range]);
    }
    // The full Autokey view.
    let Ok(field) = AutokeyField::parse(data) else {
        return;
    };
    let h = field.header();
    assert_eq!(h.version, 2);
    assert_eq!(usize::from(h.length), data.len());
    assert_eq!(AutokeyHeader::from_bytes(h.to_bytes()), h);
    assert_eq!(&h.to_bytes()[..], &data[..8]);
    match field.value() {
        Ok(Some(v)) => {
            let rebuilt =
                ExtensionField::new_autokey(h, Some(&v)).expect("accepted value rebuilds");
            let minimal = rebuilt.len() == data.len();
            let padding_zero = data[20 + v.vallen()..24 + pad4(v.vallen()) - 4]
                .iter()
                .all(|&b| b == 0)
                && data[24 + pad4(v.vallen()) + v.siglen()..]
                    .iter()
                    .all(|&b| b == 0);
            if minimal && padding_zero {
                assert_eq!(rebuilt.as_bytes(), data);
            }
            let again = rebuilt.autokey().expect("rebuilt parses");
            assert_eq!(again.value(), Ok(Some(v)));
        }
        Ok(None) => assert!(data.len() < 24),
        Err(_) => assert!(data.len() >= 24),
    }
});
