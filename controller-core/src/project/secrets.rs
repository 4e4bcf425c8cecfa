//! Project text as a non-admin may see it: panel PINs (and any password
//! a device entry carries) replaced by a placeholder. Secrets go to admins
//! only, on every service (the 5009 layout leaves the PIN out the same
//! way; `view::RoomLayout`).

use toml_edit::{DocumentMut, Item, Value};

/// What a hidden secret reads as.
pub const HIDDEN: &str = "(hidden: admins only)";

/// The keys whose values are secrets, wherever they appear.
const SECRET_KEYS: [&str; 5] = ["pin", "password", "passphrase", "secret", "token"];

/// `text` (a project file) with every secret value replaced by
/// [`HIDDEN`], formatting and comments kept. Text that is not TOML at all
/// is not shown (a secret could sit anywhere in it).
pub fn redact_secrets(text: &str) -> String {
    match text.parse::<DocumentMut>() {
        Ok(mut doc) => {
            redact_table(doc.as_table_mut());
            doc.to_string()
        }
        Err(_) => "# This file is not valid TOML; only admins can read it.\n".into(),
    }
}

fn is_secret(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

fn redact_table(table: &mut dyn toml_edit::TableLike) {
    for (key, item) in table.iter_mut() {
        if is_secret(key.get()) {
            if let Some(v) = item.as_value_mut() {
                let decor = v.decor().clone();
                *v = Value::from(HIDDEN);
                *v.decor_mut() = decor;
            }
        } else {
            redact_item(item);
        }
    }
}

fn redact_item(item: &mut Item) {
    match item {
        Item::Table(t) => redact_table(t),
        Item::ArrayOfTables(a) => a.iter_mut().for_each(|t| redact_table(t)),
        Item::Value(v) => redact_value(v),
        Item::None => {}
    }
}

fn redact_value(v: &mut Value) {
    match v {
        Value::InlineTable(t) => redact_table(t),
        Value::Array(a) => a.iter_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_hidden_wherever_they_are() {
        let text = "[[panels]]\nid = \"a\"\npin = \"1234\" # the tablet\n\n\
                    [[devices]]\nid = \"p\"\nlogin = { user = \"x\", password = \"s3cret\" }\n\
                    list = [{ pin = \"9876\" }]\n";
        let out = redact_secrets(text);
        for secret in ["1234", "s3cret", "9876"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(
            out.contains(HIDDEN) && out.contains("# the tablet"),
            "{out}"
        );
        assert!(out.contains("id = \"a\""), "{out}");
    }

    #[test]
    fn the_demo_keeps_its_meaning() {
        let out = redact_secrets(crate::project::DEMO_PROJECT_TOML);
        assert_eq!(out, crate::project::DEMO_PROJECT_TOML);
    }

    #[test]
    fn broken_text_is_not_shown() {
        assert!(!redact_secrets("pin = \"1234\"\n[[[").contains("1234"));
    }
}
