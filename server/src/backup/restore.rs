//! Restoring a backup archive: read and check everything into staging
//! files beside each destination, then rename them into place. Until the
//! renames, nothing the controller uses is touched; a failure on the way
//! (a foreign, corrupt or newer archive, an invalid project, a full disk)
//! removes what was staged. A failure during the renames (they need no
//! space, so it is rare) puts back what was already moved.

use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

pub use super::error::RestoreError;
use super::staging::Staging;
use super::{
    Locations, Manifest, ManifestFile, FORMAT, FORMAT_VERSION, MANIFEST, PROJECT, SETTINGS,
    STATION_DB, TLS, TLS_KEY,
};
use crate::config::{Profile, Settings};

/// The largest manifest read (a real one is a few KiB).
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// What a restore brought back.
#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    /// Where it went.
    pub locations: Locations,
    /// Files written (the certificate's are skipped without its key).
    pub files: usize,
    /// The certificate was in the archive without its private key, so the
    /// controller's own certificate was kept.
    pub kept_certificate: bool,
}

/// Whether `name` is a history entry's file (`NNNNNN.toml`/`.json`).
pub fn is_history_name(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) && (ext == "toml" || ext == "json")
}

/// Where an archive path may go; `None` for anything else.
fn known(path: &str) -> bool {
    if path == SETTINGS || path == STATION_DB {
        return true;
    }
    if let Some(rest) = path.strip_prefix(PROJECT) {
        return matches!(rest, "active.toml" | "previous.toml" | "pending.toml")
            || rest.strip_prefix("history/").is_some_and(is_history_name);
    }
    if let Some(rest) = path.strip_prefix(TLS) {
        return matches!(rest, "cert.pem" | "names.txt" | "key.pem");
    }
    false
}

/// Restores the archive at `archive` over the controller whose settings
/// file is `config` (the archive's settings say where the rest goes).
pub fn restore(config: &Path, archive: &Path) -> Result<Restored, RestoreError> {
    let file = std::fs::File::open(archive).map_err(|source| RestoreError::Io {
        what: format!("(reading) {}", archive.display()),
        source,
    })?;
    restore_from(config, &archive.display().to_string(), file)
}

/// [`restore`] from any reader (the admin page's upload); `name` names it
/// in errors.
pub fn restore_from(
    config: &Path,
    name: &str,
    reader: impl Read,
) -> Result<Restored, RestoreError> {
    let mut staging = Staging::default();
    let restored = read_and_stage(config, name, reader, &mut staging)?;
    check_staged(&staging)?;
    staging.commit()?;
    Ok(restored)
}

fn read_and_stage(
    config: &Path,
    name: &str,
    reader: impl Read,
    staging: &mut Staging,
) -> Result<Restored, RestoreError> {
    let foreign = |why: String| RestoreError::Foreign {
        file: name.to_string(),
        why,
    };
    let corrupt = |why: String| RestoreError::Corrupt {
        file: name.to_string(),
        why,
    };
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(reader)));
    let mut entries = archive
        .entries()
        .map_err(|e| foreign(format!("not a gzip-compressed tar archive: {e}")))?;
    let manifest = read_manifest(&mut entries, name)?;
    if let Some(bad) = manifest.files.iter().find(|f| !known(&f.path)) {
        return Err(foreign(format!("it holds an unknown file {:?}", bad.path)));
    }
    let mut expected = manifest.files.iter();
    let mut locations: Option<Locations> = None;
    let mut files = 0;
    let mut kept_certificate = false;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(e.to_string()))?;
        let path = entry_path(&entry);
        let Some(ManifestFile { bytes, .. }) = expected.next().filter(|f| f.path == path) else {
            return Err(corrupt(format!("{path:?} is not where its manifest says")));
        };
        if entry.header().entry_type() != tar::EntryType::Regular || entry.size() != *bytes {
            return Err(corrupt(format!(
                "{path:?} is not the file its manifest lists"
            )));
        }
        let mut data = Vec::with_capacity(*bytes as usize);
        entry
            .read_to_end(&mut data)
            .map_err(|e| corrupt(format!("{path}: {e}")))?;
        if data.len() as u64 != *bytes {
            return Err(corrupt(format!("{path} is cut short")));
        }
        if path == SETTINGS {
            if locations.is_some() {
                return Err(corrupt(format!("{SETTINGS} comes after other files")));
            }
            locations = Some(stage_settings(config, &data, staging)?);
            files += 1;
            continue;
        }
        // No settings in the archive: the files go where the current
        // settings say.
        let at = locations
            .get_or_insert_with(|| current_locations(config))
            .clone();
        if stage_file(&path, &data, &at, manifest.private_key, staging)? {
            files += 1;
        } else {
            kept_certificate = true;
        }
    }
    if let Some(missing) = expected.next() {
        return Err(corrupt(format!(
            "it ends before {:?}: the archive is incomplete",
            missing.path
        )));
    }
    // The gzip trailer (its checksum) is read and checked at the end.
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| corrupt(e.to_string()))?;
    let locations = locations.unwrap_or_else(|| current_locations(config));
    Ok(Restored {
        manifest,
        locations,
        files,
        kept_certificate,
    })
}

