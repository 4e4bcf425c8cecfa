//! Extension devices on the multicast bus 224.10.10.25:7979
//! (`controller_core::protocol::extension`): keypads, I/O and relay boxes.
//!
//! The service joins the group on the configured interface (so the kernel
//! reports membership by IGMP), sends a lookup/keep-alive every 3 s, keeps
//! the [`registry::ExtensionRegistry`] (silent for 10 s = offline, any
//! message resets a device's timer), turns key messages into engine presses
//! and sends each keypad the LEDs of its keys. Online/offline changes go to
//! the status board, which publishes them on the bus (live updates on 8001,
//! central-control subscribers, ...). Keys a device holds are released when
//! it goes offline or says goodbye.

mod datagram;
pub mod registry;

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV4};

use controller_core::engine::Step;
use controller_core::project::Led;
use controller_core::protocol::extension::{ExtensionMessage, MAX_DATAGRAM};
use controller_core::view::DeviceStatus;
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::net::UdpSocket;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Duration, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use self::registry::{next_expiry, ExtensionRegistry};
use super::lan_socket::multicast_udp;
use super::{Endpoint, Service, StartEnv, StartError, Started};
use crate::config::Settings;
use crate::state::bus::Subscription;
use crate::state::controller::Controller;
use crate::state::held::HeldButtons;

pub const NAME: &str = "extension";

pub struct ExtensionService;

impl Service for ExtensionService {
    fn name(&self) -> &'static str {
        NAME
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.extension.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        format!(
            "extension devices (keypads, I/O boxes): keep-alive every {} s, offline after {} s of silence",
            s.extension.keepalive_secs.max(1),
            s.extension.offline_after_secs.max(1)
        )
    }

    /// Joins the group. A failure to join (e.g. a loopback interface without
    /// MULTICAST in development) marks the service failed with the reason
    /// and leaves the other services running.
    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let settings = &env.settings().extension;
            let socket = multicast_udp(
                settings.group,
                settings.port,
                settings.interface,
                settings.ttl,
            )
            .map_err(|e| {
                StartError::Failed(format!(
                    "cannot join multicast group {} on interface {}: {e}",
                    settings.group, settings.interface
                ))
            })?;
            let local = socket.local_addr()?;
            let describe = format!(
                "udp {}:{} on {} (ttl {})",
                settings.group, settings.port, settings.interface, settings.ttl
            );
            let service = Extension {
                controller: env.controller.clone(),
                registry: ExtensionRegistry::new(
                    Duration::from_secs(settings.offline_after_secs.max(1)),
                    settings.max_devices,
                ),
                held: HashMap::new(),
                group: SocketAddrV4::new(settings.group, settings.port).into(),
                allow: settings.allow.clone(),
                keepalive: Duration::from_secs(settings.keepalive_secs.max(1)),
                socket,
                seq: 0,
                dropped: 0,
            };
            // Subscribed before the task first runs: no step after start is missed.
            let steps = env.bus.subscribe();
            Ok(Started::listening(
                Endpoint {
                    addr: local,
                    describe,
                },
                service.run(env.shutdown, steps).boxed(),
            ))
        }
        .boxed()
    }
}

/// The running extension service.
struct Extension {
    controller: Controller,
    registry: ExtensionRegistry,
    /// Keys each device holds down; released when it goes offline or away.
    held: HashMap<String, HeldButtons>,
    group: SocketAddr,
    allow: crate::security::access::AllowList,
    keepalive: Duration,
    socket: UdpSocket,
    seq: u32,
    /// Malformed or unwanted datagrams since the last report.
    dropped: u64,
}

