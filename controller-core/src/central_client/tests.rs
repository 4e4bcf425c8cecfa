//! The central-control client's rules, natively: the handshake in order,
//! replies paired with their requests, resync on a gap, a new layout on a
//! new project, the deadlines, the tolerance for bad lines, the backoff.

use super::*;
use crate::engine::Change;
use crate::protocol::central::ErrorCode;
use crate::view::RoomLayout;

fn hello(login_required: bool) -> Event {
    Event::Hello {
        protocol: 1,
        controller: "Room 1".into(),
        serial: "S1".into(),
        login_required,
        max_message_bytes: 65536,
        idle_timeout_secs: 60,
    }
}

fn ok(request: &str) -> Event {
    Event::Ok {
        request: request.into(),
        detail: None,
    }
}

fn layout() -> RoomLayout {
    RoomLayout::of(crate::project::demo_project())
}

fn status(revision: u64) -> Event {
    Event::Status {
        subscribed: true,
        snapshot: Snapshot {
            revision,
            project_name: "Demo".into(),
            project_revision: 1,
            ..Snapshot::default()
        },
    }
}

fn step(revision: u64) -> Step {
    Step {
        revision,
        changes: Vec::new(),
    }
}

fn login() -> Option<Login> {
    Some(Login {
        user: "station".into(),
        password: "pw".into(),
    })
}

fn sends<T>(out: &[Output<T>]) -> Vec<&Request> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn ended<T>(out: &[Output<T>]) -> Option<&End> {
    out.iter().find_map(|o| match o {
        Output::Ended(e) => Some(e),
        _ => None,
    })
}

/// A watcher through the whole handshake, live at `now`.
fn live_watcher(now: u64) -> CentralLink<u32> {
    let mut link = CentralLink::new(login(), Plan::Watch, 500, 30_000);
    link.connected(now);
    link.received(now, hello(true));
    link.received(now, ok("login"));
    link.received(now, Event::Layout { layout: layout() });
    link.received(now, Event::Devices { devices: vec![] });
    link.received(now, status(10));
    assert!(link.is_live());
    link
}

#[test]
fn a_watcher_logs_in_reads_layout_and_devices_then_subscribes() {
    let mut link: CentralLink<u32> = CentralLink::new(login(), Plan::Watch, 500, 30_000);
    link.connected(0);
    let out = link.received(1, hello(true));
    assert!(matches!(&out[0], Output::Hello(h) if h.serial == "S1" && h.login_required));
    assert!(matches!(sends(&out)[..], [Request::Login { user, .. }] if user == "station"));
    let out = link.received(2, ok("login"));
    assert_eq!(out[0], Output::LoggedIn);
    assert_eq!(sends(&out), [&Request::Layout]);
    let out = link.received(3, Event::Layout { layout: layout() });
    assert_eq!(sends(&out), [&Request::Devices]);
    let out = link.received(4, Event::Devices { devices: vec![] });
    assert_eq!(sends(&out), [&Request::Subscribe]);
    assert!(!link.is_live());
    let out = link.received(5, status(10));
    let Some(Output::Ready(Some(watched))) = out.first() else {
        panic!("ready: {out:?}")
    };
    assert_eq!(watched.snapshot.revision, 10);
    assert_eq!(watched.layout, Some(layout()));
    assert!(link.is_live());
}

#[test]
fn an_old_controller_without_layout_or_devices_is_watched_all_the_same() {
    let mut link: CentralLink<()> = CentralLink::new(None, Plan::Watch, 500, 30_000);
    link.connected(0);
    let out = link.received(0, hello(false));
    assert_eq!(sends(&out), [&Request::Layout]);
    let refused = Event::Error {
        code: ErrorCode::Malformed,
        message: "unknown request".into(),
    };
    assert_eq!(
        sends(&link.received(0, refused.clone())),
        [&Request::Devices]
    );
    assert_eq!(sends(&link.received(0, refused)), [&Request::Subscribe]);
    let out = link.received(0, status(1));
    assert!(
        matches!(&out[0], Output::Ready(Some(w)) if w.layout.is_none() && w.devices.is_empty())
    );
}

#[test]
fn a_login_without_credentials_ends_a_watcher_but_not_a_command_client() {
    let mut link: CentralLink<()> = CentralLink::new(None, Plan::Watch, 500, 30_000);
    link.connected(0);
    let out = link.received(0, hello(true));
    assert_eq!(ended(&out), Some(&End::LoginNeeded));
    assert!(sends(&out).is_empty());

    let mut link: CentralLink<()> = CentralLink::new(None, Plan::Commands, 500, 30_000);
    link.connected(0);
    let out = link.received(0, hello(true));
    assert_eq!(out.last(), Some(&Output::Ready(None)));
    assert!(link.is_live());
}

