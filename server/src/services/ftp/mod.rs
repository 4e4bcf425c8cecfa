//! The FTP service (21 on a LAN): upload a project, download the active
//! one, list the project area. The FTP protocol is libunftp's; this module
//! adds what the controller needs around it:
//! - login against the one user store (argon2 hashes; any role may
//!   download, only admins upload), no anonymous login;
//! - the storage back end [`storage::ProjectArea`], confined to the project
//!   store's fixed files;
//! - the allow-list and the connection cap, checked at accept;
//! - [`guard`]: `PORT`/`EPRT` only back to the client's own address;
//! - passive data ports from `ftp.passive_ports`, on the address the client
//!   reached (see docs/network.md for firewall rules).
//!
//! Each control connection gets its own libunftp server (cheap: options
//! only) so the passive address can be the one this client connected to.
//! The client talks to the guard; the guard talks to libunftp over a
//! loopback socket pair.

pub mod guard;
pub mod storage;

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;

use async_trait::async_trait;
use controller_core::view::ServiceState;
use libunftp::options::{ActivePassiveMode, Binder, PassiveHost};
use libunftp::ServerBuilder;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use unftp_core::auth::{
    AuthenticationError, Authenticator, Credentials, Principal, UserDetailError, UserDetailProvider,
};

use super::accept::{admin_exists_or_disable, next_connection, Gate};
use super::{bind_tcp, Supervisor};
use crate::controller::Controller;
use crate::project_store::ProjectStore;
use storage::{FtpUser, ProjectArea};

pub const PURPOSE: &str = "project upload/download (FTP control; data on the passive ports or active mode back to the client)";

/// Binds and starts the FTP service; `None` when it is off.
pub async fn start(
    sup: &mut Supervisor,
    store: Arc<ProjectStore>,
) -> anyhow::Result<Option<SocketAddr>> {
    let ctx = sup.context();
    let controller = ctx.controller.clone();
    let s = controller.settings().ftp.clone();
    let registry = controller.services();
    if !s.enabled {
        registry.disabled("ftp", PURPOSE, "ftp");
        return Ok(None);
    }
    if !admin_exists_or_disable(&controller, "ftp", "project upload") {
        return Ok(None);
    }
    let (lo, hi) = s.passive_ports;
    anyhow::ensure!(
        lo <= hi && lo > 0,
        "[ftp] passive_ports = [{lo}, {hi}] is not a valid range (first <= last, not 0)"
    );
    let listener = bind_tcp("ftp", "ftp", SocketAddr::new(s.bind, s.port)).await?;
    let local = listener.local_addr()?;
    registry.register(
        "ftp",
        PURPOSE,
        format!("tcp {local}, data tcp {lo}-{hi}"),
        "ftp",
        ServiceState::Listening,
    );
    let shutdown = ctx.shutdown.clone();
    let gate = Gate::new(s.allow.clone(), s.max_connections);
    sup.spawn("ftp", async move {
        while let Some((mut stream, peer)) = next_connection(&listener, "ftp", &shutdown).await {
            let Some(permit) = gate
                .admit_or_refuse(
                    &mut stream,
                    peer.ip(),
                    b"421 This address is not on the FTP allow-list\r\n",
                    b"421 Too many FTP sessions; try again later\r\n",
                )
                .await
            else {
                continue;
            };
            let controller = controller.clone();
            let store = store.clone();
            let settings = s.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _permit = permit;
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    r = session(stream, peer, controller, store, &settings) => {
                        if let Err(e) = r {
                            tracing::info!("ftp session from {peer} ended: {e:#}");
                        }
                    }
                }
            });
        }
        Ok(())
    });
    Ok(Some(local))
}

