//! `roomctl simulate`: run the simulated room devices the demo project
//! talks to (a PJLink projector, a video matrix and an audio DSP), on
//! loopback by default; or, with `--driver`, the simulated devices of
//! library drivers (`--driver samsung-mdc --listen 127.0.0.1:1515`, several
//! at once, each `--driver` paired with the `--listen` in the same place).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use controller_core::driver::library::Library;
use controller_core::driver::simulator::Fault;
use controller_core::driver::Value;

use crate::simulator::driver::DriverSimulator;
use crate::simulator::{Simulator, SimulatorConfig};

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Where the PJLink class 1 projector listens.
    #[arg(long, default_value = "127.0.0.1:4352")]
    pub projector: SocketAddr,
    /// Where the line-based video matrix listens.
    #[arg(long, default_value = "127.0.0.1:4353")]
    pub matrix: SocketAddr,
    /// Where the audio DSP (volume in dB, mute, microphone meter) listens.
    #[arg(long, default_value = "127.0.0.1:4354")]
    pub dsp: SocketAddr,
    /// Seconds the projector takes to warm up after power on (0-3600).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub warmup_secs: u64,
    /// Seconds the projector takes to cool down after power off (0-3600).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub cooldown_secs: u64,
    /// A library driver to simulate (repeatable; `roomctl simulate --list`
    /// names them). Replaces the three demo devices.
    #[arg(long = "driver")]
    pub drivers: Vec<String>,
    /// Where each --driver listens, in the same order.
    #[arg(long = "listen")]
    pub listens: Vec<SocketAddr>,
    /// How the simulated devices misbehave: none, silent, slow[:ms],
    /// garbled, disconnecting[:n], refuse-login. One for all, or one per --driver.
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// A device setting, name=value (e.g. password=secret), for every
    /// simulated driver that has it.
    #[arg(long = "setting")]
    pub settings: Vec<String>,
    /// Also answer the LAN searches each driver declares (PJLink class 2
    /// search on UDP 4352, SSDP on UDP 1900), from its --listen address.
    #[arg(long)]
    pub answer_searches: bool,
    /// List the library's drivers and exit.
    #[arg(long)]
    pub list: bool,
}

/// Starts one simulator per `--driver`.
pub async fn start_drivers(args: &SimulateArgs) -> anyhow::Result<Vec<DriverSimulator>> {
    if args.drivers.len() != args.listens.len() {
        bail!(
            "give one --listen per --driver ({} drivers, {} addresses)",
            args.drivers.len(),
            args.listens.len()
        );
    }
    if args.faults.len() > 1 && args.faults.len() != args.drivers.len() {
        bail!("give one --fault for all drivers, or one per --driver");
    }
    let faults = args
        .faults
        .iter()
        .map(|f| Fault::parse(f).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    for s in &args.settings {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("--setting {s:?} is not name=value"))?;
        given.insert(k.trim().to_string(), v.to_string());
    }
    // The library and the site's drivers (`roomctl simulate` reads them
    // first, as `roomctl serve` does).
    let library = Library::shared();
    let mut started = Vec::new();
    for (i, (name, addr)) in args.drivers.iter().zip(&args.listens).enumerate() {
        let Some(driver) = library.get(name) else {
            let close = controller_core::project::drivers::closest_drivers(name, library);
            let hint = if close.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", close.join(" or "))
            };
            bail!("there is no driver {name:?} in the library (roomctl simulate --list){hint}");
        };
        let mut values = BTreeMap::new();
        for s in &driver.settings {
            if let Some(v) = given.get(&s.name) {
                let v = s
                    .kind
                    .from_user(v)
                    .map_err(|e| anyhow::anyhow!("{name}: setting {}: {e}", s.name))?;
                values.insert(s.name.clone(), v);
            }
        }
        let mut settings: BTreeMap<String, Value> = driver
            .settings
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.default.clone().unwrap_or_else(|| s.kind.sample()),
                )
            })
            .collect();
        settings.extend(values);
        let fault = faults
            .get(i)
            .or(faults.first())
            .copied()
            .unwrap_or_default();
        let mut sim = DriverSimulator::start(Arc::clone(driver), settings, fault, *addr).await?;
        if args.answer_searches {
            match sim.addr.ip() {
                std::net::IpAddr::V4(ip) => {
                    for heard in sim.answer_searches(ip).await? {
                        println!("Simulated {name} answers searches on udp {heard}");
                    }
                }
                std::net::IpAddr::V6(_) => {
                    bail!("{name}: --answer-searches needs an IPv4 --listen address")
                }
            }
        }
        started.push(sim);
    }
    Ok(started)
}

pub async fn run(config: &std::path::Path, args: SimulateArgs) -> anyhow::Result<()> {
    // The site's drivers too, from the folder `roomctl serve` reads (a
    // settings file that does not load leaves the library alone).
    match crate::config::Settings::load(config, None) {
        Ok(settings) => {
            for file in &crate::storage::site_drivers::install(&settings.drivers_dir(config)).errors
            {
                eprintln!("site driver left out: {file}");
            }
        }
        Err(e) => eprintln!("the site's drivers are not read: {e:#}"),
    }
    if args.list {
        for (id, d) in &Library::shared().drivers {
            println!(
                "{id:24} {} ({})",
                d.identity.name,
                d.identity.category.as_str()
            );
        }
        return Ok(());
    }
    if !args.drivers.is_empty() {
        let sims = start_drivers(&args).await?;
        for s in &sims {
            let transport = match s.driver.transport.kind {
                controller_core::driver::TransportKind::Udp => "udp",
                controller_core::driver::TransportKind::Http => "http",
                _ => "tcp",
            };
            println!(
                "Simulated {} ({}) on {transport} {}",
                s.driver.id, s.driver.identity.name, s.addr
            );
        }
        println!("Press Ctrl-C to stop.");
        super::serve::wait_for_signal().await;
        for s in sims {
            s.shutdown().await;
        }
        return Ok(());
    }
    let sim = Simulator::start(SimulatorConfig {
        projector: Some(args.projector),
        matrix: Some(args.matrix),
        dsp: Some(args.dsp),
        warmup: Duration::from_secs(args.warmup_secs),
        cooldown: Duration::from_secs(args.cooldown_secs),
    })
    .await?;
    if let Some(a) = sim.projector_addr {
        println!(
            "Simulated PJLink projector on tcp {a} (warm-up {} s, cool-down {} s)",
            args.warmup_secs, args.cooldown_secs
        );
    }
    if let Some(a) = sim.matrix_addr {
        println!(
            "Simulated video matrix on tcp {a} (ROUTE <in> <out>, ROUTE? <out>, STATUS, PING, RELAY <n> PULSE)"
        );
    }
    if let Some(a) = sim.dsp_addr {
        println!("Simulated audio DSP on tcp {a} (VOL <dB>|UP|DOWN, MUTE <1/0>, STATUS ?)");
    }
    println!("Press Ctrl-C to stop.");
    super::serve::wait_for_signal().await;
    sim.shutdown().await;
    Ok(())
}
