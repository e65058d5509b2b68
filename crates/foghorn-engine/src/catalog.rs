//! What the engine needs of the providers, without depending on them: the
//! kinds' facts, and a way to build an account from its settings. The
//! binary hands in the providers' implementation, so the engine's build and
//! tests carry no HTTP client.

use foghorn_core::kind::Spec;
use foghorn_core::{Channel, Transport};
use std::sync::Arc;

/// Whose account is being built: the operator's may reach private
/// networks when the operator allows it; a tenant's obey the tenants' rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Operator,
    Tenant,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The settings do not read as the kind's (an unknown or missing key).
    #[error("{0}")]
    Settings(String),
    /// They read, but the account cannot be made (a refused target, a
    /// client that does not build).
    #[error("{0}")]
    Build(String),
}

pub trait Catalog: Send + Sync {
    /// Every kind's facts.
    fn kinds(&self) -> &'static [&'static Spec];
    /// Builds the account `name` from its `[providers.NAME]` table, `kind`
    /// included.
    fn build(
        &self,
        name: &str,
        settings: toml::Table,
        origin: Origin,
    ) -> Result<Arc<dyn Transport>, CatalogError>;

    fn find(&self, kind: &str) -> Option<&'static Spec> {
        self.kinds().iter().copied().find(|s| s.name == kind)
    }

    /// `kind`'s place in `channel`'s default failover order
    /// ([`Spec::rank_for`]); an unknown kind sorts last.
    fn failover_rank(&self, channel: Channel, kind: &str) -> u16 {
        self.find(kind).map_or(u16::MAX, |s| s.rank_for(channel))
    }
}
