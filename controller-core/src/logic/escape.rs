//! The text of `send` steps, terminators and poll strings: printable text
//! with escapes for control bytes, and the hex form of `send_hex`.
//!
//! Escapes: `\r`, `\n`, `\t`, `\0`, `\\` and `\xNN` (any byte, two hex
//! digits). Other characters stand for their UTF-8 bytes. An unknown escape
//! is an error rather than a literal, so a typo (`\R`) is caught when the
//! project is validated, not when a projector ignores the command.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscapeError {
    #[error("unknown escape \\{0} at character {1}; use \\r, \\n, \\t, \\0, \\\\ or \\xNN")]
    UnknownEscape(char, usize),
    #[error("\\x at character {0} needs two hex digits (e.g. \\x0D)")]
    BadHexEscape(usize),
    #[error("the text ends with a lone backslash; write \\\\ for a backslash")]
    TrailingBackslash,
    #[error("{0:?} at character {1} is not a hex digit")]
    NotHex(char, usize),
    #[error("an odd number of hex digits; write each byte as two digits (e.g. 0D 0A)")]
    OddHexDigits,
}

fn hex_value(c: char) -> Option<u8> {
    c.to_digit(16).map(|d| d as u8)
}

/// The bytes an escaped string stands for.
pub fn decode_escapes(text: &str) -> Result<Vec<u8>, EscapeError> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars().enumerate();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some((_, e)) = chars.next() else {
            return Err(EscapeError::TrailingBackslash);
        };
        match e {
            'r' => out.push(b'\r'),
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            '0' => out.push(0),
            '\\' => out.push(b'\\'),
            'x' => {
                let hi = chars.next().and_then(|(_, c)| hex_value(c));
                let lo = chars.next().and_then(|(_, c)| hex_value(c));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(EscapeError::BadHexEscape(i + 1)),
                }
            }
            other => return Err(EscapeError::UnknownEscape(other, i + 1)),
        }
    }
    Ok(out)
}

/// The escaped text of some bytes: printable ASCII as itself, the common
/// control bytes by name, everything else as `\xNN`. `decode_escapes` of the
/// result gives the bytes back.
pub fn encode_escapes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02X}");
            }
        }
    }
    out
}

/// The bytes of a hex string: pairs of hex digits, with optional spaces,
/// commas, colons or `0x` prefixes between bytes (`"02 50 4F 4E 03"`,
/// `"0x02,0x50"`, `"02:50"`).
pub fn decode_hex(text: &str) -> Result<Vec<u8>, EscapeError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if high.is_none()
            && c == '0'
            && matches!(chars.get(i + 1), Some('x' | 'X'))
            && chars.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
        {
            i += 2;
            continue;
        }
        if high.is_none() && (c.is_whitespace() || matches!(c, ',' | ':')) {
            i += 1;
            continue;
        }
        let v = hex_value(c).ok_or(EscapeError::NotHex(c, i + 1))?;
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push(h << 4 | v),
        }
        i += 1;
    }
    if high.is_some() {
        return Err(EscapeError::OddHexDigits);
    }
    Ok(out)
}

/// Bytes as space-separated upper-case hex pairs (`"02 50 4F"`).
pub fn encode_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02X}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(decode_escapes("%1POWR 1\\r").unwrap(), b"%1POWR 1\r");
        assert_eq!(decode_escapes("a\\x0D\\x0a\\\\").unwrap(), b"a\r\n\\");
        assert_eq!(decode_escapes("é").unwrap(), "é".as_bytes());
        assert_eq!(
            decode_escapes("x\\R"),
            Err(EscapeError::UnknownEscape('R', 2))
        );
        assert_eq!(decode_escapes("\\x4"), Err(EscapeError::BadHexEscape(1)));
        assert_eq!(decode_escapes("\\"), Err(EscapeError::TrailingBackslash));
        assert_eq!(
            decode_hex("02 50 4f 4E 03").unwrap(),
            [2, 0x50, 0x4f, 0x4e, 3]
        );
        assert_eq!(decode_hex("0x02,0x50:0A").unwrap(), [2, 0x50, 0x0a]);
        assert_eq!(decode_hex("025").unwrap_err(), EscapeError::OddHexDigits);
        assert_eq!(decode_hex("0g").unwrap_err(), EscapeError::NotHex('g', 2));
        assert_eq!(encode_hex(&[2, 0xab]), "02 AB");
        assert_eq!(encode_escapes(b"\x01ok\r"), "\\x01ok\\r");
    }

    proptest! {
        #[test]
        fn escapes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decode_escapes(&encode_escapes(&bytes)).unwrap(), bytes);
        }

        #[test]
        fn hex_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(decode_hex(&encode_hex(&bytes)).unwrap(), bytes);
        }

        #[test]
        fn text_without_backslash_is_its_utf8(text in "[^\\\\]{0,40}") {
            prop_assert_eq!(decode_escapes(&text).unwrap(), text.as_bytes());
        }

        #[test]
        fn decoders_never_panic(text in "\\PC{0,40}|[\\\\x0-9a-fA-F ,:]{0,40}") {
            let _ = decode_escapes(&text);
            let _ = decode_hex(&text);
        }
    }
}
