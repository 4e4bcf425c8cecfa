//! The project parser (reached over FTP, the web admin page and Telnet
//! `project validate`): no input panics; every error it reports has a message.
#![no_main]

use controller_core::project::Project;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(errors) = Project::from_toml(text) {
            assert!(errors.0.iter().all(|e| !e.message.is_empty()));
        }
    }
});
