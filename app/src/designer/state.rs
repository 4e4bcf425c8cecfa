//! The designer's state: the project model being edited, its undo history,
//! what is shown (section, panel, page, selected tile) and the validator's
//! last word on it. Every change goes through [`Designer::edit`]: a
//! snapshot for undo, the change, and a validation whose errors reach the
//! controls by their field paths.

use std::collections::BTreeSet;

use leptos::prelude::*;
use serde::Deserialize;
use serde_json::Value;

/// The parts of a project, one editor each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Layout,
    Buttons,
    Levels,
    Devices,
    Sequences,
    Feedback,
    Timers,
    Project,
}

impl Section {
    pub const ALL: [(Section, &'static str); 8] = [
        (Section::Layout, "Layout"),
        (Section::Buttons, "Buttons"),
        (Section::Levels, "Levels"),
        (Section::Devices, "Devices"),
        (Section::Sequences, "Sequences"),
        (Section::Feedback, "Feedback"),
        (Section::Timers, "Timers"),
        (Section::Project, "Project"),
    ];

    /// The section whose editor shows the field at `path`.
    pub fn of(path: &str) -> Section {
        let top = path.split(['.', '[']).next().unwrap_or("");
        match top {
            "panels" => Section::Layout,
            "buttons" => Section::Buttons,
            "levels" => Section::Levels,
            "devices" => Section::Devices,
            "sequences" => Section::Sequences,
            "feedback" => Section::Feedback,
            "timers" => Section::Timers,
            _ => Section::Project,
        }
    }
}

/// What a page places: buttons, levels (faders, meters) or text tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Buttons,
    Levels,
    Texts,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Buttons, Kind::Levels, Kind::Texts];

    /// The page's list (`buttons` in `pages[0].buttons[2]`).
    pub fn key(self) -> &'static str {
        match self {
            Kind::Buttons => "buttons",
            Kind::Levels => "levels",
            Kind::Texts => "texts",
        }
    }

    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// One error, as the validator reports it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Problem {
    #[serde(default)]
    pub line: usize,
    #[serde(default)]
    pub path: String,
    pub message: String,
}

/// The last save's or apply's answer, shown under the editor.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub ok: bool,
    pub title: String,
    pub text: String,
    /// `/admin/api/diff`'s answer: `changes` and `unified`.
    pub diff: Option<Value>,
}

/// What undo brings back: the model and where the installer was.
#[derive(Clone)]
struct Snapshot {
    model: Value,
    panel: usize,
    page: usize,
    sel: Option<(Kind, usize)>,
}

/// The designer's state, shared with every part of the screen.
#[derive(Clone, Copy)]
pub struct Designer {
    /// The project as JSON; `Null` until one is opened.
    pub model: RwSignal<Value>,
    /// The text it was opened from (comments and order to keep).
    pub original: RwSignal<String>,
    pub errors: RwSignal<Vec<Problem>>,
    /// The model written into the original text (None while a value has
    /// the wrong type).
    pub toml: RwSignal<Option<String>>,
    pub section: RwSignal<Section>,
    pub panel: RwSignal<usize>,
    pub page: RwSignal<usize>,
    pub sel: RwSignal<Option<(Kind, usize)>>,
    /// Undo and redo depths, for the buttons.
    pub depth: RwSignal<(usize, usize)>,
    undo: StoredValue<Vec<Snapshot>>,
    redo: StoredValue<Vec<Snapshot>>,
    /// The field last typed in: keystrokes there are one undo step.
    last_key: StoredValue<Option<String>>,
    /// Which version is open: `running`, `pending`, `new`, `demo` or a
    /// history id; and its words ("the running project").
    pub which: RwSignal<String>,
    pub opened: RwSignal<String>,
    pub saved: RwSignal<bool>,
    pub output: RwSignal<Option<Output>>,
    /// `/admin/api/history`, newest first.
    pub history: RwSignal<Vec<Value>>,
    /// A fresh installation (nothing stored, the built-in demo runs).
    pub fresh: RwSignal<bool>,
    pub running_revision: RwSignal<u64>,
    /// The preview's screen size while it is open.
    pub preview: RwSignal<Option<&'static str>>,
    pub settings_open: RwSignal<bool>,
    /// The paths that have a control on the screen now (an error is
    /// shown at the nearest), and a count that moves when they change.
    controls: StoredValue<BTreeSet<String>>,
    pub controls_moved: RwSignal<u64>,
    bump_queued: StoredValue<bool>,
}

const UNDO_DEPTH: usize = 200;

impl Designer {
    pub fn new() -> Designer {
        Designer {
            model: RwSignal::new(Value::Null),
            original: RwSignal::new(String::new()),
            errors: RwSignal::new(Vec::new()),
            toml: RwSignal::new(None),
            section: RwSignal::new(Section::Layout),
            panel: RwSignal::new(0),
            page: RwSignal::new(0),
            sel: RwSignal::new(None),
            depth: RwSignal::new((0, 0)),
            undo: StoredValue::new(Vec::new()),
            redo: StoredValue::new(Vec::new()),
            last_key: StoredValue::new(None),
            which: RwSignal::new(String::new()),
            opened: RwSignal::new(String::new()),
            saved: RwSignal::new(false),
            output: RwSignal::new(None),
            history: RwSignal::new(Vec::new()),
            fresh: RwSignal::new(false),
            running_revision: RwSignal::new(0),
            preview: RwSignal::new(None),
            settings_open: RwSignal::new(false),
            controls: StoredValue::new(BTreeSet::new()),
            controls_moved: RwSignal::new(0),
            bump_queued: StoredValue::new(false),
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            model: self.model.get_untracked(),
            panel: self.panel.get_untracked(),
            page: self.page.get_untracked(),
            sel: self.sel.get_untracked(),
        }
    }

