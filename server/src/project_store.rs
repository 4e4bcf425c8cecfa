//! Where the active project lives on disk: `<project dir>/active.toml`.
//! At start the controller runs the active project if there is one, else
//! the built-in demo. (Uploads, apply and rollback build on this.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use controller_core::project::{demo_project, Project, DEMO_PROJECT_TOML};

pub struct ProjectStore {
    dir: PathBuf,
}

/// A project and the text it came from.
pub struct LoadedProject {
    pub project: Arc<Project>,
    pub source: String,
    pub origin: String,
}

impl ProjectStore {
    pub fn new(dir: impl Into<PathBuf>) -> ProjectStore {
        ProjectStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn active_path(&self) -> PathBuf {
        self.dir.join("active.toml")
    }

    /// The project to run at start: the active one if present and valid,
    /// else the demo. An invalid active file is reported, not run.
    pub fn load_active_or_demo(&self) -> LoadedProject {
        let path = self.active_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => match Project::from_toml(&text) {
                Ok(p) => {
                    return LoadedProject {
                        project: Arc::new(p),
                        source: text,
                        origin: path.display().to_string(),
                    }
                }
                Err(e) => tracing::error!(
                    "the active project {} is invalid; running the demo instead:\n{e}",
                    path.display()
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::error!(
                "cannot read {}: {e}; running the demo instead",
                path.display()
            ),
        }
        demo()
    }
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
