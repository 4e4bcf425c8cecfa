//! The client side of central control (TCP 5009) as a sans-IO state
//! machine, beside the panel's [`crate::link`]: what to say after `hello`
//! (login, then for a watcher `layout`, `devices`, `subscribe`), which reply
//! answers which request, when a line is late or the link is silent, when
//! to ping, when a gap in revisions needs a new snapshot (resync) or a new
//! project a new layout, and how long to wait before reconnecting
//! (doubling backoff). See "Central control" in `docs/protocols.md`.
//!
//! No sockets and no clocks: the glue (the station's watcher, `roomctl
//! press`, the tests' client) feeds in what happened with the time in
//! milliseconds ([`CentralLink::connected`], [`CentralLink::received`],
//! [`CentralLink::malformed`], [`CentralLink::closed`],
//! [`CentralLink::tick`]), performs the [`Output`]s that come back, and calls
//! [`CentralLink::tick`] again at [`CentralLink::next_deadline`].

use std::collections::VecDeque;

use crate::engine::{Snapshot, Step, StepOutcome};
use crate::protocol::central::{DecodeError, ErrorCode, Event, Request};
use crate::view::{DeviceStatus, RoomLayout};

/// Time allowed for each handshake reply.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 5_000;
/// Time allowed for the answer to `login`: a password check is slow on
/// purpose (argon2), and slower on a busy controller.
pub const LOGIN_TIMEOUT_MS: u64 = 20_000;
/// A watcher pings this often: it keeps the controller's idle timer (60 s
/// by default) from closing the connection and shows that it is alive.
pub const PING_EVERY_MS: u64 = 15_000;
/// Nothing at all from the controller for this long: the link is dead.
pub const SILENCE_MS: u64 = 45_000;
/// Malformed lines tolerated in one session (none during the handshake).
pub const MAX_MALFORMED: u32 = 8;
/// Requests awaiting a reply; more are refused as busy.
pub const MAX_PENDING: usize = 256;
/// The longest line a client reads unless told otherwise (the station's
/// `max_line_bytes` default): a large project's layout fits many times.
pub const MAX_LINE_BYTES: usize = 4 << 20;
/// How much of a bad line an error quotes.
const QUOTE_CHARS: usize = 60;

/// What the client does once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Send requests and read their replies (`roomctl press`, tests): ready
    /// after `hello` (and the login, if credentials were given); events
    /// that answer no request come out as [`Output::Event`].
    Commands,
    /// Watch the room (the station): log in, read the layout and devices,
    /// subscribe, then follow steps and device events, resynchronising on
    /// a gap and pinging on a timer. A room that asks for a login without
    /// credentials given ends the session ([`End::LoginNeeded`]).
    Watch,
}

/// A user and password to log in with when the controller asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
}

/// What the controller said in its `hello`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub controller: String,
    pub serial: String,
    pub login_required: bool,
}

/// What a watcher holds once subscribed.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    /// `None` from a controller older than `layout`.
    pub layout: Option<RoomLayout>,
    pub devices: Vec<DeviceStatus>,
    pub snapshot: Snapshot,
}

/// A request's refusal (`error`), or the controller closing (`bye`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `None`: the session ended before the reply came.
    pub code: Option<ErrorCode>,
    pub message: String,
}

