//! Every project that was made the running one (apply, rollback), kept in
//! `<project dir>/history/` so any two can be compared and any one restored
//! as the pending project.
//!
//! One entry is two files written with [`write_atomic`]:
//! `NNNNNN.toml` (the text as applied, byte for byte, comments and all) and
//! then `NNNNNN.json` (who, when, how, which project). The JSON file is
//! written last, so it marks a complete entry: a crash between the two
//! leaves a `.toml` without its `.json`, which is ignored and removed at the
//! next record. Only the newest `keep` entries stay (`[project] history`).

use std::path::{Path, PathBuf};

use controller_core::project::{changes, Project};
use serde::{Deserialize, Serialize};

use super::durable::{write_atomic, DurableError};

/// One applied project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Increases with every entry; never reused, even after pruning.
    pub id: u64,
    /// When it was applied, in seconds since 1970 (UTC).
    pub time: u64,
    /// The user who applied it.
    pub user: String,
    /// How it came: `ftp`, `telnet`, `web`, `designer`, `cli` or `local`.
    pub via: String,
    /// `apply` or `rollback`.
    pub action: String,
    pub name: String,
    pub revision: u32,
    /// The entry's format ([`super::formats`]); entries written before it
    /// was kept are version 1.
    #[serde(default = "super::formats::unversioned")]
    pub format: u32,
}

/// An entry as read from its JSON: refused when written by a newer roomctl.
pub fn read_entry(bytes: &[u8]) -> Result<Entry, String> {
    let entry: Entry = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if entry.format > super::formats::HISTORY_ENTRY_VERSION {
        return Err(format!(
            "format {} is newer than this roomctl's ({})",
            entry.format,
            super::formats::HISTORY_ENTRY_VERSION
        ));
    }
    Ok(entry)
}

/// The history directory of one project store.
pub struct History {
    dir: PathBuf,
    keep: usize,
}

/// Splits the `by` that services pass to the store (`ftp:alice@10.0.0.5`,
/// `admin-page:bob`, `designer:bob`, `telnet:carol@...`) into how it came
/// and who. The console's `roomctl project` client says `cli` itself.
pub fn via_and_user(by: &str) -> (String, String) {
    let (channel, rest) = by.split_once(':').unwrap_or(("local", by));
    let user = rest.split('@').next().unwrap_or(rest).to_string();
    let via = match channel {
        "admin-page" | "web" => "web",
        "ftp" => "ftp",
        "telnet" => "telnet",
        "designer" => "designer",
        "cli" => "cli",
        _ => "local",
    };
    (via.to_string(), user)
}

impl History {
    pub fn new(project_dir: &Path, keep: usize) -> History {
        History {
            dir: project_dir.join("history"),
            keep,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps `text` (which `project` was read from) as the newest entry and
    /// drops the oldest beyond the limit. Nothing is kept when the limit is
    /// 0. The caller holds the store's lock.
    pub fn record(
        &self,
        text: &str,
        project: &Project,
        by: &str,
        action: &str,
    ) -> Result<Option<Entry>, DurableError> {
        if self.keep == 0 {
            return Ok(None);
        }
        std::fs::create_dir_all(&self.dir).map_err(DurableError::io(format!(
            "cannot create {}",
            self.dir.display()
        )))?;
        let id = self.files().iter().map(|(id, _)| *id).max().unwrap_or(0) + 1;
        let (via, user) = via_and_user(by);
        let entry = Entry {
            id,
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            user,
            via,
            action: action.to_string(),
            name: project.project.name.clone(),
            revision: project.project.revision,
            format: super::formats::HISTORY_ENTRY_VERSION,
        };
        write_atomic(&self.dir, &format!("{id:06}.toml"), text.as_bytes())?;
        let json = serde_json::to_vec_pretty(&entry).unwrap_or_default();
        write_atomic(&self.dir, &format!("{id:06}.json"), &json)?;
        self.prune();
        Ok(Some(entry))
    }

    /// Every complete entry, newest first.
    pub fn list(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = self
            .files()
            .into_iter()
            .filter(|(_, complete)| *complete)
            .filter_map(|(id, _)| {
                let bytes = std::fs::read(self.dir.join(format!("{id:06}.json"))).ok()?;
                read_entry(&bytes).ok()
            })
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.id));
        entries
    }

    pub fn entry(&self, id: u64) -> Option<Entry> {
        self.list().into_iter().find(|e| e.id == id)
    }

    /// The text of entry `id`, `None` when there is no such (complete) entry.
    pub fn text(&self, id: u64) -> Option<String> {
        self.entry(id)?;
        std::fs::read_to_string(self.dir.join(format!("{id:06}.toml"))).ok()
    }