impl Extension {
    async fn run(
        mut self,
        shutdown: CancellationToken,
        mut bus: Subscription,
    ) -> anyhow::Result<()> {
        let mut keepalive = tokio::time::interval(self.keepalive);
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((len, from)) => self.on_datagram(&buf[..len], from).await,
                    Err(e) => tracing::debug!("extension: receive error: {e}"),
                },
                expired = next_expiry(&mut self.registry) => {
                    for id in expired {
                        self.went_offline(&id, "silent for the offline time");
                    }
                }
                _ = keepalive.tick() => self.keep_alive().await,
                event = bus.recv() => match event {
                    Ok(event) => if let Some(published) = event.step() {
                        self.on_step(&published.step).await
                    },
                    Err(RecvError::Lagged(_)) => self.refresh_all().await,
                    Err(RecvError::Closed) => return Ok(()),
                },
                _ = shutdown.cancelled() => return Ok(()),
            }
        }
    }

    async fn keep_alive(&mut self) {
        self.seq = self.seq.wrapping_add(1);
        let id = self.controller.identity();
        let hello = ExtensionMessage::ControllerHello {
            seq: self.seq,
            serial: id.serial.clone(),
            name: id.name.clone(),
        };
        self.send(&hello).await;
        if self.dropped > 0 {
            tracing::warn!(
                "extension: ignored {} malformed or unexpected datagrams",
                self.dropped
            );
            self.dropped = 0;
        }
    }

    async fn send(&self, message: &ExtensionMessage) {
        if let Err(e) = self.socket.send_to(&message.encode(), self.group).await {
            tracing::debug!("extension: cannot send to {}: {e}", self.group);
        }
    }

    fn status(&self, id: &str) -> Option<DeviceStatus> {
        let d = self.registry.get(id)?;
        let kind = if d.kind.is_empty() {
            "extension".to_string()
        } else {
            d.kind.clone()
        };
        let detail = if d.firmware.is_empty() {
            format!("{} keys", d.keys.len())
        } else {
            format!("{} keys, firmware {}", d.keys.len(), d.firmware)
        };
        Some(DeviceStatus {
            id: d.id.clone(),
            kind,
            address: d.address.to_string(),
            online: d.online,
            detail,
            ..Default::default()
        })
    }

    /// Updates the status board (kind, keys or firmware changed; the
    /// board publishes only online/offline changes on the bus).
    fn report(&self, id: &str) {
        if let Some(status) = self.status(id) {
            self.controller.status().set_device(status);
        }
    }

    fn came_online(&self, id: &str) {
        if let Some(status) = self.status(id) {
            self.controller.log().record(format!(
                "extension device {} ({}) online at {}",
                status.id, status.kind, status.address
            ));
            self.controller.status().set_device(status);
        }
    }

    /// Marks a device offline and releases every key it held.
    fn went_offline(&mut self, id: &str, why: &str) {
        self.held.remove(id);
        if let Some(status) = self.status(id) {
            self.controller.log().record(format!(
                "extension device {} ({}) offline: {why}",
                status.id, status.kind
            ));
            self.controller.status().set_device(status);
        }
    }

    /// Sends every online device the LEDs of its keys that `step` changed.
    async fn on_step(&mut self, step: &Step) {
        if step.loads_project() {
            return self.refresh_all().await;
        }
        if step.leds().next().is_none() {
            return;
        }
        let mut messages = Vec::new();
        for d in self.registry.online() {
            let leds: Vec<(String, Led)> = step
                .leds()
                .filter(|(b, _)| d.keys.contains(*b))
                .map(|(b, led)| (b.to_string(), led))
                .collect();
            if !leds.is_empty() {
                messages.push(ExtensionMessage::Leds {
                    device: d.id.clone(),
                    revision: step.revision,
                    leds,
                });
            }
        }
        for m in &messages {
            self.send(m).await;
        }
    }

    async fn send_all_leds(&self, id: &str) {
        let Some(device) = self.registry.get(id) else {
            return;
        };
        if device.keys.is_empty() {
            return;
        }
        let snapshot = self.controller.snapshot();
        let leds = device
            .keys
            .iter()
            .filter_map(|k| snapshot.led(k).map(|led| (k.clone(), led)))
            .collect();
        self.send(&ExtensionMessage::Leds {
            device: id.to_string(),
            revision: snapshot.revision,
            leds,
        })
        .await;
    }

    async fn refresh_all(&self) {
        let ids: Vec<String> = self.registry.online().map(|d| d.id.clone()).collect();
        for id in ids {
            self.send_all_leds(&id).await;
        }
    }
}

/// How far behind the last key `seq` a message counts as a late copy of an
/// earlier one. Further back is a device that restarted and counts from 0
/// again (its keys must work at once, not after it has caught up).
const LATE_WINDOW: u32 = 64;

/// Whether key `seq` repeats `last` or is an earlier message arriving late
/// (sequence numbers wrap: compared as distances).
fn is_stale(seq: u32, last: u32) -> bool {
    last.wrapping_sub(seq) < LATE_WINDOW
}

#[cfg(test)]
mod tests {
    use super::is_stale;

    #[test]
    fn late_and_repeated_keys_are_stale_restarts_are_not() {
        assert!(is_stale(77, 77));
        assert!(is_stale(76, 77));
        assert!(!is_stale(78, 77));
        // Across the wrap.
        assert!(is_stale(u32::MAX, 2));
        assert!(!is_stale(1, u32::MAX));
        // A device that restarted counts from 1 again.
        assert!(!is_stale(1, 5000));
    }
}