impl Refusal {
    fn from_wire(code: ErrorCode, message: String) -> Refusal {
        Refusal {
            code: Some(code),
            message,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "{code:?}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a session ended. The glue closes the connection; for a watcher,
/// [`CentralLink::backoff`] says how long to wait before the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Connection lost or a reply late: worth retrying.
    Lost(String),
    /// The controller said `bye` (at `hello`: it refused the connection).
    Bye(Refusal),
    /// The controller asks for a login and no credentials were given.
    LoginNeeded,
    /// The controller refused the login.
    LoginRefused(Refusal),
    /// The controller broke the protocol (a line too long, not protocol
    /// JSON, an unexpected reply): what it sent.
    ProtocolError(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Lost(why) => f.write_str(why),
            End::Bye(r) => write!(f, "the controller closed the connection: {r}"),
            End::LoginNeeded => f.write_str("the controller asks for a login"),
            End::LoginRefused(r) => write!(f, "login refused: {r}"),
            End::ProtocolError(what) => write!(f, "the controller sent {what}"),
        }
    }
}

/// What the glue must do or know, in order, after an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Output<T> {
    /// Send this request.
    Send(Request),
    /// The controller said hello (a watcher may check its serial and end
    /// the session with [`CentralLink::end`]).
    Hello(Hello),
    /// The controller accepted the login.
    LoggedIn,
    /// Ready for requests; a watcher's layout, devices and snapshot.
    Ready(Option<Box<Watched>>),
    /// A step as it came, and what it did to [`CentralLink::snapshot`]
    /// (applied; stale: ignored; a gap: a new snapshot has been asked for,
    /// [`Output::Resynced`] follows).
    Step(Step, StepOutcome),
    /// A gap was detected and a new snapshot replaced the held one.
    Resynced(Snapshot),
    /// A step changed the running project (name, revision): a new layout
    /// has been asked for ([`Output::Layout`] follows).
    ProjectChanged {
        before: (String, u32),
        after: (String, u32),
    },
    /// The layout after a project change (`None`: the controller has none).
    Layout(Option<RoomLayout>),
    /// A device went online or offline.
    Device {
        id: String,
        kind: String,
        address: String,
        online: bool,
    },
    /// The reply to the request sent with this tag.
    Reply(T, Result<Event, Refusal>),
    /// An event that answers no request (a [`Plan::Commands`] client's
    /// subscription).
    Event(Event),
    /// The session is over: close the connection.
    Ended(End),
}

/// The handshake step awaiting its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not connected.
    Down,
    Hello,
    Login,
    Layout,
    Devices,
    Subscribe,
    Live,
}

/// A reply the session is waiting for, in request order.
#[derive(Debug)]
enum Pending<T> {
    Pong,
    Layout,
    Resubscribe,
    User(T),
}

/// One client's central-control link: one session at a time, reconnects
/// paced by [`CentralLink::backoff`]. `T` tags the glue's own requests
/// (a reply channel, or `()`).
#[derive(Debug)]
pub struct CentralLink<T> {
    login: Option<Login>,
    plan: Plan,
    phase: Phase,
    /// The handshake reply or silence deadline.
    deadline: u64,
    next_ping: u64,
    malformed: u32,
    pending: VecDeque<Pending<T>>,
    held: Snapshot,
    layout: Option<RoomLayout>,
    devices: Vec<DeviceStatus>,
    first_backoff_ms: u64,
    max_backoff_ms: u64,
    backoff_ms: u64,
}

impl<T> CentralLink<T> {
    /// A link that logs in with `login` when asked and follows `plan`;
    /// reconnects wait from `first_backoff_ms`, doubling up to
    /// `max_backoff_ms`.
    pub fn new(
        login: Option<Login>,
        plan: Plan,
        first_backoff_ms: u64,
        max_backoff_ms: u64,
    ) -> CentralLink<T> {
        let first = first_backoff_ms.max(1);
        CentralLink {
            login,
            plan,
            phase: Phase::Down,
            deadline: 0,
            next_ping: 0,
            malformed: 0,
            pending: VecDeque::new(),
            held: Snapshot::default(),
            layout: None,
            devices: Vec::new(),
            first_backoff_ms: first,
            max_backoff_ms: max_backoff_ms.max(first),
            backoff_ms: first,
        }
    }

    /// Whether the handshake is over (requests may be sent).
    pub fn is_live(&self) -> bool {
        self.phase == Phase::Live
    }

    /// The state held by a watcher: the subscribe snapshot plus the steps since.
    pub fn snapshot(&self) -> &Snapshot {
        &self.held
    }

    /// A connection opened: the controller speaks first (`hello`).
    pub fn connected(&mut self, now: u64) {
        self.phase = Phase::Hello;
        self.deadline = now.saturating_add(HANDSHAKE_TIMEOUT_MS);
        self.malformed = 0;
        self.pending.clear();
    }

    /// When [`CentralLink::tick`] must be called next (`None`: not connected).
    pub fn next_deadline(&self) -> Option<u64> {
        match self.phase {
            Phase::Down => None,
            Phase::Live if self.plan == Plan::Watch => Some(self.deadline.min(self.next_ping)),
            Phase::Live => None,
            _ => Some(self.deadline),
        }
    }

