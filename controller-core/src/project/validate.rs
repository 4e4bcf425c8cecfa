//! What a well-formed project must also mean: unique ids, references that
//! resolve, places inside their grid, values in range. Every rule violated is
//! reported, each at the field at fault.

use std::collections::{HashMap, HashSet};

use super::error::{Locator, ProjectError, Seg};
use super::{ButtonKind, LedMode, Project, Transport};

pub const MAX_ID_LEN: usize = 64;
pub const MAX_LABEL_LEN: usize = 40;
pub const MAX_GRID: u8 = 12;
pub const MAX_BUTTONS: usize = 1000;
pub const MAX_STEPS: usize = 100;

struct Checker<'a, 'b> {
    locator: &'a Locator<'b>,
    errors: Vec<ProjectError>,
}

fn k(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

fn at(base: &[Seg], more: &[Seg]) -> Vec<Seg> {
    base.iter().chain(more).cloned().collect()
}

impl Checker<'_, '_> {
    fn err(&mut self, path: Vec<Seg>, message: impl Into<String>) {
        self.errors.push(self.locator.error(&path, message));
    }

    fn id(&mut self, path: Vec<Seg>, id: &str, what: &str) {
        if id.is_empty() {
            self.err(path, format!("the {what} id is empty"));
        } else if id.len() > MAX_ID_LEN {
            self.err(
                path,
                format!("the {what} id is longer than {MAX_ID_LEN} characters"),
            );
        } else if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.err(
                path,
                format!("the {what} id {id:?} may only hold letters, digits, '_' and '-'"),
            );
        }
    }

    fn text(&mut self, path: Vec<Seg>, text: &str, what: &str, max: usize) {
        if text.trim().is_empty() {
            self.err(path, format!("the {what} is empty"));
        } else if text.chars().count() > max {
            self.err(path, format!("the {what} is longer than {max} characters"));
        }
    }

    fn button_ref(&mut self, path: Vec<Seg>, project: &Project, id: &str) {
        if project.button(id).is_none() {
            self.err(path, format!("there is no button {id:?}"));
        }
    }

    fn led_mode(&mut self, path: Vec<Seg>, mode: &str) {
        if LedMode::parse(mode).is_none() {
            self.err(
                path,
                format!("unknown LED mode {mode:?}; use off, on, slow_blink or fast_blink"),
            );
        }
    }
}

