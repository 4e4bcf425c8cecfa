//! A simulated device for any library driver (`roomctl simulate --driver
//! samsung-mdc --listen 127.0.0.1:1515`): the device's behaviour is
//! controller-core's [`SimDevice`], generated from the driver; this file
//! serves it on a socket. TCP drivers and serial drivers (as a serial-to-IP
//! gateway would) on TCP, one client at a time as most of these devices
//! allow; UDP drivers on UDP, answering each datagram's sender.
//! [`DriverSimulator::answer_searches`] makes the device answer the LAN
//! searches its driver declares (PJLink class 2 search, SSDP, mDNS), as
//! controller-core's `SearchResponder` says (`driver/searches.rs`).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use controller_core::driver::simulator::{Fault, Heard, Output, SimDevice, HISTORY};
use controller_core::driver::{Driver, TransportKind, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::runtime::sync::lock;

mod searches;

/// A client silent this long is disconnected.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// One running simulated device.
pub struct DriverSimulator {
    pub driver: Arc<Driver>,
    pub addr: SocketAddr,
    device: Arc<Mutex<SimDevice>>,
    arrivals: Arrivals,
    token: CancellationToken,
    tasks: JoinSet<()>,
}

/// Each command the device recognised with when its bytes arrived, newest
/// last (the last [`HISTORY`]).
type Arrivals = Arc<Mutex<VecDeque<(Instant, Heard)>>>;

/// Hands bytes to the device and notes the commands they carried.
fn receive(
    device: &Mutex<SimDevice>,
    arrivals: &Mutex<VecDeque<(Instant, Heard)>>,
    bytes: &[u8],
) -> Vec<Output> {
    let at = Instant::now();
    let mut device = lock(device);
    let before = device.heard_total();
    let outputs = device.receive(bytes);
    let new = (device.heard_total() - before) as usize;
    if new > 0 {
        let heard: Vec<Heard> = device.history().rev().take(new).cloned().collect();
        drop(device);
        let mut arrivals = lock(arrivals);
        for h in heard.into_iter().rev() {
            if arrivals.len() == HISTORY {
                arrivals.pop_front();
            }
            arrivals.push_back((at, h));
        }
    }
    outputs
}

impl DriverSimulator {
    /// Binds `addr` and serves the driver's simulated device.
    pub async fn start(
        driver: Arc<Driver>,
        settings: BTreeMap<String, Value>,
        fault: Fault,
        addr: SocketAddr,
    ) -> anyhow::Result<DriverSimulator> {
        let device = Arc::new(Mutex::new(SimDevice::new(
            Arc::clone(&driver),
            settings,
            fault,
        )));
        let arrivals: Arrivals = Arc::default();
        let token = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let name = driver.id.clone();
        let bound = match driver.transport.kind {
            TransportKind::Udp => {
                let socket = UdpSocket::bind(addr)
                    .await
                    .with_context(|| format!("the simulated {name} cannot listen on udp {addr}"))?;
                let bound = socket.local_addr()?;
                tasks.spawn(serve_udp(
                    socket,
                    Arc::clone(&device),
                    Arc::clone(&arrivals),
                    token.clone(),
                    name,
                ));
                bound
            }
            TransportKind::Http => {
                let listener = TcpListener::bind(addr).await.with_context(|| {
                    format!("the simulated {name} cannot listen on http {addr}")
                })?;
                let bound = listener.local_addr()?;
                tasks.spawn(serve_http(
                    listener,
                    driver.framing.clone(),
                    Arc::clone(&device),
                    Arc::clone(&arrivals),
                    token.clone(),
                    name,
                ));
                bound
            }
            TransportKind::Tcp | TransportKind::Serial => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("the simulated {name} cannot listen on tcp {addr}"))?;
                let bound = listener.local_addr()?;
                tasks.spawn(serve_tcp(
                    listener,
                    Arc::clone(&device),
                    Arc::clone(&arrivals),
                    token.clone(),
                    name,
                ));
                bound
            }
        };
        Ok(DriverSimulator {
            driver,
            addr: bound,
            device,
            arrivals,
            token,
            tasks,
        })
    }

    /// The simulated device's state now.
    pub fn state(&self) -> BTreeMap<String, Value> {
        lock(&self.device).state().clone()
    }

    /// The commands the simulated device recognised, oldest first.
    pub fn heard(&self) -> Vec<Heard> {
        lock(&self.device).history().cloned().collect()
    }

    /// The commands the simulated device recognised with when their bytes
    /// arrived, oldest first (the last [`HISTORY`]).
    pub fn heard_at(&self) -> Vec<(Instant, Heard)> {
        lock(&self.arrivals).iter().cloned().collect()
    }

    /// Changes the simulated device's state as someone at the device would;
    /// it reports the new value when next asked.
    pub fn set_state(&self, name: &str, value: Value) -> Result<(), String> {
        lock(&self.device).set_state(name, value)
    }

    pub fn set_fault(&self, fault: Fault) {
        lock(&self.device).set_fault(fault);
    }

    pub async fn shutdown(mut self) {
        self.token.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn serve_tcp(
    listener: TcpListener,
    device: Arc<Mutex<SimDevice>>,
    arrivals: Arrivals,
    token: CancellationToken,
    name: String,
) {
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("{name}: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tracing::info!("{name}: {peer} connected");
        // One client at a time: the next waits in the listen queue.
        let why = connection(stream, &device, &arrivals, &token).await;
        tracing::info!("{name}: {peer} disconnected ({why})");
    }
}

async fn connection(
    mut stream: TcpStream,
    device: &Mutex<SimDevice>,
    arrivals: &Mutex<VecDeque<(Instant, Heard)>>,
    token: &CancellationToken,
) -> &'static str {
    let greeting = lock(device).connect();
    if let Some(why) = write_outputs(&mut stream, greeting, token).await {
        return why;
    }
    let mut buf = vec![0u8; 4096];
    loop {
        let read = tokio::select! {
            _ = token.cancelled() => return "simulator stopping",
            r = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut buf)) => r,
        };
        let n = match read {
            Err(_) => return "idle",
            Ok(Ok(0)) => return "closed",
            Ok(Err(_)) => return "read failed",
            Ok(Ok(n)) => n,
        };
        let outputs = receive(device, arrivals, &buf[..n]);
        if let Some(why) = write_outputs(&mut stream, outputs, token).await {
            return why;
        }
    }
}

