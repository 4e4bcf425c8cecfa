//! roomctl, the controller: one process, one service per port, the engine
//! behind them. `main.rs` is the command line; everything else is here so
//! integration tests and benchmarks start the real thing.

pub mod audit;
pub mod backup;
pub mod cli;
pub mod config;
pub mod logic;
pub mod runtime;
pub mod security;
pub mod services;
pub mod simulator;
pub mod state;
pub mod station;
pub mod storage;
