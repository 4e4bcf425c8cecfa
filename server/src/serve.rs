//! `roomctl serve`: start every enabled service, run until Ctrl-C or
//! SIGTERM, stop gracefully within a deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use controller_core::view::ServiceState;

use crate::config::Settings;
use crate::controller::Controller;
use crate::project_store::{LoadedProject, ProjectStore};
use crate::services::http::{self, PortKind};
use crate::services::{central, extension, live, lookup, Supervisor};

/// How long services get to finish on shutdown.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// The addresses services actually bound (port 0 in settings = any free port).
#[derive(Debug, Clone, Default)]
pub struct BoundAddrs {
    pub panel: Option<SocketAddr>,
    pub apprimo: Option<SocketAddr>,
    pub ftp: Option<SocketAddr>,
    pub telnet: Option<SocketAddr>,
    pub lookup: Option<SocketAddr>,
    /// The live-update sending socket (datagrams go to `[live] destination`).
    pub live: Option<SocketAddr>,
    pub central: Option<SocketAddr>,
    pub extension: Option<SocketAddr>,
}

pub struct Running {
    pub controller: Controller,
    pub addrs: BoundAddrs,
    /// The project directory (upload, apply, rollback).
    pub store: Arc<ProjectStore>,
    supervisor: Supervisor,
}

impl Running {
    pub async fn shutdown(self) {
        self.controller.log().record("controller stopping");
        self.supervisor.shutdown(SHUTDOWN_DEADLINE).await;
    }
}

/// Starts the controller: binds every enabled service (any failure to bind
/// is an error naming the service and port, and nothing is left running).
pub async fn start(settings: Settings, project: LoadedProject) -> anyhow::Result<Running> {
    let controller = Controller::new(settings.clone(), project.project.clone());
    controller.set_project_source(Some(project.source));
    controller.log().record(format!(
        "running project \"{}\" from {}",
        project.project.project.name, project.origin
    ));
    let store = Arc::new(
        ProjectStore::new(settings.project.dir.clone())
            .with_max_bytes(settings.ftp.max_upload_bytes),
    );
    let mut sup = Supervisor::new(controller.clone());
    match start_services(&mut sup, &settings, &store).await {
        Ok(addrs) => Ok(Running {
            controller,
            addrs,
            store,
            supervisor: sup,
        }),
        Err(e) => {
            sup.shutdown(SHUTDOWN_DEADLINE).await;
            Err(e)
        }
    }
}

async fn start_services(
    sup: &mut Supervisor,
    s: &Settings,
    store: &Arc<ProjectStore>,
) -> anyhow::Result<BoundAddrs> {
    let mut addrs = BoundAddrs::default();
    let ctx = sup.context();
    let registry = ctx.controller.services();
    if s.panel.enabled {
        addrs.panel = Some(
            http::start(
                sup,
                PortKind::Panel,
                SocketAddr::new(s.panel.bind, s.panel.port),
            )
            .await?,
        );
    } else {
        registry.disabled("panel", "touch panels in a browser", "panel");
    }
    if s.apprimo.enabled {
        addrs.apprimo = Some(
            http::start(
                sup,
                PortKind::Apprimo,
                SocketAddr::new(s.apprimo.bind, s.apprimo.port),
            )
            .await?,
        );
    } else {
        registry.disabled("apprimo", "wall panels (Apprimo profile)", "apprimo");
    }
    addrs.ftp = crate::services::ftp::start(sup, store.clone()).await?;
    addrs.telnet = crate::services::telnet::start(sup, store.clone()).await?;
    let devices = extension::device_events();
    if s.extension.enabled {
        addrs.extension = extension::start(sup, &s.extension, devices.clone()).await;
    } else {
        registry.disabled(
            extension::NAME,
            "extension devices (keypads, I/O boxes)",
            "extension",
        );
    }
    if s.live.enabled {
        addrs.live = Some(live::start(sup, &s.live, devices.clone()).await?);
    } else {
        registry.disabled(live::NAME, "live updates on every LED change", "live");
    }
    if s.central.enabled {
        addrs.central = Some(central::start(sup, &s.central, devices).await?);
    } else {
        registry.disabled(central::NAME, "central control", "central");
    }
    // Last: its answers list the ports of the services started above.
    if s.lookup.enabled {
        let advertised = lookup::advertised_services(&addrs, s);
        addrs.lookup = Some(lookup::start(sup, &s.lookup, s.network.broadcast, advertised).await?);
    } else {
        registry.disabled(lookup::NAME, "LAN lookup", "lookup");
    }
    ctx.controller.services().register(
        "repeat",
        "auto-repeat of held buttons (internal, no port)",
        "-".into(),
        "-",
        ServiceState::Listening,
    );
    let (_, steps) = ctx.controller.subscribe();
    sup.spawn("repeat", crate::repeat::run(ctx.clone(), steps));
    let logic_purpose = "room devices, sequences, feedback and timers (outgoing connections to the project's devices only, no port)";
    if s.logic.enabled {
        registry.register(
            "logic",
            logic_purpose,
            "-".into(),
            "logic",
            ServiceState::Listening,
        );
        sup.spawn("logic", crate::logic::run(ctx));
    } else {
        registry.disabled("logic", logic_purpose, "logic");
    }
    Ok(addrs)
}
