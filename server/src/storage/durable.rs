//! Files replaced whole or not at all, and removals that survive a power
//! cut: the project directory (`project_store`), its history
//! (`project_history`) and files the command line downloads.
//!
//! A file is replaced by writing a temporary file in the same directory,
//! fsyncing it, renaming it over the old name and fsyncing the directory.
//! A rename within a directory is atomic, so a kill -9 at any moment leaves
//! either the old file or the new one, complete.

use std::io::Write;
use std::path::Path;

/// A write or removal that did not happen, with what was attempted
/// (`cannot write /var/lib/roomctl/project/active.toml`).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct DurableError {
    pub what: String,
    #[source]
    pub source: std::io::Error,
}

impl DurableError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DurableError {
        let what = what.into();
        move |source| DurableError { what, source }
    }
}

/// Replaces `dir/name` with `bytes`, atomically and durably.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), DurableError> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let target = dir.join(name);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &target)?;
        sync_dir(dir)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        DurableError::io(format!("cannot write {}", target.display()))(e)
    })
}

/// Removes `dir/name` (absent is fine) and fsyncs the directory.
pub fn remove(dir: &Path, name: &str) -> Result<(), DurableError> {
    let path = dir.join(name);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(DurableError::io(format!(
                "cannot remove {}",
                path.display()
            ))(e))
        }
    }
    sync_dir(dir).map_err(DurableError::io(format!("cannot sync {}", dir.display())))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
