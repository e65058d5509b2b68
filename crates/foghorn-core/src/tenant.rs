//! The id of a tenant (a dealer, a brokerage): its own type, so a store or
//! engine call that takes a tenant and a name cannot be handed them the
//! wrong way round, and every query that must be scoped says by what.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct TenantId(pub(crate) String);

impl TenantId {
    /// The tenant a single-dealer install runs as, and the one the
    /// operator's own keys and files belong to.
    pub const DEFAULT: &'static str = "default";

    pub fn new(id: impl Into<String>) -> TenantId {
        TenantId(id.into())
    }

    pub fn default_tenant() -> TenantId {
        TenantId::new(TenantId::DEFAULT)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for TenantId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for TenantId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Any text names a tenant; whether one exists is the store's question.
impl std::str::FromStr for TenantId {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<TenantId, Self::Err> {
        Ok(TenantId::new(s))
    }
}

impl From<&str> for TenantId {
    fn from(id: &str) -> TenantId {
        TenantId::new(id)
    }
}

impl From<String> for TenantId {
    fn from(id: String) -> TenantId {
        TenantId(id)
    }
}
