//! How one value is spelled on the wire: a text slot's format (`{v:03}`,
//! `{v:+}`, `{v:.1}`, `{v:02X}`) and a binary field's width and byte order
//! (`{v:u16be}`). Templates parse them ([`super::template`]); values are
//! written and read with them ([`super::value`]).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextFormat {
    pub plus: bool,
    pub zero: bool,
    pub width: usize,
    pub precision: Option<usize>,
    /// Some(true): upper-case hex; Some(false): lower-case.
    pub hex: Option<bool>,
}

impl TextFormat {
    pub(super) fn parse(spec: &str) -> Result<TextFormat, String> {
        let mut f = TextFormat::default();
        let mut rest = spec;
        if let Some(r) = rest.strip_prefix('+') {
            f.plus = true;
            rest = r;
        }
        if let Some(r) = rest.strip_suffix('X') {
            f.hex = Some(true);
            rest = r;
        } else if let Some(r) = rest.strip_suffix('x') {
            f.hex = Some(false);
            rest = r;
        }
        let (width, precision) = match rest.split_once('.') {
            Some((w, p)) => (w, Some(p)),
            None => (rest, None),
        };
        if let Some(w) = width.strip_prefix('0') {
            f.zero = true;
            f.width = parse_small(w, spec)?;
        } else if !width.is_empty() {
            f.width = parse_small(width, spec)?;
        }
        if let Some(p) = precision {
            f.precision = Some(parse_small(p, spec)?);
        }
        if f.hex.is_some() && (f.precision.is_some() || f.plus) {
            return Err(format!(
                "format {spec:?}: hex takes neither decimals nor a sign"
            ));
        }
        Ok(f)
    }

    pub fn int(&self, i: i64) -> String {
        let body = match self.hex {
            Some(true) => format!("{:X}", i.unsigned_abs()),
            Some(false) => format!("{:x}", i.unsigned_abs()),
            None => i.unsigned_abs().to_string(),
        };
        self.pad(i < 0, body)
    }

    pub fn number(&self, n: f64) -> String {
        let body = match self.precision {
            Some(p) => format!("{:.*}", p, n.abs()),
            None => format!("{}", n.abs()),
        };
        // -0.0 written with no decimals is "0", not "-0".
        let negative = n < 0.0 && body.chars().any(|c| c.is_ascii_digit() && c != '0');
        self.pad(negative, body)
    }

    fn pad(&self, negative: bool, body: String) -> String {
        let sign = if negative {
            "-"
        } else if self.plus {
            "+"
        } else {
            ""
        };
        let len = sign.len() + body.len();
        let fill = self.width.saturating_sub(len);
        if self.zero {
            format!("{sign}{}{body}", "0".repeat(fill))
        } else {
            format!("{}{sign}{body}", " ".repeat(fill))
        }
    }
}

fn parse_small(s: &str, spec: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n <= 32 => Ok(n),
        _ => Err(format!("format {spec:?} is not understood")),
    }
}

/// A binary field's width and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinFormat {
    U8,
    I8,
    U16Be,
    U16Le,
    I16Be,
    I16Le,
    U24Be,
    U32Be,
    U32Le,
    I32Be,
}

impl BinFormat {
    pub(super) fn parse(spec: &str) -> Result<BinFormat, String> {
        Ok(match spec {
            "" | "u8" => BinFormat::U8,
            "i8" => BinFormat::I8,
            "u16be" => BinFormat::U16Be,
            "u16le" => BinFormat::U16Le,
            "i16be" => BinFormat::I16Be,
            "i16le" => BinFormat::I16Le,
            "u24be" => BinFormat::U24Be,
            "u32be" => BinFormat::U32Be,
            "u32le" => BinFormat::U32Le,
            "i32be" => BinFormat::I32Be,
            _ => {
                return Err(format!(
                    "binary field {spec:?} is not one of u8, i8, u16be, u16le, i16be, i16le, u24be, u32be, u32le, i32be"
                ))
            }
        })
    }

    pub fn width(self) -> usize {
        match self {
            BinFormat::U8 | BinFormat::I8 => 1,
            BinFormat::U16Be | BinFormat::U16Le | BinFormat::I16Be | BinFormat::I16Le => 2,
            BinFormat::U24Be => 3,
            BinFormat::U32Be | BinFormat::U32Le | BinFormat::I32Be => 4,
        }
    }

    fn range(self) -> (i64, i64) {
        match self {
            BinFormat::U8 => (0, 0xFF),
            BinFormat::I8 => (-0x80, 0x7F),
            BinFormat::U16Be | BinFormat::U16Le => (0, 0xFFFF),
            BinFormat::I16Be | BinFormat::I16Le => (-0x8000, 0x7FFF),
            BinFormat::U24Be => (0, 0xFF_FFFF),
            BinFormat::U32Be | BinFormat::U32Le => (0, 0xFFFF_FFFF),
            BinFormat::I32Be => (-0x8000_0000, 0x7FFF_FFFF),
        }
    }

    fn little(self) -> bool {
        matches!(self, BinFormat::U16Le | BinFormat::I16Le | BinFormat::U32Le)
    }

    pub fn write(self, i: i64, out: &mut Vec<u8>) -> Result<(), String> {
        let (lo, hi) = self.range();
        if i < lo || i > hi {
            return Err(format!("{i} does not fit a {}-byte field", self.width()));
        }
        let be = (i as u64).to_be_bytes();
        let mut bytes = be[8 - self.width()..].to_vec();
        if self.little() {
            bytes.reverse();
        }
        out.extend_from_slice(&bytes);
        Ok(())
    }

    pub fn read(self, bytes: &[u8]) -> i64 {
        let mut v: u64 = 0;
        let iter: Box<dyn Iterator<Item = &u8>> = if self.little() {
            Box::new(bytes.iter().rev())
        } else {
            Box::new(bytes.iter())
        };
        for b in iter {
            v = v << 8 | u64::from(*b);
        }
        match self {
            BinFormat::I8 => v as u8 as i8 as i64,
            BinFormat::I16Be | BinFormat::I16Le => v as u16 as i16 as i64,
            BinFormat::I32Be => v as u32 as i32 as i64,
            _ => v as i64,
        }
    }
}
