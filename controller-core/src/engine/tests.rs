use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::project::{demo_project, LedColor, LedMode};

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
fn load_project_resets_state_and_keeps_counting() {
    let mut e = engine();
    e.apply(press("src_pc")).unwrap();
    let rev = e.revision();
    let mut p = demo_project().clone();
    p.project.name = "Other".into();
    let step = e
        .apply(Command::LoadProject {
            project: Arc::new(p),
            source: "t".into(),
        })
        .unwrap()
        .unwrap();
    assert_eq!(step.revision, rev + 1);
    assert!(step.loads_project());
    assert_eq!(e.state().project_name, "Other");
    assert!(!e.state().buttons["src_pc"].latched);
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
        1 => (id, mode, color).prop_map(|(b, mode, color)| Command::SetLed { button: b, led: Led { mode, color }, source: "p".into() }),
        1 => Just(Command::LoadProject { project: Arc::new(demo_project().clone()), source: "p".into() }),
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
