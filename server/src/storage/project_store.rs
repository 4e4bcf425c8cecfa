//! Where projects live on disk, and how a new one replaces the running one.
//!
//! The project directory holds at most three projects:
//! - `active.toml`: the project the controller runs (and restarts with);
//! - `previous.toml`: the project before the last apply, for `rollback`;
//! - `pending.toml`: the last valid upload, waiting for `apply`.
//!
//! Every file is replaced the same way ([`write_atomic`]): the new text goes
//! to a temporary file in the same directory, which is fsynced, renamed over
//! the old name, and the directory is fsynced ([`super::durable`]). A rename
//! within a directory is atomic, so a kill -9 at any moment leaves either
//! the old file or the new one, complete. Uploads are validated before they are stored (an
//! invalid upload never becomes `pending.toml`), and the active file is
//! validated again at start: if it is somehow invalid, the previous project
//! runs, else the demo.
//!
//! Apply order: `previous.toml` := the running text, then `active.toml` :=
//! the pending text, then `pending.toml` is removed, then the engine loads
//! the project (one step, so panels, central clients and keypads all see
//! the new project at once). A crash between any two of these steps leaves
//! a valid `active.toml` (the old or the new one).
//!
//! Every project made the running one (apply, rollback) is also kept in
//! `history/` ([`super::project_history`]), after `active.toml` is written:
//! a crash before that loses a history entry, never the project.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use controller_core::project::{demo_project, Project, ProjectErrors, DEMO_PROJECT_TOML};

use super::durable::{self, write_atomic, DurableError};
use super::project_history::{self, Diff, Entry, History};
use crate::audit::{AuditEvent, AuditOutcome};
use crate::state::controller::Controller;

pub const ACTIVE: &str = "active.toml";
pub const PREVIOUS: &str = "previous.toml";
pub const PENDING: &str = "pending.toml";

/// The largest project the parser accepts (controller-core's limit).
pub const MAX_PROJECT_BYTES: u64 = 1024 * 1024;

/// A project and the text it came from.
pub struct LoadedProject {
    pub project: Arc<Project>,
    pub source: String,
    pub origin: String,
}

/// The origin of the built-in demo run because the store holds nothing: a
/// fresh installation (see [`LoadedProject::is_fresh_installation`]).
pub const NOTHING_STORED: &str = "built-in demo (no project stored yet)";

impl LoadedProject {
    /// The built-in demo of a fresh installation, not one asked for.
    pub fn is_fresh_installation(&self) -> bool {
        self.origin == NOTHING_STORED
    }
}

/// Why a project operation did not happen. Nothing was changed when one of
/// these is returned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the upload is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("the upload is not UTF-8 text (a project is a TOML file)")]
    NotText,
    #[error("{0}")]
    Invalid(ProjectErrors),
    #[error("there is no uploaded project to apply; upload one first")]
    NothingPending,
    #[error("there is no previous project to roll back to")]
    NoPrevious,
    #[error("there is no project {0:?} in the history; `project history` lists them")]
    NoSuchVersion(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<DurableError> for StoreError {
    fn from(e: DurableError) -> StoreError {
        StoreError::Io {
            what: e.what,
            source: e.source,
        }
    }
}

impl StoreError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let what = what.into();
        move |source| StoreError::Io { what, source }
    }
}

impl StoreInfo {
    /// `"Name" revision N` of a stored file, or `-` when it is absent.
    pub fn show(file: &Option<(String, String)>) -> String {
        match file {
            Some((n, r)) => format!("\"{n}\" revision {r}"),
            None => "-".into(),
        }
    }

    /// The lines of `project info` (console) and the admin page: each label
    /// padded to `width`, a space, the value.
    pub fn lines(&self, labels: [&str; 5], width: usize) -> String {
        let values = [
            format!(
                "\"{}\" revision {}",
                self.running_name, self.running_revision
            ),
            Self::show(&self.active),
            Self::show(&self.previous),
            Self::show(&self.pending),
            if self.auto_apply { "on" } else { "off" }.to_string(),
        ];
        labels
            .iter()
            .zip(values)
            .map(|(l, v)| format!("{l:<width$} {v}\n"))
            .collect()
    }
}

/// The two ways a person changes the running project on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The pending upload becomes the running project.
    Apply,
    /// The previous project runs again.
    Rollback,
}

