//! PJLink class 1 (JBMIA's projector control protocol, TCP 4352): the
//! command and response lines, sans-IO. Used by the projector simulator
//! (`roomctl simulate`) and usable by a driver.
//!
//! A command is `%1` + a four-letter command + a space + a parameter + CR
//! (`%1POWR 1\r`, `%1POWR ?\r`); a response is `%1` + command + `=` +
//! data + CR (`%1POWR=OK`, `%1POWR=1`, `%1POWR=ERR3`). On connect the projector
//! greets with `PJLINK 0` (no authentication). Lines here are without CR.

/// The longest line PJLink allows (136 bytes with the CR).
pub const MAX_LINE_BYTES: usize = 136;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PjlinkError {
    #[error("a PJLink line is at most {MAX_LINE_BYTES} bytes")]
    TooLong,
    #[error("a PJLink line starts with %1 (class 1)")]
    NoHeader,
    #[error("a PJLink command is four letters or digits")]
    BadCommand,
    #[error("a PJLink command and its parameter are separated by one space")]
    NoSeparator,
    #[error("a PJLink line is printable ASCII")]
    NotAscii,
}

/// A command to the projector: `%1POWR 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// POWR, INPT, AVMT, ERST, LAMP, INST, NAME, INF1, INF2, INFO, CLSS.
    pub command: String,
    /// "1", "0", "31", or "?" for a query.
    pub param: String,
}

/// The projector's answer: `%1POWR=OK`, `%1POWR=1`, `%1INPT=ERR2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub command: String,
    pub data: Answer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A set command was accepted.
    Ok,
    /// A query's value.
    Value(String),
    /// ERR1 undefined command, ERR2 out of parameter, ERR3 unavailable time,
    /// ERR4 projector failure.
    Error(ErrorCode),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    UndefinedCommand = 1,
    OutOfParameter = 2,
    UnavailableTime = 3,
    ProjectorFailure = 4,
}

impl ErrorCode {
    fn from_digit(d: u8) -> Option<ErrorCode> {
        Some(match d {
            b'1' => ErrorCode::UndefinedCommand,
            b'2' => ErrorCode::OutOfParameter,
            b'3' => ErrorCode::UnavailableTime,
            b'4' => ErrorCode::ProjectorFailure,
            _ => return None,
        })
    }
}

/// The greeting a projector without a password sends on connect.
pub const GREETING: &str = "PJLINK 0";

fn check_line(line: &[u8]) -> Result<&str, PjlinkError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(PjlinkError::TooLong);
    }
    if !line.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(PjlinkError::NotAscii);
    }
    let text = std::str::from_utf8(line).map_err(|_| PjlinkError::NotAscii)?;
    text.strip_prefix("%1").ok_or(PjlinkError::NoHeader)
}

fn split_command(rest: &str) -> Result<(String, &str), PjlinkError> {
    let command = rest.get(..4).ok_or(PjlinkError::BadCommand)?;
    if !command.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(PjlinkError::BadCommand);
    }
    Ok((command.to_ascii_uppercase(), &rest[4..]))
}

impl Request {
    pub fn decode(line: &[u8]) -> Result<Request, PjlinkError> {
        let (command, rest) = split_command(check_line(line)?)?;
        let param = rest.strip_prefix(' ').ok_or(PjlinkError::NoSeparator)?;
        Ok(Request {
            command,
            param: param.to_string(),
        })
    }

    /// The line with its CR.
    pub fn encode(&self) -> Vec<u8> {
        format!("%1{} {}\r", self.command, self.param).into_bytes()
    }
}

impl Response {
    pub fn decode(line: &[u8]) -> Result<Response, PjlinkError> {
        let (command, rest) = split_command(check_line(line)?)?;
        let data = rest.strip_prefix('=').ok_or(PjlinkError::NoSeparator)?;
        let data = match data.as_bytes() {
            b"OK" => Answer::Ok,
            [b'E', b'R', b'R', d] => match ErrorCode::from_digit(*d) {
                Some(code) => Answer::Error(code),
                None => Answer::Value(data.to_string()),
            },
            _ => Answer::Value(data.to_string()),
        };
        Ok(Response { command, data })
    }

    pub fn encode(&self) -> Vec<u8> {
        let data = match &self.data {
            Answer::Ok => "OK".to_string(),
            Answer::Value(v) => v.clone(),
            Answer::Error(code) => format!("ERR{}", *code as u8),
        };
        format!("%1{}={data}\r", self.command).into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(
            Request::decode(b"%1POWR ?").unwrap(),
            Request {
                command: "POWR".into(),
                param: "?".into()
            }
        );
        assert_eq!(
            Response::decode(b"%1POWR=ERR3").unwrap().data,
            Answer::Error(ErrorCode::UnavailableTime)
        );
        assert_eq!(
            Response::decode(b"%1LAMP=1234 1").unwrap().data,
            Answer::Value("1234 1".into())
        );
        assert_eq!(Request::decode(b"POWR 1"), Err(PjlinkError::NoHeader));
        assert_eq!(Request::decode(b"%1PO"), Err(PjlinkError::BadCommand));
        assert_eq!(Request::decode(b"%1POWR1"), Err(PjlinkError::NoSeparator));
        assert_eq!(
            Response {
                command: "INPT".into(),
                data: Answer::Ok
            }
            .encode(),
            b"%1INPT=OK\r"
        );
    }

    fn arb_answer() -> impl Strategy<Value = Answer> {
        prop_oneof![
            Just(Answer::Ok),
            "[0-9A-Za-z ]{0,40}"
                .prop_filter("not a keyword", |v| v != "OK" && !v.starts_with("ERR"))
                .prop_map(Answer::Value),
            prop_oneof![
                Just(ErrorCode::UndefinedCommand),
                Just(ErrorCode::OutOfParameter),
                Just(ErrorCode::UnavailableTime),
                Just(ErrorCode::ProjectorFailure),
            ]
            .prop_map(Answer::Error),
        ]
    }

    proptest! {
        #[test]
        fn request_round_trip(command in "[A-Z0-9]{4}", param in "[ -~]{0,100}") {
            let r = Request { command, param };
            let line = r.encode();
            prop_assert_eq!(Request::decode(&line[..line.len() - 1]).unwrap(), r);
        }

        #[test]
        fn response_round_trip(command in "[A-Z0-9]{4}", data in arb_answer()) {
            let r = Response { command, data };
            let line = r.encode();
            prop_assert_eq!(Response::decode(&line[..line.len() - 1]).unwrap(), r);
        }

        #[test]
        fn decoders_never_panic(line in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Request::decode(&line);
            let _ = Response::decode(&line);
        }

        #[test]
        fn decoders_never_panic_on_near_misses(line in "%1[A-Za-z0-9é]{0,5}[ =]?[ -~]{0,20}") {
            let _ = Request::decode(line.as_bytes());
            let _ = Response::decode(line.as_bytes());
        }
    }
}
