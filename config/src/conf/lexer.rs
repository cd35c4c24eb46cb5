//! The ntp.conf scanner, one line at a time (reference `ntpd/ntp_scanner.c`).
//!
//! A line is the end of a command. `#` starts a comment anywhere outside
//! quotes. Double quotes make a string (no escapes; an unclosed quote ends
//! at the end of the line) and a quoted word is never a keyword or number.
//! The characters `{ } ( ) , ; | =` are tokens of their own unless the
//! previous keyword asked for a plain string. Bytes above 127 are skipped,
//! as the reference does. A keyword's entry in [`keywords`] says whether the
//! following word is read as a plain string.

use std::path::Path;

use super::error::{ConfigError, Origin};
use super::keywords::{self, FollowedBy};

/// Longest word the reference accepts (its `yytext` buffer).
pub(crate) const MAX_WORD: usize = 1024;

/// The characters that are tokens by themselves in normal scanning.
pub(crate) const SPECIALS: &[u8] = b"{}(),;|=";

/// What a word turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokKind {
    /// A keyword (the canonical spelling).
    Keyword(&'static str),
    /// `-4`.
    Ipv4Flag,
    /// `-6`.
    Ipv6Flag,
    /// A decimal integer that fits in a C `int`.
    Integer(i32),
    /// A larger decimal, or a `0x` hexadecimal, unsigned number.
    UInt(u32),
    /// A number with a fraction or exponent.
    Double(f64),
    /// Anything else.
    Str(String),
    /// One of `{ } ( ) , ; | =`.
    Special(char),
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokKind,
    /// The word as written (without quotes).
    pub text: String,
    /// 1-based byte column.
    pub col: u32,
}

/// The tokens of one line.
#[derive(Debug, Default)]
pub(crate) struct LexedLine {
    pub tokens: Vec<Token>,
    /// Column one past the last byte, for "got end of line" messages.
    pub end_col: u32,
    /// Column of the first skipped non-ASCII byte, if any.
    pub non_ascii_col: Option<u32>,
}

/// C `isspace` in the "C" locale.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn col_of(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX).saturating_add(1)
}

/// Scans one line (without its `\n`).
pub(crate) fn lex_line(bytes: &[u8], file: &Path, line: u32) -> Result<LexedLine, ConfigError> {
    let mut non_ascii_col = None;
    let chars: Vec<(u8, u32)> = bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| {
            if b > 127 {
                non_ascii_col.get_or_insert(col_of(i));
                None
            } else {
                Some((b, col_of(i)))
            }
        })
        .collect();
    let mut out = LexedLine {
        tokens: Vec::new(),
        end_col: col_of(bytes.len()),
        non_ascii_col,
    };
    let mut follow = FollowedBy::Token;
    let mut i = 0;
    let at = |col: u32| Origin::new(file, line, col);
    loop {
        while chars.get(i).is_some_and(|&(b, _)| is_space(b)) {
            i += 1;
        }
        let Some(&(first, start_col)) = chars.get(i) else {
            break;
        };
        if follow == FollowedBy::Token && SPECIALS.contains(&first) {
            if first == b'=' {
                follow = FollowedBy::String;
            }
            out.tokens.push(Token {
                kind: TokKind::Special(char::from(first)),
                text: char::from(first).to_string(),
                col: start_col,
            });
            i += 1;
            continue;
        }
        let mut word = String::new();
        let mut quoted = false;
        let mut comment = false;
        while let Some(&(b, _)) = chars.get(i) {
            if is_space(b) || b == b'"' || (follow == FollowedBy::Token && SPECIALS.contains(&b)) {
                break;
            }
            if b == b'#' {
                comment = true;
                i = chars.len();
                break;
            }
            word.push(char::from(b));
            i += 1;
        }
        if chars.get(i).is_some_and(|&(b, _)| b == b'"') {
            quoted = true;
            i += 1;
            while let Some(&(b, _)) = chars.get(i) {
                i += 1;
                if b == b'"' {
                    break;
                }
                word.push(char::from(b));
            }
        }
        if word.len() > MAX_WORD {
            return Err(ConfigError::syntax(
                &at(start_col),
                format!(
                    "word is {} characters long; the limit is {MAX_WORD}",
                    word.len()
                ),
            ));
        }
        if word.is_empty() {
            if comment {
                break;
            }
            // An empty quoted string is skipped, as in the reference.
            continue;
        }
        let kind = classify(&word, quoted, &mut follow, &at(start_col))?;
        out.tokens.push(Token {
            kind,
            text: word,
            col: start_col,
        });
        if comment {
            break;
        }
    }
    Ok(out)
}

