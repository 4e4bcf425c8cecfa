//! Extension devices on the multicast bus 224.10.10.25:7979
//! (`controller_core::protocol::extension`): keypads, I/O and relay boxes.
//!
//! The service joins the group on the configured interface (so the kernel
//! reports membership by IGMP), sends a lookup/keep-alive every 3 s, keeps
//! the [`registry::ExtensionRegistry`] (silent for 10 s = offline, any
//! message resets a device's timer), turns key messages into engine presses
//! and sends each keypad the LEDs of its keys. Online/offline changes go to
//! the status page (`device_update`), the log, and [`DeviceEvents`] (the
//! live updates on 8001 and central-control subscribers).

pub mod registry;

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;

use controller_core::engine::{Command, Step};
use controller_core::project::Led;
use controller_core::protocol::extension::{ExtensionMessage, KeyAction, MAX_DATAGRAM};
use controller_core::view::{DeviceStatus, ServiceState};
use tokio::net::UdpSocket;
use tokio::sync::broadcast;
use tokio::time::{Duration, Instant, MissedTickBehavior};

use self::registry::{next_expiry, ExtensionRegistry, Heard};
use super::lan_socket::multicast_udp;
use super::{ServiceContext, Supervisor};
use crate::config::ExtensionSettings;
use crate::controller::{Controller, Published};

pub const NAME: &str = "extension";

/// An extension device went online or offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEvent {
    pub id: String,
    pub kind: String,
    pub address: String,
    pub online: bool,
}

/// Where device online/offline events are published (to the live-update
/// and central-control services).
pub type DeviceEvents = broadcast::Sender<DeviceEvent>;

pub fn device_events() -> DeviceEvents {
    broadcast::channel(256).0
}

/// Joins the group and starts the service. A failure to join (e.g. a
/// loopback interface without MULTICAST in development) marks the service
/// failed with the reason and leaves the other services running.
pub async fn start(
    sup: &mut Supervisor,
    settings: &ExtensionSettings,
    events: DeviceEvents,
) -> Option<SocketAddr> {
    let ctx = sup.context();
    let purpose = "extension devices (keypads, I/O boxes): keep-alive every 3 s, offline after 10 s of silence";
    let endpoint = format!(
        "udp {}:{} on {} (ttl {})",
        settings.group, settings.port, settings.interface, settings.ttl
    );
    let socket = match multicast_udp(
        settings.group,
        settings.port,
        settings.interface,
        settings.ttl,
    ) {
        Ok(s) => s,
        Err(e) => {
            let why = format!(
                "cannot join multicast group {} on interface {}: {e}",
                settings.group, settings.interface
            );
            ctx.controller
                .log()
                .record(format!("service {NAME} failed: {why}"));
            ctx.controller.services().register(
                NAME,
                purpose,
                endpoint,
                NAME,
                ServiceState::Failed(why),
            );
            return None;
        }
    };
    let local = socket.local_addr().ok();
    ctx.controller
        .services()
        .register(NAME, purpose, endpoint, NAME, ServiceState::Listening);
    let service = ExtensionService {
        controller: ctx.controller.clone(),
        registry: ExtensionRegistry::new(
            Duration::from_secs(settings.offline_after_secs.max(1)),
            settings.max_devices,
        ),
        group: SocketAddrV4::new(settings.group, settings.port).into(),
        allow: settings.allow.clone(),
        keepalive: Duration::from_secs(settings.keepalive_secs.max(1)),
        events,
        socket,
        seq: 0,
        dropped: 0,
    };
    // Subscribed before the task first runs: no step after start is missed.
    let (_, steps) = ctx.controller.subscribe();
    sup.spawn(NAME, service.run(ctx, steps));
    local
}

struct ExtensionService {
    controller: Controller,
    registry: ExtensionRegistry,
    group: SocketAddr,
    allow: crate::access::AllowList,
    keepalive: Duration,
    events: DeviceEvents,
    socket: UdpSocket,
    seq: u32,
    /// Malformed or unwanted datagrams since the last report.
    dropped: u64,
}