#[test]
fn refusals_at_hello_and_login_end_the_session() {
    let mut link: CentralLink<()> = CentralLink::new(login(), Plan::Commands, 500, 30_000);
    link.connected(0);
    let out = link.received(
        0,
        Event::Bye {
            code: ErrorCode::NotAllowed,
            message: "not on the allow-list".into(),
        },
    );
    let Some(End::Bye(r)) = ended(&out) else {
        panic!("{out:?}")
    };
    assert_eq!(r.to_string(), "NotAllowed: not on the allow-list");

    link.connected(0);
    link.received(0, hello(true));
    let out = link.received(
        0,
        Event::Error {
            code: ErrorCode::WrongCredentials,
            message: "wrong user or password".into(),
        },
    );
    assert!(
        matches!(ended(&out), Some(End::LoginRefused(r)) if r.message == "wrong user or password")
    );
    // Anything but hello first is a protocol error.
    link.connected(0);
    let out = link.received(0, ok("ping"));
    assert_eq!(ended(&out), Some(&End::ProtocolError("no hello".into())));
}

#[test]
fn replies_answer_requests_in_order_and_events_pass_through() {
    let mut link: CentralLink<u32> = CentralLink::new(None, Plan::Commands, 500, 30_000);
    assert!(link.request(Request::Status, 9).is_err(), "not connected");
    link.connected(0);
    link.received(0, hello(false));
    let send = link
        .request(Request::Press { button: "a".into() }, 1)
        .unwrap();
    assert_eq!(send, Output::Send(Request::Press { button: "a".into() }));
    link.request(Request::Press { button: "x".into() }, 2)
        .unwrap();
    // A subscriber's step before the replies is no reply.
    let out = link.received(0, Event::Step { step: step(3) });
    assert_eq!(out, vec![Output::Event(Event::Step { step: step(3) })]);
    assert_eq!(
        link.received(0, ok("press")),
        vec![Output::Reply(1, Ok(ok("press")))]
    );
    let out = link.received(
        0,
        Event::Error {
            code: ErrorCode::UnknownButton,
            message: "no button x".into(),
        },
    );
    let [Output::Reply(2, Err(r))] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(r.to_string(), "UnknownButton: no button x");
}

#[test]
fn requests_awaiting_replies_are_answered_when_the_session_ends_and_capped() {
    let mut link = live_watcher(0);
    for tag in 0..MAX_PENDING as u32 {
        link.request(Request::Press { button: "a".into() }, tag)
            .unwrap();
    }
    let Err((tag, why)) = link.request(Request::Press { button: "a".into() }, 999) else {
        panic!("busy")
    };
    assert_eq!((tag, why.as_str()), (999, "the room is busy; try again"));
    let out = link.closed("the controller closed the connection");
    assert_eq!(out.len(), MAX_PENDING + 1);
    assert!(matches!(&out[0], Output::Reply(0, Err(r)) if r.code.is_none()));
    assert_eq!(
        ended(&out),
        Some(&End::Lost("the controller closed the connection".into()))
    );
    assert!(link.closed("again").is_empty(), "one end per session");
}

#[test]
fn a_gap_resubscribes_and_a_new_project_asks_for_its_layout() {
    let mut link = live_watcher(0);
    let out = link.received(1, Event::Step { step: step(11) });
    assert_eq!(out, vec![Output::Step(step(11), StepOutcome::Applied)]);
    // Old news: ignored by the held state.
    let out = link.received(1, Event::Step { step: step(11) });
    assert_eq!(out, vec![Output::Step(step(11), StepOutcome::Stale)]);
    // A gap: a new snapshot replaces the held one.
    let out = link.received(1, Event::Step { step: step(20) });
    assert_eq!(out[0], Output::Step(step(20), StepOutcome::Gap));
    assert_eq!(sends(&out), [&Request::Subscribe]);
    let out = link.received(1, status(25));
    assert!(matches!(&out[..], [Output::Resynced(s)] if s.revision == 25));
    assert_eq!(link.snapshot().revision, 25);
    // A project loaded by a step: a new layout.
    let loaded = Step {
        revision: 26,
        changes: vec![Change::ProjectLoaded {
            name: "Other".into(),
            project_revision: 4,
            buttons: Default::default(),
            levels: Default::default(),
            variables: Default::default(),
        }],
    };
    let out = link.received(1, Event::Step { step: loaded });
    assert!(out.contains(&Output::ProjectChanged {
        before: ("Demo".into(), 1),
        after: ("Other".into(), 4),
    }));
    assert_eq!(sends(&out), [&Request::Layout]);
    let out = link.received(1, Event::Layout { layout: layout() });
    assert_eq!(out, vec![Output::Layout(Some(layout()))]);
}

