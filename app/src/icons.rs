//! The panel icon set lives in controller-core (the designer's icon picker
//! shows the same icons).

pub use controller_core::icons::path;
