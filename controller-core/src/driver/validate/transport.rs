//! A driver's transport and framing: where it connects, how its requests
//! go over HTTP, how its messages are cut from the byte stream.

use super::*;

impl Check<'_, '_> {
    pub(super) fn transport(&mut self, t: &TransportSpec) -> Option<Transport> {
        let serial_fields = t.baud.is_some()
            || t.data_bits.is_some()
            || t.parity.is_some()
            || t.stop_bits.is_some();
        match t.kind {
            TransportKind::Tcp | TransportKind::Udp | TransportKind::Http => {
                if serial_fields {
                    self.err(
                        &at(&["transport", "type"]),
                        "baud, data_bits, parity and stop_bits are for serial",
                    );
                }
                match t.port {
                    Some(0) => self.err(&at(&["transport", "port"]), "the port is 1 to 65535"),
                    None => self.err(
                        &at(&["transport"]),
                        "a tcp, udp or http driver gives its default port",
                    ),
                    Some(_) => {}
                }
                Some(Transport {
                    kind: t.kind,
                    port: t.port,
                    serial: None,
                })
            }
            TransportKind::Serial => {
                let parity = t.parity.clone().unwrap_or_else(|| "none".to_string());
                if !matches!(parity.as_str(), "none" | "even" | "odd") {
                    self.err(&at(&["transport", "parity"]), "parity is none, even or odd");
                }
                let data_bits = t.data_bits.unwrap_or(8);
                if !(5..=8).contains(&data_bits) {
                    self.err(&at(&["transport", "data_bits"]), "data bits are 5 to 8");
                }
                let stop_bits = t.stop_bits.unwrap_or(1);
                if !(1..=2).contains(&stop_bits) {
                    self.err(&at(&["transport", "stop_bits"]), "stop bits are 1 or 2");
                }
                let Some(baud) = t.baud else {
                    self.err(&at(&["transport"]), "a serial driver gives its baud rate");
                    return None;
                };
                Some(Transport {
                    kind: t.kind,
                    port: t.port,
                    serial: Some(SerialFraming {
                        baud,
                        data_bits,
                        parity,
                        stop_bits,
                    }),
                })
            }
        }
    }

    /// An http driver's messages are lines: each command's line is its
    /// request (`GET /path?query`, `POST /path`), and the body's lines
    /// are what the device says.
    pub(super) fn http_requests(&mut self, f: &DriverFile, binary: bool) {
        if binary {
            self.err(
                &at(&["framing", "type"]),
                "an http driver's framing is line: the request line out, the response body's lines in",
            );
            return;
        }
        let mut calls: Vec<(Vec<Seg>, &str)> = f
            .commands
            .iter()
            .map(|(name, c)| {
                (
                    vec![key("commands"), key(name), key("send")],
                    c.send.as_str(),
                )
            })
            .collect();
        if f.login.is_some() {
            self.err(
                &at(&["login"]),
                "an http driver has no login exchange (each request stands alone)",
            );
        }
        calls.retain(|(_, send)| {
            let Some((method, target)) = send.split_once(' ') else {
                return true;
            };
            !(matches!(method, "GET" | "POST" | "PUT")
                && target.starts_with('/')
                && !target.contains(' '))
        });
        for (path, send) in calls {
            self.err(
                &path,
                format!("{send:?} is not an HTTP request line: GET, POST or PUT, a space, then the path (\"GET /cgi-bin/...\")"),
            );
        }
    }

    pub(super) fn hex(&mut self, path: &[Seg], s: &str) -> Option<Vec<u8>> {
        match crate::logic::escape::decode_hex(s) {
            Ok(b) => Some(b),
            Err(e) => {
                self.err(path, e.to_string());
                None
            }
        }
    }

    pub(super) fn framing(&mut self, f: &FramingSpec) -> Option<Framing> {
        let max_length = f.max_length.unwrap_or(DEFAULT_MAX_FRAME);
        if max_length == 0 || max_length > MAX_FRAME {
            self.err(
                &at(&["framing", "max_length"]),
                format!("max_length is 1 to {MAX_FRAME}"),
            );
        }
        match f.kind {
            FramingKind::Line => self.line_framing(f, max_length),
            FramingKind::Binary => self.binary_framing(f, max_length),
            FramingKind::Datagram => self.datagram_framing(f, max_length),
        }
    }

    /// One datagram, one message: nothing to set but `max_length`, and a
    /// transport that keeps datagrams whole (a byte stream has no edges
    /// to cut messages at).
    fn datagram_framing(&mut self, f: &FramingSpec, max_length: usize) -> Option<Framing> {
        for (field, set) in [
            ("terminator", f.terminator.is_some()),
            ("receive_terminator", f.receive_terminator.is_some()),
            ("header", f.header.is_some()),
            ("length", f.length.is_some()),
            ("checksum", f.checksum.is_some()),
            ("escape", f.escape.is_some()),
        ] {
            if set {
                self.err(
                    &at(&["framing", field]),
                    format!("datagram framing has no {field}: each datagram is one whole message"),
                );
            }
        }
        Some(Framing::Datagram { max_length })
    }

    /// Datagram framing needs datagrams: udp.
    pub(super) fn framing_fits_transport(&mut self, f: &FramingSpec, t: &TransportSpec) {
        if f.kind == FramingKind::Datagram && t.kind != TransportKind::Udp {
            let kind = match t.kind {
                TransportKind::Tcp => "tcp",
                TransportKind::Serial => "serial",
                TransportKind::Http => "http",
                TransportKind::Udp => "udp",
            };
            self.err(
                &at(&["framing", "type"]),
                format!(
                    "datagram framing (one datagram, one message) needs transport type = \"udp\"; \
                     a {kind} byte stream has no datagram edges: use line or binary framing"
                ),
            );
        }
    }

