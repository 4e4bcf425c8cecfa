//! Occupancy (`[occupancy]`, docs/occupancy.md): the room's `occupied`
//! variable from a project variable, from an MQTT topic on a real
//! Mosquitto (on 127.0.0.2, so the controller is a client from another
//! address) and from presses on a panel connected from 127.0.0.2; the LED
//! that follows it; its Home Assistant binary sensor; the "empty for N
//! minutes" rule at its instant (the time passed in); and a booking nobody
//! came to, ended on a real Radicale through the End write-back.

use crate::support;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, TimeZone, Timelike, Utc};
use controller_core::calendar::Privacy;
use controller_core::engine::{Change, Command};
use controller_core::project::{LedMode, Value};
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use roomctl::config::{CalendarSource, Settings};
use roomctl::logic::Clock;
use roomctl::services::calendar::{self, Client, Reactor};
use roomctl::services::occupancy::Follower;
use roomctl::state::controller::Controller;
use support::mosquitto::{Mosquitto, Watcher};
use support::panel::{hello, send, ws_connect_from};
use support::{eventually, loaded, TestSettings, OTHER_ADDRESS};

const WAIT: Duration = Duration::from_secs(10);

/// A room with a PIR as a variable, a lamp whose LED shows `occupied`, a
/// shutdown sequence for the empty room, the no-show rule, and a meeting
/// tile.
fn project(sources: &str, extra: &str) -> String {
    format!(
        r#"
[project]
name = "Occupied room"

[[buttons]]
id = "lights"
label = "Lights"

[[buttons]]
id = "in_use"
label = "In use: {{occupied}}"
led_when = {{ variable = "occupied", equals = true }}

[[buttons]]
id = "off"
label = "Off"

[[variables]]
id = "pir"
kind = "bool"

[[sequences]]
id = "shutdown"
button = "off"
steps = [ {{ wait_ms = 1 }} ]

[[panels]]
id = "p"
name = "P"
columns = 3
rows = 3

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ {{ button = "lights", row = 0, col = 0 }}, {{ button = "in_use", row = 0, col = 1 }}, {{ button = "off", row = 0, col = 2 }} ]
meetings = [ {{ row = 1, col = 0, width = 3, height = 2 }} ]

[occupancy]
{extra}
{sources}
[[occupancy.rules]]
id = "switch-off"
when = "empty"
minutes = 10
sequence = "shutdown"

[[occupancy.rules]]
id = "release"
when = "no_show"
minutes = 10
"#
    )
}

fn var(c: &Controller, name: &str) -> Option<Value> {
    c.snapshot().variables.get(name).cloned()
}

fn lit(c: &Controller, button: &str) -> bool {
    c.snapshot()
        .led(button)
        .is_some_and(|l| l.mode != LedMode::Off)
}

fn set(c: &Controller, name: &str, value: Value) {
    c.execute(Command::SetVariable {
        variable: name.into(),
        value,
        source: "feedback:pir".into(),
    })
    .unwrap();
}

