//! The panel link's transitions one by one, then properties over arbitrary
//! input sequences (what the browser could throw at it, in any order).

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::engine::{ButtonState, Change, Step};
use crate::project::{Led, LedColor};
use crate::protocol::panel::ServerMessage;

const KEEPALIVE: u64 = 5000;

fn snap(revision: u64, project: &str, project_revision: u32) -> Snapshot {
    let mut buttons = BTreeMap::new();
    buttons.insert("mute".to_string(), ButtonState::default());
    Snapshot {
        revision,
        project_name: project.to_string(),
        project_revision,
        buttons,
        ..Snapshot::default()
    }
}

fn led_step(revision: u64) -> Step {
    Step {
        revision,
        changes: vec![Change::Led {
            button: "mute".into(),
            led: Led::on(LedColor::Red),
        }],
    }
}

fn welcome(keepalive_ms: u64) -> ServerMessage {
    ServerMessage::Welcome {
        protocol: 1,
        keepalive_ms,
        controller: "roomctl".into(),
    }
}

fn error(code: ErrorCode) -> ServerMessage {
    ServerMessage::Error {
        code,
        message: format!("refused: {code:?}"),
    }
}

fn new_link() -> PanelLink {
    PanelLink::new(
        "tablet".into(),
        Some("1234".into()),
        KEEPALIVE,
        snap(3, "Demo", 1),
    )
}

/// Started, opened at `now` and welcomed with a snapshot of the same project.
fn live_link(now: u64) -> PanelLink {
    let mut link = new_link();
    link.start();
    link.opened(now);
    link.received(now, welcome(KEEPALIVE));
    link.received(
        now,
        ServerMessage::Snapshot {
            snapshot: snap(10, "Demo", 1),
        },
    );
    assert_eq!(link.state(), &LinkState::Live);
    link
}

fn lost_state() -> LinkAction {
    LinkAction::State(LinkState::Lost)
}

#[test]
fn start_connects_once() {
    let mut link = new_link();
    assert_eq!(link.state(), &LinkState::Connecting);
    assert_eq!(link.next_deadline(), None);
    assert_eq!(link.start(), vec![LinkAction::Connect]);
    assert_eq!(link.start(), vec![]);
    // Nothing to time while the browser connects.
    assert_eq!(link.next_deadline(), None);
    assert_eq!(link.tick(1_000_000), vec![]);
}

#[test]
fn inputs_before_start_are_ignored() {
    let mut link = new_link();
    assert_eq!(link.opened(0), vec![]);
    assert_eq!(link.closed(0), vec![]);
    assert_eq!(link.received(0, ServerMessage::Ping { seq: 1 }), vec![]);
    assert_eq!(link.tick(100_000), vec![]);
    assert_eq!(link.state(), &LinkState::Connecting);
}

#[test]
fn open_says_hello_with_the_held_revision_and_pin() {
    let mut link = new_link();
    link.start();
    assert_eq!(
        link.opened(100),
        vec![LinkAction::Send(ClientMessage::Hello {
            panel: "tablet".into(),
            revision: 3,
            pin: Some("1234".into()),
            sparse: true,
            layout: None,
        })]
    );
    // A second "opened" for the same connection says nothing more.
    assert_eq!(link.opened(200), vec![]);
    // Open but not yet live: the page still says "connecting".
    assert_eq!(link.state(), &LinkState::Connecting);
}

#[test]
fn hello_without_pin() {
    let mut link = PanelLink::new("wall".into(), None, KEEPALIVE, Snapshot::default());
    link.start();
    assert_eq!(
        link.opened(0),
        vec![LinkAction::Send(ClientMessage::Hello {
            panel: "wall".into(),
            revision: 0,
            pin: None,
            sparse: true,
            layout: None,
        })]
    );
}

#[test]
fn welcome_sets_the_keepalive_with_a_floor() {
    let mut link = new_link();
    link.start();
    link.opened(0);
    assert_eq!(link.received(0, welcome(2000)), vec![]);
    assert_eq!(link.keepalive_ms(), 2000);
    link.received(0, welcome(10));
    assert_eq!(link.keepalive_ms(), MIN_KEEPALIVE_MS);
    assert_eq!(
        PanelLink::new("p".into(), None, 0, Snapshot::default()).keepalive_ms(),
        MIN_KEEPALIVE_MS
    );
}