    /// Text lines ended by a terminator (and read up to a receive
    /// terminator, where the device answers with another).
    fn line_framing(&mut self, f: &FramingSpec, max_length: usize) -> Option<Framing> {
        for (field, set) in [
            ("header", f.header.is_some()),
            ("length", f.length.is_some()),
            ("checksum", f.checksum.is_some()),
            ("escape", f.escape.is_some()),
        ] {
            if set {
                self.err(
                    &at(&["framing", field]),
                    format!("{field} is for binary framing"),
                );
            }
        }
        let Some(t) = f.terminator.as_ref().filter(|t| !t.is_empty()) else {
            self.err(
                &at(&["framing"]),
                "line framing needs a terminator (e.g. \"\\r\")",
            );
            return None;
        };
        let receive = f.receive_terminator.clone().unwrap_or_else(|| t.clone());
        if receive.is_empty() {
            self.err(
                &at(&["framing", "receive_terminator"]),
                "the receive terminator is empty",
            );
        }
        Some(Framing::Line {
            terminator: t.clone().into_bytes(),
            receive: receive.into_bytes(),
            max_length,
        })
    }

    /// Binary frames: a header, a length byte or an end byte, a checksum,
    /// byte stuffing.
    fn binary_framing(&mut self, f: &FramingSpec, max_length: usize) -> Option<Framing> {
        if f.receive_terminator.is_some() {
            self.err(
                &at(&["framing", "receive_terminator"]),
                "receive_terminator is for line framing",
            );
        }
        let header = match &f.header {
            Some(h) => self.hex(&at(&["framing", "header"]), h)?,
            None => Vec::new(),
        };
        let terminator = match &f.terminator {
            Some(t) => {
                let b = self.hex(&at(&["framing", "terminator"]), t)?;
                if b.len() != 1 {
                    self.err(
                        &at(&["framing", "terminator"]),
                        "a binary end is one byte (e.g. \"FF\")",
                    );
                    return None;
                }
                Some(b[0])
            }
            None => None,
        };
        let length = f.length.as_ref().map(|l| (l.offset, l.adjust));
        if let Some((offset, _)) = length {
            if offset < header.len() {
                self.err(
                    &at(&["framing", "length", "offset"]),
                    "the length byte comes after the header",
                );
            }
            if offset >= max_length {
                self.err(
                    &at(&["framing", "length", "offset"]),
                    "the length byte is past max_length",
                );
            }
        }
        if length.is_none() && terminator.is_none() {
            self.err(
                &at(&["framing"]),
                "binary framing needs a length byte or an end byte to know where a frame ends",
            );
            return None;
        }
        let checksum = f.checksum.as_ref().map(|c| (c.kind, c.from));
        let escape = match &f.escape {
            None => None,
            Some(e) => Some(self.escape(e, &header, length.is_some(), terminator)?),
        };
        Some(Framing::Binary {
            header,
            length,
            checksum,
            terminator,
            escape,
            max_length,
        })
    }

    /// Byte stuffing: one marker byte, what is added, the bytes stuffed;
    /// frames end with an end byte (a length byte would count stuffed
    /// bytes), which, like the header's first byte and the marker itself,
    /// must be among the stuffed bytes so it never appears inside a frame.
    pub(super) fn escape(
        &mut self,
        e: &EscapeSpec,
        header: &[u8],
        has_length: bool,
        terminator: Option<u8>,
    ) -> Option<ByteEscape> {
        let one = |this: &mut Self, field: &str, text: &str| -> Option<u8> {
            let b = this.hex(&at(&["framing", "escape", field]), text)?;
            if b.len() != 1 {
                this.err(
                    &at(&["framing", "escape", field]),
                    format!("{field} is one byte (e.g. \"1B\")"),
                );
                return None;
            }
            Some(b[0])
        };
        let marker = one(self, "marker", &e.marker)?;
        let add = one(self, "add", &e.add)?;
        let mut bytes = Vec::new();
        for (i, b) in e.bytes.iter().enumerate() {
            let path = at(&["framing", "escape", "bytes"]);
            let v = self.hex(&path, b)?;
            if v.len() != 1 {
                self.err(&path, format!("bytes[{i}] is one byte (e.g. \"02\")"));
                return None;
            }
            bytes.push(v[0]);
        }
        let path = at(&["framing", "escape"]);
        if has_length {
            self.err(
                &path,
                "byte stuffing needs frames that end with an end byte, not a length byte",
            );
            return None;
        }
        let Some(end) = terminator else {
            self.err(&path, "byte stuffing needs an end byte (`terminator`)");
            return None;
        };
        for (what, b) in [
            ("the marker", Some(marker)),
            ("the end byte", Some(end)),
            ("the header's first byte", header.first().copied()),
        ] {
            if let Some(b) = b {
                if !bytes.contains(&b) {
                    self.err(
                        &at(&["framing", "escape", "bytes"]),
                        format!("{what} 0x{b:02X} must be one of the stuffed bytes"),
                    );
                    return None;
                }
            }
        }
        if bytes.iter().any(|b| bytes.contains(&b.wrapping_add(add))) || add == 0 {
            self.err(
                &at(&["framing", "escape", "add"]),
                "a stuffed byte plus `add` must not be a stuffed byte itself",
            );
            return None;
        }
        Some(ByteEscape { marker, add, bytes })
    }
}
