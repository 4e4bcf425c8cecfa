//! `audit.log`: the trail on disk, one JSON line per entry, appended only.
//! Before a line would take the file past `max_bytes` the file is rotated:
//! `audit.log` becomes `audit.log.1`, `.1` becomes `.2` ... and the oldest
//! beyond `keep` is deleted, so the trail never takes more than
//! `(keep + 1) * max_bytes` of disk.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::AuditEntry;

pub struct AuditFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    size: u64,
}

/// `audit.log.N`.
fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        // Logins and addresses: readable by the controller's user only.
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn ends_with_newline(path: &Path) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path)?;
    f.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

impl AuditFile {
    /// Opens (or creates, with its folder) the trail for appending.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> io::Result<AuditFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = open_append(path)?;
        let mut size = file.metadata()?.len();
        if size > 0 && !ends_with_newline(path)? {
            // A line cut by a power failure: end it, so the next entry
            // starts on a line of its own.
            file.write_all(b"\n")?;
            size += 1;
        }
        Ok(AuditFile {
            path: path.to_path_buf(),
            max_bytes,
            keep,
            file,
            size,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (rotating first when it would not fit).
    pub fn append(&mut self, line: &str) -> io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.file.write_all(&bytes)?;
        self.size += len;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            let _ = std::fs::remove_file(rotated(&self.path, self.keep));
            for n in (1..self.keep).rev() {
                let from = rotated(&self.path, n);
                if from.exists() {
                    std::fs::rename(&from, rotated(&self.path, n + 1))?;
                }
            }
            std::fs::rename(&self.path, rotated(&self.path, 1))?;
        }
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// The last `n` entries of the trail (the current file, and the newest
/// rotated one when the current file holds fewer), oldest first. Lines
/// that are not entries (a line cut by a power failure) are skipped.
pub fn tail(path: &Path, n: usize) -> VecDeque<AuditEntry> {
    let mut entries = VecDeque::new();
    for file in [rotated(path, 1), path.to_path_buf()] {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines() {
            if let Ok(entry) = AuditEntry::parse_line(line) {
                if entries.len() == n {
                    entries.pop_front();
                }
                entries.push_back(entry);
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditOutcome};

    fn entry(i: usize) -> AuditEntry {
        AuditEntry {
            time: "2026-11-27T10:00:00.000+00:00".into(),
            event: AuditEvent::Login,
            outcome: AuditOutcome::Failed,
            service: "ftp".into(),
            user: Some(format!("user{i}")),
            address: Some("127.0.0.1".into()),
            detail: "wrong user name or password".into(),
        }
    }

    #[test]
    fn rotates_at_the_cap_keeps_n_files_and_reads_back_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("var").join("audit.log");
        let line_len = entry(100).to_line().len() as u64 + 1;
        let max = line_len * 10;
        let mut file = AuditFile::open(&path, max, 2).unwrap();
        for i in 100..150 {
            file.append(&entry(i).to_line()).unwrap();
        }
        for p in [path.clone(), rotated(&path, 1), rotated(&path, 2)] {
            let len = std::fs::metadata(&p).unwrap().len();
            assert!(len <= max && len > 0, "{} is {len} bytes", p.display());
        }
        assert!(!rotated(&path, 3).exists(), "only `keep` rotated files");
        // The newest entries are in audit.log, the ones before in .1.
        let tail = tail(&path, 15);
        let users: Vec<_> = tail.iter().map(|e| e.user.clone().unwrap()).collect();
        assert_eq!(users.first().unwrap(), "user135");
        assert_eq!(users.last().unwrap(), "user149");
        // Reopened (a restart), it appends after what is there.
        drop(file);
        let mut again = AuditFile::open(&path, max, 2).unwrap();
        again.append(&entry(150).to_line()).unwrap();
        let tail = super::tail(&path, 1);
        assert_eq!(tail[0].user.as_deref(), Some("user150"));
    }

    #[test]
    fn a_cut_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let mut text = entry(1).to_line();
        text.push('\n');
        text.push_str(&entry(2).to_line()[..20]);
        std::fs::write(&path, text).unwrap();
        assert_eq!(tail(&path, 10).len(), 1);
        // Reopened, the cut line is ended first: the next entry reads back.
        let mut file = AuditFile::open(&path, 1 << 20, 1).unwrap();
        file.append(&entry(3).to_line()).unwrap();
        let users: Vec<_> = tail(&path, 10)
            .into_iter()
            .map(|e| e.user.unwrap())
            .collect();
        assert_eq!(users, ["user1", "user3"]);
    }
}
