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
//!   reached, taking connections from the client's address only
//!   ([`passive`]; docs/network.md has firewall rules);
//! - [`data`]: data connections relayed like the control connection, and
//!   `425` for a transfer whose data connection does not come.
//!
//! Each control connection gets its own libunftp server (cheap: options
//! only) so the passive address can be the one this client connected to.
//! The client talks to the guard; the guard talks to libunftp over a
//! loopback socket pair, and relays the data connections the same way, so
//! libunftp's check that a data connection comes from the control
//! connection's address holds for clients on any host. The client's real
//! address is what the allow-list, the connection caps, the passive-port
//! filter, the login check and the audit trail see.

mod data;
pub mod guard;
mod passive;
mod relay;
pub mod storage;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use libunftp::options::{ActivePassiveMode, PassiveHost};
use libunftp::ServerBuilder;
use tokio::net::{TcpListener, TcpStream};
use unftp_core::auth::{
    AuthenticationError, Authenticator, Credentials, Principal, UserDetailError, UserDetailProvider,
};

use super::accept::{require_admin, serve_connections, Gate, Refusals};
use super::{bind_tcp, Endpoint, Service, StartEnv, StartError, Started};
use crate::config::Settings;
use crate::security::auth::LoginError;
use crate::security::tls::TlsIdentity;
use crate::state::controller::Controller;
use crate::storage::project_store::ProjectStore;
use guard::ControlTls;
use passive::PassiveBinder;
use storage::{FtpUser, ProjectArea};

pub struct FtpService;

impl Service for FtpService {
    fn name(&self) -> &'static str {
        "ftp"
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.ftp.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let (lo, hi) = s.ftp.passive_ports;
        let active = if s.ftp.active_mode {
            " or active mode back to the client"
        } else {
            ""
        };
        let tls = if s.ftp.require_tls {
            "FTPS required (AUTH TLS)"
        } else {
            "FTPS offered (AUTH TLS)"
        };
        format!(
            "project upload/download (FTP control, {tls}; data on passive ports {lo}-{hi}{active})"
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let controller = env.controller.clone();
            let s = controller.settings().ftp.clone();
            require_admin(&controller)?;
            let (lo, hi) = s.passive_ports;
            if !(lo <= hi && lo > 0) {
                return Err(StartError::Fatal(anyhow::anyhow!(
                    "[ftp] passive_ports = [{lo}, {hi}] is not a valid range (first <= last, not 0)"
                )));
            }
            let tls = match crate::security::tls::TlsIdentity::load_or_create(controller.settings())
            {
                Ok(identity) => Some(identity),
                Err(e) if s.require_tls => {
                    return Err(StartError::Failed(format!(
                        "[ftp] require_tls is set, but there is no TLS certificate: {e:#}"
                    )))
                }
                Err(e) => {
                    tracing::warn!("ftp: FTPS is off, no TLS certificate: {e:#}");
                    None
                }
            };
            let listener = bind_tcp("ftp", "ftp", SocketAddr::new(s.bind, s.port)).await?;
            let local = listener.local_addr()?;
            let gate = Gate::new(s.allow.clone(), s.max_connections);
            let refusals = Refusals {
                not_allowed: Bytes::from_static(
                    b"421 This address is not on the FTP allow-list\r\n",
                ),
                full: Bytes::from_static(b"421 Too many FTP sessions; try again later\r\n"),
                address_full: Bytes::from_static(
                    b"421 Too many FTP sessions from this address; try again later\r\n",
                ),
            };
            let shutdown = env.shutdown.clone();
            let store = env.store.clone();
            let task = serve_connections(
                listener,
                "ftp",
                gate,
                refusals,
                env.shutdown,
                move |stream, peer| {
                    let (controller, store, settings, tls) =
                        (controller.clone(), store.clone(), s.clone(), tls.clone());
                    let shutdown = shutdown.clone();
                    async move {
                        tokio::select! {
                            _ = shutdown.cancelled() => {}
                            r = session(stream, peer, controller, store, &settings, tls) => {
                                if let Err(e) = r {
                                    tracing::info!("ftp session from {peer} ended: {e:#}");
                                }
                            }
                        }
                    }
                },
            );
            Ok(Started::listening(
                Endpoint {
                    addr: local,
                    describe: format!("tcp {local}, data tcp {lo}-{hi}"),
                },
                task.boxed(),
            ))
        }
        .boxed()
    }
}