#[test]
fn late_handshake_replies_and_a_silent_link_end_the_session_and_pings_keep_it() {
    let mut link: CentralLink<()> = CentralLink::new(login(), Plan::Watch, 500, 30_000);
    link.connected(1000);
    assert_eq!(link.next_deadline(), Some(1000 + HANDSHAKE_TIMEOUT_MS));
    assert!(link.tick(1000 + HANDSHAKE_TIMEOUT_MS - 1).is_empty());
    link.received(2000, hello(true));
    // The login gets longer (a slow password check).
    assert_eq!(link.next_deadline(), Some(2000 + LOGIN_TIMEOUT_MS));
    let out = link.tick(2000 + LOGIN_TIMEOUT_MS);
    assert_eq!(
        ended(&out),
        Some(&End::Lost("no answer during the handshake".into()))
    );
    assert_eq!(link.next_deadline(), None);

    let mut link = live_watcher(0);
    assert_eq!(link.next_deadline(), Some(PING_EVERY_MS));
    let out = link.tick(PING_EVERY_MS);
    assert_eq!(sends(&out), [&Request::Ping { seq: 0 }]);
    // The pong is no reply to anything of the glue's.
    assert!(link
        .received(PING_EVERY_MS + 1, Event::Pong { seq: 0 })
        .is_empty());
    let out = link.tick(PING_EVERY_MS + 1 + SILENCE_MS);
    assert_eq!(
        ended(&out),
        Some(&End::Lost("nothing heard for 45 s".into()))
    );
}

#[test]
fn bad_lines_end_a_handshake_at_once_and_a_live_session_after_a_few() {
    let mut link: CentralLink<()> = CentralLink::new(login(), Plan::Watch, 500, 30_000);
    link.connected(0);
    let out = link.malformed(0);
    assert_eq!(
        ended(&out),
        Some(&End::ProtocolError(
            "a line that is not protocol JSON".into()
        ))
    );
    let mut link = live_watcher(0);
    for _ in 0..MAX_MALFORMED {
        assert!(link.malformed(1).is_empty());
    }
    let out = link.malformed(1);
    assert_eq!(
        ended(&out),
        Some(&End::ProtocolError(
            "lines that are not protocol JSON".into()
        ))
    );
    let mut link = live_watcher(0);
    assert_eq!(
        ended(&link.too_long()),
        Some(&End::ProtocolError(
            "a line longer than max_line_bytes".into()
        ))
    );
}

#[test]
fn reconnects_back_off_doubling_and_start_over_after_a_live_session() {
    let mut link: CentralLink<()> = CentralLink::new(login(), Plan::Watch, 500, 3_000);
    let waits: Vec<u64> = (0..5)
        .map(|_| {
            link.connected(0);
            link.closed("cannot connect");
            link.backoff()
        })
        .collect();
    assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
    let mut link = live_watcher(0);
    link.closed("gone");
    assert_eq!(link.backoff(), 500);
}

