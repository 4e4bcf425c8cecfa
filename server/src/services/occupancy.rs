//! Whether someone is in the room, as a service (no port; part of the room
//! logic, switched with `[logic]`): follows the project's `[occupancy]`
//! sources on the bus (a variable or a driver device's state as the
//! engine changes it, an MQTT topic as the bridge hands it over
//! ([`BusEvent::Reading`]), a person's press on a panel or keypad), sets
//! the `occupied` variable through the engine (so panels, LEDs, templates,
//! MQTT, Home Assistant and the station read it like any variable), and
//! fires the `empty` rules once the room has been empty for their minutes.
//!
//! [`Follower`] decides with the time passed in (`advance(now)`), so
//! tests move through an empty hour without waiting; [`run`] is the
//! service's loop around it. The decisions are
//! `controller_core::logic::occupancy`'s; the `no_show` rules are the
//! calendar service's (it knows the meetings), reading `occupied` from the
//! bus like any subscriber.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use controller_core::engine::{Change, Command};
use controller_core::logic::occupancy::{
    empty_firings, next_empty_firing, reading, reading_of_value, Presence,
};
use controller_core::project::occupancy::OCCUPIED;
use controller_core::project::{Project, Value};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::collections::BTreeMap;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::{Service, StartEnv, StartError, Started};
use crate::config::Settings;
use crate::logic::Clock;
use crate::state::bus::{BusEvent, SensorReading, Subscription};
use crate::state::controller::Controller;

/// A rule whose instant passed longer ago than this (the clock jumped) is
/// skipped, not fired late.
const LATE: Span = Span::minutes(5);
/// The source of the presses rules make (never counted as a person's).
pub const SOURCE: &str = "occupancy";

pub struct OccupancyService;

impl Service for OccupancyService {
    fn name(&self) -> &'static str {
        "occupancy"
    }

    fn setting(&self) -> &'static str {
        "logic"
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.logic.enabled
    }

    fn purpose(&self, _: &Settings) -> String {
        "whether the room is occupied, from the project's [occupancy] sensors and panel presses; its empty-room rules (no port)".into()
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        // Subscribed before reading the project, so no change is missed.
        let (snapshot, steps) = env.controller.subscribe();
        async move {
            Ok(Started::running(
                run(
                    env.controller,
                    Clock::System,
                    snapshot.variables,
                    steps,
                    env.shutdown,
                )
                .boxed(),
            ))
        }
        .boxed()
    }
}

/// Whether a press's source is a person in the room: a panel or a keypad
/// (not central control, Telnet or MQTT, which may be anywhere).
pub fn in_the_room(source: &str) -> bool {
    source.starts_with("panel:") || source.starts_with("keypad:")
}

/// The room's occupancy, decided at instants passed in.
pub struct Follower {
    project: Arc<Project>,
    presence: Presence,
    /// Rules are fired up to here.
    checked: DateTime<Utc>,
    /// `occupied` as last set.
    shown: Option<bool>,
}

impl Follower {
    /// Watching `project` from `now`; `variables`: the engine's values now
    /// (a sensor that already reads occupied counts).
    pub fn new(
        project: Arc<Project>,
        variables: &BTreeMap<String, Value>,
        now: DateTime<Utc>,
    ) -> Follower {
        let (sources, hold) = project
            .occupancy
            .as_ref()
            .map_or((0, 0), |o| (o.sources.len(), o.hold_minutes));
        let mut f = Follower {
            presence: Presence::new(sources, hold, now),
            project,
            checked: now,
            shown: None,
        };
        for (name, value) in variables {
            f.variable(name, value, now);
        }
        f
    }

    /// A new project: the same `[occupancy]` goes on as it was (a room in
    /// use stays in use); another starts watching afresh.
    pub fn set_project(
        self,
        project: Arc<Project>,
        variables: &BTreeMap<String, Value>,
        now: DateTime<Utc>,
    ) -> Follower {
        if project.occupancy.is_some() && project.occupancy == self.project.occupancy {
            return Follower {
                project,
                shown: None,
                ..self
            };
        }
        Follower::new(project, variables, now)
    }

    /// Whether the room is occupied at `now`.
    pub fn occupied(&self, now: DateTime<Utc>) -> bool {
        self.presence.occupied(now)
    }

    fn variable(&mut self, name: &str, value: &Value, now: DateTime<Utc>) {
        let Some(o) = &self.project.occupancy else {
            return;
        };
        for (i, s) in o.sources.iter().enumerate() {
            if s.variable.as_deref() == Some(name) {
                if let Some(occupied) = reading_of_value(s, value) {
                    self.presence.reading(i, occupied, now);
                }
            }
        }
    }