async fn session(
    client: TcpStream,
    peer: SocketAddr,
    controller: Controller,
    store: Arc<ProjectStore>,
    s: &crate::config::FtpSettings,
) -> anyhow::Result<()> {
    let local_ip = client.local_addr()?.ip();
    let (lo, hi) = s.passive_ports;
    let peer_text = peer.to_string();
    let area_controller = controller.clone();
    let mut builder = ServerBuilder::with_user_detail_provider(
        Box::new(move || ProjectArea {
            store: store.clone(),
            controller: area_controller.clone(),
            peer: peer_text.clone(),
        }),
        Arc::new(Users(controller.clone())),
    )
    .authenticator(Arc::new(Login(controller.clone())))
    .greeting("roomctl FTP: project upload and download")
    .idle_session_timeout(s.idle_timeout_secs)
    .passive_ports(lo..=hi)
    .binder(PassiveBinder { ip: local_ip })
    .active_passive_mode(if s.active_mode {
        ActivePassiveMode::ActiveAndPassive
    } else {
        ActivePassiveMode::PassiveOnly
    });
    if let IpAddr::V4(v4) = canonical(local_ip) {
        builder = builder.passive_host(PassiveHost::Ip(v4));
    }
    let server = builder
        .build()
        .map_err(|e| anyhow::anyhow!("ftp configuration: {e}"))?;

    // A loopback socket pair: libunftp serves one end, the guard the other.
    let pair = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let inner_client = TcpStream::connect(pair.local_addr()?).await?;
    let ours = inner_client.local_addr()?;
    // Take only our own connection (another local program could race to
    // connect to the ephemeral port first).
    let inner_server = loop {
        let (s, from) = pair.accept().await?;
        if from == ours {
            break s;
        }
    };
    drop(pair);
    let served = tokio::spawn(async move {
        let _ = server.service(inner_server).await;
    });
    guard::relay(client, inner_client, canonical(peer.ip())).await;
    served.abort();
    Ok(())
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Binds passive data listeners on the address the client reached (not the
/// loopback address libunftp sees), with a port from the configured range.
#[derive(Debug)]
struct PassiveBinder {
    ip: IpAddr,
}

#[async_trait]
impl Binder for PassiveBinder {
    async fn bind(
        &mut self,
        _libunftp_local: IpAddr,
        ports: RangeInclusive<u16>,
    ) -> std::io::Result<TcpSocket> {
        let span = u32::from(ports.end() - ports.start()) + 1;
        // Start at a random place in the range so sessions spread out.
        let offset = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0))
            % span;
        for i in 0..span {
            let port = *ports.start() as u32 + (offset + i) % span;
            let socket = if self.ip.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            if socket.bind(SocketAddr::new(self.ip, port as u16)).is_ok() {
                return Ok(socket);
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!(
                "every passive FTP port {}-{} is in use",
                ports.start(),
                ports.end()
            ),
        ))
    }
}

/// Checks FTP logins against the user store.
struct Login(Controller);

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("roomctl users")
    }
}

#[async_trait]
impl Authenticator for Login {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        let Some(password) = creds.password.clone() else {
            return Err(AuthenticationError::BadPassword);
        };
        let users = self.0.users();
        let name = username.to_string();
        let user = tokio::task::spawn_blocking(move || users.verify(&name, &password))
            .await
            .map_err(|e| AuthenticationError::with_source("password check", e))?;
        match user {
            Some(u) => Ok(Principal { username: u.name }),
            None => {
                self.0
                    .log()
                    .record(format!("ftp: failed login for {username:?}"));
                Err(AuthenticationError::BadPassword)
            }
        }
    }
}

/// Gives a logged-in principal its role.
struct Users(Controller);

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("roomctl users")
    }
}

#[async_trait]
impl UserDetailProvider for Users {
    type User = FtpUser;

    async fn provide_user_detail(&self, principal: &Principal) -> Result<FtpUser, UserDetailError> {
        let users = self.0.users();
        let role = users
            .names()
            .find(|(n, _)| *n == principal.username)
            .map(|(_, r)| r)
            .ok_or_else(|| UserDetailError::UserNotFound {
                username: principal.username.clone(),
            })?;
        Ok(FtpUser {
            name: principal.username.clone(),
            role,
        })
    }
}
