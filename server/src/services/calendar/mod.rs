//! The room's calendar as a service (no port): fetches the bookings
//! (`fetch.rs`) every `poll_secs`, keeps the last good calendar on disk
//! (`cache_file`: it survives restarts and outages), and follows it
//! (`reactor.rs`): the project's `[[schedule]]` rules press their buttons
//! at the right instants, and the booking variables the project declares
//! (`calendar_busy`, `meeting_title`, ... docs/calendar.md) are set through
//! the engine, so they travel on the one bus to panels, LEDs and MQTT.
//!
//! Fetching runs on its own task: a slow, huge or unreachable calendar
//! never delays a rule, a variable or a button. A document that does not
//! parse is refused whole and the last good calendar stays in use; after
//! `stale_alert_secs` without a good fetch the service shows failed (the
//! status page, `/healthz`, the station).

pub mod fetch;
mod follow;
pub mod holidays;
pub mod reactor;
pub mod write_back;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use controller_core::calendar::Calendar;
use controller_core::view::ServiceState;
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Service, StartEnv, StartError, Started};
use crate::config::{CalendarSettings, CalendarSource, Settings};
use crate::logic::Clock;
use crate::state::controller::Controller;
pub use fetch::{Client, Fetched, Outcome, Resource};
pub use reactor::Reactor;

pub struct CalendarService;

impl Service for CalendarService {
    fn name(&self) -> &'static str {
        "calendar"
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.calendar.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let c = &s.calendar;
        let kind = match c.source {
            CalendarSource::Ics => "iCalendar feed",
            CalendarSource::Caldav => "CalDAV collection",
        };
        format!(
            "the room's bookings from the {kind} {} every {} s (outgoing), in {}; last good calendar kept in {}; no port",
            fetch::url_of(&c.url, "calendar").map(|u| redacted(&u)).unwrap_or_default(),
            c.poll_secs,
            c.time_zone,
            c.cache_file.display()
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        let steps = env.controller.bus().subscribe();
        async move {
            let s = env.settings().calendar.clone();
            let client = Client::new(&s).map_err(|e| StartError::Failed(format!("{e:#}")))?;
            Ok(Started::running(
                run(
                    env.controller,
                    s,
                    client,
                    Clock::System,
                    steps,
                    env.shutdown,
                )
                .boxed(),
            ))
        }
        .boxed()
    }
}

/// A URL without its user and password, for the status page and logs.
fn redacted(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// The documents read into one calendar (each CalDAV resource alone).
pub fn parse(fetched: &Fetched, zone: Tz) -> anyhow::Result<Calendar> {
    let mut calendar = Calendar::empty(zone);
    for r in &fetched.resources {
        let one = Calendar::parse(&r.ics, zone).with_context(|| r.href.clone())?;
        calendar.merge(one)?;
    }
    Ok(calendar)
}

/// The last good calendar on disk, if there is one for this URL.
pub fn load_cache(path: &Path, url: &str) -> Option<Fetched> {
    let text = std::fs::read(path).ok()?;
    let f: Fetched = serde_json::from_slice(&text).ok()?;
    (f.url == url).then_some(f)
}

/// Keeps `f` as the last good calendar (a temporary file, then a rename;
/// private to the controller's user: titles and organisers are in it).
pub fn save_cache(path: &Path, f: &Fetched) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot make the folder {}", dir.display()))?;
    }
    crate::storage::secret_file::write_private(path, &serde_json::to_vec(f)?)
}

/// The calendar in use and what it came from.
#[derive(Clone)]
pub struct Current {
    pub fetched: Arc<Fetched>,
    pub calendar: Arc<Calendar>,
}

/// One calendar a service reads: the service (`calendar`, `holidays`: in
/// its log lines, on the status board and in its settings' messages), its
/// settings, the client for its URL and the zone its days are read in.
#[derive(Clone)]
pub struct Feed {
    pub name: &'static str,
    pub settings: CalendarSettings,
    pub client: Client,
    pub zone: Tz,
}

