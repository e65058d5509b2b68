//! Delivery providers: the code that turns a rendered [`foghorn_core::Outbound`]
//! into a request to some outside service and classifies the answer.
//!
//! One folder per provider, each the same shape (`Config`, a struct with
//! `send`, tests); `registry` is the single place that knows them all, and
//! `http` and `net_guard` hold what every HTTP-speaking provider shares.

pub mod email;
pub mod http;
pub mod net_guard;
pub mod registry;
pub mod sandbox;
pub mod signature;
pub mod sms;
pub mod webhook;

pub use registry::{BuildError, Provider, ProviderConfig};
