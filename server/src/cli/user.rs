//! `roomctl user`: add, list and remove users in the settings file. The file
//! is edited in place with its comments kept; passwords are stored only as
//! argon2 hashes.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use clap::Subcommand;

use crate::config::users::{remove_user, set_user};
use crate::config::Settings;
use crate::security::auth::{hash_password, Role};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user, or set an existing user's password and role.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users and their roles.
    List,
    /// Remove a user.
    Remove { name: String },
}

pub fn run(config: &Path, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let password = read_password(&name, password_stdin)?;
            let hash = hash_password(&password)?;
            set_user(config, &name, role, &hash)?;
            println!(
                "user {name} ({role}) saved in {}; a running roomctl uses it from the next login",
                config.display()
            );
        }
        UserCommand::List => {
            let settings = Settings::load(config, None)?;
            if settings.users.is_empty() {
                println!("no users; add one with: roomctl user add admin --role admin");
            }
            for u in settings.users {
                println!("{:<20} {}", u.name, u.role);
            }
        }
        UserCommand::Remove { name } => {
            remove_user(config, &name)?;
            println!("user {name} removed; a running roomctl refuses it from now on");
        }
    }
    Ok(())
}

fn read_password(name: &str, from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password(format!("password for {name}: "))?;
    let again = rpassword::prompt_password("again: ")?;
    anyhow::ensure!(first == again, "the two passwords differ");
    Ok(first)
}
