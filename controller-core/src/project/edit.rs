//! Writing an edited project back into the installer's own TOML text.
//!
//! The designer edits a [`Project`] (the model); the installer keeps editing
//! the file by hand. [`edit_toml`] makes the two alternate: it takes the
//! original text and the edited model and returns text in which
//! - everything not edited is byte for byte what it was (comments, blank
//!   lines, key order, quoting, `-80` rather than `-80.0`),
//! - an edited value changes in place (keeping the comment after it),
//! - an added item is appended to its list (`[[buttons]]` after the last
//!   button), a removed one is removed, reordered items move with their
//!   comments,
//! - a field the model holds at its default and the original left out stays
//!   left out (a new button is written with the fields it needs, not with
//!   `kind = "momentary"` and `color = "green"`).
//!
//! How: the model is serialised to TOML and read as a second
//! [`toml_edit::DocumentMut`]; that document is merged into the original
//! one value by value. List items are matched by `id` where they have one,
//! else by equal content, else by position. Keys the merge had to add are
//! then dropped again wherever the text still reads back as the edited model
//! without them (that is what "default" means, without a list of defaults to
//! keep in step with the schema). The result is checked: it must read back
//! as the edited model, else the plain serialisation is returned.

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike, Value};

use super::Project;

/// The edited project as TOML, keeping `original`'s comments, formatting and
/// order for everything not edited. `original` that is not TOML at all gives
/// the plain serialisation ([`Project::to_toml`]).
pub fn edit_toml(original: &str, edited: &Project) -> String {
    let fresh = edited.to_toml();
    let (Ok(mut doc), Ok(mut new)) = (
        original.parse::<DocumentMut>(),
        fresh.parse::<DocumentMut>(),
    ) else {
        return fresh;
    };
    house_style(&mut new);
    let mut merge = Merge::default();
    let mut path = Vec::new();
    merge.table(
        doc.as_table_mut(),
        table_entries(new.as_table().clone()),
        &mut path,
    );
    if merge.reordered {
        renumber(doc.as_table_mut(), &mut 0);
    }
    prune_defaults(&mut doc, merge.inserted, edited);
    let text = doc.to_string();
    if reads_as(&text, edited) {
        text
    } else {
        fresh
    }
}

/// Whether `text` deserialises (shape only: the designer saves projects that
/// do not validate yet too) to exactly `project`.
fn reads_as(text: &str, project: &Project) -> bool {
    // The devices' state variables are not in the file: they are made from
    // the devices' drivers, so equal devices have equal state.
    toml::from_str::<Project>(text).is_ok_and(|mut p| {
        p.device_state.clone_from(&project.device_state);
        p.booking_state.clone_from(&project.booking_state);
        &p == project
    })
}

/// One step of a path from the document's root to a key the merge added.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Default)]
struct Merge {
    /// Keys added to tables that were already there (paths from the root),
    /// candidates for [`prune_defaults`].
    inserted: Vec<Vec<Seg>>,
    /// A list of tables changed order, so the tables' positions in the
    /// document must be renumbered.
    reordered: bool,
}

impl Merge {
    /// `new`'s keys into `old`: shared keys merged, new keys appended (and
    /// remembered), keys `new` lacks removed. `old`'s key order is kept.
    fn table(&mut self, old: &mut dyn TableLike, new: Vec<(String, Item)>, path: &mut Vec<Seg>) {
        let names: Vec<String> = new.iter().map(|(k, _)| k.clone()).collect();
        let gone: Vec<String> = old
            .iter()
            .map(|(k, _)| k.to_string())
            .filter(|k| !names.contains(k))
            .collect();
        for key in gone {
            old.remove(&key);
        }
        for (key, item) in new {
            path.push(Seg::Key(key.clone()));
            match old.get_mut(&key) {
                Some(existing) => self.item(existing, item, path),
                None => {
                    let mut item = item;
                    clear_positions(&mut item);
                    self.new_item(path, &item);
                    old.insert(&key, item);
                }
            }
            path.pop();
        }
    }

