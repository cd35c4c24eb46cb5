//! Extension fields (RFC 7822 framing, RFC 5906 Autokey fields) and how
//! the reference ntpd 4.2.8p18 tells them apart from the MAC (brief §1.2).
//!
//! Layers, from generic to specific:
//!
//! * [`walk_fields`] splits the octets after the header into a chain of
//!   fields and a MAC trailer, exactly as the reference `receive()` loop
//!   does. It checks framing only, so non-Autokey RFC 7822 fields pass
//!   through and round-trip byte for byte.
//! * [`ExtensionFieldRef`] (borrowed) and [`ExtensionField`] (owned) are one
//!   field: a 16-bit field type, a 16-bit length and the body, all octets
//!   kept verbatim (padding included).
//! * [`AutokeyField`] is the Autokey view of a field: the 8-octet
//!   [`AutokeyHeader`] (brief §1.3) and, for fields of 24 octets or more,
//!   the [`AutokeyValue`] structure (brief §1.4) with every receiver length
//!   check of brief §1.4 and §11.3 rules 2 and 3.

use std::ops::Range;

use crate::error::{BuildError, ParseError};

/// Autokey extension field version (`CRYPTO_VN`).
pub const CRYPTO_VN: u8 = 2;
/// Response bit in the first word (`CRYPTO_RESP`).
pub const CRYPTO_RESP: u32 = 0x8000_0000;
/// Error bit in the first word (`CRYPTO_ERROR`).
pub const CRYPTO_ERROR: u32 = 0x4000_0000;
/// Length of the Autokey field header (opcode/length word + association ID).
pub const AUTOKEY_HEADER_LEN: usize = 8;
/// Smallest field carrying a value structure (`VALUE_LEN`).
pub const VALUE_LEN: usize = 24;
/// Largest `vallen` / `siglen` (`MAX_VALLEN` = 65535 − 24).
pub const MAX_VALLEN: u32 = 65511;
/// Room for extension fields in a datagram the reference receives
/// (`NTP_MAXEXTEN`).
pub const NTP_MAXEXTEN: usize = 2048;
/// While at most this many octets remain, they are the MAC, never a field
/// (brief §1.2 step 3).
pub const MAC_THRESHOLD: usize = 24;

/// Rounds up to a multiple of 4: `(x + 3) & !3`.
pub const fn pad4(x: usize) -> usize {
    (x + 3) & !3
}

fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

// ---------------------------------------------------------------------------
// Chain walking (brief §1.2)
// ---------------------------------------------------------------------------

/// The extension-field chain of a datagram, validated by [`walk_fields`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldChain<'a> {
    buf: &'a [u8],
    start: usize,
    end: usize,
    count: usize,
}

/// Walks the fields of `buf` starting at `start` (48 for an NTP packet),
/// following the reference `receive()` rule (brief §1.2):
///
/// 1. no octets left: no MAC;
/// 2. remaining octets not a multiple of 4, or fewer than 4: error;
/// 3. at most 24 octets left: they are the MAC;
/// 4. otherwise the low 16 bits of the next word are the field length `L`;
///    error if `L % 4 != 0`, `L < 4` or the field runs past the end.
pub fn walk_fields(buf: &[u8], start: usize) -> Result<FieldChain<'_>, ParseError> {
    let mut offset = start;
    let mut count = 0;
    loop {
        let remaining = buf.len().saturating_sub(offset);
        if remaining == 0 {
            break;
        }
        if remaining % 4 != 0 || remaining < 4 {
            return Err(ParseError::BadTrailerLength { offset, remaining });
        }
        if remaining <= MAC_THRESHOLD {
            break;
        }
        let word = be_u32(buf, offset).ok_or(ParseError::BadTrailerLength { offset, remaining })?;
        let length = (word & 0xffff) as usize;
        if length % 4 != 0 || length < 4 || length > remaining {
            return Err(ParseError::BadFieldLength {
                offset,
                length,
                remaining,
            });
        }
        offset += length;
        count += 1;
    }
    Ok(FieldChain {
        buf,
        start,
        end: offset.min(buf.len()),
        count,
    })
}

impl<'a> FieldChain<'a> {
    /// Number of extension fields.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there are no extension fields.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Offset just past the last field: where the MAC starts (`authlen`),
    /// or the datagram length when there is no MAC.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The octets after the last field: empty (no MAC) or a 4..=24-octet
    /// MAC trailer.
    pub fn trailer(&self) -> &'a [u8] {
        self.buf.get(self.end..).unwrap_or(&[])
    }

    /// The fields, in order.
    pub fn fields(&self) -> FieldIter<'a> {
        FieldIter {
            buf: self.buf.get(..self.end).unwrap_or(&[]),
            offset: self.start,
        }
    }
}

