//! A driver's typed values: settings, state and parameters, and the
//! templates that carry them.

use super::*;

impl Check<'_, '_> {
    pub(super) fn typed_map(
        &mut self,
        section: &str,
        map: &BTreeMap<String, TypeSpec>,
        binary: bool,
        is_setting: bool,
    ) -> Vec<Typed> {
        let mut out = Vec::new();
        for (name, spec) in map {
            let path = vec![key(section), key(name)];
            if !is_name(name) {
                self.err(
                    &path,
                    "a name is lower-case letters, digits and _, starting with a letter",
                );
            }
            if spec.secret && !is_setting {
                let mut q = path.clone();
                q.push(key("secret"));
                self.err(&q, "only settings are secret");
            }
            if let Some(t) = self.typed(&path, name, spec, binary) {
                out.push(t);
            }
        }
        out
    }

    /// A type and its default.
    pub(super) fn typed(
        &mut self,
        path: &[Seg],
        name: &str,
        spec: &TypeSpec,
        binary: bool,
    ) -> Option<Typed> {
        let kind = self.kind(path, spec, binary)?;
        let default = match &spec.default {
            Some(v) => match kind.from_toml(v) {
                Ok(v) => Some(v),
                Err(e) => {
                    let mut q = path.to_vec();
                    q.push(key("default"));
                    self.err(&q, e);
                    None
                }
            },
            None => None,
        };
        Some(Typed {
            name: name.to_string(),
            kind,
            default,
            secret: spec.secret,
            unit: spec.unit.clone(),
            description: spec.description.clone(),
        })
    }

    pub(super) fn kind(&mut self, path: &[Seg], spec: &TypeSpec, binary: bool) -> Option<Kind> {
        let field = |f: &str| {
            let mut q = path.to_vec();
            q.push(key(f));
            q
        };
        let numeric = matches!(spec.kind, KindName::Int | KindName::Number);
        if !numeric && (spec.min.is_some() || spec.max.is_some()) {
            self.err(&field("min"), "min and max are for int and number");
        }
        if spec.kind != KindName::Enum && spec.values.is_some() {
            self.err(&field("values"), "values are for enum");
        }
        if spec.kind != KindName::Text && (spec.max_length.is_some() || spec.escape.is_some()) {
            self.err(&field("max_length"), "max_length and escape are for text");
        }
        if let (Some(a), Some(b)) = (spec.min, spec.max) {
            if a > b {
                self.err(&field("min"), "min is more than max");
            }
        }
        Some(match spec.kind {
            KindName::Int => {
                let whole = |v: Option<f64>| v.map(|v| v as i64);
                for (f, v) in [("min", spec.min), ("max", spec.max)] {
                    if v.is_some_and(|v| v.fract() != 0.0) {
                        self.err(&field(f), "an int's bounds are whole numbers");
                    }
                }
                Kind::Int {
                    min: whole(spec.min),
                    max: whole(spec.max),
                }
            }
            KindName::Number => Kind::Number {
                min: spec.min,
                max: spec.max,
            },
            KindName::Enum => {
                let Some(values) = spec.values.as_ref().filter(|v| !v.is_empty()) else {
                    self.err(
                        &field("type"),
                        "an enum lists its values (values = { on = \"1\", off = \"0\" })",
                    );
                    return None;
                };
                let mut seen = BTreeSet::new();
                for (n, w) in values {
                    let mut q = field("values");
                    q.push(key(n));
                    if n.is_empty() || n.chars().any(|c| c.is_control() || c.is_whitespace()) {
                        self.err(&q, "a value's name is one word");
                    }
                    if w.is_empty() {
                        self.err(&q, "a value's wire form is not empty");
                    }
                    if !seen.insert(w.to_ascii_lowercase()) {
                        self.err(&q, format!("two values are sent as {w:?}"));
                    }
                    if binary && parse_int(w).is_none_or(|i| !(0..=0xFFFF_FFFF).contains(&i)) {
                        self.err(&q, "a binary driver's value is a number (\"1\", \"0x21\")");
                    }
                }
                Kind::Enum(values.iter().map(|(n, w)| (n.clone(), w.clone())).collect())
            }
            KindName::Text => {
                let max_length = spec.max_length.unwrap_or(MAX_TEXT);
                if max_length == 0 || max_length > 4096 {
                    self.err(&field("max_length"), "max_length is 1 to 4096");
                }
                Kind::Text {
                    max_length,
                    escape: spec.escape.unwrap_or_default(),
                }
            }
        })
    }

    pub(super) fn template(
        &mut self,
        path: &[Seg],
        source: &str,
        binary: bool,
    ) -> Option<Template> {
        match Template::parse(source, binary) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }
}