fn classify(
    word: &str,
    quoted: bool,
    follow: &mut FollowedBy,
    at: &Origin,
) -> Result<TokKind, ConfigError> {
    if *follow == FollowedBy::Token && !quoted {
        if let Some((kw, next)) = keywords::lookup(word) {
            *follow = next;
            return Ok(match kw {
                "-4" => TokKind::Ipv4Flag,
                "-6" => TokKind::Ipv6Flag,
                _ => TokKind::Keyword(kw),
            });
        }
        if let Some(n) = integer(word, at)? {
            return Ok(n);
        }
        if let Some(n) = unsigned(word, at)? {
            return Ok(n);
        }
        if is_double(word) {
            return double(word, at).map(TokKind::Double);
        }
        return Ok(TokKind::Str(word.to_string()));
    }
    // A plain string (the reference still turns a leading -4/-6 into the
    // address-family flag here).
    if word.starts_with("-4") {
        return Ok(TokKind::Ipv4Flag);
    }
    if word.starts_with("-6") {
        return Ok(TokKind::Ipv6Flag);
    }
    if *follow == FollowedBy::String {
        *follow = FollowedBy::Token;
    }
    if word.bytes().all(is_space) {
        return Err(ConfigError::syntax(
            at,
            "a quoted string holds only spaces; write a name or path",
        ));
    }
    Ok(TokKind::Str(word.to_string()))
}

fn integer(word: &str, at: &Origin) -> Result<Option<TokKind>, ConfigError> {
    let digits = word.strip_prefix('-').unwrap_or(word);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let too_big = || ConfigError::syntax(at, format!("number {word} is too large"));
    if word.starts_with('-') {
        let v: i64 = word.parse().map_err(|_| too_big())?;
        return i32::try_from(v)
            .map(|v| Some(TokKind::Integer(v)))
            .map_err(|_| too_big());
    }
    // Positive: an int if it fits, otherwise an unsigned number.
    let v: u64 = word.parse().map_err(|_| too_big())?;
    if let Ok(v) = i32::try_from(v) {
        return Ok(Some(TokKind::Integer(v)));
    }
    u32::try_from(v)
        .map(|v| Some(TokKind::UInt(v)))
        .map_err(|_| too_big())
}

fn unsigned(word: &str, at: &Origin) -> Result<Option<TokKind>, ConfigError> {
    let hex = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X"));
    let Some(hex) = hex else {
        return Ok(None);
    };
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    u32::from_str_radix(hex, 16)
        .map(|v| Some(TokKind::UInt(v)))
        .map_err(|_| {
            ConfigError::syntax(
                at,
                format!("{word} is not a hexadecimal number that fits in 32 bits"),
            )
        })
}

/// The reference's floating-point syntax: `[+-]digits[.digits][e[+-]digits]`
/// with at least one digit before the exponent.
fn is_double(word: &str) -> bool {
    let b = word.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let mut digits = 0;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
        digits += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return false;
    }
    if i == b.len() {
        return true;
    }
    if !matches!(b.get(i), Some(b'e' | b'E')) {
        return false;
    }
    i += 1;
    if matches!(b.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i == b.len()
}

