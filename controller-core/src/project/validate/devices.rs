//! Devices: unique ids, addresses their transport can open, and the
//! terminator, poll and timings they are driven with; for a driver device,
//! a driver of the library, its settings and an address it can reach.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::{field, item, k, Checker, Seg};
use crate::driver::library::Library;
use crate::driver::{Driver, Value as DriverValue};
use crate::logic::feedback::compile_regex;
use crate::logic::{
    decode_escapes, parse_device_address, parse_http_step, parse_serial, AddressError,
};
use crate::project::drivers::{closest_drivers, device_endpoint, device_settings};
use crate::project::{Device, Transport};

/// How steps, levels and feedback rules may use a device.
#[derive(Clone)]
pub(super) enum Link {
    /// A raw device: strings on this transport.
    Raw(Transport),
    /// A driver device: its driver's commands and state (the settings are
    /// None when they are wrong, which is reported at the device).
    Driver(Arc<Driver>, Option<BTreeMap<String, DriverValue>>),
    /// A driver device whose driver is unknown (reported at the device):
    /// what names it is not checked further.
    Unknown,
}

/// Each device's link by id, for the steps, levels and feedback rules
/// that name a device.
pub(super) struct Devices<'p>(HashMap<&'p str, Link>);

impl Devices<'_> {
    /// The link of device `id`, reporting at `path` when there is none.
    pub(super) fn resolve(
        &self,
        c: &mut Checker<'_, '_>,
        path: Vec<Seg>,
        id: &str,
    ) -> Option<Link> {
        c.reference(path, self.0.get(id).cloned(), "device", id)
    }
}

pub(super) fn check<'p>(c: &mut Checker<'p, '_>, library: &Library) -> Devices<'p> {
    let project = c.project;
    let mut ids = HashSet::new();
    let mut links = HashMap::new();
    for (i, d) in project.devices.iter().enumerate() {
        let base = item(&[], "devices", i);
        c.unique_id(field(&base, "id"), &d.id, "device", &mut ids, "");
        // A repeated id is reported above; the steps naming it are then
        // checked against the last device with that id.
        if let Some(name) = &d.driver {
            links.insert(d.id.as_str(), driver_device(c, &base, d, name, library));
            continue;
        }
        if !d.settings.is_empty() {
            c.err(
                field(&base, "settings"),
                "only a driver device has settings (add `driver = \"...\"`, or leave them out)",
            );
        }
        let Some(transport) = d.transport else {
            c.err(
                base.clone(),
                "a device needs a `driver` (docs/drivers.md) or a `transport` (tcp, udp, http, serial)",
            );
            links.insert(d.id.as_str(), Link::Unknown);
            continue;
        };
        links.insert(d.id.as_str(), Link::Raw(transport));
        address(c, &base, d, transport);
        if d.serial.is_some() && transport != Transport::Serial {
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
            let parsed = match transport {
                Transport::Http => parse_http_step(poll).map(|_| ()).map_err(|e| e.to_string()),
                _ => decode_escapes(poll).map(|_| ()).map_err(|e| e.to_string()),
            };
            if let Err(e) = parsed {
                c.err(field(&base, "poll"), e);
            }
        }
        c.in_range(
            field(&base, "poll_secs"),
            d.raw_poll_secs(),
            1..=3600,
            "poll_secs",
        );
        c.in_range(
            field(&base, "reconnect_secs"),
            d.reconnect_secs,
            1..=3600,
            "reconnect_secs",
        );
        if let Some(expr) = &d.busy {
            if let Err(e) = compile_regex(expr) {
                c.err(field(&base, "busy"), e.to_string());
            }
        }
        // A sequence step waits at most 15 s for its device; a queued
        // command must be sent before that.
        c.in_range(field(&base, "busy_secs"), d.busy_secs, 1..=10, "busy_secs");
    }
    Devices(links)
}

/// A driver device: the driver is in the library, the fields of raw
/// devices are not given (the driver decides them), its settings fit the
/// driver and its address can be reached with the driver's transport.
fn driver_device(
    c: &mut Checker<'_, '_>,
    base: &[Seg],
    d: &Device,
    name: &str,
    library: &Library,
) -> Link {
    let Some(driver) = library.get(name) else {
        let suggested = closest_drivers(name, library);
        let hint = match suggested.as_slice() {
            [] => "; docs/drivers.md lists the library's drivers".to_string(),
            [one] => format!("; did you mean {one:?}?"),
            many => format!(
                "; did you mean one of {}?",
                many.iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        c.err(
            field(base, "driver"),
            format!("there is no driver {name:?} in the library{hint}"),
        );
        return Link::Unknown;
    };
    let raw_only = [
        ("transport", d.transport.is_some()),
        ("serial", d.serial.is_some()),
        ("poll", d.poll.is_some()),
        ("busy", d.busy.is_some()),
    ];
    for (name, given) in raw_only {
        if given {
            c.err(
                field(base, name),
                format!(
                    "a driver device has no `{name}`: the {} driver decides it",
                    driver.id
                ),
            );
        }
    }
    if let Err(e) = device_endpoint(d, driver) {
        c.err(field(base, "address"), e);
    }
    if let Some(secs) = d.poll_secs {
        if driver.polls.is_empty() {
            c.err(
                field(base, "poll_secs"),
                format!(
                    "the {} driver polls nothing, so `poll_secs` has nothing to set (leave it out)",
                    driver.id
                ),
            );
        } else {
            c.in_range(field(base, "poll_secs"), secs, 1..=3600, "poll_secs");
        }
    }
    c.in_range(
        field(base, "reconnect_secs"),
        d.reconnect_secs,
        1..=3600,
        "reconnect_secs",
    );
    let settings = match device_settings(d, driver) {
        Ok(s) => Some(s),
        Err(e) => {
            let path = match &e.setting {
                Some(s) => [base, &[k("settings"), k(s)]].concat(),
                None => field(base, "settings"),
            };
            c.err(path, e.message);
            None
        }
    };
    Link::Driver(driver.clone(), settings)
}

/// The address, and for a serial device its settings: a bad port path is
/// the address's fault, anything else about the port the settings'.
fn address(c: &mut Checker<'_, '_>, base: &[Seg], d: &Device, transport: Transport) {
    if d.address.trim().is_empty() {
        c.err(field(base, "address"), "the device address is empty");
    } else if transport == Transport::Serial {
        match parse_serial(&d.address, d.serial.as_deref()) {
            Err(AddressError::NotSerialPath) => c.err(
                field(base, "address"),
                AddressError::NotSerialPath.to_string(),
            ),
            Err(e) => c.err(field(base, "serial"), e.to_string()),
            Ok(_) => {}
        }
    } else if let Err(e) = parse_device_address(transport, &d.address) {
        c.err(field(base, "address"), e.to_string());
    }
}
