//! What the controller keeps on disk and reads back: projects and their
//! history, the settings file and the files holding secrets, this
//! installation's identity, the site's drivers, the versions of every
//! format, and the one way a file is replaced (whole or not at all).

pub mod durable;
pub mod formats;
pub mod installation;
pub mod project_history;
pub mod project_store;
pub mod secret_file;
pub mod settings_file;
pub mod site_drivers;
