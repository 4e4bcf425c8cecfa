//! Live updates, UDP 8001 (`controller_core::protocol::live_broadcast`): every engine
//! step that changes an LED goes out as one datagram carrying its revision,
//! encoded once ([`Encoding::LiveDatagram`]). A project load, and optionally
//! a timer, send the full status; extension devices going online or offline
//! are announced too. Send-only: the service never reads its socket.

use std::net::SocketAddr;

use bytes::Bytes;
use controller_core::engine::{Change, Step};
use controller_core::protocol::live_broadcast::{LedEntry, LiveMessage};
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::net::UdpSocket;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Duration, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::lan_socket::shared_udp;
use super::{Endpoint, Service, StartEnv, StartError, Started};
use crate::config::Settings;
use crate::state::bus::{BusEvent, Encoding, Subscription};
use crate::state::controller::Controller;

pub const NAME: &str = "live";

/// The kind-4 datagram of a step, empty when it changed no level or variable.
pub fn values_datagram(step: &Step) -> Bytes {
    LiveMessage::values_of_step(step)
        .map(|m| Bytes::from(m.encode()))
        .unwrap_or_default()
}

/// The datagram of a step, empty when the step changed no LED.
pub fn step_datagram(step: &Step) -> Bytes {
    LiveMessage::of_step(step)
        .map(|m| Bytes::from(m.encode()))
        .unwrap_or_default()
}

pub struct LiveService;

impl Service for LiveService {
    fn name(&self) -> &'static str {
        NAME
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.live.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let full = match s.live.full_status_secs {
            0 => String::new(),
            n => format!(", full status every {n} s"),
        };
        format!(
            "live updates: a datagram to {}:{} for every LED change{full} (send only)",
            s.live.destination, s.live.port
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let settings = &env.settings().live;
            // Sent from an ephemeral port: listeners (and `roomctl watch`) own 8001.
            let addr = SocketAddr::new(settings.bind, 0);
            let socket =
                shared_udp(addr).map_err(|e| super::bind_error(NAME, "UDP", addr, NAME, e))?;
            let local = socket.local_addr()?;
            let destination = SocketAddr::new(settings.destination, settings.port);
            let full_status = (settings.full_status_secs > 0)
                .then(|| Duration::from_secs(settings.full_status_secs));
            let sender = LiveUpdateBroadcaster {
                controller: env.controller.clone(),
                socket,
                destination,
            };
            // Subscribed before the task first runs: no step after start is missed.
            let (_, bus) = env.controller.subscribe();
            Ok(Started::listening(
                Endpoint {
                    addr: local,
                    describe: format!("udp {local} -> {destination}"),
                },
                sender.run(env.shutdown, full_status, bus).boxed(),
            ))
        }
        .boxed()
    }
}

struct LiveUpdateBroadcaster {
    controller: Controller,
    socket: UdpSocket,
    destination: SocketAddr,
}

impl LiveUpdateBroadcaster {
    async fn run(
        self,
        shutdown: CancellationToken,
        full_status: Option<Duration>,
        mut bus: Subscription,
    ) -> anyhow::Result<()> {
        let mut timer = tokio::time::interval(full_status.unwrap_or(Duration::from_secs(3600)));
        timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        timer.tick().await;
        loop {
            tokio::select! {
                event = bus.recv() => match event {
                    Ok(event) => match &*event {
                        BusEvent::Step(published) => {
                            if let Some(full) = project_loaded(&published.step) {
                                self.send(&full.encode()).await;
                                self.send_values(&self.controller.snapshot()).await;
                            } else {
                                let bytes = published.encoded(Encoding::LiveDatagram, step_datagram);
                                if !bytes.is_empty() {
                                    self.send(&bytes).await;
                                }
                                let bytes = published.encoded(Encoding::LiveValues, values_datagram);
                                if !bytes.is_empty() {
                                    self.send(&bytes).await;
                                }
                            }
                        }
                        BusEvent::Device(d) => {
                            let m = LiveMessage::Device { id: d.id.clone(), kind: d.kind.clone(), address: d.address.clone(), online: d.online };
                            self.send(&m.encode()).await;
                        }
                        _ => {}
                    },
                    // Fell behind: listeners get the whole truth instead.
                    Err(RecvError::Lagged(_)) => {
                        let (snapshot, rx) = self.controller.subscribe();
                        bus = rx;
                        self.send(&LiveMessage::full_status(&snapshot).encode()).await;
                        self.send_values(&snapshot).await;
                    }
                    Err(RecvError::Closed) => return Ok(()),
                },
                _ = timer.tick(), if full_status.is_some() => {
                    let snapshot = self.controller.snapshot();
                    self.send(&LiveMessage::full_status(&snapshot).encode()).await;
                    self.send_values(&snapshot).await;
                }
                _ = shutdown.cancelled() => return Ok(()),
            }
        }
    }

    /// Every level and variable, after a full status (kind 4, `full`).
    async fn send_values(&self, snapshot: &controller_core::engine::Snapshot) {
        if let Some(values) = LiveMessage::full_values(snapshot) {
            self.send(&values.encode()).await;
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
            ..
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
