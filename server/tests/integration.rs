//! The server's integration tests, one test executable for all of them:
//! one file per subject (`upload_ftp.rs`, `station.rs`, ...), each a module
//! here, sharing the one harness (`support/`). One executable instead of
//! one per file: the harness and the server are linked once, not 45 times
//! (each executable was over 200 MB, and a CI machine's disk once filled
//! linking them), and the files' tests run side by side.
//!
//! Run one subject with its module name as the filter:
//! `cargo test -p server --test integration upload_ftp::`.
//!
//! Two subjects keep executables of their own: `http_layers.rs` sets the
//! process-wide site root (`LEPTOS_SITE_ROOT`) for its controllers, and
//! `installed_package.rs` is run on its own by scripts/test-package.sh.

mod support;

mod admin_users;
mod architecture;
mod audit;
mod backup;
mod caldav_poll;
mod calendar;
mod demo_keys;
mod designer_preview;
mod driver_http;
mod driver_simulators;
mod hardening;
mod harness;
mod holidays;
mod lan_central;
mod lan_device_search;
mod lan_discovery;
mod lan_extension;
mod lan_live;
mod lan_profile;
mod level_devices;
mod logic_runtime;
mod login_memory;
mod metrics;
mod mqtt;
mod occupancy;
mod occupancy_http;
mod panel_http;
mod panel_security;
mod room_notices;
mod room_values;
mod site_drivers;
mod slowloris;
mod station;
mod station_panel;
mod station_service;
mod status_live;
mod systemd_notify;
mod tls;
mod upgrade;
mod upload_admin;
mod upload_cli;
mod upload_crash;
mod upload_ftp;
mod upload_telnet;