    /// A key added with its value: the value's own keys (in tables and
    /// lists of tables) are the candidates for pruning, so a new section's
    /// items are written without their defaults too; a plain value is one.
    fn new_item(&mut self, path: &mut Vec<Seg>, item: &Item) {
        match item {
            Item::Table(t) => {
                for (k, v) in t.iter() {
                    path.push(Seg::Key(k.to_string()));
                    self.new_item(path, v);
                    path.pop();
                }
            }
            Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    path.push(Seg::Index(i));
                    for (k, v) in t.iter() {
                        path.push(Seg::Key(k.to_string()));
                        self.new_item(path, v);
                        path.pop();
                    }
                    path.pop();
                }
            }
            Item::Value(Value::Array(a))
                if a.iter().all(Value::is_inline_table) && !a.is_empty() =>
            {
                for (i, v) in a.iter().enumerate() {
                    path.push(Seg::Index(i));
                    for (k, _) in v.as_inline_table().into_iter().flat_map(|t| t.iter()) {
                        path.push(Seg::Key(k.to_string()));
                        self.inserted.push(path.clone());
                        path.pop();
                    }
                    path.pop();
                }
            }
            _ => self.inserted.push(path.clone()),
        }
    }

    /// The keys of a new list item, as candidates for pruning.
    fn new_keys<'k>(&mut self, path: &[Seg], keys: impl Iterator<Item = &'k str>) {
        for key in keys {
            let mut p = path.to_vec();
            p.push(Seg::Key(key.to_string()));
            self.inserted.push(p);
        }
    }

    fn item(&mut self, old: &mut Item, new: Item, path: &mut Vec<Seg>) {
        match (old, new) {
            (Item::Table(o), Item::Table(n)) => self.table(o, table_entries(n), path),
            (Item::Table(o), Item::Value(Value::InlineTable(n))) => {
                self.table(o, inline_entries(n), path)
            }
            (Item::ArrayOfTables(o), Item::ArrayOfTables(n)) => {
                self.tables(o, n.into_iter().collect(), path)
            }
            (Item::ArrayOfTables(o), Item::Value(Value::Array(n)))
                if n.iter().all(Value::is_inline_table) =>
            {
                let tables = n
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::InlineTable(t) => Some(t.into_table()),
                        _ => None,
                    })
                    .collect();
                self.tables(o, tables, path)
            }
            (Item::Value(o), Item::ArrayOfTables(n)) if o.is_array() => {
                let array = n.into_array();
                self.value(o, Value::Array(array), path)
            }
            (Item::Value(o), Item::Table(n)) if o.is_inline_table() => {
                let inline = n.into_inline_table();
                self.value(o, Value::InlineTable(inline), path)
            }
            (Item::Value(o), Item::Value(n)) => self.value(o, n, path),
            (old, mut new) => {
                clear_positions(&mut new);
                *old = new;
            }
        }
    }

    fn value(&mut self, old: &mut Value, new: Value, path: &mut Vec<Seg>) {
        match (old, new) {
            (Value::InlineTable(o), Value::InlineTable(n)) => {
                self.table(o, inline_entries(n), path)
            }
            (Value::Array(o), Value::Array(n)) => self.array(o, n, path),
            (old, new) => {
                if !same_value(old, &new) {
                    let decor = old.decor().clone();
                    *old = new;
                    *old.decor_mut() = decor;
                }
            }
        }
    }

    /// A list of tables (`[[buttons]]`): items matched, merged, rebuilt in
    /// the new order.
    fn tables(&mut self, old: &mut ArrayOfTables, new: Vec<Table>, path: &mut Vec<Seg>) {
        let olds: Vec<Table> = old.iter().cloned().collect();
        let pairs = match_items(
            &olds.iter().map(table_id).collect::<Vec<_>>(),
            &new.iter().map(table_id).collect::<Vec<_>>(),
            |i, j, loose| {
                if loose {
                    table_within(&olds[i], &new[j])
                } else {
                    same_table(&olds[i], &new[j])
                }
            },
        );
        let mut previous = None;
        let mut out = ArrayOfTables::new();
        for (index, (n, matched)) in new.into_iter().zip(pairs).enumerate() {
            path.push(Seg::Index(index));
            match matched {
                Some(i) => {
                    if previous.is_some_and(|p| p > i) {
                        self.reordered = true;
                    }
                    previous = Some(i);
                    let mut t = olds[i].clone();
                    self.table(&mut t, table_entries(n), path);
                    out.push(t);
                }
                None => {
                    let mut item = Item::Table(n);
                    self.new_item(path, &item);
                    clear_positions(&mut item);
                    if let Item::Table(t) = item {
                        out.push(t);
                    }
                }
            }
            path.pop();
        }
        *old = out;
    }

    /// An inline array (`steps = [...]`, places): items matched, merged,
    /// rebuilt in the new order; new items take the layout (indentation,
    /// line breaks) of the list's existing items.
    fn array(&mut self, old: &mut Array, new: Array, path: &mut Vec<Seg>) {
        let olds: Vec<Value> = old.iter().cloned().collect();
        let news: Vec<Value> = new.into_iter().collect();
        let pairs = match_items(
            &olds.iter().map(value_id).collect::<Vec<_>>(),
            &news.iter().map(value_id).collect::<Vec<_>>(),
            |i, j, loose| match (loose, olds[i].as_inline_table(), news[j].as_inline_table()) {
                (true, Some(o), Some(n)) => o
                    .iter()
                    .all(|(k, v)| n.get(k).is_some_and(|w| same_value(v, w))),
                _ => same_value(&olds[i], &news[j]),
            },
        );
        let layout = olds.last().map(|v| v.decor().clone());
        let first_layout = olds.first().map(|v| v.decor().clone());
        old.clear();
        for (index, (n, matched)) in news.into_iter().zip(pairs).enumerate() {
            path.push(Seg::Index(index));
            let v = match matched {
                Some(i) => {
                    let mut v = olds[i].clone();
                    self.value(&mut v, n, path);
                    // An item that moved to the front or away from it takes
                    // the decor of its new place (no leading space after `[`).
                    if let (Some(first), Some(last)) = (&first_layout, &layout) {
                        if index == 0 && i != 0 {
                            *v.decor_mut() = first.clone();
                        } else if index != 0 && i == 0 {
                            *v.decor_mut() = last.clone();
                        }
                    }
                    v
                }
                None => {
                    if let Some(t) = n.as_inline_table() {
                        self.new_keys(path, t.iter().map(|(k, _)| k));
                    }
                    let mut v = n;
                    match (&layout, &first_layout) {
                        (Some(_), Some(first)) if index == 0 => *v.decor_mut() = first.clone(),
                        (Some(last), _) => *v.decor_mut() = last.clone(),
                        _ => {}
                    }
                    v
                }
            };
            old.push_formatted(v);
            path.pop();
        }
    }
}

