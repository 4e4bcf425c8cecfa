use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::project::{demo_project, ButtonKind, LedColor, LedMode, Value};

fn engine() -> Engine {
    Engine::new(Arc::new(demo_project().clone()))
}

fn press(b: &str) -> Command {
    Command::Press {
        button: b.into(),
        source: "test".into(),
    }
}
fn release(b: &str) -> Command {
    Command::Release {
        button: b.into(),
        source: "test".into(),
    }
}

#[test]
fn toggle_flips_led() {
    let mut e = engine();
    let step = e.apply(press("mute")).unwrap().unwrap();
    assert_eq!(step.revision, 1);
    assert_eq!(e.state().led("mute").unwrap().mode, LedMode::On);
    e.apply(release("mute")).unwrap();
    assert_eq!(e.state().led("mute").unwrap().mode, LedMode::On);
    e.apply(press("mute")).unwrap();
    assert_eq!(e.state().led("mute").unwrap().mode, LedMode::Off);
}

#[test]
fn a_mute_button_and_its_levels_mute_are_one_state() {
    // The demo's Mute key is the volume fader's mute (`mutes = "volume"`).
    let mut e = engine();
    let step = e.apply(press("mute")).unwrap().unwrap();
    assert!(step.changes.iter().any(|c| matches!(
        c,
        Change::Mute { level, muted: true, source } if level == "volume" && source == "test"
    )));
    assert_eq!(e.state().levels["volume"].muted, Some(true));
    assert!(e.state().buttons["mute"].latched);
    e.apply(release("mute")).unwrap();
    // The fader's own mute (a panel, 5009, MQTT, the DSP's report) unlights it.
    e.apply(Command::SetMute {
        level: "volume".into(),
        muted: false,
        source: "panel".into(),
    })
    .unwrap();
    assert!(!e.state().buttons["mute"].latched);
    assert_eq!(e.state().led("mute").unwrap().mode, LedMode::Off);
    e.apply(Command::SetMute {
        level: "volume".into(),
        muted: true,
        source: "feedback:dsp".into(),
    })
    .unwrap();
    assert!(e.state().buttons["mute"].latched);
    assert_eq!(e.state().led("mute").unwrap().mode, LedMode::On);
    // A press now unmutes (it follows the level, not its own last press).
    e.apply(press("mute")).unwrap();
    assert_eq!(e.state().levels["volume"].muted, Some(false));
    assert!(!e.state().buttons["mute"].latched);
}

#[test]
fn feedback_led_is_left_to_feedback() {
    // display_power has led = "feedback": a press latches it but its LED
    // follows only what the projector reports.
    let mut e = engine();
    e.apply(press("display_power")).unwrap();
    assert!(e.state().buttons["display_power"].latched);
    assert_eq!(e.state().led("display_power").unwrap().mode, LedMode::Off);
}

#[test]
fn momentary_lit_while_held() {
    let mut e = engine();
    e.apply(press("all_off")).unwrap();
    assert!(e.state().led("all_off").unwrap().mode.is_lit());
    e.apply(release("all_off")).unwrap();
    assert!(!e.state().led("all_off").unwrap().mode.is_lit());
    // A second release changes nothing and takes no revision.
    let rev = e.revision();
    assert_eq!(e.apply(release("all_off")).unwrap(), None);
    assert_eq!(e.revision(), rev);
}

#[test]
fn interlock_selects_one_and_groups_changes_in_one_step() {
    let mut e = engine();
    e.apply(press("src_hdmi1")).unwrap();
    let step = e.apply(press("src_hdmi2")).unwrap().unwrap();
    let leds: Vec<_> = step.leds().map(|(b, l)| (b.to_string(), l.mode)).collect();
    assert!(leds.contains(&("src_hdmi1".into(), LedMode::Off)));
    assert!(leds.contains(&("src_hdmi2".into(), LedMode::On)));
    assert!(!e.state().buttons["src_hdmi1"].latched);
    assert!(e.state().buttons["src_hdmi2"].latched);
}

#[test]
fn unknown_button_is_an_error_and_changes_nothing() {
    let mut e = engine();
    assert_eq!(
        e.apply(press("nope")),
        Err(EngineError::UnknownButton("nope".into()))
    );
    assert_eq!(e.revision(), 0);
}