/// Iterator over a validated [`FieldChain`].
#[derive(Clone, Debug)]
pub struct FieldIter<'a> {
    buf: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = ExtensionFieldRef<'a>;

    fn next(&mut self) -> Option<ExtensionFieldRef<'a>> {
        let word = be_u32(self.buf, self.offset)?;
        let length = (word & 0xffff) as usize;
        if length < 4 {
            return None;
        }
        let bytes = self
            .buf
            .get(self.offset..self.offset.checked_add(length)?)?;
        let field = ExtensionFieldRef {
            offset: self.offset,
            bytes,
        };
        self.offset += length;
        Some(field)
    }
}

// ---------------------------------------------------------------------------
// Generic fields (RFC 7822)
// ---------------------------------------------------------------------------

/// One extension field borrowed from a datagram: exactly its `L` octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionFieldRef<'a> {
    offset: usize,
    bytes: &'a [u8],
}

impl<'a> ExtensionFieldRef<'a> {
    /// Wraps the octets of one whole field; checks that its length word
    /// equals `bytes.len()` and is a multiple of 4 and at least 4.
    pub fn new(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let word = be_u32(bytes, 0).ok_or(ParseError::TooShort {
            what: "extension field",
            len: bytes.len(),
            needed: 4,
        })?;
        let length = (word & 0xffff) as usize;
        if length != bytes.len() || length % 4 != 0 {
            return Err(ParseError::BadFieldLength {
                offset: 0,
                length,
                remaining: bytes.len(),
            });
        }
        Ok(ExtensionFieldRef { offset: 0, bytes })
    }

    /// Offset of the field in the datagram it was walked from (0 when made
    /// with [`ExtensionFieldRef::new`]).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The 16-bit field type (for Autokey: R, E, version and code).
    pub fn field_type(&self) -> u16 {
        be_u32(self.bytes, 0).map_or(0, |w| (w >> 16) as u16)
    }

    /// The field length `L` in octets (header included).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: a field has at least its 4-octet type/length word.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Octets after the type/length word.
    pub fn body(&self) -> &'a [u8] {
        self.bytes.get(4..).unwrap_or(&[])
    }

    /// All `L` octets, verbatim.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// An owned copy.
    pub fn to_owned(&self) -> ExtensionField {
        ExtensionField {
            raw: self.bytes.to_vec(),
        }
    }

    /// The Autokey view (header checks of brief §11.3 rule 2).
    pub fn autokey(&self) -> Result<AutokeyField<'a>, ParseError> {
        AutokeyField::parse(self.bytes)
    }
}

/// One owned extension field, octets kept verbatim (padding and all), so
/// serialising gives back exactly what was parsed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExtensionField {
    raw: Vec<u8>,
}

impl ExtensionField {
    /// Largest body: the 16-bit length counts the 4-octet type/length word
    /// and must be a multiple of 4.
    pub const MAX_BODY_LEN: usize = 65532 - 4;

    /// A field of `field_type` whose body (everything after the
    /// type/length word) is `body`; the body length must be a multiple of 4
    /// and at most 65528 octets.
    pub fn new(field_type: u16, body: &[u8]) -> Result<Self, BuildError> {
        if body.len() % 4 != 0 || body.len() > Self::MAX_BODY_LEN {
            return Err(BuildError::FieldBody { len: body.len() });
        }
        let mut raw = Vec::with_capacity(4 + body.len());
        raw.extend_from_slice(&field_type.to_be_bytes());
        raw.extend_from_slice(&((4 + body.len()) as u16).to_be_bytes());
        raw.extend_from_slice(body);
        Ok(ExtensionField { raw })
    }