/// For each new item, the old item it continues (`None`: it is new). By id
/// first, then by equal content, then by content the old item spells out
/// (`same(i, j, true)`: the new one adds only keys, defaults the model
/// writes out), then by position among items without id.
fn match_items(
    old_ids: &[Option<String>],
    new_ids: &[Option<String>],
    same: impl Fn(usize, usize, bool) -> bool,
) -> Vec<Option<usize>> {
    let mut used = vec![false; old_ids.len()];
    let mut out = vec![None; new_ids.len()];
    for (j, id) in new_ids.iter().enumerate() {
        if let Some(id) = id {
            if let Some(i) =
                (0..old_ids.len()).find(|&i| !used[i] && old_ids[i].as_ref() == Some(id))
            {
                used[i] = true;
                out[j] = Some(i);
            }
        }
    }
    for loose in [false, true] {
        for (j, slot) in out.iter_mut().enumerate() {
            if slot.is_none() {
                if let Some(i) = (0..old_ids.len()).find(|&i| !used[i] && same(i, j, loose)) {
                    used[i] = true;
                    *slot = Some(i);
                }
            }
        }
    }
    for j in 0..new_ids.len() {
        if out[j].is_none()
            && new_ids[j].is_none()
            && j < old_ids.len()
            && !used[j]
            && old_ids[j].is_none()
        {
            used[j] = true;
            out[j] = Some(j);
        }
    }
    out
}

