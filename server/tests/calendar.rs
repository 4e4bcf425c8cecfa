//! The room's calendar (`[calendar]`, docs/calendar.md): an iCalendar feed
//! from a local HTTP server on loopback read by the calendar service, its
//! meetings firing the project's `[[schedule]]` rules at the right
//! instants (the time is passed in: a recurring meeting with an EXDATE, a
//! moved occurrence and the end of summer time), conditional requests,
//! and bad feeds (malformed, huge, slow, unreachable) that keep the last
//! good calendar and never hold up a button.

use crate::support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeZone, Utc};
use controller_core::calendar::Privacy;
use controller_core::engine::Change;
use controller_core::project::Value;
use controller_core::view as roomctl_view;
use roomctl::config::{CalendarSettings, CalendarSource, Settings};
use roomctl::services::calendar::{self, Client, Outcome, Reactor};
use roomctl::state::controller::Controller;
use support::{eventually, loaded, TestSettings};

const ZONE: chrono_tz::Tz = chrono_tz::Europe::Copenhagen;

/// Monday 09:00-10:00 in Copenhagen, four weeks from 19 October 2026
/// (summer time ends on Sunday 25 October), 2 November excluded, 9
/// November moved to Tuesday 10 November 14:00-15:00.
const FEED: &str = "BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//roomctl//calendar test//EN\r
BEGIN:VEVENT\r
UID:standup@roomctl.test\r
DTSTAMP:20261001T000000Z\r
DTSTART;TZID=Europe/Copenhagen:20261019T090000\r
DTEND;TZID=Europe/Copenhagen:20261019T100000\r
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4\r
EXDATE;TZID=Europe/Copenhagen:20261102T090000\r
SUMMARY:Board meeting\r
ORGANIZER;CN=Grace Hopper:mailto:grace@roomctl.test\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:standup@roomctl.test\r
DTSTAMP:20261001T000000Z\r
RECURRENCE-ID;TZID=Europe/Copenhagen:20261109T090000\r
DTSTART;TZID=Europe/Copenhagen:20261110T140000\r
DTEND;TZID=Europe/Copenhagen:20261110T150000\r
SUMMARY:Board meeting (moved)\r
END:VEVENT\r
END:VCALENDAR\r
";

/// A room with a display to wake and a shutdown sequence, the rules
/// around meetings, and the booking variables.
const PROJECT: &str = r#"
[project]
name = "Booked room"

[[buttons]]
id = "wake"
label = "Wake"

[[buttons]]
id = "off"
label = "Off"

[[buttons]]
id = "volume"
label = "Volume"

[[sequences]]
id = "shutdown"
button = "off"
steps = [ { wait_ms = 1 } ]

[[variables]]
id = "calendar_busy"
kind = "bool"

[[variables]]
id = "meeting_title"

[[variables]]
id = "meeting_end"

[[variables]]
id = "free_until"

[[schedule]]
id = "wake-display"
at = "start"
offset_minutes = -5
press = "wake"

[[schedule]]
id = "shut-down"
at = "last_end"
offset_minutes = 10
sequence = "shutdown"
unless_pressed_since = true

[[panels]]
id = "p"
name = "P"
columns = 2
rows = 2

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "wake", row = 0, col = 0 }, { button = "off", row = 0, col = 1 }, { button = "volume", row = 1, col = 0 } ]
"#;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// How the test's feed server answers.
#[derive(Clone)]
enum Mode {
    /// The document, with an ETag; 304 to a request that names it.
    Serve(String),
    /// 200 with a body that is not iCalendar.
    Malformed,
    /// A body larger than any limit.
    Huge,
    /// Accepts and never answers.
    Slow,
}

/// A request's If-None-Match, and whether it was answered 304.
type Seen = (Option<String>, bool);

#[derive(Clone, Default)]
struct Feed {
    mode: Arc<Mutex<Option<Mode>>>,
    /// (If-None-Match sent, answered 304) of every request.
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Feed {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = Some(mode);
    }
}

