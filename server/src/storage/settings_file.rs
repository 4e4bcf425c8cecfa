//! The settings file as the running controller follows it. Users take
//! effect at once: a user added, removed or given a new password with
//! `roomctl user ...` (or the console's `passwd`) is what the next login on
//! any service is checked against, without a restart. Every change of the
//! file is written to the audit trail (users by name; other settings by
//! section, which take effect at the next start).
//!
//! The file is looked at (one `stat`) before every password check and
//! every few seconds by the audit service, and read again only when its
//! size, time or inode changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::audit::{Audit, AuditEvent, AuditOutcome};
use crate::config::Settings;
use crate::runtime::sync::lock;
use crate::security::auth::{UserEntry, UserStore};

/// What tells one version of the file from another without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        #[cfg(unix)]
        inode: std::os::unix::fs::MetadataExt::ino(&meta),
    })
}

struct Seen {
    stamp: Option<Stamp>,
    /// The settings as last read (None: missing or unreadable).
    settings: Option<Settings>,
}

pub struct SettingsFile {
    path: PathBuf,
    seen: Mutex<Seen>,
}

impl SettingsFile {
    /// Follows `path` from its current content on.
    pub fn new(path: &Path) -> SettingsFile {
        SettingsFile {
            path: path.to_path_buf(),
            seen: Mutex::new(Seen {
                stamp: stamp(path),
                settings: Settings::load(path, None).ok(),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file again if it changed: hands its users to `install`
    /// (while the file is held, so a login checked after a concurrent
    /// refresh sees them) and records what changed in `audit`. Blocking
    /// (file I/O): call it off the async threads.
    pub fn refresh(&self, audit: &Audit, install: impl FnOnce(UserStore)) {
        let mut seen = lock(&self.seen);
        let now = stamp(&self.path);
        if now == seen.stamp {
            return;
        }
        seen.stamp = now;
        let file = self.path.display().to_string();
        let new = match Settings::load(&self.path, None) {
            Ok(s) => s,
            Err(e) => {
                audit.record(
                    AuditEvent::Settings,
                    AuditOutcome::Failed,
                    "settings-file",
                    None,
                    None,
                    format!("{file} changed but cannot be used ({e:#}); users stay as they were"),
                );
                return;
            }
        };
        let old_users = seen
            .settings
            .as_ref()
            .map(|s| s.users.clone())
            .unwrap_or_default();
        for (user, detail) in user_changes(&old_users, &new.users) {
            audit.record(
                AuditEvent::User,
                AuditOutcome::Ok,
                "settings-file",
                Some(&user),
                None,
                detail,
            );
        }
        let sections = seen
            .settings
            .as_ref()
            .map(|old| changed_sections(old, &new))
            .unwrap_or_default();
        if !sections.is_empty() {
            audit.record(
                AuditEvent::Settings,
                AuditOutcome::Ok,
                "settings-file",
                None,
                None,
                format!(
                    "{file}: {} changed; takes effect at the next start",
                    sections
                        .iter()
                        .map(|s| format!("[{s}]"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        install(UserStore::new(new.users.clone()));
        seen.settings = Some(new);
    }
}

impl SettingsFile {
    /// Takes the file as this process just wrote it (the admin page's user
    /// changes, audited there in their own words): its users at once, and
    /// the change not audited a second time as an edit of the file.
    /// Blocking (file I/O).
    pub fn adopt(&self, install: impl FnOnce(UserStore)) {
        let mut seen = lock(&self.seen);
        seen.stamp = stamp(&self.path);
        if let Ok(new) = Settings::load(&self.path, None) {
            install(UserStore::new(new.users.clone()));
            seen.settings = Some(new);
        }
    }
}

/// Users added, removed, or given another role or password, by name.
fn user_changes(old: &[UserEntry], new: &[UserEntry]) -> Vec<(String, String)> {
    let old: BTreeMap<_, _> = old.iter().map(|u| (u.name.as_str(), u)).collect();
    let new: BTreeMap<_, _> = new.iter().map(|u| (u.name.as_str(), u)).collect();
    let mut changes = Vec::new();
    for (name, u) in &new {
        match old.get(name) {
            None => changes.push((name.to_string(), format!("added ({})", u.role))),
            Some(o) if o.role != u.role => changes.push((
                name.to_string(),
                format!("role changed from {} to {}", o.role, u.role),
            )),
            Some(o) if o.password_hash != u.password_hash => {
                changes.push((name.to_string(), "password changed".into()))
            }
            Some(_) => {}
        }
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        changes.push((name.to_string(), "removed".into()));
    }
    changes
}

/// The sections (other than the users) whose values differ.
fn changed_sections(old: &Settings, new: &Settings) -> Vec<String> {
    let table = |s: &Settings| toml::Table::try_from(s).unwrap_or_default();
    let (old, new) = (table(old), table(new));
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| k.as_str() != "users" && old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::auth::Role;

    fn u(name: &str, role: Role, hash: &str) -> UserEntry {
        UserEntry {
            name: name.into(),
            role,
            password_hash: hash.into(),
        }
    }

    #[test]
    fn user_changes_by_name() {
        let old = [
            u("a", Role::Admin, "h1"),
            u("b", Role::Viewer, "h2"),
            u("c", Role::Operator, "h3"),
        ];
        let new = [
            u("a", Role::Admin, "h9"),
            u("b", Role::Operator, "h2"),
            u("d", Role::Viewer, "h4"),
        ];
        let changes = user_changes(&old, &new);
        assert_eq!(
            changes,
            [
                ("a".to_string(), "password changed".to_string()),
                ("b".into(), "role changed from viewer to operator".into()),
                ("d".into(), "added (viewer)".into()),
                ("c".into(), "removed".into()),
            ]
        );
    }

    #[test]
    fn sections_that_changed() {
        let old = Settings::from_toml("", None).unwrap();
        let new = Settings::from_toml("[ftp]\nport = 2200\n[[users]]\nname = \"x\"\nrole = \"admin\"\npassword_hash = \"$argon2id$x\"\n", None).unwrap();
        assert_eq!(changed_sections(&old, &new), ["ftp"]);
    }
}
