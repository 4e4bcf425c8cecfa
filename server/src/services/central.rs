//! Central control, TCP 5009 (`controller_core::protocol::central`): a
//! monitoring station reads the status, subscribes to changes and presses
//! buttons.
//!
//! One task per connection with one `select!` loop (requests in, steps and
//! device events out, the idle clock, shutdown). Replies and events wait in
//! a per-client [`Outbox`] of at most `max_queue` lines (and
//! [`MAX_QUEUED_BYTES`]), written with one
//! vectored write per wake-up; a client that lets it fill is disconnected
//! with `slow_consumer`, so a slow client never holds up the engine or
//! another client. Steps are encoded once for every subscriber
//! ([`Encoding::CentralLine`]). Logins use the one user store (argon2, off
//! the async threads); presses need the operator role.

use std::collections::{HashSet, VecDeque};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use controller_core::engine::Command;
use controller_core::protocol::central::{step_line, ErrorCode, Event, Request, PROTOCOL_VERSION};
use controller_core::view::ServiceState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, Semaphore};
use tokio::time::{Duration, Instant};
use tokio_util::codec::{Decoder, LinesCodec, LinesCodecError};
use tokio_util::task::TaskTracker;

use super::extension::{DeviceEvent, DeviceEvents};
use super::{bind_tcp, ServiceContext, Supervisor};
use crate::auth::{Role, User};
use crate::config::CentralSettings;
use crate::controller::{Controller, Encoding, Published};
use crate::services::accept::next_connection;

pub const NAME: &str = "central";
/// Failed logins before the connection is closed.
const MAX_FAILED_LOGINS: u32 = 3;
/// Bytes a client may have waiting, whatever the line count (a few big
/// snapshots count as much as many small replies).
pub const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;
/// How long a refused or closing client gets to read its `bye`.
const BYE_TIMEOUT: Duration = Duration::from_secs(1);

/// Binds and starts the service; returns the bound address.
pub async fn start(
    sup: &mut Supervisor,
    settings: &CentralSettings,
    devices: DeviceEvents,
) -> anyhow::Result<SocketAddr> {
    let ctx = sup.context();
    let listener = bind_tcp(NAME, NAME, SocketAddr::new(settings.bind, settings.port)).await?;
    let local = listener.local_addr()?;
    ctx.controller.services().register(
        NAME,
        "central control: a monitoring station reads status, subscribes to changes and presses buttons",
        format!("tcp {local}"),
        NAME,
        ServiceState::Listening,
    );
    let shared = Arc::new(Shared {
        settings: settings.clone(),
        devices,
        sessions: Arc::new(Semaphore::new(settings.max_connections)),
    });
    sup.spawn(NAME, accept_loop(ctx, listener, shared));
    Ok(local)
}

struct Shared {
    settings: CentralSettings,
    devices: DeviceEvents,
    sessions: Arc<Semaphore>,
}

async fn accept_loop(
    ctx: ServiceContext,
    listener: TcpListener,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let tracker = TaskTracker::new();
    while let Some((stream, peer)) = next_connection(&listener, NAME, &ctx.shutdown).await {
        let _ = stream.set_nodelay(true);
        if !shared.settings.allow.allows(peer.ip()) {
            tracker.spawn(refuse(
                stream,
                ErrorCode::NotAllowed,
                "this address is not on the central-control allow-list",
            ));
            continue;
        }
        let Ok(permit) = shared.sessions.clone().try_acquire_owned() else {
            tracker.spawn(refuse(
                stream,
                ErrorCode::TooManyConnections,
                "too many central-control clients are connected",
            ));
            continue;
        };
        let session = Session::new(ctx.controller.clone(), shared.clone(), peer);
        let shutdown = ctx.shutdown.clone();
        tracker.spawn(async move {
            let _permit = permit;
            session.run(stream, shutdown).await;
        });
    }
    tracker.close();
    tracker.wait().await;
    Ok(())
}

