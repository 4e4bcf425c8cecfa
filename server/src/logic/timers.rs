//! Timer events: each of the project's timers presses its button when its
//! schedule (cron with seconds, in its time zone) comes round. The next run
//! of every timer is published for the status page.
//!
//! The task sleeps until the soonest timer is due, but never longer than a
//! minute at a time, so a change of the system clock (NTP, daylight-saving
//! is already handled by the schedule) is noticed within a minute.
//!
//! A timer with `on_closed_days = "skip"` (or `"only"`) follows the
//! controller's closed days (the `[holidays]` feed): its next run is the
//! next one on a day that is open (or closed) in the timer's zone, and it
//! is worked out again whenever the closed days change.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use controller_core::calendar::ClosedDays;
use controller_core::engine::Command;
use controller_core::logic::Schedule;
use controller_core::project::{ClosedDaysRule, Project, Timer};
use controller_core::view::TimerStatus;
use tokio_util::sync::CancellationToken;

use crate::state::controller::Controller;

/// The longest single sleep, so clock changes are noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The most runs passed over looking for one on an open (or closed) day:
/// a daily timer finds it within a year of closed days, and a timer that
/// only runs on closed days, in a year without any, stops looking.
const MAX_SKIPPED_RUNS: usize = 400;

/// Where timers read the time.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system's wall clock.
    System,
    /// `origin` at tokio's instant `at`, moving with tokio's clock: with
    /// `tokio::time::pause()` a test decides when time passes.
    Tokio {
        origin: DateTime<Utc>,
        at: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that reads `origin` now and then follows tokio's time.
    pub fn tokio_from(origin: DateTime<Utc>) -> Clock {
        Clock::Tokio {
            origin,
            at: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Tokio { origin, at } => {
                let elapsed = chrono::Duration::from_std(at.elapsed()).unwrap_or_default();
                *origin + elapsed
            }
        }
    }
}

struct Entry<'a> {
    timer: &'a Timer,
    schedule: Schedule,
    next: Option<DateTime<Utc>>,
}

impl Entry<'_> {
    /// The first run strictly after `after` that the timer's closed-days
    /// rule lets go ahead.
    fn next_after(&self, after: DateTime<Utc>, closed: &ClosedDays) -> Option<DateTime<Utc>> {
        next_run(&self.schedule, self.timer.on_closed_days, after, closed)
    }
}

/// The first run of `schedule` strictly after `after` that `rule` lets go
/// ahead, a day being closed when `closed` holds its date in the
/// schedule's zone. `None`: it never runs again, or not within
/// [`MAX_SKIPPED_RUNS`] runs.
pub fn next_run(
    schedule: &Schedule,
    rule: ClosedDaysRule,
    after: DateTime<Utc>,
    closed: &ClosedDays,
) -> Option<DateTime<Utc>> {
    let mut t = after;
    for _ in 0..MAX_SKIPPED_RUNS {
        t = schedule.next_after(t)?;
        let day = t.with_timezone(&schedule.zone()).date_naive();
        if rule.runs(closed.contains_key(&day)) {
            return Some(t);
        }
    }
    None
}

pub async fn run(
    controller: Controller,
    project: Arc<Project>,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let now = clock.now();
    let mut closed_days = controller.closed_days();
    let mut closed = closed_days.borrow_and_update().clone();
    let mut entries: Vec<Entry> = Vec::new();
    for timer in &project.timers {
        match Schedule::parse(&timer.cron, &timer.time_zone) {
            Ok(schedule) => entries.push(Entry {
                timer,
                next: next_run(&schedule, timer.on_closed_days, now, &closed),
                schedule,
            }),
            Err(e) => controller
                .log()
                .record(format!("timer {} is ignored: {e}", timer.id)),
        }
    }
    publish(&controller, &entries);
    if entries.is_empty() {
        return;
    }
    loop {
        let now = clock.now();
        let mut fired = false;
        for entry in &mut entries {
            let Some(due) = entry.next else { continue };
            if due > now {
                continue;
            }
            fired = true;
            let source = format!("timer:{}", entry.timer.id);
            match fire(&controller, entry.timer, &source) {
                Ok(()) => controller.log().record(format!(
                    "timer {}: {}",
                    entry.timer.id,
                    entry.timer.action()
                )),
                Err(e) => controller
                    .log()
                    .record(format!("timer {} failed: {e}", entry.timer.id)),
            }
            entry.next = entry.next_after(now.max(due), &closed);
        }
        if fired {
            publish(&controller, &entries);
        }
        let soonest = entries.iter().filter_map(|e| e.next).min();
        let wait = match soonest {
            Some(t) => (t - now).to_std().unwrap_or_default().min(MAX_SLEEP),
            None => MAX_SLEEP,
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            changed = closed_days.changed() => {
                if changed.is_err() {
                    // The controller is gone.
                    return;
                }
                // New closed days: every run that follows them is worked
                // out again from now (a run due now still goes ahead).
                closed = closed_days.borrow_and_update().clone();
                let now = clock.now();
                for entry in &mut entries {
                    if entry.timer.on_closed_days != ClosedDaysRule::Run {
                        let from = now - chrono::Duration::milliseconds(1);
                        entry.next = entry.next_after(from, &closed);
                    }
                }
                publish(&controller, &entries);
            }
        }
    }
}

