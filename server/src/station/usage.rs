//! Usage at a glance: what each room is used for, counted from records the
//! watchers keep in the history (SQLite, `usage` table).
//!
//! How the station knows, from a room's own layout and live state:
//! - **display on**: one of `[station] display_buttons` (the demo's
//!   `display_power`) has its LED lit. In the demo that LED follows what
//!   the projector reports, so it is the display's real state, not the
//!   last press. Warming up and cooling down (blinking) count as on.
//! - **source**: the lit member of the button group `[station]
//!   source_group` (the demo's `sources`); a selection is counted each
//!   time a different member lights.
//! - **presses**: every `pressed` step (any panel, keypad or the station).
//! - **booked**: the room's `calendar_busy` variable (its calendar service,
//!   docs/calendar.md), when its project has it.
//! - **occupied**: the room's `occupied` variable (a presence sensor read
//!   by its project), when it has one.
//! - **in use**: occupied where the room says so, else its display on.
//!   A booking with no use in it is "booked but unused"; a use that
//!   overlaps no booking is "used but not booked" (rooms with a calendar).
//!
//! A record is written only when something changes (a press, the display
//! going on or off, another source), in batches, off the watchers' path.
//! A room going out of sight while its display is on records `unknown`,
//! which ends the "on" time there: hours are counted only while seen.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use controller_core::engine::{Change, Snapshot, Step};
use controller_core::fleet::{building_of, UsageReport, UsageRow};
use controller_core::view::RoomLayout;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::history::{quote, UsageRecord};

/// Records waiting to be written; more are dropped (and counted).
const QUEUE: usize = 8192;
/// Records are written at most this often, in one transaction.
const BATCH_EVERY: Duration = Duration::from_millis(250);

/// What a room's state says about its use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageState {
    /// `None`: the room has none of the display buttons (or is not seen).
    pub display: Option<bool>,
    /// The selected source's label, if one is lit.
    pub source: Option<String>,
    /// `None`: the room shows no calendar (no `calendar_busy`).
    pub booked: Option<bool>,
    /// `None`: the room has no `occupied` variable.
    pub occupied: Option<bool>,
}

impl UsageState {
    /// In use: occupied where the room knows, else its display on.
    pub fn in_use(&self) -> Option<bool> {
        self.occupied.or(self.display)
    }
}