#[test]
fn snapshot_makes_the_link_live() {
    let mut link = new_link();
    link.start();
    link.opened(0);
    link.received(0, welcome(KEEPALIVE));
    let actions = link.received(
        5,
        ServerMessage::Snapshot {
            snapshot: snap(42, "Demo", 1),
        },
    );
    assert_eq!(
        actions,
        vec![LinkAction::ShowSnapshot, LinkAction::State(LinkState::Live)]
    );
    assert_eq!(link.snapshot(), &snap(42, "Demo", 1));
    // A second snapshot (after a resync) is shown; the state is already live.
    let actions = link.received(
        6,
        ServerMessage::Snapshot {
            snapshot: snap(50, "Demo", 1),
        },
    );
    assert_eq!(actions, vec![LinkAction::ShowSnapshot]);
    assert_eq!(link.snapshot().revision, 50);
}

#[test]
fn snapshot_of_another_project_reloads_the_page() {
    for other in [snap(1, "Other room", 1), snap(1, "Demo", 2)] {
        let mut link = new_link();
        link.start();
        link.opened(0);
        let actions = link.received(0, ServerMessage::Snapshot { snapshot: other });
        assert_eq!(actions.last(), Some(&LinkAction::Reload));
    }
}

#[test]
fn steps_apply_in_order_and_a_gap_asks_for_a_resync() {
    let mut link = live_link(0);
    assert_eq!(
        link.received(
            1,
            ServerMessage::Step {
                step: led_step(11),
                after: None
            }
        ),
        vec![LinkAction::ShowSnapshot]
    );
    assert_eq!(link.snapshot().revision, 11);
    assert_eq!(link.snapshot().led("mute"), Some(Led::on(LedColor::Red)));
    // A duplicate (e.g. after a reconnect) changes nothing.
    assert_eq!(
        link.received(
            2,
            ServerMessage::Step {
                step: led_step(11),
                after: None
            }
        ),
        vec![]
    );
    // A missed step: ask for a snapshot, apply nothing.
    assert_eq!(
        link.received(
            3,
            ServerMessage::Step {
                step: led_step(13),
                after: None
            }
        ),
        vec![LinkAction::Send(ClientMessage::Resync)]
    );
    assert_eq!(link.snapshot().revision, 11);
    assert_eq!(link.state(), &LinkState::Live);
}

#[test]
fn a_step_that_loads_a_project_reloads_the_page() {
    let mut link = live_link(0);
    let step = Step {
        revision: 11,
        changes: vec![Change::ProjectLoaded {
            name: "Other".into(),
            project_revision: 2,
            buttons: BTreeMap::new(),
            levels: BTreeMap::new(),
            variables: BTreeMap::new(),
        }],
    };
    assert_eq!(
        link.received(1, ServerMessage::Step { step, after: None }),
        vec![LinkAction::ShowSnapshot, LinkAction::Reload]
    );
}

#[test]
fn the_controllers_ping_is_answered() {
    let mut link = live_link(0);
    assert_eq!(
        link.received(1, ServerMessage::Ping { seq: 7 }),
        vec![LinkAction::Send(ClientMessage::Pong { seq: 7 })]
    );
    assert_eq!(link.received(1, ServerMessage::Pong { seq: 1 }), vec![]);
}

#[test]
fn pings_every_keepalive_interval() {
    let mut link = live_link(1000);
    // The ping clock starts when the connection opens.
    assert_eq!(link.next_deadline(), Some(1000 + KEEPALIVE));
    assert_eq!(link.tick(1000 + KEEPALIVE - 1), vec![]);
    // The controller is heard in between, so the link stays up.
    link.received(1000 + KEEPALIVE - 1, ServerMessage::Pong { seq: 0 });
    assert_eq!(
        link.tick(1000 + KEEPALIVE),
        vec![LinkAction::Send(ClientMessage::Ping { seq: 1 })]
    );
    assert_eq!(link.tick(1000 + KEEPALIVE + 10), vec![]);
    link.received(1000 + KEEPALIVE + 20, ServerMessage::Pong { seq: 1 });
    assert_eq!(link.next_deadline(), Some(1000 + 2 * KEEPALIVE));
    assert_eq!(
        link.tick(1000 + 2 * KEEPALIVE),
        vec![LinkAction::Send(ClientMessage::Ping { seq: 2 })]
    );
}

