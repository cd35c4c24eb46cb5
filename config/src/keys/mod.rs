//! The symmetric keys file (ntp.keys(5)), read as the reference ntpd
//! 4.2.8p18 reads it (`authreadkeys()`), with the symmetric-key MAC of
//! RFC 5905 §7.3 / RFC 8573 in mind.
//!
//! Format, one key per line: `KEYID TYPE KEY [ADDR[/PREFIX][,ADDR...]]`.
//! - Fields are separated by spaces or tabs; `#` ends the line anywhere
//!   (even inside a field); blank lines are skipped.
//! - KEYID is 1..=65535 (higher ids belong to Autokey).
//! - TYPE is a digest name, letter case ignored (see [`KeyType`]).
//! - KEY of at most 20 characters is used as is (ASCII key); a longer KEY is
//!   hex, decoded to at most 64 octets (an odd last digit fills the high
//!   nibble of the last octet).
//! - The address list restricts which peers may use the key ([`KeyAccess`]).
//!
//! Differences from the reference, all stricter and reported with
//! `FILE:LINE:COL`: a key id must be only digits (the reference takes the
//! leading digits, so `12abc` is key 12 there); an unknown TYPE is an error
//! (the reference logs it and drops that key); IPv6 brackets must be closed;
//! NUL bytes are refused. Anything the reference drops silently and we keep
//! (text after the address list) gives a warning.
//!
//! Bounds (issue 15): parsing is linear in the file (a duplicate id is
//! found in a table by id, not by a search of the keys so far), the file
//! may be at most [`MAX_KEYS_FILE_BYTES`], and ids defined again give one
//! warning for the whole file, not one per line.

mod access;
mod error;
mod key_type;
mod write;

pub use access::KeyAccess;
pub use error::{KeysError, KeysErrorKind, KeysWarning, KeysWriteError};
pub use key_type::{KeyType, TypeMatch};

use std::fmt;
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};

use access::{AccessError, AccessNote};

/// Longest ASCII key; a longer KEY column is hex.
pub const MAX_ASCII_KEY_LEN: usize = 20;
/// Largest secret in octets (so at most 128 hex digits).
pub const MAX_SECRET_LEN: usize = 64;
/// The reference reads lines in pieces of this many bytes.
const REFERENCE_LINE_LIMIT: usize = 511;
/// Largest keys file read: 65535 keys of 256-octet lines.
pub const MAX_KEYS_FILE_BYTES: u64 = 65_535 * 256;

/// A symmetric key id, 1..=65535 (RFC 5905 §7.3: key id 0 means "no key",
/// and ids above 65535 are Autokey session keys, RFC 5906 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(NonZeroU16);

impl KeyId {
    /// The key id `id`; `None` for 0, which means "no key".
    pub fn new(id: u16) -> Option<KeyId> {
        NonZeroU16::new(id).map(KeyId)
    }
    /// The id as a number, 1..=65535.
    pub fn get(self) -> u16 {
        self.0.get()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One key of the keys file.
#[derive(Clone, PartialEq, Eq)]
pub struct SymmetricKey {
    /// The key id (KEYID column), carried in the MAC of every packet
    /// signed with this key.
    pub id: KeyId,
    /// The digest the MAC is computed with (TYPE column).
    pub kind: KeyType,
    /// The secret octets the MAC is computed with.
    pub secret: Vec<u8>,
    /// Addresses allowed to use this key; empty means any.
    pub allowed: Vec<KeyAccess>,
    /// 1-based line of the definition (0 for keys not read from a file).
    pub line: u32,
}

impl fmt::Debug for SymmetricKey {
    // The secret is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("secret_len", &self.secret.len())
            .field("allowed", &self.allowed)
            .field("line", &self.line)
            .finish()
    }
}

impl SymmetricKey {
    /// May a packet from `addr` use this key?
    pub fn allows(&self, addr: std::net::IpAddr) -> bool {
        self.allowed.is_empty() || self.allowed.iter().any(|a| a.contains(addr))
    }
}

/// A parsed keys file: keys in file order, one per id (the first definition
/// of an id wins, as in the reference), and the warnings found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeysFile {
    /// The keys in file order, one per id.
    pub keys: Vec<SymmetricKey>,
    /// Lines accepted that probably do not mean what they look like.
    pub warnings: Vec<KeysWarning>,
}

