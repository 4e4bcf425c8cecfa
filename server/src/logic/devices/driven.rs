//! A driver device (`driver = "pjlink"`): controller-core's sans-IO
//! `driver::session::Session` does the protocol (login, commands, replies
//! into state, polls, liveness); this file owns the connection, over TCP
//! (also a serial driver behind a serial-to-IP gateway), UDP or a local
//! serial port, and reconnects every `reconnect_secs` while the device is
//! down.
//!
//! What a device sends that its driver does not describe, or that the
//! framing drops (garbage before a header, bad checksums, frames longer
//! than the driver's `max_length`), is counted, shown on the status board
//! and logged (escaped, and only the first few of a connection), and costs
//! at most the framing's bounded buffer: it never holds up the requests,
//! polls or other devices.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use controller_core::driver::session::{Event, Phase, Session};
use controller_core::driver::{Driver, SerialFraming, Value};
use controller_core::logic::{parse_serial, SerialLine};
use controller_core::printable::printable;
use controller_core::project::drivers::{device_endpoint, device_settings, Endpoint};
use controller_core::project::Device;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout, Instant};

use super::{serial, DeviceError, DeviceLink, Payload, IO_TIMEOUT};

/// Bytes read from a device at a time.
const READ_CHUNK: usize = 4096;
/// How often liveness and the counters are looked at.
const TICK: Duration = Duration::from_secs(1);
/// A login that has not finished in this long has failed.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(15);
/// Unrecognised messages logged per connection; the rest are only counted.
const LOGGED_PER_CONNECTION: u64 = 3;
/// The longest part of an unrecognised message the log shows.
const LOGGED_BYTES: usize = 120;

/// A driver device as the runtime drives it: its driver, settings and
/// where it is.
pub(super) struct DriverDevice {
    pub driver: Arc<Driver>,
    pub settings: BTreeMap<String, Value>,
    pub endpoint: Endpoint,
    /// The device's `poll_secs`: every poll this often, not the driver's.
    pub poll_secs: Option<u32>,
}

impl DriverDevice {
    pub fn of(device: &Device) -> Result<DriverDevice, String> {
        let name = device.driver.as_deref().unwrap_or_default();
        let driver = controller_core::driver::library::Library::shared()
            .get(name)
            .ok_or_else(|| format!("there is no driver {name:?}"))?
            .clone();
        let settings = device_settings(device, &driver).map_err(|e| e.message)?;
        let endpoint = device_endpoint(device, &driver)?;
        Ok(DriverDevice {
            driver,
            settings,
            endpoint,
            poll_secs: device.poll_secs,
        })
    }

    fn target(&self) -> String {
        match &self.endpoint {
            Endpoint::Tcp(host, port) | Endpoint::Udp(host, port) | Endpoint::Http(host, port) => {
                host_port(host, *port)
            }
            Endpoint::SerialPort(path) => path.clone(),
        }
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// What went wrong with a device's input, counted over the task's life.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    unrecognised: u64,
    dropped_bytes: u64,
    bad_frames: u64,
    oversized: u64,
}

impl Counts {
    fn dropped(&self) -> (u64, u64, u64) {
        (self.dropped_bytes, self.bad_frames, self.oversized)
    }

    fn words(&self) -> String {
        let mut parts = Vec::new();
        if self.unrecognised > 0 {
            parts.push(format!("{} unrecognised messages", self.unrecognised));
        }
        if self.oversized > 0 {
            parts.push(format!("{} oversized frames dropped", self.oversized));
        }
        if self.bad_frames > 0 {
            parts.push(format!("{} bad frames dropped", self.bad_frames));
        }
        if self.dropped_bytes > 0 {
            parts.push(format!("{} stray bytes dropped", self.dropped_bytes));
        }
        parts.join(", ")
    }
}

pub(super) async fn run(mut link: DeviceLink, device: DriverDevice) {
    let mut session = Session::new(device.driver.clone(), device.settings.clone())
        .with_poll_secs(device.poll_secs);
    // Counted over connections: a device that garbles and reconnects
    // keeps its count.
    let mut counts = Counts::default();
    let target = device.target();
    loop {
        let opened = tokio::select! {
            _ = link.shutdown.cancelled() => return,
            r = open(&device) => r,
        };
        match opened {
            Ok(wire) => {
                let why = serve(&mut link, &mut session, wire, &target, &mut counts).await;
                session.disconnected();
                if link.shutdown.is_cancelled() {
                    return;
                }
                link.down(why);
            }
            Err(why) => link.down(why),
        }
        if !link.wait_down(link.retry_delay()).await {
            return;
        }
    }
}

/// A connection to the device.
enum Wire {
    Stream(
        Box<dyn AsyncRead + Unpin + Send>,
        Box<dyn AsyncWrite + Unpin + Send>,
    ),
    Datagram(UdpSocket),
    /// An http driver: each write is one request (its line `GET /path`),
    /// each answer's body waits here to be read as the device's lines.
    Http {
        target: String,
        answers: std::collections::VecDeque<Vec<u8>>,
    },
}

impl Wire {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        match self {
            Wire::Stream(r, _) => match r.read(buf).await {
                Ok(0) => Err("the device closed the connection".into()),
                Ok(n) => Ok(n),
                Err(e) => Err(format!("read failed: {e}")),
            },
            Wire::Datagram(s) => s
                .recv(buf)
                .await
                .map_err(|e| format!("receive failed: {e}")),
            Wire::Http { answers, .. } => match answers.front_mut() {
                None => std::future::pending().await,
                Some(body) => {
                    let n = body.len().min(buf.len());
                    buf[..n].copy_from_slice(&body[..n]);
                    body.drain(..n);
                    if body.is_empty() {
                        answers.pop_front();
                    }
                    Ok(n)
                }
            },
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        if let Wire::Http { target, answers } = self {
            return http_request(target, answers, bytes).await;
        }
        let sent = async {
            match self {
                Wire::Stream(_, w) => {
                    w.write_all(bytes).await?;
                    w.flush().await
                }
                Wire::Datagram(s) => s.send(bytes).await.map(drop),
                Wire::Http { .. } => Ok(()),
            }
        };
        match timeout(IO_TIMEOUT, sent).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(_) => Err(format!("write blocked for {} s", IO_TIMEOUT.as_secs())),
        }
    }
}

