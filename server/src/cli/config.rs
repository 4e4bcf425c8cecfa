//! `roomctl config`: print the defaults or the effective settings.

use std::path::Path;

use clap::Subcommand;

use crate::config::{Profile, Settings};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting with its default for a profile.
    Defaults {
        #[arg(long, value_enum, default_value = "development")]
        profile: Profile,
    },
    /// Print the settings in effect (the file merged over its profile's defaults).
    Show,
}

pub fn run(config: &Path, cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Defaults { profile } => print!("{}", Settings::defaults(profile).to_toml()),
        ConfigCommand::Show => print!("{}", Settings::load(config, None)?.to_toml()),
    }
    Ok(())
}
