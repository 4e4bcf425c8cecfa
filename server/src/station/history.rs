//! The station's history in SQLite: every alert raised, who acknowledged
//! it and when it cleared, kept for `retention_days` after it cleared; and
//! the usage records (presses, display on/off, source selections) that
//! the usage figures are counted from, kept for `retention_days`.

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
CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (raised_at);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL,
    building TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_at ON usage (at);";

/// One usage record: a press, the display going on or off (or out of
/// sight: `unknown`), a source selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    pub room: String,
    pub building: String,
    /// Unix seconds.
    pub at: u64,
    /// `press`, `display`, `booked`, `occupied` or `source`.
    pub kind: String,
    /// The button (press), `on`/`off`/`unknown` (display, booked,
    /// occupied), the source's label (source).
    pub subject: String,
}

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
        crate::storage::formats::migrate_station_db(&db)?;
        db.execute(
            "UPDATE alerts SET cleared_at = ?1 WHERE cleared_at = 0",
            params![now as i64],
        )?;
        // A display left on when the last run stopped is on no longer as
        // far as anyone knows: closed at that run's last record.
        db.execute(
            "INSERT INTO usage (room, building, at, kind, subject)
             SELECT room, building, (SELECT MAX(at) FROM usage), kind, 'unknown'
             FROM usage u WHERE kind IN ('display', 'booked', 'occupied') AND id = (
                 SELECT MAX(id) FROM usage WHERE kind = u.kind AND room = u.room)
             AND subject = 'on'",
            [],
        )?;
        Ok(History { db })
    }

    /// Adds usage records, all in one transaction.
    pub fn insert_usage(&self, records: &[UsageRecord]) -> anyhow::Result<()> {
        let tx = self.db.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO usage (room, building, at, kind, subject) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for r in records {
                stmt.execute(params![r.room, r.building, r.at as i64, r.kind, r.subject])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The state records (display, booked, occupied) from `since` on,
    /// oldest first, preceded by each room's last one of each kind before
    /// `since` (its state then).
    pub fn states_since(&self, since: u64) -> anyhow::Result<Vec<UsageRecord>> {
        let mut stmt = self.db.prepare_cached(
            "SELECT room, building, at, kind, subject FROM usage u
             WHERE at < ?1 AND kind IN ('display', 'booked', 'occupied') AND id = (
                 SELECT MAX(id) FROM usage WHERE kind = u.kind AND room = u.room AND at < ?1)
             UNION ALL
             SELECT room, building, at, kind, subject FROM (
                 SELECT * FROM usage WHERE at >= ?1 AND kind IN ('display', 'booked', 'occupied')
                 ORDER BY at, id)",
        )?;
        let rows = stmt.query_map(params![since as i64], |row| {
            Ok(UsageRecord {
                room: row.get(0)?,
                building: row.get(1)?,
                at: row.get::<_, i64>(2)? as u64,
                kind: row.get(3)?,
                subject: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Presses and source selections from `since` on, counted per room
    /// (and per source): records with `at` = 0 and `subject` = the count.
    pub fn counts_since(&self, since: u64) -> anyhow::Result<Vec<(UsageRecord, u64)>> {
        let mut stmt = self.db.prepare_cached(
            "SELECT room, MAX(building), kind, CASE WHEN kind = 'press' THEN '' ELSE subject END AS s,
                    COUNT(*)
             FROM usage WHERE at >= ?1 AND kind IN ('press', 'source') GROUP BY room, kind, s",
        )?;
        let rows = stmt.query_map(params![since as i64], |row| {
            Ok((
                UsageRecord {
                    room: row.get(0)?,
                    building: row.get(1)?,
                    at: 0,
                    kind: row.get(2)?,
                    subject: row.get(3)?,
                },
                row.get::<_, i64>(4)? as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Presses from `since` on, per slice of `slice` seconds: (the slice's
    /// number from `since`, presses).
    pub fn presses_by_slice(&self, since: u64, slice: u64) -> anyhow::Result<Vec<(u64, u64)>> {
        let mut stmt = self.db.prepare_cached(
            "SELECT (at - ?1) / ?2, COUNT(*) FROM usage
             WHERE at >= ?1 AND kind = 'press' GROUP BY 1",
        )?;
        let rows = stmt.query_map(params![since as i64, slice.max(1) as i64], |row| {
            Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Alerts raised from `since` on, counted per room name.
    pub fn alerts_since(&self, since: u64) -> anyhow::Result<Vec<(String, u64)>> {
        let mut stmt = self.db.prepare_cached(
            "SELECT room, COUNT(*) FROM alerts WHERE raised_at >= ?1 GROUP BY room",
        )?;
        let rows = stmt.query_map(params![since as i64], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    /// Deletes alerts that cleared before `before`, and usage records
    /// from before it but each room's last display record; returns how
    /// many rows went.
    pub fn purge(&self, before: u64) -> anyhow::Result<usize> {
        let alerts = self.db.execute(
            "DELETE FROM alerts WHERE cleared_at != 0 AND cleared_at < ?1",
            params![before as i64],
        )?;
        // Each room's last display record stays: it is the display's state.
        let usage = self.db.execute(
            "DELETE FROM usage WHERE at < ?1 AND NOT (kind = 'display' AND id = (
                 SELECT MAX(id) FROM usage d WHERE d.kind = 'display' AND d.room = usage.room))",
            params![before as i64],
        )?;
        Ok(alerts + usage)
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

pub(super) fn quote(field: &str) -> String {
    // Text from the rooms: no control character reaches the spreadsheet or
    // the terminal that shows the file.
    let field = controller_core::printable::printable(field);
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

    fn usage(room: &str, at: u64, kind: &str, subject: &str) -> UsageRecord {
        UsageRecord {
            room: room.into(),
            building: "B".into(),
            at,
            kind: kind.into(),
            subject: subject.into(),
        }
    }

    #[test]
    fn usage_records_count_and_a_restart_closes_a_display_left_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let h = History::open(&path, 0).unwrap();
        h.insert_usage(&[
            usage("R1", 10, "display", "on"),
            usage("R1", 20, "display", "off"),
            usage("R1", 30, "display", "on"),
            usage("R2", 15, "display", "off"),
            usage("R1", 35, "press", "mute"),
            usage("R1", 50, "press", "mute"),
            usage("R2", 60, "source", "HDMI 1"),
        ])
        .unwrap();
        let mut got = h.states_since(40).unwrap();
        got.sort_by(|a, b| a.room.cmp(&b.room));
        assert_eq!(
            got,
            [
                usage("R1", 30, "display", "on"),
                usage("R2", 15, "display", "off")
            ]
        );
        let mut counts = h.counts_since(40).unwrap();
        counts.sort_by(|a, b| a.0.room.cmp(&b.0.room));
        let got: Vec<_> = counts
            .iter()
            .map(|(r, n)| (r.room.as_str(), r.kind.as_str(), r.subject.as_str(), *n))
            .collect();
        assert_eq!(got, [("R1", "press", "", 1), ("R2", "source", "HDMI 1", 1)]);
        assert_eq!(h.presses_by_slice(30, 10).unwrap(), [(0, 1), (2, 1)]);
        assert_eq!(h.purge(31).unwrap(), 2, "R1's display on/off at 10 and 20");
        drop(h);
        // R1's display was on when the run stopped: closed at its last record.
        let h = History::open(&path, 500).unwrap();
        let got = h.states_since(55).unwrap();
        assert!(
            got.contains(&usage("R1", 60, "display", "unknown")),
            "{got:?}"
        );
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