#[test]
fn one_missed_keepalive_is_a_lost_link() {
    let mut link = live_link(0);
    let limit = KEEPALIVE + LOST_GRACE_MS;
    // Exactly one interval plus grace of silence is still alive (a ping is due).
    assert_eq!(
        link.tick(limit),
        vec![LinkAction::Send(ClientMessage::Ping { seq: 1 })]
    );
    assert_eq!(link.next_deadline(), Some(limit + 1));
    assert_eq!(link.tick(limit + 1), vec![LinkAction::Close, lost_state()]);
    assert_eq!(link.state(), &LinkState::Lost);
    // Only once: the connection is gone, and only the reconnect is timed.
    assert_eq!(link.next_deadline(), Some(limit + 1 + FIRST_BACKOFF_MS));
    assert_eq!(link.tick(limit + 2), vec![]);
    assert_eq!(link.closed(limit + 3), vec![]);
}

#[test]
fn hearing_anything_keeps_the_link() {
    let mut link = live_link(0);
    link.received(4000, ServerMessage::Ping { seq: 1 });
    assert_eq!(
        link.tick(KEEPALIVE + LOST_GRACE_MS + 1),
        vec![LinkAction::Send(ClientMessage::Ping { seq: 1 })]
    );
    assert_eq!(link.state(), &LinkState::Live);
    assert_eq!(
        link.next_deadline(),
        Some(4000 + KEEPALIVE + LOST_GRACE_MS + 1)
    );
}

#[test]
fn the_controllers_keepalive_interval_is_used() {
    let mut link = new_link();
    link.start();
    link.opened(0);
    link.received(0, welcome(1000));
    assert_eq!(
        link.tick(1000),
        vec![LinkAction::Send(ClientMessage::Ping { seq: 1 })]
    );
    assert_eq!(link.tick(2001), vec![LinkAction::Close, lost_state()]);
}