    /// Time passed: a late handshake reply or a silent link ends the
    /// session; a watcher's ping falls due.
    pub fn tick(&mut self, now: u64) -> Vec<Output<T>> {
        match self.phase {
            Phase::Down => Vec::new(),
            Phase::Live if self.plan == Plan::Commands => Vec::new(),
            Phase::Live if now >= self.deadline => self.end(End::Lost(format!(
                "nothing heard for {} s",
                SILENCE_MS / 1000
            ))),
            Phase::Live if now >= self.next_ping => {
                self.next_ping = now.saturating_add(PING_EVERY_MS);
                self.pending.push_back(Pending::Pong);
                vec![Output::Send(Request::Ping { seq: 0 })]
            }
            Phase::Live => Vec::new(),
            _ if now >= self.deadline => {
                self.end(End::Lost("no answer during the handshake".into()))
            }
            _ => Vec::new(),
        }
    }

    /// The connection closed (or broke: `why`).
    pub fn closed(&mut self, why: &str) -> Vec<Output<T>> {
        if self.phase == Phase::Down {
            return Vec::new();
        }
        self.end(End::Lost(why.to_string()))
    }

    /// A line too long for the glue's decoder.
    pub fn too_long(&mut self) -> Vec<Output<T>> {
        if self.phase == Phase::Down {
            return Vec::new();
        }
        self.end(End::ProtocolError(
            "a line longer than max_line_bytes".into(),
        ))
    }

    /// One line as read from the controller (its newline optional): a
    /// protocol event goes to [`CentralLink::received`], anything else to
    /// [`CentralLink::malformed`], quoted in the error if it ends the
    /// session. The glue bounds the line's length (its decoder reports
    /// [`CentralLink::too_long`]).
    pub fn line(&mut self, now: u64, line: &[u8]) -> Vec<Output<T>> {
        match Event::decode(line) {
            Ok(event) => self.received(now, event),
            Err(DecodeError::Malformed(why)) => self.not_protocol(now, Some((line, why))),
            Err(e) => self.not_protocol(now, Some((line, e.to_string()))),
        }
    }

    /// A line that is not protocol JSON: the end during the handshake, else
    /// tolerated up to [`MAX_MALFORMED`] times.
    pub fn malformed(&mut self, now: u64) -> Vec<Output<T>> {
        self.not_protocol(now, None)
    }

    fn not_protocol(&mut self, now: u64, bad: Option<(&[u8], String)>) -> Vec<Output<T>> {
        let what = |lines: &str| match &bad {
            Some((line, why)) => format!("{lines} ({}): {}", shorten(why), quote(line)),
            None => lines.to_string(),
        };
        match self.phase {
            Phase::Down => Vec::new(),
            Phase::Live => {
                self.heard(now);
                self.malformed += 1;
                if self.malformed > MAX_MALFORMED {
                    let what = what("lines that are not protocol JSON");
                    self.end(End::ProtocolError(what))
                } else {
                    Vec::new()
                }
            }
            _ => {
                let what = what("a line that is not protocol JSON");
                self.end(End::ProtocolError(what))
            }
        }
    }

    /// Ends the session (the glue's own reason: a duplicate room, shutdown).
    /// Requests awaiting replies are answered with the reason.
    pub fn end(&mut self, end: End) -> Vec<Output<T>> {
        let live = self.phase == Phase::Live;
        self.phase = Phase::Down;
        // A session that got as far as live starts the backoff over,
        // unless the controller broke the protocol.
        if live && !matches!(end, End::ProtocolError(_)) {
            self.backoff_ms = self.first_backoff_ms;
        }
        let why = match &end {
            End::Bye(r) | End::LoginRefused(r) => r.clone(),
            End::Lost(why) | End::ProtocolError(why) => Refusal {
                code: None,
                message: why.clone(),
            },
            End::LoginNeeded => {
                Refusal::from_wire(ErrorCode::LoginRequired, "login required".into())
            }
        };
        let mut out: Vec<Output<T>> = std::mem::take(&mut self.pending)
            .into_iter()
            .filter_map(|p| match p {
                Pending::User(tag) => Some(Output::Reply(tag, Err(why.clone()))),
                _ => None,
            })
            .collect();
        out.push(Output::Ended(end));
        out
    }

