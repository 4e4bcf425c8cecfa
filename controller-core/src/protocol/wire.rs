//! Bounds-checked building blocks of the binary UDP formats (lookup 8000,
//! live 8001, extension 7979): the common header, big-endian integers,
//! length-prefixed UTF-8 strings and LED states.
//!
//! Hand-written because the formats are ours and tiny: a serialisation crate
//! would add a second, undocumented layout to what `docs/protocols.md`
//! specifies byte by byte. Every read checks the remaining length first, so
//! no input can make a decoder index out of bounds.

use crate::project::{Led, LedColor, LedMode};

/// Every binary datagram starts with 4 magic bytes, a version and a kind.
pub const HEADER_LEN: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("datagram of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("datagram ends early at byte {at}: {needed} more bytes needed")]
    Truncated { at: usize, needed: usize },
    #[error("not a roomctl {protocol} datagram (the first 4 bytes are not {magic:?})")]
    BadMagic {
        protocol: &'static str,
        magic: &'static str,
    },
    #[error("protocol version {got} is not supported (this side speaks version {supported})")]
    UnsupportedVersion { got: u8, supported: u8 },
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    #[error("the text at byte {0} is not UTF-8")]
    NotUtf8(usize),
    #[error("{field} has the invalid value {value}")]
    BadValue { field: &'static str, value: u64 },
    #[error("{0} unexpected bytes after the end of the message")]
    Trailing(usize),
}

/// Reads a datagram front to back; every method checks the bounds.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::Truncated {
                at: self.pos,
                needed: n - self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, WireError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A string: one length byte, then that many bytes of UTF-8.
    pub fn string(&mut self) -> Result<String, WireError> {
        let len = self.u8()? as usize;
        let at = self.pos;
        let b = self.bytes(len)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| WireError::NotUtf8(at))
    }

    /// An LED: mode byte then colour byte.
    pub fn led(&mut self) -> Result<Led, WireError> {
        let mode = self.u8()?;
        let color = self.u8()?;
        Ok(Led {
            mode: *LedMode::ALL.get(mode as usize).ok_or(WireError::BadValue {
                field: "LED mode",
                value: mode.into(),
            })?,
            color: *LedColor::ALL
                .get(color as usize)
                .ok_or(WireError::BadValue {
                    field: "LED colour",
                    value: color.into(),
                })?,
        })
    }

    /// Checks the 6-byte header and returns the message kind.
    pub fn header(
        &mut self,
        magic: &'static [u8; 4],
        protocol: &'static str,
        version: u8,
    ) -> Result<u8, WireError> {
        let m = self.bytes(4).map_err(|_| WireError::BadMagic {
            protocol,
            magic: magic_str(magic),
        })?;
        if m != magic {
            return Err(WireError::BadMagic {
                protocol,
                magic: magic_str(magic),
            });
        }
        let v = self.u8()?;
        if v != version {
            return Err(WireError::UnsupportedVersion {
                got: v,
                supported: version,
            });
        }
        self.u8()
    }

    /// The message must end here.
    pub fn finish(&self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

fn magic_str(magic: &'static [u8; 4]) -> &'static str {
    std::str::from_utf8(magic).unwrap_or("?")
}

/// Rejects a datagram above `limit` before any parsing.
pub fn check_size(buf: &[u8], limit: usize) -> Result<(), WireError> {
    if buf.len() > limit {
        Err(WireError::TooLarge {
            size: buf.len(),
            limit,
        })
    } else {
        Ok(())
    }
}

/// Builds a datagram.
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new(magic: &[u8; 4], version: u8, kind: u8) -> Writer {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(magic);
        buf.push(version);
        buf.push(kind);
        Writer { buf }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn u8(&mut self, v: u8) -> &mut Writer {
        self.buf.push(v);
        self
    }

    pub fn u16(&mut self, v: u16) -> &mut Writer {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Writer {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Writer {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Writer {
        self.buf.extend_from_slice(b);
        self
    }

    /// Writes a string of at most 255 bytes; longer text is cut at a
    /// character boundary (names and labels only: identifiers are validated
    /// to 64 bytes by the project format).
    pub fn string(&mut self, s: &str) -> &mut Writer {
        let s = truncate(s, 255);
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self
    }

    pub fn led(&mut self, led: Led) -> &mut Writer {
        self.buf.push(led_mode_code(led.mode));
        self.buf.push(led_color_code(led.color));
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Bytes `string` writes for `s`.
pub fn string_len(s: &str) -> usize {
    1 + truncate(s, 255).len()
}

fn led_mode_code(mode: LedMode) -> u8 {
    LedMode::ALL.iter().position(|m| *m == mode).unwrap_or(0) as u8
}

fn led_color_code(color: LedColor) -> u8 {
    LedColor::ALL.iter().position(|c| *c == color).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn led_codes_are_the_documented_ones() {
        let mut w = Writer::new(b"TEST", 1, 0);
        w.led(Led {
            mode: LedMode::FastBlink,
            color: LedColor::Magenta,
        });
        assert_eq!(&w.finish()[HEADER_LEN..], &[3, 7]);
        assert!(Reader::new(&[4, 0]).led().is_err());
        assert!(Reader::new(&[0, 8]).led().is_err());
    }

    #[test]
    fn strings_are_cut_at_a_character_boundary() {
        let s = "é".repeat(200);
        let mut w = Writer::new(b"TEST", 1, 0);
        w.string(&s);
        let bytes = w.finish();
        let back = Reader::new(&bytes[HEADER_LEN..]).string().unwrap();
        assert_eq!(back.len(), 254);
        assert!(s.starts_with(&back));
    }
}
