//! A line-based room device on loopback, for the room-logic tests: it
//! records every line the controller sends it and answers as the test says
//! (nothing at all, or as the simulator's DSP does), optionally late, as a
//! busy device answers. It can start out refusing connections (a device
//! that is switched off), be switched on later on the same port, and be
//! switched off again.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use roomctl::simulator::dsp::Dsp;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What the device answers to one line (answers end in CR).
pub type Answer = Arc<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// A device that never answers (not even its polls).
pub fn silent() -> Answer {
    Arc::new(|_| Vec::new())
}

/// The simulator's DSP (`roomctl simulate`): `VOL x` answers `VOL=<x as
/// set>` (clamped to -60..10 dB), `STATUS ?` answers volume, mute and mic.
pub fn dsp() -> Answer {
    let dsp = Mutex::new(Dsp::default());
    Arc::new(move |line| dsp.lock().unwrap().handle(line))
}

pub struct FakeDevice {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<String>>>,
    connections: Arc<Mutex<usize>>,
    answer: Answer,
    delay: Duration,
    /// Bound but not listening yet: connections are refused.
    socket: Option<TcpSocket>,
    task: Option<JoinHandle<()>>,
}

impl FakeDevice {
    /// A device listening on a free loopback port, answering each line
    /// with `answer`, each answer `delay` after the line arrived.
    pub fn start(answer: Answer, delay: Duration) -> FakeDevice {
        let mut device = FakeDevice::switched_off(answer, delay);
        device.switch_on();
        device
    }

    /// A device whose port refuses connections until [`switch_on`].
    pub fn switched_off(answer: Answer, delay: Duration) -> FakeDevice {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind loopback");
        FakeDevice {
            addr: socket.local_addr().unwrap(),
            received: Arc::default(),
            connections: Arc::default(),
            answer,
            delay,
            socket: Some(socket),
            task: None,
        }
    }

    /// Starts accepting connections on the device's port.
    pub fn switch_on(&mut self) {
        let socket = self.socket.take().expect("switched off before");
        let listener = socket.listen(16).expect("listen");
        self.task = Some(tokio::spawn(serve(
            listener,
            self.received.clone(),
            self.connections.clone(),
            self.answer.clone(),
            self.delay,
        )));
    }

    /// Stops the device on the spot (its power cut): its connections drop
    /// and its port refuses new ones until [`switch_on`] again.
    pub async fn switch_off(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // Its listener must be closed before the port is bound again.
            let _ = task.await;
        }
        let socket = TcpSocket::new_v4().expect("a socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket
            .bind(self.addr)
            .expect("bind the device's port again");
        self.socket = Some(socket);
    }

    /// Every line received so far (terminators removed), oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    /// The lines received that start with `prefix`.
    pub fn commands(&self, prefix: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }

    /// How many connections the controller made so far.
    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

impl Drop for FakeDevice {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn serve(
    listener: TcpListener,
    received: Arc<Mutex<Vec<String>>>,
    connections: Arc<Mutex<usize>>,
    answer: Answer,
    delay: Duration,
) {
    let mut tasks = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        *connections.lock().unwrap() += 1;
        tasks.spawn(connection(stream, received.clone(), answer.clone(), delay));
    }
}

async fn connection(
    stream: TcpStream,
    received: Arc<Mutex<Vec<String>>>,
    answer: Answer,
    delay: Duration,
) {
    let (reader, mut writer) = stream.into_split();
    // Answers go out in order, each `delay` after its line arrived.
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, String)>();
    let writing = tokio::spawn(async move {
        while let Some((due, text)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if writer
                .write_all(format!("{text}\r").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\r', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_matches(['\r', '\n']);
        if line.is_empty() {
            continue;
        }
        received.lock().unwrap().push(line.to_string());
        let due = Instant::now() + delay;
        for a in answer(line) {
            let _ = tx.send((due, a));
        }
    }
    writing.abort();
}
