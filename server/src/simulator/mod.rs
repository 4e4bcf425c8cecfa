//! Simulated room devices, so the demo project drives something real out of
//! the box (`roomctl simulate`): a PJLink class 1 projector (TCP 4352), a
//! line-based video matrix (TCP 4353) and an audio DSP (TCP 4354). All bind
//! to loopback by default. [`driver`] serves a simulated device for any
//! library driver (`roomctl simulate --driver ...`).
//!
//! The devices' behaviour is pure ([`projector::Projector`],
//! [`matrix::Matrix`], [`dsp::Dsp`]); this file serves it on TCP: one task per
//! connection, a cap on connections, bounded lines, and the PJLink idle
//! timeout (a projector drops a client silent for 30 s). Every command
//! line any device receives is remembered (the last [`LOG_LINES`]), so a
//! test can see what reached the room.

pub mod driver;
pub mod dsp;
pub mod matrix;
pub mod projector;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use controller_core::protocol::pjlink::{self, Request};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::codec::{AnyDelimiterCodec, FramedRead};
use tokio_util::sync::CancellationToken;

use crate::runtime::sync::lock;

use dsp::Dsp;
use matrix::Matrix;
use projector::Projector;

/// Connections each simulated device accepts at once.
const MAX_CONNECTIONS: usize = 16;
/// A client silent this long is disconnected (PJLink's rule; the matrix too).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest matrix or DSP command line.
const MAX_LINE: usize = 256;
/// How many received command lines [`Simulator::received`] remembers.
pub const LOG_LINES: usize = 1000;

/// What the devices received: (device, line), oldest first.
type ReceivedLog = Arc<Mutex<std::collections::VecDeque<(&'static str, String)>>>;

fn note(log: &ReceivedLog, device: &'static str, line: &[u8]) {
    let mut log = lock(log);
    if log.len() == LOG_LINES {
        log.pop_front();
    }
    log.push_back((device, String::from_utf8_lossy(line).trim().to_string()));
}

#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Where the projector listens (None: no projector).
    pub projector: Option<SocketAddr>,
    /// Where the matrix listens (None: no matrix).
    pub matrix: Option<SocketAddr>,
    /// Where the audio DSP listens (None: no DSP).
    pub dsp: Option<SocketAddr>,
    pub warmup: Duration,
    pub cooldown: Duration,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            projector: Some(SocketAddr::from(([127, 0, 0, 1], 4352))),
            matrix: Some(SocketAddr::from(([127, 0, 0, 1], 4353))),
            dsp: Some(SocketAddr::from(([127, 0, 0, 1], 4354))),
            warmup: Duration::from_secs(10),
            cooldown: Duration::from_secs(5),
        }
    }
}

/// Running simulated devices.
pub struct Simulator {
    pub projector_addr: Option<SocketAddr>,
    pub matrix_addr: Option<SocketAddr>,
    pub dsp_addr: Option<SocketAddr>,
    projector: Arc<Mutex<Projector>>,
    matrix: Arc<Mutex<Matrix>>,
    dsp: Arc<Mutex<Dsp>>,
    received: ReceivedLog,
    token: CancellationToken,
    tasks: JoinSet<()>,
}

type Handler = Arc<dyn Fn(&[u8]) -> Vec<Vec<u8>> + Send + Sync>;

/// The simulated PJLink projector on `addr`: greets, answers each request
/// from `state`, and logs what it received. Where it listens.
async fn serve_projector(
    addr: SocketAddr,
    state: Arc<Mutex<Projector>>,
    (token, received): (&CancellationToken, &ReceivedLog),
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("the simulated projector cannot listen on tcp {addr}"))?;
    let bound = listener.local_addr()?;
    let log = received.clone();
    let handler: Handler = Arc::new(move |line: &[u8]| {
        note(&log, "projector", line);
        let Ok(request) = Request::decode(line) else {
            return Vec::new();
        };
        let mut p = lock(&state);
        let response = p.handle(&request, tokio::time::Instant::now());
        tracing::info!(
            "projector: {} -> {}",
            String::from_utf8_lossy(line),
            String::from_utf8_lossy(&response.encode()).trim_end()
        );
        vec![response.encode()]
    });
    let greeting = format!("{}\r", pjlink::GREETING).into_bytes();
    let codec = || {
        AnyDelimiterCodec::new_with_max_length(b"\r\n".to_vec(), Vec::new(), pjlink::MAX_LINE_BYTES)
    };
    tasks.spawn(accept_loop(
        listener,
        token.clone(),
        "projector",
        greeting,
        codec,
        handler,
    ));
    Ok(bound)
}

