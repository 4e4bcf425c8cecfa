//! A set of drivers by id: the library built into roomctl (the files of
//! `drivers/` in the repository, compiled in) plus a site's own drivers
//! (files an installer puts in the settings folder). Sans-IO: callers hand in
//! `(file name, text)` pairs; the server reads the folder.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::validate::id_from_file;
use super::{Driver, DriverErrors};
use crate::project::error::ProjectError;

/// The library's files: `(file name, text)`, compiled in by build.rs.
pub static BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_drivers.rs"));

/// Which files of a folder are drivers: `*.toml` but not `*.transcript.toml`.
pub fn is_driver_file(name: &str) -> bool {
    name.ends_with(".toml") && !name.ends_with(".transcript.toml")
}

/// The transcript file beside a driver file.
pub fn transcript_file(driver_file: &str) -> String {
    format!("{}.transcript.toml", driver_file.trim_end_matches(".toml"))
}

static SHARED: std::sync::OnceLock<Library> = std::sync::OnceLock::new();

#[derive(Debug, Clone, Default)]
pub struct Library {
    pub drivers: BTreeMap<String, Arc<Driver>>,
    /// Site drivers, by id (also in `drivers`).
    pub site: Vec<String>,
}

impl Library {
    /// The built-in library. Its files are checked by the test suite, so
    /// one that fails here is a build defect; it is left out, not fatal.
    pub fn builtin() -> Library {
        let (lib, _) = Library::load(BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string())));
        lib
    }

    /// The built-in library, read once per process: what projects name
    /// their drivers from (validation, the engine's device state, the
    /// server's device tasks all see the same drivers).
    pub fn shared() -> &'static Library {
        SHARED.get_or_init(Library::builtin)
    }

    /// Makes `library` (the built-in one plus a site's drivers) the one
    /// [`Library::shared`] gives, for the rest of the process. Only before
    /// anything has read the shared library: Err gives it back after that.
    pub fn install_shared(library: Library) -> Result<(), Library> {
        SHARED.set(library)
    }

    /// Drivers from files; the files that fail, with every error located.
    pub fn load(files: impl IntoIterator<Item = (String, String)>) -> (Library, Vec<DriverErrors>) {
        let mut lib = Library::default();
        let mut errors = Vec::new();
        for (name, text) in files {
            if !is_driver_file(&name) {
                continue;
            }
            match Driver::from_toml(&name, &text) {
                Ok(d) => {
                    lib.drivers.insert(d.id.clone(), Arc::new(d));
                }
                Err(e) => errors.push(e),
            }
        }
        (lib, errors)
    }

    /// Adds a site's drivers. A site driver may not reuse a library id
    /// (which one a project meant would be a guess).
    pub fn add_site(
        &mut self,
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Vec<DriverErrors> {
        let (site, mut errors) = Library::load(files);
        for (id, d) in site.drivers {
            if self.drivers.contains_key(&id) {
                errors.push(DriverErrors {
                    file: format!("{id}.toml"),
                    errors: vec![ProjectError {
                        line: 0,
                        column: 0,
                        path: String::new(),
                        message: format!(
                            "{id} is a library driver; give the site driver another file name"
                        ),
                    }],
                });
                continue;
            }
            self.site.push(id.clone());
            self.drivers.insert(id, d);
        }
        errors
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Driver>> {
        self.drivers.get(id)
    }

    /// The id a file would have.
    pub fn id_of(file: &str) -> &str {
        id_from_file(file)
    }
}

/// The list of drivers for docs/drivers.md: one row per driver with its
/// maker, models, protocol document, how it connects and what it supports.
pub fn list_markdown(library: &Library) -> String {
    let mut out = format!(
        "{} drivers.\n\n| driver | category | maker | models | document | connects | commands | state |\n|---|---|---|---|---|---|---|---|\n",
        library.drivers.len()
    );
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut drivers: Vec<&Arc<Driver>> = library.drivers.values().collect();
    drivers.sort_by(|a, b| (a.identity.category, &a.id).cmp(&(b.identity.category, &b.id)));
    for d in drivers {
        let commands: Vec<&str> = d.commands.iter().map(|c| c.name.as_str()).collect();
        let state: Vec<&str> = d.state.iter().map(|s| s.name.as_str()).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} ({}) | {} | {} | {} |\n",
            d.id,
            d.identity.category.as_str(),
            cell(&d.identity.maker),
            cell(&d.identity.models.join(", ")),
            cell(&d.identity.document),
            cell(&d.identity.document_version),
            connects(d),
            commands.join(", "),
            state.join(", "),
        ));
    }
    out
}

/// How a driver reaches its device, for the list: transport, default port,
/// and whether it logs in.
fn connects(d: &Driver) -> String {
    use super::TransportKind;
    let mut s = match (d.transport.kind, d.transport.port) {
        (TransportKind::Tcp, Some(p)) => format!("TCP {p}"),
        (TransportKind::Udp, Some(p)) => format!("UDP {p}"),
        (TransportKind::Serial, _) => match &d.transport.serial {
            Some(f) => format!("serial {} baud", f.baud),
            None => "serial".to_string(),
        },
        (TransportKind::Http, Some(p)) => format!("HTTP {p}"),
        (TransportKind::Tcp, None) => "TCP".to_string(),
        (TransportKind::Udp, None) => "UDP".to_string(),
        (TransportKind::Http, None) => "HTTP".to_string(),
    };
    if d.login.is_some() {
        s.push_str(", login");
    }
    if d.discovery.pjlink_search {
        s.push_str("; found by the PJLink search");
    }
    if !d.discovery.ssdp.is_empty() {
        s.push_str("; found by SSDP");
    }
    if !d.discovery.mdns.is_empty() {
        s.push_str(&format!(
            "; found by mDNS ({})",
            d.discovery.mdns.join(", ")
        ));
    }
    if matches!(d.framing, super::Framing::Datagram { .. }) {
        s.push_str(", one message per datagram");
    }
    s
}