/// Does what a timer says: press a button, or set a variable.
fn fire(
    controller: &Controller,
    timer: &Timer,
    source: &str,
) -> Result<(), controller_core::EngineError> {
    match (&timer.press, &timer.set_variable, &timer.value) {
        (Some(button), _, _) => super::press_and_release(controller, button, source),
        (None, Some(variable), Some(value)) => controller
            .execute(Command::SetVariable {
                variable: variable.clone(),
                value: value.clone(),
                source: source.to_string(),
            })
            .map(drop),
        // Validation refuses a timer with neither.
        _ => Ok(()),
    }
}

fn publish(controller: &Controller, entries: &[Entry]) {
    controller.status().set_timers(
        entries
            .iter()
            .map(|e| TimerStatus {
                id: e.timer.id.clone(),
                cron: e.timer.cron.clone(),
                time_zone: e.timer.time_zone.clone(),
                press: e.timer.action(),
                next_run: e
                    .next
                    .map(|t| e.schedule.local_text(t))
                    .unwrap_or_else(|| "never".into()),
                next_run_unix: e.next.map(|t| t.timestamp()),
            })
            .collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Profile, Settings};
    use chrono::TimeZone;
    use controller_core::engine::Change;

    const PROJECT: &str = r#"
[project]
name = "Timers"

[[buttons]]
id = "lights_off"
label = "Lights off"

[[panels]]
id = "p"
name = "P"
columns = 1
rows = 1

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "lights_off", row = 0, col = 0 } ]

[[timers]]
id = "evening"
cron = "0 0 22 * * *"
time_zone = "Europe/Copenhagen"
press = "lights_off"
"#;

    #[tokio::test(start_paused = true)]
    async fn a_timer_fires_at_its_time_in_its_zone() {
        let project = Arc::new(Project::from_toml(PROJECT).unwrap());
        let controller = Controller::new(Settings::defaults(Profile::Development), project.clone());
        // 20:59:50 UTC on a winter day = 21:59:50 in Copenhagen: ten seconds
        // before the timer is due.
        let origin = Utc.with_ymd_and_hms(2026, 11, 25, 20, 59, 50).unwrap();
        let clock = Clock::tokio_from(origin);
        let (_, mut steps) = controller.subscribe();
        let token = CancellationToken::new();
        let task = tokio::spawn(run(controller.clone(), project, clock, token.clone()));

        // The status page shows the next run before it fires.
        tokio::task::yield_now().await;
        let timers = controller.status().timers();
        assert_eq!(timers.len(), 1);
        assert_eq!(timers[0].next_run, "2026-11-25 22:00:00 CET");

        let event = steps.recv().await.unwrap();
        let step = event.step().expect("a step");
        assert!(step.step.changes.iter().any(|c| matches!(
            c,
            Change::Pressed { button, source } if button == "lights_off" && source == "timer:evening"
        )));
        // It fired at its time (paused time only moves when everything waits).
        assert!(clock.now() >= Utc.with_ymd_and_hms(2026, 11, 25, 21, 0, 0).unwrap());
        assert!(clock.now() < Utc.with_ymd_and_hms(2026, 11, 25, 21, 0, 1).unwrap());
        let released = steps.recv().await.unwrap();
        assert!(matches!(
            released.step().expect("a step").step.changes[0],
            Change::Released { .. }
        ));
        // ... and the next run moved on a day.
        tokio::task::yield_now().await;
        assert_eq!(
            controller.status().timers()[0].next_run,
            "2026-11-26 22:00:00 CET"
        );
        token.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn timers_skip_closed_days_or_run_only_on_them_and_follow_changes() {
        let text = format!(
            "{PROJECT}\n[[timers]]\nid = \"workday\"\ncron = \"0 0 7 * * *\"\ntime_zone = \"Europe/Copenhagen\"\npress = \"lights_off\"\non_closed_days = \"skip\"\n\n[[timers]]\nid = \"holiday\"\ncron = \"0 0 7 * * *\"\ntime_zone = \"Europe/Copenhagen\"\npress = \"lights_off\"\non_closed_days = \"only\"\n"
        );
        let project = Arc::new(Project::from_toml(&text).unwrap());
        let controller = Controller::new(Settings::defaults(Profile::Development), project.clone());
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        // Thursday 26 and Friday 27 November are closed.
        controller.set_closed_days(
            [
                (day(26), "Closed".to_string()),
                (day(27), "Closed".to_string()),
            ]
            .into(),
        );
        let origin = Utc.with_ymd_and_hms(2026, 11, 25, 20, 59, 50).unwrap();
        let token = CancellationToken::new();
        let task = tokio::spawn(run(
            controller.clone(),
            project,
            Clock::tokio_from(origin),
            token.clone(),
        ));
        tokio::task::yield_now().await;
        let next = |id: &str| {
            controller
                .status()
                .timers()
                .into_iter()
                .find(|t| t.id == id)
                .map(|t| t.next_run)
                .unwrap()
        };
        assert_eq!(next("evening"), "2026-11-25 22:00:00 CET");
        assert_eq!(next("workday"), "2026-11-28 07:00:00 CET");
        assert_eq!(next("holiday"), "2026-11-26 07:00:00 CET");

        // The feed changes: nothing is closed any more.
        assert!(controller.set_closed_days(Default::default()));
        eventually_paused(|| next("workday") == "2026-11-26 07:00:00 CET").await;
        assert_eq!(next("holiday"), "never");
        assert_eq!(next("evening"), "2026-11-25 22:00:00 CET");
        // The same days again change nothing and wake nobody.
        assert!(!controller.set_closed_days(Default::default()));
        token.cancel();
        task.await.unwrap();
    }

    /// Lets the timers' task run (paused time) until `done`.
    async fn eventually_paused(done: impl Fn() -> bool) {
        for _ in 0..100 {
            if done() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the timers did not follow");
    }
}