#[test]
fn set_led_and_repeat() {
    let mut e = engine();
    let led = Led {
        mode: LedMode::FastBlink,
        color: LedColor::Red,
    };
    e.apply(Command::SetLed {
        button: "mute".into(),
        led,
        source: "t".into(),
    })
    .unwrap();
    assert_eq!(e.state().led("mute"), Some(led));
    // Same LED again: no step.
    assert!(e
        .apply(Command::SetLed {
            button: "mute".into(),
            led,
            source: "t".into()
        })
        .unwrap()
        .is_none());
    // Repeat only while held.
    assert!(e
        .apply(Command::Repeat {
            button: "vol_up".into(),
            source: "t".into()
        })
        .unwrap()
        .is_none());
    e.apply(press("vol_up")).unwrap();
    let step = e
        .apply(Command::Repeat {
            button: "vol_up".into(),
            source: "t".into(),
        })
        .unwrap()
        .unwrap();
    assert!(matches!(step.changes[0], Change::Repeated { .. }));
}

#[test]
fn load_project_keeps_what_still_exists_and_keeps_counting() {
    let mut e = engine();
    e.apply(press("src_pc")).unwrap();
    e.apply(press("mute")).unwrap();
    e.apply(set_level("volume", -12.0)).unwrap();
    let rev = e.revision();
    let mut p = demo_project().clone();
    p.project.name = "Other".into();
    // `mute` becomes a momentary button: a different button, so it starts off.
    p.buttons.iter_mut().find(|b| b.id == "mute").unwrap().kind = ButtonKind::Momentary;
    // The volume's range shrinks: the kept value is clamped into it.
    p.levels.iter_mut().find(|l| l.id == "volume").unwrap().max = -20.0;
    p.buttons.retain(|b| b.id != "light_dim");
    for panel in &mut p.panels {
        for page in &mut panel.pages {
            page.buttons.retain(|place| place.button != "light_dim");
        }
    }
    let step = e
        .apply(Command::LoadProject {
            project: Arc::new(p),
            source: "t".into(),
        })
        .unwrap()
        .unwrap();
    assert_eq!(step.revision, rev + 1);
    assert!(step.loads_project());
    let s = e.state();
    assert_eq!(s.project_name, "Other");
    assert!(
        s.buttons["src_pc"].latched,
        "the selected source stays selected"
    );
    assert_eq!(s.buttons["src_pc"].led.mode, LedMode::On);
    assert!(!s.buttons["mute"].latched);
    assert_eq!(s.buttons["mute"].led.mode, LedMode::Off);
    assert!(!s.buttons.contains_key("light_dim"));
    assert_eq!(s.levels["volume"].value, -20.0);
    // A panel holding the old state reaches the new one from the step.
    let mut mirror = e.snapshot();
    mirror.revision = rev;
    mirror.buttons.clear();
    assert_eq!(mirror.receive(&step), StepOutcome::Applied);
    assert_eq!(mirror, e.snapshot());
}

#[test]
fn receive_detects_stale_and_gap() {
    let mut e = engine();
    let mut mirror = e.snapshot();
    let s1 = e.apply(press("mute")).unwrap().unwrap();
    let s2 = e.apply(press("mute")).unwrap().unwrap();
    assert_eq!(mirror.receive(&s2), StepOutcome::Gap);
    assert_eq!(mirror.receive(&s1), StepOutcome::Applied);
    assert_eq!(mirror.receive(&s1), StepOutcome::Stale);
    assert_eq!(mirror.receive(&s2), StepOutcome::Applied);
    assert_eq!(mirror, e.snapshot());
}

#[test]
fn a_toggles_release_is_not_shown_a_momentarys_is() {
    let mut e = engine();
    let press = e.apply(press("mute")).unwrap().unwrap();
    let release = e.apply(release("mute")).unwrap().unwrap();
    assert!(press.shown_on_panels());
    assert!(!release.shown_on_panels(), "{release:?}");
    // A momentary's LED goes on with the press and off with the release.
    let press = e.apply(self::press("vol_up")).unwrap().unwrap();
    let release = e.apply(self::release("vol_up")).unwrap().unwrap();
    assert!(press.shown_on_panels(), "{press:?}");
    assert!(release.shown_on_panels(), "{release:?}");
}

