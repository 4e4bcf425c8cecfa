//! The lines waiting to be written to one central-control client: a
//! bounded queue (in lines and in bytes) written with one vectored write per
//! wake-up, remembering how much of the front line already went out.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;

/// Bytes a client may have waiting, whatever the line count (a few big
/// snapshots count as much as many small replies).
pub const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;

/// The lines waiting to be written to one client, and their total size.
#[derive(Default)]
pub struct Outbox {
    lines: VecDeque<Bytes>,
    bytes: usize,
    /// How much of the front line was written already.
    offset: usize,
}

impl Outbox {
    pub fn push_back(&mut self, line: Bytes) {
        self.bytes += line.len();
        self.lines.push_back(line);
    }

    fn pop_front(&mut self) {
        if let Some(line) = self.lines.pop_front() {
            self.bytes -= line.len();
        }
        self.offset = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn over(&self, max_lines: usize) -> bool {
        self.lines.len() > max_lines || self.bytes > MAX_QUEUED_BYTES
    }

    /// Writes as much of the queue as the socket takes in one vectored write.
    pub async fn write_some(&mut self, writer: &mut OwnedWriteHalf) -> std::io::Result<()> {
        let mut slices = [IoSlice::new(&[]); 64];
        let mut count = 0;
        for (i, b) in self.lines.iter().take(slices.len()).enumerate() {
            slices[i] = IoSlice::new(if i == 0 { &b[self.offset..] } else { &b[..] });
            count += 1;
        }
        let mut written = writer.write_vectored(&slices[..count]).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let Some(front) = self.lines.front() else {
                break;
            };
            let left = front.len() - self.offset;
            if written >= left {
                written -= left;
                self.pop_front();
            } else {
                self.offset += written;
                written = 0;
            }
        }
        Ok(())
    }

    /// What is still owed to a closing client: the rest of a half-written
    /// line and, unless `all` is false, every queued line after it.
    pub fn drain_owed(&mut self, all: bool) -> Vec<Bytes> {
        let mut owed = Vec::new();
        if let Some(front) = self.lines.front() {
            owed.push(front.slice(self.offset..));
            self.pop_front();
        }
        if all {
            owed.extend(self.lines.drain(..));
        }
        *self = Outbox::default();
        owed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owed_lines_start_where_the_write_stopped() {
        let mut o = Outbox::default();
        o.push_back(Bytes::from_static(b"first\n"));
        o.push_back(Bytes::from_static(b"second\n"));
        o.offset = 3;
        assert_eq!(
            o.drain_owed(true),
            vec![Bytes::from_static(b"st\n"), Bytes::from_static(b"second\n")]
        );
        assert!(o.is_empty());
        o.push_back(Bytes::from_static(b"a\n"));
        o.push_back(Bytes::from_static(b"b\n"));
        assert_eq!(o.drain_owed(false), vec![Bytes::from_static(b"a\n")]);
    }

    #[test]
    fn over_counts_lines_and_bytes() {
        let mut o = Outbox::default();
        o.push_back(Bytes::from(vec![b'x'; MAX_QUEUED_BYTES]));
        assert!(!o.over(1));
        o.push_back(Bytes::from_static(b"\n"));
        assert!(o.over(5));
    }
}
