//! roomctl, the controller: one process, one service per port, the engine
//! behind them. `main.rs` is the command line; everything else is here so
//! integration tests and benchmarks start the real thing.

pub mod access;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod bus;
pub mod cli;
pub mod config;
pub mod controller;
pub mod durable;
pub mod eventlog;
pub mod formats;
pub mod health;
pub mod held;
pub mod installation;
pub mod levels;
pub mod logic;
pub mod metrics;
pub mod project_history;
pub mod project_store;
pub mod scrape_access;
pub mod secret_file;
pub mod serve;
pub mod services;
pub mod sessions;
pub mod settings_file;
pub mod simulator;
pub mod site_drivers;
pub mod station;
pub mod status;
pub mod sync;
pub mod systemd;
pub mod tls;
pub mod woken;
