//! Steps to plain-HTTP panels without waking each panel's task.
//!
//! A panel connection used to be one task that woke for every step,
//! polled its `select!` and sent the step through tungstenite: at 1,000
//! panels that was twice the CPU of a plain loop writing the same bytes to
//! the same sockets (docs/performance.md, "CPU per delivered frame"). Here
//! one fan-out task per panel port takes each bus event once, frames it
//! once as a WebSocket message (a server's frames are unmasked, so the
//! bytes are the same for every panel), and writes the frame to every
//! registered panel's socket itself, in one non-blocking `write` each. A
//! panel's task wakes only when its socket could not take a frame at once
//! (it then drains the rest), when it must resynchronise, and for its own
//! messages and keep-alive.
//!
//! Every byte to such a socket, HTTP responses and tungstenite's own
//! frames included, goes through [`PlainIo`]'s one queue under one lock, so
//! frames written by the fan-out and by the panel's task never interleave.
//! Only plain TCP connections take part: a TLS panel's bytes are encrypted
//! per connection, so its task sends each step itself as before.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Once};
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use controller_core::protocol::panel::ServerMessage;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;

use crate::runtime::sync::lock;
use crate::state::bus::Encoding;
use crate::state::controller::Controller;

/// Bytes a panel's socket may hold back in our queue (beyond what the
/// kernel's send buffer took). A panel further behind than this stops
/// getting steps and is sent a fresh snapshot once it has caught up.
const MAX_QUEUED: usize = 64 * 1024;

/// A plain TCP connection whose writes all go through one queue, shared
/// with the fan-out. Given to hyper in place of the `TcpStream`.
pub struct PlainIo(Arc<Shared>);

/// The handle the live channel finds in the request's extensions.
#[derive(Clone)]
pub struct PlainSocket(Arc<Shared>);

struct Shared {
    tcp: TcpStream,
    out: Mutex<Out>,
    /// Wakes the panel's task: bytes are queued, or it must resynchronise.
    attention: Notify,
}

#[derive(Default)]
struct Out {
    /// Bytes accepted but not yet written, in order; the front one may be
    /// written in part (it is advanced).
    queue: VecDeque<Bytes>,
    queued: usize,
    feed: Feed,
}

/// What the fan-out does with this socket.
#[derive(Default)]
struct Feed {
    registered: bool,
    /// Sent only steps shown on panels.
    sparse: bool,
    /// Steps up to this revision are in the snapshot the panel has.
    skip_through: u64,
    /// A snapshot is being taken: frames wait here (with their revision,
    /// 0 for a notice) until it is sent.
    held: Option<Vec<(u64, Bytes)>>,
    /// Frames were dropped (the panel fell behind or the fan-out lagged):
    /// nothing more until the panel's task has sent a fresh snapshot.
    resync: bool,
    /// The socket failed; nothing more is written.
    failed: bool,
    /// The panel shows "not available" (its panel is not in the project):
    /// no steps, until a project load resynchronises it.
    paused: bool,
    /// The panel re-renders a new layout in place (`layout` in hello): a
    /// project load resynchronises it (its task sends the layout) instead
    /// of sending it the step.
    in_place: bool,
    /// A project was loaded: the panel's task checks the panel's PIN.
    project_loaded: bool,
}

impl PlainIo {
    pub fn new(tcp: TcpStream) -> PlainIo {
        PlainIo(Arc::new(Shared {
            tcp,
            out: Mutex::new(Out::default()),
            attention: Notify::new(),
        }))
    }

    pub fn socket(&self) -> PlainSocket {
        PlainSocket(self.0.clone())
    }
}

