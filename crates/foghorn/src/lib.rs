//! Foghorn: events in, notifications out. The library behind the `foghorn`
//! binary, public so the binary, the integration tests and the fuzz targets
//! share one build of it.

pub mod api;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod gdpr;
pub mod keys;
pub mod master_key;
pub mod telemetry;
pub mod ui;
pub mod views;

/// The engine, under the names the binary's modules have always used.
pub use foghorn_engine as engine;
pub use foghorn_engine::{inbound, phone, unsubscribe, workflow};
