//! Prometheus metrics of a controller (`GET /metrics`, see
//! services/http/metrics.rs and docs/network.md, "Monitoring").
//!
//! Names follow the Prometheus conventions as node_exporter uses them:
//! a `roomctl_` prefix, base units (`_seconds`), `_total` on counters,
//! a histogram for latency, and one series per state with the value 1 for
//! the current one (`roomctl_service_state`, as node_exporter's
//! `node_systemd_unit_state`). Events are counted where they happen
//! (presses and step latency in `Controller::execute`, failed logins in
//! `Controller::verify_login`, MQTT drops in the bridge); what the status
//! board already knows (panels, devices, services) is read from it at each
//! scrape, so the two never disagree.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use controller_core::view::{ServiceState, ServiceStatus};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use super::sync::lock;
use crate::state::status::BoardView;

/// The exposition format's content type (text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The states a service can be in, as `roomctl_service_state` labels them.
pub const SERVICE_STATES: [&str; 6] = [
    "starting",
    "listening",
    "running",
    "disabled",
    "failed",
    "stopped",
];

/// The label of a service state.
pub fn state_label(state: &ServiceState) -> &'static str {
    match state {
        ServiceState::Starting => "starting",
        ServiceState::Listening => "listening",
        ServiceState::Running => "running",
        ServiceState::Disabled => "disabled",
        ServiceState::Failed(_) => "failed",
        ServiceState::Stopped => "stopped",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    device: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabel {
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: String,
}

/// What the MQTT bridge reports: whether it runs and the broker is
/// connected, how many messages its queue could not take, and the queue's
/// size. Plain atomics the bridge writes; read at each scrape.
#[derive(Debug, Default)]
pub struct MqttGauges {
    /// Set while a bridge runs (otherwise the broker is not ours to judge).
    pub running: AtomicBool,
    pub connected: AtomicBool,
    pub dropped: AtomicU64,
    pub queue_capacity: AtomicI64,
}

impl MqttGauges {
    /// Runs the bridge's task, marked as running (with its queue's size)
    /// until it ends.
    pub async fn while_running<T>(
        self: Arc<Self>,
        queue_capacity: usize,
        task: impl std::future::Future<Output = T>,
    ) -> T {
        self.queue_capacity
            .store(queue_capacity as i64, Ordering::Relaxed);
        self.running.store(true, Ordering::Relaxed);
        let out = task.await;
        self.running.store(false, Ordering::Relaxed);
        self.connected.store(false, Ordering::Relaxed);
        out
    }

    /// What the bridge tells at each report: connected or not, and how
    /// many messages it has dropped so far.
    pub fn bridge_reports(&self, connected: bool, dropped: u64) {
        self.connected.store(connected, Ordering::Relaxed);
        self.dropped.store(dropped, Ordering::Relaxed);
    }

    /// Whether the broker is unreachable: a bridge runs and is not connected.
    pub fn broker_unreachable(&self) -> bool {
        self.running.load(Ordering::Relaxed) && !self.connected.load(Ordering::Relaxed)
    }
}

/// The bridge's figures as metrics, read at each scrape.
#[derive(Debug)]
struct MqttCollector(Arc<MqttGauges>);

impl Collector for MqttCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        let connected = ConstGauge::new(i64::from(m.connected.load(Ordering::Relaxed)));
        connected.encode(encoder.encode_descriptor(
            "mqtt_connected",
            "1 while the MQTT bridge is connected to its broker (0 when not, or no bridge)",
            None,
            connected.metric_type(),
        )?)?;
        let capacity = ConstGauge::new(m.queue_capacity.load(Ordering::Relaxed));
        capacity.encode(encoder.encode_descriptor(
            "mqtt_queue_capacity",
            "Messages the MQTT bridge's outgoing queue holds before it drops",
            None,
            capacity.metric_type(),
        )?)?;
        let dropped = ConstCounter::new(m.dropped.load(Ordering::Relaxed));
        dropped.encode(encoder.encode_descriptor(
            "mqtt_dropped_messages",
            "Messages the MQTT bridge dropped: its queue was full or the broker away",
            None,
            dropped.metric_type(),
        )?)?;
        Ok(())
    }
}

