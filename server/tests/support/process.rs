//! A test re-run in a process of its own: this test executable started
//! again, filtered to exactly one test. For tests that need what a
//! process has only once: a network namespace of its own
//! ([`super::netns::in_namespace`]), the site-driver library, which a
//! controller installs once per process, or the process's memory, which a
//! test measures ([`alone`]).
//!
//! ```ignore
//! #[tokio::test]
//! async fn a_test() {
//!     if !alone("a_test") {
//!         return; // the test ran (and passed) in its own process
//!     }
//!     // ... the test body, in its own process ...
//! }
//! ```

use std::process::Command;

/// Set in the child of [`alone`]: "you are the process of your own".
const ALONE_ENV: &str = "ROOMCTL_TEST_ALONE";

/// Runs the calling test alone in a process of its own. Outside: re-runs
/// this executable filtered to exactly `test` and returns `false` (the
/// caller returns) once the child passed having run exactly that test;
/// panics when the child failed or ran no test (a misspelt name). Inside:
/// returns `true` (the caller runs the test body).
pub fn alone(test: &str) -> bool {
    if std::env::var_os(ALONE_ENV).is_some() {
        return true;
    }
    rerun(test, &[], ALONE_ENV, "its own process");
    false
}

/// Re-runs `test` of this executable under `wrapper` (a command and its
/// arguments, e.g. `unshare -n`; none: the executable itself) with `env`
/// set, and asserts that the child passed having run exactly that one
/// test. `place` names where it ran, for the messages.
pub(super) fn rerun(test: &str, wrapper: &[&str], env: &str, place: &str) {
    let exe = std::env::current_exe().expect("test binary path");
    let full = full_name(&exe, test);
    let mut command = match wrapper {
        [program, args @ ..] => {
            let mut c = Command::new(program);
            c.args(args).arg(&exe);
            c
        }
        [] => Command::new(&exe),
    };
    let out = command
        // --include-ignored: an ignored test (run with --ignored) runs in
        // its own process too.
        .args([
            full.as_str(),
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(env, "1")
        .output()
        .unwrap_or_else(|e| panic!("run {test} in {place}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown with the parent's result (libtest captures it unless asked not to).
    println!("--- {test} in {place}: stdout ---\n{stdout}");
    println!("--- stderr ---\n{stderr}");
    assert!(
        out.status.success(),
        "{test} failed inside {place} ({})",
        out.status
    );
    assert!(
        child_ran_exactly_one_test(&stdout),
        "{test} did not run inside {place}: the child did not report \
         `running 1 test` and `1 passed` (is the name passed the test's?)"
    );
}

/// The whole name libtest knows `test` by in this executable: in the one
/// integration-test executable a test is `<file>::<test>`. Read from the
/// executable's `--list`; when no test or more than one has that last
/// part, `test` itself, and the child then runs none (the caller's check
/// says so).
fn full_name(exe: &std::path::Path, test: &str) -> String {
    let out = Command::new(exe)
        .args(["--list", "--format", "terse"])
        .output()
        .expect("list this executable's tests");
    let suffix = format!("::{test}");
    let found: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .filter(|name| *name == test || name.ends_with(&suffix))
        .collect();
    match found.as_slice() {
        [one] => (*one).to_owned(),
        _ => test.to_owned(),
    }
}

/// Whether a test binary's output (run filtered to one test) says it ran
/// exactly one test and that it passed: a `running 1 test` line and a
/// `test result: ok. 1 passed; 0 failed; ...` line.
pub fn child_ran_exactly_one_test(stdout: &str) -> bool {
    let mut lines = stdout.lines().map(str::trim);
    let ran_one = lines.clone().any(|l| l == "running 1 test");
    let passed_one = lines.any(|l| {
        l.strip_prefix("test result: ok. 1 passed; 0 failed; 0 ignored;")
            .is_some()
    });
    ran_one && passed_one
}
