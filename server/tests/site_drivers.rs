//! Site drivers (issue 22): a site's own driver files in the settings
//! folder (`[project] drivers_dir`) join the library when the controller
//! starts, so a project can name them and the controller drives them; a
//! bad file is left out and reported in the log with its located error,
//! and neither the library nor the running project suffers. This file is
//! its own process: the site drivers are read before any project, as
//! `roomctl serve` reads them.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use controller_core::driver::library::Library;
use controller_core::driver::simulator::Fault;
use controller_core::driver::Value as DriverValue;
use controller_core::project::{Project, Value};
use roomctl::cli::simulate::{start_drivers, SimulateArgs};
use roomctl::simulator::driver::DriverSimulator;
use support::{eventually, loaded, TestSettings};

const PATIENCE: Duration = Duration::from_secs(20);

const RELAY: &str = r#"
[driver]
name = "Site relay"
maker = "Acme"
models = ["R1"]
category = "power"
document = "Acme relay protocol"
document_version = "1"

[transport]
type = "tcp"
port = 5000

[framing]
type = "line"
terminator = "\r"

[state.relay]
type = "enum"
values = { open = "0", closed = "1" }

[commands.relay]
send = "RELAY {value}"
params.value = { type = "enum", values = { open = "0", closed = "1" } }
sets = { relay = "{value}" }
reply = ["RELAY={relay}"]

[commands.relay_query]
send = "RELAY?"
reply = ["RELAY={relay}"]

[[responses]]
format = "RELAY={relay}"

[[polls]]
command = "relay_query"
every_secs = 1
"#;

fn project(driver: &str, address: &str) -> String {
    let panel = support::one_key_panel("close");
    format!(
        r#"[project]
name = "Site room"

[[buttons]]
id = "close"
label = "Close"
kind = "momentary"

{panel}
[[devices]]
id = "relay"
driver = "{driver}"
address = "{address}"
reconnect_secs = 1
"#
    )
}

#[tokio::test]
async fn site_drivers_join_the_library_and_a_bad_one_is_reported_not_fatal() {
    // The site-driver library is installed once per process.
    if !support::process::alone("site_drivers_join_the_library_and_a_bad_one_is_reported_not_fatal")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("site-drivers");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("acme-relay.toml"), RELAY).unwrap();
    // Broken: a template slot that is neither a parameter nor a setting.
    std::fs::write(
        folder.join("acme-broken.toml"),
        RELAY.replace("send = \"RELAY {value}\"", "send = \"RELAY {valeu}\""),
    )
    .unwrap();
    // A library driver's name.
    std::fs::write(folder.join("pjlink.toml"), RELAY).unwrap();
    std::fs::write(folder.join("README.txt"), "not a driver").unwrap();

    // What `roomctl serve` does first.
    let installed = roomctl::storage::site_drivers::install(&folder);
    assert_eq!(installed.site, vec!["acme-relay".to_string()]);
    let library = Library::shared();
    assert!(library.get("acme-relay").is_some());
    assert!(library.get("acme-broken").is_none());
    assert_eq!(
        library.get("pjlink").unwrap().identity.document,
        "PJLink Specifications",
        "the library keeps its own pjlink"
    );
    assert!(
        library.drivers.len() > 40,
        "the whole library is still there"
    );

    // A project names the site driver; its simulator is generated from it.
    let relay = Arc::clone(library.get("acme-relay").unwrap());
    let settings = relay.resolve_settings(&Default::default()).unwrap();
    let sim = DriverSimulator::start(relay, settings, Fault::None, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    sim.set_state("relay", DriverValue::Text("closed".into()))
        .unwrap();
    let text = project("acme-relay", &sim.addr.to_string());
    let folder_setting = folder.clone();
    let running = TestSettings::only(&["panel", "logic"])
        .edit(move |s| s.project.drivers_dir = folder_setting)
        .start(loaded(&text))
        .await;
    let c = running.controller.clone();
    eventually(
        PATIENCE,
        "the site driver's device reports its state",
        || c.snapshot().variables.get("relay.relay") == Some(&Value::Text("closed".into())),
    )
    .await;

    // The bad files are in the log, located; the good one is named.
    let log = c.log().recent(200).join("\n");
    assert!(log.contains("site drivers from"), "{log}");
    assert!(log.contains("acme-relay"), "{log}");
    let broken = c
        .log()
        .recent(200)
        .into_iter()
        .find(|l| l.contains("acme-broken.toml"))
        .unwrap_or_else(|| panic!("the broken file is not reported: {log}"));
    assert!(broken.contains("line"), "{broken}");
    assert!(broken.contains("commands.relay.send"), "{broken}");
    assert!(log.contains("is a library driver"), "{log}");

    // A project naming the broken driver is refused with a suggestion of
    // the drivers it could mean.
    let e = Project::from_toml(&project("acme-broken", "127.0.0.1:5000")).unwrap_err();
    let message = e.to_string();
    assert!(message.contains("did you mean"), "{message}");
    assert!(message.contains("\"acme-relay\""), "{message}");
    sim.shutdown().await;

    // `roomctl simulate --driver acme-relay` finds it too.
    let args = SimulateArgs {
        projector: "127.0.0.1:0".parse().unwrap(),
        matrix: "127.0.0.1:0".parse().unwrap(),
        dsp: "127.0.0.1:0".parse().unwrap(),
        warmup_secs: 0,
        cooldown_secs: 0,
        drivers: vec!["acme-relay".into()],
        listens: vec!["127.0.0.1:0".parse().unwrap()],
        faults: vec![],
        settings: vec![],
        answer_searches: false,
        list: false,
    };
    let sims = start_drivers(&args).await.unwrap();
    assert_eq!(sims[0].driver.id, "acme-relay");
    for s in sims {
        s.shutdown().await;
    }
    let args = SimulateArgs {
        drivers: vec!["acme-rely".into()],
        ..args
    };
    let e = start_drivers(&args).await.err().unwrap().to_string();
    assert!(e.contains("did you mean acme-relay"), "{e}");
}
