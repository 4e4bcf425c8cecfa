//! The FTP view of the project area: a flat directory of at most four files
//! and nothing else. No client path ever reaches the file system: a path is
//! reduced to one plain file name (`..`, sub-directories and anything that
//! is not a plain name are refused) and only the store's fixed names map to
//! files, opened without following symbolic links.
//!
//! | name                | read | write                                     |
//! |---------------------|------|-------------------------------------------|
//! | `active.toml`       | yes  | no (changes only by apply/rollback)       |
//! | `previous.toml`     | yes  | no                                        |
//! | `pending.toml`      | yes  | any `*.toml` upload lands here (admins)   |
//! | `upload-report.txt` | yes  | no (the result of the last upload)        |

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use tokio::io::AsyncReadExt;
use unftp_core::auth::UserDetail;
use unftp_core::storage::{Error, ErrorKind, Fileinfo, Metadata, Result, StorageBackend};

use crate::security::auth::Role;
use crate::state::controller::Controller;
use crate::storage::project_store::{ProjectStore, ACTIVE, PENDING, PREVIOUS};

/// The result of the last upload, readable over FTP.
pub const REPORT: &str = "upload-report.txt";
const LISTED: [&str; 4] = [ACTIVE, PREVIOUS, PENDING, REPORT];

/// A logged-in FTP user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpUser {
    pub name: String,
    pub role: Role,
}

impl fmt::Display for FtpUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.role)
    }
}

impl UserDetail for FtpUser {}

#[derive(Debug, Clone)]
pub struct FileMeta {
    len: u64,
    dir: bool,
    modified: SystemTime,
}

impl Metadata for FileMeta {
    fn len(&self) -> u64 {
        self.len
    }
    fn is_dir(&self) -> bool {
        self.dir
    }
    fn is_file(&self) -> bool {
        !self.dir
    }
    fn is_symlink(&self) -> bool {
        false
    }
    fn modified(&self) -> Result<SystemTime> {
        Ok(self.modified)
    }
    fn gid(&self) -> u32 {
        0
    }
    fn uid(&self) -> u32 {
        0
    }
}

/// What a client path names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Root,
    File(String),
}

/// Reduces a client path to the root or one plain file name.
fn target(path: &Path) -> Result<Target> {
    let mut names = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => match n.to_str() {
                Some(n) if !n.is_empty() && !n.contains(['\\', '\0']) => names.push(n.to_string()),
                _ => return Err(Error::from(ErrorKind::FileNameNotAllowedError)),
            },
            // `..` and anything else: refused, never resolved.
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::from(ErrorKind::PermissionDenied))
            }
        }
    }
    match names.len() {
        0 => Ok(Target::Root),
        1 => Ok(Target::File(names.remove(0))),
        _ => Err(Error::from(ErrorKind::PermanentDirectoryNotAvailable)),
    }
}

/// The storage back end of one FTP session.
pub struct ProjectArea {
    pub store: Arc<ProjectStore>,
    pub controller: Controller,
    /// The client's address, for the log.
    pub peer: String,
}

impl fmt::Debug for ProjectArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProjectArea")
            .field("dir", &self.store.dir())
            .finish()
    }
}

impl ProjectArea {
    fn file_meta(&self, name: &str) -> Result<FileMeta> {
        if !LISTED.contains(&name) {
            return Err(Error::from(ErrorKind::PermanentFileNotAvailable));
        }
        match std::fs::symlink_metadata(self.store.path(name)) {
            Ok(m) if m.file_type().is_file() => Ok(FileMeta {
                len: m.len(),
                dir: false,
                modified: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            }),
            // A symbolic link or anything else planted here is not served.
            Ok(_) => Err(Error::from(ErrorKind::PermissionDenied)),
            Err(_) => Err(Error::from(ErrorKind::PermanentFileNotAvailable)),
        }
    }

    fn root_meta(&self) -> FileMeta {
        FileMeta {
            len: 0,
            dir: true,
            modified: SystemTime::now(),
        }
    }
}

#[async_trait]
impl StorageBackend<FtpUser> for ProjectArea {
    type Metadata = FileMeta;

    fn name(&self) -> &str {
        "roomctl project area"
    }