/// The archive's first entry, its manifest: of a roomctl backup, in a
/// format this version reads.
fn read_manifest<R: Read>(
    entries: &mut tar::Entries<'_, R>,
    name: &str,
) -> Result<Manifest, RestoreError> {
    let foreign = |why: String| RestoreError::Foreign {
        file: name.to_string(),
        why,
    };
    let mut first = match entries.next() {
        None => return Err(foreign("the archive is empty".into())),
        Some(Err(e)) => return Err(foreign(format!("not a gzip-compressed tar archive: {e}"))),
        Some(Ok(e)) => e,
    };
    let path = entry_path(&first);
    if path != MANIFEST || first.size() > MAX_MANIFEST_BYTES {
        return Err(foreign(format!("it does not begin with {MANIFEST}")));
    }
    let mut json = Vec::new();
    first
        .read_to_end(&mut json)
        .map_err(|e| RestoreError::Corrupt {
            file: name.to_string(),
            why: format!("{MANIFEST}: {e}"),
        })?;
    let manifest: Manifest = serde_json::from_slice(&json)
        .map_err(|e| foreign(format!("its {MANIFEST} is not a roomctl manifest: {e}")))?;
    if manifest.format != FORMAT || manifest.version == 0 {
        return Err(foreign(format!(
            "its manifest says format {:?} version {}",
            manifest.format, manifest.version
        )));
    }
    if manifest.version > FORMAT_VERSION {
        return Err(RestoreError::Newer {
            file: name.to_string(),
            made_by: manifest.roomctl.clone(),
            found: manifest.version,
            ours: env!("CARGO_PKG_VERSION"),
        });
    }
    Ok(manifest)
}

/// One file of the archive (not the settings) staged where `at` says;
/// false for the TLS files of an archive made without the private key: a
/// certificate without its key serves nothing, so the controller keeps its
/// own (or makes one).
fn stage_file(
    path: &str,
    data: &[u8],
    at: &Locations,
    private_key: bool,
    staging: &mut Staging,
) -> Result<bool, RestoreError> {
    if let Some(rest) = path.strip_prefix(PROJECT) {
        staging.in_dir(&at.project_dir, rest, data, 0o644)?;
    } else if let Some(rest) = path.strip_prefix(TLS) {
        if !private_key {
            return Ok(false);
        }
        let mode = if path == TLS_KEY { 0o600 } else { 0o644 };
        staging.in_dir(&at.tls_dir, rest, data, mode)?;
    } else if path == STATION_DB {
        staging.file(&at.station_db, data, 0o640, "the station database")?;
    }
    Ok(true)
}

/// The archive's settings file, checked as the controller will read it and
/// staged; where the other files go, by those settings.
fn stage_settings(
    config: &Path,
    data: &[u8],
    staging: &mut Staging,
) -> Result<Locations, RestoreError> {
    let text = std::str::from_utf8(data).map_err(|_| RestoreError::Invalid {
        what: "settings file".into(),
        why: "it is not UTF-8 text".into(),
    })?;
    let settings = Settings::from_toml(text, None).map_err(|e| RestoreError::Invalid {
        what: "settings file".into(),
        why: format!("{e:#}"),
    })?;
    let at = Locations::of(config, &settings);
    staging.file(&at.settings, data, 0o640, "the settings file")?;
    Ok(at)
}

/// Where the files go by the current settings (an archive without its own).
fn current_locations(config: &Path) -> Locations {
    let current =
        Settings::load(config, None).unwrap_or_else(|_| Settings::defaults(Profile::Development));
    Locations::of(config, &current)
}

fn entry_path<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    entry
        .path()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Checks what was staged as the controller will read it: the projects
/// parse and validate, history entries read, the database is sound.
fn check_staged(staging: &Staging) -> Result<(), RestoreError> {
    for stage in &staging.stages {
        if stage.dir {
            for name in ["active.toml", "previous.toml", "pending.toml"] {
                let path = stage.staged.join(name);
                if path.exists() {
                    crate::storage::project_store::load_file(&path).map_err(|e| {
                        RestoreError::Invalid {
                            what: format!("project {name}"),
                            why: format!("{e:#}"),
                        }
                    })?;
                }
            }
            if let Ok(read) = std::fs::read_dir(stage.staged.join("history")) {
                for e in read.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.ends_with(".json") {
                        let bytes = std::fs::read(e.path()).unwrap_or_default();
                        crate::storage::project_history::read_entry(&bytes).map_err(|why| {
                            RestoreError::Invalid {
                                what: format!("history entry {name}"),
                                why,
                            }
                        })?;
                    }
                }
            }
        } else if stage.what == "the station database" {
            crate::storage::formats::check_station_db(&stage.staged).map_err(|why| {
                RestoreError::Invalid {
                    what: "station database".into(),
                    why,
                }
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_paths_are_restored() {
        for ok in [
            "settings.toml",
            "station.sqlite",
            "project/active.toml",
            "project/history/000012.json",
            "tls/key.pem",
        ] {
            assert!(known(ok), "{ok}");
        }
        for bad in [
            "../etc/passwd",
            "project/../../x",
            "project/history/../x.toml",
            "project/history/12.sh",
            "/etc/roomctl/roomctl.toml",
            "tls/other.pem",
        ] {
            assert!(!known(bad), "{bad}");
        }
    }
}
