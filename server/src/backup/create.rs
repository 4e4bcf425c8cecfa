//! Making a backup archive (see the module above for what is in it).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::{
    Locations, Manifest, ManifestFile, FORMAT, FORMAT_VERSION, MANIFEST, PROJECT, SETTINGS,
    STATION_DB, TLS, TLS_KEY,
};
use crate::config::Settings;
use crate::storage::project_store::{ACTIVE, PENDING, PREVIOUS};

/// Writes the archive of the controller whose settings file is `config`
/// to `out` (through a temporary file beside it: a failed backup leaves
/// no half archive under that name).
pub fn create(config: &Path, out: &Path, private_key: bool) -> anyhow::Result<Manifest> {
    let (manifest, bytes) = create_bytes(config, private_key)?;
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .context("the backup file needs a name")?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.tmp"));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, out)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write the backup {}", out.display()));
    }
    Ok(manifest)
}

/// The archive as bytes (for the admin page's download), and its manifest.
pub fn create_bytes(config: &Path, private_key: bool) -> anyhow::Result<(Manifest, Vec<u8>)> {
    let settings = Settings::load(config, None)?;
    let at = Locations::of(config, &settings);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: String, path: &Path| -> anyhow::Result<()> {
        match std::fs::read(path) {
            Ok(bytes) => {
                files.push((name, bytes));
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    };
    add(SETTINGS.into(), &at.settings)?;
    for name in [ACTIVE, PREVIOUS, PENDING] {
        add(format!("{PROJECT}{name}"), &at.project_dir.join(name))?;
    }
    for name in history_files(&at.project_dir.join("history"))? {
        add(
            format!("{PROJECT}history/{name}"),
            &at.project_dir.join("history").join(&name),
        )?;
    }
    add(format!("{TLS}cert.pem"), &at.tls_dir.join("cert.pem"))?;
    add(format!("{TLS}names.txt"), &at.tls_dir.join("names.txt"))?;
    if private_key {
        add(TLS_KEY.into(), &at.tls_dir.join("key.pem"))?;
    }
    if at.station_db.exists() {
        files.push((STATION_DB.into(), snapshot(&at.station_db)?));
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        roomctl: env!("CARGO_PKG_VERSION").into(),
        controller: settings.identity.name.clone(),
        created: crate::state::eventlog::unix_now(),
        private_key: private_key && files.iter().any(|(n, _)| n == TLS_KEY),
        files: files
            .iter()
            .map(|(path, bytes)| ManifestFile {
                path: path.clone(),
                bytes: bytes.len() as u64,
            })
            .collect(),
    };
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let json = serde_json::to_vec_pretty(&manifest)?;
    append(&mut tar, MANIFEST, &json, manifest.created)?;
    for (name, bytes) in &files {
        append(&mut tar, name, bytes, manifest.created)?;
    }
    let bytes = tar.into_inner()?.finish()?;
    Ok((manifest, bytes))
}

fn append(
    tar: &mut tar::Builder<GzEncoder<Vec<u8>>>,
    name: &str,
    bytes: &[u8],
    mtime: u64,
) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    // The private key readable by its owner only, as on disk.
    header.set_mode(if name == TLS_KEY { 0o600 } else { 0o644 });
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, bytes)?;
    Ok(())
}

/// The history's entries (`NNNNNN.toml`, `NNNNNN.json`), sorted; nothing
/// else that may lie there (a crash's temporary files).
fn history_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut names: Vec<String> = read
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| super::restore::is_history_name(n))
        .collect();
    names.sort();
    Ok(names)
}

/// A consistent copy of the station's SQLite database, even while the
/// station writes to it (`VACUUM INTO` a file beside it, read, removed).
fn snapshot(db: &Path) -> anyhow::Result<Vec<u8>> {
    let copy = db.with_extension("sqlite.backup-tmp");
    let _ = std::fs::remove_file(&copy);
    let made = (|| -> anyhow::Result<Vec<u8>> {
        let conn =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.execute("VACUUM INTO ?1", [copy.to_string_lossy().as_ref()])?;
        Ok(std::fs::read(&copy)?)
    })();
    let _ = std::fs::remove_file(&copy);
    made.with_context(|| format!("cannot copy the station database {}", db.display()))
}