    async fn metadata<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        _user: &FtpUser,
        path: P,
    ) -> Result<FileMeta> {
        match target(path.as_ref())? {
            Target::Root => Ok(self.root_meta()),
            Target::File(name) => self.file_meta(&name),
        }
    }

    async fn list<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        _user: &FtpUser,
        path: P,
    ) -> Result<Vec<Fileinfo<PathBuf, FileMeta>>> {
        match target(path.as_ref())? {
            Target::Root => Ok(LISTED
                .iter()
                .filter_map(|name| {
                    self.file_meta(name).ok().map(|metadata| Fileinfo {
                        path: PathBuf::from(name),
                        metadata,
                    })
                })
                .collect()),
            Target::File(name) => {
                let metadata = self.file_meta(&name)?;
                Ok(vec![Fileinfo {
                    path: PathBuf::from(name),
                    metadata,
                }])
            }
        }
    }

    async fn get<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        user: &FtpUser,
        path: P,
        start_pos: u64,
    ) -> Result<Box<dyn tokio::io::AsyncRead + Send + Sync + Unpin>> {
        let Target::File(name) = target(path.as_ref())? else {
            return Err(Error::from(ErrorKind::PermanentFileNotAvailable));
        };
        self.file_meta(&name)?;
        let store = self.store.clone();
        let project_file = name.ends_with(".toml");
        let text = tokio::task::spawn_blocking(move || store.read(&name))
            .await
            .map_err(|e| Error::new(ErrorKind::LocalError, e))?
            .map_err(|e| Error::new(ErrorKind::LocalError, e))?
            .ok_or_else(|| Error::from(ErrorKind::PermanentFileNotAvailable))?;
        // Secrets (panel PINs) only to admins.
        let text = if user.role >= Role::Admin || !project_file {
            text
        } else {
            controller_core::project::redact_secrets(&text)
        };
        let bytes = text.into_bytes();
        let start = (start_pos as usize).min(bytes.len());
        Ok(Box::new(std::io::Cursor::new(bytes[start..].to_vec())))
    }

    async fn put<
        P: AsRef<Path> + Send + fmt::Debug,
        R: tokio::io::AsyncRead + Send + Sync + Unpin + 'static,
    >(
        &self,
        user: &FtpUser,
        input: R,
        path: P,
        start_pos: u64,
    ) -> Result<u64> {
        if user.role < Role::Admin {
            return Err(Error::from(ErrorKind::PermissionDenied));
        }
        let Target::File(name) = target(path.as_ref())? else {
            return Err(Error::from(ErrorKind::FileNameNotAllowedError));
        };
        if !name.ends_with(".toml") || name == ACTIVE || name == PREVIOUS {
            // active/previous change only through apply and rollback.
            return Err(Error::from(ErrorKind::FileNameNotAllowedError));
        }
        if start_pos != 0 {
            return Err(Error::from(ErrorKind::CommandNotImplemented));
        }
        // Read at most one byte more than the limit: enough to know it is
        // too large without holding more.
        let limit = self.store.max_bytes();
        let mut bytes = Vec::new();
        input
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| Error::new(ErrorKind::ConnectionClosed, e))?;
        let by = format!("ftp:{}@{}", user.name, self.peer);
        let store = self.store.clone();
        let controller = self.controller.clone();
        let len = bytes.len() as u64;
        let outcome = tokio::task::spawn_blocking(move || {
            let result = if len > limit {
                let e = crate::storage::project_store::StoreError::TooLarge { size: len, limit };
                controller.log().record(format!(
                    "project upload by {by} refused; the running project is unchanged: {e}"
                ));
                Err(e)
            } else {
                store.upload(&controller, &bytes, &by).map(|_| ())
            };
            let report = match &result {
                Ok(()) => format!("OK: {name} is valid and stored as {PENDING}\n"),
                Err(e) => format!("REFUSED: {name}: {e}\n"),
            };
            let _ = std::fs::create_dir_all(store.dir());
            let _ = crate::storage::durable::write_atomic(store.dir(), REPORT, report.as_bytes());
            result
        })
        .await
        .map_err(|e| Error::new(ErrorKind::LocalError, e))?;
        match outcome {
            Ok(()) => Ok(len),
            Err(e @ crate::storage::project_store::StoreError::TooLarge { .. }) => {
                Err(Error::new(ErrorKind::ExceededStorageAllocationError, e))
            }
            Err(e @ crate::storage::project_store::StoreError::Io { .. }) => {
                Err(Error::new(ErrorKind::LocalError, e))
            }
            // An invalid project: 551 (the errors are in upload-report.txt,
            // the log and the status page).
            Err(e) => Err(Error::new(ErrorKind::PageTypeUnknown, e)),
        }
    }

    async fn del<P: AsRef<Path> + Send + fmt::Debug>(&self, user: &FtpUser, path: P) -> Result<()> {
        // Only the pending upload may be withdrawn.
        match target(path.as_ref())? {
            Target::File(name) if name == PENDING && user.role >= Role::Admin => {
                std::fs::remove_file(self.store.path(PENDING))
                    .map_err(|_| Error::from(ErrorKind::PermanentFileNotAvailable))
            }
            _ => Err(Error::from(ErrorKind::PermissionDenied)),
        }
    }

    async fn mkd<P: AsRef<Path> + Send + fmt::Debug>(&self, _: &FtpUser, _: P) -> Result<()> {
        Err(Error::from(ErrorKind::PermissionDenied))
    }

    async fn rename<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        _: &FtpUser,
        _: P,
        _: P,
    ) -> Result<()> {
        Err(Error::from(ErrorKind::PermissionDenied))
    }

    async fn rmd<P: AsRef<Path> + Send + fmt::Debug>(&self, _: &FtpUser, _: P) -> Result<()> {
        Err(Error::from(ErrorKind::PermissionDenied))
    }

    async fn cwd<P: AsRef<Path> + Send + fmt::Debug>(&self, _: &FtpUser, path: P) -> Result<()> {
        match target(path.as_ref())? {
            Target::Root => Ok(()),
            Target::File(_) => Err(Error::from(ErrorKind::PermanentDirectoryNotAvailable)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_reduce_to_one_plain_name_or_are_refused() {
        assert_eq!(target(Path::new("/")).unwrap(), Target::Root);
        assert_eq!(target(Path::new("")).unwrap(), Target::Root);
        assert_eq!(
            target(Path::new("/a.toml")).unwrap(),
            Target::File("a.toml".into())
        );
        assert_eq!(
            target(Path::new("./a.toml")).unwrap(),
            Target::File("a.toml".into())
        );
        for bad in ["../etc/passwd", "/../a.toml", "/x/../../a", "a/b.toml"] {
            assert!(target(Path::new(bad)).is_err(), "{bad} accepted");
        }
    }
}
