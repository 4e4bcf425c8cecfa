//! A reference for the fan-out: the cost of the deliveries themselves.
//!
//! The same measurement as for roomctl, without roomctl: a plain loop writes
//! one ready-made WebSocket frame of the step's size to N loopback TCP
//! sockets (one `write` each, `TCP_NODELAY`, on one thread or one per
//! core), read by the same lean panels. There is no server logic in it, so
//! what roomctl adds on top of the kernel's work shows as the difference.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::lean::LeanPanels;
use crate::{ms, percentile, until_every_panel, PRESSES};

/// A server text frame of `len` bytes in all, shaped like a step with an
/// LED change so the lean panels count it.
fn step_frame(len: usize) -> Vec<u8> {
    let head = br#"{"type":"step","step":{"changes":[{"type":"led"}"#;
    let header = if len.saturating_sub(2) < 126 { 2 } else { 4 };
    let payload_len = len.saturating_sub(header).max(head.len() + 3);
    let mut payload = head.to_vec();
    payload.resize(payload_len - 3, b' ');
    payload.extend_from_slice(b"]}}");
    let mut frame = vec![0x81];
    if payload.len() < 126 {
        frame.push(payload.len() as u8);
    } else {
        frame.push(126);
        frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    frame.extend_from_slice(&payload);
    frame
}

/// CPU time the calling thread has used so far.
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Returns the writers' CPU per delivered frame.
pub async fn plain_write_loop(n: usize, frame_len: usize, threads: usize) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().unwrap();
    let mut clients = Vec::with_capacity(n);
    let mut servers = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(TcpStream::connect(addr).expect("connect"));
        let (s, _) = listener.accept().expect("accept");
        s.set_nodelay(true).unwrap();
        servers.push(s);
    }
    let frame = step_frame(frame_len);
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let panels = LeanPanels::start(clients, tx);

    // `threads` writers, each with its share of the sockets.
    let cores = threads.max(1);
    let mut go = Vec::new();
    let mut writers = Vec::new();
    let mut shares: Vec<Vec<TcpStream>> = (0..cores).map(|_| Vec::new()).collect();
    for (i, s) in servers.into_iter().enumerate() {
        shares[i % cores].push(s);
    }
    for share in shares {
        let (go_tx, go_rx) = std_mpsc::channel::<()>();
        let frame = frame.clone();
        go.push(go_tx);
        writers.push(std::thread::spawn(move || {
            // Only the writes count: waiting for the go is not work.
            let mut cpu = Duration::ZERO;
            while go_rx.recv().is_ok() {
                let t0 = thread_cpu();
                for mut s in &share {
                    s.write_all(&frame).expect("write");
                }
                cpu += thread_cpu() - t0;
            }
            cpu
        }));
    }

    let mut all = Vec::new();
    let mut each = Vec::new();
    for _ in 0..PRESSES {
        let t0 = Instant::now();
        for g in &go {
            g.send(()).unwrap();
        }
        all.push(until_every_panel(&mut rx, n, t0, &mut each).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(go);
    let mut cpu = Duration::ZERO;
    for w in writers {
        cpu += w.join().unwrap_or_default();
    }
    let per_frame = cpu / (n * PRESSES).max(1) as u32;
    drop(panels);
    all.sort();
    each.sort();
    println!(
        "{n:>5} sockets | reference: plain write loop, {cores} thread(s), no server: until every panel p50 {} p99 {} max {} | per panel p50 {}",
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(*all.last().unwrap()),
        ms(percentile(&each, 0.5)),
    );
    println!(
        "      reference CPU per delivered frame (writer threads): {}",
        crate::us(per_frame)
    );
    per_frame
}