fn table_id(t: &Table) -> Option<String> {
    t.get("id").and_then(Item::as_str).map(str::to_string)
}

/// An inline item's identity: its `id`, or for a place on a page what it
/// places (`button`, `level`, `text`).
fn value_id(v: &Value) -> Option<String> {
    let t = v.as_inline_table()?;
    ["id", "button", "level", "text"]
        .iter()
        .find_map(|k| t.get(k).and_then(Value::as_str).map(|s| format!("{k}={s}")))
}

fn table_entries(t: Table) -> Vec<(String, Item)> {
    t.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn inline_entries(t: InlineTable) -> Vec<(String, Item)> {
    t.into_iter()
        .map(|(k, v)| (k.to_string(), Item::Value(v)))
        .collect()
}

/// Equal as data: `-80` equals `-80.0`, `'\r'` equals `"\r"`.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.value() == y.value(),
        (Value::Boolean(x), Value::Boolean(y)) => x.value() == y.value(),
        (Value::Datetime(x), Value::Datetime(y)) => x.value() == y.value(),
        (Value::Integer(_) | Value::Float(_), Value::Integer(_) | Value::Float(_)) => {
            number(a) == number(b)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same_value(p, q))
        }
        (Value::InlineTable(x), Value::InlineTable(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => false,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i.value() as f64),
        Value::Float(f) => Some(*f.value()),
        _ => None,
    }
}

fn same_item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Value(x), Item::Value(y)) => same_value(x, y),
        (Item::Table(x), Item::Table(y)) => same_table(x, y),
        (Item::ArrayOfTables(x), Item::ArrayOfTables(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same_table(p, q))
        }
        _ => false,
    }
}

/// Every key of `a` is in `b` with the same value.
fn table_within(a: &Table, b: &Table) -> bool {
    a.iter()
        .all(|(k, v)| b.get(k).is_some_and(|w| same_item(v, w)))
}

fn same_table(a: &Table, b: &Table) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| same_item(v, w)))
}

/// The layout docs/project-format.md uses, for what the serialiser writes
/// as lists of tables: a page's places and a sequence's steps are inline
/// lists, one item a line (`buttons = [ { button = "power", row = 0, ... }, ]`).
fn house_style(doc: &mut DocumentMut) {
    let inline = |table: &mut Table, keys: &[&str]| {
        for key in keys {
            let Some(Item::ArrayOfTables(list)) = table.get(key) else {
                continue;
            };
            let mut array = Array::new();
            for t in list.iter() {
                let mut v = Value::InlineTable(t.clone().into_inline_table());
                v.decor_mut().set_prefix("\n  ");
                array.push_formatted(v);
            }
            array.set_trailing_comma(true);
            array.set_trailing("\n");
            table.insert(key, Item::Value(Value::Array(array)));
        }
    };
    let root = doc.as_table_mut();
    if let Some(Item::ArrayOfTables(panels)) = root.get_mut("panels") {
        for panel in panels.iter_mut() {
            if let Some(Item::ArrayOfTables(pages)) = panel.get_mut("pages") {
                for page in pages.iter_mut() {
                    inline(page, &["buttons", "levels", "texts", "meetings"]);
                }
            }
        }
    }
    if let Some(Item::ArrayOfTables(sequences)) = root.get_mut("sequences") {
        for sequence in sequences.iter_mut() {
            inline(sequence, &["steps"]);
        }
    }
}

/// Tables taken from the serialised model carry that document's positions;
/// without one, a table is written after the table before it in its list.
fn clear_positions(item: &mut Item) {
    match item {
        Item::Table(t) => {
            t.set_position(None);
            for (_, v) in t.iter_mut() {
                clear_positions(v);
            }
        }
        Item::ArrayOfTables(a) => {
            for t in a.iter_mut() {
                t.set_position(None);
                for (_, v) in t.iter_mut() {
                    clear_positions(v);
                }
            }
        }
        _ => {}
    }
}

