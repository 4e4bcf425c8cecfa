//! Waiting for something that happens soon: the one poll loop of the tests.

use std::time::Duration;

use tokio::time::Instant;

/// How often [`eventually`] looks.
const POLL: Duration = Duration::from_millis(10);

/// What a condition of [`eventually`] returns: `bool`, or `Result<(), String>`
/// whose error says what was seen instead (it goes into the panic message).
pub trait Outcome {
    /// `None` when the condition holds; what was seen otherwise.
    fn failure(self) -> Option<String>;
}

impl Outcome for bool {
    fn failure(self) -> Option<String> {
        (!self).then(String::new)
    }
}

impl Outcome for Result<(), String> {
    fn failure(self) -> Option<String> {
        self.err()
    }
}

/// Polls `check` every 10 ms until it holds; panics after `timeout` with
/// "gave up after {timeout} waiting until {what}" (and, for a `Result`
/// condition, the last thing it saw).
pub async fn eventually<O: Outcome>(timeout: Duration, what: &str, mut check: impl FnMut() -> O) {
    let deadline = Instant::now() + timeout;
    loop {
        let Some(seen) = check().failure() else {
            return;
        };
        if Instant::now() >= deadline {
            if seen.is_empty() {
                panic!("gave up after {timeout:?} waiting until {what}");
            }
            panic!("gave up after {timeout:?} waiting until {what}; saw: {seen}");
        }
        tokio::time::sleep(POLL).await;
    }
}
