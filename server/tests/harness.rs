//! Tests of the test harness itself (`support/`): the namespace runner's
//! checks, `eventually`, the settings builder, the HTTP `oneshot` helper.

use crate::support;

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use controller_core::project::demo_project;
use roomctl::config::Settings;
use roomctl::security::auth::{Role, UserStore};
use roomctl::services::http::PortKind;
use roomctl::services::StartEnv;
use roomctl::state::controller::Controller;
use roomctl::storage::project_store::ProjectStore;
use support::netns::{in_namespace, namespace_problem, Loopback};
use support::process::child_ran_exactly_one_test;
use support::settings::SERVICES;
use support::{eventually, TestSettings};

// ---- the namespace runner ---------------------------------------------------

const PASSED: &str = "\nrunning 1 test\ntest a_test ... ok\n\n\
    test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 12 filtered out; finished in 0.52s\n\n";

#[test]
fn a_child_that_ran_and_passed_its_one_test_is_accepted() {
    assert!(child_ran_exactly_one_test(PASSED));
    // The test's own output (--nocapture) between the lines changes nothing.
    let chatty = "\nrunning 1 test\ntest a_test ... offline 10.2 s after the kill\nok\n\n\
        test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out; finished in 12.01s\n";
    assert!(child_ran_exactly_one_test(chatty));
}

#[test]
fn a_child_that_ran_no_test_or_not_exactly_one_passing_test_is_refused() {
    for (what, stdout) in [
        ("empty output", ""),
        (
            "a misspelt name",
            "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 13 filtered out; finished in 0.00s\n",
        ),
        (
            "an ignored test",
            "\nrunning 1 test\ntest a_test ... ignored\n\ntest result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 12 filtered out; finished in 0.00s\n",
        ),
        (
            "a failed test",
            "\nrunning 1 test\ntest a_test ... FAILED\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 12 filtered out; finished in 0.10s\n",
        ),
        (
            "two tests",
            "\nrunning 2 tests\ntest a_test ... ok\ntest a_test_2 ... ok\n\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 11 filtered out; finished in 0.10s\n",
        ),
        ("no summary (killed)", "\nrunning 1 test\ntest a_test ... "),
        (
            "no `running` line",
            "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.10s\n",
        ),
    ] {
        assert!(!child_ran_exactly_one_test(stdout), "{what} was accepted");
    }
}

#[test]
fn a_missing_unshare_is_a_problem_with_the_reason() {
    let why = namespace_problem("roomctl-test-no-such-unshare").expect("a problem");
    assert!(
        why.contains("cannot be run") && why.contains("util-linux"),
        "{why}"
    );
}

#[test]
fn a_namespace_test_runs_in_a_namespace_of_its_own() {
    if !in_namespace(
        "a_namespace_test_runs_in_a_namespace_of_its_own",
        Loopback::Plain,
    ) {
        return;
    }
    // Inside: loopback is the only interface.
    let out = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let links = String::from_utf8_lossy(&out.stdout);
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains(": lo:"), "{links}");
}

#[test]
#[should_panic(expected = "did not run inside its network namespace")]
fn a_misspelt_test_name_fails_instead_of_passing_silently() {
    if in_namespace("no_test_has_this_name", Loopback::Plain) {
        unreachable!("only the parent gets here");
    }
}

// ---- eventually -------------------------------------------------------------

#[tokio::test]
async fn eventually_returns_once_the_condition_holds() {
    let polls = Cell::new(0);
    eventually(Duration::from_secs(5), "the third poll", || {
        polls.set(polls.get() + 1);
        polls.get() >= 3
    })
    .await;
    assert_eq!(polls.get(), 3);
}

#[tokio::test]
#[should_panic(expected = "gave up after 50ms waiting until pigs fly")]
async fn eventually_names_what_it_waited_for() {
    eventually(Duration::from_millis(50), "pigs fly", || false).await;
}

