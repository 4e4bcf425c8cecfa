//! The calendar service's loop ([`follow`]): takes each new calendar,
//! lets the [`Reactor`] fire the rules and keep the variables, and starts
//! the write-backs the room's buttons, its meeting tile and its `no_show`
//! rules ask for, each on its own task (the loop never waits for the
//! server), taking their results back in.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use controller_core::audit::AuditOutcome;
use controller_core::engine::Change;
use controller_core::project::occupancy::OCCUPIED;
use controller_core::project::Value;
use controller_core::view::ServiceState;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::reactor::{is_person, Reactor};
use super::write_back::{changes, new_end, write_back, Ask, Asker, Written};
use super::{local, Client, Current, Feed};
use crate::config::CalendarSettings;
use crate::logic::Clock;
use crate::state::bus::{BusEvent, MeetingRequest};
use crate::state::controller::Controller;

/// What the loop holds between its wake-ups.
struct Follower {
    controller: Controller,
    s: CalendarSettings,
    client: Client,
    clock: Clock,
    zone: Tz,
    reactor: Reactor,
    /// The calendar as last read (or changed by a write-back).
    current: Option<Current>,
    writes: mpsc::Sender<Written>,
}

/// The service's loop: takes each new calendar, fires the rules, keeps
/// the variables, and starts the write-backs the room's buttons ask for.
pub async fn follow(
    controller: Controller,
    feed: Feed,
    clock: Clock,
    mut calendars: watch::Receiver<Option<Current>>,
    mut steps: crate::state::bus::Subscription,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Feed {
        settings: s,
        client,
        zone,
        ..
    } = feed;
    // The write-backs' results, taken back in by this loop.
    let (writes, mut written) = mpsc::channel(8);
    let reactor = Reactor::new(controller.project(), zone, s.privacy, clock.now());
    let mut f = Follower {
        controller,
        s,
        client,
        clock,
        zone,
        reactor,
        current: None,
        writes,
    };
    f.take_calendar(calendars.borrow_and_update().clone());
    if let Some(Value::Bool(true)) = f.controller.snapshot().variables.get(OCCUPIED) {
        f.reactor.set_occupied(true, f.clock.now());
    }
    let mut poller_alive = true;
    loop {
        let wait = f.advance();
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(wait) => {}
            changed = calendars.changed(), if poller_alive => match changed {
                Ok(()) => f.take_calendar(calendars.borrow_and_update().clone()),
                Err(_) => poller_alive = false,
            },
            event = steps.recv() => match event {
                Ok(event) => f.on_event(&event),
                Err(RecvError::Lagged(_)) => f.reactor.set_project(f.controller.project()),
                Err(RecvError::Closed) => return Ok(()),
            },
            Some(w) = written.recv() => f.on_written(w),
        }
    }
}

impl Follower {
    fn take_calendar(&mut self, current: Option<Current>) {
        self.current = current;
        if let Some(c) = &self.current {
            self.reactor
                .set_calendar(c.calendar.clone(), self.clock.now());
        }
        self.reactor
            .set_changes(changes(&self.s, self.current.as_ref()));
    }

    /// Fires what is due, releases the no-shows' bookings; how long to
    /// sleep until the next instant.
    fn advance(&mut self) -> Duration {
        let now = self.clock.now();
        self.reactor.set_occupancy_watched(
            self.controller
                .status()
                .service("occupancy")
                .is_some_and(|o| o.state == ServiceState::Running),
        );
        for line in self.reactor.advance(&self.controller, now) {
            self.controller.log().record(line);
        }
        for n in self.reactor.take_no_shows() {
            if !n.rule.release_booking {
                continue;
            }
            let asker = Asker {
                by: format!("occupancy:{} (nobody came)", n.rule.id),
                service: "calendar",
                address: None,
            };
            self.start_write(Ask::End, now, asker);
        }
        (self.reactor.next_wake(now) - now)
            .to_std()
            .unwrap_or_default()
            .clamp(Duration::from_millis(10), Duration::from_secs(60))
    }

