//! The alert history in SQLite: every alert raised, who acknowledged it
//! and when it cleared, kept for `retention_days` after it cleared.

use std::path::Path;

use anyhow::Context;
use controller_core::fleet::AlertRecord;
use rusqlite::{params, Connection};

pub struct History {
    db: Connection,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_key TEXT NOT NULL,
    room TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    acked_by TEXT NOT NULL DEFAULT '',
    acked_at INTEGER NOT NULL DEFAULT 0,
    cleared_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (raised_at);";

impl History {
    /// Opens (or creates) the database. Alerts a previous run left open
    /// are closed as of `now`: this run re-raises whatever still holds.
    pub fn open(path: &Path, now: u64) -> anyhow::Result<History> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let db = Connection::open(path)
            .with_context(|| format!("cannot open the alert history {}", path.display()))?;
        db.execute_batch(SCHEMA)?;
        db.execute(
            "UPDATE alerts SET cleared_at = ?1 WHERE cleared_at = 0",
            params![now as i64],
        )?;
        Ok(History { db })
    }

    pub fn insert(&self, a: &AlertRecord) -> anyhow::Result<i64> {
        self.db.execute(
            "INSERT INTO alerts (room_key, room, kind, detail, raised_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![a.room_key, a.room, a.kind, a.detail, a.raised_at as i64],
        )?;
        Ok(self.db.last_insert_rowid())
    }

    pub fn acknowledge(&self, id: i64, by: &str, at: u64) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE alerts SET acked_by = ?2, acked_at = ?3 WHERE id = ?1",
            params![id, by, at as i64],
        )?;
        Ok(())
    }

    pub fn clear(&self, id: i64, at: u64) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE alerts SET cleared_at = ?2 WHERE id = ?1 AND cleared_at = 0",
            params![id, at as i64],
        )?;
        Ok(())
    }

    pub fn get(&self, id: i64) -> anyhow::Result<Option<AlertRecord>> {
        let mut stmt = self.db.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?;
        let mut rows = stmt.query_map(params![id], record)?;
        Ok(rows.next().transpose()?)
    }

    /// The newest `limit` alerts, newest first; only open ones if `open`.
    pub fn list(&self, open: bool, limit: usize) -> anyhow::Result<Vec<AlertRecord>> {
        let filter = if open { "WHERE cleared_at = 0" } else { "" };
        let mut stmt = self
            .db
            .prepare_cached(&format!("{SELECT} {filter} ORDER BY id DESC LIMIT ?1"))?;
        let rows = stmt.query_map(params![limit as i64], record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes alerts that cleared before `before`; returns how many.
    pub fn purge(&self, before: u64) -> anyhow::Result<usize> {
        Ok(self.db.execute(
            "DELETE FROM alerts WHERE cleared_at != 0 AND cleared_at < ?1",
            params![before as i64],
        )?)
    }
}

const SELECT: &str = "SELECT id, room_key, room, kind, detail, raised_at, acked_by, acked_at, cleared_at FROM alerts";

fn record(row: &rusqlite::Row) -> rusqlite::Result<AlertRecord> {
    Ok(AlertRecord {
        id: row.get(0)?,
        room_key: row.get(1)?,
        room: row.get(2)?,
        kind: row.get(3)?,
        detail: row.get(4)?,
        raised_at: row.get::<_, i64>(5)? as u64,
        acked_by: row.get(6)?,
        acked_at: row.get::<_, i64>(7)? as u64,
        cleared_at: row.get::<_, i64>(8)? as u64,
    })
}

/// Alerts as CSV (RFC 4180 quoting), header first.
pub fn csv(alerts: &[AlertRecord]) -> String {
    let mut out = String::from("id,room,kind,detail,raised_at,acked_by,acked_at,cleared_at\n");
    for a in alerts {
        let fields = [
            a.id.to_string(),
            a.room.clone(),
            a.kind.clone(),
            a.detail.clone(),
            a.raised_at.to_string(),
            a.acked_by.clone(),
            a.acked_at.to_string(),
            a.cleared_at.to_string(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

fn quote(field: &str) -> String {
    // A leading = + - @ would be a formula in a spreadsheet: prefix it.
    let field = if field.starts_with(['=', '+', '-', '@']) && field.parse::<f64>().is_err() {
        format!("'{field}")
    } else {
        field.to_string()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(room: &str) -> AlertRecord {
        AlertRecord {
            id: 0,
            room_key: "r0".into(),
            room: room.into(),
            kind: "offline".into(),
            detail: "no answer".into(),
            raised_at: 100,
            acked_by: String::new(),
            acked_at: 0,
            cleared_at: 0,
        }
    }

    #[test]
    fn raise_ack_clear_purge_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let h = History::open(&path, 50).unwrap();
        let a = h.insert(&alert("Room 1")).unwrap();
        let b = h.insert(&alert("Room 2")).unwrap();
        h.acknowledge(a, "ops", 110).unwrap();
        h.clear(a, 120).unwrap();
        let got = h.get(a).unwrap().unwrap();
        assert_eq!(
            (got.acked_by.as_str(), got.acked_at, got.cleared_at),
            ("ops", 110, 120)
        );
        assert_eq!(h.list(true, 10).unwrap().len(), 1);
        assert_eq!(h.purge(121).unwrap(), 1);
        assert!(h.get(a).unwrap().is_none());
        drop(h);
        // A restart closes what was left open.
        let h = History::open(&path, 200).unwrap();
        assert_eq!(h.get(b).unwrap().unwrap().cleared_at, 200);
        assert!(h.list(true, 10).unwrap().is_empty());
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut a = alert("Room \"A\", 2nd");
        a.detail = "=cmd()".into();
        let text = csv(&[a]);
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "0,\"Room \"\"A\"\", 2nd\",offline,'=cmd(),100,,0,0"
        );
    }
}
