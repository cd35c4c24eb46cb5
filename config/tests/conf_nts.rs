//! `nts` lines and the `nts` server option in ntpsec's ntp.conf syntax
//! (RFC 8915 Network Time Security): parsed, written back, refused with
//! an operator's message when wrong.

use std::path::Path;

use config::conf::{directive_line, parse_str, Directive, NtsOption};

fn parse(text: &str) -> (Vec<Directive>, Vec<String>) {
    let l = parse_str(text, Path::new("ntp.conf")).unwrap();
    (
        l.config.directives().cloned().collect(),
        l.warnings.iter().map(ToString::to_string).collect(),
    )
}

fn error(text: &str) -> String {
    parse_str(text, Path::new("ntp.conf"))
        .unwrap_err()
        .to_string()
}

#[test]
fn ntpsec_lines_parse_and_round_trip() {
    let text = "nts enable\nnts key /etc/ntp/key.pem cert /etc/ntp/cert.pem\n\
                nts cookie /var/lib/ntp/nts-keys\nnts ca /etc/ssl/certs port 14460\n\
                server ntp.example nts iburst\n";
    let (d, w) = parse(text);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(d[0], Directive::Nts(vec![NtsOption::Enable]));
    assert_eq!(
        d[1],
        Directive::Nts(vec![
            NtsOption::Key("/etc/ntp/key.pem".into()),
            NtsOption::Cert("/etc/ntp/cert.pem".into())
        ])
    );
    assert_eq!(
        d[2],
        Directive::Nts(vec![NtsOption::Cookie("/var/lib/ntp/nts-keys".into())])
    );
    assert_eq!(
        d[3],
        Directive::Nts(vec![
            NtsOption::Ca("/etc/ssl/certs".into()),
            NtsOption::Port(14460)
        ])
    );
    let Directive::Association(a) = &d[4] else {
        panic!("{:?}", d[4])
    };
    assert!(a.options.nts && a.options.iburst);
    let written: String = d.iter().map(|x| directive_line(x) + "\n").collect();
    assert_eq!(
        written,
        "nts enable\nnts key /etc/ntp/key.pem cert /etc/ntp/cert.pem\n\
         nts cookie /var/lib/ntp/nts-keys\nnts ca /etc/ssl/certs port 14460\n\
         server ntp.example nts iburst\n"
    );
    assert_eq!(parse(&written).0, d);
}

#[test]
fn tls_tuning_options_are_ignored_with_a_warning() {
    let (d, w) = parse("nts mintls TLS1.2 enable\n");
    assert_eq!(d, [Directive::Nts(vec![NtsOption::Enable])]);
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("nts mintls is ignored"), "{w:?}");
}

#[test]
fn bad_lines_are_refused() {
    assert!(
        error("nts\n").contains("nts needs an option"),
        "{}",
        error("nts\n")
    );
    assert!(
        error("nts port 0\n").contains("nts port"),
        "{}",
        error("nts port 0\n")
    );
    assert!(
        error("nts key\n").contains("nts key needs a file name"),
        "{}",
        error("nts key\n")
    );
    let e = error("nts enabel\n");
    assert!(e.contains("did you mean \"enable\""), "{e}");
}