/// Positions in document order (used after a list of tables was reordered,
/// since the document writes tables by position).
fn renumber(table: &mut Table, next: &mut isize) {
    if !table.is_dotted() {
        table.set_position(Some(*next));
        *next += 1;
    }
    for (_, v) in table.iter_mut() {
        match v {
            Item::Table(t) => renumber(t, next),
            Item::ArrayOfTables(a) => {
                for t in a.iter_mut() {
                    renumber(t, next);
                }
            }
            _ => {}
        }
    }
}

/// Drops the keys the merge added wherever the text still reads as the
/// edited model without them (defaults the original did not spell out).
/// First all at once (the usual case: one check); if that changes the
/// model, one at a time.
fn prune_defaults(doc: &mut DocumentMut, inserted: Vec<Vec<Seg>>, edited: &Project) {
    if inserted.is_empty() {
        return;
    }
    let mut all = doc.clone();
    // Deepest and last first, so earlier indices stay valid.
    for path in inserted.iter().rev() {
        remove_path(all.as_table_mut(), path);
    }
    if reads_as(&all.to_string(), edited) {
        *doc = all;
        return;
    }
    for path in inserted.iter().rev() {
        let mut trial = doc.clone();
        if remove_path(trial.as_table_mut(), path) && reads_as(&trial.to_string(), edited) {
            *doc = trial;
        }
    }
}

fn remove_path(root: &mut dyn TableLike, path: &[Seg]) -> bool {
    let Some((Seg::Key(last), parent)) = path.split_last() else {
        return false;
    };
    match table_at(root, parent) {
        Some(t) => t.remove(last).is_some(),
        None => false,
    }
}

