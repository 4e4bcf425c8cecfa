//! `roomctl simulate`: run the simulated room devices the demo project
//! talks to (a PJLink projector, a video matrix and an audio DSP), on
//! loopback by default.

use std::net::SocketAddr;
use std::time::Duration;

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
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
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
