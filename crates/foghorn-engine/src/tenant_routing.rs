//! Provider routing per tenant. A tenant may bring its own provider accounts
//! (stored sealed, managed through `/v1/providers`); for every channel one of
//! them serves, the tenant's accounts replace the operator's, so a dealer's
//! messages go out on the dealer's account and never spend the operator's.
//! Tenants without accounts share the operator's routing; tenants with
//! accounts share the operator's instances for the rest (one breaker, one
//! pacing limit, one connection pool per account, however many tenants use
//! it).

use super::routing::{Routing, RoutingError, Slot};
use crate::config::{ChannelConfig, Config, ProviderEntry};
use foghorn_core::Channel;
use foghorn_core::TenantId;
use foghorn_store::{Store, TenantProviderRow};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a node trusts its copy of a tenant's accounts before checking
/// for changes made elsewhere.
const RECHECK: Duration = Duration::from_secs(5);

struct Entry {
    routing: Arc<Routing>,
    version: (i64, i64, bool),
    checked: Instant,
    /// The tenant's own accounts by name, with the stored row they were
    /// built from: an unchanged account keeps its slot (and its breaker)
    /// when another of the tenant's accounts changes.
    own: HashMap<String, (String, Arc<Slot>)>,
}

pub struct TenantRoutes {
    config: Config,
    global: Arc<Routing>,
    store: Store,
    tenants: RwLock<HashMap<TenantId, Entry>>,
}

/// A tenant's provider settings as a config entry (`kind` plus settings).
pub fn entry_of(row: &TenantProviderRow) -> Result<ProviderEntry, RoutingError> {
    let bad = |message: String| RoutingError::Provider {
        name: row.name.clone(),
        message,
    };
    let mut json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&row.config).map_err(|e| bad(e.to_string()))?;
    // The engine's own settings sit beside the provider's, as in the config file.
    let channels = match json.remove("channels") {
        Some(v) => Some(
            serde_json::from_value::<Vec<Channel>>(v).map_err(|e| bad(format!("channels: {e}")))?,
        ),
        None => None,
    };
    let rate_per_second = match json.remove("rate_per_second") {
        Some(v) => {
            let r = v.as_f64().filter(|r| *r > 0.0);
            Some(r.ok_or_else(|| bad("rate_per_second must be a positive number".into()))?)
        }
        None => None,
    };
    let settings = toml::Table::try_from(json).map_err(|e| bad(e.to_string()))?;
    Ok(ProviderEntry {
        kind: Some(row.kind.clone()),
        rate_per_second,
        channels,
        settings,
    })
}

/// Builds a tenant's account from its entry, under the tenants' rules:
/// validates settings before they are stored.
pub fn build_entry(
    name: &str,
    entry: &ProviderEntry,
    routes: &TenantRoutes,
) -> Result<Slot, RoutingError> {
    routes.global.tenant_slot(name, entry, &routes.config)
}

impl TenantRoutes {
    pub fn new(config: Config, global: Arc<Routing>, store: Store) -> TenantRoutes {
        TenantRoutes {
            config,
            global,
            store,
            tenants: RwLock::new(HashMap::new()),
        }
    }

    pub fn global(&self) -> &Arc<Routing> {
        &self.global
    }

