//! The service shape: every service is described and started the same way.
//!
//! A [`Service`] has a name, the settings section that switches it
//! (`setting`), a purpose built from its *effective* settings, and one
//! [`Service::start`] that receives the one [`StartEnv`] (settings,
//! controller handle, event bus, project store, cancellation), binds what it
//! needs up front (so a taken port fails the start with a message naming the
//! port and the service) and returns [`Started`]: its endpoint, if it has a
//! port, and the task that runs it until cancellation.
//!
//! The [`Supervisor`] alone decides enabled/disabled, registers every
//! state on the status board (listening, running, disabled, failed: why),
//! runs the tasks and stops them together within a deadline. Services never
//! import one another: what one needs from another (the ports lookup
//! advertises, device events) comes through the status board or the bus.

pub mod accept;
pub mod audit;
pub mod calendar;
pub mod central;
pub mod device_search;
pub mod extension;
pub mod ftp;
pub mod http;
pub mod lan_socket;
pub mod live_broadcast;
pub mod logic;
pub mod lookup;
pub mod mqtt;
pub mod occupancy;
pub mod repeat;
pub mod telnet;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use controller_core::view::{ServiceState, ServiceStatus};
use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::state::bus::Bus;
use crate::state::controller::Controller;
use crate::storage::project_store::ProjectStore;

/// Everything a service is started with.
#[derive(Clone)]
pub struct StartEnv {
    pub controller: Controller,
    pub bus: Bus,
    pub store: Arc<ProjectStore>,
    pub shutdown: CancellationToken,
}

impl StartEnv {
    /// An environment with a fresh cancellation token (the supervisor makes
    /// the real one; tests make their own to build a router without a socket).
    pub fn new(controller: Controller, store: Arc<ProjectStore>) -> StartEnv {
        StartEnv {
            bus: controller.bus().clone(),
            controller,
            store,
            shutdown: CancellationToken::new(),
        }
    }

    pub fn settings(&self) -> &Settings {
        self.controller.settings()
    }
}

/// A service's main task: runs until the shutdown token is cancelled; an
/// error before that marks the service failed.
pub type ServiceTask = BoxFuture<'static, anyhow::Result<()>>;

/// Where a started service can be reached.
pub struct Endpoint {
    /// The address it bound (port 0 in the settings = any free port).
    pub addr: SocketAddr,
    /// For people: "tcp 127.0.0.1:3000", "udp 0.0.0.0:8000 -> 255.255.255.255:8001".
    pub describe: String,
}

impl Endpoint {
    pub fn tcp(addr: SocketAddr) -> Endpoint {
        Endpoint {
            addr,
            describe: format!("tcp {addr}"),
        }
    }

    pub fn udp(addr: SocketAddr) -> Endpoint {
        Endpoint {
            addr,
            describe: format!("udp {addr}"),
        }
    }
}

/// A started service.
pub struct Started {
    /// `None` for a service without a port (it reports `running`).
    pub endpoint: Option<Endpoint>,
    pub task: ServiceTask,
    /// Runs, but cannot do part of its job (the audit trail cannot write
    /// its file): shown as failed, with the reason, while the task runs.
    pub impaired: Option<String>,
}

impl Started {
    pub fn listening(endpoint: Endpoint, task: ServiceTask) -> Started {
        Started {
            endpoint: Some(endpoint),
            task,
            impaired: None,
        }
    }

    pub fn running(task: ServiceTask) -> Started {
        Started {
            endpoint: None,
            task,
            impaired: None,
        }
    }

    /// Marks the started service as impaired: the status board shows it
    /// failed with `why`, and the log says so.
    pub fn impaired(self, why: Option<String>) -> Started {
        Started {
            impaired: why,
            ..self
        }
    }
}

/// Why a service did not start.
#[derive(Debug)]
pub enum StartError {
    /// The controller cannot run as configured (e.g. its port is taken):
    /// the whole start fails with this message and nothing is left running.
    Fatal(anyhow::Error),
    /// The service stays off for a reason the installer can fix (e.g. no
    /// admin user yet); the others run.
    Off(String),
    /// The service failed to start (e.g. cannot join a multicast group);
    /// the others run.
    Failed(String),
}

impl From<anyhow::Error> for StartError {
    fn from(e: anyhow::Error) -> StartError {
        StartError::Fatal(e)
    }
}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> StartError {
        StartError::Fatal(e.into())
    }
}

/// One service of the controller.
pub trait Service: Send + Sync {
    /// Short name: "panel", "lookup", "central", ...
    fn name(&self) -> &'static str;
    /// The settings section that configures it (and switches it off).
    fn setting(&self) -> &'static str {
        self.name()
    }
    fn enabled(&self, settings: &Settings) -> bool;
    /// What it is for, from its effective settings, in words an IT
    /// administrator reads.
    fn purpose(&self, settings: &Settings) -> String;
    /// Binds and returns the running task (not yet spawned).
    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>>;
}