fn table_at<'a>(table: &'a mut dyn TableLike, path: &[Seg]) -> Option<&'a mut dyn TableLike> {
    let Some(Seg::Key(key)) = path.first() else {
        return if path.is_empty() { Some(table) } else { None };
    };
    let item = table.get_mut(key)?;
    match path.get(1) {
        Some(Seg::Index(i)) => {
            let rest = &path[2..];
            match item {
                Item::ArrayOfTables(a) => table_at(a.get_mut(*i)?, rest),
                Item::Value(Value::Array(a)) => {
                    table_at(a.get_mut(*i)?.as_inline_table_mut()?, rest)
                }
                _ => None,
            }
        }
        _ => table_at(item.as_table_like_mut()?, &path[1..]),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::project::{demo_project, Button, Page, Place, DEMO_PROJECT_TOML};

    fn comments(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .collect()
    }

    /// Lines of `b` not in `a` and lines of `a` not in `b`, by position
    /// (only for texts with the same number of lines).
    fn changed_lines<'a>(a: &'a str, b: &'a str) -> Vec<(&'a str, &'a str)> {
        assert_eq!(a.lines().count(), b.lines().count());
        a.lines().zip(b.lines()).filter(|(x, y)| x != y).collect()
    }

    #[test]
    fn an_unedited_project_gives_the_same_bytes() {
        let project = demo_project().clone();
        assert_eq!(edit_toml(DEMO_PROJECT_TOML, &project), DEMO_PROJECT_TOML);
    }

    #[test]
    fn editing_one_label_changes_exactly_that_line() {
        let mut project = demo_project().clone();
        project.buttons[1].label = "Laptop".into();
        let text = edit_toml(DEMO_PROJECT_TOML, &project);
        assert_eq!(
            changed_lines(DEMO_PROJECT_TOML, &text),
            vec![("label = \"HDMI 1\"", "label = \"Laptop\"")]
        );
        assert!(reads_as(&text, &project));
    }

    #[test]
    fn a_comment_after_an_edited_value_stays() {
        let original = "[project]\nname = \"a\" # the room's name\nrevision = 1\n";
        let mut project: Project = toml::from_str(original).unwrap();
        project.project.name = "b".into();
        let text = edit_toml(original, &project);
        assert_eq!(
            text,
            "[project]\nname = \"b\" # the room's name\nrevision = 1\n"
        );
    }

    #[test]
    fn numbers_and_literal_strings_keep_their_spelling() {
        let original =
            "[project]\nname = 'x'\n\n[[levels]]\nid = \"v\"\nlabel = \"V\"\nmin = -80\nmax = 10\n";
        let project: Project = toml::from_str(original).unwrap();
        assert_eq!(edit_toml(original, &project), original);
    }

    #[test]
    fn an_added_button_is_appended_to_the_buttons_with_only_the_fields_it_needs() {
        let mut project = demo_project().clone();
        let last = project.buttons.last().unwrap().id.clone();
        project.buttons.push(Button {
            id: "blinds_up".into(),
            label: "Blinds up".into(),
            ..project.buttons[0].clone()
        });
        project.buttons.last_mut().unwrap().sublabel = None;
        project.buttons.last_mut().unwrap().icon = None;
        project.buttons.last_mut().unwrap().kind = Default::default();
        project.buttons.last_mut().unwrap().color = Default::default();
        project.buttons.last_mut().unwrap().led = Default::default();
        let text = edit_toml(DEMO_PROJECT_TOML, &project);
        assert!(reads_as(&text, &project));
        assert_eq!(comments(&text), comments(DEMO_PROJECT_TOML));
        let added = text.find("id = \"blinds_up\"").expect("the new button");
        let last_at = text.find(&format!("id = \"{last}\"")).unwrap();
        let panels_at = text.find("[[panels]]").unwrap();
        assert!(last_at < added && added < panels_at, "{text}");
        let block = &text[added..];
        let block = &block[..block.find("\n\n").unwrap_or(block.len())];
        assert_eq!(block, "id = \"blinds_up\"\nlabel = \"Blinds up\"", "{text}");
    }

    #[test]
    fn a_removed_button_and_its_places_are_removed_and_the_rest_kept() {
        let mut project = demo_project().clone();
        let id = project.buttons[2].id.clone();
        project.buttons.remove(2);
        for panel in &mut project.panels {
            for page in &mut panel.pages {
                page.buttons.retain(|p| p.button != id);
            }
        }
        project.sequences.retain(|s| s.button != id);
        project
            .feedback
            .retain(|f| f.button.as_deref() != Some(id.as_str()));
        let text = edit_toml(DEMO_PROJECT_TOML, &project);
        assert!(reads_as(&text, &project));
        assert!(!text.contains(&format!("\"{id}\"")), "{text}");
        // Only removals: the new text's lines are the original's, in order.
        let mut original = DEMO_PROJECT_TOML.lines();
        for line in text.lines() {
            assert!(original.any(|o| o == line), "{line} is new or moved");
        }
    }

    #[test]
    fn reordered_pages_move_with_their_comments() {
        let original = "[project]\nname = \"x\"\n\n[[panels]]\nid = \"t\"\nname = \"T\"\ncolumns = 2\nrows = 2\n\n# first\n[[panels.pages]]\nid = \"a\"\ntitle = \"A\"\n\n# second\n[[panels.pages]]\nid = \"b\"\ntitle = \"B\"\n\n# tail\n[[timers]]\nid = \"t1\"\ncron = \"0 0 7 * * *\"\npress = \"x\"\n";
        let mut project: Project = toml::from_str(original).unwrap();
        project.panels[0].pages.swap(0, 1);
        let text = edit_toml(original, &project);
        assert!(reads_as(&text, &project));
        let b = text.find("# second").unwrap();
        let a = text.find("# first").unwrap();
        assert!(b < a && a < text.find("# tail").unwrap(), "{text}");
        assert!(text.find("id = \"b\"").unwrap() < text.find("id = \"a\"").unwrap());
    }

    #[test]
    fn an_added_place_takes_the_layout_of_its_list() {
        let mut project = demo_project().clone();
        let page = &mut project.panels[0].pages[0];
        let taken: Vec<(u8, u8)> = page.buttons.iter().map(|p| (p.row, p.col)).collect();
        let (row, col) = (0..project.panels[0].rows)
            .flat_map(|r| (0..project.panels[0].columns).map(move |c| (r, c)))
            .find(|rc| !taken.contains(rc))
            .unwrap_or((0, 0));
        project.panels[0].pages[0].buttons.push(Place {
            button: "vol_up".into(),
            row,
            col,
            width: 1,
            height: 1,
        });
        let text = edit_toml(DEMO_PROJECT_TOML, &project);
        assert!(reads_as(&text, &project));
        assert_eq!(comments(&text), comments(DEMO_PROJECT_TOML));
        assert_eq!(
            text.lines().count(),
            DEMO_PROJECT_TOML.lines().count() + 1,
            "{text}"
        );
    }

    #[test]
    fn a_new_page_is_written_in_the_files_style_without_defaults() {
        let mut project = demo_project().clone();
        project.panels[0].pages.push(Page {
            id: "scenes".into(),
            title: "Scenes".into(),
            icon: None,
            buttons: vec![Place {
                button: "all_off".into(),
                row: 1,
                col: 2,
                width: 1,
                height: 1,
            }],
            levels: vec![],
            texts: vec![],
            meetings: vec![],
        });
        let text = edit_toml(DEMO_PROJECT_TOML, &project);
        assert!(reads_as(&text, &project));
        let expected = "[[panels.pages]]\nid = \"scenes\"\ntitle = \"Scenes\"\nbuttons = [\n  { button = \"all_off\", row = 1, col = 2 },\n]\n";
        assert!(text.contains(expected), "{text}");
        // It follows the panel's other pages, before the next panel.
        let at = text.find(expected).unwrap();
        assert!(
            at < text.find("id = \"wall\"").unwrap_or(text.len()),
            "{text}"
        );
    }

    #[test]
    fn not_toml_gives_the_plain_serialisation() {
        let project = demo_project().clone();
        assert_eq!(edit_toml("[[[", &project), project.to_toml());
    }

    /// One edit the designer can make.
    #[derive(Debug, Clone)]
    enum Edit {
        Label(usize, String),
        AddButton(String),
        AddPage(usize),
        SwapPages(usize),
        RemoveLastButtonPlace(usize),
        Revision(u32),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<usize>(), "[A-Za-z0-9 +#'\"\\\\-]{1,20}").prop_map(|(i, s)| Edit::Label(i, s)),
            "[a-z][a-z0-9_]{0,10}".prop_map(Edit::AddButton),
            any::<usize>().prop_map(Edit::AddPage),
            any::<usize>().prop_map(Edit::SwapPages),
            any::<usize>().prop_map(Edit::RemoveLastButtonPlace),
            any::<u32>().prop_map(Edit::Revision),
        ]
    }

    fn apply(project: &mut Project, edit: &Edit) {
        match edit {
            Edit::Label(i, s) => {
                let n = project.buttons.len();
                project.buttons[i % n].label = s.clone();
            }
            Edit::AddButton(id) => {
                let mut b = project.buttons[0].clone();
                b.id = format!("new_{id}");
                b.label = id.clone();
                project.buttons.push(b);
            }
            Edit::AddPage(i) => {
                let n = project.panels.len();
                let panel = &mut project.panels[i % n];
                let id = format!("page{}", panel.pages.len());
                panel.pages.push(Page {
                    id,
                    title: "New".into(),
                    icon: None,
                    buttons: vec![],
                    levels: vec![],
                    texts: vec![],
                    meetings: vec![],
                });
            }
            Edit::SwapPages(i) => {
                let n = project.panels.len();
                let panel = &mut project.panels[i % n];
                if panel.pages.len() > 1 {
                    panel.pages.swap(0, 1);
                }
            }
            Edit::RemoveLastButtonPlace(i) => {
                let n = project.panels.len();
                let panel = &mut project.panels[i % n];
                panel.pages[0].buttons.pop();
            }
            Edit::Revision(r) => project.project.revision = *r,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Any run of edits reads back as the edited model, keeps every
        /// comment, and editing the result again with no change is the
        /// identity.
        #[test]
        fn edits_read_back_and_keep_comments(edits in prop::collection::vec(edit(), 0..6)) {
            let mut project = demo_project().clone();
            for e in &edits {
                apply(&mut project, e);
            }
            let text = edit_toml(DEMO_PROJECT_TOML, &project);
            prop_assert!(reads_as(&text, &project));
            for c in comments(DEMO_PROJECT_TOML) {
                prop_assert!(text.contains(c), "lost comment {c}");
            }
            prop_assert_eq!(edit_toml(&text, &project), text.clone());
        }
    }
}