async fn open(device: &DriverDevice) -> Result<Wire, String> {
    let target = device.target();
    match &device.endpoint {
        Endpoint::Tcp(..) => match timeout(IO_TIMEOUT, TcpStream::connect(&target)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                let (r, w) = stream.into_split();
                Ok(Wire::Stream(Box::new(r), Box::new(w)))
            }
            Ok(Err(e)) => Err(format!("cannot connect to {target}: {e}")),
            Err(_) => Err(format!(
                "no answer from {target} within {} s",
                IO_TIMEOUT.as_secs()
            )),
        },
        Endpoint::Udp(host, _) => {
            let any = if host.contains(':') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            };
            let socket = UdpSocket::bind(any)
                .await
                .map_err(|e| format!("cannot open a udp socket: {e}"))?;
            socket
                .connect(&target)
                .await
                .map_err(|e| format!("cannot reach {target}: {e}"))?;
            Ok(Wire::Datagram(socket))
        }
        Endpoint::Http(..) => {
            // Up when the camera (or whatever it is) takes connections;
            // each request then opens its own.
            match timeout(IO_TIMEOUT, TcpStream::connect(&target)).await {
                Ok(Ok(_)) => Ok(Wire::Http {
                    target,
                    answers: Default::default(),
                }),
                Ok(Err(e)) => Err(format!("cannot connect to {target}: {e}")),
                Err(_) => Err(format!(
                    "no answer from {target} within {} s",
                    IO_TIMEOUT.as_secs()
                )),
            }
        }
        Endpoint::SerialPort(path) => {
            let line = serial_line(path, device.driver.transport.serial.as_ref())?;
            let port = serial::open(&line).map_err(|e| format!("cannot open {path}: {e}"))?;
            let (r, w) = tokio::io::split(port);
            Ok(Wire::Stream(Box::new(r), Box::new(w)))
        }
    }
}

/// Answers kept for reading at most (a device's bodies that were never
/// read as lines would otherwise pile up).
const MAX_HTTP_ANSWERS: usize = 16;

/// One request of an http driver: `bytes` is the command's line (`GET
/// /path`, its line end included); a success's body, ending in a line end,
/// is queued to be read as the device's lines.
async fn http_request(
    target: &str,
    answers: &mut std::collections::VecDeque<Vec<u8>>,
    bytes: &[u8],
) -> Result<(), String> {
    let line = String::from_utf8_lossy(bytes);
    let line = line.trim_end_matches(['\r', '\n']);
    let Some((method, path)) = line.split_once(' ') else {
        return Err(format!("{line:?} is not a request line"));
    };
    let (status, body) =
        match timeout(IO_TIMEOUT, super::http::request(target, method, path, None)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(why)) => return Err(format!("{method} {path}: {why}")),
            Err(_) => {
                return Err(format!(
                    "{method} {path}: no answer within {} s",
                    IO_TIMEOUT.as_secs()
                ))
            }
        };
    if !status.is_success() {
        return Err(format!("{method} {path} answered {status}"));
    }
    let mut body = body.to_vec();
    if !body.is_empty() && !body.ends_with(b"\n") && !body.ends_with(b"\r") {
        body.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() {
        if answers.len() == MAX_HTTP_ANSWERS {
            answers.pop_front();
        }
        answers.push_back(body);
    }
    Ok(())
}

/// The port's framing as the driver gives it ("9600 8N1" when it does not).
fn serial_line(path: &str, framing: Option<&SerialFraming>) -> Result<SerialLine, String> {
    let settings = framing.map(|f| {
        let parity = match f.parity.as_str() {
            "even" => 'E',
            "odd" => 'O',
            _ => 'N',
        };
        format!("{} {}{parity}{}", f.baud, f.data_bits, f.stop_bits)
    });
    parse_serial(path, settings.as_deref()).map_err(|e| e.to_string())
}