    /// Parses one whole field (see [`ExtensionFieldRef::new`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        ExtensionFieldRef::new(bytes).map(|f| f.to_owned())
    }

    /// Borrowed view.
    pub fn as_ref(&self) -> ExtensionFieldRef<'_> {
        ExtensionFieldRef {
            offset: 0,
            bytes: &self.raw,
        }
    }

    /// The 16-bit field type.
    pub fn field_type(&self) -> u16 {
        self.as_ref().field_type()
    }

    /// Octets after the type/length word.
    pub fn body(&self) -> &[u8] {
        self.raw.get(4..).unwrap_or(&[])
    }

    /// All octets, verbatim.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The field length `L`.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Never true.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The Autokey view.
    pub fn autokey(&self) -> Result<AutokeyField<'_>, ParseError> {
        AutokeyField::parse(&self.raw)
    }

    /// Builds an Autokey field: the 8-octet header (its `length` is
    /// ignored and computed) followed, if given, by the value structure
    /// with zero padding (brief §1.3, §1.4). Without a value the field is
    /// the 8-octet form used by AUTO/LEAP requests and empty or error
    /// responses.
    pub fn new_autokey(
        header: AutokeyHeader,
        value: Option<&AutokeyValue<'_>>,
    ) -> Result<Self, BuildError> {
        if header.version > 0x3f {
            return Err(BuildError::AutokeyVersion {
                version: header.version,
            });
        }
        let length = match value {
            None => AUTOKEY_HEADER_LEN,
            Some(v) => v.encoded_len()?,
        };
        let mut raw = Vec::with_capacity(length);
        let h = AutokeyHeader {
            length: length as u16,
            ..header
        };
        raw.extend_from_slice(&h.to_bytes());
        if let Some(v) = value {
            raw.extend_from_slice(&v.timestamp.to_be_bytes());
            raw.extend_from_slice(&v.filestamp.to_be_bytes());
            raw.extend_from_slice(&(v.value.len() as u32).to_be_bytes());
            raw.extend_from_slice(v.value);
            raw.resize(20 + pad4(v.value.len()), 0);
            raw.extend_from_slice(&(v.signature.len() as u32).to_be_bytes());
            raw.extend_from_slice(v.signature);
            raw.resize(length, 0);
        }
        Ok(ExtensionField { raw })
    }
}

// ---------------------------------------------------------------------------
// Autokey (RFC 5906; brief §1.3, §1.4)
// ---------------------------------------------------------------------------

/// Autokey message codes (brief §2, §12.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AutokeyCode {
    /// 0: defined, never sent.
    Null,
    /// 1: host name and status word.
    Assoc,
    /// 2: certificate.
    Cert,
    /// 3: cookie.
    Cook,
    /// 4: autokey values.
    Auto,
    /// 5: leap-second values.
    Leap,
    /// 6: certificate signing.
    Sign,
    /// 7: IFF identity.
    Iff,
    /// 8: GQ identity.
    Gq,
    /// 9: MV identity.
    Mv,
    /// Any other code.
    Unknown(u8),
}

impl AutokeyCode {
    /// From the 8-bit code.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => AutokeyCode::Null,
            1 => AutokeyCode::Assoc,
            2 => AutokeyCode::Cert,
            3 => AutokeyCode::Cook,
            4 => AutokeyCode::Auto,
            5 => AutokeyCode::Leap,
            6 => AutokeyCode::Sign,
            7 => AutokeyCode::Iff,
            8 => AutokeyCode::Gq,
            9 => AutokeyCode::Mv,
            other => AutokeyCode::Unknown(other),
        }
    }

    /// The 8-bit code.
    pub const fn to_u8(self) -> u8 {
        match self {
            AutokeyCode::Null => 0,
            AutokeyCode::Assoc => 1,
            AutokeyCode::Cert => 2,
            AutokeyCode::Cook => 3,
            AutokeyCode::Auto => 4,
            AutokeyCode::Leap => 5,
            AutokeyCode::Sign => 6,
            AutokeyCode::Iff => 7,
            AutokeyCode::Gq => 8,
            AutokeyCode::Mv => 9,
            AutokeyCode::Unknown(v) => v,
        }
    }

    /// The reference's name (as in its logs and the fixtures' decode.txt).
    pub const fn name(self) -> &'static str {
        match self {
            AutokeyCode::Null => "NULL",
            AutokeyCode::Assoc => "ASSOC",
            AutokeyCode::Cert => "CERT",
            AutokeyCode::Cook => "COOKIE",
            AutokeyCode::Auto => "AUTO",
            AutokeyCode::Leap => "LEAP",
            AutokeyCode::Sign => "SIGN",
            AutokeyCode::Iff => "IFF",
            AutokeyCode::Gq => "GQ",
            AutokeyCode::Mv => "MV",
            AutokeyCode::Unknown(_) => "UNKNOWN",
        }
    }
}