impl ExtensionService {
    async fn run(
        mut self,
        ctx: ServiceContext,
        mut steps: broadcast::Receiver<Arc<Published>>,
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
                step = steps.recv() => match step {
                    Ok(published) => self.on_step(&published.step).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => self.refresh_all().await,
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                _ = ctx.shutdown.cancelled() => return Ok(()),
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

    async fn on_datagram(&mut self, datagram: &[u8], from: SocketAddr) {
        if !self.allow.allows(from.ip()) {
            self.dropped += 1;
            return;
        }
        let message = match ExtensionMessage::decode(datagram) {
            Ok(m) if !m.from_controller() => m,
            // Controllers' own messages (ours, looped back, or another's).
            Ok(_) => return,
            Err(_) => {
                self.dropped += 1;
                return;
            }
        };
        let Some(id) = message.device().map(str::to_string) else {
            return;
        };
        if matches!(message, ExtensionMessage::Goodbye { .. }) && self.registry.get(&id).is_none() {
            return; // never seen: nothing to take offline
        }
        let heard = self.registry.heard(&id, from, Instant::now());
        for gone in self.registry.take_evicted() {
            self.controller.device_remove(&gone);
        }
        if heard == Heard::RegistryFull {
            self.dropped += 1;
            return;
        }
        let came_online = heard == Heard::CameOnline;
        match message {
            ExtensionMessage::Announce {
                kind,
                firmware,
                keys,
                ..
            } => {
                let changed = self.registry.get_mut(&id).is_some_and(|d| {
                    let keys = keys.into_iter().collect();
                    let changed = d.kind != kind || d.firmware != firmware || d.keys != keys;
                    d.kind = kind;
                    d.firmware = firmware;
                    d.keys = keys;
                    changed
                });
                if came_online {
                    self.came_online(&id);
                } else if changed {
                    self.report(&id);
                }
                self.send_all_leds(&id).await;
            }
            ExtensionMessage::Goodbye { .. } => {
                if came_online {
                    self.came_online(&id);
                }
                if self.registry.gone(&id) {
                    self.went_offline(&id, "said goodbye");
                }
            }
            ExtensionMessage::Key {
                seq,
                action,
                button,
                ..
            } => {
                if came_online {
                    self.came_online(&id);
                }
                let Some(device) = self.registry.get_mut(&id) else {
                    return;
                };
                if device.last_key_seq == Some(seq) {
                    return; // a retransmission
                }
                device.last_key_seq = Some(seq);
                let source = format!("keypad:{id}@{}", from.ip());
                let command = match action {
                    KeyAction::Press => Command::Press { button, source },
                    KeyAction::Release => Command::Release { button, source },
                };
                if let Err(e) = self.controller.execute(command) {
                    tracing::debug!("extension: key from {id}: {e}");
                }
            }
            ExtensionMessage::ControllerHello { .. } | ExtensionMessage::Leds { .. } => {}
        }
    }

    fn status(&self, id: &str) -> Option<(DeviceStatus, DeviceEvent)> {
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
        Some((
            DeviceStatus {
                id: d.id.clone(),
                kind: kind.clone(),
                address: d.address.to_string(),
                online: d.online,
                detail,
            },
            DeviceEvent {
                id: d.id.clone(),
                kind,
                address: d.address.to_string(),
                online: d.online,
            },
        ))
    }

    /// Updates the status page only (kind, keys or firmware changed).
    fn report(&self, id: &str) {
        if let Some((status, _)) = self.status(id) {
            self.controller.device_update(status);
        }
    }

    fn came_online(&self, id: &str) {
        if let Some((status, event)) = self.status(id) {
            self.controller.log().record(format!(
                "extension device {} ({}) online at {}",
                status.id, status.kind, status.address
            ));
            self.controller.device_update(status);
            let _ = self.events.send(event);
        }
    }

    fn went_offline(&self, id: &str, why: &str) {
        if let Some((status, event)) = self.status(id) {
            self.controller.log().record(format!(
                "extension device {} ({}) offline: {why}",
                status.id, status.kind
            ));
            self.controller.device_update(status);
            let _ = self.events.send(event);
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
