//! `roomctl serve`: start every service from one list, run until Ctrl-C or
//! SIGTERM, stop gracefully within a deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::services::http::PortKind;
use crate::services::{
    audit, calendar, central, device_search, extension, ftp, http, live_broadcast, logic, lookup,
    mqtt, occupancy, repeat, telnet, Service, Supervisor,
};
use crate::state::controller::Controller;
use crate::state::status::StatusBoard;
use crate::storage::project_store::{LoadedProject, ProjectStore};

/// How long services get to finish on shutdown.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// Every service of the controller, in start order. Lookup comes after the
/// services whose ports its answers list.
pub fn services() -> Vec<Box<dyn Service>> {
    vec![
        Box::new(http::PanelService(PortKind::Panel)),
        Box::new(http::PanelService(PortKind::Apprimo)),
        Box::new(http::HttpsService),
        Box::new(ftp::FtpService),
        Box::new(telnet::TelnetService),
        Box::new(extension::ExtensionService),
        Box::new(live_broadcast::LiveService),
        Box::new(central::CentralService),
        Box::new(lookup::LookupService),
        Box::new(repeat::RepeatService),
        Box::new(logic::LogicService),
        Box::new(occupancy::OccupancyService),
        Box::new(device_search::DeviceSearchService),
        Box::new(mqtt::MqttService),
        Box::new(audit::AuditService),
        Box::new(calendar::CalendarService),
        Box::new(calendar::holidays::HolidayService),
    ]
}

/// The addresses services actually bound (port 0 in settings = any free
/// port), read from the status board.
#[derive(Debug, Clone, Default)]
pub struct BoundAddrs {
    pub panel: Option<SocketAddr>,
    pub apprimo: Option<SocketAddr>,
    pub https: Option<SocketAddr>,
    pub ftp: Option<SocketAddr>,
    pub telnet: Option<SocketAddr>,
    pub lookup: Option<SocketAddr>,
    /// The live-update sending socket (datagrams go to `[live] destination`).
    pub live: Option<SocketAddr>,
    pub central: Option<SocketAddr>,
    pub extension: Option<SocketAddr>,
}

impl BoundAddrs {
    fn of(board: &StatusBoard) -> BoundAddrs {
        BoundAddrs {
            panel: board.service_addr("panel"),
            apprimo: board.service_addr("apprimo"),
            https: board.service_addr("https"),
            ftp: board.service_addr("ftp"),
            telnet: board.service_addr("telnet"),
            lookup: board.service_addr("lookup"),
            live: board.service_addr("live"),
            central: board.service_addr("central"),
            extension: board.service_addr("extension"),
        }
    }
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

/// Starts the controller with every service of [`services`].
pub async fn start(settings: Settings, project: LoadedProject) -> anyhow::Result<Running> {
    start_with(settings, project, services()).await
}

/// The site's drivers (`[project] drivers_dir`): read once per process
/// (by `roomctl serve` before the project, so that a project may name
/// them); each file left out is in the log with its located errors.
fn report_site_drivers(controller: &Controller, settings: &Settings) {
    let site = crate::storage::site_drivers::install(&settings.project.drivers_dir);
    if !site.site.is_empty() {
        controller.log().record(format!(
            "site drivers from {}: {}",
            site.folder.display(),
            site.site.join(", ")
        ));
    }
    for file in &site.errors {
        for e in &file.errors {
            let line = format!("site driver {} left out: {e}", file.file);
            tracing::warn!("{line}");
            controller.log().record(line);
        }
    }
}

/// Starts the controller with the given services (tests add their own).
/// Any failure to bind is an error naming the service and port, and
/// nothing is left running.
pub async fn start_with(
    settings: Settings,
    project: LoadedProject,
    services: Vec<Box<dyn Service>>,
) -> anyhow::Result<Running> {
    let mut settings = settings;
    if settings.identity.serial.is_empty() {
        // Blocking file I/O once at start (read, or make, a 32-byte file).
        settings.identity.serial = crate::storage::installation::serial(&settings.project.dir);
    }
    let mut controller = Controller::new(settings.clone(), project.project.clone())
        .with_source(project.source.clone());
    if project.is_fresh_installation() {
        controller = controller.fresh_installation();
    }
    controller.log().record(format!(
        "running project \"{}\" from {}",
        project.project.project.name, project.origin
    ));
    report_site_drivers(&controller, &settings);
    let store = Arc::new(ProjectStore::for_settings(&settings));
    let mut supervisor = Supervisor::new(controller.clone(), store.clone());
    for service in &services {
        if let Err(e) = supervisor.start(service.as_ref()).await {
            supervisor.shutdown(SHUTDOWN_DEADLINE).await;
            return Err(e);
        }
    }
    Ok(Running {
        addrs: BoundAddrs::of(controller.status()),
        controller,
        store,
        supervisor,
    })
}
