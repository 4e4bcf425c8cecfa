//! Field paths into the project model (`panels[0].pages[1].buttons[2].row`):
//! the validator names every error by one, and every control of the
//! designer is bound to one, so an error finds its control by its path.
//! The model is the project as JSON (serde's form of controller-core's
//! `Project`), so a value of the wrong type typed into a field is kept, and
//! named, instead of being lost.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Option<Vec<Seg<'_>>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = part.find('[').map_or((part, ""), |i| part.split_at(i));
        if !key.is_empty() {
            out.push(Seg::Key(key));
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            out.push(Seg::Index(index.strip_suffix(']')?.parse().ok()?));
        }
    }
    Some(out)
}

/// The value at `path`, if there is one.
pub fn get<'a>(model: &'a Value, path: &str) -> Option<&'a Value> {
    segments(path)?
        .into_iter()
        .try_fold(model, |v, seg| match seg {
            Seg::Key(k) => v.get(k),
            Seg::Index(i) => v.get(i),
        })
}

/// The value at `path` as text for an input (`""` when there is none).
pub fn text(model: &Value, path: &str) -> String {
    match get(model, path) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// The number of elements of the list at `path` (0 when there is none).
pub fn len(model: &Value, path: &str) -> usize {
    get(model, path)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// The ids of the list at `path` (`buttons`, `variables`).
pub fn ids(model: &Value, path: &str) -> Vec<String> {
    get(model, path)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("id").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The value at `path`, made (as an empty object or list on the way) when
/// missing; None when a list index is out of range or a value on the way
/// is not an object or list.
pub fn get_mut<'a>(model: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let segs = segments(path)?;
    let mut v = model;
    for (n, seg) in segs.iter().enumerate() {
        let next_is_index = matches!(segs.get(n + 1), Some(Seg::Index(_)));
        v = match seg {
            Seg::Key(k) => {
                if v.is_null() {
                    *v = Value::Object(Map::new());
                }
                let fresh = if next_is_index {
                    Value::Array(Vec::new())
                } else {
                    Value::Null
                };
                v.as_object_mut()?.entry(k.to_string()).or_insert(fresh)
            }
            Seg::Index(i) => v.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(v)
}

/// Sets the value at `path`; `None` removes the key (an optional field
/// left empty is not written into the file).
pub fn set(model: &mut Value, path: &str, value: Option<Value>) {
    match value {
        Some(value) => {
            if let Some(slot) = get_mut(model, path) {
                *slot = value;
            }
        }
        None => {
            let (parent, key) = match path.rsplit_once('.') {
                Some((parent, key)) => (parent, key),
                None => ("", path),
            };
            if key.ends_with(']') {
                return;
            }
            if let Some(obj) = get_mut(model, parent).and_then(Value::as_object_mut) {
                obj.remove(key);
            }
        }
    }
}

/// The list at `path`, made when missing.
pub fn list<'a>(model: &'a mut Value, path: &str) -> Option<&'a mut Vec<Value>> {
    let slot = get_mut(model, path)?;
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
}

/// The path of the control nearest to `path` among `controls`: itself, or
/// the nearest enclosing one (`buttons[3].enabled` for
/// `buttons[3].enabled.equals` when only the condition has a control).
pub fn nearest(path: &str, has: impl Fn(&str) -> bool) -> Option<&str> {
    let mut p = path;
    loop {
        if p.is_empty() {
            return None;
        }
        if has(p) {
            return Some(p);
        }
        let cut = p.rfind(['.', '['])?;
        if cut == 0 {
            return None;
        }
        p = &p[..cut];
    }
}

/// A number typed into a field: the number, or the text as it is for the
/// validator to name (letters in a number field).
pub fn number(text: &str) -> Option<Value> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    Some(match t.parse::<i64>() {
        Ok(n) => Value::from(n),
        Err(_) => t
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map_or_else(|| Value::String(text.to_string()), Value::from),
    })
}

/// A free id: `prefix1`, `prefix2`... the first not in `taken`.
pub fn unique_id(prefix: &str, taken: &[String]) -> String {
    (1..)
        .map(|i| format!("{prefix}{i}"))
        .find(|id| !taken.contains(id))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_and_write_the_model() {
        let mut m = json!({"panels": [{"pages": [{"buttons": [{"row": 1}]}]}]});
        assert_eq!(
            get(&m, "panels[0].pages[0].buttons[0].row"),
            Some(&json!(1))
        );
        set(&mut m, "panels[0].pages[0].buttons[0].row", Some(json!(2)));
        assert_eq!(text(&m, "panels[0].pages[0].buttons[0].row"), "2");
        set(&mut m, "panels[0].summary", Some(json!(["a"])));
        assert_eq!(len(&m, "panels[0].summary"), 1);
        set(&mut m, "panels[0].summary", None);
        assert_eq!(get(&m, "panels[0].summary"), None);
        list(&mut m, "buttons").unwrap().push(json!({"id": "b"}));
        assert_eq!(ids(&m, "buttons"), ["b"]);
        assert_eq!(get(&m, "panels[3]"), None);
    }

    #[test]
    fn an_error_finds_the_nearest_control() {
        let has = |p: &str| p == "buttons[3].enabled" || p == "buttons[3].id";
        assert_eq!(
            nearest("buttons[3].enabled.equals", has),
            Some("buttons[3].enabled")
        );
        assert_eq!(nearest("buttons[3].id", has), Some("buttons[3].id"));
        assert_eq!(nearest("buttons[4].id", has), None);
    }

    #[test]
    fn numbers_and_ids() {
        assert_eq!(number("12"), Some(json!(12)));
        assert_eq!(number("-1.5"), Some(json!(-1.5)));
        assert_eq!(number("four"), Some(json!("four")));
        assert_eq!(number(" "), None);
        assert_eq!(unique_id("button", &["button1".into()]), "button2");
    }
}
