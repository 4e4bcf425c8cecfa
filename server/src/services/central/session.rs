//! One central-control connection: one task with one `select!` loop
//! (requests in, bus events out, the idle clock, shutdown). Replies and
//! events wait in the client's [`Outbox`]; a client that lets it fill is
//! disconnected with `slow_consumer`, so a slow client never holds up the
//! engine or another client. Steps are encoded once for every subscriber
//! ([`Encoding::CentralLine`]). Buttons it holds are released when it goes.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use controller_core::protocol::central::{step_line, ErrorCode, Event, Request, PROTOCOL_VERSION};
use controller_core::view::DeviceStatus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Duration, Instant};
use tokio_util::codec::{Decoder, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;

use super::outbox::Outbox;
use super::{BYE_TIMEOUT, SLOW_CONSUMER_BYE_TIMEOUT};
use crate::config::CentralSettings;
use crate::security::auth::{LoginError, Role, User};
use crate::state::bus::{BusEvent, Encoding, Subscription};
use crate::state::{controller::Controller, held::HeldButtons, level_request};

/// Failed logins before the connection is closed.
const MAX_FAILED_LOGINS: u32 = 3;

static OK_PRESS: &[u8] = b"{\"type\":\"ok\",\"request\":\"press\"}\n";
static OK_RELEASE: &[u8] = b"{\"type\":\"ok\",\"request\":\"release\"}\n";

/// A reason to end the connection, sent as `bye`.
type Closing = (ErrorCode, String);

pub struct Session {
    controller: Controller,
    settings: Arc<CentralSettings>,
    peer: SocketAddr,
    user: Option<User>,
    failed_logins: u32,
    /// Buttons this client holds down; released when it goes away.
    held: HeldButtons,
    queue: Outbox,
}

/// What the bus brought a subscribed client.
enum Pushed {
    Step(Arc<BusEvent>),
    Device(DeviceStatus),
    Lagged,
}

impl Session {
    pub fn new(
        controller: Controller,
        settings: Arc<CentralSettings>,
        peer: SocketAddr,
    ) -> Session {
        Session {
            held: HeldButtons::new(controller.clone(), format!("central@{}", peer.ip())),
            controller,
            settings,
            peer,
            user: None,
            failed_logins: 0,
            queue: Outbox::default(),
        }
    }

    pub async fn run(mut self, stream: TcpStream, shutdown: CancellationToken) {
        let settings = self.settings.clone();
        let max_line = settings.max_message_bytes.max(64);
        let max_queue = settings.max_queue.max(1);
        let idle = Duration::from_secs(settings.idle_timeout_secs.max(1));
        let (mut reader, mut writer) = stream.into_split();
        let mut codec = LinesCodec::new_with_max_length(max_line);
        let mut inbuf = BytesMut::with_capacity(1024);
        let mut subscription: Option<Subscription> = None;
        let mut last_heard = Instant::now();
        let idle_timer = tokio::time::sleep(idle);
        tokio::pin!(idle_timer);
        let login_timeout = Duration::from_secs(settings.login_timeout_secs.max(1));
        let login_deadline = tokio::time::sleep(login_timeout);
        tokio::pin!(login_deadline);

        let identity = self.controller.identity();
        self.push_event(&Event::Hello {
            protocol: PROTOCOL_VERSION,
            controller: identity.name.clone(),
            serial: identity.serial.clone(),
            login_required: settings.require_login,
            max_message_bytes: max_line,
            idle_timeout_secs: idle.as_secs(),
        });

        let closing: Closing = loop {
            let mut closing = None;
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    closing = Some((ErrorCode::ShuttingDown, "the controller is stopping".into()));
                }
                w = self.queue.write_some(&mut writer), if !self.queue.is_empty() => {
                    if w.is_err() {
                        // The client is gone: nothing more can reach it.
                        self.queue = Outbox::default();
                        break (ErrorCode::ShuttingDown, String::new());
                    }
                }
                r = reader.read_buf(&mut inbuf) => match r {
                    Ok(0) | Err(_) => break (ErrorCode::ShuttingDown, String::new()),
                    Ok(_) => {
                        last_heard = Instant::now();
                        closing = self.read_lines(&mut codec, &mut inbuf, &mut subscription).await;
                    }
                },
                pushed = next_pushed(&mut subscription) => match pushed {
                    Pushed::Step(event) => {
                        if let Some(p) = event.step() {
                            self.queue.push_back(p.encoded(Encoding::CentralLine, |s| Bytes::from(step_line(s))));
                        }
                    }
                    Pushed::Device(d) => self.push_event(&Event::Device { id: d.id, kind: d.kind, address: d.address, online: d.online }),
                    Pushed::Lagged => closing = Some(slow_consumer()),
                },
                _ = &mut login_deadline, if self.role().is_none() => {
                    closing = Some((ErrorCode::LoginRequired, format!("no login within {} s", login_timeout.as_secs())));
                }
                _ = &mut idle_timer => {
                    if last_heard.elapsed() >= idle {
                        closing = Some((ErrorCode::IdleTimeout, format!("nothing received for {} s; send ping more often", idle.as_secs())));
                    } else {
                        idle_timer.as_mut().reset(last_heard + idle);
                    }
                }
            }
            if closing.is_none() && self.queue.over(max_queue) {
                closing = Some(slow_consumer());
            }
            if let Some(c) = closing {
                break c;
            }
        };
        // What is still owed to the client: the rest of a half-written line
        // and, unless it is too slow to read them, the queued lines (a
        // client may send its requests and half-close at once). Then the
        // reason, if there is one.
        let mut owed = self.queue.drain_owed(closing.0 != ErrorCode::SlowConsumer);
        if !closing.1.is_empty() {
            tracing::info!("central: closing {}: {}", self.peer, closing.1);
            owed.push(Bytes::from(
                Event::Bye {
                    code: closing.0,
                    message: closing.1,
                }
                .encode(),
            ));
        }
        // A slow consumer's socket is full by definition: it gets longer to
        // read the end of its line and the `bye` (its buttons are released
        // at once below, not after this wait).
        let deadline = if closing.0 == ErrorCode::SlowConsumer {
            SLOW_CONSUMER_BYE_TIMEOUT
        } else {
            BYE_TIMEOUT
        };
        self.held.release_all();
        let _ = tokio::time::timeout(deadline, async {
            for line in owed {
                writer.write_all(&line).await?;
            }
            writer.shutdown().await
        })
        .await;
    }

    fn push_event(&mut self, event: &Event) {
        self.queue.push_back(Bytes::from(event.encode()));
    }

    fn error(&mut self, code: ErrorCode, message: impl Into<String>) {
        self.push_event(&Event::Error {
            code,
            message: message.into(),
        });
    }

    /// Handles every complete line in `inbuf`.
    async fn read_lines(
        &mut self,
        codec: &mut LinesCodec,
        inbuf: &mut BytesMut,
        subscription: &mut Option<Subscription>,
    ) -> Option<Closing> {
        loop {
            match codec.decode(inbuf) {
                Ok(Some(line)) => {
                    if let Some(c) = self.handle(&line, subscription).await {
                        return Some(c);
                    }
                }
                Ok(None) => return None,
                Err(LinesCodecError::MaxLineLengthExceeded) => self.error(
                    ErrorCode::TooLarge,
                    format!(
                        "a line may be at most {} bytes; it was discarded",
                        codec.max_length()
                    ),
                ),
                Err(LinesCodecError::Io(_)) => {
                    self.error(ErrorCode::Malformed, "a line must be UTF-8 JSON")
                }
            }
        }
    }

    fn role(&self) -> Option<Role> {
        match &self.user {
            Some(u) => Some(u.role),
            None if !self.settings.require_login => Some(Role::Operator),
            None => None,
        }
    }

    async fn handle(
        &mut self,
        line: &str,
        subscription: &mut Option<Subscription>,
    ) -> Option<Closing> {
        let request =
            match Request::decode(line.as_bytes(), self.settings.max_message_bytes.max(64)) {
                Ok(r) => r,
                Err(e) => {
                    self.error(e.code(), e.to_string());
                    return None;
                }
            };
        match request {
            Request::Hello { protocol, .. } => {
                if protocol == PROTOCOL_VERSION {
                    self.ok("hello", None);
                } else {
                    self.error(
                        ErrorCode::UnsupportedVersion,
                        format!("this controller speaks protocol version {PROTOCOL_VERSION}"),
                    );
                }
            }
            Request::Ping { seq } => self.push_event(&Event::Pong { seq }),
            Request::Login { user, password } => return self.login(user, password).await,
            _ if self.role().is_none() => self.error(
                ErrorCode::LoginRequired,
                "log in first: {\"type\":\"login\",\"user\":...,\"password\":...}",
            ),
            Request::Status => {
                let snapshot = self.controller.snapshot();
                self.push_event(&Event::Status {
                    subscribed: false,
                    snapshot,
                });
            }
            Request::Subscribe => {
                let (snapshot, bus) = self.controller.subscribe();
                *subscription = Some(bus);
                self.push_event(&Event::Status {
                    subscribed: true,
                    snapshot,
                });
            }
            Request::Layout => {
                let layout = super::room_layout(&self.controller, self.role());
                self.push_event(&Event::Layout { layout });
            }
            Request::Devices => {
                let devices = self.controller.status().devices();
                self.push_event(&Event::Devices { devices });
            }
            Request::Unsubscribe => {
                *subscription = None;
                self.ok("unsubscribe", None);
            }
            Request::SetLevel {
                level,
                value,
                muted,
            } => self.set_level(&level, value, muted),
            Request::Press { button } => self.operate(button, true),
            Request::Release { button } => self.operate(button, false),
        }
        None
    }

    fn ok(&mut self, request: &str, detail: Option<String>) {
        self.push_event(&Event::Ok {
            request: request.into(),
            detail,
        });
    }

    async fn login(&mut self, user: String, password: String) -> Option<Closing> {
        let verified = self
            .controller
            .verify_login("central", self.peer.ip(), user, password)
            .await;
        match verified {
            Ok(u) => {
                self.controller.log().record(format!(
                    "central: {} logged in from {} ({})",
                    u.name,
                    self.peer.ip(),
                    u.role
                ));
                self.held
                    .set_source(format!("central:{}@{}", u.name, self.peer.ip()));
                self.ok("login", Some(u.role.to_string()));
                self.user = Some(u);
                None
            }
            Err(LoginError::Busy) => {
                // Nothing was checked: not a failed login.
                self.error(ErrorCode::Busy, LoginError::Busy.to_string());
                None
            }
            Err(why) => {
                self.failed_logins += 1;
                self.controller.log().record(format!(
                    "central: failed login from {}: {why}",
                    self.peer.ip()
                ));
                if self.failed_logins >= MAX_FAILED_LOGINS {
                    return Some((
                        ErrorCode::WrongCredentials,
                        format!("{MAX_FAILED_LOGINS} failed logins"),
                    ));
                }
                self.error(ErrorCode::WrongCredentials, why.to_string());
                None
            }
        }
    }

    fn set_level(&mut self, level: &str, value: Option<f64>, muted: Option<bool>) {
        if self.role() < Some(Role::Operator) {
            return self.error(
                ErrorCode::Forbidden,
                "moving levels needs the operator role",
            );
        }
        let source = self.held.source().to_string();
        match level_request::set_by_user(&self.controller, level, value, muted, &source) {
            Ok(()) => self.ok("set_level", None),
            Err(why) => self.error(ErrorCode::UnknownLevel, why),
        }
    }

    fn operate(&mut self, button: String, press: bool) {
        if self.role() < Some(Role::Operator) {
            return self.error(
                ErrorCode::Forbidden,
                "pressing buttons needs the operator role",
            );
        }
        let (result, ok) = if press {
            (self.held.press(&button), OK_PRESS)
        } else {
            (self.held.release(&button), OK_RELEASE)
        };
        match result {
            Ok(()) => self.queue.push_back(Bytes::from_static(ok)),
            Err(e) => self.error(ErrorCode::UnknownButton, e.to_string()),
        }
    }
}

fn slow_consumer() -> Closing {
    (
        ErrorCode::SlowConsumer,
        "the client read too slowly and its queue filled up; reconnect and subscribe again".into(),
    )
}

/// The next bus event a subscribed client is sent (steps and devices going
/// online or offline); pending forever while it is not subscribed.
async fn next_pushed(subscription: &mut Option<Subscription>) -> Pushed {
    let Some(bus) = subscription else {
        return std::future::pending().await;
    };
    loop {
        match bus.recv().await {
            Ok(event) => match &*event {
                BusEvent::Step(_) => return Pushed::Step(event),
                BusEvent::Device(d) => return Pushed::Device(d.clone()),
                _ => continue,
            },
            Err(RecvError::Lagged(_)) => return Pushed::Lagged,
            Err(RecvError::Closed) => return std::future::pending().await,
        }
    }
}
