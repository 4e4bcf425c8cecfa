//! The Telnet side of the console, sans-IO: option negotiation (RFC 854/855,
//! ECHO 857, SUPPRESS-GO-AHEAD 858) and line editing. Bytes in, events and
//! bytes to send out; no sockets here, so it is tested directly.
//!
//! Hand-written on purpose: the crates that exist (nectar, a MUD-oriented
//! codec; libtelnet-rs, an event parser without line editing; telnet, a
//! blocking client) would each still leave the line editor, the echo
//! policy and the password mode to write here, and the protocol subset a
//! console needs is small: parse IAC sequences, refuse every option except
//! the two the server offers (ECHO and SGA, so `telnet` and PuTTY switch to
//! character mode), skip sub-negotiations, answer only on a state change
//! (no negotiation loops, the RFC 1143 rule), and edit a line. A client
//! that does not negotiate at all (`nc`) just sends lines: nothing is
//! echoed to it, since it echoes locally.

/// Telnet command bytes.
pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const SE: u8 = 240;
/// Options.
pub const ECHO: u8 = 1;
pub const SGA: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Iac,
    /// After IAC WILL/WONT/DO/DONT: waiting for the option byte.
    Negotiate(u8),
    Sb,
    SbIac,
    /// After CR: a following LF or NUL belongs to the same line end.
    Cr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete line (without its line end).
    Line(String),
    /// Ctrl-D on an empty line.
    EndOfInput,
}

/// One client's terminal: negotiation state and the line being edited.
#[derive(Debug)]
pub struct Terminal {
    state: State,
    line: Vec<u8>,
    max_line: usize,
    /// The client agreed that we echo (DO ECHO).
    we_echo: bool,
    we_sga: bool,
    /// Typing is hidden (password prompts).
    hidden: bool,
    /// Bytes to send to the client (negotiation answers and echo).
    out: Vec<u8>,
}

impl Terminal {
    pub fn new(max_line: usize) -> Terminal {
        Terminal {
            state: State::Data,
            line: Vec::new(),
            max_line: max_line.max(16),
            we_echo: false,
            we_sga: false,
            hidden: false,
            out: Vec::new(),
        }
    }

    /// What the server says first: it will echo and suppress go-ahead
    /// (character mode in `telnet` and PuTTY).
    pub fn greeting() -> Vec<u8> {
        vec![IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, SGA]
    }

    /// Hides typed characters (for a password) or shows them again.
    pub fn set_hidden(&mut self, hidden: bool) {
        self.hidden = hidden;
    }

    /// Whether this client negotiated character mode (we echo).
    pub fn echoing(&self) -> bool {
        self.we_echo
    }

    /// Feeds received bytes; returns the complete lines and events.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &b in bytes {
            self.byte(b, &mut events);
        }
        events
    }

    /// Takes the bytes to send to the client.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn byte(&mut self, b: u8, events: &mut Vec<Event>) {
        match self.state {
            State::Iac => {
                self.state = State::Data;
                match b {
                    WILL | WONT | DO | DONT => self.state = State::Negotiate(b),
                    SB => self.state = State::Sb,
                    // IAC IAC is a data byte 255: not text, ignored.
                    // NOP, AYT, GA and the rest carry nothing for us.
                    _ => {}
                }
            }
            State::Negotiate(verb) => {
                self.state = State::Data;
                self.negotiate(verb, b);
            }
            // Everything up to IAC SE is skipped, however long: nothing is
            // kept, so length costs no memory, and a long sub-negotiation
            // must never be read as typed lines (failed logins, commands).
            State::Sb => {
                if b == IAC {
                    self.state = State::SbIac;
                }
            }
            State::SbIac => {
                self.state = if b == SE { State::Data } else { State::Sb };
            }
            State::Cr => {
                self.state = State::Data;
                if b != b'\n' && b != 0 {
                    self.data(b, events);
                }
            }
            State::Data => self.data(b, events),
        }
    }

    fn negotiate(&mut self, verb: u8, opt: u8) {
        match (verb, opt) {
            (DO, ECHO) => self.we_echo = true,
            (DO, SGA) => self.we_sga = true,
            (DONT, ECHO) if self.we_echo => {
                self.we_echo = false;
                self.out.extend([IAC, WONT, ECHO]);
            }
            (DONT, SGA) if self.we_sga => {
                self.we_sga = false;
                self.out.extend([IAC, WONT, SGA]);
            }
            (DONT, _) => {}
            // Any other option we are asked to do: refuse.
            (DO, o) => self.out.extend([IAC, WONT, o]),
            // The client offering SGA is what we asked for; nothing else is
            // wanted (refuse, once: a WONT needs no answer).
            (WILL, SGA) => {}
            (WILL, o) => self.out.extend([IAC, DONT, o]),
            _ => {}
        }
    }

    fn data(&mut self, b: u8, events: &mut Vec<Event>) {
        match b {
            IAC => self.state = State::Iac,
            b'\r' | b'\n' => {
                if b == b'\r' {
                    self.state = State::Cr;
                }
                if self.we_echo {
                    self.out.extend(b"\r\n");
                }
                let line = String::from_utf8_lossy(&self.line).into_owned();
                self.line.clear();
                events.push(Event::Line(line));
            }
            // Backspace and DEL: PuTTY sends DEL, telnet ^H.
            0x08 | 0x7f => {
                if self.line.pop().is_some() {
                    // Drop a whole UTF-8 character.
                    while self.line.last().is_some_and(|c| c & 0xC0 == 0x80) {
                        self.line.pop();
                    }
                    if self.we_echo && !self.hidden {
                        self.out.extend(b"\x08 \x08");
                    }
                }
            }
            // Ctrl-C: drop the line.
            0x03 => {
                self.line.clear();
                if self.we_echo {
                    self.out.extend(b"^C\r\n");
                }
                events.push(Event::Line(String::new()));
            }
            // Ctrl-D on an empty line: end of input.
            0x04 if self.line.is_empty() => events.push(Event::EndOfInput),
            // Ctrl-U: erase the line.
            0x15 => {
                if self.we_echo && !self.hidden {
                    for _ in 0..String::from_utf8_lossy(&self.line).chars().count() {
                        self.out.extend(b"\x08 \x08");
                    }
                }
                self.line.clear();
            }
            b if b < 0x20 => {}
            b => {
                if self.line.len() >= self.max_line {
                    if self.we_echo {
                        self.out.push(0x07);
                    }
                    return;
                }
                self.line.push(b);
                if self.we_echo {
                    self.out.push(if self.hidden { b'*' } else { b });
                    if self.hidden && b & 0xC0 == 0x80 {
                        // Continuation byte: one star per character.
                        self.out.pop();
                    }
                }
            }
        }
    }
}

