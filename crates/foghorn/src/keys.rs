//! API keys: their scopes, and how a new one is made. The API checks them
//! (`api::auth`); the CLI (`foghorn keys create`) and the demo make them.
//!
//! Keys are random 32-character secrets; only their SHA-256 is stored. A
//! fast hash is right here: the input has ~190 bits of entropy, so there is
//! nothing for a slow hash to protect, and every request pays for it.

use foghorn_core::TenantId;
use foghorn_store::ApiKeyRow;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    EventsWrite,
    Read,
    Admin,
    /// Manages tenants; belongs to no tenant and sees no tenant's data.
    Operator,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EventsWrite => "events:write",
            Scope::Read => "read",
            Scope::Admin => "admin",
            Scope::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub const ALL: [Scope; 4] = [
        Scope::EventsWrite,
        Scope::Read,
        Scope::Admin,
        Scope::Operator,
    ];
}

pub fn hash_key(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// A new key: (secret to show once, row to store).
pub fn new_key(tenant_id: &TenantId, scopes: &[Scope]) -> (String, ApiKeyRow) {
    use rand::distributions::{Alphanumeric, DistString};
    let secret = format!(
        "fh_{}",
        Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32)
    );
    let row = ApiKeyRow {
        id: foghorn_core::ids::api_key_id(),
        tenant_id: tenant_id.clone(),
        prefix: secret[..7].to_string(),
        hash: hash_key(&secret),
        scopes: scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        created_at: chrono::Utc::now().timestamp_millis(),
        last_used_at: None,
        revoked_at: None,
        name: None,
    };
    (secret, row)
}