async fn refuse(mut stream: TcpStream, code: ErrorCode, message: &str) {
    let bye = Event::Bye {
        code,
        message: message.into(),
    }
    .encode();
    let _ = tokio::time::timeout(BYE_TIMEOUT, async {
        stream.write_all(&bye).await?;
        stream.shutdown().await
    })
    .await;
}

static OK_PRESS: &[u8] = b"{\"type\":\"ok\",\"request\":\"press\"}\n";
static OK_RELEASE: &[u8] = b"{\"type\":\"ok\",\"request\":\"release\"}\n";

/// A reason to end the connection, sent as `bye`.
type Closing = (ErrorCode, String);

struct Session {
    controller: Controller,
    shared: Arc<Shared>,
    peer: SocketAddr,
    user: Option<User>,
    failed_logins: u32,
    source: String,
    /// Buttons this client holds down; released when it goes away.
    held: HashSet<String>,
    queue: Outbox,
}

/// The lines waiting to be written to one client, and their total size.
#[derive(Default)]
struct Outbox {
    lines: VecDeque<Bytes>,
    bytes: usize,
}

impl Outbox {
    fn push_back(&mut self, line: Bytes) {
        self.bytes += line.len();
        self.lines.push_back(line);
    }

    fn pop_front(&mut self) {
        if let Some(line) = self.lines.pop_front() {
            self.bytes -= line.len();
        }
    }

    fn front(&self) -> Option<&Bytes> {
        self.lines.front()
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn over(&self, max_lines: usize) -> bool {
        self.lines.len() > max_lines || self.bytes > MAX_QUEUED_BYTES
    }
}

struct Subscription {
    steps: broadcast::Receiver<Arc<Published>>,
    devices: broadcast::Receiver<DeviceEvent>,
}

enum Pushed {
    Step(Arc<Published>),
    Device(DeviceEvent),
    Lagged,
}

impl Session {
    fn new(controller: Controller, shared: Arc<Shared>, peer: SocketAddr) -> Session {
        Session {
            controller,
            shared,
            peer,
            user: None,
            failed_logins: 0,
            source: format!("central@{}", peer.ip()),
            held: HashSet::new(),
            queue: Outbox::default(),
        }
    }

    async fn run(mut self, stream: TcpStream, shutdown: tokio_util::sync::CancellationToken) {
        let shared = self.shared.clone();
        let settings = &shared.settings;
        let max_line = settings.max_message_bytes.max(64);
        let max_queue = settings.max_queue.max(1);
        let idle = Duration::from_secs(settings.idle_timeout_secs.max(1));
        let (mut reader, mut writer) = stream.into_split();
        let mut codec = LinesCodec::new_with_max_length(max_line);
        let mut inbuf = BytesMut::with_capacity(1024);
        let mut subscription: Option<Subscription> = None;
        let mut offset = 0usize;
        let mut last_heard = Instant::now();
        let idle_timer = tokio::time::sleep(idle);
        tokio::pin!(idle_timer);

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
                w = write_some(&mut writer, &mut self.queue, &mut offset), if !self.queue.is_empty() => {
                    if w.is_err() {
                        // The client is gone: nothing more can reach it.
                        self.queue = Outbox::default();
                        offset = 0;
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
                    Pushed::Step(p) => {
                        self.queue.push_back(p.encoded(Encoding::CentralLine, |s| Bytes::from(step_line(s))));
                    }
                    Pushed::Device(e) => self.push_event(&Event::Device { id: e.id, kind: e.kind, address: e.address, online: e.online }),
                    Pushed::Lagged => closing = Some(slow_consumer()),
                },
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
        let mut owed: Vec<Bytes> = Vec::new();
        if let Some(front) = self.queue.front() {
            owed.push(front.slice(offset..));
            self.queue.pop_front();
        }
        if closing.0 != ErrorCode::SlowConsumer {
            while let Some(line) = self.queue.front() {
                owed.push(line.clone());
                self.queue.pop_front();
            }
        }
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
        let _ = tokio::time::timeout(BYE_TIMEOUT, async {
            for line in owed {
                writer.write_all(&line).await?;
            }
            writer.shutdown().await
        })
        .await;
        for button in self.held.drain() {
            let _ = self.controller.execute(Command::Release {
                button,
                source: self.source.clone(),
            });
        }
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
            None if !self.shared.settings.require_login => Some(Role::Operator),
            None => None,
        }
    }