/// Text for the client: control characters other than LF and tab are
/// escaped (text from outside, a panel's name or a device's reply, never
/// drives the operator's terminal), LF becomes CR LF, IAC is doubled.
pub fn encode_text(text: &str) -> Vec<u8> {
    let text = controller_core::printable::printable_lines(text);
    let mut out = Vec::with_capacity(text.len() + 16);
    for &b in text.as_bytes() {
        match b {
            b'\n' => out.extend(b"\r\n"),
            IAC => out.extend([IAC, IAC]),
            b => out.push(b),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(events: Vec<Event>) -> Vec<String> {
        events
            .into_iter()
            .filter_map(|e| match e {
                Event::Line(l) => Some(l),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn nc_style_lines_without_negotiation() {
        let mut t = Terminal::new(100);
        assert_eq!(lines(t.feed(b"help\nstatus\r\n")), ["help", "status"]);
        assert!(t.take_output().is_empty(), "nothing echoed to nc");
    }

    #[test]
    fn character_mode_echoes_and_edits() {
        let mut t = Terminal::new(100);
        t.feed(&[IAC, DO, ECHO, IAC, DO, SGA, IAC, WILL, SGA]);
        assert!(t.take_output().is_empty());
        let ev = t.feed(b"helo\x7fp\r\0");
        assert_eq!(lines(ev), ["help"]);
        assert_eq!(t.take_output(), b"helo\x08 \x08p\r\n");
    }

    #[test]
    fn hidden_input_shows_stars() {
        let mut t = Terminal::new(100);
        t.feed(&[IAC, DO, ECHO]);
        t.set_hidden(true);
        assert_eq!(lines(t.feed(b"pw\r\n")), ["pw"]);
        assert_eq!(t.take_output(), b"**\r\n");
    }

    #[test]
    fn unknown_options_are_refused_once() {
        let mut t = Terminal::new(100);
        t.feed(&[IAC, DO, 24, IAC, WILL, 31, IAC, WONT, 31, IAC, DONT, 24]);
        assert_eq!(t.take_output(), [IAC, WONT, 24, IAC, DONT, 31]);
    }

    /// Sub-negotiation data of any length is never read as input.
    #[test]
    fn a_long_subnegotiation_is_skipped_whole() {
        let mut t = Terminal::new(100);
        let mut input = vec![IAC, SB, 24];
        for _ in 0..50 {
            input.extend(b"admin\r\nsecret\r\n");
        }
        input.extend([IAC, SE]);
        input.extend(b"ok\n");
        assert_eq!(lines(t.feed(&input)), ["ok"]);
    }

    #[test]
    fn subnegotiation_is_skipped() {
        let mut t = Terminal::new(100);
        let mut input = vec![IAC, SB, 31, 0, 80, 0, 24, IAC, SE];
        input.extend(b"ok\n");
        assert_eq!(lines(t.feed(&input)), ["ok"]);
    }

    #[test]
    fn long_lines_are_cut_at_the_limit() {
        let mut t = Terminal::new(16);
        let l = lines(
            t.feed(&[b'x'; 100])
                .into_iter()
                .chain(t.feed(b"\n"))
                .collect(),
        );
        assert_eq!(l, ["x".repeat(16)]);
    }

    #[test]
    fn encode_doubles_iac_and_uses_crlf() {
        assert_eq!(encode_text("a\nb"), b"a\r\nb");
        // Text from outside never drives the operator's terminal.
        assert_eq!(
            encode_text("panel \u{1b}[2J\u{9b}1m\r\tok\n"),
            b"panel \\u{1b}[2J\\u{9b}1m\\r\tok\r\n"
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_bounds_memory(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..32)) {
            let mut t = Terminal::new(32);
            for c in chunks {
                for e in t.feed(&c) {
                    if let Event::Line(l) = e {
                        prop_assert!(l.len() <= 32 * 3);
                    }
                }
                let _ = t.take_output();
            }
        }
    }
}