impl KeysFile {
    /// The key with this id.
    pub fn get(&self, id: KeyId) -> Option<&SymmetricKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// The key with this numeric id (0 and ids above 65535 have none).
    pub fn get_u32(&self, id: u32) -> Option<&SymmetricKey> {
        u16::try_from(id)
            .ok()
            .and_then(KeyId::new)
            .and_then(|id| self.get(id))
    }
}

/// Read and parse a keys file.
pub fn load(path: &Path) -> Result<KeysFile, KeysError> {
    use std::io::Read;
    let io = |source| KeysError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_KEYS_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_KEYS_FILE_BYTES {
        return Err(KeysError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_KEYS_FILE_BYTES,
        });
    }
    parse_bytes(&bytes, path)
}

/// Parse keys file text; `file_name` is used in messages only.
pub fn parse_str(text: &str, file_name: &Path) -> Result<KeysFile, KeysError> {
    parse_bytes(text.as_bytes(), file_name)
}

/// Parse keys file contents. The reference reads bytes, so an ASCII key may
/// hold any byte except space, tab, `#` and newline.
pub fn parse_bytes(bytes: &[u8], file_name: &Path) -> Result<KeysFile, KeysError> {
    let mut out = KeysFile::default();
    let mut line_no: u32 = 0;
    // The line each id was first defined on (0: not yet), by id.
    let mut first_line = vec![0u32; usize::from(u16::MAX) + 1];
    let mut again = Redefinitions::default();
    for line in bytes.split(|&b| b == b'\n') {
        line_no = line_no.saturating_add(1);
        let mut cx = LineCx {
            file: file_name,
            line: line_no,
            warnings: &mut out.warnings,
        };
        if let Some(key) = parse_line(line, &mut cx)? {
            let first = &mut first_line[usize::from(key.id.get())];
            if *first != 0 {
                again.note(key.id, *first, line_no);
            } else {
                *first = line_no;
                out.keys.push(key);
            }
        }
    }
    if let Some(w) = again.warning(file_name) {
        out.warnings.push(w);
    }
    Ok(out)
}

/// Ids defined again: the first such line in detail, the rest counted,
/// so that a file of 234 k duplicates gives one warning.
#[derive(Default)]
struct Redefinitions {
    first: Option<(KeyId, u32, u32)>,
    more: u64,
    last_line: u32,
}

impl Redefinitions {
    fn note(&mut self, id: KeyId, first_on: u32, line: u32) {
        match self.first {
            None => self.first = Some((id, first_on, line)),
            Some(_) => {
                self.more += 1;
                self.last_line = line;
            }
        }
    }

    fn warning(&self, file: &Path) -> Option<KeysWarning> {
        let (id, first_on, line) = self.first?;
        let more = match self.more {
            0 => String::new(),
            n => format!(
                "; {n} more lines (up to line {}) define an id again and are ignored too",
                self.last_line
            ),
        };
        Some(KeysWarning {
            file: PathBuf::from(file),
            line,
            col: 1,
            message: format!(
                "key {id} is defined again (first on line {first_on}); the first definition is used, as by the reference ntpd, and this line is ignored{more}"
            ),
        })
    }
}

struct LineCx<'a> {
    file: &'a Path,
    line: u32,
    warnings: &'a mut Vec<KeysWarning>,
}

impl LineCx<'_> {
    fn err(&self, offset: usize, kind: KeysErrorKind) -> KeysError {
        KeysError::Syntax {
            file: self.file.to_path_buf(),
            line: self.line,
            col: col(offset),
            kind,
        }
    }
    fn warn(&mut self, offset: usize, message: String) {
        self.warnings.push(KeysWarning {
            file: PathBuf::from(self.file),
            line: self.line,
            col: col(offset),
            message,
        });
    }
}

fn col(offset: usize) -> u32 {
    u32::try_from(offset)
        .unwrap_or(u32::MAX - 1)
        .saturating_add(1)
}

/// A field of a line: its bytes and its byte offset in the line.
#[derive(Clone, Copy)]
struct Field<'a> {
    text: &'a [u8],
    at: usize,
}

/// Split a line into fields like the reference: spaces and tabs separate,
/// `#` ends the field and the line.
fn fields(line: &[u8]) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && matches!(line[i], b' ' | b'\t') {
            i += 1;
        }
        let start = i;
        while i < line.len() && !matches!(line[i], b' ' | b'\t' | b'#') {
            i += 1;
        }
        if i > start {
            out.push(Field {
                text: &line[start..i],
                at: start,
            });
        }
        if i < line.len() && line[i] == b'#' {
            break;
        }
    }
    out
}