/// Every metric of one controller, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    presses: Counter,
    step_latency: Histogram,
    failed_logins: Family<ServiceLabel, Counter>,
    panels: Gauge,
    devices: Family<StateLabel, Gauge>,
    device_up: Family<DeviceLabels, Gauge>,
    services: Family<ServiceLabels, Gauge>,
    /// What the MQTT bridge writes, read at each scrape.
    pub mqtt: Arc<MqttGauges>,
    /// One scrape at a time: a scrape clears the per-scrape families and
    /// fills them again before encoding.
    scraping: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("roomctl");
        let presses = Counter::default();
        registry.register(
            "button_presses",
            "Button presses applied by the engine, from every front end",
            presses.clone(),
        );
        // 20 µs .. about 5 s: an engine step takes microseconds; seconds
        // would mean a lock held far too long.
        let step_latency = Histogram::new(exponential_buckets(0.000_02, 4.0, 10));
        registry.register_with_unit(
            "step_duration",
            "Time from a command reaching the engine to its step published to every front end",
            Unit::Seconds,
            step_latency.clone(),
        );
        let failed_logins = Family::<ServiceLabel, Counter>::default();
        registry.register(
            "failed_logins",
            "Logins refused for a wrong user name or password, by service",
            failed_logins.clone(),
        );
        let panels = Gauge::default();
        registry.register(
            "panels_connected",
            "Touch panels connected to the live channel",
            panels.clone(),
        );
        let devices = Family::<StateLabel, Gauge>::default();
        registry.register(
            "devices",
            "Room devices and extension devices by state (up or down)",
            devices.clone(),
        );
        let device_up = Family::<DeviceLabels, Gauge>::default();
        registry.register(
            "device_up",
            "1 when the device answers, 0 when it is offline",
            device_up.clone(),
        );
        let services = Family::<ServiceLabels, Gauge>::default();
        registry.register(
            "service_state",
            "1 for the state each service is in, 0 for the others",
            services.clone(),
        );
        let mqtt = Arc::new(MqttGauges::default());
        registry.register_collector(Box::new(MqttCollector(mqtt.clone())));
        let build = Family::<VersionLabel, Gauge>::default();
        build
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION").into(),
            })
            .set(1);
        registry.register("build_info", "The running roomctl's version", build);
        Metrics {
            registry,
            presses,
            step_latency,
            failed_logins,
            panels,
            devices,
            device_up,
            services,
            mqtt,
            scraping: Mutex::new(()),
        }
    }

    /// One button press applied.
    pub fn pressed(&self) {
        self.presses.inc();
    }

    /// One engine step applied and published in `took`.
    pub fn step(&self, took: Duration) {
        self.step_latency.observe(took.as_secs_f64());
    }

    /// One login refused for a wrong name or password.
    pub fn failed_login(&self, service: &str) {
        self.failed_logins
            .get_or_create(&ServiceLabel {
                service: service.to_string(),
            })
            .inc();
    }

    /// The text exposition (format 0.0.4) of every metric, the board's
    /// as `board` has it now.
    pub fn scrape(&self, board: &BoardView) -> String {
        let _one = lock(&self.scraping);
        self.panels.set(board.panels.len() as i64);
        self.devices.clear();
        self.device_up.clear();
        let up = board.devices.iter().filter(|d| d.online).count() as i64;
        for (state, n) in [("up", up), ("down", board.devices.len() as i64 - up)] {
            self.devices
                .get_or_create(&StateLabel {
                    state: state.into(),
                })
                .set(n);
        }
        for d in &board.devices {
            self.device_up
                .get_or_create(&DeviceLabels {
                    device: d.id.clone(),
                    kind: d.kind.clone(),
                })
                .set(i64::from(d.online));
        }
        self.services.clear();
        for s in &board.services {
            self.set_service(s);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    fn set_service(&self, s: &ServiceStatus) {
        let current = state_label(&s.state);
        for state in SERVICE_STATES {
            self.services
                .get_or_create(&ServiceLabels {
                    service: s.name.clone(),
                    state: state.into(),
                })
                .set(i64::from(state == current));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use controller_core::view::DeviceStatus;

    fn board() -> BoardView {
        BoardView {
            services: vec![ServiceStatus {
                name: "ftp".into(),
                purpose: "p".into(),
                endpoint: "-".into(),
                state: ServiceState::Failed("port 21 taken".into()),
                setting: "ftp".into(),
            }],
            panels: Vec::new(),
            devices: vec![DeviceStatus {
                id: "projector".into(),
                kind: "pjlink".into(),
                name: String::new(),
                address: "127.0.0.1:4352".into(),
                online: false,
                detail: String::new(),
            }],
            timers: Vec::new(),
            found: Vec::new(),
        }
    }

    #[test]
    fn the_exposition_names_counters_with_total_and_latency_in_seconds() {
        let m = Metrics::new();
        m.pressed();
        m.pressed();
        m.step(Duration::from_micros(50));
        m.failed_login("telnet");
        m.mqtt.dropped.store(3, Ordering::Relaxed);
        let text = m.scrape(&board());
        assert!(text.contains("roomctl_button_presses_total 2\n"), "{text}");
        assert!(
            text.contains("roomctl_step_duration_seconds_count 1\n"),
            "{text}"
        );
        assert!(
            text.contains("roomctl_failed_logins_total{service=\"telnet\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("roomctl_service_state{service=\"ftp\",state=\"failed\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("roomctl_service_state{service=\"ftp\",state=\"listening\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("roomctl_devices{state=\"down\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("roomctl_device_up{device=\"projector\",kind=\"pjlink\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("roomctl_mqtt_dropped_messages_total 3\n"),
            "{text}"
        );
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
