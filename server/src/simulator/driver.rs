//! A simulated device for any library driver (`roomctl simulate --driver
//! samsung-mdc --listen 127.0.0.1:1515`): the device's behaviour is
//! controller-core's [`SimDevice`], generated from the driver; this file
//! serves it on a socket. TCP drivers and serial drivers (as a serial-to-IP
//! gateway would) on TCP, one client at a time as most of these devices
//! allow; UDP drivers on UDP, answering each datagram's sender.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use controller_core::driver::simulator::{Fault, Heard, Output, SimDevice};
use controller_core::driver::{Driver, TransportKind, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::sync::lock;

/// A client silent this long is disconnected.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// One running simulated device.
pub struct DriverSimulator {
    pub driver: Arc<Driver>,
    pub addr: SocketAddr,
    device: Arc<Mutex<SimDevice>>,
    token: CancellationToken,
    tasks: JoinSet<()>,
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
        let token = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let name = driver.id.clone();
        let bound = match driver.transport.kind {
            TransportKind::Udp => {
                let socket = UdpSocket::bind(addr)
                    .await
                    .with_context(|| format!("the simulated {name} cannot listen on udp {addr}"))?;
                let bound = socket.local_addr()?;
                tasks.spawn(serve_udp(socket, Arc::clone(&device), token.clone(), name));
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
        let why = connection(stream, &device, &token).await;
        tracing::info!("{name}: {peer} disconnected ({why})");
    }
}

async fn connection(
    mut stream: TcpStream,
    device: &Mutex<SimDevice>,
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
        let outputs = lock(device).receive(&buf[..n]);
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
        let outputs = lock(&device).receive(&buf[..n]);
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
