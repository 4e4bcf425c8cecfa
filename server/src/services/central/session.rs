//! One central-control connection: one task with one `select!` loop
//! (requests in, bus events out, the idle clock, shutdown). Replies and
//! events wait in the client's [`Outbox`]; a client that lets it fill is
//! disconnected with `slow_consumer`, so a slow client never holds up the
//! engine or another client. Steps are encoded once for every subscriber
//! ([`Encoding::CentralLine`]). Buttons it holds are released when it goes.

mod requests;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use controller_core::protocol::central::{step_line, ErrorCode, Event, PROTOCOL_VERSION};
use controller_core::view::DeviceStatus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Duration, Instant};
use tokio_util::codec::LinesCodec;
use tokio_util::sync::CancellationToken;

use super::outbox::Outbox;
use super::{BYE_TIMEOUT, SLOW_CONSUMER_BYE_TIMEOUT};
use crate::config::CentralSettings;
use crate::security::auth::User;
use crate::state::bus::{BusEvent, Encoding, Subscription};
use crate::state::{controller::Controller, held::HeldButtons};

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

/// The connection's limits, from the settings (each at least its floor).
struct Limits {
    max_line: usize,
    max_queue: usize,
    idle: Duration,
    login: Duration,
}

impl Limits {
    fn of(settings: &CentralSettings) -> Limits {
        Limits {
            max_line: settings.max_message_bytes.max(64),
            max_queue: settings.max_queue.max(1),
            idle: Duration::from_secs(settings.idle_timeout_secs.max(1)),
            login: Duration::from_secs(settings.login_timeout_secs.max(1)),
        }
    }
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
        let limits = Limits::of(&self.settings);
        let (mut reader, mut writer) = stream.into_split();
        self.say_hello(&limits);
        let closing = self
            .serve(&mut reader, &mut writer, &limits, &shutdown)
            .await;
        self.say_goodbye(writer, closing).await;
    }

    fn say_hello(&mut self, limits: &Limits) {
        let identity = self.controller.identity();
        self.push_event(&Event::Hello {
            protocol: PROTOCOL_VERSION,
            controller: identity.name.clone(),
            serial: identity.serial.clone(),
            login_required: self.settings.require_login,
            max_message_bytes: limits.max_line,
            idle_timeout_secs: limits.idle.as_secs(),
        });
    }

    /// The connection's loop, until a reason to end it.
    async fn serve(
        &mut self,
        reader: &mut OwnedReadHalf,
        writer: &mut OwnedWriteHalf,
        limits: &Limits,
        shutdown: &CancellationToken,
    ) -> Closing {
        let mut codec = LinesCodec::new_with_max_length(limits.max_line);
        let mut inbuf = BytesMut::with_capacity(1024);
        let mut subscription: Option<Subscription> = None;
        let mut last_heard = Instant::now();
        let idle_timer = tokio::time::sleep(limits.idle);
        tokio::pin!(idle_timer);
        let login_deadline = tokio::time::sleep(limits.login);
        tokio::pin!(login_deadline);
        loop {
            let mut closing = None;
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    closing = Some((ErrorCode::ShuttingDown, "the controller is stopping".into()));
                }
                w = self.queue.write_some(writer), if !self.queue.is_empty() => {
                    if w.is_err() {
                        // The client is gone: nothing more can reach it.
                        self.queue = Outbox::default();
                        return (ErrorCode::ShuttingDown, String::new());
                    }
                }
                r = reader.read_buf(&mut inbuf) => match r {
                    Ok(0) | Err(_) => return (ErrorCode::ShuttingDown, String::new()),
                    Ok(_) => {
                        last_heard = Instant::now();
                        closing = self.read_lines(&mut codec, &mut inbuf, &mut subscription).await;
                    }
                },
                pushed = next_pushed(&mut subscription) => closing = self.push(pushed),
                _ = &mut login_deadline, if self.role().is_none() => {
                    closing = Some((ErrorCode::LoginRequired, format!("no login within {} s", limits.login.as_secs())));
                }
                _ = &mut idle_timer => {
                    if last_heard.elapsed() >= limits.idle {
                        closing = Some((ErrorCode::IdleTimeout, format!("nothing received for {} s; send ping more often", limits.idle.as_secs())));
                    } else {
                        idle_timer.as_mut().reset(last_heard + limits.idle);
                    }
                }
            }
            if closing.is_none() && self.queue.over(limits.max_queue) {
                closing = Some(slow_consumer());
            }
            if let Some(c) = closing {
                return c;
            }
        }
    }

    /// Queues what the bus brought; a client too slow for the bus goes.
    fn push(&mut self, pushed: Pushed) -> Option<Closing> {
        match pushed {
            Pushed::Step(event) => {
                if let Some(p) = event.step() {
                    self.queue
                        .push_back(p.encoded(Encoding::CentralLine, |s| Bytes::from(step_line(s))));
                }
            }
            Pushed::Device(d) => self.push_event(&Event::Device {
                id: d.id,
                kind: d.kind,
                address: d.address,
                online: d.online,
            }),
            Pushed::Lagged => return Some(slow_consumer()),
        }
        None
    }

    /// Releases the client's buttons and writes what is still owed to it:
    /// the rest of a half-written line and, unless it is too slow to read
    /// them, the queued lines (a client may send its requests and
    /// half-close at once). Then the reason, if there is one.
    async fn say_goodbye(mut self, mut writer: OwnedWriteHalf, closing: Closing) {
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
