//! The delivery engine: the accept writer (transactional outbox with group
//! commit), the worker pool that claims jobs under a lease, and the policy
//! that decides between retry, failover, fallback channel and dead letter.
//!
//! Error policy: nothing here returns to an HTTP caller; failures are
//! recorded on the notification (attempts, status reason) and logged without
//! personal data.

pub mod accept;
pub mod breaker;
mod deliver;
pub mod failover;
pub mod outbound;
pub mod plan;
pub mod pricing;
pub mod retry;
pub mod routing;
pub mod short_links;
pub mod sms_text;
pub mod tenant_routing;
mod worker;

pub use accept::{AcceptError, Acceptor};
pub use routing::Routing;
pub use tenant_routing::TenantRoutes;
pub use worker::{Worker, WorkerHandle};
