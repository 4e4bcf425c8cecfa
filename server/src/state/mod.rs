//! The controller's state and its bus: the handle every service holds
//! ([`controller::Controller`]: the one engine, the one event bus), the
//! events themselves ([`bus`]), the status board, the recent-events log,
//! buttons held by a client and a person's request to move a level. Every
//! service reads and changes the room through here.

pub mod bus;
pub mod controller;
pub mod eventlog;
pub mod held;
pub mod level_request;
pub mod status;
