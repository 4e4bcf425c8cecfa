//! The drivers a controller knows: the library compiled into roomctl plus a
//! site's own, read from a folder (`[project] drivers_dir`, by default
//! `site-drivers/` beside the settings file).
//! Every file that fails is reported with its located errors and left out;
//! the others load. Reading is bounded: only `*.toml` files, each at most
//! the driver size limit, at most [`MAX_SITE_DRIVERS`] of them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use controller_core::driver::library::{is_driver_file, Library};
use controller_core::driver::validate::MAX_DRIVER_BYTES;
use controller_core::driver::DriverErrors;
use controller_core::project::ProjectError;

/// More site drivers than this are refused (a folder is not a dump).
pub const MAX_SITE_DRIVERS: usize = 500;

fn whole_file(file: String, message: String) -> DriverErrors {
    DriverErrors {
        file,
        errors: vec![ProjectError {
            line: 0,
            column: 0,
            path: String::new(),
            message,
        }],
    }
}

/// What [`install`] found: the folder it read and the files it left out.
#[derive(Debug)]
pub struct Installed {
    pub folder: PathBuf,
    pub errors: Vec<DriverErrors>,
    /// The site drivers' ids, as loaded.
    pub site: Vec<String>,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Reads the site drivers in `folder` once per process and makes the
/// library with them the one every project is validated and driven with
/// (`Library::shared`). Called by `roomctl serve` before it reads a
/// project, so a project may name a site driver. A later call (another
/// folder included) changes nothing and returns the first one's report.
/// When something read the shared library before (the built-in drivers
/// alone), the site drivers cannot be added; that is reported too.
pub fn install(folder: &Path) -> &'static Installed {
    INSTALLED.get_or_init(|| {
        let (library, mut errors) = load(folder);
        let site = library.site.clone();
        if let Err(library) = Library::install_shared(library) {
            if library.site.is_empty() {
                return Installed {
                    folder: folder.to_path_buf(),
                    errors,
                    site,
                };
            }
            errors.push(whole_file(
                folder.display().to_string(),
                format!(
                    "the site drivers ({}) were read after the library was in use; restart to use them",
                    library.site.join(", ")
                ),
            ));
        }
        Installed {
            folder: folder.to_path_buf(),
            errors,
            site,
        }
    })
}

/// The library plus the site drivers in `folder` (none when it does not
/// exist), and what was wrong with the files left out.
pub fn load(folder: &Path) -> (Library, Vec<DriverErrors>) {
    let mut library = Library::builtin();
    let mut errors = Vec::new();
    let entries = match std::fs::read_dir(folder) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (library, errors),
        Err(e) => {
            errors.push(whole_file(
                folder.display().to_string(),
                format!("the drivers folder cannot be read: {e}"),
            ));
            return (library, errors);
        }
    };
    let mut files = Vec::new();
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok().map(|n| (n, e.path())))
        .filter(|(n, _)| is_driver_file(n))
        .collect();
    names.sort();
    for (i, (name, path)) in names.into_iter().enumerate() {
        if i >= MAX_SITE_DRIVERS {
            errors.push(whole_file(
                name,
                format!("more than {MAX_SITE_DRIVERS} site drivers; the rest are not read"),
            ));
            break;
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_DRIVER_BYTES as u64 => {
                errors.push(whole_file(
                    name,
                    format!(
                        "the driver is {} bytes; the limit is {MAX_DRIVER_BYTES}",
                        m.len()
                    ),
                ));
                continue;
            }
            Err(e) => {
                errors.push(whole_file(name, format!("cannot be read: {e}")));
                continue;
            }
            Ok(_) => {}
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((name, text)),
            Err(e) => errors.push(whole_file(name, format!("cannot be read: {e}"))),
        }
    }
    errors.extend(library.add_site(files));
    (library, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = r#"
[driver]
name = "Site relay"
maker = "Acme"
models = ["R1"]
category = "power"
document = "Acme relay protocol"
document_version = "1"

[transport]
type = "tcp"
port = 5000

[framing]
type = "line"
terminator = "\r"

[state.relay]
type = "enum"
values = { open = "0", closed = "1" }

[commands.relay]
send = "RELAY {value}"
params.value = { type = "enum", values = { open = "0", closed = "1" } }

[[responses]]
format = "RELAY={relay}"
"#;

    #[test]
    fn site_drivers_load_beside_the_library_and_bad_ones_are_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("acme-relay.toml"), SITE).unwrap();
        std::fs::write(
            dir.path().join("acme-broken.toml"),
            SITE.replace("send = \"RELAY {value}\"", "send = \"RELAY {valu}\""),
        )
        .unwrap();
        std::fs::write(dir.path().join("pjlink.toml"), SITE).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a driver").unwrap();
        let (library, errors) = load(dir.path());
        assert!(library.get("acme-relay").is_some());
        assert!(library.get("pjlink").is_some(), "the library keeps its own");
        assert!(library.get("acme-broken").is_none());
        assert_eq!(library.site, vec!["acme-relay".to_string()]);
        let broken = errors
            .iter()
            .find(|e| e.file == "acme-broken.toml")
            .unwrap();
        assert_eq!(broken.errors[0].path, "commands.relay.send");
        assert!(broken.errors[0].line > 0);
        assert!(errors
            .iter()
            .any(|e| e.to_string().contains("is a library driver")));
    }

    #[test]
    fn a_missing_folder_is_just_the_library() {
        let (library, errors) = load(Path::new("/nonexistent/roomctl-drivers"));
        assert!(errors.is_empty());
        assert_eq!(library.drivers.len(), Library::builtin().drivers.len());
    }
}
