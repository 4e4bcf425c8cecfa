//! Lean simulated panels for the fan-out benchmark.
//!
//! The benchmark's 1,000 panels run on the same two cores as the server, so
//! every microsecond they spend is taken from the server being measured. A
//! tablet does its reading on its own hardware; here the readers should cost
//! as little as possible. After the WebSocket handshake (done with
//! tokio-tungstenite, like every other client in the tests), all panels are
//! read by one thread with one epoll set and a minimal reader of the
//! server's frames: no task, wake-up or channel per panel. Written by hand
//! because no crate reads many WebSockets from one epoll loop; this is
//! measurement code only (the server side is axum's WebSocket).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use tokio::sync::mpsc;

/// Panels read by one epoll thread; pings are answered with pongs.
pub struct LeanPanels {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Length of the last LED step frame seen (header + payload).
    pub last_led_frame: Arc<AtomicUsize>,
    /// Step frames received by all these panels together.
    pub step_frames: Arc<AtomicUsize>,
}

/// Called for each step frame: the panel's index, its arrival, its text.
pub type OnStep = Box<dyn FnMut(usize, Instant, &[u8]) + Send>;

impl LeanPanels {
    /// Every step message that carries an LED change sends its arrival time.
    pub fn start(streams: Vec<TcpStream>, arrivals: mpsc::UnboundedSender<Instant>) -> Self {
        Self::start_with(
            streams,
            Box::new(move |_, at, text| {
                if contains(text, br#"{"type":"led""#) {
                    let _ = arrivals.send(at);
                }
            }),
        )
    }

    /// `on_step` sees every step frame.
    pub fn start_with(streams: Vec<TcpStream>, on_step: OnStep) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let last_led_frame = Arc::new(AtomicUsize::new(0));
        let step_frames = Arc::new(AtomicUsize::new(0));
        let thread = {
            let stop = stop.clone();
            let last = last_led_frame.clone();
            let frames = step_frames.clone();
            std::thread::Builder::new()
                .name("lean-panels".into())
                .spawn(move || read_all(streams, on_step, stop, last, frames))
                .expect("spawn the panel reader")
        };
        LeanPanels {
            stop,
            thread: Some(thread),
            last_led_frame,
            step_frames,
        }
    }
}

impl Drop for LeanPanels {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_all(
    streams: Vec<TcpStream>,
    mut on_step: OnStep,
    stop: Arc<AtomicBool>,
    last_led_frame: Arc<AtomicUsize>,
    step_frames: Arc<AtomicUsize>,
) {
    // SAFETY: epoll_create1 has no preconditions; the result is checked.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0, "epoll_create1 failed");
    for (i, s) in streams.iter().enumerate() {
        s.set_nonblocking(true).expect("non-blocking panel socket");
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: `ep` and the socket are open descriptors; `ev` is valid.
        let rc = unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) };
        assert_eq!(rc, 0, "epoll_ctl failed");
    }
    let mut pending: Vec<Vec<u8>> = vec![Vec::new(); streams.len()];
    let mut open = vec![true; streams.len()];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut chunk = vec![0u8; 16 * 1024];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: `events` has room for the 256 entries we allow.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), 256, 50) };
        if n < 0 {
            continue; // EINTR
        }
        for ev in &events[..n as usize] {
            let i = ev.u64 as usize;
            if !open[i] {
                continue;
            }
            let mut stream = &streams[i];
            // Level-triggered: one read per readiness; anything left over
            // makes the socket ready again.
            let got = match stream.read(&mut chunk) {
                Ok(0) => None,
                Ok(k) => Some(k),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => None,
            };
            let Some(k) = got else {
                open[i] = false;
                // SAFETY: as above; a null event is allowed for DEL.
                unsafe {
                    libc::epoll_ctl(
                        ep,
                        libc::EPOLL_CTL_DEL,
                        stream.as_raw_fd(),
                        std::ptr::null_mut(),
                    )
                };
                continue;
            };
            let at = Instant::now();
            let buf = &mut pending[i];
            buf.extend_from_slice(&chunk[..k]);
            let mut used = 0;
            while let Some(frame) = Frame::parse(&buf[used..]) {
                if frame.opcode == 1 {
                    let text = &buf[used + frame.header..used + frame.len];
                    if text.starts_with(br#"{"type":"step""#) {
                        step_frames.fetch_add(1, Ordering::Relaxed);
                        if contains(text, br#"{"type":"led""#) {
                            last_led_frame.store(frame.len, Ordering::Relaxed);
                        }
                        on_step(i, at, text);
                    } else if text.starts_with(br#"{"type":"ping""#) {
                        if let Ok(ServerMessage::Ping { seq }) =
                            ServerMessage::decode(&String::from_utf8_lossy(text))
                        {
                            let pong = ClientMessage::Pong { seq }.encode();
                            let _ = stream.write_all(&masked_text_frame(pong.as_bytes()));
                        }
                    }
                }
                used += frame.len;
            }
            buf.drain(..used);
        }
    }
    // SAFETY: `ep` is ours and closed once.
    unsafe { libc::close(ep) };
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A complete frame at the start of a buffer: opcode, header length, total
/// length. Server frames are never masked (RFC 6455 §5.1).
struct Frame {
    opcode: u8,
    header: usize,
    len: usize,
}

impl Frame {
    fn parse(buf: &[u8]) -> Option<Frame> {
        if buf.len() < 2 {
            return None;
        }
        let opcode = buf[0] & 0x0f;
        assert_eq!(buf[0] & 0x80, 0x80, "the server does not fragment messages");
        assert_eq!(buf[1] & 0x80, 0, "server frames are not masked");
        let (header, payload) = match buf[1] & 0x7f {
            126 => {
                let b = buf.get(2..4)?;
                (4, u16::from_be_bytes([b[0], b[1]]) as usize)
            }
            127 => {
                let b = buf.get(2..10)?;
                (10, u64::from_be_bytes(b.try_into().ok()?) as usize)
            }
            small => (2, small as usize),
        };
        let len = header + payload;
        (buf.len() >= len).then_some(Frame {
            opcode,
            header,
            len,
        })
    }
}

/// A client text frame (clients must mask, RFC 6455 §5.3).
fn masked_text_frame(payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126, "pongs are small");
    let key = [0x5a, 0x17, 0xc3, 0x9e];
    let mut out = vec![0x81, 0x80 | payload.len() as u8];
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}