fn set_level(level: &str, value: f64) -> Command {
    Command::SetLevel {
        level: level.into(),
        value,
        source: "test".into(),
    }
}

#[test]
fn levels_are_clamped_stepped_and_revisioned() {
    let mut e = engine();
    assert_eq!(e.state().levels["volume"].value, -30.0);
    let step = e.apply(set_level("volume", -20.3)).unwrap().unwrap();
    assert_eq!(step.revision, 1);
    assert_eq!(
        step.changes,
        vec![Change::Level {
            level: "volume".into(),
            value: -20.5,
            source: "test".into()
        }]
    );
    e.apply(set_level("volume", 99.0)).unwrap();
    assert_eq!(e.state().levels["volume"].value, 10.0);
    // The same value after rounding: no step, no revision.
    assert_eq!(e.apply(set_level("volume", 10.2)).unwrap(), None);
    assert_eq!(e.revision(), 2);
    assert!(matches!(
        e.apply(set_level("volume", f64::NAN)),
        Err(EngineError::BadValue { .. })
    ));
    assert_eq!(
        e.apply(set_level("nope", 1.0)),
        Err(EngineError::UnknownLevel("nope".into()))
    );
    let mute = |level: &str| Command::SetMute {
        level: level.into(),
        muted: true,
        source: "t".into(),
    };
    e.apply(mute("volume")).unwrap().unwrap();
    assert_eq!(e.state().levels["volume"].muted, Some(true));
    assert_eq!(e.apply(mute("volume")).unwrap(), None);
    assert_eq!(e.apply(mute("mic")), Err(EngineError::NoMute("mic".into())));
}

#[test]
fn variables_are_converted_to_their_kind() {
    let mut e = engine();
    assert_eq!(
        e.state().variables["projector_state"],
        Value::Text("unknown".into())
    );
    let set = |value: Value| Command::SetVariable {
        variable: "projector_state".into(),
        value,
        source: "t".into(),
    };
    let step = e.apply(set(Value::Text("on".into()))).unwrap().unwrap();
    assert_eq!(
        step.changes,
        vec![Change::Variable {
            variable: "projector_state".into(),
            value: Value::Text("on".into())
        }]
    );
    assert_eq!(e.apply(set(Value::Text("on".into()))).unwrap(), None);
    e.apply(set(Value::Number(3.0))).unwrap();
    assert_eq!(
        e.state().variables["projector_state"],
        Value::Text("3".into())
    );
    assert_eq!(
        e.apply(Command::SetVariable {
            variable: "ghost".into(),
            value: Value::Bool(true),
            source: "t".into()
        }),
        Err(EngineError::UnknownVariable("ghost".into()))
    );
}

#[test]
fn an_led_follows_its_condition_in_the_same_step() {
    let text = crate::project::DEMO_PROJECT_TOML.replace(
        "id = \"screen_up\"\n",
        "id = \"screen_up\"\nled_when = { variable = \"projector_state\", equals = \"on\" }\n",
    );
    let project = crate::project::Project::from_toml(&text).unwrap();
    let mut e = Engine::new(Arc::new(project));
    let step = e
        .apply(Command::SetVariable {
            variable: "projector_state".into(),
            value: Value::Text("on".into()),
            source: "t".into(),
        })
        .unwrap()
        .unwrap();
    // The LED change first, the variable last (the wire split keeps order).
    assert!(
        matches!(&step.changes[0], Change::Led { button, led } if button == "screen_up" && led.mode == LedMode::On)
    );
    assert!(matches!(&step.changes[1], Change::Variable { .. }));
    // Pressing it selects it, but its LED follows only the condition.
    e.apply(press("screen_down")).unwrap();
    assert!(e.state().led("screen_up").unwrap().mode.is_lit());
}

