//! Building response data and splitting it into fragments the way the
//! reference ntpd does (`ctl_putdata` / `ctl_flushpkt`), so that a server
//! built on this produces byte-identical responses (RFC 9327 §2: offset,
//! count and the more bit).
//!
//! Text responses are lists of `name=value` items separated by `, `; before
//! an item that would make the current line reach 72 characters the space
//! is replaced by CR LF. The last fragment of a text response ends in CR LF
//! when it has room for it. A fragment carries at most 468 data octets; a
//! text item that does not fit (with 3 octets to spare for the next
//! separator) is cut and continued in the next fragment.

use super::error::ControlError;
use super::header::{ControlHeader, MAX_DATA_LEN};
use super::message::ControlMessage;
use super::varlist::{write_item, VarValue};

/// Line length at which the reference breaks variable lists.
pub const MAX_LINE_LEN: usize = 72;

/// Room the reference keeps free after a text item for the next separator.
const TEXT_OVERHEAD: usize = 3;

/// The data of one response fragment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataFragment {
    /// Offset of `data` in the whole response.
    pub offset: usize,
    /// Whether more fragments follow (the M bit).
    pub more: bool,
    /// At most [`MAX_DATA_LEN`] octets.
    pub data: Vec<u8>,
}

impl DataFragment {
    /// The response message carrying this fragment: `header` with the R bit
    /// set, E clear, and this fragment's M bit and offset.
    pub fn to_message(&self, header: ControlHeader) -> Result<ControlMessage, ControlError> {
        let end = self.offset.saturating_add(self.data.len());
        let offset = u16::try_from(self.offset)
            .ok()
            .filter(|_| end <= usize::from(u16::MAX))
            .ok_or(ControlError::ResponseTooLong { len: end })?;
        let header = ControlHeader {
            response: true,
            error: false,
            more: self.more,
            offset,
            ..header
        };
        ControlMessage::new(header, &self.data)
    }
}

/// Accumulates response data item by item and cuts it into fragments
/// exactly as the reference ntpd does.
#[derive(Debug, Clone, Default)]
pub struct ResponseWriter {
    done: Vec<DataFragment>,
    current: Vec<u8>,
    offset: usize,
    line_len: usize,
    sent: bool,
    text: bool,
}

impl ResponseWriter {
    /// A writer with no data yet; the first fragment starts at offset 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one text item (`name=value`, `name="value"` or `name`),
    /// preceded by `, ` or `,\r\n` if it is not the first.
    pub fn put_text(&mut self, item: &[u8]) {
        self.text = true;
        if self.sent {
            // Only reachable when binary data filled the fragment before.
            if self.current.len() + TEXT_OVERHEAD > MAX_DATA_LEN {
                self.flush(true);
            }
            self.current.push(b',');
            self.line_len += 1;
            if item.len() + self.line_len + 1 >= MAX_LINE_LEN {
                self.current.extend_from_slice(b"\r\n");
                self.line_len = 0;
            } else {
                self.current.push(b' ');
                self.line_len += 1;
            }
        }
        self.put(item, TEXT_OVERHEAD);
    }

    /// Appends a variable as the reference formats it (`name=value`,
    /// `name="value"`, or `name` alone).
    pub fn put_var(&mut self, name: &str, value: &VarValue) -> Result<(), ControlError> {
        let item = write_item(name, value)?;
        self.put_text(&item);
        Ok(())
    }

    /// Appends binary data (READSTAT association lists): no separators,
    /// fragments filled to exactly 468 octets.
    pub fn put_binary(&mut self, bytes: &[u8]) {
        self.put(bytes, 0);
    }

    fn put(&mut self, mut bytes: &[u8], overhead: usize) {
        while bytes.len() + overhead + self.current.len() > MAX_DATA_LEN {
            let room = MAX_DATA_LEN.saturating_sub(self.current.len());
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.current.extend_from_slice(now);
            self.line_len += now.len();
            bytes = later;
            self.flush(true);
        }
        self.current.extend_from_slice(bytes);
        self.line_len += bytes.len();
        self.sent = true;
    }