fn parse_line(line: &[u8], cx: &mut LineCx<'_>) -> Result<Option<SymmetricKey>, KeysError> {
    if let Some(nul) = line.iter().position(|&b| b == 0) {
        return Err(cx.err(nul, KeysErrorKind::NulByte));
    }
    if line.len() > REFERENCE_LINE_LIMIT {
        cx.warn(
            REFERENCE_LINE_LIMIT,
            format!(
                "line is {} bytes long; the reference ntpd reads lines in {REFERENCE_LINE_LIMIT}-byte pieces and would misread the rest, so keep lines shorter",
                line.len()
            ),
        );
    }
    let fields = fields(line);
    let mut it = fields.iter().copied();
    let Some(id_field) = it.next() else {
        return Ok(None);
    };
    let id = parse_key_id(id_field, cx)?;

    let Some(type_field) = it.next() else {
        let after_id = id_field.at + id_field.text.len();
        return Err(cx.err(after_id, KeysErrorKind::MissingType { id: id.get() }));
    };
    let kind = parse_type(type_field, id, cx)?;

    let Some(key_field) = it.next() else {
        let after_type = type_field.at + type_field.text.len();
        return Err(cx.err(after_type, KeysErrorKind::MissingKey { id: id.get() }));
    };
    let secret = decode_secret(key_field, id, cx)?;
    if kind == KeyType::Aes128Cmac && secret.len() < 16 {
        cx.warn(
            key_field.at,
            format!(
                "AES128CMAC keys are 128 bits; key {id} has {} octets and is zero-extended",
                secret.len()
            ),
        );
    }

    let allowed = match it.next() {
        Some(list) => parse_access_list(list, id, cx)?,
        None => Vec::new(),
    };
    if let Some(extra) = it.next() {
        cx.warn(
            extra.at,
            "text after the address list is ignored (addresses must be separated by commas, without spaces)"
                .to_owned(),
        );
    }
    if !kind.is_implemented() {
        cx.warn(
            type_field.at,
            format!(
                "key {id} of type {kind} is valid for the reference ntpd but this ntpd computes MACs only with MD5, SHA1, SHA256 and AES128CMAC; packets using this key will not authenticate"
            ),
        );
    }
    Ok(Some(SymmetricKey {
        id,
        kind,
        secret,
        allowed,
        line: cx.line,
    }))
}

fn parse_key_id(field: Field<'_>, cx: &LineCx<'_>) -> Result<KeyId, KeysError> {
    let text = String::from_utf8_lossy(field.text).into_owned();
    if !field.text.iter().all(u8::is_ascii_digit) {
        return Err(cx.err(field.at, KeysErrorKind::KeyIdNotNumber { text }));
    }
    // All digits: only overflow can fail.
    let value = text.parse::<u64>().unwrap_or(u64::MAX);
    match u16::try_from(value).ok() {
        _ if value == 0 => Err(cx.err(field.at, KeysErrorKind::KeyIdZero)),
        Some(v) => KeyId::new(v).ok_or_else(|| cx.err(field.at, KeysErrorKind::KeyIdZero)),
        None => Err(cx.err(field.at, KeysErrorKind::KeyIdTooLarge { text })),
    }
}

fn parse_type(field: Field<'_>, id: KeyId, cx: &mut LineCx<'_>) -> Result<KeyType, KeysError> {
    let name = String::from_utf8_lossy(field.text).into_owned();
    match KeyType::from_keys_file(&name) {
        Some(TypeMatch::Exact(t)) => Ok(t),
        Some(TypeMatch::MAlias) => {
            cx.warn(
                field.at,
                format!("key type `{name}` is taken as MD5 (the reference reads any unknown name starting with M as MD5); write MD5"),
            );
            Ok(KeyType::Md5)
        }
        None => Err(cx.err(field.at, KeysErrorKind::UnknownType { id: id.get(), name })),
    }
}

