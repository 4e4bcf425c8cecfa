//! The Telnet console (23 on a LAN): a login prompt, then the commands in
//! [`commands`]. Works with `telnet` and PuTTY (character mode, echo,
//! backspace) and with `nc` (line mode). The allow-list and the connection
//! cap are checked at accept; an idle session is closed after
//! `telnet.idle_timeout_secs`; three failed logins close the connection.

pub mod commands;
pub mod terminal;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::accept::{require_admin, serve_connections, Gate, Refusals};
use super::{bind_tcp, Endpoint, Service, StartEnv, StartError, Started};
use crate::config::Settings;
use crate::security::auth::{hash_password, LoginError, User, UserStore};
use crate::state::controller::Controller;
use crate::storage::project_store::ProjectStore;
use commands::{Console, Reply};
use terminal::{encode_text, Event, Terminal};

const MAX_LOGIN_ATTEMPTS: usize = 3;

pub struct TelnetService;

impl Service for TelnetService {
    fn name(&self) -> &'static str {
        "telnet"
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.telnet.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        format!(
            "management console (login; status, project apply/rollback; idle sessions closed after {} s)",
            s.telnet.idle_timeout_secs.max(1)
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let controller = env.controller.clone();
            let s = controller.settings().telnet.clone();
            require_admin(&controller)?;
            let listener = bind_tcp("telnet", "telnet", SocketAddr::new(s.bind, s.port)).await?;
            let local = listener.local_addr()?;
            let gate = Gate::new(s.allow.clone(), s.max_connections);
            let refusals = Refusals {
                not_allowed: Bytes::from_static(b"This address is not on the console's allow-list.\r\n"),
                full: Bytes::from_static(b"Too many console sessions; try again later.\r\n"),
                address_full: Bytes::from_static(
                    b"Too many console sessions from this address; try again later.\r\n",
                ),
            };
            let shutdown = env.shutdown.clone();
            let store = env.store.clone();
            let task = serve_connections(listener, "telnet", gate, refusals, env.shutdown, move |stream, peer| {
                let mut session = Session {
                    stream,
                    peer,
                    term: Terminal::new(s.max_message_bytes),
                    pending: VecDeque::new(),
                    idle: Duration::from_secs(s.idle_timeout_secs.max(1)),
                    login_timeout: Duration::from_secs(s.login_timeout_secs.max(1)),
                    controller: controller.clone(),
                    settings_file: s.settings_file.clone(),
                };
                let store = store.clone();
                let shutdown = shutdown.clone();
                async move {
                    tokio::select! {
                        _ = shutdown.cancelled() => {
                            let _ = session.say("\nThe controller is stopping; goodbye.\n").await;
                        }
                        r = session.run(store) => {
                            if let Err(e) = r {
                                tracing::debug!("telnet session from {peer} ended: {e:#}");
                            }
                        }
                    }
                }
            });
            Ok(Started::listening(Endpoint::tcp(local), task.boxed()))
        }
        .boxed()
    }
}

/// Why a session ended early.
#[derive(Debug, thiserror::Error)]
enum Ended {
    #[error("the client closed the connection")]
    Closed,
    #[error("idle for too long")]
    Idle,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

struct Session {
    stream: TcpStream,
    peer: SocketAddr,
    term: Terminal,
    pending: VecDeque<Event>,
    idle: Duration,
    login_timeout: Duration,
    controller: Controller,
    settings_file: Option<std::path::PathBuf>,
}

impl Session {
    async fn say(&mut self, text: &str) -> Result<(), Ended> {
        self.stream.write_all(&encode_text(text)).await?;
        Ok(())
    }

    /// The next line typed, with the idle timeout.
    async fn line(&mut self) -> Result<String, Ended> {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(e) = self.pending.pop_front() {
                return match e {
                    Event::Line(l) => Ok(l),
                    Event::EndOfInput => Err(Ended::Closed),
                };
            }
            let n = match tokio::time::timeout(self.idle, self.stream.read(&mut buf)).await {
                Err(_) => {
                    let _ = self.say("\nIdle for too long; goodbye.\n").await;
                    return Err(Ended::Idle);
                }
                Ok(Ok(0)) => return Err(Ended::Closed),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(e.into()),
            };
            let events = self.term.feed(&buf[..n]);
            self.pending.extend(events);
            let out = self.term.take_output();
            if !out.is_empty() {
                self.stream.write_all(&out).await?;
            }
        }
    }

