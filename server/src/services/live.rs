//! Live updates, UDP 8001 (`controller_core::protocol::live`): every engine
//! step that changes an LED goes out as one datagram carrying its revision,
//! encoded once ([`Encoding::LiveDatagram`]). A project load, and optionally
//! a timer, send the full status; extension devices going online or offline
//! are announced too. Send-only: the service never reads its socket.

use std::net::SocketAddr;

use bytes::Bytes;
use controller_core::engine::{Change, Step};
use controller_core::protocol::live::{LedEntry, LiveMessage};
use controller_core::view::ServiceState;
use tokio::net::UdpSocket;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Duration, MissedTickBehavior};

use std::sync::Arc;

use tokio::sync::broadcast;

use super::extension::{DeviceEvent, DeviceEvents};
use super::lan_socket::shared_udp;
use super::{ServiceContext, Supervisor};
use crate::config::LiveSettings;
use crate::controller::{Controller, Encoding, Published};

pub const NAME: &str = "live";

/// The datagram of a step, empty when the step changed no LED.
pub fn step_datagram(step: &Step) -> Bytes {
    LiveMessage::of_step(step)
        .map(|m| Bytes::from(m.encode()))
        .unwrap_or_default()
}

/// Binds the sending socket and starts the service; returns its address.
pub async fn start(
    sup: &mut Supervisor,
    settings: &LiveSettings,
    devices: DeviceEvents,
) -> anyhow::Result<SocketAddr> {
    let ctx = sup.context();
    // Sent from an ephemeral port: listeners (and `roomctl watch`) own 8001.
    let addr = SocketAddr::new(settings.bind, 0);
    let socket = shared_udp(addr).map_err(|e| super::bind_error(NAME, "UDP", addr, NAME, e))?;
    let local = socket.local_addr()?;
    let destination = SocketAddr::new(settings.destination, settings.port);
    ctx.controller.services().register(
        NAME,
        "live updates: a datagram for every LED change (send only)",
        format!("udp {local} -> {destination}"),
        NAME,
        ServiceState::Listening,
    );
    let full_status =
        (settings.full_status_secs > 0).then(|| Duration::from_secs(settings.full_status_secs));
    let sender = LiveUpdateBroadcaster {
        controller: ctx.controller.clone(),
        socket,
        destination,
    };
    // Subscribed before the task first runs: no step after start is missed.
    let (_, steps) = ctx.controller.subscribe();
    let devices = devices.subscribe();
    sup.spawn(NAME, sender.run(ctx, full_status, steps, devices));
    Ok(local)
}

struct LiveUpdateBroadcaster {
    controller: Controller,
    socket: UdpSocket,
    destination: SocketAddr,
}

impl LiveUpdateBroadcaster {
    async fn run(
        self,
        ctx: ServiceContext,
        full_status: Option<Duration>,
        mut steps: broadcast::Receiver<Arc<Published>>,
        mut devices: broadcast::Receiver<DeviceEvent>,
    ) -> anyhow::Result<()> {
        let mut devices_open = true;
        let mut timer = tokio::time::interval(full_status.unwrap_or(Duration::from_secs(3600)));
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        timer.tick().await;
        loop {
            tokio::select! {
                step = steps.recv() => match step {
                    Ok(published) => {
                        if let Some(full) = project_loaded(&published.step) {
                            self.send(&full.encode()).await;
                        } else {
                            let bytes = published.encoded(Encoding::LiveDatagram, step_datagram);
                            if !bytes.is_empty() {
                                self.send(&bytes).await;
                            }
                        }
                    }
                    // Fell behind: listeners get the whole truth instead.
                    Err(RecvError::Lagged(_)) => {
                        let (snapshot, rx) = self.controller.subscribe();
                        steps = rx;
                        self.send(&LiveMessage::full_status(&snapshot).encode()).await;
                    }
                    Err(RecvError::Closed) => return Ok(()),
                },
                event = devices.recv(), if devices_open => match event {
                    Ok(e) => {
                        let m = LiveMessage::Device { id: e.id, kind: e.kind, address: e.address, online: e.online };
                        self.send(&m.encode()).await;
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => devices_open = false,
                },
                _ = timer.tick(), if full_status.is_some() => {
                    self.send(&LiveMessage::full_status(&self.controller.snapshot()).encode()).await;
                }
                _ = ctx.shutdown.cancelled() => return Ok(()),
            }
        }
    }

    async fn send(&self, datagram: &[u8]) {
        if let Err(e) = self.socket.send_to(datagram, self.destination).await {
            tracing::debug!("live: cannot send to {}: {e}", self.destination);
        }
    }
}

/// The full status a project-loading step carries.
fn project_loaded(step: &Step) -> Option<LiveMessage> {
    step.changes.iter().find_map(|c| match c {
        Change::ProjectLoaded {
            name,
            project_revision,
            buttons,
        } => Some(LiveMessage::FullStatus {
            revision: step.revision,
            truncated: false,
            project_name: name.clone(),
            project_revision: *project_revision,
            leds: buttons
                .iter()
                .map(|(button, state)| LedEntry {
                    button: button.clone(),
                    led: state.led,
                })
                .collect(),
        }),
        _ => None,
    })
}
