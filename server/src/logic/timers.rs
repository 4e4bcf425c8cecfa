//! Timer events: each of the project's timers presses its button when its
//! schedule (cron with seconds, in its time zone) comes round. The next run
//! of every timer is published for the status page.
//!
//! The task sleeps until the soonest timer is due, but never longer than a
//! minute at a time, so a change of the system clock (NTP, daylight-saving
//! is already handled by the schedule) is noticed within a minute.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use controller_core::engine::Command;
use controller_core::logic::Schedule;
use controller_core::project::{Project, Timer};
use controller_core::view::TimerStatus;
use tokio_util::sync::CancellationToken;

use crate::controller::Controller;

/// The longest single sleep, so clock changes are noticed.
const MAX_SLEEP: Duration = Duration::from_secs(60);

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

pub async fn run(
    controller: Controller,
    project: Arc<Project>,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let now = clock.now();
    let mut entries: Vec<Entry> = Vec::new();
    for timer in &project.timers {
        match Schedule::parse(&timer.cron, &timer.time_zone) {
            Ok(schedule) => entries.push(Entry {
                timer,
                next: schedule.next_after(now),
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
            entry.next = entry.schedule.next_after(now.max(due));
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
}
