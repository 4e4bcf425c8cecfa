//! Crash consistency: the real `roomctl` process is killed (SIGKILL) during
//! uploads and during applies, 20 times at varying moments, and after every
//! kill the stored project is valid and the restarted controller runs it.
//! Loopback only.

mod upload_common;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use controller_core::project::Project;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use upload_common::*;

const ITERATIONS: u32 = 20;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_settings(h: &Harness, ftp: u16, telnet: u16, auto_apply: bool) {
    let users = std::fs::read_to_string(h.settings_file()).unwrap();
    let users = users
        .split("[[users]]")
        .skip(1)
        .map(|u| format!("[[users]]{u}"))
        .collect::<String>();
    let text = format!(
        "[project]\ndir = \"project\"\nauto_apply = {auto_apply}\n\
         [panel]\nenabled = false\n[apprimo]\nenabled = false\n[lookup]\nenabled = false\n\
         [live]\nenabled = false\n[central]\nenabled = false\n[extension]\nenabled = false\n\
         [ftp]\nport = {ftp}\npassive_ports = [41200, 41299]\n[telnet]\nport = {telnet}\n\n{users}"
    );
    std::fs::write(h.settings_file(), text).unwrap();
}

async fn wait_listening(addr: SocketAddr) {
    for _ in 0..600 {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("roomctl did not start listening on {addr}");
}

fn spawn(h: &Harness) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .args(["--config", h.settings_file().to_str().unwrap(), "serve"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Every stored project that exists is complete and valid; the active one's name.
fn check_dir(dir: &Path) -> Option<String> {
    let mut active = None;
    for name in ["active.toml", "previous.toml", "pending.toml"] {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(text) => {
                let p = Project::from_toml(&text)
                    .unwrap_or_else(|e| panic!("{name} is broken after a kill:\n{e}"));
                if name == "active.toml" {
                    active = Some(p.project.name.clone());
                }
            }
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{name}: {e}"),
        }
    }
    active
}

async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return String::new();
        }
        if line.len() >= 4 && line.as_bytes()[3] == b' ' {
            return line;
        }
    }
}

/// Uploads `text` over FTP; when `kill_after_bytes` is set, the controller
/// is killed after that many bytes of the file are sent (mid-upload),
/// otherwise after `delay` once the upload is complete (during validation,
/// storing and, with auto_apply, applying).
async fn upload_and_kill(
    ftp: SocketAddr,
    text: &str,
    kill_after_bytes: Option<usize>,
    delay: Duration,
    child: &mut tokio::process::Child,
) {
    let (r, mut w) = TcpStream::connect(ftp).await.unwrap().into_split();
    let mut r = BufReader::new(r);
    assert!(reply(&mut r).await.starts_with("220"));
    w.write_all(format!("USER {ADMIN}\r\nPASS {ADMIN_PW}\r\n").as_bytes())
        .await
        .unwrap();
    reply(&mut r).await;
    assert!(reply(&mut r).await.starts_with("230"));
    w.write_all(b"TYPE I\r\n").await.unwrap();
    reply(&mut r).await;
    w.write_all(b"PASV\r\n").await.unwrap();
    let pasv = reply(&mut r).await;
    let nums: Vec<u16> = pasv[pasv.find('(').unwrap() + 1..pasv.find(')').unwrap()]
        .split(',')
        .map(|n| n.trim().parse().unwrap())
        .collect();
    let mut data = TcpStream::connect(("127.0.0.1", nums[4] * 256 + nums[5]))
        .await
        .unwrap();
    w.write_all(b"STOR room.toml\r\n").await.unwrap();
    match kill_after_bytes {
        Some(n) => {
            data.write_all(&text.as_bytes()[..n]).await.unwrap();
            tokio::time::sleep(delay).await;
            child.kill().await.unwrap();
        }
        None => {
            data.write_all(text.as_bytes()).await.unwrap();
            drop(data);
            tokio::time::sleep(delay).await;
            child.kill().await.unwrap();
        }
    }
}

