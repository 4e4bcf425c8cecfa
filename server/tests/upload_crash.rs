//! Crash consistency: the real `roomctl` process is killed (SIGKILL) during
//! uploads and during applies, 20 times at varying moments, and after every
//! kill the stored project is valid and the restarted controller runs it.
//! Loopback only.

use crate::support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use controller_core::project::Project;
use support::ftp::Control;
use support::telnet::{self, read_until};
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const ITERATIONS: u32 = 20;

/// The settings file of the spawned controller: the test's settings (users
/// included) with these ports.
fn write_settings(h: &TestEnv, ftp: u16, telnet: u16, auto_apply: bool) {
    let mut s = h.settings.clone();
    s.ftp.port = ftp;
    s.telnet.port = telnet;
    s.project.auto_apply = auto_apply;
    std::fs::write(h.settings_file(), s.to_toml()).unwrap();
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

fn spawn(h: &TestEnv) -> tokio::process::Child {
    spawn_roomctl(&h.settings_file())
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
    let mut c = Control::login(ftp, ADMIN, ADMIN_PW).await;
    c.cmd("TYPE I").await;
    let mut data = c.passive().await;
    c.send("STOR room.toml").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_upload_and_apply_always_leaves_a_valid_project() {
    let h = TestSettings::upload((41200, 41299));
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
            let mut s = telnet::login(telnet_addr, ADMIN, ADMIN_PW).await;
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
        let mut s = telnet::login(telnet_addr, ADMIN, ADMIN_PW).await;
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
    let mut c = Control::login(ftp, ADMIN, ADMIN_PW).await;
    c.cmd("TYPE I").await;
    let mut data = c.passive().await;
    assert!(c.cmd("STOR room.toml").await.starts_with("150"));
    data.write_all(text.as_bytes()).await.unwrap();
    drop(data);
    let done = c.reply().await;
    assert!(done.starts_with("226"), "upload: {done}");
}
