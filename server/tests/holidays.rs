//! Closed days (`[holidays]`, docs/calendar.md): a feed of holidays served
//! by a real HTTP server on another loopback address (127.0.0.2), read by
//! a whole controller's holidays service, and the project's timers
//! following it: a timer that skips closed days runs after them, one that
//! runs only on them runs on them, and a feed that goes away keeps the
//! last good closed days (kept on disk, across a restart).

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate, Utc};
use support::{eventually, loaded, TestSettings};

const ZONE: chrono_tz::Tz = chrono_tz::Europe::Copenhagen;
const PATIENCE: Duration = Duration::from_secs(20);

const PROJECT: &str = r#"
[project]
name = "Closed days"

[[buttons]]
id = "wake"
label = "Wake"

[[panels]]
id = "p"
name = "P"
columns = 1
rows = 1

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "wake", row = 0, col = 0 } ]

[[timers]]
id = "workday"
cron = "0 0 7 * * *"
time_zone = "Europe/Copenhagen"
press = "wake"
on_closed_days = "skip"

[[timers]]
id = "holiday"
cron = "0 0 7 * * *"
time_zone = "Europe/Copenhagen"
press = "wake"
on_closed_days = "only"
"#;

/// What the feed server answers: a document, or 503.
type Feed = Arc<Mutex<Option<String>>>;

async fn answer(State(feed): State<Feed>) -> Response {
    match feed.lock().unwrap().clone() {
        Some(text) => ([("content-type", "text/calendar")], text).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// An all-day closure over `days` days from `first`.
fn closure(first: NaiveDate, days: u64) -> String {
    let end = first.checked_add_days(Days::new(days)).unwrap();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roomctl//tests//EN\r\nBEGIN:VEVENT\r\nUID:closure\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nTRANSP:TRANSPARENT\r\nSUMMARY:Building closed\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        first.format("%Y%m%d"),
        end.format("%Y%m%d")
    )
}

fn next_run(running: &roomctl::runtime::serve::Running, id: &str) -> String {
    running
        .controller
        .status()
        .timers()
        .into_iter()
        .find(|t| t.id == id)
        .map(|t| t.next_run)
        .unwrap_or_default()
}

#[tokio::test]
async fn timers_follow_the_closed_days_of_a_feed_and_keep_them_when_it_goes() {
    let feed: Feed = Arc::default();
    let app = axum::Router::new()
        .route("/closed.ics", axum::routing::get(answer))
        .with_state(feed.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // Closed from today for three days, in the building's zone: the
    // skipping timer's next run is at 07:00 on the fourth day, whatever
    // the time now; the other's within the three.
    let today = Utc::now().with_timezone(&ZONE).date_naive();
    *feed.lock().unwrap() = Some(closure(today, 3));
    let dir = tempfile::tempdir().unwrap();
    let settings = TestSettings::only(&["logic", "holidays"])
        .edit(|s| {
            s.holidays.url = format!("http://{addr}/closed.ics");
            s.holidays.time_zone = "Europe/Copenhagen".into();
            s.holidays.poll_secs = 10;
            s.holidays.cache_file = dir.path().join("holidays.json");
        })
        .build();
    let running = support::start(settings.clone(), loaded(PROJECT)).await;
    let fourth = today.checked_add_days(Days::new(3)).unwrap();
    let after = format!("{} 07:00:00", fourth.format("%Y-%m-%d"));
    eventually(PATIENCE, "the workday timer skips the closed days", || {
        next_run(&running, "workday").starts_with(&after)
    })
    .await;
    let holiday = next_run(&running, "holiday");
    let within: Vec<String> = (0..3)
        .map(|d| {
            let day = today.checked_add_days(Days::new(d)).unwrap();
            format!("{} 07:00:00", day.format("%Y-%m-%d"))
        })
        .collect();
    assert!(
        within.iter().any(|w| holiday.starts_with(w)),
        "the holiday timer runs on a closed day: {holiday}"
    );
    running.shutdown().await;

    // The feed is gone: a new start still knows the closed days (kept on
    // disk), and says why the feed is not read.
    *feed.lock().unwrap() = None;
    let running = support::start(settings, loaded(PROJECT)).await;
    eventually(PATIENCE, "the kept closed days are used", || {
        next_run(&running, "workday").starts_with(&after)
    })
    .await;
    running.shutdown().await;
}

#[test]
fn holiday_settings_are_checked_in_their_own_name() {
    let err = roomctl::config::Settings::from_toml(
        "[holidays]\nenabled = true\nurl = \"http://holidays.example.org/feed.ics\"\n",
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("[holidays] url") && err.contains("plain http"),
        "{err}"
    );
    let err = roomctl::config::Settings::from_toml(
        "[holidays]\nenabled = true\nurl = \"https://holidays.example.org/feed.ics\"\ntime_zone = \"Mars/Olympus\"\n",
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("[holidays] time_zone"), "{err}");
}

/// A feed over the limit is refused with the `[holidays]` setting to change,
/// not the room calendar's.
#[tokio::test]
async fn a_feed_over_its_limit_names_the_holidays_setting() {
    let feed: Feed = Arc::new(Mutex::new(Some(closure(
        NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
        3,
    ))));
    let app = axum::Router::new()
        .route("/closed.ics", axum::routing::get(answer))
        .with_state(feed);
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut s = roomctl::config::HolidaySettings {
        enabled: true,
        url: format!("http://{addr}/closed.ics"),
        ..Default::default()
    };
    s.max_bytes = 64;
    let client = roomctl::services::calendar::Client::in_section(&s.as_feed(), "holidays").unwrap();
    let e = format!("{:#}", client.fetch(None).await.err().expect("refused"));
    assert!(e.contains("[holidays] max_bytes = 64"), "{e}");
}