/// Serves one connection until it ends; returns why.
async fn serve(
    link: &mut DeviceLink,
    session: &mut Session,
    mut wire: Wire,
    target: &str,
    counts: &mut Counts,
) -> String {
    let start = Instant::now();
    let now_ms = move || start.elapsed().as_millis() as u64;
    let mut logged = 0;
    // The framing counts from zero on each connection: added to these.
    let base = *counts;
    let mut reported = *counts;
    let events = session.connected(now_ms());
    if let Err(why) = handle(link, &mut wire, events, target, counts, &mut logged).await {
        return why;
    }
    let mut buf = vec![0u8; READ_CHUNK];
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let ready = session.phase() == Phase::Ready;
        let poll_due = session
            .next_poll_ms()
            .filter(|_| ready)
            .map(|ms| start + Duration::from_millis(ms));
        tokio::select! {
            _ = link.shutdown.cancelled() => return "stopping".into(),
            read = wire.read(&mut buf) => {
                let n = match read {
                    Ok(n) => n,
                    Err(why) => return why,
                };
                let events = session.receive(&buf[..n], now_ms());
                if let Err(why) = handle(link, &mut wire, events, target, counts, &mut logged).await {
                    return why;
                }
                note_dropped(session, &base, counts);
            }
            request = link.inbox.next(), if ready => {
                let Some(request) = request else { return "stopping".into() };
                let result = match &request.payload {
                    Payload::Command { name, params } => match session.command(name, params) {
                        Ok(bytes) => wire.write(&bytes).await.map_err(|e| link.failed(e)),
                        Err(e) => Err(DeviceError::Invalid(format!("device {:?}: {e}", link.device.id))),
                    },
                    _ => Err(DeviceError::Invalid(format!(
                        "device {:?} is driven by the {} driver; call its commands",
                        link.device.id,
                        session.driver().id
                    ))),
                };
                let broken = matches!(result, Err(DeviceError::Failed { .. }));
                let why = result.as_ref().err().map(|e| e.to_string());
                let _ = request.done.send(result);
                if broken {
                    return why.unwrap_or_default();
                }
            }
            _ = sleep_until(poll_due) => {
                for bytes in session.due_polls(now_ms()) {
                    if let Err(why) = wire.write(&bytes).await {
                        return why;
                    }
                }
            }
            _ = tick.tick() => {
                match session.phase() {
                    Phase::LoggingIn { .. } if start.elapsed() > LOGIN_TIMEOUT => {
                        return format!("the login did not finish within {} s", LOGIN_TIMEOUT.as_secs());
                    }
                    Phase::Ready if !session.alive(now_ms()) => {
                        return format!(
                            "no answer it understands for {} s",
                            session.driver().liveness_secs.unwrap_or_default()
                        );
                    }
                    _ => {}
                }
                if *counts != reported {
                    if counts.dropped() != reported.dropped() {
                        link.controller.log().record(format!(
                            "device {}: its framing dropped input ({})",
                            link.device.id,
                            counts.words()
                        ));
                    }
                    reported = *counts;
                    if session.phase() == Phase::Ready {
                        link.up(format!("connected to {target}; {}", counts.words()));
                    }
                }
            }
        }
    }
}

/// What the framing dropped: `base` (earlier connections) plus this
/// connection's.
fn note_dropped(session: &Session, base: &Counts, counts: &mut Counts) {
    let d = session.dropped();
    counts.dropped_bytes = base.dropped_bytes + d.garbage_bytes;
    counts.bad_frames = base.bad_frames + d.bad_frames;
    counts.oversized = base.oversized + d.oversized;
}

/// Acts on the session's events; Err(why) ends the connection.
async fn handle(
    link: &mut DeviceLink,
    wire: &mut Wire,
    events: Vec<Event>,
    target: &str,
    counts: &mut Counts,
    logged: &mut u64,
) -> Result<(), String> {
    for event in events {
        match event {
            Event::Send(bytes) => wire.write(&bytes).await?,
            Event::State { name, value } => link.driver_state(&name, &value).await,
            Event::Ready => {
                let words = counts.words();
                if words.is_empty() {
                    link.up(format!("connected to {target}"));
                } else {
                    link.up(format!("connected to {target}; {words}"));
                }
            }
            Event::LoginRefused => {
                return Err(
                    "the device refused the login (check the device's settings, e.g. its password)"
                        .into(),
                )
            }
            Event::Unrecognised(payload) => {
                counts.unrecognised += 1;
                *logged += 1;
                if *logged <= LOGGED_PER_CONNECTION {
                    let shown = &payload[..payload.len().min(LOGGED_BYTES)];
                    let text = String::from_utf8_lossy(shown);
                    link.controller.log().record(format!(
                        "device {} sent a message its driver ({}) does not describe: \"{}\"{}",
                        link.device.id,
                        link.device.driver.as_deref().unwrap_or_default(),
                        printable(&text),
                        if payload.len() > LOGGED_BYTES {
                            " ..."
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
    }
    Ok(())
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