impl Shared {
    /// Writes queued bytes until none are left (`Ready(Ok)`) or the socket
    /// is full (`Pending`, woken when it can take more).
    fn drain(&self, out: &mut Out, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(front) = out.queue.front_mut() {
            ready!(self.tcp.poll_write_ready(cx))?;
            match self.tcp.try_write(front) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    front.advance(n);
                    out.queued -= n;
                    if front.is_empty() {
                        out.queue.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Writes `frame` now if nothing is queued ahead of it, else queues it.
    /// Returns false if it could not even be queued (too far behind).
    fn push(&self, out: &mut Out, frame: &Bytes) -> bool {
        let mut rest = frame.clone();
        if out.queued == 0 {
            match self.tcp.try_write(&rest) {
                Ok(n) if n == rest.len() => return true,
                Ok(n) => rest.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    out.feed.failed = true;
                    self.attention.notify_one();
                    return true;
                }
            }
        } else if out.queued + rest.len() > MAX_QUEUED {
            return false;
        }
        out.queued += rest.len();
        out.queue.push_back(rest);
        self.attention.notify_one();
        true
    }

    /// The fan-out's delivery of one frame (`revision` 0: not a step).
    fn offer(&self, frame: &Bytes, revision: u64, shown: bool) {
        let mut out = lock(&self.out);
        let feed = &mut out.feed;
        if !feed.registered || feed.failed || feed.resync || feed.paused {
            return;
        }
        if revision != 0 && (revision <= feed.skip_through || (feed.sparse && !shown)) {
            return;
        }
        if let Some(held) = &mut feed.held {
            held.push((revision, frame.clone()));
            return;
        }
        if !self.push(&mut out, frame) {
            self.fall_behind(&mut out);
        }
    }

    /// A project load: an in-place panel is resynchronised by its task (a
    /// new layout, "not available", or a snapshot); an earlier panel gets
    /// the step (and reloads its page). Either way its task then checks
    /// that the panel's PIN still opens it.
    fn project_loaded(&self, frame: &Bytes, revision: u64, shown: bool) {
        let in_place = lock(&self.out).feed.in_place;
        if in_place {
            self.fall_behind(&mut lock(&self.out));
            return;
        }
        self.offer(frame, revision, shown);
        lock(&self.out).feed.project_loaded = true;
        self.attention.notify_one();
    }

    fn fall_behind(&self, out: &mut Out) {
        out.feed.resync = true;
        out.feed.held = None;
        self.attention.notify_one();
    }
}

impl AsyncRead for PlainIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.tcp.poll_read_ready(cx))?;
            match self.0.tcp.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for PlainIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &self.0;
        let mut out = lock(&shared.out);
        if shared.drain(&mut out, cx)?.is_pending() {
            // Bytes are ahead of these: queue them behind, up to the limit.
            if out.queued + buf.len() > MAX_QUEUED {
                return Poll::Pending;
            }
            out.queued += buf.len();
            out.queue.push_back(Bytes::copy_from_slice(buf));
            return Poll::Ready(Ok(buf.len()));
        }
        loop {
            ready!(shared.tcp.poll_write_ready(cx))?;
            match shared.tcp.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut out = lock(&self.0.out);
        self.0.drain(&mut out, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Poll::Ready(socket2::SockRef::from(&self.0.tcp).shutdown(std::net::Shutdown::Write))
    }
}

/// The fan-out of one panel port: the registered plain sockets and the
/// task that writes every bus event to them.
pub struct Fanout {
    controller: Controller,
    shutdown: CancellationToken,
    panels: Mutex<Vec<Arc<Shared>>>,
    started: Once,
}

impl Fanout {
    pub fn new(controller: Controller, shutdown: CancellationToken) -> Arc<Fanout> {
        Arc::new(Fanout {
            controller,
            shutdown,
            panels: Mutex::new(Vec::new()),
            started: Once::new(),
        })
    }

    /// Feeds `socket` from now on (held until its first snapshot is sent:
    /// call [`Fed::hold`] and [`Fed::release`] around it).
    pub fn register(self: &Arc<Fanout>, socket: PlainSocket, sparse: bool, in_place: bool) -> Fed {
        self.started.call_once(|| {
            let fanout = self.clone();
            tokio::spawn(async move { fanout.run().await });
        });
        {
            let mut out = lock(&socket.0.out);
            out.feed = Feed {
                registered: true,
                sparse,
                in_place,
                held: Some(Vec::new()),
                ..Feed::default()
            };
        }
        lock(&self.panels).push(socket.0.clone());
        Fed {
            fanout: self.clone(),
            shared: socket.0,
        }
    }

