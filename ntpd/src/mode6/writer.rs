//! A thin layer over [`proto::control::ResponseWriter`] that writes the
//! reference's item shapes (`ctl_putunqstr`, `ctl_putstr`, `ctl_putdata`).

use proto::control::{DataFragment, ResponseWriter, MAX_DATA_LEN};

use super::format;

/// The data of one response being built.
#[derive(Debug, Default)]
pub struct Out {
    writer: ResponseWriter,
}

impl Out {
    pub fn new() -> Self {
        Self::default()
    }

    /// `name=value`.
    pub fn bare(&mut self, name: &str, value: &str) {
        self.writer.put_text(&format::bare(name, value));
    }

    /// `name="value"`.
    pub fn quoted(&mut self, name: &str, value: &str) {
        self.writer.put_text(&format::quoted(name, value));
    }

    /// A text item written verbatim.
    pub fn text(&mut self, item: &[u8]) {
        self.writer.put_text(item);
    }

    /// Binary data (the association list).
    pub fn binary(&mut self, data: &[u8]) {
        self.writer.put_binary(data);
    }

    /// Fragments completed so far plus the one being filled (the
    /// reference's `res_frags`): every completed fragment holds exactly
    /// [`MAX_DATA_LEN`] octets.
    pub fn fragments(&self) -> usize {
        self.writer.len() / MAX_DATA_LEN + 1
    }

    /// Ends the response.
    pub fn finish(self) -> Vec<DataFragment> {
        self.writer.finish()
    }
}
