//! Every format roomctl keeps on disk, with its version, and how data of
//! an older version (or of none: everything written before versions were
//! kept) is read forward. A file of a newer version than this roomctl
//! knows is refused with a message saying so, never half-read.
//!
//! | what | where | version kept in |
//! |---|---|---|
//! | settings (users included) | `roomctl.toml` | top-level `format` ([`SETTINGS_VERSION`]) |
//! | a project | `active.toml`, `previous.toml`, `pending.toml`, history | `format` in `[project]` ([`controller_core::project::PROJECT_FORMAT`], docs/project-format.md) |
//! | a history entry | `history/NNNNNN.json` | `format` ([`HISTORY_ENTRY_VERSION`]) |
//! | the station's database | `station.sqlite` | SQLite's `PRAGMA user_version` ([`STATION_DB_VERSION`]) |
//! | a backup archive | `manifest.json` | `version` ([`crate::backup::FORMAT_VERSION`]) |
//! | the audit trail | `audit.log*`, one JSON line per entry | `format` in each line ([`controller_core::audit::AUDIT_FORMAT`]) |
//!
//! Not versioned, as they hold one value each and no structure: the
//! installation id (`installation-id`, one line), the names the generated
//! certificate covers (`tls/names.txt`, one per line; remade when they
//! differ), the certificate and key (PEM), the last upload's report
//! (`upload-report.txt`, text for people).
//!
//! Version 1 of each is the format as it was when versions began to be
//! kept, so unversioned data is read as version 1 without change.

use std::path::Path;

use anyhow::bail;

/// The settings file's format.
pub const SETTINGS_VERSION: u32 = 1;
/// A project history entry's JSON.
pub const HISTORY_ENTRY_VERSION: u32 = 1;
/// The station database's schema.
pub const STATION_DB_VERSION: i64 = 1;

/// The version of data written before versions were kept.
pub fn unversioned() -> u32 {
    1
}

/// Refuses a settings file from a newer roomctl (before its keys are
/// read, so the message is about the version, not an unknown key).
pub fn check_settings(user: &toml::Table) -> anyhow::Result<()> {
    match user.get("format") {
        None => Ok(()),
        Some(toml::Value::Integer(v)) if *v >= 1 && *v <= i64::from(SETTINGS_VERSION) => Ok(()),
        Some(toml::Value::Integer(v)) if *v > i64::from(SETTINGS_VERSION) => bail!(
            "this settings file is format {v}, written by a newer roomctl; this one ({}) reads format {SETTINGS_VERSION} at most: upgrade roomctl",
            env!("CARGO_PKG_VERSION")
        ),
        Some(other) => bail!("format must be a positive whole number, not {other}"),
    }
}

/// Brings the station's database to [`STATION_DB_VERSION`]; refuses one
/// from a newer roomctl.
pub fn migrate_station_db(db: &rusqlite::Connection) -> anyhow::Result<()> {
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > STATION_DB_VERSION {
        bail!(
            "the station database is schema version {version}, written by a newer roomctl; this one reads version {STATION_DB_VERSION} at most: upgrade roomctl"
        );
    }
    if version < 1 {
        // Unversioned is version 1: the schema is already that one's.
        db.execute_batch("PRAGMA user_version = 1")?;
    }
    Ok(())
}

/// Whether `path` is a station database this roomctl can open: SQLite,
/// sound, with the alert table, of a version it knows.
pub fn check_station_db(path: &Path) -> Result<(), String> {
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
    let sound: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| format!("not an SQLite database ({e})"))?;
    if sound != "ok" {
        return Err(format!("the database is damaged: {sound}"));
    }
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if version > STATION_DB_VERSION {
        return Err(format!(
            "schema version {version} is newer than this roomctl's ({STATION_DB_VERSION})"
        ));
    }
    db.query_row("SELECT COUNT(*) FROM alerts", [], |r| r.get::<_, i64>(0))
        .map_err(|_| "it has no alert table: not a station database".to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unversioned_station_database_becomes_version_1_and_a_newer_one_is_refused() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        migrate_station_db(&db).unwrap();
        let v: i64 = db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
        db.execute_batch("PRAGMA user_version = 2").unwrap();
        let e = migrate_station_db(&db).unwrap_err().to_string();
        assert!(e.contains("newer roomctl"), "{e}");
    }

    #[test]
    fn settings_of_a_newer_format_are_refused_by_version() {
        let t: toml::Table = toml::from_str("format = 2\nfuture_key = 1\n").unwrap();
        let e = check_settings(&t).unwrap_err().to_string();
        assert!(e.contains("newer roomctl"), "{e}");
        assert!(check_settings(&toml::Table::new()).is_ok());
    }
}