fn decode_secret(field: Field<'_>, id: KeyId, cx: &mut LineCx<'_>) -> Result<Vec<u8>, KeysError> {
    let text = field.text;
    if text.len() <= MAX_ASCII_KEY_LEN {
        if let Some(pos) = text.iter().position(|b| !b.is_ascii_graphic()) {
            let what = if text.get(pos) == Some(&b'\r') {
                "a carriage return (CRLF line end?)"
            } else {
                "a non-printable or non-ASCII byte"
            };
            cx.warn(
                field.at + pos,
                format!(
                    "key {id} contains {what}; it is part of the secret, as in the reference ntpd"
                ),
            );
        }
        return Ok(text.to_vec());
    }
    if text.len() > 2 * MAX_SECRET_LEN {
        return Err(cx.err(
            field.at,
            KeysErrorKind::HexTooLong {
                id: id.get(),
                digits: text.len(),
            },
        ));
    }
    let mut secret = vec![0u8; text.len().div_ceil(2)];
    for (i, &b) in text.iter().enumerate() {
        let Some(nibble) = hex_value(b) else {
            let ch = std::str::from_utf8(&text[i..])
                .ok()
                .and_then(|s| s.chars().next())
                .unwrap_or(char::from(b));
            return Err(cx.err(
                field.at + i,
                KeysErrorKind::BadHexDigit { id: id.get(), ch },
            ));
        };
        if let Some(octet) = secret.get_mut(i / 2) {
            if i % 2 == 0 {
                *octet = nibble << 4;
            } else {
                *octet |= nibble;
            }
        }
    }
    Ok(secret)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn parse_access_list(
    field: Field<'_>,
    id: KeyId,
    cx: &mut LineCx<'_>,
) -> Result<Vec<KeyAccess>, KeysError> {
    let mut out = Vec::new();
    let mut at = field.at;
    for elem in field.text.split(|&b| b == b',') {
        match KeyAccess::parse(elem) {
            Ok((access, note)) => {
                match note {
                    Some(AccessNote::EmptyPrefix) => cx.warn(
                        at,
                        format!("`/` without digits in the address list of key {id} means prefix 0, which matches every address of that family"),
                    ),
                    Some(AccessNote::ExcessivePrefix { given, max }) => cx.warn(
                        at,
                        format!("prefix /{given} is longer than the address ({max} bits) for key {id}; the whole address must match"),
                    ),
                    None => {}
                }
                out.push(access);
            }
            Err(AccessError::Address) => {
                let text = String::from_utf8_lossy(elem).into_owned();
                return Err(cx.err(at, KeysErrorKind::BadAddress { id: id.get(), text }));
            }
            Err(AccessError::Prefix { offset }) => {
                let slash = elem.iter().position(|&b| b == b'/').map_or(0, |s| s + 1);
                let text =
                    String::from_utf8_lossy(elem.get(slash..).unwrap_or_default()).into_owned();
                return Err(cx.err(at + offset, KeysErrorKind::BadPrefix { id: id.get(), text }));
            }
        }
        at += elem.len() + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<KeysFile, KeysError> {
        parse_str(text, Path::new("ntp.keys"))
    }

    #[test]
    fn hash_ends_a_field_and_the_line() {
        let f = parse("7 MD5 abc#def 192.0.2.1\n").unwrap();
        assert_eq!(f.keys[0].secret, b"abc");
        assert!(f.keys[0].allowed.is_empty());
        assert!(f.warnings.is_empty());
    }

    #[test]
    fn odd_hex_fills_high_nibble() {
        let f = parse("1 SHA1 0123456789abcdef01234\n").unwrap();
        assert_eq!(
            f.keys[0].secret,
            vec![0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x40]
        );
    }

    #[test]
    fn twenty_hex_digits_are_ascii() {
        let f = parse("1 MD5 0123456789abcdef0123\n").unwrap();
        assert_eq!(f.keys[0].secret, b"0123456789abcdef0123");
    }

    #[test]
    fn first_duplicate_wins_with_warning() {
        let f = parse("5 MD5 first\n5 SHA1 second\n").unwrap();
        assert_eq!(f.keys.len(), 1);
        assert_eq!(f.keys[0].secret, b"first");
        assert_eq!(f.warnings.len(), 1);
        assert_eq!(
            f.warnings[0].to_string(),
            "ntp.keys:2:1: warning: key 5 is defined again (first on line 1); the first definition is used, as by the reference ntpd, and this line is ignored"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let f = parse("5 MD5 topsecret\n").unwrap();
        let dbg = format!("{f:?}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
        assert!(dbg.contains("secret_len: 9"), "{dbg}");
    }

    #[test]
    fn lookup_by_id() {
        let f = parse("5 MD5 a\n9 SHA1 b\n").unwrap();
        assert_eq!(
            f.get(KeyId::new(9).unwrap()).map(|k| k.kind),
            Some(KeyType::Sha1)
        );
        assert!(f.get_u32(0).is_none());
        assert!(f.get_u32(70000).is_none());
        assert_eq!(f.get_u32(5).map(|k| k.secret.as_slice()), Some(&b"a"[..]));
    }
}
