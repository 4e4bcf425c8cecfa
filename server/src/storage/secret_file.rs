//! Files that hold secrets: the settings file (password hashes), the
//! station's and the MQTT bridge's password files. They are written with
//! mode 0600, and checked when read, as ssh checks its keys: a file every
//! user of the machine may change is refused (anyone could make themselves
//! an admin, or point the station at their own account), one they may
//! read gets a warning, and an empty password file is an error, not an
//! empty password.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Mode bits: writable by others, readable by group or others.
const OTHERS_WRITE: u32 = 0o002;
const SHARED_READ: u32 = 0o044;

/// Refuses a file every user of the machine may write; warns (in the log)
/// when others may read it. `what` names the file for the message.
pub fn check_permissions(path: &Path, what: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(());
        };
        let mode = meta.permissions().mode() & 0o777;
        anyhow::ensure!(
            mode & OTHERS_WRITE == 0,
            "{what} {} may be changed by every user of this machine (mode {mode:03o}); \
             make it private with `chmod 600 {}` and start again",
            path.display(),
            path.display()
        );
        if mode & SHARED_READ != 0 {
            tracing::warn!(
                "{what} {} holds secrets but other users may read it (mode {mode:03o}); \
                 `chmod 600 {}` makes it private",
                path.display(),
                path.display()
            );
        }
    }
    Ok(())
}

/// The password on the first line of `path`, after
/// [`check_permissions`]; an empty one is an error.
pub fn read_password_file(path: &Path, what: &str) -> anyhow::Result<String> {
    check_permissions(path, what)?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    let password = text.lines().next().unwrap_or("").to_string();
    anyhow::ensure!(
        !password.is_empty(),
        "the {what} {} is empty: write the password on its first line",
        path.display()
    );
    Ok(password)
}

/// Replaces `path` with `bytes` (a temporary file, then a rename), the
/// new file private to its owner (0600; a file that was already shared
/// with its group stays so, never with others).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("toml.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let kept = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o640)
            .unwrap_or(0o600);
        let mode = kept | 0o600;
        options.mode(mode);
        mode
    };
    let _ = std::fs::remove_file(&tmp);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    #[cfg(unix)]
    {
        // The mode given at creation is cut by the umask; set it exactly.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}
