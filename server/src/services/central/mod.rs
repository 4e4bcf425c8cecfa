//! Central control, TCP 5009 (`controller_core::protocol::central`): a
//! monitoring station reads the status, subscribes to changes and presses
//! buttons. This file starts the service and admits connections through the
//! shared gate (allow-list + connection cap); [`session`] serves one
//! connection, [`outbox`] queues what it is sent.

mod outbox;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use controller_core::protocol::central::{ErrorCode, Event};
use futures::future::BoxFuture;
use futures::FutureExt;

use super::accept::{serve_connections, Gate, Refusals};
use super::{bind_tcp, Endpoint, Service, StartEnv, StartError, Started};
use crate::config::Settings;
use crate::security::auth::Role;
use crate::state::controller::Controller;
use controller_core::view::RoomLayout;
use session::Session;

/// How long a refused or closing client gets to read its `bye`.
const BYE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a client cut off for reading too slowly gets to read the rest
/// of its last line and its `bye`.
const SLOW_CONSUMER_BYE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct CentralService;

/// The answer to `layout` for a client of `role`: the running project as
/// its panels draw it, and where the panel service is (the port actually
/// bound: 0 in the settings picks one), so a station can show the room's
/// real panel.
fn room_layout(controller: &Controller, role: Option<Role>) -> RoomLayout {
    let mut layout = RoomLayout::of(&controller.project());
    // Which device a level drives, and with what, is the installer's
    // business.
    if role < Some(Role::Admin) {
        layout = layout.without_device_commands();
    }
    layout.panel_port = controller.status().service_addr("panel").map(|a| a.port());
    layout
}

fn bye(code: ErrorCode, message: &str) -> Bytes {
    Bytes::from(
        Event::Bye {
            code,
            message: message.into(),
        }
        .encode(),
    )
}

impl Service for CentralService {
    fn name(&self) -> &'static str {
        "central"
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.central.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let login = if s.central.require_login {
            "login required"
        } else {
            "no login required"
        };
        format!(
            "central control: a monitoring station reads status, subscribes to changes and presses buttons ({login}; at most {} clients)",
            s.central.max_connections
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let settings = Arc::new(env.settings().central.clone());
            let addr = SocketAddr::new(settings.bind, settings.port);
            let listener = bind_tcp("central", "central", addr).await?;
            let local = listener.local_addr()?;
            let gate = Gate::new(settings.allow.clone(), settings.max_connections);
            let refusals = Refusals {
                not_allowed: bye(
                    ErrorCode::NotAllowed,
                    "this address is not on the central-control allow-list",
                ),
                full: bye(
                    ErrorCode::TooManyConnections,
                    "too many central-control clients are connected",
                ),
                address_full: bye(
                    ErrorCode::TooManyConnections,
                    "too many central-control connections from this address",
                ),
            };
            let controller = env.controller.clone();
            let shutdown = env.shutdown.clone();
            let task = serve_connections(
                listener,
                "central",
                gate,
                refusals,
                env.shutdown,
                move |stream, peer| {
                    let _ = stream.set_nodelay(true);
                    let session = Session::new(controller.clone(), settings.clone(), peer);
                    session.run(stream, shutdown.clone())
                },
            );
            Ok(Started::listening(Endpoint::tcp(local), task.boxed()))
        }
        .boxed()
    }
}
