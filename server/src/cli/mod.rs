//! The `roomctl` command line: one subcommand per file.

pub mod backup;
pub mod config;
pub mod discover;
pub mod keypad;
pub mod press;
pub mod project;
pub mod restore;
pub mod serve;
pub mod simulate;
pub mod station;
pub mod user;
pub mod watch;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "roomctl",
    version,
    about = "roomctl: a room/AV control system controller"
)]
pub struct Cli {
    /// The settings file (created by `roomctl user add` if missing).
    #[arg(
        long,
        short,
        global = true,
        env = "ROOMCTL_CONFIG",
        default_value = "roomctl.toml"
    )]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller (the default when no subcommand is given).
    Serve(serve::ServeArgs),
    /// Manage users (one store for panels, admin pages, 5009, Telnet, FTP).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Show settings.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// A controller's project over the network: push, pull, validate, apply, rollback.
    #[command(subcommand)]
    Project(project::ProjectCommand),
    /// Run simulated room devices (a PJLink projector, a video matrix) for the demo.
    Simulate(simulate::SimulateArgs),
    /// Check a project file and print every error with its line and column.
    Validate {
        /// The project file (TOML).
        file: PathBuf,
    },
    /// Find every controller on the LAN (lookup, UDP 8000) and list them.
    Discover(discover::DiscoverArgs),
    /// Print live updates (UDP 8001) as they arrive.
    Watch(watch::WatchArgs),
    /// Press (and release) a button over central control (TCP 5009).
    Press(press::PressArgs),
    /// Run the central station: every room live in one browser, alerts,
    /// remote presses (the `[station]` settings section).
    Station(station::StationArgs),
    /// A simulated extension keypad on the multicast bus (7979).
    Keypad(keypad::KeypadArgs),
    /// Write one archive of this controller: settings, users, projects, history, certificate, station database.
    Backup(backup::BackupArgs),
    /// Put a backup archive back (checked first; nothing changes if it is refused).
    Restore(restore::RestoreArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve::run(&cli.config, serve::ServeArgs::default()).await,
        Some(Command::Serve(args)) => serve::run(&cli.config, args).await,
        Some(Command::User(cmd)) => user::run(&cli.config, cmd),
        Some(Command::Config(cmd)) => config::run(&cli.config, cmd),
        Some(Command::Project(cmd)) => project::run(cmd).await,
        Some(Command::Simulate(args)) => simulate::run(&cli.config, args).await,
        Some(Command::Discover(args)) => discover::run(args).await,
        Some(Command::Watch(args)) => watch::run(args).await,
        Some(Command::Press(args)) => press::run(args).await,
        Some(Command::Keypad(args)) => keypad::run(args).await,
        Some(Command::Backup(args)) => backup::run(&cli.config, args),
        Some(Command::Restore(args)) => restore::run(&cli.config, args),
        Some(Command::Station(args)) => station::run(&cli.config, args).await,
        Some(Command::Validate { file }) => {
            let loaded = crate::storage::project_store::load_file(&file)?;
            println!(
                "{}: valid project \"{}\" (revision {}): {} buttons, {} panels",
                file.display(),
                loaded.project.project.name,
                loaded.project.project.revision,
                loaded.project.buttons.len(),
                loaded.project.panels.len()
            );
            Ok(())
        }
    }
}
