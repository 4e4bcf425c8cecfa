//! The project's vocabularies: every word a field may take (button kinds,
//! LED colours and modes, transports, triggers...), listed once here and
//! used by the validator and by the designer's pickers alike, so a word
//! added to the model is a choice in the designer without a second list.
//!
//! Each enum's words are its serde names; [`Vocabulary::name`] gives them
//! without a serializer, and a test checks the two never drift apart.

use super::{
    ButtonKind, ClosedDaysRule, Condition, DeviceKind, LedColor, LedMode, LedSource, LevelKind,
    Orientation, PanelProfile, Transport, Trigger, VariableKind, WhenBusy,
};

/// A closed set of words a project field takes.
pub trait Vocabulary: Copy + Sized + 'static {
    /// Every value, in the order pickers list them.
    const ALL: &'static [Self];
    /// The word the project file uses (the serde name).
    fn name(self) -> &'static str;
    /// The value a word names.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
    /// Every word, in order.
    fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().map(|v| v.name())
    }
}

macro_rules! vocabulary {
    ($($ty:ident { $($variant:ident => $word:literal),+ $(,)? })+) => {
        $(
            impl Vocabulary for $ty {
                const ALL: &'static [$ty] = &[$($ty::$variant),+];
                fn name(self) -> &'static str {
                    match self { $($ty::$variant => $word),+ }
                }
            }
        )+
        #[cfg(test)]
        fn every_vocabulary_matches_serde() {
            check_serde::<LedColor>();
            check_serde::<LedMode>();
            $( check_serde::<$ty>(); )+
        }
    };
}

vocabulary! {
    ButtonKind { Momentary => "momentary", Toggle => "toggle", Interlock => "interlock" }
    LedSource { State => "state", Feedback => "feedback" }
    PanelProfile { Tablet => "tablet", Wall => "wall" }
    LevelKind { Fader => "fader", Meter => "meter" }
    VariableKind { Text => "text", Number => "number", Bool => "bool" }
    Orientation { Vertical => "vertical", Horizontal => "horizontal" }
    DeviceKind {
        Projector => "projector", Display => "display", VideoSwitcher => "video_switcher",
        Audio => "audio", Camera => "camera", Lighting => "lighting", Blinds => "blinds",
    }
    WhenBusy { Refuse => "refuse", Queue => "queue" }
    Transport { Tcp => "tcp", Udp => "udp", Http => "http", Serial => "serial" }
    Condition { Lit => "lit", Unlit => "unlit", Latched => "latched", Unlatched => "unlatched" }
    Trigger { Press => "press", Release => "release", Repeat => "repeat" }
    ClosedDaysRule { Run => "run", Skip => "skip", Only => "only" }
}

// The LED's words and their order are the wire protocols' too
// (protocol/wire.rs numbers them by position): their lists stay in
// schema.rs, named here.
impl Vocabulary for LedColor {
    const ALL: &'static [LedColor] = &LedColor::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Vocabulary for LedMode {
    const ALL: &'static [LedMode] = &LedMode::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

#[cfg(test)]
fn check_serde<T>()
where
    T: Vocabulary + serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    for v in <T as Vocabulary>::ALL {
        assert_eq!(
            serde_json::to_value(v).unwrap(),
            serde_json::json!(v.name())
        );
        assert_eq!(
            serde_json::from_value::<T>(serde_json::json!(v.name())).unwrap(),
            *v
        );
    }
}

/// The action fields of a sequence step: a step has exactly one.
pub const STEP_ACTIONS: [&str; 10] = [
    "send",
    "send_hex",
    "http",
    "command",
    "wait_ms",
    "led",
    "press",
    "set_variable",
    "set_level",
    "adjust_level",
];

/// The comparisons of a condition on a variable ([`super::VarCondition`]):
/// exactly one; `above` and `below` take numbers.
pub const COMPARISONS: [&str; 4] = ["equals", "not_equals", "above", "below"];

/// How a feedback rule matches a line: exactly one (of a raw device's).
pub const FEEDBACK_MATCHES: [&str; 2] = ["equals", "regex"];

/// What a feedback rule does on a match: exactly one.
pub const FEEDBACK_ACTIONS: [&str; 5] = ["press", "led", "variable", "level", "mute"];

/// What a timer does when it runs: exactly one.
pub const TIMER_ACTIONS: [&str; 2] = ["press", "set_variable"];

/// `"a X has exactly one of a, b, c"`, the validator's words for a set of
/// mutually exclusive fields.
pub fn exactly_one_of(what: &str, fields: &[&str]) -> String {
    format!("{what} has exactly one of {}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_are_the_serde_names() {
        every_vocabulary_matches_serde();
        assert_eq!(
            <LedMode as Vocabulary>::from_name("slow_blink"),
            Some(LedMode::SlowBlink)
        );
        assert_eq!(<LedColor as Vocabulary>::names().count(), 8);
        assert_eq!(Transport::from_name("ftp"), None);
    }

    #[test]
    fn step_actions_are_the_steps_fields() {
        let step = serde_json::to_value(crate::project::Step {
            send: Some(String::new()),
            send_hex: Some(String::new()),
            http: Some(String::new()),
            command: Some(String::new()),
            wait_ms: Some(0),
            led: Some(String::new()),
            press: Some(String::new()),
            set_variable: Some(String::new()),
            set_level: Some(String::new()),
            adjust_level: Some(String::new()),
            ..Default::default()
        })
        .unwrap();
        let fields: Vec<&str> = step
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut actions = STEP_ACTIONS.to_vec();
        actions.sort_unstable();
        assert_eq!(fields, actions);
    }
}
