//! The smallest service there is: no port, it waits for the shutdown. The
//! architecture tests start it beside real services (the controller's and
//! the station's supervisor) to show a new service needs nothing but the
//! `Service` trait.

use futures::future::BoxFuture;
use futures::FutureExt;
use roomctl::config::Settings;
use roomctl::services::{Service, StartEnv, StartError, Started};

/// A service without a port.
pub struct Idler;

impl Service for Idler {
    fn name(&self) -> &'static str {
        "idler"
    }
    fn enabled(&self, _: &Settings) -> bool {
        true
    }
    fn purpose(&self, _: &Settings) -> String {
        "waits".into()
    }
    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let task = async move {
                env.shutdown.cancelled().await;
                Ok(())
            };
            Ok(Started::running(task.boxed()))
        }
        .boxed()
    }
}