    async fn run(self: Arc<Fanout>) {
        let mut events = self.controller.bus().subscribe();
        loop {
            let event = tokio::select! {
                e = events.recv() => e,
                _ = self.shutdown.cancelled() => return,
            };
            let (frame, revision, shown) = match event {
                Ok(event) => match event.step() {
                    // A new project: every panel's task sends what its
                    // panel needs (a new layout, "not available", or a
                    // snapshot that makes an earlier panel reload; a panel
                    // whose PIN changed is refused), in place of the step.
                    Some(published) if published.step.loads_project() => {
                        let bytes = published.encoded(Encoding::PanelJson, |step| {
                            Bytes::from(ServerMessage::step_bytes(step, published.after))
                        });
                        let frame = text_frame(bytes);
                        let panels = lock(&self.panels).clone();
                        for panel in &panels {
                            panel.project_loaded(&frame, published.step.revision, published.shown);
                        }
                        continue;
                    }
                    Some(published) => {
                        let bytes = published.encoded(Encoding::PanelJson, |step| {
                            Bytes::from(ServerMessage::step_bytes(step, published.after))
                        });
                        (text_frame(bytes), published.step.revision, published.shown)
                    }
                    None => {
                        let project = self.controller.project();
                        match super::notices::of_event(&project, &event) {
                            Some(notice) => (text_frame(notice.encode().into()), 0, true),
                            None => continue,
                        }
                    }
                },
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    for panel in lock(&self.panels).iter() {
                        panel.fall_behind(&mut lock(&panel.out));
                    }
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            // A copy of the list, so panels coming and going do not wait
            // for the writes (a panel gone meanwhile is no longer registered
            // and is skipped).
            let panels = lock(&self.panels).clone();
            for panel in &panels {
                panel.offer(&frame, revision, shown);
            }
        }
    }
}

/// A final, unmasked WebSocket text frame of `payload` (a server's frame:
/// the same bytes for every panel), formatted by tungstenite.
fn text_frame(payload: Bytes) -> Bytes {
    let frame = Frame::message(payload, OpCode::Data(Data::Text), true);
    let mut out = Vec::with_capacity(frame.len());
    frame
        .format(&mut out)
        .expect("writing to a Vec does not fail");
    Bytes::from(out)
}

/// A panel fed by the fan-out; unregisters when dropped.
pub struct Fed {
    fanout: Arc<Fanout>,
    shared: Arc<Shared>,
}

/// What the fan-out asks of a panel's task.
#[derive(Debug, PartialEq, Eq)]
pub enum Attention {
    /// Queued bytes to drain (flush the WebSocket).
    Drain,
    /// Frames were dropped, or a project was loaded and the panel shows
    /// layouts in place: send a fresh snapshot (or the new layout).
    Resync,
    /// A project was loaded (and its step sent): check the panel's PIN.
    ProjectLoaded,
    /// Writing to the socket failed.
    Failed,
}

impl Fed {
    /// Waits until the fan-out needs the panel's task.
    pub async fn attention(&self) -> Attention {
        self.shared.attention.notified().await;
        let mut out = lock(&self.shared.out);
        if out.feed.failed {
            Attention::Failed
        } else if out.feed.resync {
            Attention::Resync
        } else if std::mem::take(&mut out.feed.project_loaded) {
            Attention::ProjectLoaded
        } else {
            Attention::Drain
        }
    }

    /// Frames from now on wait until [`Fed::release`]: call it before
    /// taking the snapshot to send.
    pub fn hold(&self) {
        let mut out = lock(&self.shared.out);
        out.feed.resync = false;
        out.feed.paused = false;
        out.feed.project_loaded = false;
        out.feed.held = Some(Vec::new());
    }

    /// The snapshot at `revision` is sent (queued in order on the socket):
    /// frames held since [`Fed::hold`] that it does not cover follow it.
    /// `paused`: the panel shows "not available" instead, and is sent
    /// nothing until the next project load.
    pub fn release(&self, revision: u64, paused: bool) {
        let mut out = lock(&self.shared.out);
        out.feed.skip_through = revision;
        out.feed.paused = paused;
        let held = out.feed.held.take().unwrap_or_default();
        if paused {
            return;
        }
        for (rev, frame) in held {
            if rev != 0 && rev <= revision {
                continue;
            }
            if !self.shared.push(&mut out, &frame) {
                self.shared.fall_behind(&mut out);
                return;
            }
        }
    }
}

impl Drop for Fed {
    fn drop(&mut self) {
        lock(&self.shared.out).feed = Feed::default();
        lock(&self.fanout.panels).retain(|p| !Arc::ptr_eq(p, &self.shared));
    }
}
