//! The fixture copy is complete: every capture the reference produced is
//! here and yields NTP datagrams.

use ntp_tests::{fixtures_dir, ntp_datagrams, pcap_files};

#[test]
fn every_capture_has_ntp_datagrams() {
    let files = pcap_files(&fixtures_dir());
    assert_eq!(
        files.len(),
        13,
        "expected 11 session captures and 2 ntpq captures: {files:?}"
    );
    for f in files {
        let d = ntp_datagrams(&f).unwrap_or_else(|e| panic!("{e}"));
        assert!(!d.is_empty(), "{} has no NTP datagrams", f.display());
        assert!(d.iter().all(|g| g.payload.len() >= 12), "{}", f.display());
    }
}