/// Writes what the device says; Some(why) when the connection is over.
async fn write_outputs(
    stream: &mut TcpStream,
    outputs: Vec<Output>,
    token: &CancellationToken,
) -> Option<&'static str> {
    for out in outputs {
        match out {
            Output::Send { bytes, delay_ms } => {
                if delay_ms > 0 {
                    tokio::select! {
                        _ = token.cancelled() => return Some("simulator stopping"),
                        _ = tokio::time::sleep(Duration::from_millis(delay_ms)) => {}
                    }
                }
                if stream.write_all(&bytes).await.is_err() {
                    return Some("write failed");
                }
            }
            Output::Close => return Some("closed by the simulated fault"),
        }
    }
    None
}

async fn serve_udp(
    socket: UdpSocket,
    device: Arc<Mutex<SimDevice>>,
    arrivals: Arrivals,
    token: CancellationToken,
    name: String,
) {
    let mut buf = vec![0u8; 65536];
    lock(&device).connect();
    loop {
        let received = tokio::select! {
            _ = token.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        let Ok((n, peer)) = received else {
            continue;
        };
        let outputs = receive(&device, &arrivals, &buf[..n]);
        for out in outputs {
            match out {
                Output::Send { bytes, delay_ms } => {
                    if delay_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    }
                    if let Err(e) = socket.send_to(&bytes, peer).await {
                        tracing::warn!("{name}: cannot answer {peer}: {e}");
                    }
                }
                // UDP has no connection: "disconnecting" starts afresh.
                Output::Close => {
                    lock(&device).connect();
                }
            }
        }
    }
}

/// An http driver's device: each request's line (`GET /path?query`) is
/// what the device hears; what it says is the response body (its last
/// line end removed, as such devices answer `p1`, not `p1\r\n`). A silent
/// device never answers; one that disconnects answers 503.
async fn serve_http(
    listener: TcpListener,
    framing: controller_core::driver::Framing,
    device: Arc<Mutex<SimDevice>>,
    arrivals: Arrivals,
    token: CancellationToken,
    name: String,
) {
    use axum::http::{Method, StatusCode, Uri};
    lock(&device).connect();
    let terminator = match &framing {
        controller_core::driver::Framing::Line { terminator, .. } => terminator.clone(),
        controller_core::driver::Framing::Binary { .. }
        | controller_core::driver::Framing::Datagram { .. } => Vec::new(),
    };
    let stop = token.clone();
    let answer = move |method: Method, uri: Uri| {
        let (device, arrivals, token, terminator) = (
            Arc::clone(&device),
            Arc::clone(&arrivals),
            token.clone(),
            terminator.clone(),
        );
        async move {
            let target = uri.path_and_query().map_or("/", |p| p.as_str());
            let mut line = format!("{method} {target}").into_bytes();
            line.extend_from_slice(&terminator);
            let outputs = receive(&device, &arrivals, &line);
            if outputs.is_empty() && lock(&device).fault() == Fault::Silent {
                token.cancelled().await;
                return (StatusCode::SERVICE_UNAVAILABLE, Vec::new());
            }
            let mut body = Vec::new();
            for out in outputs {
                match out {
                    Output::Send { bytes, delay_ms } => {
                        if delay_ms > 0 {
                            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                        }
                        body.extend_from_slice(&bytes);
                    }
                    Output::Close => {
                        lock(&device).connect();
                        return (StatusCode::SERVICE_UNAVAILABLE, Vec::new());
                    }
                }
            }
            // The driver's line end is the framing's, not the device's.
            let (cr, lf) = (b'\r', b'\n');
            while body.last().is_some_and(|b| *b == cr || *b == lf) {
                body.pop();
            }
            (StatusCode::OK, body)
        }
    };
    let app = axum::Router::new().fallback(answer);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    {
        tracing::warn!("{name}: the simulated http device stopped: {e}");
    }
}
