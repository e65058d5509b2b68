//! Provider routing per tenant. A tenant may bring its own provider accounts
//! (stored sealed, managed through `/v1/providers`); for every channel one of
//! them serves, the tenant's accounts replace the operator's, so a dealer's
//! messages go out on the dealer's account and never spend the operator's.
//! Tenants without accounts share the operator's routing.

use super::routing::{Routing, RoutingError};
use crate::config::{ChannelConfig, Config, ProviderEntry};
use foghorn_core::Channel;
use foghorn_providers::http::{build_client, HttpOptions};
use foghorn_providers::{Provider, ProviderConfig};
use foghorn_store::{Store, TenantProviderRow};
use serde::Deserialize;
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
}

pub struct TenantRoutes {
    config: Config,
    global: Arc<Routing>,
    store: Store,
    tenants: RwLock<HashMap<String, Entry>>,
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

/// Builds one provider from an entry: validates a tenant's settings before
/// they are stored, and tells which channels it serves.
pub fn build_entry(
    name: &str,
    entry: &ProviderEntry,
    config: &Config,
) -> Result<Provider, RoutingError> {
    let mut table = entry.settings.clone();
    table.insert(
        "kind".into(),
        toml::Value::String(entry.kind.clone().unwrap_or_else(|| name.to_string())),
    );
    let pc = ProviderConfig::deserialize(toml::Value::Table(table)).map_err(|e| {
        RoutingError::Provider {
            name: name.to_string(),
            message: e.message().to_string(),
        }
    })?;
    let opts = HttpOptions {
        allow_private_targets: config.security.allow_private_targets,
        timeout: config.delivery.send_timeout,
        public_url: config
            .public_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string()),
    };
    Ok(Provider::build(name, pc, &opts, &build_client(&opts)?)?)
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
    pub async fn for_tenant(&self, tenant: &str) -> Arc<Routing> {
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
        let routing = if version.0 == 0 && !version.2 {
            self.global.clone()
        } else {
            match self.build(tenant).await {
                Ok(r) => Arc::new(r),
                Err(e) => {
                    // Stored settings were validated on the way in; if they
                    // no longer build, keep sending on the shared routing.
                    tracing::error!(tenant, error = %e, "a tenant's provider accounts do not build; using the shared ones");
                    self.global.clone()
                }
            }
        };
        if let Ok(mut map) = self.tenants.write() {
            map.insert(
                tenant.to_string(),
                Entry {
                    routing: routing.clone(),
                    version,
                    checked: Instant::now(),
                },
            );
        }
        routing
    }

    /// What a tenant's routing depends on: its provider accounts (count,
    /// last change) and whether its settings name SMS senders (with the
    /// settings' last change folded into the timestamp).
    async fn version(&self, tenant: &str) -> Result<(i64, i64, bool), foghorn_store::StoreError> {
        let (count, changed) = self.store.tenant_providers_version(tenant).await?;
        let t = self.store.tenant(tenant).await?;
        let senders = t
            .as_ref()
            .is_some_and(|t| !tenant_senders(&t.settings).is_empty());
        let settings_changed = t.map(|t| t.updated_at).unwrap_or(0);
        Ok((count, changed.max(settings_changed), senders))
    }

    /// Drops a tenant's cached routing (after a change through this node).
    pub fn invalidate(&self, tenant: &str) {
        if let Ok(mut map) = self.tenants.write() {
            map.remove(tenant);
        }
    }

    fn cached(&self, tenant: &str) -> Option<Arc<Routing>> {
        self.tenants
            .read()
            .ok()?
            .get(tenant)
            .map(|e| e.routing.clone())
    }

    async fn build(&self, tenant: &str) -> anyhow::Result<Routing> {
        let rows = self.store.tenant_providers(tenant).await?;
        let mut derived = self.config.clone();
        let mut serves: HashMap<Channel, Vec<String>> = HashMap::new();
        for row in &rows {
            let entry = entry_of(row)?;
            let provider = build_entry(&row.name, &entry, &self.config)?;
            let only = entry.channels.clone();
            let serves_channel =
                |c: &Channel| provider.supports(*c) && only.as_ref().is_none_or(|o| o.contains(c));
            for ch in Channel::ALL.into_iter().filter(serves_channel) {
                serves.entry(ch).or_default().push(row.name.clone());
            }
            derived.providers.insert(row.name.clone(), entry);
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
        Ok(Routing::from_config(&derived)?)
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