async fn answer(State(feed): State<Feed>, headers: HeaderMap) -> Response {
    let mode = feed.mode.lock().unwrap().clone();
    let tag = |text: &str| format!("\"{}\"", text.len());
    let inm = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match mode {
        Some(Mode::Serve(text)) => {
            let etag = tag(&text);
            let same = inm.as_deref() == Some(etag.as_str());
            feed.seen.lock().unwrap().push((inm, same));
            if same {
                return StatusCode::NOT_MODIFIED.into_response();
            }
            (
                [("etag", etag), ("content-type", "text/calendar".into())],
                text,
            )
                .into_response()
        }
        Some(Mode::Malformed) => "<html>Sign in to see this calendar</html>".into_response(),
        Some(Mode::Huge) => "X".repeat(5 * 1024 * 1024).into_response(),
        Some(Mode::Slow) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The feed server on a free port of 127.0.0.2 (the controller fetches
/// from 127.0.0.1).
async fn feed_server() -> (Feed, SocketAddr, tokio::task::JoinHandle<()>) {
    let feed = Feed::default();
    let app = axum::Router::new()
        .route("/room.ics", axum::routing::get(answer))
        .with_state(feed.clone());
    let listener = tokio::net::TcpListener::bind((support::OTHER_ADDRESS, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (feed, addr, task)
}

fn settings_for(addr: SocketAddr, dir: &std::path::Path) -> CalendarSettings {
    let mut s = Settings::defaults(roomctl::config::Profile::Development).calendar;
    s.enabled = true;
    s.url = format!("http://{addr}/room.ics");
    s.source = CalendarSource::Ics;
    s.time_zone = "Europe/Copenhagen".into();
    s.timeout_secs = 1;
    s.poll_secs = 1;
    s.cache_file = dir.join("calendar.json");
    s
}

/// Every press the rules made, with the instant it was made at.
fn presses(
    rx: &mut roomctl::state::bus::Subscription,
    at: DateTime<Utc>,
    out: &mut Vec<(String, DateTime<Utc>)>,
) {
    while let Ok(e) = rx.try_recv() {
        if let Some(p) = e.step() {
            for c in &p.step.changes {
                if let Change::Pressed { button, source } = c {
                    if source.starts_with("schedule:") {
                        out.push((button.clone(), at));
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_feed_wakes_and_shuts_down_the_room_at_the_right_instants() {
    let (feed, addr, _server) = feed_server().await;
    feed.set(Mode::Serve(FEED.into()));
    let dir = tempfile::tempdir().unwrap();
    let s = settings_for(addr, dir.path());
    let client = Client::new(&s).unwrap();
    let Outcome::New(fetched) = client.fetch(None).await.unwrap() else {
        panic!("the first fetch brings the calendar");
    };
    // The second asks with the ETag and is told nothing changed.
    assert!(matches!(
        client.fetch(Some(&fetched)).await.unwrap(),
        Outcome::Unchanged
    ));
    assert_eq!(
        feed.seen.lock().unwrap().clone(),
        [(None, false), (Some(format!("\"{}\"", FEED.len())), true)]
    );
    let cal = Arc::new(calendar::parse(&fetched, ZONE).unwrap());

    let project = loaded(PROJECT).project;
    let controller = Controller::new(
        Settings::defaults(roomctl::config::Profile::Development),
        project.clone(),
    );
    let mut rx = controller.bus().subscribe();
    let start = utc(2026, 10, 18, 0, 0);
    let mut reactor = Reactor::new(project, ZONE, Privacy::Busy, start);
    reactor.set_calendar(cal, start);
    let mut fired = Vec::new();
    let mut now = start;
    let mut busy_seen = Vec::new();
    while now < utc(2026, 11, 12, 0, 0) {
        now = reactor.next_wake(now);
        // On 26 October someone uses the room after the meeting: the
        // shutdown that day is skipped.
        if now == utc(2026, 10, 26, 9, 5) {
            reactor.pressed_by_person(now);
        }
        reactor.advance(&controller, now);
        presses(&mut rx, now, &mut fired);
        if now == utc(2026, 10, 19, 7, 30) {
            let v = controller.snapshot().variables;
            busy_seen.push((
                v["calendar_busy"].clone(),
                v["meeting_title"].clone(),
                v["meeting_end"].clone(),
            ));
        }
    }
    let at = |b: &str| -> Vec<DateTime<Utc>> {
        fired
            .iter()
            .filter(|(x, _)| x == b)
            .map(|(_, t)| *t)
            .collect()
    };
    assert_eq!(
        at("wake"),
        [
            // 08:55 summer time (UTC+2)
            utc(2026, 10, 19, 6, 55),
            // 08:55 winter time (UTC+1), after the change
            utc(2026, 10, 26, 7, 55),
            // not 2 November (EXDATE); 10 November 13:55 (moved)
            utc(2026, 11, 10, 12, 55),
        ]
    );
    assert_eq!(
        at("off"),
        [utc(2026, 10, 19, 8, 10), utc(2026, 11, 10, 14, 10)]
    );
    assert_eq!(
        busy_seen,
        [(
            Value::Bool(true),
            Value::Text("Busy".into()),
            Value::Text("10:00".into())
        )]
    );
}

#[tokio::test]
async fn bad_feeds_keep_the_last_good_calendar_and_never_hold_up_a_button() {
    let (feed, addr, server) = feed_server().await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings_for(addr, dir.path());
    let client = Client::new(&s).unwrap();
    // Each bad answer is an error that says what was wrong.
    for (mode, says) in [(Mode::Huge, "max_bytes"), (Mode::Slow, "timed out")] {
        feed.set(mode);
        let e = match client.fetch(None).await {
            Ok(_) => panic!("{says}: refused"),
            Err(e) => format!("{e:#}"),
        };
        assert!(e.contains(says), "{says} in {e}");
    }
    feed.set(Mode::Malformed);
    let Outcome::New(f) = client.fetch(None).await.unwrap() else {
        panic!("a new document")
    };
    let e = format!("{:#}", calendar::parse(&f, ZONE).unwrap_err());
    assert!(e.contains("not an iCalendar document"), "{e}");

    // A meeting on now, from the real service with the real clock.
    let now = Utc::now();
    let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let doc = FEED
        .replace("RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4\r\n", "")
        .replace(
            "DTSTART;TZID=Europe/Copenhagen:20261019T090000",
            &format!("DTSTART:{}", fmt(now - chrono::Duration::hours(1))),
        )
        .replace(
            "DTEND;TZID=Europe/Copenhagen:20261019T100000",
            &format!("DTEND:{}", fmt(now + chrono::Duration::hours(3))),
        );
    feed.set(Mode::Serve(doc));
    // Alert at the first failure (the default is an hour).
    let mut s = s;
    s.stale_alert_secs = 0;
    let settings = TestSettings::only(&["calendar", "logic"])
        .edit(|x| x.calendar = s.clone())
        .build();
    let running = support::start(settings.clone(), loaded(PROJECT)).await;
    let c = running.controller.clone();
    let busy =
        |c: &Controller| c.snapshot().variables.get("calendar_busy") == Some(&Value::Bool(true));
    eventually(
        Duration::from_secs(20),
        "the meeting on now makes the room busy",
        || busy(&c),
    )
    .await;
    assert!(s.cache_file.exists(), "the calendar is kept on disk");

    // The feed goes bad in every way: the room stays busy, the log says
    // why, and a button works at once while a fetch hangs.
    for mode in [Mode::Malformed, Mode::Huge, Mode::Slow] {
        feed.set(mode);
        let before = c.log().recent(1000).len();
        eventually(Duration::from_secs(20), "a failed fetch is logged", || {
            c.log().recent(1000).len() > before
                && c.log()
                    .recent(1000)
                    .iter()
                    .any(|l| l.contains("the last good calendar stays in use"))
        })
        .await;
        assert!(busy(&c));
        support::press_and_release(&c, "volume");
        let state = c.status().service("calendar").unwrap().state;
        assert!(
            matches!(&state, roomctl_view::ServiceState::Failed(why) if why.contains("no good calendar")),
            "{state:?}"
        );
    }
    running.shutdown().await;

    // The server is gone: a new start reads the kept calendar.
    server.abort();
    let _ = server.await;
    let running = support::start(settings, loaded(PROJECT)).await;
    let c = running.controller.clone();
    eventually(
        Duration::from_secs(20),
        "the kept calendar is used after a restart",
        || busy(&c),
    )
    .await;
    eventually(
        Duration::from_secs(20),
        "the unreachable server is logged",
        || {
            c.log()
                .recent(1000)
                .iter()
                .any(|l| l.contains("calendar:") && l.contains("last good calendar stays in use"))
        },
    )
    .await;
    running.shutdown().await;
}

/// A CalDAV collection on a real Radicale: read with REPORT, one
/// occurrence extended with a PUT that names the resource's ETag (a stale
/// ETag is refused), and the room's "Extend" and "End" buttons writing
/// back the meeting on now.
#[tokio::test]
async fn a_caldav_collection_is_read_and_extend_and_end_write_back() {
    let dav = support::radicale::Radicale::start().await;
    dav.make_calendar("/room/board/").await;
    dav.put("/room/board/standup.ics", FEED).await;
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("caldav-password");
    std::fs::write(&password, format!("{}\n", dav.password)).unwrap();
    let mut s = settings_for("127.0.0.1:1".parse().unwrap(), dir.path());
    s.url = dav.url("/room/board/");
    s.source = CalendarSource::Caldav;
    s.username = dav.user.into();
    s.password_file = Some(password.clone());
    let client = Client::new(&s).unwrap();
    let Outcome::New(fetched) = client.fetch(None).await.unwrap() else {
        panic!("the collection is read")
    };
    assert_eq!(fetched.resources.len(), 1, "{fetched:?}");
    assert!(fetched.resources[0].etag.is_some());
    let cal = calendar::parse(&fetched, ZONE).unwrap();
    let meetings = cal.meetings(utc(2026, 10, 1, 0, 0), utc(2026, 12, 1, 0, 0));
    assert_eq!(meetings.len(), 3, "{meetings:?}");
    // 26 October, 09:00-10:00 winter time: extended by 15 minutes.
    let m = meetings
        .iter()
        .find(|m| m.start == utc(2026, 10, 26, 8, 0))
        .unwrap();
    let written =
        calendar::write_back::write_back(&client, &fetched, ZONE, m, utc(2026, 10, 26, 9, 15))
            .await
            .unwrap();
    let stored = dav.get("/room/board/standup.ics").await;
    let after = controller_core::calendar::Calendar::parse(&stored, ZONE)
        .unwrap()
        .meetings(utc(2026, 10, 1, 0, 0), utc(2026, 12, 1, 0, 0));
    let ends: Vec<_> = after.iter().map(|m| (m.start, m.end)).collect();
    assert_eq!(
        ends,
        [
            (utc(2026, 10, 19, 7, 0), utc(2026, 10, 19, 8, 0)),
            (utc(2026, 10, 26, 8, 0), utc(2026, 10, 26, 9, 15)),
            (utc(2026, 11, 10, 13, 0), utc(2026, 11, 10, 14, 0)),
        ]
    );
    assert_ne!(written.etag, fetched.resources[0].etag);
    // The ETag read before is stale now: the server refuses, nothing is lost.
    let e = calendar::write_back::write_back(&client, &fetched, ZONE, m, utc(2026, 10, 26, 9, 30))
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("changed on the server"), "{e:#}");

    // The buttons: a meeting on now, read by the service.
    let now = chrono::Timelike::with_nanosecond(&Utc::now(), 0).unwrap();
    let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let (start, end) = (
        now - chrono::Duration::minutes(30),
        now + chrono::Duration::minutes(30),
    );
    dav.put(
        "/room/board/now.ics",
        &format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roomctl//test//EN\r\nBEGIN:VEVENT\r\nUID:now@roomctl.test\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Design review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            fmt(start),
            fmt(start),
            fmt(end)
        ),
    )
    .await;
    let project = PROJECT.replace(
        "[[sequences]]",
        "[[buttons]]\nid = \"extend\"\nlabel = \"Extend 15 min\"\n\n[[buttons]]\nid = \"end\"\nlabel = \"End meeting\"\n\n[[sequences]]",
    );
    s.extend_button = "extend".into();
    s.end_button = "end".into();
    s.privacy = Privacy::Title;
    let settings = TestSettings::only(&["calendar"])
        .edit(|x| x.calendar = s.clone())
        .build();
    let running = support::start(settings, loaded(&project)).await;
    let c = running.controller.clone();
    let var = |c: &Controller, name: &str| c.snapshot().variables.get(name).cloned();
    eventually(
        Duration::from_secs(20),
        "the meeting on now is shown with its title",
        || var(&c, "meeting_title") == Some(Value::Text("Design review".into())),
    )
    .await;
    let ends_at = |text: &str| {
        controller_core::calendar::Calendar::parse(text, ZONE)
            .unwrap()
            .meetings(
                now - chrono::Duration::days(1),
                now + chrono::Duration::days(1),
            )
            .into_iter()
            .find(|m| m.uid == "now@roomctl.test")
            .map(|m| m.end)
    };
    support::press_and_release(&c, "extend");
    let extended = end + chrono::Duration::minutes(15);
    for _ in 0..200 {
        if ends_at(&dav.get("/room/board/now.ics").await) == Some(extended) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        ends_at(&dav.get("/room/board/now.ics").await),
        Some(extended)
    );
    let shown = extended.with_timezone(&ZONE).format("%H:%M").to_string();
    eventually(
        Duration::from_secs(20),
        "the panel's variables show the new end",
        || var(&c, "meeting_end") == Some(Value::Text(shown.clone())),
    )
    .await;
    support::press_and_release(&c, "end");
    let mut ended = None;
    for _ in 0..200 {
        ended = ends_at(&dav.get("/room/board/now.ics").await);
        if ended != Some(extended) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ended = ended.unwrap();
    assert!(ended <= Utc::now() && ended > start, "ended at {ended}");
    eventually(
        Duration::from_secs(20),
        "the room is free after the end",
        || var(&c, "calendar_busy") == Some(Value::Bool(false)),
    )
    .await;
    let audit: Vec<String> = c
        .audit()
        .recent(50)
        .iter()
        .map(|e| e.detail.clone())
        .collect();
    assert!(audit.iter().any(|d| d.contains("extended")), "{audit:?}");
    assert!(audit.iter().any(|d| d.contains("ended")), "{audit:?}");
    running.shutdown().await;
}

/// A room with a meeting tile on its panel `p` and none on `q`: the
/// booking variables come with the tile, undeclared.
const TILE_PROJECT: &str = r#"
[project]
name = "Tile room"

[[buttons]]
id = "lights"
label = "Lights"

[[panels]]
id = "p"
name = "P"
columns = 4
rows = 3

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "lights", row = 0, col = 0 } ]
meetings = [ { row = 1, col = 0, width = 4, height = 2 } ]

[[panels]]
id = "q"
name = "Q"
columns = 1
rows = 1

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "lights", row = 0, col = 0 } ]
"#;

/// An event from `start` to `end` (UTC), as one resource.
fn event(uid: &str, title: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roomctl//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{title}\r\nORGANIZER;CN=Ada Lovelace:mailto:ada@roomctl.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        fmt(start),
        fmt(start),
        fmt(end)
    )
}

/// The end of the event `uid` as the text `ics` has it.
fn end_of(ics: &str, uid: &str, around: DateTime<Utc>) -> Option<DateTime<Utc>> {
    controller_core::calendar::Calendar::parse(ics, ZONE)
        .unwrap()
        .meetings(
            around - chrono::Duration::days(1),
            around + chrono::Duration::days(1),
        )
        .into_iter()
        .find(|m| m.uid == uid)
        .map(|m| m.end)
}

/// Reads the panel's live channel until a step sets `variable` to `value`.
async fn panel_sees(ws: &mut support::panel::Ws, variable: &str, value: &Value) {
    use controller_core::protocol::panel::ServerMessage;
    let wanted = Change::Variable {
        variable: variable.into(),
        value: value.clone(),
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match support::panel::recv(ws).await {
                ServerMessage::Step { step, .. } if step.changes.contains(&wanted) => return,
                ServerMessage::Snapshot { snapshot }
                    if snapshot.variables.get(variable) == Some(value) =>
                {
                    return
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the panel is sent {variable} = {value:?}"));
}

/// The panel's meeting tile on a real Radicale: its state (title and
/// organiser as the privacy setting allows, what may change) travels on
/// the panel's live channel; "Extend" and "End" from the panel write the
/// meeting back (the server shows the new end), are audited with the
/// panel's address, and are refused to a panel without a tile. With a
/// read-only account the tile offers neither.
#[tokio::test]
async fn the_panels_meeting_tile_extends_and_ends_the_meeting_on_the_server() {
    use controller_core::protocol::panel::{ClientMessage, MeetingChange, ServerMessage};
    let dav = support::radicale::Radicale::start().await;
    dav.make_calendar("/room/board/").await;
    let now = chrono::Timelike::with_nanosecond(&Utc::now(), 0).unwrap();
    let (start, end) = (
        now - chrono::Duration::minutes(30),
        now + chrono::Duration::minutes(30),
    );
    dav.put(
        "/room/board/review.ics",
        &event("review@roomctl.test", "Design review", start, end),
    )
    .await;
    // The next meeting leaves room for one extension (an hour after the end).
    dav.put(
        "/room/board/later.ics",
        &event(
            "later@roomctl.test",
            "Budget",
            end + chrono::Duration::hours(1),
            end + chrono::Duration::hours(2),
        ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("caldav-password");
    std::fs::write(&password, format!("{}\n", dav.password)).unwrap();
    let mut s = settings_for("127.0.0.1:1".parse().unwrap(), dir.path());
    s.url = dav.url("/room/board/");
    s.source = CalendarSource::Caldav;
    s.username = dav.user.into();
    s.password_file = Some(password.clone());
    s.privacy = Privacy::TitleAndOrganizer;

    // The server says what each account may do.
    assert_eq!(Client::new(&s).unwrap().writable().await, Some(true));
    let mut read_only = s.clone();
    read_only.username = "lobby".into();
    let lobby_password = dir.path().join("lobby-password");
    std::fs::write(
        &lobby_password,
        format!("{}\n", support::radicale::READER_PASSWORD),
    )
    .unwrap();
    read_only.password_file = Some(lobby_password);
    read_only.cache_file = dir.path().join("lobby-calendar.json");
    assert_eq!(
        Client::new(&read_only).unwrap().writable().await,
        Some(false)
    );

    let settings = TestSettings::only(&["panel", "calendar"])
        .edit(|x| x.calendar = s.clone())
        .build();
    let running = support::start(settings, loaded(TILE_PROJECT)).await;
    let c = running.controller.clone();
    let addr = running.addrs.panel.unwrap();
    // The room's tablet, on the LAN: another address than the controller's.
    let tablet: std::net::IpAddr = support::OTHER_ADDRESS.parse().unwrap();
    let (mut ws, _) = support::panel::panel_from(tablet, addr, "p").await;
    panel_sees(
        &mut ws,
        "meeting_title",
        &Value::Text("Design review".into()),
    )
    .await;
    panel_sees(&mut ws, "meeting_can_extend", &Value::Bool(true)).await;
    let var = |name: &str| c.snapshot().variables.get(name).cloned();
    assert_eq!(
        var("meeting_organizer"),
        Some(Value::Text("Ada Lovelace".into()))
    );
    assert_eq!(var("meeting_can_end"), Some(Value::Bool(true)));
    assert_eq!(var("meeting_extend_minutes"), Some(Value::Number(15.0)));

    // A panel without a tile may not.
    let (mut other, _) = support::panel::panel(addr, "q").await;
    support::panel::send(
        &mut other,
        &ClientMessage::Meeting {
            change: MeetingChange::End,
        },
    )
    .await;
    loop {
        if let ServerMessage::Error { message, .. } = support::panel::recv(&mut other).await {
            assert!(message.contains("no meeting tile"), "{message}");
            break;
        }
    }

    support::panel::send(
        &mut ws,
        &ClientMessage::Meeting {
            change: MeetingChange::Extend,
        },
    )
    .await;
    let extended = end + chrono::Duration::minutes(15);
    let shown = extended.with_timezone(&ZONE).format("%H:%M").to_string();
    panel_sees(&mut ws, "meeting_end", &Value::Text(shown)).await;
    assert_eq!(
        end_of(
            &dav.get("/room/board/review.ics").await,
            "review@roomctl.test",
            now
        ),
        Some(extended),
        "the server has the new end"
    );

    support::panel::send(
        &mut ws,
        &ClientMessage::Meeting {
            change: MeetingChange::End,
        },
    )
    .await;
    panel_sees(&mut ws, "calendar_busy", &Value::Bool(false)).await;
    let ended = end_of(
        &dav.get("/room/board/review.ics").await,
        "review@roomctl.test",
        now,
    )
    .unwrap();
    assert!(ended <= Utc::now() && ended > start, "ended at {ended}");
    assert_eq!(var("meeting_can_end"), Some(Value::Bool(false)));

    // Free now: "End" has nothing to end, and says so in the audit trail.
    support::panel::send(
        &mut ws,
        &ClientMessage::Meeting {
            change: MeetingChange::End,
        },
    )
    .await;
    let audited = || {
        c.audit()
            .recent(50)
            .iter()
            .filter(|e| e.service == "panel" && e.detail.contains("asked by panel:p@127.0.0.2"))
            .map(|e| (e.outcome, e.address.clone(), e.detail.clone()))
            .collect::<Vec<_>>()
    };
    eventually(
        Duration::from_secs(20),
        "the refused end is audited",
        || {
            audited()
                .iter()
                .any(|(_, _, d)| d.contains("no meeting is on now"))
        },
    )
    .await;
    let trail = audited();
    use controller_core::audit::AuditOutcome;
    assert!(
        trail.iter().any(|(o, a, d)| *o == AuditOutcome::Ok
            && a.as_deref() == Some("127.0.0.2")
            && d.contains("extended")),
        "{trail:?}"
    );
    assert!(
        trail
            .iter()
            .any(|(o, _, d)| *o == AuditOutcome::Ok && d.contains("ended")),
        "{trail:?}"
    );
    assert!(
        trail
            .iter()
            .any(|(o, _, d)| *o == AuditOutcome::Failed && d.contains("no meeting is on now")),
        "{trail:?}"
    );
    running.shutdown().await;

    // The read-only account: the meeting is shown, nothing may change,
    // and a request (an old page) is refused without a write.
    dav.put(
        "/room/board/review.ics",
        &event("review@roomctl.test", "Design review", start, end),
    )
    .await;
    let settings = TestSettings::only(&["panel", "calendar"])
        .edit(|x| x.calendar = read_only.clone())
        .build();
    let running = support::start(settings, loaded(TILE_PROJECT)).await;
    let c = running.controller.clone();
    let (mut ws, _) = support::panel::panel(running.addrs.panel.unwrap(), "p").await;
    panel_sees(&mut ws, "calendar_busy", &Value::Bool(true)).await;
    assert_eq!(
        c.snapshot().variables.get("meeting_can_end"),
        Some(&Value::Bool(false))
    );
    assert_eq!(
        c.snapshot().variables.get("meeting_can_extend"),
        Some(&Value::Bool(false))
    );
    support::panel::send(
        &mut ws,
        &ClientMessage::Meeting {
            change: MeetingChange::Extend,
        },
    )
    .await;
    eventually(Duration::from_secs(20), "the refusal is audited", || {
        c.audit()
            .recent(20)
            .iter()
            .any(|e| e.detail.contains("read-only account"))
    })
    .await;
    assert_eq!(
        end_of(
            &dav.get("/room/board/review.ics").await,
            "review@roomctl.test",
            now
        ),
        Some(end)
    );
    running.shutdown().await;
}

/// A room whose project declares the booking variables but whose calendar
/// is off (or not read yet) is not "Free" at the station: its bookings are
/// not known (`calendar_known` false), so its card and its usage say
/// nothing of bookings. Once a calendar is read, the room is free or booked.
#[tokio::test]
async fn a_room_whose_calendar_is_off_shows_no_booking_at_the_station() {
    use controller_core::fleet::{booked, RoomDay};
    let project = loaded(PROJECT).project;
    assert!(
        project.variable("calendar_known").is_some(),
        "comes with the booking variables"
    );
    let controller = Controller::new(
        Settings::defaults(roomctl::config::Profile::Development),
        project.clone(),
    );
    let snapshot = controller.snapshot();
    let vars = &snapshot.variables;
    assert_eq!(vars.get("calendar_busy"), Some(&Value::Bool(false)));
    assert_eq!(vars.get("calendar_known"), Some(&Value::Bool(false)));
    assert_eq!(booked(vars), None);
    let day = RoomDay::of(vars, Some(false));
    assert_eq!((day.booked, day.label.as_str()), (None, "Not in use"));
    let usage = roomctl::station::usage::state(&[], "", None, &snapshot);
    assert_eq!(usage.booked, None);

    // The calendar is read (an empty one): the room is free.
    let start = utc(2026, 10, 18, 0, 0);
    let mut reactor = Reactor::new(project, ZONE, Privacy::Busy, start);
    reactor.set_calendar(
        Arc::new(controller_core::calendar::Calendar::empty(ZONE)),
        start,
    );
    reactor.advance(&controller, start);
    let vars = controller.snapshot().variables;
    assert_eq!(vars.get("calendar_known"), Some(&Value::Bool(true)));
    assert_eq!(booked(&vars), Some(false));
    assert!(RoomDay::of(&vars, Some(false)).label.starts_with("Free"));
}
