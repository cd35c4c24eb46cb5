//! `ntpd-man DIR`: write ntpd.8, ntpq.1, ntp-keygen.8 and ntp.conf.5 into
//! DIR (the packaging runs it before building the .deb).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: ntpd-man DIR");
        return ExitCode::from(2);
    };
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("ntpd-man: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for page in ntpd_man::pages() {
        let path = dir.join(page.file_name());
        if let Err(e) = std::fs::write(&path, page.text) {
            eprintln!("ntpd-man: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}
