//! One archive of a controller as a whole (`roomctl backup FILE`,
//! `roomctl restore FILE`, and the admin page's `/admin/api/backup` and
//! `/admin/api/restore`): the settings file (users included), the project
//! directory with its history, the generated TLS certificate (its private
//! key only when asked) and the station's database.
//!
//! The archive is a gzip-compressed tar ([`create`]): `manifest.json`
//! first (format name and version, the roomctl that made it, every file
//! with its size), then `settings.toml`, `project/...`, `tls/...` and
//! `station.sqlite`. [`restore`] reads it whole into staging files beside
//! each destination, checks everything (manifest, versions, sizes, the
//! settings, the project, the history, the database), and only then
//! renames the staged files and directories into place; any failure
//! before that (a corrupt or foreign archive, one from a newer release, a
//! full disk) removes what was staged and changes nothing.

pub mod create;
mod error;
pub mod restore;
mod staging;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{generated_tls_dir, Settings};

pub use create::{create, create_bytes};
pub use restore::{restore, RestoreError, Restored};

/// What the manifest's `format` says.
pub const FORMAT: &str = "roomctl-backup";
/// The archive format this roomctl writes, and the newest it reads
/// (docs/install.md, "Backups"; `crate::storage::formats` lists every stored format).
pub const FORMAT_VERSION: u32 = 1;

/// Names inside the archive.
pub const MANIFEST: &str = "manifest.json";
pub const SETTINGS: &str = "settings.toml";
pub const PROJECT: &str = "project/";
pub const TLS: &str = "tls/";
pub const STATION_DB: &str = "station.sqlite";
/// The generated certificate's private key, inside `tls/`.
pub const TLS_KEY: &str = "tls/key.pem";

/// The archive's first file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`]: tells a roomctl backup from any other archive.
    pub format: String,
    /// [`FORMAT_VERSION`] of the roomctl that made it.
    pub version: u32,
    /// That roomctl's version (for the error when it is newer).
    pub roomctl: String,
    /// The controller's name.
    pub controller: String,
    /// Seconds since 1970 (UTC).
    pub created: u64,
    /// Whether `tls/key.pem` is inside.
    pub private_key: bool,
    /// Every other file, in archive order, with its size.
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub bytes: u64,
}

/// Where a controller's files are, as its settings file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    pub settings: PathBuf,
    pub project_dir: PathBuf,
    /// The generated certificate's directory (`tls/` beside the projects).
    pub tls_dir: PathBuf,
    pub station_db: PathBuf,
}

impl Locations {
    /// The locations `settings` (read from `config`) give; relative paths
    /// are relative to the settings file, as `roomctl serve` has them.
    pub fn of(config: &Path, settings: &Settings) -> Locations {
        let project_dir = settings.project_dir(config);
        let base = config.parent().unwrap_or(Path::new("."));
        let db = &settings.station.database;
        Locations {
            settings: config.to_path_buf(),
            tls_dir: generated_tls_dir(&project_dir),
            project_dir,
            station_db: if db.is_absolute() {
                db.clone()
            } else {
                base.join(db)
            },
        }
    }
}