#[test]
fn closed_connection_reconnects_with_doubling_backoff() {
    let mut link = live_link(0);
    let mut now = 100;
    assert_eq!(link.closed(now), vec![LinkAction::Close, lost_state()]);
    let mut delays = Vec::new();
    for _ in 0..8 {
        let at = link.next_deadline().expect("a reconnect is timed");
        delays.push(at - now);
        assert_eq!(link.tick(at - 1), vec![]);
        assert_eq!(link.tick(at), vec![LinkAction::Connect]);
        assert_eq!(link.next_deadline(), None);
        now = at + 10;
        // The reconnect fails too; the page already says lost.
        assert_eq!(link.closed(now), vec![LinkAction::Close]);
    }
    assert_eq!(delays, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
}

#[test]
fn a_snapshot_resets_the_backoff_a_welcome_does_not() {
    let mut link = live_link(0);
    link.closed(0);
    link.tick(250);
    link.closed(300); // the reconnect failed: next wait 500
    link.tick(800);
    link.opened(900);
    link.received(900, welcome(KEEPALIVE));
    link.closed(1000);
    assert_eq!(link.next_deadline(), Some(1000 + 1000));
    link.tick(2000);
    link.opened(2100);
    link.received(2100, welcome(KEEPALIVE));
    link.received(
        2100,
        ServerMessage::Snapshot {
            snapshot: snap(10, "Demo", 1),
        },
    );
    link.closed(3000);
    assert_eq!(link.next_deadline(), Some(3000 + FIRST_BACKOFF_MS));
}

#[test]
fn a_reconnected_link_stays_lost_until_its_snapshot() {
    let mut link = live_link(0);
    link.received(
        1,
        ServerMessage::Step {
            step: led_step(11),
            after: None,
        },
    );
    link.closed(2);
    link.tick(2 + FIRST_BACKOFF_MS);
    // The new hello carries the revision held, and the page still says lost.
    assert_eq!(
        link.opened(300),
        vec![LinkAction::Send(ClientMessage::Hello {
            panel: "tablet".into(),
            revision: 11,
            pin: Some("1234".into()),
            sparse: true,
            layout: None,
        })]
    );
    assert_eq!(link.received(300, welcome(KEEPALIVE)), vec![]);
    assert_eq!(link.state(), &LinkState::Lost);
    // A restarted controller may be at a lower revision: its snapshot wins.
    let actions = link.received(
        301,
        ServerMessage::Snapshot {
            snapshot: snap(0, "Demo", 1),
        },
    );
    assert_eq!(
        actions,
        vec![LinkAction::ShowSnapshot, LinkAction::State(LinkState::Live)]
    );
    assert_eq!(link.snapshot().revision, 0);
}

#[test]
fn a_failed_first_connect_is_lost_and_retried() {
    let mut link = new_link();
    link.start();
    assert_eq!(link.closed(50), vec![LinkAction::Close, lost_state()]);
    assert_eq!(link.tick(300), vec![LinkAction::Connect]);
}

#[test]
fn refusals_stop_the_link_for_good() {
    for code in [ErrorCode::Forbidden, ErrorCode::UnknownPanel] {
        let mut link = new_link();
        link.start();
        link.opened(0);
        let actions = link.received(1, error(code));
        let why = format!("refused: {code:?}");
        let expected = vec![
            LinkAction::State(LinkState::Refused(why.clone())),
            LinkAction::Close,
        ];
        assert_eq!(actions, expected, "{code:?}");
        assert_eq!(link.state(), &LinkState::Refused(why.clone()));
        assert_eq!(link.next_deadline(), None);
        // The controller's close, time passing, anything: no reconnect.
        assert_eq!(link.closed(2), vec![]);
        assert_eq!(link.tick(1_000_000), vec![]);
        assert_eq!(link.opened(1_000_001), vec![]);
        assert_eq!(link.start(), vec![]);
        assert_eq!(link.send(ClientMessage::Resync), vec![]);
        assert_eq!(link.state(), &LinkState::Refused(why));
    }
}

#[test]
fn a_wrong_pin_asks_for_the_pin_again_until_the_right_one() {
    for code in [ErrorCode::PinRequired, ErrorCode::WrongPin] {
        let mut link = new_link();
        link.start();
        link.opened(0);
        let why = format!("refused: {code:?}");
        assert_eq!(
            link.received(1, error(code)),
            vec![
                LinkAction::ForgetPin,
                LinkAction::State(LinkState::PinNeeded(why.clone())),
                LinkAction::Close,
            ],
            "{code:?}"
        );
        // Nothing but a PIN brings it back: no reconnect by itself.
        assert_eq!(link.next_deadline(), None);
        assert_eq!(link.closed(2), vec![]);
        assert_eq!(link.tick(1_000_000), vec![]);
        assert_eq!(link.start(), vec![]);
        // A second wrong PIN shows again (the same message is a new refusal).
        assert_eq!(
            link.enter_pin("0000".into()),
            vec![
                LinkAction::Connect,
                LinkAction::State(LinkState::Connecting)
            ]
        );
        assert_eq!(link.enter_pin("1111".into()), vec![], "already connecting");
        assert!(matches!(
            link.opened(3).as_slice(),
            [LinkAction::Send(ClientMessage::Hello { pin: Some(p), .. })] if p == "0000"
        ));
        assert!(link
            .received(4, error(code))
            .contains(&LinkAction::State(LinkState::PinNeeded(why.clone()))));
        // The right one: hello carries it, and the snapshot makes it live.
        link.enter_pin("1234".into());
        assert!(matches!(
            link.opened(5).as_slice(),
            [LinkAction::Send(ClientMessage::Hello { pin: Some(p), .. })] if p == "1234"
        ));
        link.received(
            6,
            ServerMessage::Snapshot {
                snapshot: snap(10, "Demo", 1),
            },
        );
        assert_eq!(link.state(), &LinkState::Live);
    }
}

#[test]
fn other_errors_leave_the_session_alone() {
    for code in [
        ErrorCode::TooLarge,
        ErrorCode::Malformed,
        ErrorCode::UnknownButton,
    ] {
        let mut link = live_link(0);
        assert_eq!(link.received(1, error(code)), vec![], "{code:?}");
        assert_eq!(link.state(), &LinkState::Live);
        // ...but count as hearing from the controller.
        assert_eq!(link.next_deadline(), Some(KEEPALIVE));
    }
}

#[test]
fn presses_go_out_only_while_connected() {
    let press = ClientMessage::Press {
        button: "mute".into(),
    };
    let mut link = new_link();
    assert_eq!(link.send(press.clone()), vec![]);
    link.start();
    assert_eq!(link.send(press.clone()), vec![]);
    link.opened(0);
    assert_eq!(
        link.send(press.clone()),
        vec![LinkAction::Send(press.clone())]
    );
    link.closed(1);
    assert_eq!(link.send(press), vec![]);
}

#[test]
fn messages_while_not_connected_are_ignored() {
    let mut link = live_link(0);
    link.closed(1);
    assert_eq!(
        link.received(
            2,
            ServerMessage::Step {
                step: led_step(11),
                after: None
            }
        ),
        vec![]
    );
    assert_eq!(link.snapshot().revision, 10);
    assert_eq!(link.received(2, error(ErrorCode::WrongPin)), vec![]);
    assert_eq!(link.state(), &LinkState::Lost);
}

// ---- properties ----

/// The demo's view of `panel` with its state at `revision`, as the
/// controller builds it.
fn demo_view(panel: &str, revision: u64, label: &str) -> PanelView {
    let mut project = crate::project::demo_project().clone();
    project.buttons[0].label = label.to_string();
    let mut snapshot = crate::engine::Engine::new(std::sync::Arc::new(project.clone())).snapshot();
    snapshot.revision = revision;
    PanelView::build(
        "roomctl",
        &project,
        Some(panel),
        crate::project::PanelProfile::Tablet,
        snapshot,
        KEEPALIVE,
    )
    .expect("the demo has this panel")
}

/// An in-place link for the demo's tablet, live at revision 10.
fn in_place_link(now: u64) -> (PanelLink, PanelView) {
    let view = demo_view("tablet", 3, "Display");
    let mut link = PanelLink::new("tablet".into(), None, KEEPALIVE, view.snapshot.clone())
        .in_place(view.layout.clone());
    link.start();
    link.opened(now);
    link.received(now, welcome(KEEPALIVE));
    let mut snapshot = view.snapshot.clone();
    snapshot.revision = 10;
    link.received(now, ServerMessage::Snapshot { snapshot });
    assert_eq!(link.state(), &LinkState::Live);
    (link, view)
}

#[test]
fn an_in_place_link_names_its_layout_in_hello() {
    let view = demo_view("tablet", 3, "Display");
    let mut link = PanelLink::new("tablet".into(), None, KEEPALIVE, view.snapshot.clone())
        .in_place(view.layout.clone());
    link.start();
    assert_eq!(
        link.opened(0),
        vec![LinkAction::Send(ClientMessage::Hello {
            panel: "tablet".into(),
            revision: 3,
            pin: None,
            sparse: true,
            layout: Some(view.layout.clone()),
        })]
    );
}

#[test]
fn a_new_layout_is_shown_in_place_with_its_state() {
    let (mut link, old) = in_place_link(0);
    let new = demo_view("tablet", 11, "Projector");
    assert_ne!(new.layout, old.layout);
    assert_eq!(
        link.received(
            1,
            ServerMessage::Layout {
                view: Box::new(new.clone())
            }
        ),
        vec![
            LinkAction::ShowLayout(Box::new(new.clone())),
            LinkAction::ShowSnapshot
        ]
    );
    assert_eq!(link.snapshot(), &new.snapshot);
    assert_eq!(link.state(), &LinkState::Live);
    // Steps continue from the layout's state.
    assert_eq!(
        link.received(
            2,
            ServerMessage::Step {
                step: led_step(12),
                after: Some(11)
            }
        ),
        vec![LinkAction::ShowSnapshot]
    );
    // The next hello names the new layout.
    link.closed(3);
    link.tick(3 + FIRST_BACKOFF_MS);
    match link.opened(4).as_slice() {
        [LinkAction::Send(ClientMessage::Hello { layout, .. })] => {
            assert_eq!(layout.as_deref(), Some(new.layout.as_str()))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_in_place_link_never_reloads() {
    // Another project with the same layout: a snapshot or a loading step
    // just updates the state.
    let (mut link, _) = in_place_link(0);
    let actions = link.received(
        1,
        ServerMessage::Snapshot {
            snapshot: snap(20, "Other room", 2),
        },
    );
    assert_eq!(actions, vec![LinkAction::ShowSnapshot]);
    let step = Step {
        revision: 21,
        changes: vec![Change::ProjectLoaded {
            name: "Third".into(),
            project_revision: 3,
            buttons: BTreeMap::new(),
            levels: BTreeMap::new(),
            variables: BTreeMap::new(),
        }],
    };
    assert_eq!(
        link.received(2, ServerMessage::Step { step, after: None }),
        vec![LinkAction::ShowSnapshot]
    );
    assert_eq!(link.snapshot().project_name, "Third");
}

#[test]
fn a_link_that_reloads_reloads_on_a_layout_it_cannot_show() {
    let mut link = live_link(0);
    let view = demo_view("tablet", 11, "Display");
    assert_eq!(
        link.received(
            1,
            ServerMessage::Layout {
                view: Box::new(view)
            }
        ),
        vec![LinkAction::Reload]
    );
    assert_eq!(
        link.received(
            2,
            ServerMessage::Unavailable {
                message: "gone".into()
            }
        ),
        vec![LinkAction::Reload]
    );
}

#[test]
fn a_panel_gone_from_the_project_says_so_and_comes_back_with_its_layout() {
    let (mut link, old) = in_place_link(0);
    let message = "The project \"Other\" has no panel \"tablet\".".to_string();
    assert_eq!(
        link.received(
            1,
            ServerMessage::Unavailable {
                message: message.clone()
            }
        ),
        vec![LinkAction::Unavailable(message)]
    );
    // Still connected (keep-alives go on), and holding no layout: a
    // reconnect asks for the layout whole, even the one it had.
    assert_eq!(link.state(), &LinkState::Live);
    assert!(link.next_deadline().is_some());
    link.closed(2);
    link.tick(2 + FIRST_BACKOFF_MS);
    match link.opened(3).as_slice() {
        [LinkAction::Send(ClientMessage::Hello { layout, .. })] => {
            assert_eq!(layout.as_deref(), Some(""))
        }
        other => panic!("{other:?}"),
    }
    link.received(3, welcome(KEEPALIVE));
    let actions = link.received(
        4,
        ServerMessage::Layout {
            view: Box::new(old.clone()),
        },
    );
    assert_eq!(actions[0], LinkAction::ShowLayout(Box::new(old)));
    assert_eq!(link.state(), &LinkState::Live);
}

#[test]
fn a_changed_pin_asks_for_it_then_the_layout_follows() {
    // The controller refuses the PIN when a project adds or changes it;
    // after the right one the new layout comes before any snapshot.
    let (mut link, _) = in_place_link(0);
    let actions = link.received(1, error(ErrorCode::PinRequired));
    assert!(actions.contains(&LinkAction::ForgetPin));
    assert!(matches!(link.state(), LinkState::PinNeeded(_)));
    assert_eq!(link.enter_pin("2468".into())[0], LinkAction::Connect);
    link.opened(2);
    link.received(2, welcome(KEEPALIVE));
    let new = demo_view("tablet", 15, "Projector");
    let actions = link.received(
        3,
        ServerMessage::Layout {
            view: Box::new(new.clone()),
        },
    );
    assert_eq!(
        actions,
        vec![
            LinkAction::ShowLayout(Box::new(new)),
            LinkAction::ShowSnapshot,
            LinkAction::State(LinkState::Live)
        ]
    );
}

#[derive(Debug, Clone)]
enum Input {
    Start,
    Opened,
    Closed,
    Tick,
    Received(ServerMessage),
    Press,
}

fn arb_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        Just(ErrorCode::TooLarge),
        Just(ErrorCode::Malformed),
        Just(ErrorCode::UnknownButton),
        Just(ErrorCode::UnknownPanel),
        Just(ErrorCode::PinRequired),
        Just(ErrorCode::WrongPin),
        Just(ErrorCode::Forbidden),
    ]
}

fn arb_message(refusals: bool) -> impl Strategy<Value = ServerMessage> {
    let code = arb_code().prop_filter("no refusal", move |c| {
        refusals
            || matches!(
                c,
                ErrorCode::TooLarge | ErrorCode::Malformed | ErrorCode::UnknownButton
            )
    });
    prop_oneof![
        (0u64..20_000).prop_map(welcome),
        (0u64..30, 0u32..2).prop_map(|(revision, project_revision)| {
            ServerMessage::Snapshot {
                snapshot: snap(revision, "Demo", project_revision),
            }
        }),
        (0u64..30, proptest::option::of(0u64..30)).prop_map(|(revision, after)| {
            ServerMessage::Step {
                step: led_step(revision),
                after: after.map(|a| a.min(revision.saturating_sub(1))),
            }
        }),
        any::<u64>().prop_map(|seq| ServerMessage::Ping { seq }),
        any::<u64>().prop_map(|seq| ServerMessage::Pong { seq }),
        code.prop_map(error),
        (0u64..30).prop_map(|revision| {
            static VIEW: std::sync::OnceLock<PanelView> = std::sync::OnceLock::new();
            let mut view = VIEW
                .get_or_init(|| demo_view("tablet", 0, "Display"))
                .clone();
            view.snapshot.revision = revision;
            ServerMessage::Layout {
                view: Box::new(view),
            }
        }),
        Just(ServerMessage::Unavailable {
            message: "no such panel".into()
        }),
    ]
}

fn arb_input(refusals: bool) -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => Just(Input::Start),
        3 => Just(Input::Opened),
        2 => Just(Input::Closed),
        4 => Just(Input::Tick),
        4 => arb_message(refusals).prop_map(Input::Received),
        1 => Just(Input::Press),
    ]
}

