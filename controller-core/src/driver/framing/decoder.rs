//! The decoder: bytes in, in any split, payloads out, for line and binary
//! framing (datagram framing: one push is one datagram, one payload);
//! bounded, and counting what it drops ([`Dropped`]).

use super::{checksum, ByteEscape, Framing};
use crate::driver::schema::ChecksumKind;

/// What the decoder threw away, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Bytes before a frame's header.
    pub garbage_bytes: u64,
    /// Frames with a wrong checksum, end byte or length.
    pub bad_frames: u64,
    /// Frames longer than `max_length`.
    pub oversized: u64,
}

impl Dropped {
    pub fn total(&self) -> u64 {
        self.garbage_bytes + self.bad_frames + self.oversized
    }
}

/// Bytes in, payloads out.
#[derive(Debug, Clone)]
pub struct Decoder {
    framing: Framing,
    buffer: Vec<u8>,
    /// A line grew past the limit: skip to its end.
    skipping: bool,
    pub dropped: Dropped,
}

impl Decoder {
    pub(super) fn new(framing: Framing) -> Decoder {
        Decoder {
            framing,
            buffer: Vec::new(),
            skipping: false,
            dropped: Dropped::default(),
        }
    }

    /// Nothing is waiting in the buffer (no part of a frame).
    pub(super) fn is_idle(&self) -> bool {
        self.buffer.is_empty()
    }

    /// Every whole payload in what has arrived so far. With datagram
    /// framing, `bytes` is one whole datagram.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        match self.framing.clone() {
            Framing::Datagram { max_length } => {
                if bytes.len() > max_length {
                    self.dropped.oversized += 1;
                } else if !bytes.is_empty() {
                    out.push(bytes.to_vec());
                }
            }
            Framing::Line {
                receive,
                max_length,
                ..
            } => {
                for &b in bytes {
                    if receive.contains(&b) {
                        if self.skipping {
                            self.skipping = false;
                        } else if !self.buffer.is_empty() {
                            out.push(std::mem::take(&mut self.buffer));
                        }
                    } else if !self.skipping {
                        if self.buffer.len() >= max_length {
                            self.buffer.clear();
                            self.skipping = true;
                            self.dropped.oversized += 1;
                        } else {
                            self.buffer.push(b);
                        }
                    }
                }
            }
            Framing::Binary { .. } => {
                self.buffer.extend_from_slice(bytes);
                while let Some(payload) = self.next_binary() {
                    out.push(payload);
                }
            }
        }
        out
    }

    /// Bytes held for a frame not yet complete.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    fn drop_front(&mut self, n: usize) {
        self.buffer.drain(..n.min(self.buffer.len()));
    }

    /// One frame from the buffer, dropping what cannot start one.
    fn next_binary(&mut self) -> Option<Vec<u8>> {
        // A copy (a few bytes), so the buffer can change while it is read.
        let Framing::Binary {
            header,
            length,
            checksum: sum,
            terminator,
            escape,
            max_length,
        } = self.framing.clone()
        else {
            return None;
        };
        let shape = FrameShape {
            header: &header,
            length,
            sum,
            terminator,
            escape: escape.as_ref(),
        };
        loop {
            // Find the header; what is before it is garbage.
            if !self.align(&header) {
                return None;
            }
            let total = match self.wire_length(&shape, max_length)? {
                Ok(total) => total,
                Err(()) => continue,
            };
            if self.buffer.len() < total {
                return None;
            }
            match shape.unframe(&self.buffer[..total]) {
                Ok(payload) => {
                    self.drop_front(total);
                    return Some(payload);
                }
                Err(skip) => {
                    self.dropped.bad_frames += 1;
                    self.drop_front(match skip {
                        Skip::Resync => 1.max(header.len()),
                        Skip::Frame => total,
                    });
                }
            }
        }
    }

    /// Drops what comes before the header (garbage); false when the header
    /// is not in the buffer yet (its possible start is kept).
    fn align(&mut self, header: &[u8]) -> bool {
        if header.is_empty() {
            return true;
        }
        match find(&self.buffer, header) {
            Some(0) => true,
            Some(i) => {
                self.dropped.garbage_bytes += i as u64;
                self.drop_front(i);
                true
            }
            None => {
                let keep = header.len() - 1;
                let excess = self.buffer.len().saturating_sub(keep);
                self.dropped.garbage_bytes += excess as u64;
                self.drop_front(excess);
                false
            }
        }
    }

    /// The length on the wire of the frame at the start of the buffer:
    /// from its length byte, or up to its end byte. `None`: not known yet
    /// (wait for more bytes); `Err`: no frame starts here (what was dropped
    /// is counted; look again).
    fn wire_length(
        &mut self,
        shape: &FrameShape<'_>,
        max_length: usize,
    ) -> Option<Result<usize, ()>> {
        let total = match shape.length {
            Some((offset, adjust)) => {
                let len_byte = *self.buffer.get(offset)?;
                let counted = i64::from(len_byte) + i64::from(adjust);
                if counted < 0 {
                    self.dropped.bad_frames += 1;
                    self.drop_front(1.max(shape.header.len()));
                    return Some(Err(()));
                }
                offset
                    + 1
                    + counted as usize
                    + usize::from(shape.sum.is_some())
                    + usize::from(shape.terminator.is_some())
            }
            None => {
                let t = shape
                    .terminator
                    .expect("validation: binary framing has a length or an end byte");
                match self.buffer.iter().position(|b| *b == t) {
                    Some(i) => i + 1,
                    None => {
                        if self.buffer.len() > max_length {
                            self.dropped.oversized += 1;
                            self.buffer.clear();
                        }
                        return None;
                    }
                }
            }
        };
        if total > max_length {
            self.dropped.oversized += 1;
            self.drop_front(1.max(shape.header.len()));
            return Some(Err(()));
        }
        Some(Ok(total))
    }
}

