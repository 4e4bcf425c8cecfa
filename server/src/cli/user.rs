//! `roomctl user`: add, list and remove users in the settings file. The file
//! is edited in place with its comments kept; passwords are stored only as
//! argon2 hashes.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

use crate::auth::{hash_password, Role};
use crate::config::Settings;

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

fn read_doc(config: &Path) -> anyhow::Result<DocumentMut> {
    let text = match std::fs::read_to_string(config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", config.display())),
    };
    text.parse::<DocumentMut>()
        .with_context(|| format!("{} is not valid TOML", config.display()))
}

fn write_doc(config: &Path, doc: &DocumentMut) -> anyhow::Result<()> {
    let text = doc.to_string();
    // Check the result is valid settings before replacing the file.
    Settings::from_toml(&text, None).context("the edited settings would be invalid")?;
    // It holds password hashes: private to its owner (0600).
    crate::secret_file::write_private(config, text.as_bytes())
}

/// Adds or updates a user in the settings file.
pub fn set_user(config: &Path, name: &str, role: Role, hash: &str) -> anyhow::Result<()> {
    let mut doc = read_doc(config)?;
    if doc.get("users").is_none() {
        doc.insert("users", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let users = doc
        .get_mut("users")
        .and_then(Item::as_array_of_tables_mut)
        .context("`users` in the settings must be an array of tables ([[users]])")?;
    let existing = users
        .iter_mut()
        .find(|t| t.get("name").and_then(|v| v.as_str()) == Some(name));
    match existing {
        Some(t) => {
            t["role"] = toml_edit::value(role.to_string());
            t["password_hash"] = toml_edit::value(hash);
        }
        None => {
            let mut t = Table::new();
            t["name"] = toml_edit::value(name);
            t["role"] = toml_edit::value(role.to_string());
            t["password_hash"] = toml_edit::value(hash);
            users.push(t);
        }
    }
    write_doc(config, &doc)
}

/// Removes a user from the settings file.
pub fn remove_user(config: &Path, name: &str) -> anyhow::Result<()> {
    let mut doc = read_doc(config)?;
    let users = doc.get_mut("users").and_then(Item::as_array_of_tables_mut);
    let before = users.as_ref().map_or(0, |u| u.len());
    if let Some(users) = users {
        users.retain(|t| t.get("name").and_then(|v| v.as_str()) != Some(name));
        if users.len() == before {
            anyhow::bail!("there is no user {name:?}");
        }
    } else {
        anyhow::bail!("there is no user {name:?}");
    }
    write_doc(config, &doc)
}
