//! The `roomctl` binary. See `roomctl --help` and docs/.

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("ROOMCTL_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    // Every panel holds a connection: allow as many sockets as the system does.
    if let Err(e) = rlimit::increase_nofile_limit(65_536) {
        tracing::warn!("cannot raise the open-file limit: {e}");
    }
    let cli = roomctl::cli::Cli::parse();
    if let Err(e) = roomctl::cli::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
