//! Occupancy from a device's state (`[[occupancy.sources]] variable =
//! "<device>.<state>"`, docs/occupancy.md): a motion sensor read over HTTP
//! through a site driver (its own process: the site drivers join the
//! shared library once), polled by the controller from its simulator on
//! 127.0.0.2. Motion makes the room occupied; the sensor going clear
//! leaves it empty (no hold); a sensor that stops answering goes down
//! without making the room occupied.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use controller_core::driver::library::Library;
use controller_core::driver::simulator::Fault;
use controller_core::driver::Value as DriverValue;
use controller_core::project::Value;
use roomctl::simulator::driver::DriverSimulator;
use roomctl::state::controller::Controller;
use support::{eventually, loaded, TestSettings, OTHER_ADDRESS};

const PATIENCE: Duration = Duration::from_secs(20);

/// A motion sensor with an HTTP interface: `GET /motion` answers
/// `motion=0` or `motion=1` (the shape of the PIR sensors sold for
/// building automation; a site driver, as an installer would write one).
const SENSOR: &str = r#"
[driver]
name = "Site HTTP motion sensor"
maker = "Acme"
models = ["M1"]
category = "other"
document = "Acme M1 HTTP interface"
document_version = "1"

[transport]
type = "http"
port = 80

[framing]
type = "line"
terminator = "\r\n"

[state.motion]
type = "enum"
values = { clear = "0", detected = "1" }

[commands.motion_query]
send = "GET /motion"
reply = ["motion={motion}"]

[[responses]]
format = "motion={motion}"

[[polls]]
command = "motion_query"
every_secs = 1

[liveness]
timeout_secs = 3
"#;

fn project(address: &str) -> String {
    let panel = support::one_key_panel("lights");
    format!(
        r#"[project]
name = "Sensed room"

[[buttons]]
id = "lights"
label = "Lights"

{panel}
[[devices]]
id = "sensor"
driver = "acme-motion"
address = "{address}"
poll_secs = 1
reconnect_secs = 1

[occupancy]
hold_minutes = 0

[[occupancy.sources]]
variable = "sensor.motion"
occupied_values = ["detected"]
vacant_values = ["clear"]
"#
    )
}

fn occupied(c: &Controller) -> Option<Value> {
    c.snapshot().variables.get("occupied").cloned()
}

fn sensor_online(c: &Controller) -> bool {
    c.status()
        .devices()
        .into_iter()
        .any(|d| d.id == "sensor" && d.online)
}

#[tokio::test]
async fn a_motion_sensor_read_over_http_makes_the_room_occupied() {
    // The site-driver library is installed once per process.
    if !support::process::alone("a_motion_sensor_read_over_http_makes_the_room_occupied") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("site-drivers");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("acme-motion.toml"), SENSOR).unwrap();
    let installed = roomctl::storage::site_drivers::install(&folder);
    assert_eq!(installed.site, vec!["acme-motion".to_string()]);

    let driver = Arc::clone(Library::shared().get("acme-motion").unwrap());
    let settings = driver.resolve_settings(&Default::default()).unwrap();
    let at = format!("{OTHER_ADDRESS}:0").parse().unwrap();
    let sim = DriverSimulator::start(driver, settings, Fault::None, at)
        .await
        .unwrap();
    sim.set_state("motion", DriverValue::Text("clear".into()))
        .unwrap();
    let folder_setting = folder.clone();
    let running = TestSettings::only(&["logic"])
        .edit(move |s| s.project.drivers_dir = folder_setting)
        .start(loaded(&project(&sim.addr.to_string())))
        .await;
    let c = running.controller.clone();
    eventually(
        PATIENCE,
        "the sensor is polled and the room is empty",
        || sensor_online(&c) && occupied(&c) == Some(Value::Bool(false)),
    )
    .await;

    sim.set_state("motion", DriverValue::Text("detected".into()))
        .unwrap();
    eventually(PATIENCE, "motion makes the room occupied", || {
        occupied(&c) == Some(Value::Bool(true))
    })
    .await;

    sim.set_state("motion", DriverValue::Text("clear".into()))
        .unwrap();
    eventually(PATIENCE, "clear, with no hold: empty again", || {
        occupied(&c) == Some(Value::Bool(false))
    })
    .await;

    // A sensor that stops answering is down; its silence is not presence.
    sim.set_fault(Fault::Disconnecting { after: 0 });
    eventually(PATIENCE, "the silent sensor is down", || !sensor_online(&c)).await;
    assert_eq!(occupied(&c), Some(Value::Bool(false)));
    sim.shutdown().await;
    running.shutdown().await;
}
