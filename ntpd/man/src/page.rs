//! One man page and the roff building blocks the pages share.

use roff::{bold, italic, roman, Roff};

/// A rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// `ntpd`, `ntp.conf`, ...
    pub name: &'static str,
    /// The manual section, `8`.
    pub section: &'static str,
    /// The roff source.
    pub text: String,
}

impl Page {
    /// `ntpd.8`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.name, self.section)
    }
}

/// The version the pages describe.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A page under construction.
pub struct Builder {
    roff: Roff,
    name: &'static str,
    section: &'static str,
}

impl Builder {
    /// `.TH` and the NAME section.
    pub fn new(name: &'static str, section: &'static str, summary: &str) -> Builder {
        let mut roff = Roff::new();
        let title = name.to_uppercase();
        let version = format!("ntpd-autokey {VERSION}");
        roff.control("TH", [title.as_str(), section, "", version.as_str()]);
        roff.control("SH", ["NAME"]);
        roff.text([roman(format!("{name} - {summary}"))]);
        Builder {
            roff,
            name,
            section,
        }
    }

    /// A section heading.
    pub fn section(&mut self, title: &str) -> &mut Builder {
        self.roff.control("SH", [title]);
        self
    }

    /// A paragraph of plain text.
    pub fn para(&mut self, text: &str) -> &mut Builder {
        self.roff.control("PP", [] as [&str; 0]);
        self.roff.text([roman(text)]);
        self
    }

    /// A synopsis line: the program in bold, the rest plain.
    pub fn synopsis(&mut self, program: &str, rest: &str) -> &mut Builder {
        self.roff.text([bold(program), roman(format!(" {rest}"))]);
        self
    }

    /// A tagged paragraph: `term` in bold (with its argument in italics),
    /// then `text`.
    pub fn item(&mut self, term: &str, arg: Option<&str>, text: &str) -> &mut Builder {
        self.roff.control("TP", [] as [&str; 0]);
        let mut head = vec![bold(term)];
        if let Some(a) = arg {
            head.push(roman(" "));
            head.push(italic(a));
        }
        self.roff.text(head);
        self.roff.text([roman(text)]);
        self
    }

    /// The finished page.
    pub fn build(&self) -> Page {
        Page {
            name: self.name,
            section: self.section,
            text: self.roff.render(),
        }
    }
}
