//! Why a restore did not happen (its staging and its reading share it).

use super::FORMAT_VERSION;

/// Why a restore did not happen. In every case but [`RestoreError::Swap`]
/// nothing was changed; in that one, what had moved was put back.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{file} is not a roomctl backup ({why}); nothing was changed")]
    Foreign { file: String, why: String },
    #[error("{file} is damaged ({why}); nothing was changed")]
    Corrupt { file: String, why: String },
    #[error(
        "{file} was made by roomctl {made_by} (backup format {found}); this roomctl ({ours}) reads backup format {FORMAT_VERSION} at most: upgrade roomctl first; nothing was changed"
    )]
    Newer {
        file: String,
        made_by: String,
        found: u32,
        ours: &'static str,
    },
    #[error("the backup's {what} is not valid: {why}; nothing was changed")]
    Invalid { what: String, why: String },
    #[error(
        "no space left on the device while writing {what}: free some space and try again; nothing was changed"
    )]
    Full { what: String },
    #[error("cannot write {what}: {source}; nothing was changed")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot put {what} in place: {source}; the files that had moved were put back")]
    Swap {
        what: String,
        #[source]
        source: std::io::Error,
    },
}