    fn flush(&mut self, more: bool) {
        let mut data = std::mem::take(&mut self.current);
        if !more && self.text && data.len() + 2 < MAX_DATA_LEN {
            data.extend_from_slice(b"\r\n");
        }
        let len = data.len();
        self.done.push(DataFragment {
            offset: self.offset,
            more,
            data,
        });
        self.offset += len;
    }

    /// Octets written so far (all fragments, without the final CR LF).
    pub fn len(&self) -> usize {
        self.offset + self.current.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends the response: the last fragment (M bit clear) is emitted even
    /// when empty, as the reference does.
    pub fn finish(mut self) -> Vec<DataFragment> {
        self.flush(false);
        self.done
    }
}

/// Splits binary data into fragments of at most 468 octets (one empty
/// fragment for empty data).
pub fn fragment_data(data: &[u8]) -> Vec<DataFragment> {
    let mut w = ResponseWriter::new();
    w.put_binary(data);
    w.finish()
}

/// The concatenated data of fragments written in order (what a client
/// reassembles).
pub fn concat_fragments(fragments: &[DataFragment]) -> Vec<u8> {
    fragments
        .iter()
        .flat_map(|f| f.data.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_gets_crlf() {
        let mut w = ResponseWriter::new();
        w.put_text(b"cert=\"alice alice 0x1\"");
        w.put_text(b"until=202711270842");
        let f = w.finish();
        assert_eq!(f.len(), 1);
        // alice/ntpq-mode6.pcap frame 2, exactly.
        assert_eq!(
            f[0].data,
            b"cert=\"alice alice 0x1\", until=202711270842\r\n"
        );
        assert!(!f[0].more);
    }

    #[test]
    fn lines_break_before_72() {
        let mut w = ResponseWriter::new();
        for item in [
            "srcadr=10.0.0.1",
            "srcport=123",
            "dstadr=10.0.0.2",
            "dstport=123",
            "leap=0",
            "stratum=5",
        ] {
            w.put_text(item.as_bytes());
        }
        let data = concat_fragments(&w.finish());
        assert_eq!(
            data,
            b"srcadr=10.0.0.1, srcport=123, dstadr=10.0.0.2, dstport=123, leap=0,\r\nstratum=5\r\n"
        );
    }

    #[test]
    fn binary_fills_fragments() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let f = fragment_data(&data);
        assert_eq!(
            f.iter().map(|f| f.data.len()).collect::<Vec<_>>(),
            vec![468, 468, 64]
        );
        assert_eq!(
            f.iter().map(|f| f.more).collect::<Vec<_>>(),
            vec![true, true, false]
        );
        assert_eq!(f[2].offset, 936);
        assert_eq!(concat_fragments(&f), data);
        let empty = fragment_data(&[]);
        assert_eq!(
            empty,
            vec![DataFragment {
                offset: 0,
                more: false,
                data: vec![]
            }]
        );
    }

    #[test]
    fn text_item_cut_across_fragments_keeps_room_for_separator() {
        let mut w = ResponseWriter::new();
        let long = vec![b'a'; 460];
        w.put_text(&long);
        // The long line forces ",\r\n"; 463 + 8 + 3 octets of room do not fit.
        w.put_text(b"b=123456");
        let f = w.finish();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].data.len(), 468);
        assert!(f[0].more);
        assert_eq!(&f[0].data[460..], b",\r\nb=123");
        assert_eq!(f[1].data, b"456\r\n");
        assert_eq!(f[1].offset, 468);
    }

    #[test]
    fn to_message_sets_bits() {
        let h = ControlHeader::request(2, super::super::header::Opcode::ReadVariables, 4, 0);
        let frag = DataFragment {
            offset: 468,
            more: true,
            data: b"x".to_vec(),
        };
        let m = frag.to_message(h).unwrap();
        assert!(m.header.response && m.header.more && !m.header.error);
        assert_eq!(m.header.offset, 468);
        let far = DataFragment {
            offset: 65_500,
            more: false,
            data: vec![0; 100],
        };
        assert_eq!(
            far.to_message(h),
            Err(ControlError::ResponseTooLong { len: 65_600 })
        );
    }
}
