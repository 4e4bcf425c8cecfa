//! Live updates (UDP 8001): one datagram per LED-changing step with its
//! revision, full status on a project load and on the timer, and a socket
//! that ignores whatever is sent to it.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use controller_core::engine::Command;
use controller_core::project::demo_project;
use controller_core::protocol::live_broadcast::LiveMessage;
use support::{press, TestSettings};
use tokio::net::UdpSocket;

/// Live updates to 127.0.0.1:`port`, central control and the two HTTP ports.
fn live_settings(name: &str, port: u16) -> TestSettings {
    TestSettings::only(&["panel", "apprimo", "live", "central"])
        .name(name)
        .edit(|s| {
            s.live.destination = "127.0.0.1".parse().unwrap();
            s.live.port = port;
        })
}

async fn next(socket: &UdpSocket) -> LiveMessage {
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("a live datagram")
        .unwrap();
    LiveMessage::decode(&buf[..n]).unwrap()
}

#[tokio::test]
async fn steps_full_status_and_garbage() {
    let listener = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let live_port = listener.local_addr().unwrap().port();
    let running = live_settings("Live room", live_port)
        .edit(|s| s.live.full_status_secs = 1)
        .start_demo()
        .await;
    let c = &running.controller;

    // Garbage at the (send-only) live socket changes nothing.
    let hostile = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for size in [0usize, 1, 6, 100, 9000, 60_000] {
        hostile
            .send_to(&vec![0x5a; size], running.addrs.live.unwrap())
            .await
            .unwrap();
    }

    let press = |button: &str| Command::Press {
        button: button.into(),
        source: "test".into(),
    };
    // Selecting a source lights it: one datagram. Selecting another is one
    // step that changes two LEDs: still one datagram.
    c.execute(press("src_hdmi1")).unwrap();
    let step2 = c.execute(press("src_hdmi2")).unwrap().unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        if let LiveMessage::Changes { revision, leds, .. } = next(&listener).await {
            got.push((revision, leds));
        }
    }
    assert_eq!(got[1].0, step2.step.revision);
    assert_eq!(got[1].1.len(), 2, "{:?}", got[1]);
    assert_eq!(got[0].0 + 1, got[1].0);

    // The timer's full status.
    loop {
        if let LiveMessage::FullStatus { revision, leds, .. } = next(&listener).await {
            assert!(revision >= step2.step.revision);
            assert_eq!(leds.len(), c.snapshot().buttons.len());
            break;
        }
    }

    // A project load: full status at the load's revision.
    let load = c
        .execute(Command::LoadProject {
            project: Arc::new(demo_project().clone()),
            source: "test".into(),
        })
        .unwrap()
        .unwrap();
    loop {
        if let LiveMessage::FullStatus {
            revision,
            project_name,
            leds,
            ..
        } = next(&listener).await
        {
            if revision == load.step.revision {
                assert_eq!(project_name, "Demo meeting room");
                // A loaded project keeps the state of the buttons it still
                // has (same id, kind and group): the selected source only.
                let lit: Vec<&str> = leds
                    .iter()
                    .filter(|l| l.led.mode.is_lit())
                    .map(|l| l.button.as_str())
                    .collect();
                assert_eq!(lit, ["src_hdmi2"], "{leds:?}");
                break;
            }
        }
    }
    running.shutdown().await;
}

#[tokio::test]
async fn the_watch_command_line_tool_prints_each_datagram() {
    use tokio::io::AsyncBufReadExt;
    let port = {
        let probe = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut watch = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .args([
            "watch",
            "--listen",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--count",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait until it listens.
    let mut stderr = tokio::io::BufReader::new(watch.stderr.take().unwrap()).lines();
    let first = stderr.next_line().await.unwrap().unwrap();
    assert!(first.contains("listening"), "{first}");

    let running = live_settings("Watched room", port).start_demo().await;
    press(&running.controller, "mute");
    let out = tokio::time::timeout(Duration::from_secs(10), watch.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("rev 1: mute=on/red"), "{text}");
    running.shutdown().await;
}

/// A long text variable reads the same on 8001 and on central control
/// (5009): cut to 255 bytes at a character boundary everywhere. A level
/// without a mute has no mute entry in the full values datagram (and
/// `"muted": null` in JSON); a level with one has it.
#[tokio::test]
async fn values_read_the_same_on_8001_and_central_control() {
    use controller_core::project::Value;
    use controller_core::protocol::live_broadcast::ValueEntry;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let client: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let listener = UdpSocket::bind((client, 0)).await.unwrap();
    let live_port = listener.local_addr().unwrap().port();
    let running = live_settings("Values room", live_port)
        .edit(|s| {
            s.live.destination = client;
            s.live.full_status_secs = 1;
            s.central.require_login = false;
        })
        .start_demo()
        .await;
    let long = "é".repeat(300);
    running
        .controller
        .execute(Command::SetVariable {
            variable: "projector_state".into(),
            value: Value::Text(long.clone()),
            source: "test".into(),
        })
        .unwrap();

    let on_8001 = loop {
        if let LiveMessage::Values {
            full: false,
            entries,
            ..
        } = next(&listener).await
        {
            if let Some(ValueEntry::Variable {
                value: Value::Text(t),
                ..
            }) = entries.first()
            {
                break t.clone();
            }
        }
    };
    assert_eq!(on_8001, "é".repeat(127));

    let central = running.addrs.central.unwrap();
    let stream = support::http::connect_from(client, central).await;
    let mut c = tokio::io::BufReader::new(stream);
    let mut line = Vec::new();
    c.read_until(b'\n', &mut line).await.unwrap(); // hello
    c.get_mut()
        .write_all(b"{\"type\":\"status\"}\n")
        .await
        .unwrap();
    line.clear();
    tokio::time::timeout(Duration::from_secs(10), c.read_until(b'\n', &mut line))
        .await
        .unwrap()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(
        status["snapshot"]["variables"]["projector_state"], on_8001,
        "5009 and 8001 carry the same text"
    );
    assert!(status["snapshot"]["levels"]["mic"]["muted"].is_null());

    let entries = loop {
        if let LiveMessage::Values {
            full: true,
            entries,
            ..
        } = next(&listener).await
        {
            break entries;
        }
    };
    let mutes: Vec<&str> = entries
        .iter()
        .filter_map(|e| match e {
            ValueEntry::Mute { level, .. } => Some(level.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(mutes, ["volume"], "{entries:?}");
    running.shutdown().await;
}
