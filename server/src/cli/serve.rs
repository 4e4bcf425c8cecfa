//! `roomctl serve`: run the controller until Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};

use crate::config::{Profile, Settings};
use crate::storage::project_store::{self, ProjectStore};

#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Run this project file instead of the stored active project (or the demo).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Use this network profile's defaults (overrides `network.profile`).
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Run the built-in demo project, whatever is stored.
    #[arg(long)]
    pub demo: bool,
}

pub async fn run(config: &Path, args: ServeArgs) -> anyhow::Result<()> {
    let mut settings = Settings::load(config, args.profile)?;
    // Services find the project store through the settings.
    settings.project.dir = settings.project_dir(config);
    settings.project.drivers_dir = settings.drivers_dir(config);
    // Before any project is read: a project may name a site driver.
    crate::storage::site_drivers::install(&settings.project.drivers_dir);
    settings.audit.file = settings.audit_file(config);
    settings.telnet.settings_file = Some(config.to_path_buf());
    settings.tls.resolve_paths(config);
    settings.calendar.resolve_paths(config);
    settings.holidays.resolve_paths(config);
    let project = if args.demo {
        project_store::demo()
    } else if let Some(file) = &args.project {
        project_store::load_file(file)?
    } else {
        ProjectStore::new(settings.project_dir(config)).load_active_or_demo()
    };
    if !config.exists() {
        tracing::info!(
            "no settings file at {}; using the {:?} profile defaults (`roomctl config defaults` prints them)",
            config.display(),
            settings.network.profile
        );
    }
    if !crate::security::auth::UserStore::new(settings.users.clone()).has_admin() {
        tracing::warn!(
            "no admin user is set, so admin pages, project upload (FTP/Telnet) and authenticated central control are off. \
             Create one with: roomctl user add admin --role admin"
        );
    }
    let running = crate::runtime::serve::start(settings, project).await?;
    let controller = running.controller.clone();
    for s in controller.status().services() {
        tracing::info!("{:<10} {:<28} {}", s.name, s.endpoint, s.state);
    }
    if let Some(addr) = running.addrs.panel {
        println!(
            "roomctl is running \"{}\".",
            controller.project().project.name
        );
        println!("  Tablet panel:  http://{addr}/");
    }
    if let Some(addr) = running.addrs.apprimo {
        println!("  Wall panel:    http://{addr}/");
    }
    if let Some(addr) = running.addrs.https {
        println!("  HTTPS (admin): https://{addr}/admin");
    }
    if let Some(addr) = running.addrs.panel {
        println!("  Status page:   http://{addr}/status");
    }
    if let Some(addr) = running.addrs.panel {
        println!("  Admin page:    http://{addr}/admin");
    }
    if let Some(addr) = running.addrs.ftp {
        println!("  Projects FTP:  ftp://{addr}/");
    }
    if let Some(addr) = running.addrs.telnet {
        println!("  Console:       telnet {} {}", addr.ip(), addr.port());
    }
    println!("Press Ctrl-C to stop.");
    let (stop, engine) = (
        tokio_util::sync::CancellationToken::new(),
        controller.clone(),
    );
    // Alive when the engine's lock can be taken.
    crate::runtime::systemd::ready("serving", stop.clone(), move || {
        engine.revision();
        true
    });
    wait_for_signal().await;
    crate::runtime::systemd::stopping();
    stop.cancel();
    running.shutdown().await;
    Ok(())
}

pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
