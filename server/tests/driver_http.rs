//! An http driver (issue 22): the Panasonic AW PTZ camera's HTTP
//! integration interface, driven by the controller against the driver's
//! simulator on loopback. Each command is one request
//! (`GET /cgi-bin/aw_ptz?cmd=%23R01&res=1`), each answer's body is read
//! into the camera's state; a change made at the camera comes back with
//! the polls; a camera that fails its requests is taken down.

use crate::support;

use std::net::IpAddr;
use std::time::Duration;

use controller_core::driver::simulator::Fault;
use controller_core::driver::Value as DriverValue;
use controller_core::project::Value;
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use roomctl::state::controller::Controller;
use support::panel::{hello, send, ws_connect_from};
use support::{eventually, loaded, TestSettings};

const PATIENCE: Duration = Duration::from_secs(20);

fn project(address: &str) -> String {
    let panel = support::one_key_panel("preset1");
    format!(
        r#"[project]
name = "Camera room"

[[buttons]]
id = "preset1"
label = "Lectern"
kind = "momentary"

{panel}
[[devices]]
id = "camera"
driver = "panasonic-aw-ptz"
address = "{address}"
poll_secs = 1
reconnect_secs = 1

[[sequences]]
id = "lectern"
button = "preset1"
steps = [ {{ device = "camera", command = "preset_recall", params = {{ preset = 1 }} }} ]
"#
    )
}

fn variable(c: &Controller, name: &str) -> Option<Value> {
    c.snapshot().variables.get(name).cloned()
}

fn online(c: &Controller) -> bool {
    c.status()
        .devices()
        .into_iter()
        .any(|d| d.id == "camera" && d.online)
}

#[tokio::test]
async fn an_http_driver_sends_requests_and_reads_answers_into_state() {
    let sim = support::simulate_driver("panasonic-aw-ptz").await;
    let running = TestSettings::only(&["panel", "logic"])
        .start(loaded(&project(&sim.addr.to_string())))
        .await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the camera is up and its power read", || {
        online(&c) && variable(&c, "camera.power") == Some(Value::Text("on".into()))
    })
    .await;

    // A key's command is a request the camera recognises, and its answer
    // (s01) is read back.
    let mut ws = ws_connect_from(
        "127.0.0.2".parse::<IpAddr>().unwrap(),
        running.addrs.panel.unwrap(),
    )
    .await;
    let ServerMessage::Welcome { .. } = hello(&mut ws, "tablet", None).await else {
        panic!("welcome first")
    };
    let press = |button: &str| ClientMessage::Press {
        button: button.into(),
    };
    send(&mut ws, &press("preset1")).await;
    eventually(PATIENCE, "the preset is recalled and read back", || {
        let asked = sim.heard().iter().any(|h| {
            h.command == "preset_recall" && h.params.get("preset") == Some(&DriverValue::Int(1))
        });
        asked && variable(&c, "camera.preset") == Some(Value::Text("1".into()))
    })
    .await;

    // Changed at the camera: the next polls bring it to the controller.
    sim.set_state("power", DriverValue::Text("standby".into()))
        .unwrap();
    sim.set_state("tally", DriverValue::Text("on".into()))
        .unwrap();
    eventually(PATIENCE, "the camera's own change is polled", || {
        variable(&c, "camera.power") == Some(Value::Text("standby".into()))
            && variable(&c, "camera.tally") == Some(Value::Text("on".into()))
    })
    .await;

    // A camera that answers 503 to every request is down.
    sim.set_fault(Fault::Disconnecting { after: 0 });
    eventually(PATIENCE, "the failing camera is down", || !online(&c)).await;
    sim.set_fault(Fault::None);
    eventually(PATIENCE, "the camera is back", || online(&c)).await;
    sim.shutdown().await;
}