    /// The routing a tenant's sends use.
    pub async fn for_tenant(&self, tenant: &TenantId) -> Arc<Routing> {
        if let Ok(map) = self.tenants.read() {
            if let Some(e) = map.get(tenant) {
                if e.checked.elapsed() < RECHECK {
                    return e.routing.clone();
                }
            }
        }
        let version = match self.version(tenant).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "could not check a tenant's providers; using the last known routing");
                return self.cached(tenant).unwrap_or_else(|| self.global.clone());
            }
        };
        if let Ok(mut map) = self.tenants.write() {
            if let Some(e) = map.get_mut(tenant) {
                if e.version == version {
                    e.checked = Instant::now();
                    return e.routing.clone();
                }
            }
        }
        let previous = self
            .tenants
            .read()
            .ok()
            .and_then(|m| m.get(tenant).map(|e| e.own.clone()))
            .unwrap_or_default();
        let (routing, own) = if version.0 == 0 && !version.2 {
            (self.global.clone(), HashMap::new())
        } else {
            match self.build(tenant, &previous).await {
                Ok((r, own)) => (Arc::new(r), own),
                Err(e) => {
                    // Stored settings were validated on the way in; if they
                    // no longer build, keep sending on the shared routing.
                    tracing::error!(tenant = %tenant, error = %e, "a tenant's provider accounts do not build; using the shared ones");
                    (self.global.clone(), HashMap::new())
                }
            }
        };
        if let Ok(mut map) = self.tenants.write() {
            map.insert(
                tenant.clone(),
                Entry {
                    routing: routing.clone(),
                    version,
                    checked: Instant::now(),
                    own,
                },
            );
        }
        routing
    }

    /// What a tenant's routing depends on: its provider accounts (count,
    /// last change) and whether its settings name SMS senders (with the
    /// settings' last change folded into the timestamp).
    async fn version(
        &self,
        tenant: &TenantId,
    ) -> Result<(i64, i64, bool), foghorn_store::StoreError> {
        let (count, changed) = self.store.tenant_providers_version(tenant).await?;
        let t = self.store.tenant(tenant).await?;
        let senders = t
            .as_ref()
            .is_some_and(|t| !tenant_senders(&t.settings).is_empty());
        let settings_changed = t.map(|t| t.updated_at).unwrap_or(0);
        Ok((count, changed.max(settings_changed), senders))
    }

    /// Drops a tenant's cached routing (after a change through this node).
    pub fn invalidate(&self, tenant: &TenantId) {
        if let Ok(mut map) = self.tenants.write() {
            map.remove(tenant);
        }
    }

    fn cached(&self, tenant: &TenantId) -> Option<Arc<Routing>> {
        self.tenants
            .read()
            .ok()?
            .get(tenant)
            .map(|e| e.routing.clone())
    }

    async fn build(
        &self,
        tenant: &TenantId,
        previous: &HashMap<String, (String, Arc<Slot>)>,
    ) -> Result<(Routing, HashMap<String, (String, Arc<Slot>)>), RoutingError> {
        let rows = self.store.tenant_providers(tenant).await?;
        let mut derived = self.config.clone();
        let mut serves: HashMap<Channel, Vec<String>> = HashMap::new();
        let mut own = HashMap::new();
        let mut slots = Vec::new();
        for row in &rows {
            let entry = entry_of(row)?;
            let fingerprint = format!("{}\n{}\n{}", row.kind, row.config, row.updated_at);
            let slot = match previous.get(&row.name) {
                Some((seen, slot)) if *seen == fingerprint => slot.clone(),
                _ => Arc::new(build_entry(&row.name, &entry, self)?),
            };
            let only = entry.channels.clone();
            let serves_channel = |c: &Channel| {
                slot.provider.supports(*c) && only.as_ref().is_none_or(|o| o.contains(c))
            };
            for ch in Channel::ALL.into_iter().filter(serves_channel) {
                serves.entry(ch).or_default().push(row.name.clone());
            }
            own.insert(row.name.clone(), (fingerprint, slot.clone()));
            slots.push((row.name.clone(), slot, only));
        }
        if let Some(t) = self.store.tenant(tenant).await? {
            derived.sms.senders.extend(tenant_senders(&t.settings));
        }
        for (ch, names) in serves {
            derived.channels.insert(
                ch,
                ChannelConfig {
                    providers: names,
                    countries: Default::default(),
                },
            );
        }
        Ok((self.global.with_accounts(&derived, slots)?, own))
    }
}

/// A tenant's `sms_senders` setting: sender per recipient country.
fn tenant_senders(settings: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(settings).unwrap_or_default();
    v.get("sms_senders")
        .and_then(|s| s.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.to_ascii_uppercase(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}
