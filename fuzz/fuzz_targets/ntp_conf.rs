//! ntp.conf parser: arbitrary UTF-8 text never panics, and whatever parses
//! re-parses from its canonical text to an equal configuration whose text
//! is a fixed point.
#![no_main]
#![forbid(unsafe_code)]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = config::conf::parse_str(text, Path::new("fuzz.conf")) else {
        return;
    };
    let canonical = loaded.config.to_conf_string();
    let again = match config::conf::parse_str(&canonical, Path::new("canonical.conf")) {
        Ok(l) => l.config,
        Err(e) => panic!("canonical text does not parse: {e}\n{canonical}"),
    };
    assert_eq!(
        again, loaded.config,
        "round trip changed the configuration:\n{canonical}"
    );
    assert_eq!(again.to_conf_string(), canonical);
});