/// The 8-octet Autokey field header (brief §1.3):
/// `R | E | version(6) | code(8) | length(16)`, then the association ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AutokeyHeader {
    /// R bit: response (1) or request (0).
    pub response: bool,
    /// E bit: error response.
    pub error: bool,
    /// Version, 2 on the wire (6 bits).
    pub version: u8,
    /// Message type (8 bits: ASSOC, CERT, COOKIE, AUTO, ...; RFC 5906 §10).
    pub code: AutokeyCode,
    /// Field length `L` in octets, header included.
    pub length: u16,
    /// Association ID: the sender's own in requests, echoed or the
    /// responder's in responses (brief §2.1).
    pub association_id: u32,
}

impl AutokeyHeader {
    /// A request header (version 2; length filled in when built).
    pub const fn request(code: AutokeyCode, association_id: u32) -> Self {
        AutokeyHeader {
            response: false,
            error: false,
            version: CRYPTO_VN,
            code,
            length: AUTOKEY_HEADER_LEN as u16,
            association_id,
        }
    }

    /// A response header.
    pub const fn response(code: AutokeyCode, association_id: u32) -> Self {
        AutokeyHeader {
            response: true,
            ..AutokeyHeader::request(code, association_id)
        }
    }

    /// An error response header (R and E set), brief §2.10.
    pub const fn error_response(code: AutokeyCode, association_id: u32) -> Self {
        AutokeyHeader {
            response: true,
            error: true,
            ..AutokeyHeader::request(code, association_id)
        }
    }

    /// Decodes the 8 octets without any check.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        let w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        AutokeyHeader {
            response: w & CRYPTO_RESP != 0,
            error: w & CRYPTO_ERROR != 0,
            version: ((w >> 24) & 0x3f) as u8,
            code: AutokeyCode::from_u8((w >> 16) as u8),
            length: w as u16,
            association_id: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Parses the header at the start of `field` and checks brief §11.3
    /// rule 2: at least 8 octets and version 2.
    pub fn parse(field: &[u8]) -> Result<Self, ParseError> {
        let b: [u8; 8] = field
            .get(..AUTOKEY_HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(ParseError::AutokeyFieldTooShort {
                length: field.len(),
            })?;
        let h = AutokeyHeader::from_bytes(b);
        if usize::from(h.length) < AUTOKEY_HEADER_LEN {
            return Err(ParseError::AutokeyFieldTooShort {
                length: usize::from(h.length),
            });
        }
        if h.version != CRYPTO_VN {
            return Err(ParseError::AutokeyVersion { version: h.version });
        }
        Ok(h)
    }

    /// The first word: opcode bits and length.
    pub fn opcode_word(&self) -> u32 {
        (u32::from(self.response) << 31)
            | (u32::from(self.error) << 30)
            | (u32::from(self.version & 0x3f) << 24)
            | (u32::from(self.code.to_u8()) << 16)
            | u32::from(self.length)
    }

    /// The 16-bit field type (top half of the first word), e.g. 0x8202 for
    /// a CERT response.
    pub fn field_type(&self) -> u16 {
        (self.opcode_word() >> 16) as u16
    }

    /// The 8 octets on the wire.
    pub fn to_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&self.opcode_word().to_be_bytes());
        b[4..].copy_from_slice(&self.association_id.to_be_bytes());
        b
    }
}

/// An Autokey extension field: header plus its octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutokeyField<'a> {
    header: AutokeyHeader,
    bytes: &'a [u8],
}

impl<'a> AutokeyField<'a> {
    /// Views one whole field (exactly `L` octets) as Autokey: checks the
    /// header (brief §11.3 rule 2) and that the length word equals the
    /// number of octets given.
    pub fn parse(field: &'a [u8]) -> Result<Self, ParseError> {
        let header = AutokeyHeader::parse(field)?;
        if usize::from(header.length) != field.len() {
            return Err(ParseError::AutokeyLengthMismatch {
                declared: usize::from(header.length),
                actual: field.len(),
            });
        }
        Ok(AutokeyField {
            header,
            bytes: field,
        })
    }

    /// The 8-octet header.
    pub fn header(&self) -> AutokeyHeader {
        self.header
    }

    /// The field octets.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// True if the field is long enough to hold a value structure
    /// (`L >= 24`).
    pub fn has_value(&self) -> bool {
        self.bytes.len() >= VALUE_LEN
    }

