//! Conformance of every driver in `drivers/` (the repository's library):
//! each one validates, has a transcript beside it, produces the documented
//! bytes for each documented command, reads each documented reply into the
//! documented state, and agrees with its own simulator. A driver added
//! without a transcript, or one that drifts from its document, fails here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use controller_core::driver::library::{is_driver_file, transcript_file, Library, BUILTIN};
use controller_core::driver::transcript::Transcript;
use controller_core::driver::Driver;

fn library_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../drivers")
}

fn driver_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(library_dir())
        .expect("drivers/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            is_driver_file(&name)
                .then(|| (name, std::fs::read_to_string(&p).expect("readable driver")))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_driver_file_validates() {
    let files = driver_files();
    assert!(!files.is_empty(), "drivers/ holds the library");
    let mut failures = Vec::new();
    for (name, text) in &files {
        if let Err(e) = Driver::from_toml(name, text) {
            failures.push(e.to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_driver_conforms_to_its_transcript() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, text) in driver_files() {
        let Ok(driver) = Driver::from_toml(&name, &text) else {
            continue; // reported by every_driver_file_validates
        };
        let path = library_dir().join(transcript_file(&name));
        let Ok(t) = std::fs::read_to_string(&path) else {
            failures.push(format!(
                "{name}: no transcript ({} is missing)",
                path.display()
            ));
            continue;
        };
        let transcript = match Transcript::from_toml(&t) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{}: {e}", transcript_file(&name)));
                continue;
            }
        };
        if transcript.commands.is_empty() || transcript.replies.is_empty() {
            failures.push(format!("{name}: the transcript needs commands and replies"));
        }
        let report = transcript.check(&driver);
        checked += report.commands_checked + report.replies_checked;
        for f in report.failures {
            failures.push(format!("{name}: {f}"));
        }
        match transcript.round_trip(&Arc::new(driver)) {
            Ok(_) => {}
            Err(e) => failures.push(format!("{name}: against its simulator: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 0);
}

#[test]
fn the_compiled_in_library_is_the_folder() {
    let folder: Vec<String> = driver_files().into_iter().map(|(n, _)| n).collect();
    let builtin: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(builtin, folder, "build.rs compiles in every driver file");
    assert_eq!(Library::builtin().drivers.len(), folder.len());
}

#[test]
fn no_transcript_is_left_without_its_driver() {
    for entry in std::fs::read_dir(library_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".transcript.toml") {
            assert!(
                library_dir().join(format!("{stem}.toml")).exists(),
                "{name} has no driver beside it"
            );
        } else {
            assert!(
                name.ends_with(".toml"),
                "{name}: drivers/ holds only drivers and transcripts"
            );
        }
    }
}

/// docs/drivers.md lists the library as it is. Run with
/// `UPDATE_DRIVER_DOCS=1` to rewrite the list after adding a driver.
#[test]
fn the_driver_list_in_the_docs_is_up_to_date() {
    use controller_core::driver::library::list_markdown;
    const BEGIN: &str = "<!-- drivers:begin (generated: UPDATE_DRIVER_DOCS=1 cargo test -p controller-core --test driver_library) -->\n";
    const END: &str = "<!-- drivers:end -->";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/drivers.md");
    let doc = std::fs::read_to_string(&path).expect("docs/drivers.md exists");
    let start = doc
        .find(BEGIN)
        .expect("docs/drivers.md has the begin marker")
        + BEGIN.len();
    let end = doc.find(END).expect("docs/drivers.md has the end marker");
    let (files, _) = Library::load(driver_files());
    let list = list_markdown(&files);
    if std::env::var_os("UPDATE_DRIVER_DOCS").is_some() {
        let updated = format!("{}{list}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        &doc[start..end],
        list,
        "docs/drivers.md is out of date: UPDATE_DRIVER_DOCS=1 cargo test -p controller-core --test driver_library"
    );
}
