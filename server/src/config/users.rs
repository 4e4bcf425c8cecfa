//! The settings file's `[[users]]`, edited in place with its comments kept
//! (`roomctl user`, the console's `passwd`, the admin page's users). The
//! edited file is checked as settings before it replaces the old one, and
//! written private to its owner: it holds password hashes.

use std::path::Path;

use anyhow::Context;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

use super::Settings;
use crate::security::auth::Role;

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
    crate::storage::secret_file::write_private(config, text.as_bytes())
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