    /// The value structure: `Ok(None)` for fields shorter than 24 octets
    /// (the 8-octet requests and empty/error responses), otherwise the
    /// checked value (brief §1.4, §11.3 rule 3).
    pub fn value(&self) -> Result<Option<AutokeyValue<'a>>, ParseError> {
        if self.has_value() {
            AutokeyValue::parse(self.bytes).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// The Autokey value structure (brief §1.4): timestamp, filestamp, value
/// and signature, borrowed from the field (or from the caller when
/// building one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AutokeyValue<'a> {
    /// NTP seconds (era 0) when signed; 0 = sender unsynchronised.
    pub timestamp: u32,
    /// NTP seconds when the file was made; the status word for ASSOC.
    pub filestamp: u32,
    /// The value, unpadded (`vallen` octets).
    pub value: &'a [u8],
    /// The signature, unpadded (`siglen` octets, may be empty).
    pub signature: &'a [u8],
}

impl<'a> AutokeyValue<'a> {
    /// Parses the value structure of one whole field (`L = field.len()`),
    /// with the reference's receiver checks (brief §1.4, §11.3 rule 3):
    /// `L >= 24`; `1 <= vallen <= 65511`; `24 + pad4(vallen) <= L` before
    /// siglen is read; `siglen <= 65511`;
    /// `24 + pad4(vallen) + pad4(siglen) <= L`.
    pub fn parse(field: &'a [u8]) -> Result<Self, ParseError> {
        let length = field.len();
        if length < VALUE_LEN {
            return Err(ParseError::TooShort {
                what: "Autokey value structure",
                len: length,
                needed: VALUE_LEN,
            });
        }
        let word = |at: usize| {
            be_u32(field, at).ok_or(ParseError::TooShort {
                what: "Autokey value structure",
                len: length,
                needed: at + 4,
            })
        };
        let timestamp = word(8)?;
        let filestamp = word(12)?;
        let vallen = word(16)?;
        if vallen == 0 || vallen > MAX_VALLEN {
            return Err(ParseError::ValueLength { vallen });
        }
        let vlen = vallen as usize;
        let padded = pad4(vlen);
        if VALUE_LEN + padded > length {
            return Err(ParseError::ValueOverrun {
                vallen,
                padded,
                length,
            });
        }
        let siglen = word(20 + padded)?;
        if siglen > MAX_VALLEN {
            return Err(ParseError::SignatureLength { siglen });
        }
        let slen = siglen as usize;
        let spadded = pad4(slen);
        let available = length - VALUE_LEN - padded;
        if spadded > available {
            return Err(ParseError::SignatureOverrun {
                siglen,
                padded: spadded,
                available,
                length,
            });
        }
        let value = field.get(20..20 + vlen).unwrap_or(&[]);
        let sig_at = VALUE_LEN + padded;
        let signature = field.get(sig_at..sig_at + slen).unwrap_or(&[]);
        Ok(AutokeyValue {
            timestamp,
            filestamp,
            value,
            signature,
        })
    }

    /// `vallen`.
    pub fn vallen(&self) -> usize {
        self.value.len()
    }

    /// `siglen`.
    pub fn siglen(&self) -> usize {
        self.signature.len()
    }

    /// The byte range of the field the signature covers:
    /// `timestamp ‖ filestamp ‖ vallen ‖ value` = `[8, 20 + vallen)`,
    /// unpadded (brief §1.4, "What is signed").
    pub fn signed_range(&self) -> Range<usize> {
        8..20 + self.value.len()
    }

    /// The octets the signature covers, as they would be encoded. Equals
    /// `&field[self.signed_range()]` for a parsed value.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.value.len());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.filestamp.to_be_bytes());
        out.extend_from_slice(&(self.value.len() as u32).to_be_bytes());
        out.extend_from_slice(self.value);
        out
    }

    /// The minimal field length holding this value:
    /// `24 + pad4(vallen) + pad4(siglen)`; checks the limits a receiver
    /// applies, so anything built parses back.
    pub fn encoded_len(&self) -> Result<usize, BuildError> {
        let vlen = self.value.len();
        if vlen == 0 || vlen > MAX_VALLEN as usize {
            return Err(BuildError::ValueLength { len: vlen });
        }
        let slen = self.signature.len();
        if slen > MAX_VALLEN as usize {
            return Err(BuildError::SignatureLength { len: slen });
        }
        let len = VALUE_LEN + pad4(vlen) + pad4(slen);
        if len > usize::from(u16::MAX) {
            return Err(BuildError::FieldTooLong { len });
        }
        Ok(len)
    }
}

