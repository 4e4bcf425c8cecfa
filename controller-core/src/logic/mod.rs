//! Room logic, decided without I/O: what bytes a `send` step means, which
//! feedback rule a device's line matches (and what it then does), and when a
//! timer fires next. The server's runtime (`server/src/logic/`) owns the
//! sockets and the tasks; everything it has to decide is here, so it can be
//! unit- and property-tested in microseconds.

pub mod address;
pub mod escape;
pub mod feedback;
pub mod notices;
pub mod occupancy;
pub mod schedule;

pub use address::{
    parse_device_address, parse_http_step, parse_serial, AddressError, DeviceAddress, HttpStep,
    Parity, SerialLine, DEFAULT_SERIAL,
};
pub use escape::{decode_escapes, decode_hex, encode_escapes, encode_hex, EscapeError};
pub use feedback::{FeedbackAction, FeedbackError, FeedbackMatcher};
pub use notices::{device_notice, owned_state, step_notice, OwnedState, Trouble};
pub use schedule::{Schedule, ScheduleError};
