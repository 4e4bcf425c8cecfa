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
    let cli = roomctl::cli::Cli::parse();
    if let Err(e) = roomctl::cli::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