impl Feed {
    pub fn new(name: &'static str, settings: CalendarSettings) -> anyhow::Result<Feed> {
        Ok(Feed {
            client: Client::in_section(&settings, name)?,
            zone: settings.zone_in(name)?,
            name,
            settings,
        })
    }
}

/// Fetches every `poll_secs` and hands each new good calendar to `tx`;
/// keeps it on disk. Never holds anything the reactor waits for.
pub async fn poll(
    controller: Controller,
    feed: Feed,
    mut last: Option<Arc<Fetched>>,
    tx: watch::Sender<Option<Current>>,
    shutdown: CancellationToken,
) {
    let Feed {
        name,
        settings: s,
        client,
        zone,
    } = feed;
    let mut tick = tokio::time::interval(Duration::from_secs(s.poll_secs.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_good = tokio::time::Instant::now();
    let mut alerted = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = client.fetch(last.as_deref()) => r,
        };
        let result = result.and_then(|o| match o {
            Outcome::Unchanged => Ok(None),
            Outcome::New(f) => parse(&f, zone).map(|c| Some((f, c))),
        });
        match result {
            Ok(new) => {
                last_good = tokio::time::Instant::now();
                if alerted {
                    alerted = false;
                    controller
                        .status()
                        .set_service_state(name, ServiceState::Running);
                    controller.log().record(format!("{name}: read again"));
                }
                if let Some((f, c)) = new {
                    if let Err(e) = save_cache(&s.cache_file, &f) {
                        controller
                            .log()
                            .record(format!("{name}: cannot keep the calendar on disk: {e:#}"));
                    }
                    for w in c.warnings() {
                        controller.log().record(format!("{name}: {w}"));
                    }
                    let f = Arc::new(f);
                    last = Some(f.clone());
                    tx.send_replace(Some(Current {
                        fetched: f,
                        calendar: Arc::new(c),
                    }));
                }
            }
            Err(e) => {
                let why = format!("{e:#}");
                controller.log().record(format!(
                    "{name}: {why}; the last good calendar stays in use"
                ));
                if !alerted && last_good.elapsed() >= Duration::from_secs(s.stale_alert_secs) {
                    alerted = true;
                    controller.status().set_service_state(
                        name,
                        ServiceState::Failed(format!(
                            "no good calendar for {} s: {why}",
                            s.stale_alert_secs
                        )),
                    );
                }
            }
        }
    }
}

/// The last good calendar kept on disk for the feed's URL, read again.
pub fn kept(controller: &Controller, feed: &Feed) -> Option<Current> {
    let Feed {
        name,
        settings: s,
        client,
        zone,
    } = feed;
    let zone = *zone;
    let cached = load_cache(&s.cache_file, client.url().as_str())?;
    match parse(&cached, zone) {
        Ok(c) => Some(Current {
            fetched: Arc::new(cached),
            calendar: Arc::new(c),
        }),
        Err(e) => {
            controller
                .log()
                .record(format!("{name}: the kept calendar is not used: {e:#}"));
            None
        }
    }
}

/// The service: the last good calendar from disk, then polling on one
/// task and reacting on this one.
pub async fn run(
    controller: Controller,
    s: CalendarSettings,
    client: Client,
    clock: Clock,
    steps: crate::state::bus::Subscription,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let feed = Feed {
        name: "calendar",
        zone: s.zone_in("calendar")?,
        settings: s,
        client,
    };
    let first = kept(&controller, &feed);
    let (tx, rx) = watch::channel(first.clone());
    let poller = tokio::spawn(poll(
        controller.clone(),
        feed.clone(),
        first.map(|c| c.fetched),
        tx,
        shutdown.clone(),
    ));
    let result = follow::follow(controller, feed, clock, rx, steps, shutdown).await;
    poller.abort();
    result
}

/// A moment for logs: the room's local time.
pub fn local(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}
