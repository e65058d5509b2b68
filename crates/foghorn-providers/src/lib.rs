//! Delivery providers: the code that turns a rendered [`foghorn_core::Outbound`]
//! into a request to some outside service and classifies the answer.
//!
//! One folder per provider, each the same shape (`Config`, a struct with
//! `send`, its facts as a [`kinds::Spec`], tests); `registry` is the single
//! list of them all, and `http` and `net_guard` hold what every
//! HTTP-speaking provider shares.

pub mod email;
pub mod http;
pub mod kinds;
pub mod net_guard;
pub mod registry;
pub mod sandbox;
pub mod signature;
pub mod sms;
pub mod team;
pub mod voice_rates;
pub mod webhook;
pub mod whatsapp;
pub mod xml;

pub use registry::{BuildError, Provider, ProviderConfig};
/// The URL type every target is judged in, so callers need not name the
/// HTTP client to check one.
pub use reqwest::Url;
