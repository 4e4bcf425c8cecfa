//! Changing a meeting from the room: what a room's button or meeting tile
//! asks for ([`Ask`], by whom: [`Asker`], audited), whether the room may
//! ([`changes`]), the new end ([`new_end`]), and the write to the CalDAV
//! resource that holds the meeting ([`write_back`]).

use chrono::{DateTime, Duration as Span, Timelike, Utc};
use chrono_tz::Tz;
use controller_core::audit::{AuditEvent, AuditOutcome};
use controller_core::calendar::{self, Calendar, Changes, Meeting};

use super::{local, Client, Current, Fetched, Resource};
use crate::config::{CalendarSettings, CalendarSource};
use crate::state::controller::Controller;

/// The change a room's button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    Extend,
    End,
}

impl From<controller_core::protocol::panel::MeetingChange> for Ask {
    fn from(c: controller_core::protocol::panel::MeetingChange) -> Ask {
        use controller_core::protocol::panel::MeetingChange;
        match c {
            MeetingChange::Extend => Ask::Extend,
            MeetingChange::End => Ask::End,
        }
    }
}

/// Who asked for a change: a press's source, or a panel's meeting tile
/// (with its service and address, for the audit trail).
#[derive(Debug, Clone)]
pub struct Asker {
    pub by: String,
    pub service: &'static str,
    pub address: Option<std::net::IpAddr>,
}

impl Asker {
    pub(super) fn audit(&self, controller: &Controller, outcome: AuditOutcome, detail: String) {
        controller.audit().record(
            AuditEvent::Booking,
            outcome,
            self.service,
            None,
            self.address,
            format!("{detail} (asked by {})", self.by),
        );
    }
}

/// What the room may do about its meetings: change them only from a CalDAV
/// collection whose account may write (or whose server does not say).
pub fn changes(s: &CalendarSettings, current: Option<&Current>) -> Changes {
    Changes {
        allowed: s.source == CalendarSource::Caldav
            && current.is_some_and(|c| c.fetched.writable != Some(false)),
        extend_minutes: s.extend_minutes,
    }
}

/// A write-back's result, for the loop to take in.
pub struct Written {
    pub ask: Ask,
    pub meeting: Meeting,
    pub asker: Asker,
    pub result: anyhow::Result<Resource>,
}

/// Writes `meeting`'s new end to the resource that holds it.
pub async fn write_back(
    client: &Client,
    fetched: &Fetched,
    zone: Tz,
    meeting: &Meeting,
    end: DateTime<Utc>,
) -> anyhow::Result<Resource> {
    let resource = fetched
        .resources
        .iter()
        .find(|r| {
            Calendar::parse(&r.ics, zone)
                .map(|c| c.has_event(&meeting.uid))
                .unwrap_or(false)
        })
        .ok_or_else(|| {
            anyhow::anyhow!("the event {:?} is no longer in the calendar", meeting.uid)
        })?;
    let ics = calendar::set_end(&resource.ics, meeting, end)?;
    let etag = client.put(resource, ics.clone()).await?;
    Ok(Resource {
        href: resource.href.clone(),
        etag,
        ics,
    })
}

/// The new end a button asks for, or why not.
pub fn new_end(
    ask: Ask,
    meeting: &Meeting,
    next_start: Option<DateTime<Utc>>,
    minutes: u32,
    now: DateTime<Utc>,
    zone: Tz,
) -> Result<DateTime<Utc>, String> {
    match ask {
        Ask::End => {
            let now = now
                .with_second(0)
                .unwrap_or(now)
                .with_nanosecond(0)
                .unwrap_or(now);
            Ok(now.max(meeting.start + Span::minutes(1)))
        }
        Ask::Extend => {
            let end = meeting.end + Span::minutes(i64::from(minutes));
            match next_start {
                Some(next) if next < end => {
                    Err(format!("the room is booked from {}", local(next, zone)))
                }
                _ => Ok(end),
            }
        }
    }
}
