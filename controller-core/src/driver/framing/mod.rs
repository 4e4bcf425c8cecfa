//! Message framing: where one message ends and the next begins, in both
//! directions. A driver's templates see payloads; this adds and removes the
//! rest (a line terminator, or a binary frame's header, length byte,
//! checksum and end byte). Datagram framing has no rest: over UDP each
//! datagram is exactly one message (Sennheiser SSC's JSON objects).
//!
//! The decoder takes bytes as they arrive, in any split, and never grows
//! without bound: a device that floods, sends garbage or oversized frames
//! costs at most `max_length` bytes of buffer, and what was dropped is
//! counted in [`Dropped`].

mod decoder;

use super::schema::ChecksumKind;

pub use decoder::{Decoder, Dropped};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    Line {
        /// Appended to every line sent.
        terminator: Vec<u8>,
        /// What ends a line received, as written; any of its bytes ends a
        /// line, and empty lines are skipped (so "\r\n" also accepts a
        /// lone CR or LF).
        receive: Vec<u8>,
        max_length: usize,
    },
    Binary {
        header: Vec<u8>,
        /// The length byte's offset in the frame, and what to add to its value.
        length: Option<(usize, i16)>,
        /// The checksum and the first frame byte it covers.
        checksum: Option<(ChecksumKind, usize)>,
        terminator: Option<u8>,
        /// Byte stuffing between the header and the end byte (BSS London
        /// Direct Inject: 0x02 is sent as 1B 82).
        escape: Option<ByteEscape>,
        max_length: usize,
    },
    /// One datagram is one message, with no terminator: what is sent is
    /// the payload, and each datagram received is one payload. Only for
    /// transports that keep datagrams whole (udp); validation refuses it
    /// on a byte stream. Text templates, as line framing's.
    Datagram { max_length: usize },
}

/// Byte stuffing: each of `bytes` inside a frame (after the header, before
/// the end byte; the checksum included) is sent as `marker` followed by
/// the byte plus `add`. The checksum is computed before stuffing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteEscape {
    pub marker: u8,
    pub add: u8,
    pub bytes: Vec<u8>,
}

impl ByteEscape {
    fn stuff(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len() + 4);
        for &b in bytes {
            if self.bytes.contains(&b) {
                out.push(self.marker);
                out.push(b.wrapping_add(self.add));
            } else {
                out.push(b);
            }
        }
        out
    }

    /// The bytes as they were before stuffing; None when a marker is last
    /// or followed by a byte that stands for none of `bytes`.
    fn unstuff(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut it = bytes.iter();
        while let Some(&b) = it.next() {
            if b == self.marker {
                let orig = it.next()?.wrapping_sub(self.add);
                if !self.bytes.contains(&orig) {
                    return None;
                }
                out.push(orig);
            } else if self.bytes.contains(&b) {
                // A byte that must be stuffed arrived bare.
                return None;
            } else {
                out.push(b);
            }
        }
        Some(out)
    }
}

/// Default and ceiling for `max_length`.
pub const DEFAULT_MAX_FRAME: usize = 4096;
pub const MAX_FRAME: usize = 64 * 1024;

pub fn checksum(kind: ChecksumKind, bytes: &[u8]) -> u8 {
    match kind {
        ChecksumKind::Sum8 => bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)),
        ChecksumKind::Xor8 => bytes.iter().fold(0u8, |a, b| a ^ b),
    }
}

impl Framing {
    pub fn max_length(&self) -> usize {
        match self {
            Framing::Line { max_length, .. }
            | Framing::Binary { max_length, .. }
            | Framing::Datagram { max_length } => *max_length,
        }
    }

    /// The whole frame for a payload.
    pub fn wrap(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let frame = match self {
            Framing::Datagram { .. } => {
                if payload.is_empty() {
                    return Err("the message is empty: a datagram carries at least one byte".into());
                }
                payload.to_vec()
            }
            Framing::Line { terminator, .. } => {
                if let Some(b) = payload.iter().find(|b| terminator.contains(b)) {
                    return Err(format!(
                        "the message holds the line terminator byte 0x{b:02X}"
                    ));
                }
                let mut f = payload.to_vec();
                f.extend_from_slice(terminator);
                f
            }
            Framing::Binary {
                header,
                length,
                checksum: sum,
                terminator,
                escape,
                ..
            } => {
                let mut f = header.clone();
                match length {
                    Some((offset, adjust)) => {
                        let before = offset - header.len();
                        if payload.len() < before {
                            return Err(format!(
                                "the message is {} bytes; its length byte comes after {before}",
                                payload.len()
                            ));
                        }
                        f.extend_from_slice(&payload[..before]);
                        let counted = (payload.len() - before) as i64 - i64::from(*adjust);
                        let byte = u8::try_from(counted).map_err(|_| {
                            "the message is too long for its length byte".to_string()
                        })?;
                        f.push(byte);
                        f.extend_from_slice(&payload[before..]);
                    }
                    None => f.extend_from_slice(payload),
                }
                if let Some((kind, from)) = sum {
                    let covered = f.get(*from..).unwrap_or(&[]);
                    let c = checksum(*kind, covered);
                    f.push(c);
                }
                if let Some(e) = escape {
                    let inside = e.stuff(&f[header.len()..]);
                    f.truncate(header.len());
                    f.extend_from_slice(&inside);
                }
                if let Some(t) = terminator {
                    if length.is_none() && escape.is_none() && payload.contains(t) {
                        return Err(format!("the message holds the end byte 0x{t:02X}"));
                    }
                    f.push(*t);
                }
                f
            }
        };
        if frame.len() > self.max_length() {
            return Err(format!(
                "the message is {} bytes; the driver allows {}",
                frame.len(),
                self.max_length()
            ));
        }
        Ok(frame)
    }