/// A bool variable of the snapshot, if the room has it.
fn flag(snapshot: &Snapshot, name: &str) -> Option<bool> {
    match snapshot.variables.get(name) {
        Some(controller_core::project::Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

/// The state of a room by the station's rules (see the module's text).
pub fn state(
    display_buttons: &[String],
    source_group: &str,
    layout: Option<&RoomLayout>,
    snapshot: &Snapshot,
) -> UsageState {
    let mut display = None;
    for b in display_buttons {
        if let Some(led) = snapshot.led(b) {
            display = Some(display.unwrap_or(false) || led.mode.is_lit());
        }
    }
    let source = layout.and_then(|l| {
        l.buttons
            .iter()
            .filter(|b| !source_group.is_empty() && b.group.as_deref() == Some(source_group))
            .find(|b| snapshot.led(&b.id).is_some_and(|led| led.mode.is_lit()))
            .map(|b| b.label.clone())
    });
    UsageState {
        display,
        source,
        booked: controller_core::fleet::booked(&snapshot.variables),
        occupied: flag(snapshot, controller_core::fleet::OCCUPIED_VARIABLE),
    }
}

/// Who the records are about.
pub struct Subject<'a> {
    pub room: &'a str,
    pub location: &'a str,
    pub at: u64,
}

impl Subject<'_> {
    fn record(&self, kind: &str, subject: &str) -> UsageRecord {
        UsageRecord {
            room: self.room.to_string(),
            building: building_of(self.location),
            at: self.at,
            kind: kind.into(),
            subject: subject.into(),
        }
    }
}

/// The records a change of state makes.
pub fn changes(who: &Subject, before: &UsageState, after: &UsageState) -> Vec<UsageRecord> {
    let mut out = Vec::new();
    let display = match (before.display, after.display) {
        (b, a) if b == a => None,
        // Newly seen and off: nothing was on, nothing to close.
        (None, Some(false)) => None,
        (_, Some(true)) => Some("on"),
        (_, Some(false)) => Some("off"),
        (Some(true), None) => Some("unknown"),
        (_, None) => None,
    };
    if let Some(d) = display {
        out.push(who.record("display", d));
    }
    // Booked and occupied are recorded from when a room is first seen
    // with them (off too): a room with a calendar that was never booked
    // in a period still counts its uses as "not booked".
    for (kind, b, a) in [
        ("booked", before.booked, after.booked),
        ("occupied", before.occupied, after.occupied),
    ] {
        let subject = match (b, a) {
            (b, a) if b == a => None,
            (_, Some(true)) => Some("on"),
            (_, Some(false)) => Some("off"),
            (Some(_), None) => Some("unknown"),
            (None, None) => None,
        };
        if let Some(subject) = subject {
            out.push(who.record(kind, subject));
        }
    }
    if after.source != before.source {
        if let Some(s) = &after.source {
            out.push(who.record("source", s));
        }
    }
    out
}

/// The presses in a step.
pub fn presses(who: &Subject, step: &Step) -> Vec<UsageRecord> {
    step.changes
        .iter()
        .filter_map(|c| match c {
            Change::Pressed { button, .. } => Some(who.record("press", button)),
            _ => None,
        })
        .collect()
}

/// The watchers' end of the record queue: never waits.
pub struct Recorder {
    tx: mpsc::Sender<UsageRecord>,
    dropped: AtomicU64,
}

impl Recorder {
    pub fn new() -> (Recorder, mpsc::Receiver<UsageRecord>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let recorder = Recorder {
            tx,
            dropped: AtomicU64::new(0),
        };
        (recorder, rx)
    }

    pub fn record(&self, records: Vec<UsageRecord>) {
        for r in records {
            if self.tx.try_send(r).is_err() && self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!(
                    "station: usage records are coming faster than the history takes them; some are dropped"
                );
            }
        }
    }
}

/// Hands queued records to `write` (the history's `insert_usage`, on a
/// blocking thread) in batches until shutdown (then writes what is left).
/// The writer is passed in so that usage does not depend on the alerts
/// that own the history (alerts → registry → usage would be a cycle).
pub async fn run<W>(mut rx: mpsc::Receiver<UsageRecord>, write: W, shutdown: CancellationToken)
where
    W: Fn(&[UsageRecord]) -> anyhow::Result<()> + Clone + Send + 'static,
{
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => None,
            r = rx.recv() => r,
        };
        let stopping = first.is_none();
        if !stopping {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(BATCH_EVERY) => {}
            }
        }
        let mut batch: Vec<UsageRecord> = first.into_iter().collect();
        while let Ok(r) = rx.try_recv() {
            batch.push(r);
        }
        if !batch.is_empty() {
            let write = write.clone();
            let written = tokio::task::spawn_blocking(move || write(&batch)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("station: cannot record usage: {e:#}"),
                Err(e) => tracing::error!("station: recording usage failed: {e}"),
            }
        }
        if stopping || shutdown.is_cancelled() {
            return;
        }
    }
}

