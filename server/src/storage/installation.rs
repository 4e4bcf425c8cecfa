//! This installation's own identity: a random id made at the first start
//! and kept in `installation-id` beside the project directory (the data
//! directory: `var/` in development, `/var/lib/roomctl/` in the package),
//! from which the serial that lookup, central control, MQTT and the
//! station tell controllers apart by is derived when `[identity] serial`
//! is empty.
//!
//! Why not /etc/machine-id alone: boxes cloned from one image, or several
//! controllers on one host, share it, and the station then took three
//! rooms for one. A cloned data directory still clones the id; the station
//! shows that as a `duplicate_serial` alert, and deleting the file (then
//! restarting) makes a new one.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use argon2::password_hash::rand_core::{OsRng, RngCore};

/// The file's name in the data directory.
pub const FILE: &str = "installation-id";

/// Where the id is kept: beside the project directory, never inside it
/// (the project directory is what FTP serves).
pub fn path(project_dir: &Path) -> PathBuf {
    match project_dir.parent() {
        Some(parent) => parent.join(FILE),
        None => PathBuf::from(FILE),
    }
}

/// The serial of this installation (`RC-` and 12 hex digits of its id),
/// making and storing the id at the first start. When the id can be
/// neither read nor stored, the machine's serial, and a warning saying
/// why (other controllers on this host or image will share it).
pub fn serial(project_dir: &Path) -> String {
    let file = path(project_dir);
    match read_or_create(&file) {
        Ok(id) => format!("RC-{}", id[..12].to_uppercase()),
        Err(e) => {
            let serial = machine_serial();
            tracing::warn!(
                "cannot keep this installation's identity in {} ({e:#}); using {serial} from \
                 /etc/machine-id, which boxes cloned from one image share: set [identity] serial \
                 or make the folder writable",
                file.display()
            );
            serial
        }
    }
}

/// The stored id (32 hex digits), or a new one stored first.
fn read_or_create(file: &Path) -> anyhow::Result<String> {
    if let Some(id) = read(file)? {
        return Ok(id);
    }
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Written whole then renamed: a power cut leaves no half id. Two
    // controllers starting at once on one folder: the later rename wins
    // and both read back that one below.
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(format!("{id}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot store {}", file.display()))?;
    tracing::info!(
        "this installation's identity is new: {} (kept in {})",
        &id[..12],
        file.display()
    );
    read(file)?.with_context(|| format!("{} vanished as it was made", file.display()))
}

/// The id in `file`; `None` when there is no file.
fn read(file: &Path) -> anyhow::Result<Option<String>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let id = text.trim();
    anyhow::ensure!(
        id.len() >= 12 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{} does not hold an id (hex digits); delete it to make a new one",
        file.display()
    );
    Ok(Some(id.to_string()))
}

/// The serial /etc/machine-id gives (shared by clones of one image).
pub fn machine_serial() -> String {
    let id = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    let id = id.trim();
    if id.len() >= 12 {
        format!("RC-{}", id[..12].to_uppercase())
    } else {
        "RC-000000000000".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_kept_and_apart_per_folder() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let first = serial(&a.path().join("project"));
        assert!(first.starts_with("RC-") && first.len() == 15, "{first}");
        assert_eq!(serial(&a.path().join("project")), first, "kept");
        assert_ne!(serial(&b.path().join("project")), first, "its own");
        assert!(a.path().join(FILE).exists());
        // A damaged file: the machine's serial, and the file is left alone.
        std::fs::write(a.path().join(FILE), "not an id").unwrap();
        assert_eq!(serial(&a.path().join("project")), machine_serial());
    }
}