    /// The framing seen from the device's side (the simulator's): for lines,
    /// what it reads ends with the driver's terminator and what it writes
    /// with the receive terminator. Binary frames look alike both ways.
    pub fn mirrored(&self) -> Framing {
        match self {
            Framing::Line {
                terminator,
                receive,
                max_length,
            } => Framing::Line {
                terminator: receive.clone(),
                receive: terminator.clone(),
                max_length: *max_length,
            },
            same => same.clone(),
        }
    }

    pub fn decoder(&self) -> Decoder {
        Decoder::new(self.clone())
    }

    /// The payload of one whole frame (header, length byte, checksum and end
    /// byte removed), or None when it is not a valid frame. For datagram
    /// framing, `frame` is one whole datagram.
    pub fn unwrap(&self, frame: &[u8]) -> Option<Vec<u8>> {
        let mut d = self.decoder();
        let mut out = d.push(frame);
        if out.len() == 1 && d.dropped.total() == 0 && d.is_idle() {
            out.pop()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mdc() -> Framing {
        Framing::Binary {
            header: vec![0xAA],
            length: Some((3, 0)),
            checksum: Some((ChecksumKind::Sum8, 1)),
            terminator: None,
            escape: None,
            max_length: 300,
        }
    }

    fn visca() -> Framing {
        Framing::Binary {
            header: vec![],
            length: None,
            checksum: None,
            terminator: Some(0xFF),
            escape: None,
            max_length: 16,
        }
    }

    /// BSS Soundweb London Direct Inject: STX, body, XOR checksum, ETX,
    /// with 02 03 06 15 1B inside stuffed as 1B and the byte plus 80.
    fn london() -> Framing {
        Framing::Binary {
            header: vec![0x02],
            length: None,
            checksum: Some((ChecksumKind::Xor8, 1)),
            terminator: Some(0x03),
            escape: Some(ByteEscape {
                marker: 0x1B,
                add: 0x80,
                bytes: vec![0x02, 0x03, 0x06, 0x15, 0x1B],
            }),
            max_length: 64,
        }
    }

    #[test]
    fn stuffed_bytes_and_checksum_round_trip() {
        // A body holding 03 and 1B, and whose checksum is 02.
        let body = [0x88, 0x03, 0x1B, 0x00, 0x92];
        assert_eq!(checksum(ChecksumKind::Xor8, &body), 0x02);
        let f = london().wrap(&body).unwrap();
        assert_eq!(
            f,
            vec![0x02, 0x88, 0x1B, 0x83, 0x1B, 0x9B, 0x00, 0x92, 0x1B, 0x82, 0x03]
        );
        assert_eq!(london().unwrap(&f), Some(body.to_vec()));
        // A bare special byte inside, or a marker standing for nothing: dropped.
        let mut d = london().decoder();
        assert!(d.push(&[0x02, 0x88, 0x06, 0x8E, 0x03]).is_empty());
        assert!(d.push(&[0x02, 0x88, 0x1B, 0x41, 0xC9, 0x03]).is_empty());
        assert_eq!(d.dropped.bad_frames, 2);
        assert_eq!(d.push(&f), vec![body.to_vec()]);
    }

    fn line() -> Framing {
        Framing::Line {
            terminator: b"\r".to_vec(),
            receive: b"\r\n".to_vec(),
            max_length: 64,
        }
    }

    #[test]
    fn mdc_power_on_frame() {
        // Samsung MDC: AA 11 <id> 01 <1> <checksum of 11..01>.
        let f = mdc().wrap(&[0x11, 0x01, 0x01]).unwrap();
        assert_eq!(f, vec![0xAA, 0x11, 0x01, 0x01, 0x01, 0x14]);
        assert_eq!(mdc().unwrap(&f), Some(vec![0x11, 0x01, 0x01]));
    }

    #[test]
    fn a_bad_checksum_is_dropped_and_the_next_frame_still_read() {
        let mut d = mdc().decoder();
        let mut bytes = vec![0xAA, 0x11, 0x01, 0x01, 0x01, 0x15];
        bytes.extend(mdc().wrap(&[0x12, 0x01, 0x05]).unwrap());
        let out = d.push(&bytes);
        assert_eq!(out, vec![vec![0x12, 0x01, 0x05]]);
        assert!(d.dropped.bad_frames >= 1);
    }

    #[test]
    fn lines_split_on_either_end_byte_and_skip_empty() {
        let mut d = line().decoder();
        assert_eq!(d.push(b"A\r\nB"), vec![b"A".to_vec()]);
        assert_eq!(d.push(b"\rC\n"), vec![b"B".to_vec(), b"C".to_vec()]);
    }

    #[test]
    fn an_overlong_line_is_dropped_whole() {
        let mut d = line().decoder();
        let mut long = vec![b'x'; 200];
        long.extend_from_slice(b"\rOK\r");
        assert_eq!(d.push(&long), vec![b"OK".to_vec()]);
        assert_eq!(d.dropped.oversized, 1);
    }

    fn datagram() -> Framing {
        Framing::Datagram { max_length: 64 }
    }

    fn framings() -> impl Strategy<Value = Framing> {
        prop_oneof![
            Just(mdc()),
            Just(visca()),
            Just(london()),
            Just(line()),
            Just(datagram())
        ]
    }

    #[test]
    fn a_datagram_is_one_message_whatever_it_holds() {
        let f = datagram();
        let ssc = br#"{"device":{"identity":{"product":null}}}"#;
        assert_eq!(f.wrap(ssc).unwrap(), ssc.to_vec());
        let mut d = f.decoder();
        // Line ends and NULs inside are the message's own bytes.
        assert_eq!(d.push(b"a\r\nb\0c"), vec![b"a\r\nb\0c".to_vec()]);
        assert!(d.push(b"").is_empty());
        assert_eq!(d.push(&[b'x'; 65]), Vec::<Vec<u8>>::new());
        assert_eq!(d.dropped.oversized, 1);
        assert_eq!(d.buffered(), 0);
        assert!(f.wrap(&[b'x'; 65]).is_err());
        assert!(f.wrap(b"").is_err());
        assert_eq!(f.unwrap(ssc), Some(ssc.to_vec()));
    }

    proptest! {
        #[test]
        fn no_input_panics_or_overfills(f in framings(), chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..8)) {
            let mut d = f.decoder();
            for c in &chunks {
                for p in d.push(c) {
                    prop_assert!(p.len() <= f.max_length());
                }
                prop_assert!(d.buffered() <= f.max_length() + 80);
            }
        }

        /// Each datagram is exactly one message (when it fits), never
        /// joined with or split from another, and nothing is held back.
        #[test]
        fn each_datagram_is_one_message(datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..8)) {
            let f = datagram();
            let mut d = f.decoder();
            let mut oversized = 0;
            for g in &datagrams {
                let out = d.push(g);
                match g.len() {
                    0 => prop_assert!(out.is_empty()),
                    n if n > f.max_length() => { oversized += 1; prop_assert!(out.is_empty()) }
                    _ => {
                        prop_assert_eq!(&out, &vec![g.clone()]);
                        prop_assert_eq!(f.wrap(g).unwrap(), g.clone());
                    }
                }
                prop_assert_eq!(d.buffered(), 0);
            }
            prop_assert_eq!(d.dropped.oversized, oversized);
        }

        #[test]
        fn wrap_then_decode_gives_the_payload_back(
            f in framings().prop_filter("a byte stream", |f| !matches!(f, Framing::Datagram { .. })),
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 2..12), 1..6),
            split in 0usize..200,
        ) {
            let mut wire = Vec::new();
            let mut sent = Vec::new();
            for p in &payloads {
                let p: Vec<u8> = match &f {
                    // Payloads may not hold their own end bytes.
                    Framing::Line { .. } => p.iter().map(|b| if *b == b'\r' || *b == b'\n' { b'.' } else { *b }).collect(),
                    Framing::Binary { escape: Some(_), .. } => p.clone(),
                    Framing::Binary { length: None, .. } => p.iter().map(|b| if *b == 0xFF { 0 } else { *b }).collect(),
                    _ => p.clone(),
                };
                wire.extend(f.wrap(&p).unwrap());
                sent.push(p);
            }
            let at = split.min(wire.len());
            let mut d = f.decoder();
            let mut got = d.push(&wire[..at]);
            got.extend(d.push(&wire[at..]));
            prop_assert_eq!(got, sent);
            prop_assert_eq!(d.dropped.total(), 0);
        }
    }
}
