//! Loopback stand-ins for what Foghorn talks to, shared by the workspace's
//! tests (a dev-dependency only, never published): one recording HTTP
//! server with scripted replies ([`http`]), the answers each provider's API
//! gives ([`providers`]), form helpers ([`form`]) and an SMTP sink
//! ([`smtp`]).
//!
//! Everything here binds to 127.0.0.1 only.
// A test kit reports a broken setup by panicking: that fails the test that
// used it, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod form;
pub mod http;
pub mod providers;
pub mod smtp;

pub use http::{mock, mock_routes, only, to_path, Log, MockServer, Recorded, Reply, Request};