pub(crate) fn validate(project: &Project, locator: &Locator<'_>) -> Vec<ProjectError> {
    let mut c = Checker {
        locator,
        errors: Vec::new(),
    };
    c.text(
        vec![k("project"), k("name")],
        &project.project.name,
        "project name",
        64,
    );

    // Buttons
    if project.buttons.len() > MAX_BUTTONS {
        c.err(
            vec![k("buttons")],
            format!("more than {MAX_BUTTONS} buttons"),
        );
    }
    let mut button_ids: HashMap<&str, usize> = HashMap::new();
    let mut group_kinds: HashMap<&str, usize> = HashMap::new();
    for (i, b) in project.buttons.iter().enumerate() {
        let base = vec![k("buttons"), Seg::Index(i)];
        c.id(at(&base, &[k("id")]), &b.id, "button");
        if let Some(first) = button_ids.insert(&b.id, i) {
            c.err(
                at(&base, &[k("id")]),
                format!("duplicate button id {:?} (also buttons[{first}])", b.id),
            );
            button_ids.insert(&b.id, first);
        }
        c.text(at(&base, &[k("label")]), &b.label, "label", MAX_LABEL_LEN);
        match (b.kind, &b.group) {
            (ButtonKind::Interlock, None) => c.err(
                at(&base, &[k("kind")]),
                "an interlock button needs a `group` (e.g. group = \"sources\")",
            ),
            (ButtonKind::Interlock, Some(g)) => {
                c.id(at(&base, &[k("group")]), g, "group");
                *group_kinds.entry(g).or_default() += 1;
            }
            (_, Some(_)) => c.err(
                at(&base, &[k("group")]),
                "only interlock buttons belong to a group (set kind = \"interlock\")",
            ),
            (_, None) => {}
        }
        if let Some(r) = &b.repeat {
            if b.kind != ButtonKind::Momentary {
                c.err(
                    at(&base, &[k("repeat")]),
                    "only momentary buttons repeat while held",
                );
            }
            if !(50..=5000).contains(&r.interval_ms) {
                c.err(
                    at(&base, &[k("repeat"), k("interval_ms")]),
                    "repeat interval_ms must be between 50 and 5000",
                );
            }
            if r.delay_ms > 5000 {
                c.err(
                    at(&base, &[k("repeat"), k("delay_ms")]),
                    "repeat delay_ms must be at most 5000",
                );
            }
        }
    }

    // Panels, pages, places
    if project.panels.is_empty() {
        c.err(
            vec![k("panels")],
            "the project has no panel; add a [[panels]] table",
        );
    }
    let mut panel_ids = HashSet::new();
    for (pi, panel) in project.panels.iter().enumerate() {
        let base = vec![k("panels"), Seg::Index(pi)];
        c.id(at(&base, &[k("id")]), &panel.id, "panel");
        if !panel_ids.insert(&panel.id) {
            c.err(
                at(&base, &[k("id")]),
                format!("duplicate panel id {:?}", panel.id),
            );
        }
        c.text(at(&base, &[k("name")]), &panel.name, "panel name", 64);
        for (field, v) in [("columns", panel.columns), ("rows", panel.rows)] {
            if v == 0 || v > MAX_GRID {
                c.err(
                    at(&base, &[k(field)]),
                    format!("{field} must be between 1 and {MAX_GRID}"),
                );
            }
        }
        if let Some(pin) = &panel.pin {
            if !(4..=12).contains(&pin.len()) || !pin.chars().all(|ch| ch.is_ascii_digit()) {
                c.err(at(&base, &[k("pin")]), "a panel PIN is 4 to 12 digits");
            }
        }
        if panel.pages.is_empty() {
            c.err(at(&base, &[k("pages")]), "a panel needs at least one page");
        }
        let mut page_ids = HashSet::new();
        for (gi, page) in panel.pages.iter().enumerate() {
            let pbase = at(&base, &[k("pages"), Seg::Index(gi)]);
            c.id(at(&pbase, &[k("id")]), &page.id, "page");
            if !page_ids.insert(&page.id) {
                c.err(
                    at(&pbase, &[k("id")]),
                    format!("duplicate page id {:?} in this panel", page.id),
                );
            }
            c.text(
                at(&pbase, &[k("title")]),
                &page.title,
                "page title",
                MAX_LABEL_LEN,
            );
            let mut cells: HashMap<(u8, u8), usize> = HashMap::new();
            for (bi, place) in page.buttons.iter().enumerate() {
                let bbase = at(&pbase, &[k("buttons"), Seg::Index(bi)]);
                c.button_ref(at(&bbase, &[k("button")]), project, &place.button);
                if place.width == 0 || place.height == 0 {
                    c.err(
                        at(&bbase, &[k("width")]),
                        "width and height must be at least 1",
                    );
                    continue;
                }
                let fits_cols = place.col as u16 + place.width as u16 <= panel.columns as u16;
                let fits_rows = place.row as u16 + place.height as u16 <= panel.rows as u16;
                if !fits_cols {
                    c.err(
                        at(&bbase, &[k("col")]),
                        format!(
                            "col {} with width {} does not fit in {} columns",
                            place.col, place.width, panel.columns
                        ),
                    );
                }
                if !fits_rows {
                    c.err(
                        at(&bbase, &[k("row")]),
                        format!(
                            "row {} with height {} does not fit in {} rows",
                            place.row, place.height, panel.rows
                        ),
                    );
                }
                if !(fits_cols && fits_rows) {
                    continue;
                }
                'cells: for r in place.row..place.row + place.height {
                    for col in place.col..place.col + place.width {
                        if let Some(other) = cells.insert((r, col), bi) {
                            c.err(
                                at(&bbase, &[k("row")]),
                                format!(
                                    "overlaps buttons[{other}] on this page at row {r}, col {col}"
                                ),
                            );
                            break 'cells;
                        }
                    }
                }
            }
        }
    }

    validate_logic(project, &mut c);
    c.errors
}

