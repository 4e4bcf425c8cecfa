//! The process around the services: `roomctl serve` starting every service
//! from one list and stopping them, telling systemd how we are, the
//! health and Prometheus metrics read off the controller, and the two
//! concurrency tools every module uses (the one way to take a lock, and a
//! future polled only when woken).

pub mod health;
pub mod metrics;
pub mod serve;
pub mod sync;
pub mod systemd;
pub mod woken;
