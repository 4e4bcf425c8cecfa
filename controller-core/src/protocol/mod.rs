//! Sans-IO codecs: bytes <-> messages for every wire format roomctl speaks.
//! Each decoder takes untrusted bytes, enforces its size limit and returns a
//! typed error; none can panic (property-tested and fuzzed). The formats are
//! specified in `docs/protocols.md`.

pub mod central;
pub mod extension;
pub mod live_broadcast;
pub mod lookup;
pub mod mqtt;
pub mod panel;
pub mod pjlink;
pub mod wire;
