//! What is wrong with a project file, and where: the errors reported to an
//! installer, and the locator that turns a field path into a line and column.
//!
//! Shared by parsing (shape errors) and validation (meaning errors), so
//! neither depends on the other.

use std::fmt;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One thing wrong with a project file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProjectError {
    /// 1-based line and column; 0 when the error has no place in the text.
    pub line: usize,
    pub column: usize,
    /// The field at fault, e.g. `buttons[3].group`; empty for the whole file.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}: ", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every error found in a project file, in the order of the text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProjectErrors(pub Vec<ProjectError>);

impl fmt::Display for ProjectErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the project has {n} error{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProjectErrors {}

/// A step in a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

pub(crate) fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

/// Turns byte offsets into 1-based line and column (in characters).
pub(crate) struct Positions<'a> {
    text: &'a str,
}

impl<'a> Positions<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Positions { text }
    }

    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

/// Finds where a field path sits in the text: the key when the last step is
/// a key (so "unknown field" points at the name), else the value.
///
/// A list section may be remapped ([`Locator::remap`]): parsing leaves out the
/// items whose shape is wrong, so index `i` of the parsed list is the
/// `remap[i]`-th item of the text, and every error is reported at the latter.
pub(crate) struct Locator<'a> {
    root: Option<Spanned<DeTable<'a>>>,
    positions: Positions<'a>,
    remaps: Vec<(String, Vec<usize>)>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Locator {
            root: DeTable::parse(text).ok(),
            positions: Positions::new(text),
            remaps: Vec::new(),
        }
    }

    /// From now on, `section[i]` in a path means `section[indices[i]]` of
    /// the text. Only lists that lost items need one.
    pub(crate) fn remap(&mut self, section: &str, indices: Vec<usize>) {
        if indices.iter().enumerate().any(|(i, n)| i != *n) {
            self.remaps.push((section.to_string(), indices));
        }
    }

    fn remapped(&self, path: &[Seg]) -> Vec<Seg> {
        let mut path = path.to_vec();
        if let [Seg::Key(section), Seg::Index(i), ..] = path.as_mut_slice() {
            if let Some((_, indices)) = self.remaps.iter().find(|(s, _)| s == section) {
                if let Some(n) = indices.get(*i) {
                    *i = *n;
                }
            }
        }
        path
    }

    fn span_of(&self, path: &[Seg]) -> Option<std::ops::Range<usize>> {
        let root = self.root.as_ref()?;
        let mut table: &DeTable = root.get_ref();
        let mut value: Option<&Spanned<DeValue>> = None;
        let mut best = None;
        for (i, seg) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            match seg {
                Seg::Key(k) => {
                    let (key, v) = table.iter().find(|(key, _)| key.get_ref().as_ref() == k)?;
                    best = Some(if last { key.span() } else { v.span() });
                    value = Some(v);
                }
                Seg::Index(n) => {
                    let DeValue::Array(arr) = value?.get_ref() else {
                        return best;
                    };
                    let v = arr.get(*n)?;
                    best = Some(v.span());
                    value = Some(v);
                }
            }
            if let Some(DeValue::Table(t)) = value.map(|v| v.get_ref()) {
                table = t;
            }
        }
        best
    }

    /// Line and column of the deepest part of `path` that exists in the text.
    pub(crate) fn locate(&self, path: &[Seg]) -> (usize, usize) {
        let mut path = path;
        loop {
            if let Some(span) = self.span_of(path) {
                return self.positions.line_col(span.start);
            }
            if path.is_empty() {
                return (0, 0);
            }
            path = &path[..path.len() - 1];
        }
    }

    pub(crate) fn error(&self, path: &[Seg], message: impl Into<String>) -> ProjectError {
        let path = self.remapped(path);
        let (line, column) = self.locate(&path);
        ProjectError {
            line,
            column,
            path: path_string(&path),
            message: message.into(),
        }
    }
}
