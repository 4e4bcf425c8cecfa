//! The roomctl model, shared by the server and the panel (wasm32).
//!
//! - [`project`]: what a room is (panels, pages, buttons, LEDs, devices, room
//!   logic), read from TOML and validated with line/column/field errors.
//! - [`engine`]: the runtime state machine. Commands in, [`engine::Step`]s out,
//!   each with a strictly increasing revision. Deterministic and I/O-free.
//! - [`logic`]: room logic without I/O: send-string escapes, feedback
//!   matching, timer schedules.
//! - [`protocol`]: sans-IO codecs (bytes <-> messages) for every wire format.
//! - [`calendar`] (feature `calendar`): iCalendar feeds read and their
//!   recurrences expanded in the room's time zone; what the room is booked for.
//! - [`audit`]: the audit trail's entry and its one line format.
//! - [`printable`]: the one escaping of outside text for screens and logs.
//! - [`flat`]: tagged JSON objects read through one flat struct (the
//!   engine's changes, the panel's server messages).
//! - [`link`]: the panel's link to its controller (hello, keep-alive, lost,
//!   backoff, resync, refusal) as a state machine the browser glue drives.
//! - [`central_client`]: the client side of central control (5009): hello,
//!   login, layout, subscribe, replies in order, ping, silence, resync,
//!   backoff; driven by the station's watcher, `roomctl press` and the tests.
//!
//! Nothing here opens a socket or spawns a task, so every line of it can be
//! unit-tested, property-tested and fuzzed in microseconds.

pub mod audit;
#[cfg(feature = "calendar")]
pub mod calendar;
pub mod central_client;
pub mod driver;
pub mod engine;
pub mod flat;
pub mod fleet;
pub mod icons;
pub mod link;
pub mod logic;
pub mod printable;
pub mod project;
pub mod protocol;
pub mod template;
pub mod view;

pub use engine::{ButtonState, Change, Command, Engine, EngineError, Snapshot, Source, Step};
pub use project::{Project, ProjectErrors};