fn validate_logic(project: &Project, c: &mut Checker<'_, '_>) {
    use crate::logic::{
        decode_escapes, decode_hex, feedback::compile_regex, parse_device_address, parse_http_step,
        parse_serial, schedule, AddressError,
    };

    let mut devices: HashMap<&str, Transport> = HashMap::new();
    for (i, d) in project.devices.iter().enumerate() {
        let base = vec![k("devices"), Seg::Index(i)];
        c.id(at(&base, &[k("id")]), &d.id, "device");
        if devices.insert(d.id.as_str(), d.transport).is_some() {
            c.err(
                at(&base, &[k("id")]),
                format!("duplicate device id {:?}", d.id),
            );
        }
        if d.address.trim().is_empty() {
            c.err(at(&base, &[k("address")]), "the device address is empty");
        } else if d.transport == Transport::Serial {
            match parse_serial(&d.address, d.serial.as_deref()) {
                Err(AddressError::NotSerialPath) => c.err(
                    at(&base, &[k("address")]),
                    AddressError::NotSerialPath.to_string(),
                ),
                Err(e) => c.err(at(&base, &[k("serial")]), e.to_string()),
                Ok(_) => {}
            }
        } else if let Err(e) = parse_device_address(d.transport, &d.address) {
            c.err(at(&base, &[k("address")]), e.to_string());
        }
        if d.serial.is_some() && d.transport != Transport::Serial {
            c.err(
                at(&base, &[k("serial")]),
                "only serial devices have serial settings",
            );
        }
        match decode_escapes(&d.terminator) {
            Err(e) => c.err(at(&base, &[k("terminator")]), e.to_string()),
            Ok(t) if t.len() > 8 => c.err(
                at(&base, &[k("terminator")]),
                "a terminator is at most 8 bytes",
            ),
            Ok(_) => {}
        }
        if let Some(poll) = &d.poll {
            let parsed = match d.transport {
                Transport::Http => parse_http_step(poll).map(|_| ()).map_err(|e| e.to_string()),
                _ => decode_escapes(poll).map(|_| ()).map_err(|e| e.to_string()),
            };
            if let Err(e) = parsed {
                c.err(at(&base, &[k("poll")]), e);
            }
        }
        if !(1..=3600).contains(&d.poll_secs) {
            c.err(
                at(&base, &[k("poll_secs")]),
                "poll_secs must be between 1 and 3600",
            );
        }
        if !(1..=3600).contains(&d.reconnect_secs) {
            c.err(
                at(&base, &[k("reconnect_secs")]),
                "reconnect_secs must be between 1 and 3600",
            );
        }
        if let Some(b) = &d.status_led {
            c.button_ref(at(&base, &[k("status_led")]), project, b);
        }
    }
    let device_ref = |c: &mut Checker<'_, '_>, path: Vec<Seg>, id: &str| -> Option<Transport> {
        let found = devices.get(id).copied();
        if found.is_none() {
            c.err(path, format!("there is no device {id:?}"));
        }
        found
    };
    let mut seq_ids = HashSet::new();
    // Which buttons a button's sequences press, to refuse press loops.
    let mut presses: HashMap<&str, Vec<&str>> = HashMap::new();
    for (i, s) in project.sequences.iter().enumerate() {
        let base = vec![k("sequences"), Seg::Index(i)];
        c.id(at(&base, &[k("id")]), &s.id, "sequence");
        if !seq_ids.insert(s.id.as_str()) {
            c.err(
                at(&base, &[k("id")]),
                format!("duplicate sequence id {:?}", s.id),
            );
        }
        c.button_ref(at(&base, &[k("button")]), project, &s.button);
        if s.steps.is_empty() {
            c.err(
                at(&base, &[k("steps")]),
                "a sequence needs at least one step",
            );
        }
        if s.steps.len() > MAX_STEPS {
            c.err(
                at(&base, &[k("steps")]),
                format!("a sequence has at most {MAX_STEPS} steps"),
            );
        }
        for (j, step) in s.steps.iter().enumerate() {
            let sbase = at(&base, &[k("steps"), Seg::Index(j)]);
            let actions = [
                step.send.is_some(),
                step.send_hex.is_some(),
                step.http.is_some(),
                step.wait_ms.is_some(),
                step.led.is_some(),
                step.press.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if actions != 1 {
                c.err(
                    sbase.clone(),
                    "a step has exactly one of send, send_hex, http, wait_ms, led, press",
                );
            }
            let sends = step.send.is_some() || step.send_hex.is_some();
            if sends || step.http.is_some() {
                match &step.device {
                    Some(d) => match device_ref(c, at(&sbase, &[k("device")]), d) {
                        Some(Transport::Http) if sends => c.err(
                            at(&sbase, &[k("device")]),
                            format!("{d:?} is an http device; use an `http` step"),
                        ),
                        Some(Transport::Tcp | Transport::Udp | Transport::Serial)
                            if step.http.is_some() =>
                        {
                            c.err(
                                at(&sbase, &[k("device")]),
                                format!("{d:?} is not an http device; use `send` or `send_hex`"),
                            )
                        }
                        _ => {}
                    },
                    None => c.err(sbase.clone(), "this step needs a `device`"),
                }
            } else if step.device.is_some() {
                c.err(
                    at(&sbase, &[k("device")]),
                    "only send, send_hex and http steps go to a device",
                );
            }
            if let Some(text) = &step.send {
                if let Err(e) = decode_escapes(text) {
                    c.err(at(&sbase, &[k("send")]), e.to_string());
                }
            }
            if let Some(text) = &step.send_hex {
                match decode_hex(text) {
                    Err(e) => c.err(at(&sbase, &[k("send_hex")]), e.to_string()),
                    Ok(b) if b.is_empty() => {
                        c.err(at(&sbase, &[k("send_hex")]), "send_hex holds no bytes")
                    }
                    Ok(_) => {}
                }
            }
            if let Some(text) = &step.http {
                if let Err(e) = parse_http_step(text) {
                    c.err(at(&sbase, &[k("http")]), e.to_string());
                }
            } else if step.body.is_some() {
                c.err(at(&sbase, &[k("body")]), "only an http step has a body");
            }
            if let Some(mode) = &step.led {
                c.led_mode(at(&sbase, &[k("led")]), mode);
                match &step.button {
                    Some(b) => c.button_ref(at(&sbase, &[k("button")]), project, b),
                    None => c.err(sbase.clone(), "an `led` step needs a `button`"),
                }
            } else if step.button.is_some() {
                c.err(
                    at(&sbase, &[k("button")]),
                    "`button` belongs to an `led` step; to press a button use `press`",
                );
            }
            if let Some(b) = &step.press {
                c.button_ref(at(&sbase, &[k("press")]), project, b);
                presses
                    .entry(s.button.as_str())
                    .or_default()
                    .push(b.as_str());
            }
            if let Some(w) = step.wait_ms {
                if w > 600_000 {
                    c.err(
                        at(&sbase, &[k("wait_ms")]),
                        "wait_ms must be at most 600000 (10 minutes)",
                    );
                }
            }
        }
    }
    // A press step that leads back to its own button would run forever.
    for (i, s) in project.sequences.iter().enumerate() {
        for (j, step) in s.steps.iter().enumerate() {
            let Some(target) = step.press.as_deref() else {
                continue;
            };
            if let Some(chain) = press_path(&presses, target, &s.button) {
                let path = vec![
                    k("sequences"),
                    Seg::Index(i),
                    k("steps"),
                    Seg::Index(j),
                    k("press"),
                ];
                c.err(
                    path,
                    format!(
                        "pressing {target:?} leads back to {:?} ({}), which would repeat forever",
                        s.button,
                        chain.join(" -> ")
                    ),
                );
            }
        }
    }
    for (i, f) in project.feedback.iter().enumerate() {
        let base = vec![k("feedback"), Seg::Index(i)];
        device_ref(c, at(&base, &[k("device")]), &f.device);
        if f.equals.is_some() == f.regex.is_some() {
            c.err(
                base.clone(),
                "a feedback rule has exactly one of `equals` and `regex`",
            );
        }
        if let Some(expr) = &f.regex {
            if let Err(e) = compile_regex(expr) {
                c.err(at(&base, &[k("regex")]), e.to_string());
            }
        }
        if f.press.is_some() == f.led.is_some() {
            c.err(
                base.clone(),
                "a feedback rule has exactly one of `press` and `led`",
            );
        }
        if let Some(b) = &f.press {
            if !b.contains('$') {
                c.button_ref(at(&base, &[k("press")]), project, b);
            }
        }
        if let Some(mode) = &f.led {
            if !mode.contains('$') {
                c.led_mode(at(&base, &[k("led")]), mode);
            }
            match &f.button {
                Some(b) if !b.contains('$') => c.button_ref(at(&base, &[k("button")]), project, b),
                Some(_) => {}
                None => c.err(base.clone(), "a feedback rule with `led` needs a `button`"),
            }
        } else if f.button.is_some() {
            c.err(
                at(&base, &[k("button")]),
                "`button` belongs to an `led` rule; to press a button use `press`",
            );
        }
    }
    let mut timer_ids = HashSet::new();
    for (i, t) in project.timers.iter().enumerate() {
        let base = vec![k("timers"), Seg::Index(i)];
        c.id(at(&base, &[k("id")]), &t.id, "timer");
        if !timer_ids.insert(t.id.as_str()) {
            c.err(
                at(&base, &[k("id")]),
                format!("duplicate timer id {:?}", t.id),
            );
        }
        c.button_ref(at(&base, &[k("press")]), project, &t.press);
        if let Err(e) = schedule::parse_cron(&t.cron) {
            c.err(at(&base, &[k("cron")]), e.to_string());
        }
        if let Err(e) = schedule::parse_time_zone(&t.time_zone) {
            c.err(at(&base, &[k("time_zone")]), e.to_string());
        }
    }
}

/// The chain of buttons from `from` to `to` through sequences' press steps.
fn press_path<'a>(
    presses: &HashMap<&'a str, Vec<&'a str>>,
    from: &'a str,
    to: &str,
) -> Option<Vec<&'a str>> {
    let mut seen = HashSet::new();
    let mut stack = vec![vec![from]];
    while let Some(chain) = stack.pop() {
        let last = *chain.last()?;
        if last == to {
            return Some(chain);
        }
        if !seen.insert(last) {
            continue;
        }
        for next in presses.get(last).into_iter().flatten() {
            let mut longer = chain.clone();
            longer.push(next);
            stack.push(longer);
        }
    }
    None
}