#[tokio::test]
async fn a_sensor_variable_makes_the_room_occupied_and_lights_the_led() {
    let p = project(
        "[[occupancy.sources]]\nvariable = \"pir\"\n",
        "hold_minutes = 0",
    );
    let running = TestSettings::only(&["logic"]).start(loaded(&p)).await;
    let c = running.controller.clone();
    eventually(WAIT, "occupied is set false at start", || {
        var(&c, "occupied") == Some(Value::Bool(false))
    })
    .await;
    assert!(!lit(&c, "in_use"));
    set(&c, "pir", Value::Bool(true));
    eventually(WAIT, "the PIR makes the room occupied", || {
        var(&c, "occupied") == Some(Value::Bool(true)) && lit(&c, "in_use")
    })
    .await;
    set(&c, "pir", Value::Bool(false));
    eventually(WAIT, "with no hold, the room is empty again", || {
        var(&c, "occupied") == Some(Value::Bool(false)) && !lit(&c, "in_use")
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn an_mqtt_topic_makes_the_room_occupied_and_home_assistant_sees_it() {
    let broker = Mosquitto::start_on("127.0.0.2").await;
    let node = "RC-TEST-Room-O";
    let prefix = "roomctl/RC-TEST-Room-O";
    let ha = Watcher::start_at(broker.host, broker.port, "homeassistant/#").await;
    let state = Watcher::start_at(broker.host, broker.port, &format!("{prefix}/var/#")).await;
    let p = project(
        "[[occupancy.sources]]\nmqtt_topic = \"site/floor2/room-o/pir\"\njson_field = \"occupancy\"\n",
        "hold_minutes = 0",
    );
    let running = TestSettings::only(&["mqtt", "logic"])
        .name("Room O")
        .toml(&format!(
            "[mqtt]\nurl = \"{}\"\nreconnect_max_secs = 1\n",
            broker.url()
        ))
        .start(loaded(&p))
        .await;
    let c = running.controller.clone();
    let config = format!("homeassistant/binary_sensor/{node}/occupancy/config");
    eventually(WAIT, "the occupancy binary sensor is announced", || {
        ha.json(&config).is_some()
    })
    .await;
    let entity = ha.json(&config).unwrap();
    assert_eq!(entity["device_class"], "occupancy", "{entity}");
    assert_eq!(entity["state_topic"], format!("{prefix}/var/occupied"));
    assert_eq!(entity["payload_on"], "ON");
    assert_eq!(
        entity["value_template"],
        "{{ 'ON' if value_json else 'OFF' }}"
    );
    assert_eq!(
        entity["default_entity_id"],
        "binary_sensor.room_o_occupancy"
    );
    assert!(
        ha.json(&format!("homeassistant/sensor/{node}/var_occupied/config"))
            .is_none(),
        "occupied is not also a plain sensor"
    );
    // The booking variables the meeting tile brings are sensors too.
    eventually(WAIT, "the tile's booking variables are announced", || {
        ha.json(&format!(
            "homeassistant/sensor/{node}/var_calendar_busy/config"
        ))
        .is_some_and(|e| e["state_topic"] == format!("{prefix}/var/calendar_busy"))
    })
    .await;

    // The bridge subscribes once connected; until then a reading is lost,
    // so the sensor repeats itself as a real one would.
    let topic = "site/floor2/room-o/pir";
    for _ in 0..100 {
        broker
            .publish(topic, r#"{"battery":97,"occupancy":true}"#)
            .await;
        if var(&c, "occupied") == Some(Value::Bool(true)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(var(&c, "occupied"), Some(Value::Bool(true)));
    eventually(WAIT, "occupied goes out on its state topic", || {
        state.last(&format!("{prefix}/var/occupied")).as_deref() == Some("true")
    })
    .await;
    // Garbage changes nothing.
    broker.publish(topic, "{not json").await;
    broker.publish(topic, r#"{"occupancy":"maybe"}"#).await;
    broker.publish(topic, r#"{"occupancy":false}"#).await;
    eventually(WAIT, "the sensor's vacant reading empties the room", || {
        var(&c, "occupied") == Some(Value::Bool(false))
    })
    .await;
    eventually(WAIT, "and Home Assistant's state topic follows", || {
        state.last(&format!("{prefix}/var/occupied")).as_deref() == Some("false")
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn a_press_on_a_panel_counts_as_someone_in_the_room() {
    let p = project("", "panel_activity = true\nhold_minutes = 30");
    let running = TestSettings::only(&["panel", "logic"])
        .start(loaded(&p))
        .await;
    let c = running.controller.clone();
    eventually(WAIT, "empty at start", || {
        var(&c, "occupied") == Some(Value::Bool(false))
    })
    .await;
    // A press from central control or a test is no one in the room.
    support::press_and_release(&c, "lights");
    tokio::task::yield_now().await;
    let addr = running.addrs.panel.unwrap();
    let mut ws = ws_connect_from(OTHER_ADDRESS.parse::<IpAddr>().unwrap(), addr).await;
    let ServerMessage::Welcome { .. } = hello(&mut ws, "p", None).await else {
        panic!("welcome first")
    };
    assert_eq!(
        var(&c, "occupied"),
        Some(Value::Bool(false)),
        "a press that is not a panel's or keypad's does not count"
    );
    send(
        &mut ws,
        &ClientMessage::Press {
            button: "lights".into(),
        },
    )
    .await;
    send(
        &mut ws,
        &ClientMessage::Release {
            button: "lights".into(),
        },
    )
    .await;
    eventually(WAIT, "the panel's press makes the room occupied", || {
        var(&c, "occupied") == Some(Value::Bool(true)) && lit(&c, "in_use")
    })
    .await;
    running.shutdown().await;
}

/// Every press of `button` an occupancy rule made so far.
fn rule_presses(rx: &mut roomctl::state::bus::Subscription, button: &str) -> usize {
    let mut n = 0;
    while let Ok(e) = rx.try_recv() {
        if let Some(p) = e.step() {
            n += p
                .step
                .changes
                .iter()
                .filter(|c| {
                    matches!(c, Change::Pressed { button: b, source }
                        if b == button && source == "occupancy:switch-off")
                })
                .count();
        }
    }
    n
}

#[tokio::test]
async fn the_empty_room_rule_fires_at_its_instant_once_per_empty_spell() {
    let p = project(
        "[[occupancy.sources]]\nvariable = \"pir\"\n",
        "hold_minutes = 5\npanel_activity = true",
    );
    // The service is off (no logic): the follower alone, driven by the
    // time passed in.
    let running = TestSettings::only(&[]).start(loaded(&p)).await;
    let c = running.controller.clone();
    let mut rx = c.bus().subscribe();
    let t0 = Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap();
    let at = |m: i64, s: i64| t0 + Span::minutes(m) + Span::seconds(s);
    let mut f = Follower::new(c.project(), &c.snapshot().variables, t0);
    f.advance(&c, t0);
    assert_eq!(var(&c, "occupied"), Some(Value::Bool(false)));
    let pir = |on: bool| Change::Variable {
        variable: "pir".into(),
        value: Value::Bool(on),
    };
    // Someone comes in at 08:02 (before the 10 minutes of an empty room).
    f.changes(&[pir(true)], at(2, 0));
    f.advance(&c, at(2, 0));
    assert_eq!(var(&c, "occupied"), Some(Value::Bool(true)));
    f.changes(&[pir(false)], at(20, 0));
    f.advance(&c, at(20, 0));
    assert_eq!(var(&c, "occupied"), Some(Value::Bool(true)), "held 5 min");
    assert_eq!(f.next_wake(at(20, 0)), Some(at(25, 0)));
    f.advance(&c, at(24, 59));
    assert_eq!(var(&c, "occupied"), Some(Value::Bool(true)));
    f.advance(&c, at(25, 0));
    assert_eq!(var(&c, "occupied"), Some(Value::Bool(false)));
    // Empty since 08:25: the rule fires at 08:35, not a second before.
    assert_eq!(f.next_wake(at(25, 0)), Some(at(35, 0)));
    f.advance(&c, at(34, 59));
    assert_eq!(rule_presses(&mut rx, "off"), 0);
    f.advance(&c, at(35, 0));
    assert_eq!(rule_presses(&mut rx, "off"), 1, "the sequence's button");
    f.advance(&c, at(50, 0));
    assert_eq!(rule_presses(&mut rx, "off"), 0, "once per empty spell");
    // A press on a panel starts a new spell: 08:51 + 5 + 10.
    f.changes(
        &[Change::Pressed {
            button: "lights".into(),
            source: "panel:p@127.0.0.2".into(),
        }],
        at(51, 0),
    );
    f.advance(&c, at(51, 0));
    assert_eq!(var(&c, "occupied"), Some(Value::Bool(true)));
    f.advance(&c, at(65, 59));
    assert_eq!(rule_presses(&mut rx, "off"), 0);
    f.advance(&c, at(66, 0));
    assert_eq!(rule_presses(&mut rx, "off"), 1);
    // The clock jumped: a moment more than 5 minutes ago is skipped.
    f.changes(&[pir(true), pir(false)], at(70, 0));
    let said = f.advance(&c, at(200, 0));
    assert_eq!(rule_presses(&mut rx, "off"), 0, "{said:?}");
    assert!(said.iter().any(|l| l.contains("skipped")), "{said:?}");
    running.shutdown().await;
}

/// A calendar of `events` (uid, start, end; UTC).
fn calendar_of(events: &[(&str, DateTime<Utc>, DateTime<Utc>)]) -> String {
    let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//roomctl//test//EN\r\n");
    for (uid, start, end) in events {
        out += &format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Standup\r\nEND:VEVENT\r\n",
            fmt(*start),
            fmt(*start),
            fmt(*end)
        );
    }
    out + "END:VCALENDAR\r\n"
}

/// One event as one resource.
fn event(uid: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    calendar_of(&[(uid, start, end)])
}

fn end_of(ics: &str, uid: &str) -> Option<DateTime<Utc>> {
    let now = Utc::now();
    controller_core::calendar::Calendar::parse(ics, chrono_tz::UTC)
        .ok()?
        .meetings(now - Span::days(2), now + Span::days(2))
        .into_iter()
        .find(|m| m.uid == uid)
        .map(|m| m.end)
}

#[tokio::test]
async fn a_no_show_is_found_at_its_instant_and_not_when_someone_came() {
    let p = project(
        "[[occupancy.sources]]\nvariable = \"pir\"\n",
        "hold_minutes = 0",
    );
    let running = TestSettings::only(&[]).start(loaded(&p)).await;
    let c = running.controller.clone();
    let start = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
    let ics = calendar_of(&[
        ("a@roomctl.test", start, start + Span::hours(1)),
        (
            "b@roomctl.test",
            start + Span::hours(2),
            start + Span::hours(3),
        ),
    ]);
    let cal = Arc::new(controller_core::calendar::Calendar::parse(&ics, chrono_tz::UTC).unwrap());
    let mut r = Reactor::new(
        c.project(),
        chrono_tz::UTC,
        Privacy::Busy,
        start - Span::hours(1),
    );
    r.set_calendar(cal, start - Span::hours(1));
    r.advance(&c, start);
    assert_eq!(
        r.next_wake(start + Span::seconds(30)),
        start + Span::minutes(1)
    );
    r.advance(&c, start + Span::minutes(9) + Span::seconds(59));
    assert!(r.take_no_shows().is_empty());
    assert_eq!(
        r.next_wake(start + Span::minutes(9) + Span::seconds(59)),
        start + Span::minutes(10)
    );
    r.advance(&c, start + Span::minutes(10));
    let found = r.take_no_shows();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (
            found[0].meeting.uid.as_str(),
            found[0].at,
            found[0].rule.id.as_str()
        ),
        ("a@roomctl.test", start + Span::minutes(10), "release")
    );
    // The second meeting: someone came in at 11:04 and left at 11:06.
    let second = start + Span::hours(2);
    r.advance(&c, second + Span::minutes(4));
    r.set_occupied(true, second + Span::minutes(4));
    r.set_occupied(false, second + Span::minutes(6));
    r.advance(&c, second + Span::minutes(30));
    assert!(r.take_no_shows().is_empty(), "someone came");
    // Without the occupancy service nobody could be seen: the rule is
    // skipped, not fired.
    let third = start + Span::hours(4);
    let mut r = Reactor::new(c.project(), chrono_tz::UTC, Privacy::Busy, third);
    r.set_calendar(
        Arc::new(
            controller_core::calendar::Calendar::parse(
                &calendar_of(&[("c@roomctl.test", third, third + Span::hours(1))]),
                chrono_tz::UTC,
            )
            .unwrap(),
        ),
        third,
    );
    r.set_occupancy_watched(false);
    let said = r.advance(&c, third + Span::minutes(10));
    assert!(r.take_no_shows().is_empty());
    assert!(
        said.iter()
            .any(|l| l.contains("occupancy service is not running")),
        "{said:?}"
    );
    running.shutdown().await;
}

/// A meeting on a real Radicale that started 10 minutes before a whole
/// minute, the room's account `user` (`password`), and the calendar
/// service run by the test with its clock 300 ms before that minute, the
/// occupancy service running (nobody comes). Returns the meeting's end on
/// the server once it changed (or after 10 s), the minute, the original
/// end, and the audit trail's details.
async fn no_show_on_radicale(
    read_only: bool,
) -> (
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    DateTime<Utc>,
    Vec<String>,
) {
    let dav = support::radicale::Radicale::start().await;
    dav.make_calendar("/room/board/").await;
    let instant = Utc::now()
        .with_nanosecond(0)
        .unwrap()
        .with_second(0)
        .unwrap()
        + Span::minutes(2);
    let (start, end) = (instant - Span::minutes(10), instant + Span::minutes(50));
    dav.put(
        "/room/board/standup.ics",
        &event("standup@roomctl.test", start, end),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("caldav-password");
    let (user, secret) = if read_only {
        ("lobby", support::radicale::READER_PASSWORD)
    } else {
        (dav.user, dav.password)
    };
    std::fs::write(&password, format!("{secret}\n")).unwrap();
    let mut s = Settings::defaults(roomctl::config::Profile::Development).calendar;
    s.enabled = true;
    s.url = dav.url("/room/board/");
    s.source = CalendarSource::Caldav;
    s.username = user.into();
    s.password_file = Some(password);
    s.time_zone = "UTC".into();
    s.poll_secs = 3600;
    s.cache_file = dir.path().join("calendar.json");
    let p = project(
        "[[occupancy.sources]]\nvariable = \"pir\"\n",
        "hold_minutes = 0",
    );
    let running = TestSettings::only(&["logic"]).start(loaded(&p)).await;
    let c = running.controller.clone();
    eventually(WAIT, "the occupancy service runs", || {
        c.status()
            .service("occupancy")
            .is_some_and(|o| o.state == controller_core::view::ServiceState::Running)
    })
    .await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let service = tokio::spawn(calendar::run(
        c.clone(),
        s.clone(),
        Client::new(&s).unwrap(),
        Clock::tokio_from(instant - Span::milliseconds(300)),
        c.bus().subscribe(),
        shutdown.clone(),
    ));
    eventually(WAIT, "the rule's outcome is in the audit trail", || {
        c.audit()
            .recent(50)
            .iter()
            .any(|e| e.detail.contains("occupancy:release (nobody came)"))
    })
    .await;
    // A refusal is recorded before anything could be written: one look.
    let looks = if read_only { 1 } else { 200 };
    let mut ended = None;
    for _ in 0..looks {
        ended = end_of(
            &dav.get("/room/board/standup.ics").await,
            "standup@roomctl.test",
        );
        if ended != Some(end) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let audit = c
        .audit()
        .recent(50)
        .iter()
        .map(|e| e.detail.clone())
        .collect();
    shutdown.cancel();
    service.await.unwrap().unwrap();
    running.shutdown().await;
    (ended, instant, end, audit)
}

#[tokio::test]
async fn a_booking_nobody_came_to_is_ended_on_the_caldav_server_and_audited() {
    let (ended, instant, _, audit) = no_show_on_radicale(false).await;
    assert_eq!(
        ended,
        Some(instant),
        "the meeting ends when it was found empty"
    );
    assert!(
        audit
            .iter()
            .any(|d| d.contains("ended (asked by occupancy:release (nobody came))")),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_read_only_account_leaves_the_booking_and_only_records_the_no_show() {
    let (ended, _, end, audit) = no_show_on_radicale(true).await;
    assert_eq!(ended, Some(end), "the meeting is unchanged on the server");
    assert!(
        audit.iter().any(|d| d.contains("meeting not ended")
            && d.contains("read-only account")
            && d.contains("occupancy:release (nobody came)")),
        "{audit:?}"
    );
}