#[tokio::test]
#[should_panic(expected = "waiting until the log says so; saw: [\"nothing yet\"]")]
async fn eventually_shows_what_it_saw_instead() {
    eventually(Duration::from_millis(50), "the log says so", || {
        Err(format!("{:?}", ["nothing yet"]))
    })
    .await;
}

// ---- settings ---------------------------------------------------------------

fn enabled(s: &Settings) -> Vec<&'static str> {
    let flags = [
        s.panel.enabled,
        s.apprimo.enabled,
        s.https.enabled,
        s.lookup.enabled,
        s.live.enabled,
        s.central.enabled,
        s.extension.enabled,
        s.telnet.enabled,
        s.ftp.enabled,
        s.logic.enabled,
        s.mqtt.enabled,
        s.device_search.enabled,
        s.calendar.enabled,
        s.holidays.enabled,
    ];
    SERVICES
        .iter()
        .zip(flags)
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .collect()
}

#[test]
fn only_the_named_services_are_on_and_tcp_ports_are_free_chosen() {
    let s = TestSettings::only(&["central", "panel"]).build();
    assert_eq!(enabled(&s), ["panel", "central"]);
    assert_eq!(
        [
            s.panel.port,
            s.apprimo.port,
            s.https.port,
            s.central.port,
            s.telnet.port,
            s.ftp.port
        ],
        [0; 6]
    );
    assert!(enabled(&TestSettings::only(&[]).build()).is_empty());
    assert_eq!(enabled(&TestSettings::only(&SERVICES).build()), SERVICES);
}

#[test]
#[should_panic(expected = "unknown service \"pannel\"")]
fn an_unknown_service_name_is_refused() {
    TestSettings::only(&["pannel"]);
}

#[test]
fn names_users_and_extra_toml_are_applied() {
    let s = TestSettings::only(&["panel"])
        .name("Room 7")
        .user("ada", Role::Admin, "a password")
        .toml("[panel]\nkeepalive_secs = 1\n[central]\nmax_connections = 3\n")
        .build();
    assert_eq!(s.identity.name, "Room 7");
    assert_eq!(s.identity.serial, "RC-TEST-Room-7");
    // Merged key by key: the rest of [panel] is as it was.
    assert_eq!((s.panel.keepalive_secs, s.panel.port), (1, 0));
    assert!(s.panel.enabled && !s.central.enabled);
    assert_eq!(s.central.max_connections, 3);
    assert!(UserStore::new(s.users)
        .verify("ada", "a password")
        .is_some());
}

#[test]
fn a_tempdir_env_holds_the_project_dir_and_a_settings_file_with_the_users() {
    let env = TestSettings::upload((41400, 41409));
    assert_eq!(env.settings.project.dir, env.project_dir());
    assert_eq!(env.settings.ftp.passive_ports, (41400, 41409));
    assert_eq!(
        env.settings.telnet.settings_file.as_deref(),
        Some(env.settings_file().as_path())
    );
    let file = Settings::load(&env.settings_file(), None).unwrap();
    let users = UserStore::new(file.users);
    assert!(users.verify(support::ADMIN, support::ADMIN_PW).is_some());
    assert!(users.verify(support::VIEWER, support::VIEWER_PW).is_some());
}

// ---- http -------------------------------------------------------------------

#[tokio::test]
async fn oneshot_calls_a_router_without_a_socket() {
    let settings = TestSettings::only(&["panel"]).build();
    let store = Arc::new(ProjectStore::for_settings(&settings));
    let controller = Controller::new(settings, Arc::new(demo_project().clone()));
    let env = StartEnv::new(controller, store);
    let router = roomctl::services::http::router(&env, PortKind::Panel, 0);
    let (status, body) = support::http::oneshot(
        router.clone(),
        support::http::get_request("/admin/api/info"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) =
        support::http::oneshot(router, support::http::get_request("/healthz")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
}

#[test]
fn the_data_port_of_a_pasv_reply() {
    assert_eq!(
        support::ftp::pasv_port("227 Entering Passive Mode (127,0,0,1,161,40).\r\n"),
        161 * 256 + 40
    );
}
