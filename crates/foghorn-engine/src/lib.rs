//! Foghorn's engine: what happens to an event between the edge that received
//! it (the HTTP API, the CLI) and the provider that carries it. The intake
//! checks and plans an event, the accept writer commits it (transactional
//! outbox with group commit), the worker pool claims jobs under a lease, and
//! the policy decides between retry, failover, fallback channel and dead
//! letter. Workflows, provider callbacks, unsubscribe links and proofs of
//! notice live here too.
//!
//! Nothing here knows HTTP servers: the crate builds without axum, hyper's
//! server side or the OpenAPI machinery, so the edges can change without
//! touching delivery.
//!
//! Error policy: nothing here returns to an HTTP caller; failures are
//! recorded on the notification (attempts, status reason) and logged without
//! personal data.

pub mod accept;
pub mod acknowledge;
pub mod breaker;
pub mod budget;
pub mod catalog;
pub mod config;
mod deliver;
pub mod fields;
pub mod inbound;
pub mod intake;
pub mod outbound;
pub mod overview_rollup;
pub mod own_thread;
pub mod phone;
pub mod plan;
pub mod policy_cache;
pub mod preferences;
pub mod pricing;
pub mod proof;
pub mod retention;
pub mod retry;
pub mod routing;
pub mod short_links;
pub mod signed_token;
pub mod sms_text;
pub mod team;
pub mod tenant_routing;
pub mod unsubscribe;
pub mod voice;
mod worker;
pub mod workflow;

pub use accept::{AcceptError, Acceptor};
pub use catalog::{Catalog, CatalogError, Origin};
pub use routing::Routing;
pub use tenant_routing::TenantRoutes;
pub use worker::{FreshJobs, Handoff, Worker, WorkerHandle};
