//! Tenant policies as sends read them: fresh enough (a second old at most)
//! without a database read per send. Accepting an event reads the policy in
//! its own transaction, so a change always holds for what is accepted next.

use foghorn_core::policy::TenantPolicy;
use foghorn_core::TenantId;
use foghorn_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a read policy is used before it is read again.
const FRESH_FOR: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct PolicyCache {
    held: Mutex<HashMap<TenantId, (Instant, Arc<TenantPolicy>)>>,
}

impl PolicyCache {
    pub async fn get(
        &self,
        store: &Store,
        tenant: &TenantId,
    ) -> Result<Arc<TenantPolicy>, StoreError> {
        if let Ok(held) = self.held.lock() {
            if let Some((at, p)) = held.get(tenant) {
                if at.elapsed() < FRESH_FOR {
                    return Ok(p.clone());
                }
            }
        }
        let fresh = Arc::new(store.tenant_policy(tenant).await?);
        if let Ok(mut held) = self.held.lock() {
            held.insert(tenant.clone(), (Instant::now(), fresh.clone()));
        }
        Ok(fresh)
    }
}
