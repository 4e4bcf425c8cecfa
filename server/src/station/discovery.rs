//! Rooms found by LAN lookup (UDP 8000): every `lookup_interval_secs` a
//! lookup request goes to each configured broadcast address (the same
//! exchange as `roomctl discover`), and each answering controller with a
//! central-control port becomes a room, unless a room with its serial at
//! its address, or at its address, is already watched. A controller that
//! answers with a watched serial from another address is another box with
//! the same serial: it becomes a room too (keyed by serial and address),
//! and its watcher raises `duplicate_serial`. An answer from a room that
//! is offline wakes its watcher from the reconnect back-off.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use controller_core::protocol::lookup::Service;

use super::Station;
use crate::services::lookup::discover::discover;

/// How long each lookup collects answers.
const COLLECT: Duration = Duration::from_millis(1500);

pub async fn run(station: Arc<Station>) {
    let s = &station.settings;
    let every = Duration::from_secs(s.lookup_interval_secs.max(1));
    loop {
        for target in &s.lookup_broadcast {
            let target = SocketAddr::new(*target, s.lookup_port);
            let found = tokio::select! {
                _ = station.shutdown.cancelled() => return,
                f = discover(target, COLLECT) => f,
            };
            let found = match found {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!("station: lookup to {target} failed: {e:#}");
                    continue;
                }
            };
            for f in found {
                let Some(port) =
                    f.id.services
                        .iter()
                        .find(|p| p.service == Service::Central)
                        .map(|p| p.port)
                else {
                    continue;
                };
                let ip = f.id.address.unwrap_or(f.from.ip());
                let address = SocketAddr::new(ip, port);
                station
                    .registry
                    .heard_from(&f.id.serial, Some(address.to_string().as_str()));
                let identity = match station.registry.with_serial(&f.id.serial, None) {
                    _ if f.id.serial.is_empty() => address.to_string(),
                    None => f.id.serial.clone(),
                    // Watched through the broker: the same controller.
                    Some((_, there)) if there.starts_with("mqtt:") => continue,
                    Some((_, there)) => {
                        let there = there.parse::<SocketAddr>().map(|a| a.ip());
                        if there == Ok(ip) {
                            continue;
                        }
                        format!("{}@{address}", f.id.serial)
                    }
                };
                if station.add_room(address, &identity, &f.id.name).is_some() {
                    tracing::info!(
                        "station: found {} ({}) at {ip}:{port}",
                        f.id.name,
                        f.id.serial
                    );
                }
            }
        }
        tokio::select! {
            _ = station.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