impl Simulator {
    /// Binds every configured device (an error names the one that failed).
    pub async fn start(config: SimulatorConfig) -> anyhow::Result<Simulator> {
        let token = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let projector = Arc::new(Mutex::new(Projector::new(config.warmup, config.cooldown)));
        let matrix = Arc::new(Mutex::new(Matrix::default()));
        let received = ReceivedLog::default();
        let mut projector_addr = None;
        if let Some(addr) = config.projector {
            let spawned = serve_projector(addr, projector.clone(), (&token, &received), &mut tasks);
            projector_addr = Some(spawned.await?);
        }
        let mut matrix_addr = None;
        if let Some(addr) = config.matrix {
            let state = matrix.clone();
            let handle = move |text: &str| lock(&state).handle(text);
            // The matrix answers in CR LF and logs every exchange.
            let spawned = serve_lines(
                addr,
                "matrix",
                "\r\n",
                |_| true,
                handle,
                (&token, &received),
                &mut tasks,
            );
            matrix_addr = Some(spawned.await?);
        }
        let dsp = Arc::new(Mutex::new(Dsp::default()));
        let mut dsp_addr = None;
        if let Some(addr) = config.dsp {
            let state = dsp.clone();
            let handle = move |text: &str| lock(&state).handle(text);
            // The DSP answers in CR; its status polls (every 2 s) are not logged.
            let logged = |text: &str| !text.trim().eq_ignore_ascii_case("STATUS ?");
            let spawned = serve_lines(
                addr,
                "dsp",
                "\r",
                logged,
                handle,
                (&token, &received),
                &mut tasks,
            );
            dsp_addr = Some(spawned.await?);
        }
        Ok(Simulator {
            projector_addr,
            matrix_addr,
            dsp_addr,
            projector,
            matrix,
            dsp,
            received,
            token,
            tasks,
        })
    }

    /// The projector's PJLink power state now ("0" off .. "3" warming up).
    pub fn projector_power(&self) -> &'static str {
        lock(&self.projector).power_code(tokio::time::Instant::now())
    }

    /// The input the matrix routes to `output`.
    pub fn matrix_route(&self, output: u8) -> Option<u8> {
        lock(&self.matrix).route_of(output)
    }

    /// How often the matrix's `relay` (1-8) was pulsed.
    pub fn relay_pulses(&self, relay: u8) -> Option<u64> {
        lock(&self.matrix).pulses_of(relay)
    }

    /// Every command line the devices received, as (device, line without
    /// its terminator), oldest first; polls included.
    pub fn received(&self) -> Vec<(&'static str, String)> {
        lock(&self.received).iter().cloned().collect()
    }

    /// The DSP's volume (dB) and mute now, and the volumes it received.
    pub fn dsp_state(&self) -> (f64, bool, Vec<f64>) {
        let d = lock(&self.dsp);
        (d.volume(), d.muted(), d.received())
    }

    pub async fn shutdown(mut self) {
        self.token.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Serves a line-based device (the matrix, the DSP): binds `addr`, answers
/// each line with what `handle` returns, each answer ended by `eol`, and
/// logs the exchanges `logged` picks. Returns the bound address.
async fn serve_lines(
    addr: SocketAddr,
    name: &'static str,
    eol: &'static str,
    logged: impl Fn(&str) -> bool + Send + Sync + 'static,
    handle: impl Fn(&str) -> Vec<String> + Send + Sync + 'static,
    (token, log): (&CancellationToken, &ReceivedLog),
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("the simulated {name} cannot listen on tcp {addr}"))?;
    let bound = listener.local_addr()?;
    let log = log.clone();
    let handler: Handler = Arc::new(move |line: &[u8]| {
        note(&log, name, line);
        let text = String::from_utf8_lossy(line);
        let answers = handle(&text);
        if !answers.is_empty() && logged(&text) {
            tracing::info!("{name}: {} -> {}", text.trim(), answers.join(" | "));
        }
        answers
            .into_iter()
            .map(|a| format!("{a}{eol}").into_bytes())
            .collect()
    });
    let codec = || AnyDelimiterCodec::new_with_max_length(b"\r\n".to_vec(), Vec::new(), MAX_LINE);
    tasks.spawn(accept_loop(
        listener,
        token.clone(),
        name,
        Vec::new(),
        codec,
        handler,
    ));
    Ok(bound)
}

async fn accept_loop(
    listener: TcpListener,
    token: CancellationToken,
    name: &'static str,
    greeting: Vec<u8>,
    codec: impl Fn() -> AnyDelimiterCodec + Send + 'static,
    handler: Handler,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
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
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!("{name}: refusing {peer}: {MAX_CONNECTIONS} clients connected");
            continue;
        };
        tracing::info!("{name}: {peer} connected");
        let (token, greeting, codec, handler) =
            (token.clone(), greeting.clone(), codec(), handler.clone());
        connections.spawn(async move {
            let _slot = slot;
            let why = connection(stream, token, &greeting, codec, handler).await;
            tracing::info!("{name}: {peer} disconnected ({why})");
        });
    }
    connections.abort_all();
}

async fn connection(
    stream: TcpStream,
    token: CancellationToken,
    greeting: &[u8],
    codec: AnyDelimiterCodec,
    handler: Handler,
) -> String {
    let (reader, mut writer) = stream.into_split();
    if !greeting.is_empty() && writer.write_all(greeting).await.is_err() {
        return "write failed".into();
    }
    let mut lines = FramedRead::new(reader, codec);
    loop {
        let line = tokio::select! {
            _ = token.cancelled() => return "simulator stopping".into(),
            l = tokio::time::timeout(IDLE_TIMEOUT, lines.next()) => l,
        };
        let line = match line {
            Err(_) => return format!("idle for {} s", IDLE_TIMEOUT.as_secs()),
            Ok(None) => return "closed".into(),
            Ok(Some(Err(e))) => return format!("bad input: {e}"),
            Ok(Some(Ok(line))) => line,
        };
        if line.is_empty() {
            continue;
        }
        for answer in handler(&line) {
            if writer.write_all(&answer).await.is_err() {
                return "write failed".into();
            }
        }
    }
}
