//! The room logic as a service (no port): devices, sequences, feedback and
//! timers of the running project (`crate::logic`), restarted for every new
//! project.

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{Service, StartEnv, StartError, Started};
use crate::config::Settings;

pub struct LogicService;

impl Service for LogicService {
    fn name(&self) -> &'static str {
        "logic"
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.logic.enabled
    }

    fn purpose(&self, _: &Settings) -> String {
        "room devices, sequences, feedback and timers (outgoing connections to the project's devices only, no port)".into()
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        // Subscribed before reading the project, so no load is missed.
        let (_, steps) = env.controller.subscribe();
        async move {
            Ok(Started::running(
                crate::logic::run(env.controller, env.shutdown, steps).boxed(),
            ))
        }
        .boxed()
    }
}
