//! The closed days as a service (`[holidays]`, no port): a feed of public
//! holidays and closures, fetched and kept on disk exactly as the room's
//! calendar is (the same client, limits, cache and stale alert), read into
//! the days it closes for the next [`MAX_CLOSED_DAYS_AHEAD`] days. The
//! controller hands them to the timers (`on_closed_days`), which work out
//! their next runs again at each change. Worked out again at every new
//! feed and every hour, so the window moves with the days.

use std::time::Duration;

use controller_core::calendar::MAX_CLOSED_DAYS_AHEAD;
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Current, Feed};
use crate::config::Settings;
use crate::logic::Clock;
use crate::services::{Service, StartEnv, StartError, Started};
use crate::state::controller::Controller;

/// How often the closed days are worked out again without a new feed.
const REFRESH: Duration = Duration::from_secs(3600);

pub struct HolidayService;

impl Service for HolidayService {
    fn name(&self) -> &'static str {
        "holidays"
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.holidays.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let h = &s.holidays;
        format!(
            "the closed days for timers from the iCalendar feed {} every {} s (outgoing), in {}; last good feed kept in {}; no port",
            super::fetch::url_of(&h.url, "holidays")
                .map(|u| super::redacted(&u))
                .unwrap_or_default(),
            h.poll_secs,
            h.time_zone,
            h.cache_file.display()
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let feed = Feed::new("holidays", env.settings().holidays.as_feed())
                .map_err(|e| StartError::Failed(format!("{e:#}")))?;
            Ok(Started::running(
                run(env.controller, feed, Clock::System, env.shutdown).boxed(),
            ))
        }
        .boxed()
    }
}

/// The kept feed's closed days at once, then each new feed's.
pub async fn run(
    controller: Controller,
    feed: Feed,
    clock: Clock,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let first = super::kept(&controller, &feed);
    let (tx, mut rx) = watch::channel(first.clone());
    let poller = tokio::spawn(super::poll(
        controller.clone(),
        feed,
        first.map(|c| c.fetched),
        tx,
        shutdown.clone(),
    ));
    let mut refresh = tokio::time::interval(REFRESH);
    loop {
        let current: Option<Current> = rx.borrow_and_update().clone();
        if let Some(c) = current {
            let days = c.calendar.closed_days(clock.now(), MAX_CLOSED_DAYS_AHEAD);
            let next = days
                .iter()
                .next()
                .map(|(d, why)| format!("; next {d} ({why})"));
            let count = days.len();
            if controller.set_closed_days(days) {
                controller.log().record(format!(
                    "holidays: {count} closed days in the next {MAX_CLOSED_DAYS_AHEAD}{}",
                    next.unwrap_or_default()
                ));
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = rx.changed() => if changed.is_err() { break },
            _ = refresh.tick() => {}
        }
    }
    poller.abort();
    Ok(())
}