/// What is stored, for `project info` and the admin page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    pub running_name: String,
    pub running_revision: String,
    /// (name, revision) of the stored files that exist.
    pub active: Option<(String, String)>,
    pub previous: Option<(String, String)>,
    pub pending: Option<(String, String)>,
    pub auto_apply: bool,
}

/// The project directory. A running controller has exactly one, shared by
/// every service that changes the project (FTP, the console, the admin
/// page); its lock serialises their uploads, applies and rollbacks.
pub struct ProjectStore {
    dir: PathBuf,
    max_bytes: u64,
    history: History,
    lock: Mutex<()>,
}

/// The default of `[project] history`.
pub const DEFAULT_HISTORY: usize = 50;

impl ProjectStore {
    pub fn new(dir: impl Into<PathBuf>) -> ProjectStore {
        let dir = dir.into();
        ProjectStore {
            history: History::new(&dir, DEFAULT_HISTORY),
            dir,
            max_bytes: MAX_PROJECT_BYTES,
            lock: Mutex::new(()),
        }
    }

    /// Sets how many applied projects are kept (0: none).
    pub fn with_history(mut self, keep: usize) -> ProjectStore {
        self.history = History::new(&self.dir, keep);
        self
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// Sets the largest upload accepted (never more than a project may be).
    pub fn with_max_bytes(mut self, max: u64) -> ProjectStore {
        self.max_bytes = max.min(MAX_PROJECT_BYTES);
        self
    }

    /// The store a controller with these settings uses (their directory and
    /// upload limit).
    pub fn for_settings(s: &crate::config::Settings) -> ProjectStore {
        ProjectStore::new(s.project.dir.clone())
            .with_max_bytes(s.ftp.max_upload_bytes)
            .with_history(s.project.history)
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn active_path(&self) -> PathBuf {
        self.dir.join(ACTIVE)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        crate::runtime::sync::lock(&self.lock)
    }

    /// The project to run at start: the active one if present and valid,
    /// else the previous one, else the demo. An invalid file is reported,
    /// not run.
    pub fn load_active_or_demo(&self) -> LoadedProject {
        self.remove_leftover_temp_files();
        for name in [ACTIVE, PREVIOUS] {
            let path = self.dir.join(name);
            match self.read(name) {
                Ok(Some(text)) => match Project::from_toml(&text) {
                    Ok(p) => {
                        return LoadedProject {
                            project: Arc::new(p),
                            source: text,
                            origin: path.display().to_string(),
                        }
                    }
                    Err(e) => tracing::error!(
                        "the stored project {} is invalid; not running it:\n{e}",
                        path.display()
                    ),
                },
                Ok(None) => {}
                Err(e) => tracing::error!("not running {}: {e}", path.display()),
            }
        }
        LoadedProject {
            origin: NOTHING_STORED.into(),
            ..demo()
        }
    }

    /// Temporary files left by a kill during a write are incomplete by
    /// definition: remove them.
    fn remove_leftover_temp_files(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Reads a stored project file (`active.toml`, `previous.toml`,
    /// `pending.toml`); `None` when it does not exist. Symbolic links are
    /// not followed.
    pub fn read(&self, name: &str) -> Result<Option<String>, StoreError> {
        let path = self.dir.join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if !m.file_type().is_file() => {
                return Err(StoreError::Io {
                    what: format!("{} is not a regular file", path.display()),
                    source: std::io::Error::other("not a regular file"),
                })
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(format!("cannot read {}", path.display()))(e)),
        }
        std::fs::read_to_string(&path)
            .map(Some)
            .map_err(StoreError::io(format!("cannot read {}", path.display())))
    }

    /// Checks an upload without storing it.
    pub fn validate(&self, bytes: &[u8]) -> Result<Project, StoreError> {
        if bytes.len() as u64 > self.max_bytes {
            return Err(StoreError::TooLarge {
                size: bytes.len() as u64,
                limit: self.max_bytes,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|_| StoreError::NotText)?;
        Project::from_toml(text).map_err(StoreError::Invalid)
    }

    /// Validates an upload and stores it as the pending project. With
    /// `auto_apply`, a valid upload is applied at once. Every outcome is
    /// recorded in the controller's log (status page, console, log file).
    pub fn upload(
        &self,
        controller: &Controller,
        bytes: &[u8],
        from: &str,
    ) -> Result<Project, StoreError> {
        let result = self.upload_inner(bytes);
        audit(
            controller,
            AuditEvent::Upload,
            from,
            result.as_ref().map(audit_name).map_err(|e| e.to_string()),
        );
        match &result {
            Ok(p) => controller.log().record(format!(
                "project \"{}\" (revision {}) uploaded by {from}; {}",
                p.project.name,
                p.project.revision,
                if controller.settings().project.auto_apply {
                    "applying it (auto_apply is on)"
                } else {
                    "apply it with `project apply` on the console or the admin page"
                }
            )),
            Err(e) => controller.log().record(format!(
                "project upload by {from} refused; the running project is unchanged: {e}"
            )),
        }
        let project = result?;
        if controller.settings().project.auto_apply {
            self.apply(controller, from)?;
        }
        Ok(project)
    }

    fn upload_inner(&self, bytes: &[u8]) -> Result<Project, StoreError> {
        let project = self.validate(bytes)?;
        let _g = self.guard();
        self.ensure_dir()?;
        write_atomic(&self.dir, PENDING, bytes)?;
        Ok(project)
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.dir).map_err(StoreError::io(format!(
            "cannot create the project directory {}",
            self.dir.display()
        )))
    }

    /// Makes the pending project the running one; the running one is kept
    /// as the previous project.
    pub fn apply(&self, controller: &Controller, by: &str) -> Result<Arc<Project>, StoreError> {
        let result = self.apply_inner(controller, by);
        record(controller, AuditEvent::Apply, by, &result, |p| {
            format!(
                "project \"{}\" (revision {}) applied by {by}",
                p.project.name, p.project.revision
            )
        });
        result
    }

    fn apply_inner(&self, controller: &Controller, by: &str) -> Result<Arc<Project>, StoreError> {
        let _g = self.guard();
        let text = self.read(PENDING)?.ok_or(StoreError::NothingPending)?;
        let project = Arc::new(Project::from_toml(&text).map_err(StoreError::Invalid)?);
        self.ensure_dir()?;
        if let Some(running) = self.running_text(controller)? {
            write_atomic(&self.dir, PREVIOUS, running.as_bytes())?;
        }
        write_atomic(&self.dir, ACTIVE, text.as_bytes())?;
        durable::remove(&self.dir, PENDING)?;
        self.keep_in_history(controller, &text, &project, by, "apply");
        self.install(controller, project.clone(), text, by);
        Ok(project)
    }

    /// Applies or rolls back off the async threads (the writes fsync), for
    /// every service that offers both (console, admin page, ...).
    pub async fn change(
        self: Arc<Self>,
        controller: Controller,
        change: Change,
        by: String,
    ) -> Result<Arc<Project>, StoreError> {
        tokio::task::spawn_blocking(move || match change {
            Change::Apply => self.apply(&controller, &by),
            Change::Rollback => self.rollback(&controller, &by),
        })
        .await
        .unwrap_or_else(|e| {
            Err(StoreError::Io {
                what: "the project operation was interrupted".into(),
                source: std::io::Error::other(e.to_string()),
            })
        })
    }

    /// Swaps the running project with the previous one (a second rollback
    /// goes forward again).
    pub fn rollback(&self, controller: &Controller, by: &str) -> Result<Arc<Project>, StoreError> {
        let result = self.rollback_inner(controller, by);
        record(controller, AuditEvent::Rollback, by, &result, |p| {
            format!(
                "rolled back to project \"{}\" (revision {}) by {by}",
                p.project.name, p.project.revision
            )
        });
        result
    }

    fn rollback_inner(
        &self,
        controller: &Controller,
        by: &str,
    ) -> Result<Arc<Project>, StoreError> {
        let _g = self.guard();
        let text = self.read(PREVIOUS)?.ok_or(StoreError::NoPrevious)?;
        let project = Arc::new(Project::from_toml(&text).map_err(StoreError::Invalid)?);
        let running = self.running_text(controller)?;
        // active := previous first: a crash after this runs the rolled-back
        // project, which is what was asked for.
        write_atomic(&self.dir, ACTIVE, text.as_bytes())?;
        match running {
            Some(r) => write_atomic(&self.dir, PREVIOUS, r.as_bytes())?,
            None => durable::remove(&self.dir, PREVIOUS)?,
        }
        self.keep_in_history(controller, &text, &project, by, "rollback");
        self.install(controller, project.clone(), text, by);
        Ok(project)
    }

    /// The text of the running project (what `previous.toml` must become).
    fn running_text(&self, controller: &Controller) -> Result<Option<String>, StoreError> {
        match controller.project_source() {
            Some(t) => Ok(Some(t)),
            None => self.read(ACTIVE),
        }
    }

    /// The project now runs whatever happens here: a history that cannot be
    /// written is reported, and does not undo the change.
    fn keep_in_history(
        &self,
        controller: &Controller,
        text: &str,
        project: &Project,
        by: &str,
        action: &str,
    ) {
        if let Err(e) = self.history.record(text, project, by, action) {
            controller
                .log()
                .record(format!("the project history was not updated: {e}"));
        }
    }

    /// Makes history entry `id` the pending project (validated again, as
    /// any upload is); `apply` then runs it. Never applies by itself, even
    /// with `auto_apply`: restoring is asking to look at it first.
    pub fn restore(
        &self,
        controller: &Controller,
        id: &str,
        by: &str,
    ) -> Result<Project, StoreError> {
        let result = (|| {
            let text = id
                .parse()
                .ok()
                .and_then(|n| self.history.text(n))
                .ok_or_else(|| StoreError::NoSuchVersion(id.to_string()))?;
            self.upload_inner(text.as_bytes())
        })();
        audit(
            controller,
            AuditEvent::Upload,
            by,
            result
                .as_ref()
                .map(|p| format!("{} from history #{id}", audit_name(p)))
                .map_err(|e| e.to_string()),
        );
        match &result {
            Ok(p) => controller.log().record(format!(
                "project \"{}\" (revision {}) from history #{id} restored as pending by {by}; apply it to run it",
                p.project.name, p.project.revision
            )),
            Err(e) => controller
                .log()
                .record(format!("restore of history #{id} by {by} refused: {e}")),
        }
        result
    }

    /// The text a version name stands for: `running`, `pending`, `demo`
    /// (the built-in demo), or a history id.
    pub fn version_text(
        &self,
        controller: &Controller,
        version: &str,
    ) -> Result<String, StoreError> {
        let missing = || StoreError::NoSuchVersion(version.to_string());
        match version {
            "running" => Ok(controller
                .project_source()
                .unwrap_or_else(|| controller.project().to_toml())),
            "pending" => self.read(PENDING)?.ok_or(StoreError::NothingPending),
            "demo" => Ok(DEMO_PROJECT_TOML.to_string()),
            n => n
                .parse()
                .ok()
                .and_then(|n| self.history.text(n))
                .ok_or_else(missing),
        }
    }

    /// Two versions compared (see [`ProjectStore::version_text`]).
    pub fn diff(&self, controller: &Controller, from: &str, to: &str) -> Result<Diff, StoreError> {
        self.diff_shown(controller, from, to, true)
    }

    /// [`Self::diff`] as a non-admin may see it: secrets (panel PINs,
    /// passwords) hidden on both sides.
    pub fn diff_without_secrets(
        &self,
        controller: &Controller,
        from: &str,
        to: &str,
    ) -> Result<Diff, StoreError> {
        self.diff_shown(controller, from, to, false)
    }

    fn diff_shown(
        &self,
        controller: &Controller,
        from: &str,
        to: &str,
        secrets: bool,
    ) -> Result<Diff, StoreError> {
        let shown = |text: String| {
            if secrets {
                text
            } else {
                controller_core::project::redact_secrets(&text)
            }
        };
        let a = shown(self.version_text(controller, from)?);
        let b = shown(self.version_text(controller, to)?);
        let label = |v: &str| {
            if v.parse::<u64>().is_ok() {
                format!("#{v}")
            } else {
                v.to_string()
            }
        };
        Ok(project_history::diff(&label(from), &a, &label(to), &b))
    }

    /// The history, newest first.
    pub fn history_list(&self) -> Vec<Entry> {
        self.history.list()
    }

    fn install(&self, controller: &Controller, project: Arc<Project>, text: String, by: &str) {
        // Loading a project cannot fail for a validated project; an engine
        // error is still reported rather than lost.
        if let Err(e) = controller.load_project(project, text, by) {
            controller
                .log()
                .record(format!("the engine refused the project: {e}"));
        }
    }

    /// What is stored and what runs.
    pub fn info(&self, controller: &Controller) -> StoreInfo {
        let running = controller.project();
        let describe = |name: &str| -> Option<(String, String)> {
            let text = self.read(name).ok()??;
            Some(match Project::from_toml(&text) {
                Ok(p) => (p.project.name.clone(), p.project.revision.to_string()),
                Err(e) => ("(invalid)".into(), format!("{} errors", e.0.len())),
            })
        };
        StoreInfo {
            running_name: running.project.name.clone(),
            running_revision: running.project.revision.to_string(),
            active: describe(ACTIVE),
            previous: describe(PREVIOUS),
            pending: describe(PENDING),
            auto_apply: controller.settings().project.auto_apply,
        }
    }
}

/// Replaces `dir/name` with `bytes` atomically and durably: temporary file,
/// fsync, rename, fsync of the directory.
/// How the audit trail names a project.
fn audit_name(project: &Project) -> String {
    format!(
        "project \"{}\" revision {}",
        project.project.name, project.project.revision
    )
}

/// One audit entry per upload, apply, rollback or restore, whatever the
/// outcome (`Ok`: what it was about; `Err`: why it was refused).
fn audit(controller: &Controller, event: AuditEvent, by: &str, result: Result<String, String>) {
    let (outcome, detail) = match result {
        Ok(d) => (AuditOutcome::Ok, d),
        Err(e) => (AuditOutcome::Failed, e),
    };
    controller.audit().record_by(event, outcome, by, detail);
}

/// An apply's or rollback's audit entry and status-log line: `done` words
/// the success; a failure says the running project is unchanged.
fn record(
    controller: &Controller,
    event: AuditEvent,
    by: &str,
    result: &Result<Arc<Project>, StoreError>,
    done: impl FnOnce(&Project) -> String,
) {
    audit(
        controller,
        event,
        by,
        result
            .as_ref()
            .map(|p| audit_name(p))
            .map_err(|e| e.to_string()),
    );
    let what = match event {
        AuditEvent::Rollback => "rollback",
        _ => "project apply",
    };
    controller.log().record(match result {
        Ok(p) => done(p),
        Err(e) => format!("{what} by {by} failed; the running project is unchanged: {e}"),
    });
}

pub fn demo() -> LoadedProject {
    LoadedProject {
        project: Arc::new(demo_project().clone()),
        source: DEMO_PROJECT_TOML.to_string(),
        origin: "built-in demo".into(),
    }
}

/// Reads and validates a project file given on the command line.
pub fn load_file(path: &Path) -> anyhow::Result<LoadedProject> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read project {}", path.display()))?;
    let project = Project::from_toml(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a valid project: {e}", path.display()))?;
    Ok(LoadedProject {
        project: Arc::new(project),
        source: text,
        origin: path.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Profile, Settings};

    fn named(name: &str) -> String {
        DEMO_PROJECT_TOML.replacen(
            "name = \"Demo meeting room\"",
            &format!("name = \"{name}\""),
            1,
        )
    }

    fn setup() -> (tempfile::TempDir, ProjectStore, Controller) {
        let dir = tempfile::tempdir().unwrap();
        let store = ProjectStore::new(dir.path().join("p"));
        let mut settings = Settings::defaults(Profile::Development);
        settings.project.dir = store.dir().to_path_buf();
        let loaded = store.load_active_or_demo();
        let c = Controller::new(settings, loaded.project).with_source(loaded.source);
        (dir, store, c)
    }

    #[test]
    fn upload_apply_rollback_and_forward_again() {
        let (_d, store, c) = setup();
        assert!(matches!(
            store.apply(&c, "t"),
            Err(StoreError::NothingPending)
        ));
        assert!(matches!(
            store.rollback(&c, "t"),
            Err(StoreError::NoPrevious)
        ));
        store.upload(&c, named("A").as_bytes(), "t").unwrap();
        assert_eq!(
            c.project().project.name,
            "Demo meeting room",
            "upload alone applies nothing"
        );
        store.apply(&c, "t").unwrap();
        assert_eq!(c.project().project.name, "A");
        assert!(store.read(PENDING).unwrap().is_none());
        assert_eq!(store.read(ACTIVE).unwrap().unwrap(), named("A"));
        store.rollback(&c, "t").unwrap();
        assert_eq!(c.project().project.name, "Demo meeting room");
        store.rollback(&c, "t").unwrap();
        assert_eq!(c.project().project.name, "A");
        assert_eq!(c.project_source().unwrap(), named("A"));
        // Every change is in the history, newest first.
        let history: Vec<_> = store
            .history_list()
            .into_iter()
            .map(|e| (e.id, e.action, e.name))
            .collect();
        assert_eq!(
            history,
            [
                (3, "rollback".to_string(), "A".to_string()),
                (2, "rollback".to_string(), "Demo meeting room".to_string()),
                (1, "apply".to_string(), "A".to_string()),
            ]
        );
        // A restart runs what is active.
        assert_eq!(store.load_active_or_demo().project.project.name, "A");
    }

    #[test]
    fn restore_makes_a_history_entry_pending_and_diff_compares_versions() {
        let (_d, store, c) = setup();
        store.upload(&c, named("A").as_bytes(), "ftp:x@h").unwrap();
        store.apply(&c, "ftp:x@h").unwrap();
        store
            .upload(&c, named("B").as_bytes(), "admin-page:y")
            .unwrap();
        store.apply(&c, "admin-page:y").unwrap();
        let d = store.diff(&c, "1", "running").unwrap();
        assert_eq!(d.changes, ["project renamed from \"A\" to \"B\""]);
        assert!(d.unified.starts_with("--- #1\n+++ running\n"));
        assert!(matches!(
            store.diff(&c, "9", "running"),
            Err(StoreError::NoSuchVersion(_))
        ));

        let p = store.restore(&c, "1", "telnet:z@h").unwrap();
        assert_eq!(p.project.name, "A");
        assert_eq!(store.read(PENDING).unwrap().unwrap(), named("A"));
        assert_eq!(
            c.project().project.name,
            "B",
            "restore alone applies nothing"
        );
        assert!(matches!(
            store.restore(&c, "7", "t"),
            Err(StoreError::NoSuchVersion(_))
        ));
        store.apply(&c, "telnet:z@h").unwrap();
        assert_eq!(c.project().project.name, "A");
        let newest = &store.history_list()[0];
        assert_eq!((newest.id, newest.via.as_str()), (3, "telnet"));
    }

    #[test]
    fn invalid_uploads_change_nothing() {
        let (_d, store, c) = setup();
        let before = c.revision();
        let bad = named("B").replacen("kind = \"toggle\"", "kind = \"nope\"", 1);
        match store.upload(&c, bad.as_bytes(), "t") {
            Err(StoreError::Invalid(e)) => assert!(e.0[0].line > 0 && !e.0[0].path.is_empty()),
            other => panic!("{:?}", other.map(|p| p.project.name)),
        }
        assert!(matches!(
            store.upload(&c, &[0xff, 0xfe], "t"),
            Err(StoreError::NotText)
        ));
        let small = ProjectStore::new(store.dir()).with_max_bytes(10);
        assert!(matches!(
            small.upload(&c, named("C").as_bytes(), "t"),
            Err(StoreError::TooLarge { .. })
        ));
        assert_eq!(c.revision(), before);
        assert!(store.read(PENDING).unwrap().is_none());
        assert!(c.log().recent(5).join("\n").contains("refused"));
    }

    #[test]
    fn start_falls_back_to_previous_then_demo_and_clears_temp_files() {
        let (_d, store, _c) = setup();
        std::fs::create_dir_all(store.dir()).unwrap();
        write_atomic(store.dir(), PREVIOUS, named("Prev").as_bytes()).unwrap();
        std::fs::write(store.path(ACTIVE), "not a project").unwrap();
        std::fs::write(store.dir().join(".active.toml.tmp"), "half").unwrap();
        assert_eq!(store.load_active_or_demo().project.project.name, "Prev");
        assert!(!store.dir().join(".active.toml.tmp").exists());
        std::fs::remove_file(store.path(PREVIOUS)).unwrap();
        let fresh = store.load_active_or_demo();
        assert_eq!(fresh.origin, NOTHING_STORED);
        assert!(fresh.is_fresh_installation());
        assert!(!demo().is_fresh_installation(), "serve --demo asked for it");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_not_read() {
        let (d, store, _c) = setup();
        std::fs::create_dir_all(store.dir()).unwrap();
        let secret = d.path().join("secret");
        std::fs::write(&secret, "x").unwrap();
        std::os::unix::fs::symlink(&secret, store.path(PENDING)).unwrap();
        assert!(store.read(PENDING).is_err());
    }
}