fn feed(link: &mut PanelLink, now: u64, input: Input) -> Vec<LinkAction> {
    match input {
        Input::Start => link.start(),
        Input::Opened => link.opened(now),
        Input::Closed => link.closed(now),
        Input::Tick => link.tick(now),
        Input::Received(message) => link.received(now, message),
        Input::Press => link.send(ClientMessage::Press {
            button: "mute".into(),
        }),
    }
}

proptest! {
    /// Whatever happens, in whatever order, with time moving forward:
    /// connections strictly alternate Connect / Close, a reconnect waits
    /// within the backoff bounds, the state actions tell the truth, ticking
    /// before the deadline does nothing, and a refusal is final.
    #[test]
    fn any_input_sequence_keeps_the_invariants(
        steps in proptest::collection::vec((0u64..8000, arb_input(true)), 0..200),
        in_place in any::<bool>(),
    ) {
        let mut link = new_link();
        if in_place {
            link = link.in_place("0123456789abcdef".into());
        }
        let mut now = 0u64;
        let mut connected = false;
        let mut refused = false;
        for (dt, input) in steps {
            now += dt;
            let deadline = link.next_deadline();
            let early_tick = matches!(input, Input::Tick) && deadline.is_none_or(|d| now < d);
            let actions = feed(&mut link, now, input);
            if early_tick {
                prop_assert!(actions.is_empty(), "tick before the deadline did {actions:?}");
            }
            for action in &actions {
                match action {
                    LinkAction::Connect => {
                        prop_assert!(!connected, "second connection");
                        prop_assert!(!refused, "reconnected after a refusal");
                        connected = true;
                    }
                    LinkAction::Close => {
                        prop_assert!(connected, "close without a connection");
                        connected = false;
                    }
                    LinkAction::Send(_) => prop_assert!(connected, "send without a connection"),
                    LinkAction::State(state) => {
                        prop_assert!(!refused, "state changed after a refusal");
                        refused = matches!(state, LinkState::Refused(_) | LinkState::PinNeeded(_));
                    }
                    LinkAction::Reload => prop_assert!(!in_place, "an in-place link reloaded"),
                    LinkAction::ShowLayout(_) | LinkAction::Unavailable(_) => {
                        prop_assert!(in_place, "a layout shown by a link that reloads")
                    }
                    LinkAction::ShowSnapshot
                    | LinkAction::ForgetPin
                    | LinkAction::Notice { .. } => {}
                }
            }
            if let Some(LinkAction::State(last)) =
                actions.iter().rev().find(|a| matches!(a, LinkAction::State(_)))
            {
                prop_assert_eq!(last, link.state());
            }
            if actions.contains(&LinkAction::Close) && !refused {
                let wait = link.next_deadline().expect("reconnect timed") - now;
                prop_assert!((FIRST_BACKOFF_MS..=MAX_BACKOFF_MS).contains(&wait), "wait {wait}");
            }
            prop_assert_eq!(refused, matches!(link.state(), LinkState::Refused(_) | LinkState::PinNeeded(_)));
            prop_assert!(link.keepalive_ms() >= MIN_KEEPALIVE_MS);
        }
    }

    /// Arbitrary times, even going backwards or at the end of u64, and
    /// arbitrary keep-alive intervals: nothing panics or overflows.
    #[test]
    fn arbitrary_times_never_panic(
        keepalive in any::<u64>(),
        steps in proptest::collection::vec((any::<u64>(), arb_input(true), any::<u64>()), 0..100),
    ) {
        let mut link = PanelLink::new("p".into(), None, keepalive, Snapshot::default());
        for (now, input, welcome_keepalive) in steps {
            feed(&mut link, now, input);
            feed(&mut link, now, Input::Received(welcome(welcome_keepalive)));
            let _ = link.next_deadline();
        }
    }

    /// An open link that hears nothing pings once per interval, then goes
    /// lost exactly once, at the first tick after one interval plus grace.
    #[test]
    fn silence_is_lost_exactly_once(
        keepalive in MIN_KEEPALIVE_MS..20_000,
        opened_at in 0u64..1_000_000,
        gaps in proptest::collection::vec(1u64..3000, 1..100),
    ) {
        let mut link = PanelLink::new("p".into(), None, keepalive, Snapshot::default());
        link.start();
        link.opened(opened_at);
        let mut now = opened_at;
        let mut lost = 0;
        let mut pings = 0;
        for gap in gaps {
            now += gap;
            let actions = link.tick(now);
            let silent = now - opened_at > keepalive + LOST_GRACE_MS;
            let newly_lost = actions.contains(&lost_state());
            if newly_lost {
                lost += 1;
                prop_assert!(silent, "lost after {} ms of silence", now - opened_at);
            } else if lost == 0 {
                prop_assert!(!silent, "not lost after {} ms of silence", now - opened_at);
            }
            for action in actions {
                if let LinkAction::Send(ClientMessage::Ping { seq }) = action {
                    pings += 1;
                    prop_assert_eq!(seq, pings);
                }
            }
        }
        prop_assert!(lost <= 1);
        // Pings only while the link is up: one per interval before the
        // silence limit, none after.
        prop_assert!(pings <= (keepalive + LOST_GRACE_MS) / keepalive);
    }

    /// Connects that keep failing wait 250 ms doubling to 5 s, never longer.
    #[test]
    fn backoff_doubles_within_bounds(
        failures in proptest::collection::vec(0u64..10_000, 1..30),
    ) {
        let mut link = new_link();
        link.start();
        let mut now = 0;
        let mut expected = FIRST_BACKOFF_MS;
        for fail_after in failures {
            now += fail_after;
            link.closed(now);
            let at = link.next_deadline().expect("reconnect timed");
            prop_assert_eq!(at - now, expected);
            prop_assert_eq!(link.tick(at), vec![LinkAction::Connect]);
            now = at;
            expected = (expected * 2).min(MAX_BACKOFF_MS);
        }
    }

    /// Without refusals the link never gives up: whatever happened, it ends
    /// up connected again once time passes.
    #[test]
    fn without_refusal_the_link_always_recovers(
        steps in proptest::collection::vec((0u64..8000, arb_input(false)), 0..100),
    ) {
        let mut link = new_link();
        let mut now = 0u64;
        for (dt, input) in steps {
            now += dt;
            feed(&mut link, now, input);
        }
        link.start();
        // Drive it like the glue: tick at each deadline; the browser opens
        // the connection asked for. An open link that hears nothing pings a
        // few times, then is lost and reconnects: well within 50 rounds.
        let mut open = false;
        for _ in 0..50 {
            match link.next_deadline() {
                // Connecting (or a reconnect just asked for): it opens.
                None => {
                    link.opened(now);
                    open = true;
                    break;
                }
                Some(at) => {
                    now = now.max(at);
                    if link.tick(now).contains(&LinkAction::Connect) {
                        link.opened(now);
                        open = true;
                        break;
                    }
                }
            }
        }
        prop_assert!(open, "never reconnected");
        link.received(now, ServerMessage::Snapshot { snapshot: snap(1, "Demo", 1) });
        prop_assert_eq!(link.state(), &LinkState::Live);
    }
}

#[test]
fn a_notice_is_handed_to_the_page() {
    let mut link = live_link(0);
    let notice = ServerMessage::Notice {
        key: "device:dsp".into(),
        severity: crate::protocol::panel::Severity::Warning,
        message: "Audio DSP is down".into(),
        active: true,
    };
    assert_eq!(
        link.received(1, notice),
        vec![LinkAction::Notice {
            key: "device:dsp".into(),
            severity: crate::protocol::panel::Severity::Warning,
            message: "Audio DSP is down".into(),
            active: true,
        }]
    );
}
