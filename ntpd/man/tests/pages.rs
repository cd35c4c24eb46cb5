//! The generated pages list exactly what the tables hold, and are valid
//! roff for man(1).

use std::process::Command;

fn page(name: &str) -> String {
    ntpd_man::pages()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no page {name}"))
        .text
}

/// roff escapes `-` as `\-`; compare with it undone.
fn plain(text: &str) -> String {
    text.replace("\\-", "-")
}

#[test]
fn four_pages_in_their_sections() {
    let names: Vec<String> = ntpd_man::pages().iter().map(|p| p.file_name()).collect();
    assert_eq!(names, ["ntpd.8", "ntpq.1", "ntp-keygen.8", "ntp.conf.5"]);
}

#[test]
fn ntpd_page_has_every_option_of_the_parser() {
    let text = plain(&page("ntpd"));
    for o in ntpd::cli::OPTIONS {
        assert!(text.contains(&format!("--{}", o.long)), "--{}", o.long);
        if let Some(c) = o.short {
            assert!(text.contains(&format!("-{c}, --{}", o.long)), "-{c}");
        }
    }
    assert!(text.contains("--syscall-filter"), "the -F option");
    assert!(
        text.contains(".SH METRICS") && text.contains("metrics_listen ADDR:PORT"),
        "the metrics endpoint"
    );
    assert!(
        text.contains(".SH \"NTS-KE LIMITS\"")
            && text.contains("at most 4 from one source")
            && text.contains("nts_ke_source_limited"),
        "the NTS-KE session limits"
    );
}

#[test]
fn ntp_keygen_page_has_every_option_and_note() {
    let text = plain(&page("ntp-keygen"));
    for o in keystore::keygen::args::OPTIONS {
        assert!(text.contains(&format!("--{}", o.long)), "--{}", o.long);
    }
    assert!(text.contains("COMPATIBILITY"));
}

#[test]
fn ntp_conf_page_has_every_directive() {
    let text = plain(&page("ntp.conf"));
    for d in config::conf::directives::DIRECTIVES {
        assert!(text.contains(&format!("\\fB{}\\fR", d.name)), "{}", d.name);
    }
}

#[test]
fn ntpq_page_has_options_and_commands() {
    let text = plain(&page("ntpq"));
    for long in ["--command", "--peers", "--keyfile", "--wide"] {
        assert!(text.contains(long), "{long}");
    }
    for cmd in ["peers", "readvar", "mrulist", "associations"] {
        assert!(text.contains(&format!("\\fB{cmd}")), "{cmd}");
    }
}

/// `man -l` renders each page without a warning from groff (`-ww`).
#[test]
fn man_renders_the_pages_without_warnings() {
    if Command::new("groff").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "groff is missing (apt-get install groff-base)"
        );
        eprintln!("skipped: groff is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("ntpd-man-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for p in ntpd_man::pages() {
        let path = dir.join(p.file_name());
        std::fs::write(&path, &p.text).unwrap();
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{}: {stderr}",
            p.file_name()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
