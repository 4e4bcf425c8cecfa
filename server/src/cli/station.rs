//! `roomctl station`: run the central station (see `crate::station` and
//! docs/station.md) with the `[station]` section and `[[users]]` of the
//! settings file, until Ctrl-C or SIGTERM.

use std::path::Path;

use crate::config::{Profile, Settings};

#[derive(Debug, Default, clap::Args)]
pub struct StationArgs {
    /// Use this profile's defaults (development: loopback, port 3100; lan:
    /// 0.0.0.0, port 8090, lookup by broadcast on 255.255.255.255).
    #[arg(long)]
    pub profile: Option<Profile>,
}

pub async fn run(config: &Path, args: StationArgs) -> anyhow::Result<()> {
    let settings = Settings::load(config, args.profile)?;
    let base = config.parent().unwrap_or(Path::new("."));
    let password = crate::station::read_password(&settings.station, base)?;
    let running = crate::station::start(&settings, password, base).await?;
    println!("station: http://{}/", running.addr);
    let (stop, station) = (running.station.shutdown.clone(), running.station.clone());
    // Alive when the alert history's lock can be taken.
    crate::runtime::systemd::ready("watching rooms", stop, move || {
        drop(station.alerts.history());
        true
    });
    crate::cli::serve::wait_for_signal().await;
    crate::runtime::systemd::stopping();
    running.shutdown().await;
    Ok(())
}