    /// How long to wait before the next connection, after a session ended:
    /// the first wait after a session that got as far as live, doubling
    /// after each one that did not, up to the maximum.
    pub fn backoff(&mut self) -> u64 {
        let wait = self.backoff_ms;
        self.backoff_ms = (self.backoff_ms.saturating_mul(2)).min(self.max_backoff_ms);
        wait
    }

    /// Sends the glue's `request`, its reply to come back as
    /// [`Output::Reply`] with `tag`. Refused (the tag back, and why) while
    /// not live or with [`MAX_PENDING`] replies awaited.
    pub fn request(&mut self, request: Request, tag: T) -> Result<Output<T>, (T, String)> {
        if self.phase != Phase::Live {
            return Err((tag, "not connected".into()));
        }
        if self.pending.len() >= MAX_PENDING {
            return Err((tag, "the room is busy; try again".into()));
        }
        self.pending.push_back(Pending::User(tag));
        Ok(Output::Send(request))
    }

    fn heard(&mut self, now: u64) {
        if self.phase == Phase::Live {
            self.deadline = now.saturating_add(SILENCE_MS);
        }
    }

    /// One event from the controller.
    pub fn received(&mut self, now: u64, event: Event) -> Vec<Output<T>> {
        match self.phase {
            Phase::Down => Vec::new(),
            Phase::Live => {
                self.heard(now);
                self.follow(event)
            }
            _ => self.handshake(now, event),
        }
    }

    fn step_to(&mut self, now: u64, phase: Phase, request: Request) -> Output<T> {
        self.phase = phase;
        let limit = if phase == Phase::Login {
            LOGIN_TIMEOUT_MS
        } else {
            HANDSHAKE_TIMEOUT_MS
        };
        self.deadline = now.saturating_add(limit);
        Output::Send(request)
    }

    fn go_live(&mut self, now: u64) -> Output<T> {
        self.phase = Phase::Live;
        self.deadline = now.saturating_add(SILENCE_MS);
        self.next_ping = now.saturating_add(PING_EVERY_MS);
        match self.plan {
            Plan::Commands => Output::Ready(None),
            Plan::Watch => Output::Ready(Some(Box::new(Watched {
                layout: self.layout.take(),
                devices: std::mem::take(&mut self.devices),
                snapshot: self.held.clone(),
            }))),
        }
    }

    /// After `hello` or the login: a watcher asks for the layout, a
    /// command client is ready.
    fn after_login(&mut self, now: u64) -> Output<T> {
        match self.plan {
            Plan::Commands => self.go_live(now),
            Plan::Watch => self.step_to(now, Phase::Layout, Request::Layout),
        }
    }

    fn unexpected(&mut self, what: &str) -> Vec<Output<T>> {
        self.end(End::ProtocolError(format!("an unexpected reply to {what}")))
    }