/// A failure to open a service's socket, in words that name the service,
/// the port and what to change (for sockets bound by hand, e.g. socket2).
pub fn bind_error(
    service: &str,
    proto: &str,
    addr: SocketAddr,
    setting: &str,
    e: std::io::Error,
) -> anyhow::Error {
    let hint = match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "another program is using {proto} port {}; stop it, or set `port` in [{setting}] of the settings, or switch the service off with `enabled = false`",
            addr.port()
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "ports below 1024 need privileges: run as a service with CAP_NET_BIND_SERVICE, or choose another port in [{setting}]"
        ),
        std::io::ErrorKind::AddrNotAvailable => format!("{} is not an address of this machine; check `bind` in [{setting}]", addr.ip()),
        _ => format!("check [{setting}] in the settings"),
    };
    anyhow::anyhow!("the {service} service cannot listen on {proto} {addr}: {e} ({hint})")
}

/// Binds a TCP listener, with an error that names the service and the port.
pub async fn bind_tcp(
    service: &str,
    setting: &str,
    addr: SocketAddr,
) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| bind_error(service, "TCP", addr, setting, e))
}

/// Starts services, runs their tasks, and stops them together.
pub struct Supervisor {
    tasks: JoinSet<()>,
    env: StartEnv,
}

impl Supervisor {
    pub fn new(controller: Controller, store: Arc<ProjectStore>) -> Supervisor {
        Supervisor {
            tasks: JoinSet::new(),
            env: StartEnv::new(controller, store),
        }
    }

    /// Starts one service: registers it disabled when its settings say so,
    /// else starts it and registers its state. Only a [`StartError::Fatal`]
    /// is returned as an error.
    pub async fn start(&mut self, service: &dyn Service) -> anyhow::Result<()> {
        let settings = self.env.settings().clone();
        let name = service.name();
        let purpose = service.purpose(&settings);
        let board = self.env.controller.status();
        let status = |purpose: String, endpoint: String, state| ServiceStatus {
            name: name.to_string(),
            purpose,
            endpoint,
            state,
            setting: service.setting().to_string(),
        };
        if !service.enabled(&settings) {
            board.set_service(status(purpose, "-".into(), ServiceState::Disabled), None);
            return Ok(());
        }
        match service.start(self.env.clone()).await {
            Ok(Started {
                endpoint,
                task,
                impaired,
            }) => {
                let (describe, addr, state) = match endpoint {
                    Some(e) => (e.describe, Some(e.addr), ServiceState::Listening),
                    None => ("-".to_string(), None, ServiceState::Running),
                };
                let state = match impaired {
                    Some(why) => {
                        self.env
                            .controller
                            .log()
                            .record(format!("service {name} failed: {why}"));
                        ServiceState::Failed(why)
                    }
                    None => state,
                };
                board.set_service(status(purpose, describe, state), addr);
                self.spawn(name, task);
                Ok(())
            }
            Err(not_started) => {
                let (purpose, state, log) = match not_started {
                    StartError::Fatal(e) => return Err(e),
                    StartError::Off(why) => (
                        format!("{purpose}: OFF {why}"),
                        ServiceState::Disabled,
                        format!("{name} is off {why}"),
                    ),
                    StartError::Failed(why) => (
                        purpose,
                        ServiceState::Failed(why.clone()),
                        format!("service {name} failed: {why}"),
                    ),
                };
                self.env.controller.log().record(log);
                board.set_service(status(purpose, "-".into(), state), None);
                Ok(())
            }
        }
    }

    /// Runs a service's task. If it ends with an error before shutdown, the
    /// service is marked failed (with the reason) and the rest go on.
    fn spawn(&mut self, name: &'static str, task: ServiceTask) {
        let env = self.env.clone();
        self.tasks.spawn(async move {
            let result = task.await;
            let board = env.controller.status();
            match result {
                Err(e) if !env.shutdown.is_cancelled() => {
                    env.controller
                        .log()
                        .record(format!("service {name} failed: {e:#}"));
                    board.set_service_state(name, ServiceState::Failed(format!("{e:#}")));
                }
                _ => board.set_service_state(name, ServiceState::Stopped),
            }
        });
    }

    /// Signals every service to stop and waits up to `deadline` for them.
    pub async fn shutdown(mut self, deadline: Duration) {
        self.env.shutdown.cancel();
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(deadline, all).await.is_err() {
            tracing::warn!("services did not stop within {deadline:?}; stopping them now");
            self.tasks.abort_all();
        }
    }
}