    /// A bus event: a meeting tile's request, a project loaded, the room
    /// occupied or not, a person's press (which may be the room's Extend
    /// or End button).
    fn on_event(&mut self, event: &BusEvent) {
        if let BusEvent::Meeting(MeetingRequest {
            change,
            by,
            service,
            address,
        }) = event
        {
            let asker = Asker {
                by: by.clone(),
                service,
                address: *address,
            };
            self.start_write((*change).into(), self.clock.now(), asker);
            return;
        }
        let Some(published) = event.step() else {
            return;
        };
        if published.step.loads_project() {
            self.reactor.set_project(self.controller.project());
        }
        for change in &published.step.changes {
            if let Change::Variable {
                variable,
                value: Value::Bool(b),
            } = change
            {
                if variable == OCCUPIED {
                    self.reactor.set_occupied(*b, self.clock.now());
                }
                continue;
            }
            let Change::Pressed { button, source } = change else {
                continue;
            };
            if !is_person(source) {
                continue;
            }
            let at = self.clock.now();
            self.reactor.pressed_by_person(at);
            let ask = if !self.s.extend_button.is_empty() && *button == self.s.extend_button {
                Ask::Extend
            } else if !self.s.end_button.is_empty() && *button == self.s.end_button {
                Ask::End
            } else {
                continue;
            };
            let asker = Asker {
                by: source.clone(),
                service: "calendar",
                address: None,
            };
            self.start_write(ask, at, asker);
        }
    }

    /// A write-back's result: logged and audited; on success the changed
    /// resource replaces the one in the calendar, which is read anew.
    fn on_written(&mut self, w: Written) {
        let (controller, zone) = (&self.controller, self.zone);
        let what = match w.ask {
            Ask::Extend => "extended",
            Ask::End => "ended",
        };
        let title = format!("{:?} ({})", w.meeting.uid, local(w.meeting.start, zone));
        let resource = match w.result {
            Ok(resource) => resource,
            Err(e) => {
                controller
                    .log()
                    .record(format!("calendar: meeting {title} not {what}: {e:#}"));
                w.asker.audit(
                    controller,
                    AuditOutcome::Failed,
                    format!("meeting {title} not {what}: {e:#}"),
                );
                return;
            }
        };
        controller.log().record(format!(
            "calendar: meeting {title} {what} (asked by {})",
            w.asker.by
        ));
        w.asker.audit(
            controller,
            AuditOutcome::Ok,
            format!("meeting {title} {what}"),
        );
        let Some(c) = &self.current else { return };
        let mut f = (*c.fetched).clone();
        if let Some(r) = f.resources.iter_mut().find(|r| r.href == resource.href) {
            *r = resource;
        }
        // The collection changed: the next poll reads it whole.
        f.etag = None;
        f.last_modified = None;
        if let Ok(cal) = super::parse(&f, zone) {
            let _ = super::save_cache(&self.s.cache_file, &f);
            let cal = Arc::new(cal);
            self.reactor.set_calendar(cal.clone(), self.clock.now());
            self.current = Some(Current {
                fetched: Arc::new(f),
                calendar: cal,
            });
        }
    }

    /// Starts one write-back on its own task (the loop never waits for the
    /// server); a change the room may not make is refused, logged and
    /// audited.
    fn start_write(&self, ask: Ask, now: DateTime<Utc>, asker: Asker) {
        let (controller, s, zone) = (&self.controller, &self.s, self.zone);
        let what = match ask {
            Ask::Extend => "extended",
            Ask::End => "ended",
        };
        let refuse = |why: String| {
            controller
                .log()
                .record(format!("calendar: the meeting is not {what}: {why}"));
            asker.audit(
                controller,
                AuditOutcome::Failed,
                format!("meeting not {what}: {why}"),
            );
        };
        let current = self.current.as_ref();
        if !changes(s, current).allowed {
            return refuse(
                "the room's calendar cannot be changed from the room (an iCalendar feed, or a read-only account)".into(),
            );
        }
        let (Some(current), Some(meeting)) = (current, self.reactor.meeting_on(now)) else {
            return refuse("no meeting is on now".into());
        };
        if meeting.all_day {
            return refuse("an all-day event is not changed from the room".into());
        }
        let next = self.reactor.next_start(now);
        let end = match new_end(ask, &meeting, next, s.extend_minutes, now, zone) {
            Ok(end) => end,
            Err(why) => return refuse(why),
        };
        let (client, fetched, writes) = (
            self.client.clone(),
            current.fetched.clone(),
            self.writes.clone(),
        );
        tokio::spawn(async move {
            let result = write_back(&client, &fetched, zone, &meeting, end).await;
            let _ = writes
                .send(Written {
                    ask,
                    meeting,
                    asker,
                    result,
                })
                .await;
        });
    }
}