    async fn handle(
        &mut self,
        line: &str,
        subscription: &mut Option<Subscription>,
    ) -> Option<Closing> {
        let request = match Request::decode(
            line.as_bytes(),
            self.shared.settings.max_message_bytes.max(64),
        ) {
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
                let (snapshot, steps) = self.controller.subscribe();
                *subscription = Some(Subscription {
                    steps,
                    devices: self.shared.devices.subscribe(),
                });
                self.push_event(&Event::Status {
                    subscribed: true,
                    snapshot,
                });
            }
            Request::Unsubscribe => {
                *subscription = None;
                self.ok("unsubscribe", None);
            }
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
        let users = self.controller.users();
        // argon2 takes tens of milliseconds of CPU: not on the async threads.
        let verified = tokio::task::spawn_blocking(move || users.verify(&user, &password))
            .await
            .ok()
            .flatten();
        match verified {
            Some(u) => {
                self.controller.log().record(format!(
                    "central: {} logged in from {} ({})",
                    u.name,
                    self.peer.ip(),
                    u.role
                ));
                self.source = format!("central:{}@{}", u.name, self.peer.ip());
                self.ok("login", Some(u.role.to_string()));
                self.user = Some(u);
                None
            }
            None => {
                self.failed_logins += 1;
                self.controller
                    .log()
                    .record(format!("central: failed login from {}", self.peer.ip()));
                if self.failed_logins >= MAX_FAILED_LOGINS {
                    return Some((
                        ErrorCode::WrongCredentials,
                        format!("{MAX_FAILED_LOGINS} failed logins"),
                    ));
                }
                self.error(ErrorCode::WrongCredentials, "wrong user name or password");
                None
            }
        }
    }

    fn operate(&mut self, button: String, press: bool) {
        if self.role() < Some(Role::Operator) {
            return self.error(
                ErrorCode::Forbidden,
                "pressing buttons needs the operator role",
            );
        }
        let command = if press {
            Command::Press {
                button: button.clone(),
                source: self.source.clone(),
            }
        } else {
            Command::Release {
                button: button.clone(),
                source: self.source.clone(),
            }
        };
        match self.controller.execute(command) {
            Ok(_) => {
                if press {
                    self.held.insert(button);
                    self.queue.push_back(Bytes::from_static(OK_PRESS));
                } else {
                    self.held.remove(&button);
                    self.queue.push_back(Bytes::from_static(OK_RELEASE));
                }
            }
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

async fn next_pushed(subscription: &mut Option<Subscription>) -> Pushed {
    let Some(s) = subscription else {
        return std::future::pending().await;
    };
    tokio::select! {
        step = s.steps.recv() => match step {
            Ok(p) => Pushed::Step(p),
            Err(_) => Pushed::Lagged,
        },
        event = s.devices.recv() => match event {
            Ok(e) => Pushed::Device(e),
            Err(broadcast::error::RecvError::Lagged(_)) => Pushed::Lagged,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        },
    }
}

/// Writes as much of the queue as the socket takes in one vectored write.
async fn write_some(
    writer: &mut OwnedWriteHalf,
    queue: &mut Outbox,
    offset: &mut usize,
) -> std::io::Result<()> {
    let mut slices = [IoSlice::new(&[]); 64];
    let mut count = 0;
    for (i, b) in queue.lines.iter().take(slices.len()).enumerate() {
        slices[i] = IoSlice::new(if i == 0 { &b[*offset..] } else { &b[..] });
        count += 1;
    }
    let mut written = writer.write_vectored(&slices[..count]).await?;
    if written == 0 {
        return Err(std::io::ErrorKind::WriteZero.into());
    }
    while written > 0 {
        let Some(front) = queue.front() else { break };
        let left = front.len() - *offset;
        if written >= left {
            written -= left;
            queue.pop_front();
            *offset = 0;
        } else {
            *offset += written;
            written = 0;
        }
    }
    Ok(())
}