/// The exact octets covered by the signature of a field's value structure
/// (field octets `[8, 20 + vallen)`), after the receiver checks.
pub fn signed_octets(field: &[u8]) -> Result<&[u8], ParseError> {
    let v = AutokeyValue::parse(field)?;
    Ok(field.get(v.signed_range()).unwrap_or(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// ASSOC request field of the brief's §13.2 capture.
    fn assoc_req() -> Vec<u8> {
        hex("02 01 00 1c 00 00 38 12 00 00 00 00 00 08 00 01 00 00 00 03 63 6c 69 00 00 00 00 00")
    }

    #[test]
    fn parses_captured_assoc_request() {
        let raw = assoc_req();
        let f = AutokeyField::parse(&raw).unwrap();
        let h = f.header();
        assert_eq!(
            h,
            AutokeyHeader {
                response: false,
                error: false,
                version: 2,
                code: AutokeyCode::Assoc,
                length: 28,
                association_id: 0x3812,
            }
        );
        assert_eq!(h.field_type(), 0x0201);
        let v = f.value().unwrap().unwrap();
        assert_eq!(v.timestamp, 0);
        assert_eq!(v.filestamp, 0x0008_0001);
        assert_eq!(v.value, b"cli");
        assert!(v.signature.is_empty());
        assert_eq!(v.signed_range(), 8..23);
        assert_eq!(signed_octets(&raw).unwrap(), &raw[8..23]);
        assert_eq!(v.signed_bytes(), &raw[8..23]);
        let rebuilt = ExtensionField::new_autokey(h, Some(&v)).unwrap();
        assert_eq!(rebuilt.as_bytes(), &raw[..]);
    }

    #[test]
    fn opcode_words_of_the_brief_table() {
        for code in 0u8..=9 {
            let c = AutokeyCode::from_u8(code);
            assert_eq!(
                AutokeyHeader::request(c, 0).field_type(),
                0x0200 | u16::from(code)
            );
            assert_eq!(
                AutokeyHeader::response(c, 0).field_type(),
                0x8200 | u16::from(code)
            );
            assert_eq!(
                AutokeyHeader::error_response(c, 0).field_type(),
                0xc200 | u16::from(code)
            );
            assert_eq!(c.to_u8(), code);
        }
        assert_eq!(AutokeyCode::from_u8(200), AutokeyCode::Unknown(200));
    }

    #[test]
    fn eight_octet_fields_are_accepted() {
        let leap_req =
            ExtensionField::new_autokey(AutokeyHeader::request(AutokeyCode::Leap, 32249), None)
                .unwrap();
        assert_eq!(leap_req.as_bytes(), &hex("02050008 00007df9")[..]);
        let f = leap_req.autokey().unwrap();
        assert_eq!(f.header().code, AutokeyCode::Leap);
        assert_eq!(f.value(), Ok(None));
        let err =
            ExtensionField::new_autokey(AutokeyHeader::error_response(AutokeyCode::Cook, 1), None)
                .unwrap();
        assert_eq!(&err.as_bytes()[..4], &[0xc2, 0x03, 0x00, 0x08]);
    }

    #[test]
    fn header_rejections() {
        assert_eq!(
            AutokeyField::parse(&hex("02010004")),
            Err(ParseError::AutokeyFieldTooShort { length: 4 })
        );
        assert_eq!(
            AutokeyField::parse(&hex("03010008 00000001")),
            Err(ParseError::AutokeyVersion { version: 3 })
        );
        assert_eq!(
            AutokeyField::parse(&hex("0201000c 00000001")),
            Err(ParseError::AutokeyLengthMismatch {
                declared: 12,
                actual: 8
            })
        );
        assert_eq!(
            AutokeyField::parse(&hex("02010004 00000001")),
            Err(ParseError::AutokeyFieldTooShort { length: 4 })
        );
    }

    fn value_field(vallen: u32, body: &[u8], siglen_word: Option<u32>, total: usize) -> Vec<u8> {
        let mut f = hex("82020000 00000001 eeb3bf71 eeb3bf6c");
        f.extend_from_slice(&vallen.to_be_bytes());
        f.extend_from_slice(body);
        if let Some(s) = siglen_word {
            f.extend_from_slice(&s.to_be_bytes());
        }
        f.resize(total, 0);
        let l = (total as u16).to_be_bytes();
        f[2] = l[0];
        f[3] = l[1];
        f
    }

    #[test]
    fn value_checks() {
        // vallen 0
        let f = value_field(0, &[], Some(0), 24);
        assert_eq!(
            AutokeyValue::parse(&f),
            Err(ParseError::ValueLength { vallen: 0 })
        );
        // vallen too large
        let f = value_field(65512, &[], Some(0), 24);
        assert_eq!(
            AutokeyValue::parse(&f),
            Err(ParseError::ValueLength { vallen: 65512 })
        );
        // vallen overruns: 24 + pad4(5) = 32 > 28; siglen must not be read.
        let f = value_field(5, &[1, 2, 3, 4], None, 28);
        assert_eq!(
            AutokeyValue::parse(&f),
            Err(ParseError::ValueOverrun {
                vallen: 5,
                padded: 8,
                length: 28
            })
        );
        // siglen too large
        let f = value_field(4, &[1, 2, 3, 4], Some(65512), 28);
        assert_eq!(
            AutokeyValue::parse(&f),
            Err(ParseError::SignatureLength { siglen: 65512 })
        );
        // siglen overruns
        let f = value_field(4, &[1, 2, 3, 4], Some(5), 32);
        assert_eq!(
            AutokeyValue::parse(&f),
            Err(ParseError::SignatureOverrun {
                siglen: 5,
                padded: 8,
                available: 4,
                length: 32
            })
        );
        // exact fit with padding
        let f = value_field(4, &[1, 2, 3, 4], Some(3), 32);
        let v = AutokeyValue::parse(&f).unwrap();
        assert_eq!((v.vallen(), v.siglen()), (4, 3));
        assert_eq!(v.timestamp, 4_004_757_361);
        // a field longer than its value structure is accepted (reference uses >=)
        let f = value_field(4, &[1, 2, 3, 4], Some(0), 40);
        assert_eq!(AutokeyValue::parse(&f).unwrap().siglen(), 0);
        // too short for a value structure
        assert!(matches!(
            AutokeyValue::parse(&f[..20]),
            Err(ParseError::TooShort { .. })
        ));
    }

    #[test]
    fn builder_limits() {
        let h = AutokeyHeader::response(AutokeyCode::Cert, 1);
        let empty = AutokeyValue {
            timestamp: 1,
            filestamp: 2,
            value: &[],
            signature: &[],
        };
        assert_eq!(
            ExtensionField::new_autokey(h, Some(&empty)),
            Err(BuildError::ValueLength { len: 0 })
        );
        let big = vec![0u8; 65511];
        let v = AutokeyValue {
            timestamp: 1,
            filestamp: 2,
            value: &big,
            signature: &[],
        };
        assert_eq!(
            ExtensionField::new_autokey(h, Some(&v)),
            Err(BuildError::FieldTooLong { len: 65536 })
        );
        let ok = vec![7u8; 65508];
        let v = AutokeyValue {
            timestamp: 1,
            filestamp: 2,
            value: &ok,
            signature: &[],
        };
        let f = ExtensionField::new_autokey(h, Some(&v)).unwrap();
        assert_eq!(f.len(), 65532);
        assert_eq!(f.autokey().unwrap().value().unwrap().unwrap(), v);
        assert_eq!(
            ExtensionField::new(1, &[0; 3]),
            Err(BuildError::FieldBody { len: 3 })
        );
    }

    #[test]
    fn chain_walk_rules() {
        let mut pkt = vec![0u8; 48];
        // no MAC
        assert_eq!(walk_fields(&pkt, 48).unwrap().len(), 0);
        // rem not multiple of 4
        pkt.extend_from_slice(&[0; 6]);
        assert_eq!(
            walk_fields(&pkt, 48),
            Err(ParseError::BadTrailerLength {
                offset: 48,
                remaining: 6
            })
        );
        pkt.truncate(48);
        // 4..=24 octets are the MAC
        for mac in [4usize, 8, 20, 24] {
            let mut p = pkt.clone();
            p.resize(48 + mac, 0xff);
            let c = walk_fields(&p, 48).unwrap();
            assert!(c.is_empty());
            assert_eq!(c.end(), 48);
            assert_eq!(c.trailer().len(), mac);
        }
        // a field of length 2 with 28 remaining
        let mut p = pkt.clone();
        p.extend_from_slice(&hex("02010002"));
        p.resize(48 + 28, 0);
        assert_eq!(
            walk_fields(&p, 48),
            Err(ParseError::BadFieldLength {
                offset: 48,
                length: 2,
                remaining: 28
            })
        );
        // a field running past the end
        p[50..52].copy_from_slice(&[0, 32]);
        assert_eq!(
            walk_fields(&p, 48),
            Err(ParseError::BadFieldLength {
                offset: 48,
                length: 32,
                remaining: 28
            })
        );
        // L % 4 != 0
        p[50..52].copy_from_slice(&[0, 10]);
        assert!(matches!(
            walk_fields(&p, 48),
            Err(ParseError::BadFieldLength { length: 10, .. })
        ));
        // an 8-octet field followed by a 20-octet MAC
        p[50..52].copy_from_slice(&[0, 8]);
        let c = walk_fields(&p, 48).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.end(), 56);
        assert_eq!(c.fields().next().unwrap().len(), 8);
        assert_eq!(c.trailer().len(), 20);
        // a short field without a MAC is taken for the MAC (brief §1.2)
        let mut p = pkt.clone();
        p.extend_from_slice(&hex("02050008 00007df9"));
        let c = walk_fields(&p, 48).unwrap();
        assert!(c.is_empty());
        assert_eq!(c.trailer().len(), 8);
    }

    #[test]
    fn generic_rfc7822_field_round_trips() {
        // An NTS-style unique-identifier field (type 0x0104), 36 octets.
        let mut raw = hex("01040024");
        raw.extend((0u8..32).map(|i| i.wrapping_mul(37)));
        let f = ExtensionField::parse(&raw).unwrap();
        assert_eq!(f.field_type(), 0x0104);
        assert_eq!(f.body().len(), 32);
        assert_eq!(f.as_bytes(), &raw[..]);
        assert_eq!(ExtensionField::new(0x0104, f.body()).unwrap(), f);
        assert!(f.autokey().is_err()); // version 1
    }

    pub(crate) fn arb_autokey_value() -> impl Strategy<Value = (u32, u32, Vec<u8>, Vec<u8>)> {
        (
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 1..200),
            proptest::collection::vec(any::<u8>(), 0..130),
        )
    }

    proptest! {
        #[test]
        fn autokey_build_parse_round_trip((ts, fs, value, sig) in arb_autokey_value(),
                                          resp: bool, err: bool, code: u8, assoc: u32) {
            let h = AutokeyHeader { response: resp, error: err, version: 2,
                                    code: AutokeyCode::from_u8(code), length: 0, association_id: assoc };
            let v = AutokeyValue { timestamp: ts, filestamp: fs, value: &value, signature: &sig };
            let f = ExtensionField::new_autokey(h, Some(&v)).unwrap();
            prop_assert_eq!(f.len(), 24 + pad4(value.len()) + pad4(sig.len()));
            let a = f.autokey().unwrap();
            prop_assert_eq!(a.header(), AutokeyHeader { length: f.len() as u16, ..h });
            let parsed = a.value().unwrap().unwrap();
            prop_assert_eq!(parsed, v);
            prop_assert_eq!(&f.as_bytes()[parsed.signed_range()], &parsed.signed_bytes()[..]);
            // Re-building the parsed view is byte-identical.
            prop_assert_eq!(ExtensionField::new_autokey(a.header(), Some(&parsed)).unwrap(), f);
        }

        #[test]
        fn value_parse_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Ok(v) = AutokeyValue::parse(&raw) {
                prop_assert!(24 + pad4(v.vallen()) + pad4(v.siglen()) <= raw.len());
                prop_assert!(v.vallen() >= 1);
            }
        }

        #[test]
        fn chain_walk_tiles_its_input(words in proptest::collection::vec(
            prop_oneof![any::<u32>(), (0u32..80).prop_map(|l| 0x0201_0000 | l)], 0..40),
            tail in 0usize..4) {
            let mut buf: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            buf.extend(std::iter::repeat_n(0u8, tail));
            if let Ok(chain) = walk_fields(&buf, 0) {
                let mut offset = 0;
                for f in chain.fields() {
                    prop_assert_eq!(f.offset(), offset);
                    prop_assert!(buf.len() - offset > MAC_THRESHOLD);
                    prop_assert!(f.len() >= 4 && f.len() % 4 == 0);
                    offset += f.len();
                }
                prop_assert_eq!(offset, chain.end());
                let t = chain.trailer().len();
                prop_assert!(t == 0 || (4..=MAC_THRESHOLD).contains(&t));
                prop_assert_eq!(offset + t, buf.len());
            }
        }

        #[test]
        fn generic_field_round_trip(ty: u16, body in proptest::collection::vec(any::<u8>(), 0..64)
                                    .prop_map(|mut b| { b.truncate(b.len() / 4 * 4); b })) {
            let f = ExtensionField::new(ty, &body).unwrap();
            prop_assert_eq!(ExtensionField::parse(f.as_bytes()), Ok(f.clone()));
            prop_assert_eq!(f.field_type(), ty);
            prop_assert_eq!(f.body(), &body[..]);
        }
    }
}