fn arb_command() -> impl Strategy<Value = Command> {
    let ids: Vec<String> = demo_project()
        .buttons
        .iter()
        .map(|b| b.id.clone())
        .chain(["ghost".to_string()])
        .collect();
    let id = proptest::sample::select(ids);
    let mode = proptest::sample::select(LedMode::ALL.to_vec());
    let color = proptest::sample::select(LedColor::ALL.to_vec());
    prop_oneof![
        4 => id.clone().prop_map(|b| press(&b)),
        3 => id.clone().prop_map(|b| release(&b)),
        1 => id.clone().prop_map(|b| Command::Repeat { button: b, source: "p".into() }),
        1 => id.clone().prop_map(|b| Command::Deselect { button: b, source: "p".into() }),
        1 => (id, mode, color).prop_map(|(b, mode, color)| Command::SetLed { button: b, led: Led { mode, color }, source: "p".into() }),
        1 => Just(Command::LoadProject { project: Arc::new(demo_project().clone()), source: "p".into() }),
        3 => arb_value_command(),
    ]
}

/// Level, mute and variable commands, including unknown names, values out
/// of range, non-finite values and text that is not a number.
fn arb_value_command() -> impl Strategy<Value = Command> {
    let level = proptest::sample::select(vec!["volume", "mic", "ghost"]);
    let variable = proptest::sample::select(vec!["projector_state", "warmup", "ghost"]);
    let number = prop_oneof![
        8 => -100.0..100.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
    ];
    let value = prop_oneof![
        "[a-z ]{0,12}".prop_map(Value::Text),
        (-100.0..100.0f64).prop_map(Value::Number),
        any::<bool>().prop_map(Value::Bool),
    ];
    prop_oneof![
        (level.clone(), number).prop_map(|(l, value)| Command::SetLevel {
            level: l.into(),
            value,
            source: "p".into()
        }),
        (level, any::<bool>()).prop_map(|(l, muted)| Command::SetMute {
            level: l.into(),
            muted,
            source: "p".into()
        }),
        (variable, value).prop_map(|(v, value)| Command::SetVariable {
            variable: v.into(),
            value,
            source: "p".into()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn revisions_strictly_increase(cmds in proptest::collection::vec(arb_command(), 0..200)) {
        let mut e = engine();
        let mut last = e.revision();
        for c in cmds {
            if let Ok(Some(step)) = e.apply(c) {
                prop_assert_eq!(step.revision, last + 1);
                last = step.revision;
            }
            prop_assert_eq!(e.revision(), last);
        }
    }

    #[test]
    fn snapshot_plus_replay_equals_live_state(
        before in proptest::collection::vec(arb_command(), 0..100),
        after in proptest::collection::vec(arb_command(), 0..100),
    ) {
        let mut e = engine();
        for c in before { let _ = e.apply(c); }
        let mut replica = e.snapshot();
        for c in after {
            if let Ok(Some(step)) = e.apply(c) {
                prop_assert_eq!(replica.receive(&step), StepOutcome::Applied);
            }
        }
        prop_assert_eq!(replica, e.snapshot());
    }

    /// A `sparse` panel is sent only the steps a panel shows, each with the
    /// revision of the previous such step (`after`): it never sees a gap,
    /// and what it shows (everything but `held`) equals the live state.
    #[test]
    fn a_sparse_stream_shows_the_live_state(
        before in proptest::collection::vec(arb_command(), 0..100),
        after in proptest::collection::vec(arb_command(), 0..100),
    ) {
        let mut e = engine();
        let mut last_shown = 0;
        for c in before {
            if let Ok(Some(step)) = e.apply(c) {
                if step.shown_on_panels() { last_shown = step.revision; }
            }
        }
        let mut replica = e.snapshot();
        for c in after {
            if let Ok(Some(step)) = e.apply(c) {
                if step.shown_on_panels() {
                    prop_assert_eq!(replica.receive_after(&step, Some(last_shown)), StepOutcome::Applied);
                    // The same step again is stale, as without `after`.
                    prop_assert_eq!(replica.receive_after(&step, Some(last_shown)), StepOutcome::Stale);
                    last_shown = step.revision;
                }
            }
        }
        let mut live = e.snapshot();
        for b in live.buttons.values_mut().chain(replica.buttons.values_mut()) {
            b.held = false;
        }
        live.revision = replica.revision;
        prop_assert_eq!(replica, live);
    }

    /// A step whose `after` is newer than the revision held is a gap.
    #[test]
    fn a_missed_shown_step_is_a_gap(held in 0u64..50, skip in 1u64..10) {
        let mut replica = engine().snapshot();
        replica.revision = held;
        let step = Step { revision: held + skip + 1, changes: vec![] };
        prop_assert_eq!(replica.receive_after(&step, Some(held + skip)), StepOutcome::Gap);
        prop_assert_eq!(replica.revision, held);
    }

    #[test]
    fn levels_stay_in_range_on_a_step(cmds in proptest::collection::vec(arb_value_command(), 0..100)) {
        let mut e = engine();
        for c in cmds {
            let _ = e.apply(c);
            for (id, state) in &e.state().levels {
                let def = e.project().level(id).unwrap();
                prop_assert!(state.value >= def.min && state.value <= def.max);
                prop_assert_eq!(def.quantise(state.value), Some(state.value));
            }
        }
    }

    #[test]
    fn steps_survive_their_json_form(cmds in proptest::collection::vec(arb_command(), 0..60)) {
        let mut e = engine();
        for c in cmds {
            if let Ok(Some(step)) = e.apply(c) {
                let json = serde_json::to_string(&step).unwrap();
                prop_assert_eq!(serde_json::from_str::<Step>(&json).unwrap(), step);
            }
        }
        let json = serde_json::to_string(&e.snapshot()).unwrap();
        prop_assert_eq!(serde_json::from_str::<Snapshot>(&json).unwrap(), e.snapshot());
    }

    #[test]
    fn interlock_groups_have_at_most_one_selected(cmds in proptest::collection::vec(arb_command(), 0..200)) {
        let mut e = engine();
        for c in cmds {
            let _ = e.apply(c);
            for members in e.groups.values() {
                let latched = members.iter().filter(|m| e.state().buttons[*m].latched).count();
                prop_assert!(latched <= 1, "{latched} selected in one group");
            }
        }
    }
}

#[test]
fn a_feedback_toggle_is_latched_exactly_while_its_led_is_lit() {
    let mut e = engine();
    let set = |mode: LedMode| Command::SetLed {
        button: "display_power".into(),
        led: Led {
            mode,
            color: LedColor::Green,
        },
        source: "feedback".into(),
    };
    e.apply(set(LedMode::SlowBlink)).unwrap();
    assert!(e.state().buttons["display_power"].latched);
    e.apply(set(LedMode::On)).unwrap();
    assert!(e.state().buttons["display_power"].latched);
    let step = e.apply(set(LedMode::Off)).unwrap().unwrap();
    assert!(!e.state().buttons["display_power"].latched);
    assert!(step
        .changes
        .iter()
        .any(|c| matches!(c, Change::Latched { latched: false, .. })));
    // A toggle whose LED is its own state is not affected by a set LED.
    e.apply(press("mute")).unwrap();
    e.apply(Command::SetLed {
        button: "mute".into(),
        led: Led::off(LedColor::Red),
        source: "logic".into(),
    })
    .unwrap();
    assert!(e.state().buttons["mute"].latched);
}

#[test]
fn a_deselected_source_is_unlatched_and_dark() {
    let mut e = engine();
    e.apply(press("src_hdmi2")).unwrap();
    let deselect = |b: &str| Command::Deselect {
        button: b.into(),
        source: "sequence:source_hdmi2".into(),
    };
    let step = e.apply(deselect("src_hdmi2")).unwrap().unwrap();
    assert!(!e.state().buttons["src_hdmi2"].latched);
    assert_eq!(e.state().led("src_hdmi2").unwrap().mode, LedMode::Off);
    assert_eq!(step.changes.len(), 2);
    // Nothing selected: nothing to undo, no step.
    assert_eq!(e.apply(deselect("src_hdmi2")).unwrap(), None);
    // A momentary button is never latched.
    e.apply(press("all_off")).unwrap();
    assert_eq!(e.apply(deselect("all_off")).unwrap(), None);
    // A press selects it again.
    e.apply(press("src_hdmi2")).unwrap();
    assert!(e.state().buttons["src_hdmi2"].latched);
}
