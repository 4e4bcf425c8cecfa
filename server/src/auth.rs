//! The one user store of every service: panel login, admin pages, central
//! control (5009), Telnet and FTP. Users and their argon2 password hashes
//! live in the settings file; there is no default user and no default
//! password. Until an admin user exists, everything that needs one is off
//! and the log says how to create it (`roomctl user add NAME --role admin`).

use std::fmt;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

/// What a user may do. Each role includes the ones below it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// See status.
    Viewer,
    /// Press buttons.
    Operator,
    /// Change the project and the settings.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        })
    }
}

/// A user of every service (panel login, admin pages, 5009, Telnet, FTP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub role: Role,
    /// An argon2 hash; set with `roomctl user add NAME --role ROLE`.
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct UserStore {
    users: Vec<UserEntry>,
}

/// A hash to compare against when the user does not exist, so a login for
/// an unknown name costs as much time as one with a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9Wq3ut1Ai8Zv+oyD2Y0fH3W7yh8Mn+a8b9yNnN5BvKk";

impl UserStore {
    pub fn new(users: Vec<UserEntry>) -> UserStore {
        UserStore { users }
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn has_admin(&self) -> bool {
        self.users.iter().any(|u| u.role == Role::Admin)
    }

    /// Checks a name and password; the user when they match.
    pub fn verify(&self, name: &str, password: &str) -> Option<User> {
        let entry = self.users.iter().find(|u| u.name == name);
        let hash = entry.map_or(DUMMY_HASH, |u| u.password_hash.as_str());
        let ok = PasswordHash::new(hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        match (ok, entry) {
            (true, Some(u)) => Some(User {
                name: u.name.clone(),
                role: u.role,
            }),
            _ => None,
        }
    }

    pub fn names(&self) -> impl Iterator<Item = (&str, Role)> {
        self.users.iter().map(|u| (u.name.as_str(), u.role))
    }
}

/// Checks a login off the async threads (argon2 is deliberately slow): the
/// one password check of every service.
pub async fn verify(
    users: std::sync::Arc<UserStore>,
    name: String,
    password: String,
) -> Option<User> {
    tokio::task::spawn_blocking(move || users.verify(&name, &password))
        .await
        .ok()
        .flatten()
}

/// An argon2id hash of a password, for the settings file.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    if password.len() < 8 {
        anyhow::bail!("a password needs at least 8 characters");
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_right_and_wrong() {
        let hash = hash_password("correct horse").unwrap();
        let store = UserStore::new(vec![UserEntry {
            name: "ada".into(),
            role: Role::Admin,
            password_hash: hash,
        }]);
        assert_eq!(
            store.verify("ada", "correct horse").unwrap().role,
            Role::Admin
        );
        assert!(store.verify("ada", "wrong").is_none());
        assert!(store.verify("bob", "correct horse").is_none());
        assert!(hash_password("short").is_err());
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
    }
}