#[test]
fn a_bad_line_is_quoted_in_the_error_short_and_printable() {
    let mut link: CentralLink<()> = CentralLink::new(login(), Plan::Watch, 500, 30_000);
    link.connected(0);
    let mut line = b"\x1b[2Jnot json at all ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 500));
    line.push(b'\n');
    let out = link.line(0, &line);
    let Some(End::ProtocolError(what)) = ended(&out) else {
        panic!("{out:?}");
    };
    assert!(
        what.starts_with("a line that is not protocol JSON (expected value at line 1 column 1)"),
        "{what}"
    );
    assert!(what.contains(r#"\u{1b}[2Jnot json at all xxx"#), "{what}");
    assert!(what.ends_with("…\""), "{what}");
    assert!(what.len() < 200, "{what}");
    assert!(!link.is_live());
    // A good line goes where `received` would send it.
    link.connected(0);
    let out = link.line(0, &hello(false).encode());
    assert!(matches!(out[0], Output::Hello(_)));
    assert_eq!(sends(&out), [&Request::Layout]);
    // Nothing to end once down.
    link.closed("gone");
    assert!(link.too_long().is_empty());
    assert!(link.line(0, b"garbage").is_empty());
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// What can happen to a link, from the glue's side.
    #[derive(Debug, Clone)]
    enum Input {
        /// A line as read: a protocol event, a cut one, or any bytes.
        Line(Vec<u8>),
        /// Milliseconds pass, then the glue ticks.
        Wait(u64),
        /// The glue sends a request of its own.
        Request,
        TooLong,
        Closed,
        /// The glue reconnects (whether or not the session ended).
        Connect,
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            any::<bool>().prop_map(hello),
            Just(ok("login")),
            Just(ok("press")),
            Just(Event::Layout { layout: layout() }),
            Just(Event::Devices { devices: vec![] }),
            (0u64..20).prop_map(status),
            (0u64..20).prop_map(|r| Event::Step { step: step(r) }),
            any::<u64>().prop_map(|seq| Event::Pong { seq }),
            Just(Event::Error {
                code: ErrorCode::UnknownButton,
                message: "no such button".into(),
            }),
            Just(Event::Bye {
                code: ErrorCode::Malformed,
                message: "bye".into(),
            }),
            any::<bool>().prop_map(|online| Event::Device {
                id: "projector".into(),
                kind: "pjlink".into(),
                address: "10.0.0.7:4352".into(),
                online,
            }),
        ]
    }

    fn line() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => event().prop_map(|e| e.encode()),
            1 => (event(), any::<prop::sample::Index>()).prop_map(|(e, cut)| {
                let line = e.encode();
                line[..cut.index(line.len())].to_vec()
            }),
            1 => prop::collection::vec(any::<u8>(), 0..300),
        ]
    }

    fn input() -> impl Strategy<Value = Input> {
        prop_oneof![
            8 => line().prop_map(Input::Line),
            2 => (0u64..60_000).prop_map(Input::Wait),
            2 => Just(Input::Request),
            1 => Just(Input::TooLong),
            1 => Just(Input::Closed),
            1 => Just(Input::Connect),
        ]
    }

    fn plan() -> impl Strategy<Value = Plan> {
        prop_oneof![Just(Plan::Watch), Just(Plan::Commands)]
    }

    proptest! {
        /// Whatever a controller sends and whenever: no panic; a session
        /// ends once, last in its batch, and leaves nothing to wait for;
        /// every request of the glue's is answered exactly once; an error
        /// is short and printable.
        #[test]
        fn any_input_keeps_the_links_promises(
            plan in plan(),
            with_login in any::<bool>(),
            inputs in prop::collection::vec(input(), 0..60),
        ) {
            let mut link: CentralLink<u32> =
                CentralLink::new(with_login.then(login).flatten(), plan, 500, 30_000);
            let mut now = 0u64;
            let mut next_tag = 0u32;
            let mut answered: Vec<u32> = Vec::new();
            let mut up = true;
            link.connected(now);
            let check = |out: Vec<Output<u32>>,
                         link: &CentralLink<u32>,
                         up: &mut bool,
                         answered: &mut Vec<u32>|
             -> Result<(), TestCaseError> {
                for (i, o) in out.iter().enumerate() {
                    match o {
                        Output::Reply(tag, _) => answered.push(*tag),
                        Output::Ended(end) => {
                            prop_assert!(*up, "ended twice: {:?}", out);
                            prop_assert_eq!(i, out.len() - 1, "not last: {:?}", out);
                            if let End::ProtocolError(what) | End::Lost(what) = end {
                                prop_assert!(what.chars().count() < 200, "{}", what);
                                prop_assert!(!what.chars().any(char::is_control), "{}", what);
                            }
                            *up = false;
                        }
                        _ => {}
                    }
                }
                if !*up {
                    prop_assert!(!link.is_live());
                    prop_assert_eq!(link.next_deadline(), None);
                } else if link.is_live() && plan == Plan::Watch {
                    prop_assert!(link.next_deadline().is_some());
                }
                Ok(())
            };
            for input in inputs {
                let out = match input {
                    Input::Line(bytes) => link.line(now, &bytes),
                    Input::Wait(ms) => {
                        now += ms;
                        link.tick(now)
                    }
                    Input::Request => {
                        next_tag += 1;
                        match link.request(Request::Press { button: "b".into() }, next_tag) {
                            Ok(send) => {
                                prop_assert!(matches!(send, Output::Send(_)));
                                Vec::new()
                            }
                            Err((tag, why)) => {
                                prop_assert!(!why.is_empty());
                                answered.push(tag);
                                Vec::new()
                            }
                        }
                    }
                    Input::TooLong => link.too_long(),
                    Input::Closed => link.closed("gone"),
                    Input::Connect => {
                        let out = link.closed("reconnecting");
                        check(out, &link, &mut up, &mut answered)?;
                        prop_assert!(link.backoff() <= 30_000);
                        link.connected(now);
                        up = true;
                        Vec::new()
                    }
                };
                check(out, &link, &mut up, &mut answered)?;
            }
            let out = link.closed("the end");
            check(out, &link, &mut up, &mut answered)?;
            answered.sort_unstable();
            prop_assert_eq!(answered, (1..=next_tag).collect::<Vec<_>>());
        }
    }
}