    /// The ids in the directory, each with whether its entry is complete
    /// (both files present). Names not of the form `NNNNNN.toml|json` are
    /// not ours and are left alone.
    fn files(&self) -> Vec<(u64, bool)> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut ids: Vec<u64> = dir
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let stem = name
                    .strip_suffix(".toml")
                    .or_else(|| name.strip_suffix(".json"))?;
                (stem.len() == 6).then(|| stem.parse().ok())?
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let has = |ext: &str| self.dir.join(format!("{id:06}.{ext}")).is_file();
                (id, has("toml") && has("json"))
            })
            .collect()
    }

    /// Drops incomplete entries and the oldest complete ones beyond `keep`.
    /// The `.json` goes first, so an interrupted prune leaves an incomplete
    /// entry (ignored), never a listed entry without its text.
    fn prune(&self) {
        let files = self.files();
        let complete = files.iter().filter(|(_, c)| *c).count();
        let mut excess = complete.saturating_sub(self.keep);
        for (id, is_complete) in files {
            if is_complete {
                if excess == 0 {
                    continue;
                }
                excess -= 1;
            }
            let _ = std::fs::remove_file(self.dir.join(format!("{id:06}.json")));
            let _ = std::fs::remove_file(self.dir.join(format!("{id:06}.toml")));
        }
    }
}

/// Two project texts compared: a unified line diff and, when both are
/// valid projects, what changed in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub from: String,
    pub to: String,
    /// `--- from` / `+++ to` / `@@` hunks with three lines of context.
    pub unified: String,
    pub changes: Vec<String>,
}

pub fn diff(from_label: &str, from: &str, to_label: &str, to: &str) -> Diff {
    let unified = similar::TextDiff::from_lines(from, to)
        .unified_diff()
        .context_radius(3)
        .header(from_label, to_label)
        .to_string();
    let changes = match (Project::from_toml(from), Project::from_toml(to)) {
        (Ok(a), Ok(b)) => changes(&a, &b),
        _ => vec!["one of the two is not a valid project; compare the lines".to_string()],
    };
    Diff {
        from: from_label.to_string(),
        to: to_label.to_string(),
        unified,
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use controller_core::project::DEMO_PROJECT_TOML;

    fn demo_named(name: &str) -> (String, Project) {
        let text = DEMO_PROJECT_TOML.replacen(
            "name = \"Demo meeting room\"",
            &format!("name = \"{name}\""),
            1,
        );
        let p = Project::from_toml(&text).unwrap();
        (text, p)
    }

    #[test]
    fn keeps_the_newest_entries_with_who_and_how() {
        let d = tempfile::tempdir().unwrap();
        let h = History::new(d.path(), 3);
        for (i, by) in [
            "ftp:alice@10.0.0.5",
            "admin-page:bob",
            "telnet:carol@::1",
            "designer:dan",
            "cli:erin",
        ]
        .iter()
        .enumerate()
        {
            let (text, p) = demo_named(&format!("Room {i}"));
            h.record(&text, &p, by, "apply").unwrap();
        }
        let list = h.list();
        assert_eq!(list.iter().map(|e| e.id).collect::<Vec<_>>(), [5, 4, 3]);
        assert_eq!(
            (list[0].via.as_str(), list[0].user.as_str()),
            ("cli", "erin")
        );
        assert_eq!(
            (list[1].via.as_str(), list[1].user.as_str()),
            ("designer", "dan")
        );
        assert_eq!(
            (list[2].via.as_str(), list[2].user.as_str()),
            ("telnet", "carol")
        );
        assert_eq!(list[2].name, "Room 2");
        assert!(h.text(2).is_none(), "pruned");
        assert!(h.text(5).unwrap().contains("Room 4"));
        assert_eq!(std::fs::read_dir(h.dir()).unwrap().count(), 6);
    }

    #[test]
    fn an_entry_without_its_sidecar_is_ignored_then_removed() {
        let d = tempfile::tempdir().unwrap();
        let h = History::new(d.path(), 50);
        let (text, p) = demo_named("A");
        h.record(&text, &p, "ftp:a@h", "apply").unwrap();
        // A crash between the two writes of entry 2.
        std::fs::write(h.dir().join("000002.toml"), "half").unwrap();
        assert_eq!(h.list().len(), 1);
        assert!(h.text(2).is_none());
        let e = h.record(&text, &p, "ftp:a@h", "rollback").unwrap().unwrap();
        assert_eq!(e.id, 3, "ids are not reused");
        assert!(!h.dir().join("000002.toml").exists());
    }

    #[test]
    fn zero_keeps_nothing() {
        let d = tempfile::tempdir().unwrap();
        let h = History::new(d.path(), 0);
        let (text, p) = demo_named("A");
        assert!(h.record(&text, &p, "ftp:a@h", "apply").unwrap().is_none());
        assert!(h.list().is_empty());
    }

    #[test]
    fn diff_shows_lines_and_words() {
        let (a, _) = demo_named("A");
        let (b, _) = demo_named("B");
        let d = diff("#1", &a, "#2", &b);
        assert!(d.unified.starts_with("--- #1\n+++ #2\n"), "{}", d.unified);
        assert!(
            d.unified.contains("-name = \"A\"\n+name = \"B\"\n"),
            "{}",
            d.unified
        );
        assert_eq!(d.changes, ["project renamed from \"A\" to \"B\""]);
        assert!(diff("x", "nonsense", "y", &b).changes[0].contains("not a valid project"));
    }
}
