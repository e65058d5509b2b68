//! Foghorn's domain vocabulary: identifiers, channels, statuses, the rendered
//! message a provider receives and the classified error it answers with.
//!
//! This crate knows nothing of HTTP servers or SQL, so the providers and the
//! storage layer can share it without reaching into each other.

pub mod canonical;
pub mod channel;
pub mod clock;
pub mod hex;
pub mod ids;
pub mod inbound;
pub mod kind;
pub mod mailbox;
pub mod message;
pub mod money;
pub mod net_policy;
pub mod policy;
pub mod provider_error;
pub mod recipient;
pub mod secret;
pub mod segments;
#[cfg(feature = "sql")]
mod sql;
pub mod status;
pub mod team;
pub mod tenant;
pub mod transport;
pub mod voice;

pub use channel::Channel;
pub use inbound::{
    DeliveryState, FetchedMedia, InboundError, InboundEvent, InboundMedia, InboundRequest,
};
pub use message::{normalise_address, Address, MessageTemplate, Outbound, Receipt, Rendered};
pub use money::Money;
pub use provider_error::{ErrorKind, ProviderError};
pub use recipient::{Contact, Recipient, Reminder};
pub use secret::Secret;
pub use status::Status;
pub use team::{Answer, Card, Interaction, Reply, Severity};
pub use tenant::TenantId;
pub use transport::Transport;
