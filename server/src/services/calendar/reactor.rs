//! Following the calendar: the project's `[[schedule]]` rules fired at
//! their instants, the booking variables kept current, the room's
//! "Extend" and "End" buttons written back to CalDAV, and the `no_show`
//! rules of `[occupancy]` (docs/occupancy.md): a meeting nobody came to
//! (the `occupied` variable, read from the bus, never true since it
//! started) is ended through the same write-back as "End".
//!
//! [`Reactor`] does the deciding with the time passed in (`advance(now)`),
//! so tests move through a day of meetings without waiting; `follow.rs` is
//! the service's loop around it, sleeping until the next instant, and
//! `write_back.rs` changes a meeting on the server.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration as Span, Timelike, Utc};
use chrono_tz::Tz;
use controller_core::calendar::{self, Booking, Calendar, Changes, Meeting, Privacy};
use controller_core::engine::Command;
use controller_core::project::{Project, Value};

use super::local;
use crate::state::controller::Controller;

/// Meetings are expanded for this long before and after now.
const BEHIND: Span = Span::days(1);
const AHEAD: Span = Span::days(8);
/// A rule whose instant passed longer ago than this (the clock jumped,
/// the controller was off) is skipped, not fired late.
const LATE: Span = Span::minutes(5);
/// The source of the presses rules make (never counted as a person's).
pub const SOURCE: &str = "schedule";

/// What the room does about its calendar, decided at instants passed in.
pub struct Reactor {
    project: Arc<Project>,
    zone: Tz,
    privacy: Privacy,
    calendar: Option<Arc<Calendar>>,
    meetings: Vec<Meeting>,
    /// The span `meetings` was expanded for.
    window: (DateTime<Utc>, DateTime<Utc>),
    /// Rules are fired up to here.
    checked: DateTime<Utc>,
    last_press: Option<DateTime<Utc>>,
    /// The booking variables as last set.
    shown: HashMap<&'static str, Value>,
    /// Whether the room may change its meetings (the tile's buttons).
    changes: Changes,
    /// The room's `occupied` variable as last seen on the bus.
    occupied: bool,
    /// The last moment `occupied` was seen true (or turned false).
    last_occupied: Option<DateTime<Utc>>,
    /// Meetings nobody came to, for the loop to release.
    no_shows: Vec<NoShow>,
    /// Whether anything sets `occupied` (the occupancy service runs):
    /// without it every meeting would look unattended.
    occupancy_watched: bool,
}

/// A booking nobody came to: a `no_show` rule of `[occupancy]` fired.
#[derive(Debug, Clone, PartialEq)]
pub struct NoShow {
    pub rule: controller_core::project::OccupancyRule,
    pub meeting: Meeting,
    pub at: DateTime<Utc>,
}

impl Reactor {
    pub fn new(project: Arc<Project>, zone: Tz, privacy: Privacy, now: DateTime<Utc>) -> Reactor {
        Reactor {
            project,
            zone,
            privacy,
            calendar: None,
            meetings: Vec::new(),
            window: (now, now),
            checked: now,
            last_press: None,
            shown: HashMap::new(),
            changes: Changes::NONE,
            occupied: false,
            last_occupied: None,
            no_shows: Vec::new(),
            occupancy_watched: true,
        }
    }

    /// Whether the room's occupancy is followed (the `occupancy` service
    /// runs); while not, `no_show` rules are skipped, not fired.
    pub fn set_occupancy_watched(&mut self, watched: bool) {
        self.occupancy_watched = watched;
    }

    /// The room's `occupied` variable changed (or was read) at `at`.
    pub fn set_occupied(&mut self, occupied: bool, at: DateTime<Utc>) {
        if occupied || self.occupied {
            self.last_occupied = Some(self.last_occupied.map_or(at, |t| t.max(at)));
        }
        self.occupied = occupied;
    }

    /// The meetings nobody came to since the last call (the loop releases
    /// them).
    pub fn take_no_shows(&mut self) -> Vec<NoShow> {
        std::mem::take(&mut self.no_shows)
    }

    /// Whether someone was in the room at any moment from `from` to now.
    fn seen_since(&self, from: DateTime<Utc>) -> bool {
        self.occupied || self.last_occupied.is_some_and(|t| t >= from)
    }