async fn telnet_login(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    read_until(&mut s, "login: ").await;
    s.write_all(format!("{ADMIN}\n").as_bytes()).await.unwrap();
    read_until(&mut s, "Password: ").await;
    s.write_all(format!("{ADMIN_PW}\n").as_bytes())
        .await
        .unwrap();
    read_until(&mut s, "roomctl> ").await;
    s
}

async fn read_until(s: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if text.contains(needle) {
            return text;
        }
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("waiting for {needle:?}; got {text:?}"))
            .unwrap();
        assert!(n > 0, "closed while waiting for {needle:?}: {text:?}");
        got.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_upload_and_apply_always_leaves_a_valid_project() {
    let h = harness((41200, 41299));
    let dir = h.project_dir();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut outcomes = (0, 0);
    for i in 0..ITERATIONS {
        let (ftp, telnet) = (free_port(), free_port());
        let during_upload = i % 2 == 0;
        write_settings(&h, ftp, telnet, during_upload);
        let mut child = spawn(&h);
        let ftp_addr = SocketAddr::from(([127, 0, 0, 1], ftp));
        let telnet_addr = SocketAddr::from(([127, 0, 0, 1], telnet));
        wait_listening(ftp_addr).await;
        wait_listening(telnet_addr).await;
        let text = project(&format!("Crash {i}"), i + 1);
        let delay = Duration::from_micros(random(60_000));
        if during_upload {
            // auto_apply is on: a complete upload is validated, stored and applied.
            let cut = if random(3) == 0 {
                Some(random(text.len() as u64) as usize)
            } else {
                None
            };
            upload_and_kill(ftp_addr, &text, cut, delay, &mut child).await;
        } else {
            // Upload (pending), then kill during `project apply`.
            let mut s = telnet_login(telnet_addr).await;
            upload_and_kill_free(ftp_addr, &text).await;
            s.write_all(b"project apply\n").await.unwrap();
            tokio::time::sleep(delay).await;
            child.kill().await.unwrap();
        }
        let _ = child.wait().await;

        // On disk: old or new, never broken.
        let active = check_dir(&dir);
        if active.as_deref() == Some(format!("Crash {i}").as_str()) {
            outcomes.0 += 1;
        } else {
            outcomes.1 += 1;
        }
        // And the restarted controller runs exactly that project.
        let mut child = spawn(&h);
        wait_listening(telnet_addr).await;
        let mut s = telnet_login(telnet_addr).await;
        s.write_all(b"status\n").await.unwrap();
        let status = read_until(&mut s, "roomctl> ").await;
        let expected = active.clone().unwrap_or_else(|| "Demo meeting room".into());
        assert!(
            status.contains(&format!("\"{expected}\"")),
            "iteration {i}: expected {expected}, status:\n{status}"
        );
        child.kill().await.unwrap();
        let _ = child.wait().await;
        // No temporary file survives a restart.
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".tmp"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
    println!(
        "kills that left the new project: {}, the old one: {}",
        outcomes.0, outcomes.1
    );
}

/// An upload that completes (the process stays up).
async fn upload_and_kill_free(ftp: SocketAddr, text: &str) {
    let (r, mut w) = TcpStream::connect(ftp).await.unwrap().into_split();
    let mut r = BufReader::new(r);
    reply(&mut r).await;
    for cmd in [
        format!("USER {ADMIN}"),
        format!("PASS {ADMIN_PW}"),
        "TYPE I".into(),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).await.unwrap();
        reply(&mut r).await;
    }
    w.write_all(b"PASV\r\n").await.unwrap();
    let pasv = reply(&mut r).await;
    let nums: Vec<u16> = pasv[pasv.find('(').unwrap() + 1..pasv.find(')').unwrap()]
        .split(',')
        .map(|n| n.trim().parse().unwrap())
        .collect();
    let mut data = TcpStream::connect(("127.0.0.1", nums[4] * 256 + nums[5]))
        .await
        .unwrap();
    w.write_all(b"STOR room.toml\r\n").await.unwrap();
    assert!(reply(&mut r).await.starts_with("150"));
    data.write_all(text.as_bytes()).await.unwrap();
    drop(data);
    let done = reply(&mut r).await;
    assert!(done.starts_with("226"), "upload: {done}");
}