/// A binary framing's parts, borrowed for one read.
struct FrameShape<'a> {
    header: &'a [u8],
    length: Option<(usize, i16)>,
    sum: Option<(ChecksumKind, usize)>,
    terminator: Option<u8>,
    escape: Option<&'a ByteEscape>,
}

/// What to drop after a bad frame.
enum Skip {
    /// The header's bytes only: a frame may start inside this one.
    Resync,
    /// The whole frame.
    Frame,
}

impl FrameShape<'_> {
    /// The payload of a whole frame as it came off the wire: unstuffed,
    /// its end byte and checksum checked, its header, length byte,
    /// checksum and end byte removed.
    fn unframe(&self, wire: &[u8]) -> Result<Vec<u8>, Skip> {
        let total = wire.len();
        let hl = self.header.len();
        let mut frame: Vec<u8> = wire.to_vec();
        if let Some(e) = self.escape {
            // Validation: stuffed frames end with their end byte.
            let inside = frame.get(hl..total - 1).unwrap_or(&[]);
            let plain = e.unstuff(inside).ok_or(Skip::Frame)?;
            frame.truncate(hl);
            frame.extend_from_slice(&plain);
            frame.push(wire[total - 1]);
        }
        let mut end = frame.len();
        if let Some(t) = self.terminator {
            if frame[end - 1] != t {
                return Err(Skip::Resync);
            }
            end -= 1;
        }
        if let Some((kind, from)) = self.sum {
            if end == 0 || from >= end {
                return Err(Skip::Frame);
            }
            end -= 1;
            if checksum(kind, &frame[from..end]) != frame[end] {
                return Err(Skip::Resync);
            }
        }
        if end < hl {
            return Err(Skip::Frame);
        }
        let mut payload = frame[hl..end].to_vec();
        if let Some((offset, _)) = self.length {
            payload.remove(offset - hl);
        }
        Ok(payload)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