    fn restore(&self, s: Snapshot) {
        self.panel.set(s.panel);
        self.page.set(s.page);
        self.sel.set(s.sel);
        self.model.set(s.model);
    }

    fn set_depth(&self) {
        let undo = self.undo.with_value(Vec::len);
        let redo = self.redo.with_value(Vec::len);
        self.depth.set((undo, redo));
    }

    /// One change to the model; `key` (a field path) makes the keystrokes
    /// in one field one undo step.
    pub fn edit(&self, key: Option<&str>, change: impl FnOnce(&mut Value)) {
        let same_field = key.is_some() && self.last_key.with_value(|k| k.as_deref() == key);
        if !same_field {
            let snap = self.snapshot();
            self.undo.update_value(|u| {
                u.push(snap);
                if u.len() > UNDO_DEPTH {
                    u.remove(0);
                }
            });
        }
        self.last_key.set_value(key.map(str::to_string));
        self.redo.update_value(Vec::clear);
        self.model.update(change);
        self.saved.set(false);
        self.set_depth();
        self.validate();
    }

    /// A field left: the next keystroke there is a new undo step.
    pub fn field_left(&self) {
        self.last_key.set_value(None);
    }

    pub fn undo(&self) {
        let Some(s) = self.undo.try_update_value(Vec::pop).flatten() else {
            return;
        };
        let now = self.snapshot();
        self.redo.update_value(|r| r.push(now));
        self.last_key.set_value(None);
        self.restore(s);
        self.set_depth();
        self.validate();
    }

    pub fn redo(&self) {
        let Some(s) = self.redo.try_update_value(Vec::pop).flatten() else {
            return;
        };
        let now = self.snapshot();
        self.undo.update_value(|u| u.push(now));
        self.last_key.set_value(None);
        self.restore(s);
        self.set_depth();
        self.validate();
    }

    /// A project opened: its text, its model and its words.
    pub fn open(&self, text: String, model: Value, label: &str) {
        self.original.set(text);
        self.undo.update_value(Vec::clear);
        self.redo.update_value(Vec::clear);
        self.last_key.set_value(None);
        self.panel.set(0);
        self.page.set(0);
        self.sel.set(None);
        self.saved.set(false);
        self.output.set(None);
        self.opened.set(label.to_string());
        self.model.set(model);
        self.set_depth();
        self.validate();
    }

    /// The model written into the opened text and checked as an upload is
    /// (controller-core's validator, compiled into this bundle).
    pub fn validate(&self) {
        #[cfg(feature = "designer")]
        {
            let model = self.model.with_untracked(Value::to_string);
            let answer: Value =
                serde_json::from_str(&designer::check(&self.original.get_untracked(), &model))
                    .unwrap_or_default();
            let errors = serde_json::from_value(answer["errors"].clone()).unwrap_or_default();
            self.toml.set(answer["toml"].as_str().map(str::to_string));
            self.errors.set(errors);
        }
    }

    /// A control for `path` is on the screen (until its view goes).
    pub fn register(&self, path: &str) {
        let this = *self;
        if self
            .controls
            .try_update_value(|c| c.insert(path.to_string()))
            == Some(true)
        {
            this.controls_moved_later();
        }
        let path = path.to_string();
        on_cleanup(move || {
            if this.controls.try_update_value(|c| c.remove(&path)) == Some(true) {
                this.controls_moved_later();
            }
        });
    }

    /// Whether a control is on the screen for exactly `path`.
    pub fn has_control(&self, path: &str) -> bool {
        self.controls.with_value(|c| c.contains(path))
    }

    /// The errors shown at the control for `path` (tracks the errors and
    /// the controls on the screen).
    pub fn errors_at(&self, path: &str) -> Vec<String> {
        self.controls_moved.track();
        self.errors.with(|errors| {
            errors
                .iter()
                .filter(|e| super::path::nearest(&e.path, |p| self.has_control(p)) == Some(path))
                .map(|e| e.message.clone())
                .collect()
        })
    }

    // Controls come and go while a view is being built: one notice after.
    fn controls_moved_later(&self) {
        if self.bump_queued.get_value() {
            return;
        }
        self.bump_queued.set_value(true);
        let this = *self;
        let bump = move || {
            this.bump_queued.set_value(false);
            this.controls_moved.update(|n| *n += 1);
        };
        #[cfg(feature = "designer")]
        request_animation_frame(bump);
        #[cfg(not(feature = "designer"))]
        bump();
    }

    /// The ids of a list of the project (`buttons`, `variables`), tracked.
    pub fn ids(&self, list: &'static str) -> Memo<Vec<String>> {
        let model = self.model;
        Memo::new(move |_| model.with(|m| super::path::ids(m, list)))
    }

    /// Every id of buttons, levels and variables (one namespace).
    pub fn all_ids(&self) -> Vec<String> {
        self.model.with_untracked(|m| {
            ["buttons", "levels", "variables"]
                .into_iter()
                .flat_map(|l| super::path::ids(m, l))
                .collect()
        })
    }
}