/// The periods the usage page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// `day`, `week`, `month`; anything else is a week.
    pub fn parse(text: &str) -> Period {
        match text {
            "day" => Period::Day,
            "month" => Period::Month,
            _ => Period::Week,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    pub fn secs(self) -> u64 {
        match self {
            Period::Day => 86_400,
            Period::Week => 7 * 86_400,
            Period::Month => 30 * 86_400,
        }
    }

    /// The timeline's slice: hours of a day, days of a week or month.
    fn slice(self) -> u64 {
        match self {
            Period::Day => 3600,
            _ => 86_400,
        }
    }
}

/// What a report is counted from (as the history returns it).
#[derive(Debug, Default)]
pub struct Counted {
    /// State records (display, booked, occupied) from the period's start,
    /// each room's state before it first
    /// ([`super::history::History::states_since`]).
    pub states: Vec<UsageRecord>,
    /// Presses and source selections per room (and source)
    /// ([`super::history::History::counts_since`]).
    pub counts: Vec<(UsageRecord, u64)>,
    /// Presses per slice of the period.
    pub slices: Vec<(u64, u64)>,
    /// Alerts raised per room.
    pub alerts: Vec<(String, u64)>,
}

/// Reads what [`report`] needs for `period` ending at `until`.
pub fn count(
    history: &super::history::History,
    period: Period,
    until: u64,
) -> anyhow::Result<Counted> {
    let since = until.saturating_sub(period.secs());
    Ok(Counted {
        states: history.states_since(since)?,
        counts: history.counts_since(since)?,
        slices: history.presses_by_slice(since, period.slice())?,
        alerts: history.alerts_since(since)?,
    })
}

/// The report of a period ending at `until`, from what the history
/// counted and the rooms the station watches now (name, location), which
/// appear even when unused.
pub fn report(
    counted: &Counted,
    rooms_now: &[(String, String)],
    period: Period,
    until: u64,
) -> UsageReport {
    let since = until.saturating_sub(period.secs());
    let mut rooms: BTreeMap<String, UsageRow> = BTreeMap::new();
    let row = |rooms: &mut BTreeMap<String, UsageRow>, name: &str, building: &str| {
        let r = rooms.entry(name.to_string()).or_insert_with(|| UsageRow {
            name: name.to_string(),
            ..UsageRow::default()
        });
        if !building.is_empty() {
            r.building = building.to_string();
        }
    };
    for (name, location) in rooms_now {
        row(&mut rooms, name, &building_of(location));
    }
    let slices = period.secs() / period.slice();
    let mut timeline: Vec<(u64, u64)> = (0..slices)
        .map(|i| (since + i * period.slice(), 0))
        .collect();
    for (i, n) in &counted.slices {
        if let Some(slice) = timeline.get_mut(*i as usize) {
            slice.1 += n;
        }
    }
    // Each room's spans of each state (display, booked, occupied) in the
    // period, and which states each room reported at all.
    let mut on_since: HashMap<(&str, &str), u64> = HashMap::new();
    let mut spans: HashMap<(&str, &str), Vec<(u64, u64)>> = HashMap::new();
    let mut reported: HashSet<(&str, &str)> = HashSet::new();
    for r in &counted.states {
        row(&mut rooms, &r.room, &r.building);
        let at = r.at.clamp(since, until);
        let key = (r.room.as_str(), r.kind.as_str());
        reported.insert(key);
        if r.subject == "on" {
            on_since.entry(key).or_insert(at);
        } else if let Some(from) = on_since.remove(&key) {
            spans.entry(key).or_default().push((from, at));
        }
    }
    for (key, from) in on_since {
        spans.entry(key).or_default().push((from, until));
    }
    for row in rooms.values_mut() {
        let of = |kind: &str| -> Vec<(u64, u64)> {
            spans
                .get(&(row.name.as_str(), kind))
                .map(|v| v.iter().copied().filter(|(a, b)| b > a).collect())
                .unwrap_or_default()
        };
        let secs = |v: &[(u64, u64)]| v.iter().map(|(a, b)| b - a).sum::<u64>();
        let (display, booked, occupied) = (of("display"), of("booked"), of("occupied"));
        row.display_secs = secs(&display);
        row.booked_secs = secs(&booked);
        row.occupied_secs = secs(&occupied);
        if reported.contains(&(row.name.as_str(), "booked")) {
            let in_use = if reported.contains(&(row.name.as_str(), "occupied")) {
                &occupied
            } else {
                &display
            };
            let overlaps = |a: &(u64, u64), others: &[(u64, u64)]| {
                others.iter().any(|b| a.0 < b.1 && b.0 < a.1)
            };
            row.booked_unused = booked.iter().filter(|b| !overlaps(b, in_use)).count() as u64;
            row.used_unbooked = in_use.iter().filter(|u| !overlaps(u, &booked)).count() as u64;
        }
    }
    for (r, n) in &counted.counts {
        row(&mut rooms, &r.room, &r.building);
        let Some(row) = rooms.get_mut(&r.room) else {
            continue;
        };
        match r.kind.as_str() {
            "press" => row.presses += n,
            "source" => row.sources.push((r.subject.clone(), *n)),
            _ => {}
        }
    }
    for row in rooms.values_mut() {
        let counts = std::mem::take(&mut row.sources);
        row.sources = sorted(counts.into_iter());
    }
    for (room, n) in &counted.alerts {
        row(&mut rooms, room, "");
        if let Some(row) = rooms.get_mut(room) {
            row.alerts += n;
        }
    }
    let mut buildings: BTreeMap<String, (UsageRow, BTreeMap<String, u64>)> = BTreeMap::new();
    for r in rooms.values() {
        let (b, counts) = buildings.entry(r.building.clone()).or_insert_with(|| {
            (
                UsageRow {
                    name: r.building.clone(),
                    building: r.building.clone(),
                    ..UsageRow::default()
                },
                BTreeMap::new(),
            )
        });
        b.display_secs += r.display_secs;
        b.booked_secs += r.booked_secs;
        b.occupied_secs += r.occupied_secs;
        b.booked_unused += r.booked_unused;
        b.used_unbooked += r.used_unbooked;
        b.presses += r.presses;
        b.alerts += r.alerts;
        for (s, n) in &r.sources {
            *counts.entry(s.clone()).or_default() += n;
        }
    }
    let buildings = buildings
        .into_values()
        .map(|(mut b, counts)| {
            b.sources = sorted(counts.into_iter());
            b
        })
        .collect();
    let mut rooms: Vec<UsageRow> = rooms.into_values().collect();
    rooms.sort_by(|a, b| (&a.building, &a.name).cmp(&(&b.building, &b.name)));
    UsageReport {
        period: period.as_str().into(),
        since,
        until,
        rooms,
        buildings,
        timeline,
    }
}

fn sorted(counts: impl Iterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut v: Vec<_> = counts.collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// The report as CSV: buildings, then rooms.
pub fn csv(report: &UsageReport) -> String {
    let mut out = String::from(
        "scope,name,building,period,since,until,display_hours,presses,presses_per_day,source_selections,sources,alerts,booked_hours,occupied_hours,booked_unused,used_unbooked\n",
    );
    let days = report.days();
    let lines = report
        .buildings
        .iter()
        .map(|r| ("building", r))
        .chain(report.rooms.iter().map(|r| ("room", r)));
    for (scope, r) in lines {
        let sources: Vec<String> = r.sources.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        let fields = [
            scope.to_string(),
            r.name.clone(),
            r.building.clone(),
            report.period.clone(),
            report.since.to_string(),
            report.until.to_string(),
            format!("{:.2}", r.display_hours()),
            r.presses.to_string(),
            format!("{:.1}", r.presses_per_day(days)),
            r.source_selections().to_string(),
            sources.join("; "),
            r.alerts.to_string(),
            format!("{:.2}", r.booked_hours()),
            format!("{:.2}", r.occupied_hours()),
            r.booked_unused.to_string(),
            r.used_unbooked.to_string(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use controller_core::project::{Led, LedMode};

    fn rec(room: &str, at: u64, kind: &str, subject: &str) -> UsageRecord {
        UsageRecord {
            room: room.into(),
            building: "Building A".into(),
            at,
            kind: kind.into(),
            subject: subject.into(),
        }
    }

    #[test]
    fn the_demo_layout_gives_display_and_source() {
        let project = controller_core::project::demo_project();
        let layout = RoomLayout::of(project);
        let mut snap = Snapshot::default();
        let rules = (vec!["display_power".to_string()], "sources");
        let s = state(&rules.0, rules.1, Some(&layout), &snap);
        assert_eq!(
            s,
            UsageState::default(),
            "no such buttons in the snapshot yet"
        );
        for id in ["display_power", "src_hdmi1", "src_pc"] {
            snap.buttons.insert(id.into(), Default::default());
        }
        let s = state(&rules.0, rules.1, Some(&layout), &snap);
        assert_eq!((s.display, s.source), (Some(false), None));
        let lit = Led {
            mode: LedMode::SlowBlink,
            ..Led::default()
        };
        snap.buttons.get_mut("display_power").unwrap().led = lit;
        snap.buttons.get_mut("src_pc").unwrap().led = lit;
        let s = state(&rules.0, rules.1, Some(&layout), &snap);
        assert_eq!(s.display, Some(true), "warming up counts as on");
        assert_eq!(s.source.as_deref(), Some("Room PC"));
    }

    #[test]
    fn changes_record_only_what_changed() {
        let who = Subject {
            room: "R",
            location: "Building A, floor 2",
            at: 5,
        };
        let off = UsageState {
            display: Some(false),
            source: None,
            ..UsageState::default()
        };
        let on = UsageState {
            display: Some(true),
            source: Some("HDMI 1".into()),
            ..UsageState::default()
        };
        assert!(changes(&who, &UsageState::default(), &off).is_empty());
        let got = changes(&who, &off, &on);
        assert_eq!(
            got,
            [
                rec("R", 5, "display", "on"),
                rec("R", 5, "source", "HDMI 1")
            ]
        );
        assert!(changes(&who, &on, &on).is_empty());
        assert_eq!(
            changes(&who, &on, &UsageState::default()),
            [rec("R", 5, "display", "unknown")]
        );
        // A calendar and a presence sensor are recorded from first sight,
        // off too.
        let seen = UsageState {
            booked: Some(false),
            occupied: Some(false),
            ..off.clone()
        };
        assert_eq!(
            changes(&who, &off, &seen),
            [rec("R", 5, "booked", "off"), rec("R", 5, "occupied", "off")]
        );
        let booked = UsageState {
            booked: Some(true),
            ..seen.clone()
        };
        assert_eq!(changes(&who, &seen, &booked), [rec("R", 5, "booked", "on")]);
        assert_eq!(
            booked.in_use(),
            Some(false),
            "occupancy decides, not the display"
        );
        assert_eq!(on.in_use(), Some(true), "no sensor: the display decides");
    }

    #[test]
    fn a_report_counts_booked_occupied_and_the_mismatches() {
        let dir = tempfile::tempdir().unwrap();
        let history =
            super::super::history::History::open(&dir.path().join("h.sqlite"), 0).unwrap();
        let until = 10 * 86_400;
        let since = until - 86_400;
        let h = 3600;
        history
            .insert_usage(&[
                // R1 (no sensor: the display says in use). Booked 9-10 and
                // used in it; booked 11-12 and never used; used 14-15
                // with no booking.
                rec("R1", since, "booked", "off"),
                rec("R1", since + 9 * h, "booked", "on"),
                rec("R1", since + 9 * h + 600, "display", "on"),
                rec("R1", since + 10 * h, "booked", "off"),
                rec("R1", since + 10 * h + 60, "display", "off"),
                rec("R1", since + 11 * h, "booked", "on"),
                rec("R1", since + 12 * h, "booked", "off"),
                rec("R1", since + 14 * h, "display", "on"),
                rec("R1", since + 15 * h, "display", "off"),
                // R2 has a presence sensor: its display on in the booking
                // does not make it used; nobody came.
                rec("R2", since + 9 * h, "booked", "on"),
                rec("R2", since + 9 * h, "occupied", "off"),
                rec("R2", since + 9 * h + 60, "display", "on"),
                rec("R2", since + 10 * h, "booked", "off"),
                rec("R2", since + 13 * h, "occupied", "on"),
                rec("R2", since + 13 * h + 1800, "occupied", "off"),
                // R3 has no calendar: its use is neither.
                rec("R3", since + 9 * h, "display", "on"),
                rec("R3", since + 10 * h, "display", "off"),
            ])
            .unwrap();
        let counted = count(&history, Period::Day, until).unwrap();
        let r = report(&counted, &[], Period::Day, until);
        let by = |n: &str| r.rooms.iter().find(|x| x.name == n).unwrap().clone();
        let r1 = by("R1");
        assert_eq!((r1.booked_secs, r1.display_secs), (2 * h, 3000 + 60 + h));
        assert_eq!((r1.booked_unused, r1.used_unbooked), (1, 1));
        let r2 = by("R2");
        assert_eq!((r2.booked_secs, r2.occupied_secs), (h, 1800));
        assert_eq!((r2.booked_unused, r2.used_unbooked), (1, 1));
        let r3 = by("R3");
        assert_eq!(
            (r3.booked_unused, r3.used_unbooked, r3.display_secs),
            (0, 0, h)
        );
        let a = r.buildings.iter().find(|b| b.name == "Building A").unwrap();
        assert_eq!(
            (
                a.booked_secs,
                a.occupied_secs,
                a.booked_unused,
                a.used_unbooked
            ),
            (3 * h, 1800, 2, 2)
        );
        let text = csv(&r);
        assert!(text
            .lines()
            .next()
            .unwrap()
            .ends_with(",booked_hours,occupied_hours,booked_unused,used_unbooked"));
        assert!(
            text.contains("\nbuilding,Building A,Building A,day,777600,864000,"),
            "{text}"
        );
        assert!(text.contains(",3.00,0.50,2,2\n"), "{text}");
    }

    #[test]
    fn a_report_counts_hours_presses_sources_and_alerts() {
        let dir = tempfile::tempdir().unwrap();
        let history =
            super::super::history::History::open(&dir.path().join("h.sqlite"), 0).unwrap();
        let until = 10 * 86_400;
        let since = until - 86_400;
        history
            .insert_usage(&[
                // On before the day began: counted from its start.
                rec("R1", since - 3600, "display", "on"),
                rec("R1", since + 7200, "display", "off"),
                rec("R1", since + 3600, "press", "display_power"),
                rec("R1", since + 3601, "source", "HDMI 1"),
                rec("R1", since + 9000, "source", "HDMI 1"),
                rec("R1", since + 9100, "source", "Room PC"),
                // A press before the day: not counted.
                rec("R1", since - 5, "press", "mute"),
                // On and still on: counted to now.
                rec("R2", until - 1800, "display", "on"),
                rec("R2", until - 100, "press", "mute"),
                // Out of sight ends the on time.
                rec("R3", since + 100, "display", "on"),
                rec("R3", since + 400, "display", "unknown"),
            ])
            .unwrap();
        let mut counted = count(&history, Period::Day, until).unwrap();
        counted.alerts = vec![("R2".to_string(), 3)];
        let now = [
            ("R1".to_string(), "Building A, floor 2".to_string()),
            ("R4".to_string(), "Building B".to_string()),
        ];
        let r = report(&counted, &now, Period::Day, until);
        assert_eq!((r.since, r.until, r.timeline.len()), (since, until, 24));
        let by = |n: &str| r.rooms.iter().find(|x| x.name == n).unwrap().clone();
        assert_eq!(by("R1").display_secs, 7200);
        assert_eq!(by("R1").presses, 1);
        assert_eq!(
            by("R1").sources,
            [("HDMI 1".to_string(), 2), ("Room PC".to_string(), 1)]
        );
        assert_eq!((by("R2").display_secs, by("R2").alerts), (1800, 3));
        assert_eq!(by("R3").display_secs, 300);
        assert_eq!(
            by("R4"),
            UsageRow {
                name: "R4".into(),
                building: "Building B".into(),
                ..UsageRow::default()
            }
        );
        assert_eq!(r.timeline[1].1, 1, "R1's press in the second hour");
        assert_eq!(r.timeline[23].1, 1, "R2's press in the last hour");
        let a = r.buildings.iter().find(|b| b.name == "Building A").unwrap();
        assert_eq!(
            (a.display_secs, a.presses, a.alerts, a.source_selections()),
            (7200 + 1800 + 300, 2, 3, 3)
        );
        let text = csv(&r);
        assert!(
            text.contains(
                "\nroom,R1,Building A,day,777600,864000,2.00,1,1.0,3,HDMI 1: 2; Room PC: 1,0,0.00,0.00,0,0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nbuilding,Building B,Building B,day,"),
            "{text}"
        );
    }
}