    /// The `no_show` rules' instants: each timed meeting's start plus the
    /// rule's minutes, while the meeting is still on.
    fn no_show_instants(
        &self,
    ) -> Vec<(
        &controller_core::project::OccupancyRule,
        &Meeting,
        DateTime<Utc>,
    )> {
        let rules = self
            .project
            .occupancy
            .iter()
            .flat_map(|o| &o.rules)
            .filter(|r| r.when == controller_core::project::OccupancyWhen::NoShow);
        let mut out = Vec::new();
        for rule in rules {
            for m in self.meetings.iter().filter(|m| !m.all_day) {
                let at = m.start + Span::minutes(i64::from(rule.minutes));
                if at < m.end {
                    out.push((rule, m, at));
                }
            }
        }
        out
    }

    /// Whether the room may change its meetings, and by how much "Extend"
    /// moves the end (the variables follow at the next `advance`).
    pub fn set_changes(&mut self, changes: Changes) {
        self.changes = changes;
    }

    /// A new calendar: its meetings are used from now on.
    pub fn set_calendar(&mut self, calendar: Arc<Calendar>, now: DateTime<Utc>) {
        self.calendar = Some(calendar);
        self.expand(now);
    }

    /// A new project: its rules and variables (all variables are set again).
    pub fn set_project(&mut self, project: Arc<Project>) {
        self.project = project;
        self.shown.clear();
    }

    /// A person pressed a button (rules with `unless_pressed_since` look).
    pub fn pressed_by_person(&mut self, at: DateTime<Utc>) {
        self.last_press = Some(at);
    }

    pub fn meetings(&self) -> &[Meeting] {
        &self.meetings
    }

    fn expand(&mut self, now: DateTime<Utc>) {
        self.window = (now - BEHIND, now + AHEAD);
        self.meetings = match &self.calendar {
            Some(c) => c.meetings(self.window.0, self.window.1),
            None => Vec::new(),
        };
    }

    /// Fires the rules due since the last call, up to `now`, and sets the
    /// booking variables the project declares. Returns what it did, in
    /// words (the log).
    pub fn advance(&mut self, controller: &Controller, now: DateTime<Utc>) -> Vec<String> {
        if now < self.checked || now > self.window.1 - Span::days(1) || now < self.window.0 {
            self.expand(now);
        }
        let mut said = self.fire_schedule(controller, now);
        said.extend(self.no_show_rules(controller, now));
        self.checked = now;
        self.publish(controller, now);
        said
    }

    /// The `[[schedule]]` rules due since the last check: each fired, or
    /// skipped when a person pressed a button since or its moment passed.
    fn fire_schedule(&mut self, controller: &Controller, now: DateTime<Utc>) -> Vec<String> {
        let mut said = Vec::new();
        let due: Vec<Due> = {
            let firings = calendar::firings(
                &self.project.schedule,
                &self.meetings,
                self.zone,
                self.checked.min(now),
                now,
            );
            firings
                .iter()
                .map(|f| {
                    let late = now - f.at > LATE;
                    let skip = late || f.suppressed_by(self.last_press);
                    let outcome = if skip {
                        Ok(())
                    } else {
                        fire(controller, &self.project, f.rule)
                    };
                    Due {
                        rule: format!("{} ({})", f.rule.id, f.rule.action()),
                        at: f.at,
                        skipped: skip,
                        outcome,
                    }
                })
                .collect()
        };
        for Due {
            rule,
            at,
            skipped,
            outcome,
        } in due
        {
            let when = local(at, self.zone);
            said.push(match (skipped, outcome) {
                (true, _) => format!("schedule {rule} at {when}: skipped (a person pressed a button since, or the moment passed while the controller was off)"),
                (false, Ok(())) => format!("schedule {rule} at {when}"),
                (false, Err(e)) => format!("schedule {rule} at {when} failed: {e}"),
            });
        }
        said
    }