    fn handshake(&mut self, now: u64, event: Event) -> Vec<Output<T>> {
        match (self.phase, event) {
            (Phase::Hello, Event::Bye { code, message }) => {
                self.end(End::Bye(Refusal::from_wire(code, message)))
            }
            (
                Phase::Hello,
                Event::Hello {
                    controller,
                    serial,
                    login_required,
                    ..
                },
            ) => {
                let hello = Output::Hello(Hello {
                    controller,
                    serial,
                    login_required,
                });
                let next = match (&self.login, login_required) {
                    (Some(l), true) => self.step_to(
                        now,
                        Phase::Login,
                        Request::Login {
                            user: l.user.clone(),
                            password: l.password.clone(),
                        },
                    ),
                    (None, true) if self.plan == Plan::Watch => {
                        let mut out = vec![hello];
                        out.extend(self.end(End::LoginNeeded));
                        return out;
                    }
                    _ => self.after_login(now),
                };
                vec![hello, next]
            }
            (Phase::Hello, _) => self.end(End::ProtocolError("no hello".into())),
            (Phase::Login, Event::Ok { .. }) => vec![Output::LoggedIn, self.after_login(now)],
            (Phase::Login, Event::Error { code, message } | Event::Bye { code, message }) => {
                self.end(End::LoginRefused(Refusal::from_wire(code, message)))
            }
            (Phase::Login, _) => self.unexpected("login"),
            (Phase::Layout, Event::Layout { layout }) => {
                self.layout = Some(layout);
                vec![self.step_to(now, Phase::Devices, Request::Devices)]
            }
            // A controller older than `layout` answers with an error.
            (Phase::Layout, Event::Error { .. }) => {
                self.layout = None;
                vec![self.step_to(now, Phase::Devices, Request::Devices)]
            }
            (Phase::Layout, _) => self.unexpected("layout"),
            (Phase::Devices, Event::Devices { devices }) => {
                self.devices = devices;
                vec![self.step_to(now, Phase::Subscribe, Request::Subscribe)]
            }
            (Phase::Devices, Event::Error { .. }) => {
                self.devices = Vec::new();
                vec![self.step_to(now, Phase::Subscribe, Request::Subscribe)]
            }
            (Phase::Devices, _) => self.unexpected("devices"),
            (Phase::Subscribe, Event::Status { snapshot, .. }) => {
                self.held = snapshot;
                vec![self.go_live(now)]
            }
            (Phase::Subscribe, _) => self.unexpected("subscribe"),
            (Phase::Down | Phase::Live, _) => Vec::new(),
        }
    }

    fn follow(&mut self, event: Event) -> Vec<Output<T>> {
        match event {
            Event::Step { step } if self.plan == Plan::Watch => self.watch_step(step),
            Event::Device {
                id,
                kind,
                address,
                online,
            } if self.plan == Plan::Watch => vec![Output::Device {
                id,
                kind,
                address,
                online,
            }],
            e @ (Event::Step { .. } | Event::Device { .. } | Event::Hello { .. }) => {
                vec![Output::Event(e)]
            }
            Event::Bye { code, message } => self.end(End::Bye(Refusal::from_wire(code, message))),
            reply => match self.pending.pop_front() {
                Some(Pending::User(tag)) => vec![Output::Reply(
                    tag,
                    match reply {
                        Event::Error { code, message } => Err(Refusal::from_wire(code, message)),
                        other => Ok(other),
                    },
                )],
                Some(Pending::Layout) => vec![Output::Layout(match reply {
                    Event::Layout { layout } => Some(layout),
                    _ => None,
                })],
                Some(Pending::Resubscribe) => match reply {
                    Event::Status { snapshot, .. } => {
                        self.held = snapshot.clone();
                        vec![Output::Resynced(snapshot)]
                    }
                    _ => Vec::new(),
                },
                Some(Pending::Pong) => Vec::new(),
                None => vec![Output::Event(reply)],
            },
        }
    }

    fn watch_step(&mut self, step: Step) -> Vec<Output<T>> {
        let before = (self.held.project_name.clone(), self.held.project_revision);
        let outcome = self.held.receive(&step);
        let after = (self.held.project_name.clone(), self.held.project_revision);
        let mut out = vec![Output::Step(step, outcome)];
        if outcome == StepOutcome::Gap {
            self.pending.push_back(Pending::Resubscribe);
            out.push(Output::Send(Request::Subscribe));
        } else if before != after {
            self.pending.push_back(Pending::Layout);
            out.push(Output::ProjectChanged { before, after });
            out.push(Output::Send(Request::Layout));
        }
        out
    }
}

/// A decoder's complaint, fitted to [`QUOTE_CHARS`] (serde lists every
/// variant it expected).
fn shorten(why: &str) -> String {
    fit(why)
}

/// The start of a bad line, safe to show, in quotes.
fn quote(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    format!("\"{}\"", fit(text.trim_end_matches(['\n', '\r'])))
}

/// `text` with its controls escaped, cut to at most [`QUOTE_CHARS`]
/// characters once escaped (then ending in "…").
fn fit(text: &str) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for c in text.chars() {
        let mut one = [0u8; 4];
        let escaped = crate::printable::printable(c.encode_utf8(&mut one));
        let n = escaped.chars().count();
        if shown + n > QUOTE_CHARS {
            out.push('…');
            break;
        }
        shown += n;
        out.push_str(&escaped);
    }
    out
}

#[cfg(test)]
mod tests;
