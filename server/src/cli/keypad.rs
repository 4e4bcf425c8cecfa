//! `roomctl keypad`: a simulated extension keypad on the multicast bus
//! (224.10.10.25:7979). It announces itself (and answers every controller
//! keep-alive), prints its LEDs when the controller sends them, and sends
//! presses typed on standard input:
//!
//! ```text
//! mute            press and release "mute"
//! press mute      press (hold) "mute"
//! release mute    release it
//! quit            say goodbye and stop (so does Ctrl-C)
//! ```
//!
//! Development defaults keep the traffic on this host: interface 127.0.0.1,
//! TTL 0 (loopback needs MULTICAST; see docs/protocols.md).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use controller_core::project::Led;
use controller_core::protocol::extension::{ExtensionMessage, KeyAction, MAX_DATAGRAM};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UdpSocket;

use crate::services::lan_socket::multicast_udp;

#[derive(Debug, clap::Args)]
pub struct KeypadArgs {
    /// The keypad's device id.
    #[arg(long, default_value = "keypad-1")]
    pub id: String,
    /// The engine buttons its keys operate, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "display_power,src_hdmi1,src_hdmi2,src_pc,mute"
    )]
    pub keys: Vec<String>,
    #[arg(long, default_value = "224.10.10.25")]
    pub group: Ipv4Addr,
    #[arg(long, default_value_t = 7979)]
    pub port: u16,
    /// The interface address to use (a LAN address on a real installation).
    #[arg(long, default_value = "127.0.0.1")]
    pub interface: Ipv4Addr,
    /// Multicast TTL (0 keeps the traffic on this host).
    #[arg(long, default_value_t = 0)]
    pub ttl: u32,
}

/// A keypad on the bus: the part of the simulator tests use directly.
pub struct SimKeypad {
    pub id: String,
    pub keys: Vec<String>,
    socket: UdpSocket,
    group: SocketAddr,
    seq: u32,
    /// The LEDs the controller last sent.
    pub leds: BTreeMap<String, Led>,
}

impl SimKeypad {
    pub fn join(
        id: &str,
        keys: Vec<String>,
        group: Ipv4Addr,
        port: u16,
        interface: Ipv4Addr,
        ttl: u32,
    ) -> anyhow::Result<SimKeypad> {
        let socket = multicast_udp(group, port, interface, ttl).map_err(|e| {
            anyhow::anyhow!("cannot join multicast group {group} on {interface}: {e}")
        })?;
        Ok(SimKeypad {
            id: id.to_string(),
            keys,
            socket,
            group: SocketAddrV4::new(group, port).into(),
            seq: 0,
            leds: BTreeMap::new(),
        })
    }

    pub async fn send(&self, message: &ExtensionMessage) -> anyhow::Result<()> {
        self.socket.send_to(&message.encode(), self.group).await?;
        Ok(())
    }

    /// Sends raw bytes to the group (tests of hostile input).
    pub async fn send_raw(&self, bytes: &[u8]) {
        let _ = self.socket.send_to(bytes, self.group).await;
    }

    pub async fn announce(&self) -> anyhow::Result<()> {
        self.send(&ExtensionMessage::Announce {
            device: self.id.clone(),
            kind: "keypad".into(),
            firmware: env!("CARGO_PKG_VERSION").into(),
            keys: self.keys.clone(),
        })
        .await
    }

    pub async fn key(&mut self, button: &str, action: KeyAction) -> anyhow::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        self.send(&ExtensionMessage::Key {
            device: self.id.clone(),
            seq: self.seq,
            action,
            button: button.into(),
        })
        .await
    }

    pub async fn goodbye(&self) -> anyhow::Result<()> {
        self.send(&ExtensionMessage::Goodbye {
            device: self.id.clone(),
        })
        .await
    }

    /// Waits for the next message for this keypad: answers a controller's
    /// keep-alive itself and returns the LEDs sent to it (also kept in
    /// `leds`).
    pub async fn next_leds(&mut self) -> anyhow::Result<Vec<(String, Led)>> {
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let (n, _) = self.socket.recv_from(&mut buf).await?;
            match ExtensionMessage::decode(&buf[..n]) {
                Ok(ExtensionMessage::ControllerHello { .. }) => self.announce().await?,
                Ok(ExtensionMessage::Leds { device, leds, .. }) if device == self.id => {
                    for (b, led) in &leds {
                        self.leds.insert(b.clone(), *led);
                    }
                    return Ok(leds);
                }
                _ => {}
            }
        }
    }
}

fn show(leds: &BTreeMap<String, Led>) -> String {
    leds.iter()
        .map(|(b, l)| format!("{b}={}/{}", l.mode.as_str(), l.color.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn run(args: KeypadArgs) -> anyhow::Result<()> {
    let mut keypad = SimKeypad::join(
        &args.id,
        args.keys.clone(),
        args.group,
        args.port,
        args.interface,
        args.ttl,
    )?;
    keypad.announce().await?;
    println!(
        "keypad {} on {}:{} via {} with keys: {}",
        args.id,
        args.group,
        args.port,
        args.interface,
        args.keys.join(", ")
    );
    println!("type a key name to press and release it, `press KEY`, `release KEY`, or `quit`");
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            leds = keypad.next_leds() => {
                leds?;
                println!("LEDs: {}", show(&keypad.leds));
            }
            line = stdin.next_line(), if stdin_open => match line? {
                None => stdin_open = false,
                Some(line) => {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    match words.as_slice() {
                        [] => {}
                        ["quit"] | ["exit"] => break,
                        ["press", b] => keypad.key(b, KeyAction::Press).await?,
                        ["release", b] => keypad.key(b, KeyAction::Release).await?,
                        [b] => {
                            keypad.key(b, KeyAction::Press).await?;
                            keypad.key(b, KeyAction::Release).await?;
                        }
                        _ => println!("? type a key name, `press KEY`, `release KEY` or `quit`"),
                    }
                }
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    keypad.goodbye().await?;
    println!("keypad {} said goodbye", args.id);
    Ok(())
}
