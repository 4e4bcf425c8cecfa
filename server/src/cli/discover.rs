//! `roomctl discover`: every controller on the LAN, as a table (lookup,
//! UDP 8000). Sends one lookup request and collects the answers, broadcast
//! (on port 8000) and unicast alike.
//!
//! The default target is the loopback broadcast address, so a plain
//! `roomctl discover` on a development machine never leaves it; installers
//! pass `--to 255.255.255.255` (or the subnet's broadcast address).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use crate::services::lookup::discover::{discover, Found};

#[derive(Debug, clap::Args)]
pub struct DiscoverArgs {
    /// Where to send the request: a broadcast address (255.255.255.255 or the
    /// subnet's on a LAN) or one controller's address.
    #[arg(long, default_value = "127.255.255.255")]
    pub to: IpAddr,
    /// The lookup port.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// How long to collect answers, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub wait_ms: u64,
}

pub async fn run(args: DiscoverArgs) -> anyhow::Result<()> {
    let found = discover(
        SocketAddr::new(args.to, args.port),
        Duration::from_millis(args.wait_ms),
    )
    .await?;
    if found.is_empty() {
        println!(
            "no controller answered a lookup sent to {}:{} within {} ms",
            args.to, args.port, args.wait_ms
        );
        return Ok(());
    }
    print!("{}", table(&found));
    Ok(())
}

/// The answers as an aligned text table.
pub fn table(found: &[Found]) -> String {
    let mut rows = vec![[
        "NAME".to_string(),
        "MODEL".into(),
        "SERIAL".into(),
        "FIRMWARE".into(),
        "ADDRESS".into(),
        "PROJECT".into(),
        "SERVICES".into(),
    ]];
    for f in found {
        let id = &f.id;
        let services: Vec<String> = id
            .services
            .iter()
            .map(|s| format!("{} {}", s.service.name(), s.port))
            .collect();
        rows.push([
            id.name.clone(),
            id.model.clone(),
            id.serial.clone(),
            id.firmware.clone(),
            id.address
                .map(|a| a.to_string())
                .unwrap_or_else(|| f.from.ip().to_string()),
            format!("{} (rev {})", id.project_name, id.project_revision),
            services.join(", "),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