fn double(word: &str, at: &Origin) -> Result<f64, ConfigError> {
    // `atof` accepts an empty exponent ("1e", "1e+"); Rust does not.
    let trimmed = word.trim_end_matches(['+', '-']);
    let trimmed = trimmed.trim_end_matches(['e', 'E']);
    let value: f64 = trimmed
        .parse()
        .map_err(|_| ConfigError::syntax(at, format!("{word} is not a number")))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ConfigError::syntax(
            at,
            format!("number {word} is out of range"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str) -> Vec<TokKind> {
        lex_line(line.as_bytes(), Path::new("t.conf"), 1)
            .map(|l| l.tokens.into_iter().map(|t| t.kind).collect())
            .unwrap_or_default()
    }

    fn s(x: &str) -> TokKind {
        TokKind::Str(x.into())
    }

    #[test]
    fn keyword_forces_string() {
        assert_eq!(
            kinds("server 10.0.0.1 iburst # comment"),
            vec![
                TokKind::Keyword("server"),
                s("10.0.0.1"),
                TokKind::Keyword("iburst")
            ]
        );
        // After keysdir the next word is a string even if it looks like a number.
        assert_eq!(
            kinds("keysdir 123"),
            vec![TokKind::Keyword("keysdir"), s("123")]
        );
        assert_eq!(
            kinds("keys 123 456"),
            vec![TokKind::Keyword("keys"), s("123"), TokKind::Integer(456)]
        );
    }

    #[test]
    fn numbers_follow_the_reference_scanner() {
        assert_eq!(
            kinds("tos 7 -3 4294967295 0x1F 1.5 1e-7 +2 1e 10.0.0.1"),
            vec![
                TokKind::Keyword("tos"),
                TokKind::Integer(7),
                TokKind::Integer(-3),
                TokKind::UInt(u32::MAX),
                TokKind::UInt(31),
                TokKind::Double(1.5),
                TokKind::Double(1e-7),
                TokKind::Double(2.0),
                TokKind::Double(1.0),
                s("10.0.0.1"),
            ]
        );
        assert!(lex_line(b"tos 99999999999", Path::new("t"), 1).is_err());
        assert!(lex_line(b"tos 1e999", Path::new("t"), 1).is_err());
    }

    #[test]
    fn specials_quotes_and_comments() {
        assert_eq!(
            kinds("trustedkey (1 ... 5) 7"),
            vec![
                TokKind::Keyword("trustedkey"),
                TokKind::Special('('),
                TokKind::Integer(1),
                TokKind::Keyword("..."),
                TokKind::Integer(5),
                TokKind::Special(')'),
                TokKind::Integer(7),
            ]
        );
        assert_eq!(
            kinds("setvar owner = \"The Boss\" default"),
            vec![
                TokKind::Keyword("setvar"),
                s("owner"),
                TokKind::Special('='),
                s("The Boss"),
                TokKind::Keyword("default"),
            ]
        );
        // Quoted keywords and numbers are strings; a quote mid-word joins.
        assert_eq!(
            kinds("\"server\" \"12\" ab\"c d\""),
            vec![s("server"), s("12"), s("abc d")]
        );
        assert_eq!(kinds("# just a comment"), vec![]);
        assert_eq!(kinds("keys a#b"), vec![TokKind::Keyword("keys"), s("a")]);
        assert_eq!(
            kinds("keys \"a#b\""),
            vec![TokKind::Keyword("keys"), s("a#b")]
        );
        // After a string keyword the specials are ordinary characters.
        assert_eq!(
            kinds("keys k(1)=x"),
            vec![TokKind::Keyword("keys"), s("k(1)=x")]
        );
    }

    #[test]
    fn family_flags_and_columns() {
        let l = lex_line(b"server -6 ::1", Path::new("t"), 1).unwrap_or_default();
        let cols: Vec<u32> = l.tokens.iter().map(|t| t.col).collect();
        assert_eq!(cols, vec![1, 8, 11]);
        assert_eq!(l.tokens.get(1).map(|t| &t.kind), Some(&TokKind::Ipv6Flag));
        assert_eq!(
            kinds("restrict -4 default"),
            vec![
                TokKind::Keyword("restrict"),
                TokKind::Ipv4Flag,
                TokKind::Keyword("default")
            ]
        );
    }

    #[test]
    fn non_ascii_is_skipped() {
        let l = lex_line("keys k\u{e9}y".as_bytes(), Path::new("t"), 1).unwrap_or_default();
        assert_eq!(l.non_ascii_col, Some(7));
        assert_eq!(l.tokens.get(1).map(|t| t.text.as_str()), Some("ky"));
    }
}