    async fn hidden_line(&mut self, prompt: &str) -> Result<String, Ended> {
        self.say(prompt).await?;
        self.term.set_hidden(true);
        let line = self.line().await;
        self.term.set_hidden(false);
        line
    }

    async fn run(&mut self, store: Arc<ProjectStore>) -> Result<(), Ended> {
        self.stream.write_all(&Terminal::greeting()).await?;
        let id = self.controller.identity().clone();
        self.say(&format!(
            "roomctl console: {} ({} {})\n",
            id.name, id.model, id.firmware
        ))
        .await?;
        let deadline = self.login_timeout;
        let Ok(login) = tokio::time::timeout(deadline, self.login()).await else {
            self.say(&format!(
                "\nNo login within {} s; goodbye.\n",
                deadline.as_secs()
            ))
            .await?;
            return Ok(());
        };
        let Some(user) = login? else {
            self.say("Too many failed logins; goodbye.\n").await?;
            return Ok(());
        };
        let source = format!("telnet:{}@{}", user.name, self.peer);
        self.controller
            .log()
            .record(format!("console login: {source}"));
        self.say(&format!(
            "Welcome, {} ({}). Type `help` for the commands.\n",
            user.name, user.role
        ))
        .await?;
        let mut console = Console {
            controller: self.controller.clone(),
            store,
            user,
            source,
        };
        loop {
            self.say("roomctl> ").await?;
            let line = self.line().await?;
            match console.execute(&line).await {
                Reply::Text(t) => self.say(&t).await?,
                Reply::Quit => {
                    self.say("Goodbye.\n").await?;
                    return Ok(());
                }
                Reply::Passwd => {
                    let text = self.passwd(&mut console).await?;
                    self.say(&text).await?;
                }
            }
        }
    }

    async fn login(&mut self) -> Result<Option<User>, Ended> {
        for _ in 0..MAX_LOGIN_ATTEMPTS {
            self.say("login: ").await?;
            let name = self.line().await?.trim().to_string();
            let password = self.hidden_line("Password: ").await?;
            let user = self
                .controller
                .verify_login("telnet", self.peer.ip(), name.clone(), password)
                .await;
            match user {
                Ok(u) => return Ok(Some(u)),
                Err(why) => {
                    self.controller.log().record(format!(
                        "console: failed login for {name:?} from {}: {why}",
                        self.peer
                    ));
                    let reply = match why {
                        LoginError::Wrong => "Login incorrect.\n".to_string(),
                        other => format!("Login incorrect: {other}.\n"),
                    };
                    self.say(&reply).await?;
                }
            }
        }
        Ok(None)
    }

    /// Changes the logged-in user's password in the settings file and in
    /// the running controller.
    async fn passwd(&mut self, console: &mut Console) -> Result<String, Ended> {
        let Some(file) = self.settings_file.clone() else {
            return Ok(
                "passwd is not available: this controller was started without a settings file\n"
                    .into(),
            );
        };
        let old = self.hidden_line("Current password: ").await?;
        let name = console.user.name.clone();
        let ok = self
            .controller
            .verify_login("telnet", self.peer.ip(), name.clone(), old)
            .await
            .is_ok();
        if !ok {
            return Ok("wrong password; nothing changed\n".into());
        }
        let first = self.hidden_line("New password: ").await?;
        let again = self.hidden_line("Again: ").await?;
        if first != again {
            return Ok("the two passwords differ; nothing changed\n".into());
        }
        let role = console.user.role;
        let controller = self.controller.clone();
        let result = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let hash = hash_password(&first)?;
            crate::config::users::set_user(&file, &name, role, &hash)?;
            let settings = crate::config::Settings::load(&file, None)?;
            controller.set_users(UserStore::new(settings.users));
            Ok(())
        })
        .await;
        Ok(match result {
            Ok(Ok(())) => {
                self.controller.log().record(format!(
                    "console: {} changed their password",
                    console.user.name
                ));
                "password changed\n".into()
            }
            Ok(Err(e)) => format!("not changed: {e:#}\n"),
            Err(e) => format!("not changed: {e}\n"),
        })
    }
}
