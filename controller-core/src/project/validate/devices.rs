//! Devices: unique ids, addresses their transport can open, and the
//! terminator, poll and timings they are driven with.

use std::collections::{HashMap, HashSet};

use super::{field, item, Checker, Seg};
use crate::logic::feedback::compile_regex;
use crate::logic::{
    decode_escapes, parse_device_address, parse_http_step, parse_serial, AddressError,
};
use crate::project::{Device, Transport};

/// Each device's transport by id, for the steps and feedback rules that
/// name a device.
pub(super) struct Devices<'p>(HashMap<&'p str, Transport>);

impl Devices<'_> {
    /// The transport of device `id`, reporting at `path` when there is none.
    pub(super) fn resolve(
        &self,
        c: &mut Checker<'_, '_>,
        path: Vec<Seg>,
        id: &str,
    ) -> Option<Transport> {
        c.reference(path, self.0.get(id).copied(), "device", id)
    }
}

pub(super) fn check<'p>(c: &mut Checker<'p, '_>) -> Devices<'p> {
    let project = c.project;
    let mut ids = HashSet::new();
    let mut transports = HashMap::new();
    for (i, d) in project.devices.iter().enumerate() {
        let base = item(&[], "devices", i);
        c.unique_id(field(&base, "id"), &d.id, "device", &mut ids, "");
        // A repeated id is reported above; the steps naming it are then
        // checked against the last device with that id.
        transports.insert(d.id.as_str(), d.transport);
        address(c, &base, d);
        if d.serial.is_some() && d.transport != Transport::Serial {
            c.err(
                field(&base, "serial"),
                "only serial devices have serial settings",
            );
        }
        match decode_escapes(&d.terminator) {
            Err(e) => c.err(field(&base, "terminator"), e.to_string()),
            Ok(t) if t.len() > 8 => c.err(
                field(&base, "terminator"),
                "a terminator is at most 8 bytes",
            ),
            Ok(_) => {}
        }
        if let Some(poll) = &d.poll {
            let parsed = match d.transport {
                Transport::Http => parse_http_step(poll).map(|_| ()).map_err(|e| e.to_string()),
                _ => decode_escapes(poll).map(|_| ()).map_err(|e| e.to_string()),
            };
            if let Err(e) = parsed {
                c.err(field(&base, "poll"), e);
            }
        }
        c.in_range(
            field(&base, "poll_secs"),
            d.poll_secs,
            1..=3600,
            "poll_secs",
        );
        c.in_range(
            field(&base, "reconnect_secs"),
            d.reconnect_secs,
            1..=3600,
            "reconnect_secs",
        );
        if let Some(b) = &d.status_led {
            c.button_ref(field(&base, "status_led"), b);
        }
        if let Some(expr) = &d.busy {
            if let Err(e) = compile_regex(expr) {
                c.err(field(&base, "busy"), e.to_string());
            }
        }
        // A sequence step waits at most 15 s for its device; a queued
        // command must be sent before that.
        c.in_range(field(&base, "busy_secs"), d.busy_secs, 1..=10, "busy_secs");
    }
    Devices(transports)
}

/// The address, and for a serial device its settings: a bad port path is
/// the address's fault, anything else about the port the settings'.
fn address(c: &mut Checker<'_, '_>, base: &[Seg], d: &Device) {
    if d.address.trim().is_empty() {
        c.err(field(base, "address"), "the device address is empty");
    } else if d.transport == Transport::Serial {
        match parse_serial(&d.address, d.serial.as_deref()) {
            Err(AddressError::NotSerialPath) => c.err(
                field(base, "address"),
                AddressError::NotSerialPath.to_string(),
            ),
            Err(e) => c.err(field(base, "serial"), e.to_string()),
            Ok(_) => {}
        }
    } else if let Err(e) = parse_device_address(d.transport, &d.address) {
        c.err(field(base, "address"), e.to_string());
    }
}
