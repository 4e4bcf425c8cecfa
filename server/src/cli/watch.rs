//! `roomctl watch`: live updates (UDP 8001) as they arrive, one line per
//! datagram. Listens on the loopback broadcast address by default (a
//! development controller's destination); on a LAN use `--listen 0.0.0.0`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use controller_core::project::format_number;
use controller_core::protocol::live_broadcast::{LedEntry, LiveMessage, ValueEntry, MAX_DATAGRAM};

use crate::services::lan_socket::shared_udp;

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The address to listen on: the controllers' live-update destination
    /// (a broadcast address) or 0.0.0.0 for all.
    #[arg(long, default_value = "127.255.255.255")]
    pub listen: IpAddr,
    /// The live-update port.
    #[arg(long, default_value_t = 8001)]
    pub port: u16,
    /// Stop after this many datagrams.
    #[arg(long)]
    pub count: Option<usize>,
}

pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    let listen = if args.listen == IpAddr::V4(Ipv4Addr::BROADCAST) {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        args.listen
    };
    let socket = shared_udp(SocketAddr::new(listen, args.port))
        .map_err(|e| anyhow::anyhow!("cannot listen on UDP {listen}:{}: {e}", args.port))?;
    eprintln!(
        "listening for live updates on UDP {listen}:{} (Ctrl-C to stop)",
        args.port
    );
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    let mut last: HashMap<SocketAddr, u64> = HashMap::new();
    let mut seen = 0;
    while args.count.is_none_or(|c| seen < c) {
        let (n, from) = socket.recv_from(&mut buf).await?;
        let line = match LiveMessage::decode(&buf[..n]) {
            Ok(m) => describe(&m, last.get(&from).copied(), &mut last, from),
            Err(e) => format!("{from}: not a live update ({e})"),
        };
        println!("{line}");
        seen += 1;
    }
    Ok(())
}

fn leds(entries: &[LedEntry]) -> String {
    entries
        .iter()
        .map(|e| {
            format!(
                "{}={}/{}",
                e.button,
                e.led.mode.as_str(),
                e.led.color.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line for a datagram, noting restarts (revision going back).
pub fn describe(
    m: &LiveMessage,
    previous: Option<u64>,
    last: &mut HashMap<SocketAddr, u64>,
    from: SocketAddr,
) -> String {
    match m {
        LiveMessage::Changes {
            revision,
            truncated,
            leds: entries,
        } => {
            last.insert(from, *revision);
            let note = match previous {
                Some(p) if *revision <= p => " (revision went back: the controller restarted)",
                _ => "",
            };
            let more = if *truncated { " (truncated)" } else { "" };
            format!("{from} rev {revision}: {}{more}{note}", leds(entries))
        }
        LiveMessage::FullStatus {
            revision,
            truncated,
            project_name,
            project_revision,
            leds: entries,
        } => {
            last.insert(from, *revision);
            let lit: Vec<LedEntry> = entries
                .iter()
                .filter(|e| e.led.mode.is_lit())
                .cloned()
                .collect();
            let more = if *truncated { " (truncated)" } else { "" };
            format!(
                "{from} rev {revision}: full status of \"{project_name}\" (project rev {project_revision}), {} LEDs, lit: {}{more}",
                entries.len(),
                leds(&lit)
            )
        }
        LiveMessage::Device {
            id,
            kind,
            address,
            online,
        } => format!(
            "{from} device {id} ({kind}) at {address} is {}",
            if *online { "online" } else { "offline" }
        ),
        LiveMessage::Values {
            revision,
            truncated,
            full,
            entries,
        } => {
            let what = if *full { "all values" } else { "values" };
            let more = if *truncated { " (truncated)" } else { "" };
            format!("{from} rev {revision}: {what}: {}{more}", values(entries))
        }
    }
}

/// `volume=-20.5 volume:muted state="on"`
fn values(entries: &[ValueEntry]) -> String {
    entries
        .iter()
        .map(|e| match e {
            ValueEntry::Level { level, value } => format!("{level}={}", format_number(*value)),
            ValueEntry::Mute { level, muted } => {
                format!("{level}:{}", if *muted { "muted" } else { "unmuted" })
            }
            ValueEntry::Variable { variable, value } => {
                format!("{variable}={:?}", value.to_string())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
