//! The service skeleton: every network service is started the same way.
//!
//! A service gets the [`Controller`], its own settings section and a
//! cancellation token ([`ServiceContext`]); it binds its socket up front
//! (so a taken port fails the start with a message naming the port and the
//! service), registers itself in the [`ServiceRegistry`] (shown on the status
//! page and the console), runs until the token is cancelled, and stops
//! within the shutdown deadline.

pub mod accept;
pub mod admin;
pub mod central;
pub mod extension;
pub mod ftp;
pub mod http;
pub mod lan_socket;
pub mod live;
pub mod lookup;
pub mod telnet;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::RwLock;
use std::time::Duration;

use controller_core::view::{ServiceState, ServiceStatus};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::controller::Controller;

#[derive(Clone)]
pub struct ServiceContext {
    pub controller: Controller,
    pub shutdown: CancellationToken,
}

/// Every service and its state, in start order.
#[derive(Default)]
pub struct ServiceRegistry {
    services: RwLock<Vec<ServiceStatus>>,
}

impl ServiceRegistry {
    pub fn register(
        &self,
        name: &str,
        purpose: &str,
        endpoint: String,
        setting: &str,
        state: ServiceState,
    ) {
        let mut list = self.services.write().unwrap_or_else(|e| e.into_inner());
        let status = ServiceStatus {
            name: name.to_string(),
            purpose: purpose.to_string(),
            endpoint,
            state,
            setting: setting.to_string(),
        };
        match list.iter_mut().find(|s| s.name == name) {
            Some(s) => *s = status,
            None => list.push(status),
        }
    }

    /// Registers a service that is switched off in the settings.
    pub fn disabled(&self, name: &str, purpose: &str, setting: &str) {
        self.register(name, purpose, "-".into(), setting, ServiceState::Disabled);
    }

    pub fn set_state(&self, name: &str, state: ServiceState) {
        let mut list = self.services.write().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = list.iter_mut().find(|s| s.name == name) {
            s.state = state;
        }
    }

    pub fn list(&self) -> Vec<ServiceStatus> {
        self.services
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn get(&self, name: &str) -> Option<ServiceStatus> {
        self.list().into_iter().find(|s| s.name == name)
    }
}

fn bind_error(
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

/// Binds a UDP socket, with an error that names the service and the port.
pub async fn bind_udp(service: &str, setting: &str, addr: SocketAddr) -> anyhow::Result<UdpSocket> {
    UdpSocket::bind(addr)
        .await
        .map_err(|e| bind_error(service, "UDP", addr, setting, e))
}

/// Runs the services' tasks and stops them together.
pub struct Supervisor {
    tasks: JoinSet<()>,
    context: ServiceContext,
}

impl Supervisor {
    pub fn new(controller: Controller) -> Supervisor {
        Supervisor {
            tasks: JoinSet::new(),
            context: ServiceContext {
                controller,
                shutdown: CancellationToken::new(),
            },
        }
    }

    pub fn context(&self) -> ServiceContext {
        self.context.clone()
    }

    /// Runs a service's main task. If it ends with an error before shutdown,
    /// the service is marked failed (with the reason) and the rest go on.
    pub fn spawn(
        &mut self,
        name: &'static str,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        let ctx = self.context.clone();
        self.tasks.spawn(async move {
            let result = task.await;
            let registry = ctx.controller.services();
            match result {
                Err(e) if !ctx.shutdown.is_cancelled() => {
                    ctx.controller
                        .log()
                        .record(format!("service {name} failed: {e:#}"));
                    registry.set_state(name, ServiceState::Failed(format!("{e:#}")));
                }
                _ => registry.set_state(name, ServiceState::Stopped),
            }
        });
    }

    /// Signals every service to stop and waits up to `deadline` for them.
    pub async fn shutdown(mut self, deadline: Duration) {
        self.context.shutdown.cancel();
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(deadline, all).await.is_err() {
            tracing::warn!("services did not stop within {deadline:?}; stopping them now");
            self.tasks.abort_all();
        }
    }
}