async fn session(
    client: TcpStream,
    peer: SocketAddr,
    controller: Controller,
    store: Arc<ProjectStore>,
    s: &crate::config::FtpSettings,
    tls: Option<TlsIdentity>,
) -> anyhow::Result<()> {
    let local_ip = client.local_addr()?.ip();
    let (lo, hi) = s.passive_ports;
    let peer_text = peer.to_string();
    let offers = data::OfferSlot::default();
    let area_controller = controller.clone();
    let mut builder = ServerBuilder::with_user_detail_provider(
        Box::new(move || ProjectArea {
            store: store.clone(),
            controller: area_controller.clone(),
            peer: peer_text.clone(),
        }),
        Arc::new(Users(controller.clone())),
    )
    .authenticator(Arc::new(Login {
        controller: controller.clone(),
        peer: canonical(peer.ip()),
    }))
    .greeting("roomctl FTP: project upload and download")
    .idle_session_timeout(s.idle_timeout_secs)
    .passive_ports(lo..=hi)
    .binder(PassiveBinder {
        ip: local_ip,
        client: canonical(peer.ip()),
        offers: offers.clone(),
    })
    .active_passive_mode(if s.active_mode {
        ActivePassiveMode::ActiveAndPassive
    } else {
        ActivePassiveMode::PassiveOnly
    });
    if let IpAddr::V4(v4) = canonical(local_ip) {
        builder = builder.passive_host(PassiveHost::Ip(v4));
    }
    // libunftp protects the data connections (PROT P) with the
    // certificate; the guard holds the control connection's TLS.
    let control_tls = match tls {
        Some(identity) => {
            builder = builder.ftps(identity.cert_file.clone(), identity.key_file.clone());
            Some(ControlTls {
                acceptor: tokio_rustls::TlsAcceptor::from(identity.ftp_config.clone()),
                required: s.require_tls,
            })
        }
        None => None,
    };
    let server = builder
        .build()
        .map_err(|e| anyhow::anyhow!("ftp configuration: {e}"))?;

    // libunftp serves one end, the guard the other.
    let (inner_client, inner_server) = loopback_pair().await?;
    let served = tokio::spawn(async move {
        let _ = server.service(inner_server).await;
    });
    let login_deadline = std::time::Duration::from_secs(s.login_timeout_secs.max(1));
    relay::relay(
        client,
        inner_client,
        canonical(peer.ip()),
        login_deadline,
        control_tls,
        relay::DataRules {
            offers,
            timeout: std::time::Duration::from_secs(s.data_timeout_secs.max(1)),
        },
    )
    .await;
    served.abort();
    Ok(())
}

/// A connected loopback socket pair: (client end, server end).
async fn loopback_pair() -> std::io::Result<(TcpStream, TcpStream)> {
    let pair = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let client = TcpStream::connect(pair.local_addr()?).await?;
    let ours = client.local_addr()?;
    // Take only our own connection (another local program could race to
    // connect to the ephemeral port first).
    loop {
        let (server, from) = pair.accept().await?;
        if from == ours {
            return Ok((client, server));
        }
    }
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

/// Checks FTP logins against the user store. libunftp sees the loopback
/// relay, not the client, so the client's address travels here.
struct Login {
    controller: Controller,
    peer: IpAddr,
}

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
        let user = self
            .controller
            .verify_login("ftp", self.peer, username.to_string(), password)
            .await;
        match user {
            Ok(u) => Ok(Principal { username: u.name }),
            Err(why) => {
                self.controller.log().record(format!(
                    "ftp: failed login for {username:?} from {}: {why}",
                    self.peer
                ));
                Err(match why {
                    LoginError::Wrong => AuthenticationError::BadPassword,
                    other => AuthenticationError::new(other.to_string()),
                })
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