    /// A sensor's MQTT message.
    pub fn sensor(&mut self, r: &SensorReading, now: DateTime<Utc>) {
        let Some(o) = &self.project.occupancy else {
            return;
        };
        for (i, s) in o.sources.iter().enumerate() {
            if s.mqtt_topic.as_deref() == Some(r.topic.as_str()) {
                if let Some(occupied) = reading(s, &r.payload) {
                    self.presence.reading(i, occupied, now);
                }
            }
        }
    }

    /// The engine's changes: sensor variables and people's presses.
    pub fn changes(&mut self, changes: &[Change], now: DateTime<Utc>) {
        let panels = self
            .project
            .occupancy
            .as_ref()
            .is_some_and(|o| o.panel_activity);
        for change in changes {
            match change {
                Change::Variable { variable, value } => self.variable(variable, value, now),
                Change::Pressed { source, .. } if panels && in_the_room(source) => {
                    self.presence.activity(now)
                }
                _ => {}
            }
        }
    }

    /// Fires the `empty` rules due since the last call, up to `now`, and
    /// sets `occupied`. Returns what it did, in words (the log).
    pub fn advance(&mut self, controller: &Controller, now: DateTime<Utc>) -> Vec<String> {
        let mut said = Vec::new();
        let Some(o) = &self.project.occupancy else {
            return said;
        };
        let since = self.presence.empty_since(now);
        for f in empty_firings(&o.rules, since, self.checked.min(now), now) {
            let rule = format!("{} ({})", f.rule.id, f.rule.action());
            if now - f.at > LATE {
                said.push(format!(
                    "occupancy rule {rule}: skipped (its moment passed more than 5 minutes ago)"
                ));
                continue;
            }
            let done = crate::logic::press_or_run(
                controller,
                &self.project,
                f.rule.press.as_deref(),
                f.rule.sequence.as_deref(),
                &format!("{SOURCE}:{}", f.rule.id),
            );
            let minutes = f.rule.minutes;
            said.push(match done {
                Ok(()) => format!("occupancy rule {rule}: the room was empty for {minutes} min"),
                Err(e) => format!("occupancy rule {rule} failed: {e}"),
            });
        }
        self.checked = now;
        let occupied = self.presence.occupied(now);
        if self.shown != Some(occupied) && self.project.variable(OCCUPIED).is_some() {
            let set = controller.execute(Command::SetVariable {
                variable: OCCUPIED.to_string(),
                value: Value::Bool(occupied),
                source: SOURCE.into(),
            });
            if set.is_ok() {
                self.shown = Some(occupied);
            }
        }
        said
    }

    /// When to look again: the hold running out or the next rule's
    /// instant; `None`: not until something happens.
    pub fn next_wake(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let o = self.project.occupancy.as_ref()?;
        let rule = next_empty_firing(&o.rules, self.presence.empty_since(now), now);
        let hold = self.presence.next_change(now);
        match (rule, hold) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The service's loop: a follower for each project, fed from the bus.
pub async fn run(
    controller: Controller,
    clock: Clock,
    variables: BTreeMap<String, Value>,
    mut steps: Subscription,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut follower = Follower::new(controller.project(), &variables, clock.now());
    loop {
        let now = clock.now();
        for line in follower.advance(&controller, now) {
            controller.log().record(line);
        }
        // Nothing due: look again in a minute anyway (the clock may jump).
        let wait = follower
            .next_wake(now)
            .and_then(|t| (t - now).to_std().ok())
            .unwrap_or(Duration::from_secs(60))
            .clamp(Duration::from_millis(10), Duration::from_secs(60));
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(wait) => {}
            event = steps.recv() => match event {
                Ok(event) => match &*event {
                    BusEvent::Step(published) => {
                        let now = clock.now();
                        if published.step.loads_project() {
                            let (project, snapshot) = controller.project_and_snapshot();
                            follower = follower.set_project(project, &snapshot.variables, now);
                        } else {
                            follower.changes(&published.step.changes, now);
                        }
                    }
                    BusEvent::Reading(r) => follower.sensor(r, clock.now()),
                    _ => {}
                },
                Err(RecvError::Lagged(_)) => {
                    let (project, snapshot) = controller.project_and_snapshot();
                    follower = Follower::new(project, &snapshot.variables, clock.now());
                }
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}
