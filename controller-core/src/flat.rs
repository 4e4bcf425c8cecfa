//! Reading a tagged JSON object through one flat struct: every field any
//! kind has, each optional, checked against the object's `type` afterwards.
//! The panel's server messages (`panel.rs`) and the engine's changes
//! (`engine/wire.rs`) are read this way, because serde's tagged enums put a
//! second decoder per type into the panel's wasm (docs/performance.md).

/// Why a flat object could not be read as its kind.
#[derive(Debug)]
pub struct BadFlat(pub(crate) String);

impl std::fmt::Display for BadFlat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `field`, or the error that a `kind` `noun` ("message", "change") lacks
/// `name`.
pub fn need<T>(field: Option<T>, noun: &str, kind: &str, name: &str) -> Result<T, BadFlat> {
    field.ok_or_else(|| BadFlat(format!("a `{kind}` {noun} needs `{name}`")))
}
