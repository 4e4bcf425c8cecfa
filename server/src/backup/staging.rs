//! The staging of a restore: each file written and synced beside its
//! destination (`.NAME.restore`), then all renamed into place at once;
//! what was staged is removed if the restore stops before that, and what
//! was already moved is put back if a rename fails.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::RestoreError;

/// One destination: a file or a directory, staged beside it.
pub(super) struct Stage {
    target: PathBuf,
    pub(super) staged: PathBuf,
    pub(super) dir: bool,
    pub(super) what: String,
}

/// What was staged; removed when dropped before [`Staging::commit`].
#[derive(Default)]
pub(super) struct Staging {
    pub(super) stages: Vec<Stage>,
    committed: bool,
}

/// `.NAME.SUFFIX` beside `path`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{suffix}"))
}

fn io_error(what: &str, source: std::io::Error) -> RestoreError {
    if source.raw_os_error() == Some(libc::ENOSPC) {
        RestoreError::Full { what: what.into() }
    } else {
        RestoreError::Io {
            what: what.into(),
            source,
        }
    }
}

/// Writes `bytes` to `path` (created with `mode`), synced; owned like the
/// directory it is in (a restore run as root leaves files the service's
/// user can still write).
fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    own_like_parent(path);
    Ok(())
}

fn own_like_parent(path: &Path) {
    use std::os::unix::fs::MetadataExt;
    if let Some(meta) = path.parent().and_then(|p| std::fs::metadata(p).ok()) {
        // Fails harmlessly when not root (the files are then ours anyway).
        let _ = std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid()));
    }
}

impl Staging {
    /// Stages a whole file for `target`.
    pub(super) fn file(
        &mut self,
        target: &Path,
        bytes: &[u8],
        mode: u32,
        what: &str,
    ) -> Result<(), RestoreError> {
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| io_error(what, e))?;
        }
        let staged = beside(target, "restore");
        let _ = std::fs::remove_file(&staged);
        self.stages.push(Stage {
            target: target.to_path_buf(),
            staged: staged.clone(),
            dir: false,
            what: what.into(),
        });
        write_synced(&staged, bytes, mode).map_err(|e| io_error(what, e))
    }

    /// Stages `rel` (a file inside the directory `target`).
    pub(super) fn in_dir(
        &mut self,
        target: &Path,
        rel: &str,
        bytes: &[u8],
        mode: u32,
    ) -> Result<(), RestoreError> {
        let what = target.join(rel).display().to_string();
        let staged = match self.stages.iter().find(|s| s.dir && s.target == target) {
            Some(s) => s.staged.clone(),
            None => {
                let staged = beside(target, "restore");
                let _ = std::fs::remove_dir_all(&staged);
                self.stages.push(Stage {
                    target: target.to_path_buf(),
                    staged: staged.clone(),
                    dir: true,
                    what: target.display().to_string(),
                });
                std::fs::create_dir_all(&staged).map_err(|e| io_error(&what, e))?;
                own_like_parent(&staged);
                staged
            }
        };
        let path = staged.join(rel);
        if let Some(parent) = path.parent() {
            if !parent.exists() {
                std::fs::create_dir_all(parent).map_err(|e| io_error(&what, e))?;
                own_like_parent(parent);
            }
        }
        write_synced(&path, bytes, mode).map_err(|e| io_error(&what, e))
    }

    /// Renames every staged file and directory into place; on a failure,
    /// renames back what had moved.
    pub(super) fn commit(&mut self) -> Result<(), RestoreError> {
        let mut moved: Vec<(&Stage, Option<PathBuf>)> = Vec::new();
        for stage in &self.stages {
            let old = beside(&stage.target, "restore-old");
            remove(&old, stage.dir);
            let had = stage.target.exists();
            let result = (|| {
                if had {
                    std::fs::rename(&stage.target, &old)?;
                }
                std::fs::rename(&stage.staged, &stage.target).inspect_err(|_| {
                    if had {
                        let _ = std::fs::rename(&old, &stage.target);
                    }
                })
            })();
            if let Err(source) = result {
                for (done, old) in moved.into_iter().rev() {
                    remove(&done.target, done.dir);
                    if let Some(old) = old {
                        let _ = std::fs::rename(&old, &done.target);
                    }
                }
                return Err(RestoreError::Swap {
                    what: stage.what.clone(),
                    source,
                });
            }
            moved.push((stage, had.then_some(old)));
        }
        self.committed = true;
        for (stage, old) in moved {
            if let Some(old) = old {
                remove(&old, stage.dir);
            }
            if let Some(parent) = stage.target.parent() {
                if let Ok(d) = std::fs::File::open(parent) {
                    let _ = d.sync_all();
                }
            }
        }
        Ok(())
    }
}

fn remove(path: &Path, dir: bool) {
    let _ = if dir {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            for s in &self.stages {
                remove(&s.staged, s.dir);
            }
        }
    }
}
