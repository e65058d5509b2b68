//! Foghorn: events in, notifications out. The library behind the `foghorn`
//! binary, public so the binary, the integration tests and the fuzz targets
//! share one build of it.

pub mod api;
pub mod app;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod engine;
pub mod inbound;
pub mod master_key;
pub mod phone;
pub mod telemetry;
pub mod unsubscribe;
pub mod workflow;