    /// The `no_show` rules due since the last check: a meeting nobody came
    /// to (never occupied since it started) has its rule's action run and
    /// is queued for release ([`Reactor::take_no_shows`]).
    fn no_show_rules(&mut self, controller: &Controller, now: DateTime<Utc>) -> Vec<String> {
        let mut said = Vec::new();
        let after = self.checked.min(now);
        let due: Vec<NoShow> = self
            .no_show_instants()
            .into_iter()
            .filter(|(_, _, at)| after < *at && *at <= now)
            .map(|(rule, meeting, at)| NoShow {
                rule: rule.clone(),
                meeting: meeting.clone(),
                at,
            })
            .collect();
        for n in due {
            let what = format!(
                "occupancy rule {} ({}): meeting {:?} at {}",
                n.rule.id,
                n.rule.action(),
                n.meeting.uid,
                local(n.meeting.start, self.zone)
            );
            if now - n.at > LATE {
                said.push(format!(
                    "{what}: skipped (its moment passed while the controller was off)"
                ));
                continue;
            }
            if !self.occupancy_watched {
                said.push(format!(
                    "{what}: skipped (the occupancy service is not running, so nobody is seen)"
                ));
                continue;
            }
            if self.seen_since(n.meeting.start) {
                continue;
            }
            said.push(format!("{what}: nobody came in {} min", n.rule.minutes));
            let pressed = crate::logic::press_or_run(
                controller,
                &self.project,
                n.rule.press.as_deref(),
                n.rule.sequence.as_deref(),
                &format!("occupancy:{}", n.rule.id),
            );
            if let Err(e) = pressed {
                said.push(format!("occupancy rule {} failed: {e}", n.rule.id));
            }
            self.no_shows.push(n);
        }
        said
    }

    /// The booking variables (those the project declares) set through the
    /// engine when they change.
    fn publish(&mut self, controller: &Controller, now: DateTime<Utc>) {
        // Until a calendar is read (none kept on disk either), the room's
        // bookings are not known: the variables keep their initial values
        // rather than say "free all day".
        if self.calendar.is_none() {
            return;
        }
        let booking = Booking::at(&self.meetings, now);
        let known = (
            controller_core::project::meeting_tile::KNOWN,
            Value::Bool(true),
        );
        for (name, value) in
            calendar::variables(&booking, now, self.zone, self.privacy, self.changes)
                .into_iter()
                .chain([known])
        {
            // Declared in the file, or brought by a meeting tile.
            let Some(declared) = self.project.variable(name) else {
                continue;
            };
            let Some(value) = value.coerce(declared.kind) else {
                continue;
            };
            if self.shown.get(name) == Some(&value) {
                continue;
            }
            let set = controller.execute(Command::SetVariable {
                variable: name.to_string(),
                value: value.clone(),
                source: "calendar".into(),
            });
            if set.is_ok() {
                self.shown.insert(name, value);
            }
        }
    }

    /// When to look again: the next rule's instant or the next minute
    /// (time left and "free until" change by the minute).
    pub fn next_wake(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let minute = now
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(now)
            + Span::minutes(1);
        let no_show = self
            .no_show_instants()
            .into_iter()
            .map(|(_, _, at)| at)
            .filter(|at| *at > now)
            .min();
        calendar::next_firing(&self.project.schedule, &self.meetings, self.zone, now)
            .into_iter()
            .chain(no_show)
            .fold(minute, |a, b| a.min(b))
    }

    /// The meeting on now, if any.
    pub fn meeting_on(&self, now: DateTime<Utc>) -> Option<Meeting> {
        Booking::at(&self.meetings, now).now.cloned()
    }

    /// The next meeting's start after the one on now (an extension must end before it).
    pub fn next_start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Booking::at(&self.meetings, now).next.map(|m| m.start)
    }
}

/// A rule that came due, and what became of it.
struct Due {
    rule: String,
    at: DateTime<Utc>,
    skipped: bool,
    outcome: Result<(), String>,
}

/// Presses the rule's button, or its sequence's button, as a person would.
fn fire(
    controller: &Controller,
    project: &Project,
    rule: &controller_core::project::ScheduleRule,
) -> Result<(), String> {
    crate::logic::press_or_run(
        controller,
        project,
        rule.press.as_deref(),
        rule.sequence.as_deref(),
        &format!("{SOURCE}:{}", rule.id),
    )
}

/// Whether a press came from a person (panels, keypads, Telnet, central
/// control, MQTT), not from the controller's own timers and rules.
pub fn is_person(source: &str) -> bool {
    ![
        "timer:",
        "schedule:",
        "occupancy:",
        "calendar",
        "logic",
        "sequence",
    ]
    .iter()
    .any(|p| source.starts_with(p))
}
