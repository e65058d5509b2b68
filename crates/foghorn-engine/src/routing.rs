//! Which providers serve each channel, in failover order, each with its
//! circuit breaker and rate limiter.
//!
//! Built once from config. A channel without `[channels.X].providers` uses
//! every provider that serves it, in the default order of its kind
//! ([`Catalog::failover_rank`]);
//! a channel with no configured provider falls back to the sandbox, so a
//! fresh install delivers somewhere visible.

use super::breaker::Breaker;
use crate::catalog::{Catalog, CatalogError, Origin};
use crate::config::Config;
use crate::config::ProviderEntry;
use foghorn_core::kind::Spec;
use foghorn_core::{Channel, Transport};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

pub struct Slot {
    pub provider: Arc<dyn Transport>,
    pub breaker: Breaker,
    /// Pacing: a send waits for its turn instead of failing.
    pub limiter: Option<DefaultDirectRateLimiter>,
}

pub struct Routing {
    by_channel: HashMap<Channel, Vec<Arc<Slot>>>,
    /// Country-specific orders, where configured.
    by_country: HashMap<(Channel, String), Vec<Arc<Slot>>>,
    /// SMS sender per recipient country.
    sms_senders: HashMap<String, String>,
    /// Every configured instance, by name.
    all: Vec<Arc<Slot>>,
    /// The instances with the channels each is limited to: a tenant's
    /// routing starts from these same slots, so an account's breaker,
    /// pacing and connection pool are one wherever the account is used.
    named: Named,
    catalog: Arc<dyn Catalog>,
}

type Named = HashMap<String, (Arc<Slot>, Option<Vec<Channel>>)>;

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("providers.{name}: {message}")]
    Provider { name: String, message: String },
    #[error("channels.{channel}: provider `{provider}` cannot send {channel}")]
    Unsupported { channel: Channel, provider: String },
    #[error("{0}")]
    Build(String),
    /// A tenant's accounts could not be read.
    #[error(transparent)]
    Store(#[from] foghorn_store::StoreError),
}

impl Routing {
    pub fn from_config(
        config: &Config,
        catalog: Arc<dyn Catalog>,
    ) -> Result<Routing, RoutingError> {
        let mut named = Named::new();
        for (name, entry) in &config.providers {
            let slot = Slot::build(name, entry, config, catalog.as_ref(), Origin::Operator)?;
            named.insert(name.clone(), (Arc::new(slot), entry.channels.clone()));
        }
        Self::assemble(config, named, catalog)
    }

    /// Every provider kind's facts.
    pub fn kinds(&self) -> &'static [&'static Spec] {
        self.catalog.kinds()
    }

    /// A tenant's routing: this routing's instances, the same ones, plus the
    /// tenant's own accounts; `config` says the channel orders and senders
    /// that result.
    pub fn with_accounts(
        &self,
        config: &Config,
        own: impl IntoIterator<Item = (String, Arc<Slot>, Option<Vec<Channel>>)>,
    ) -> Result<Routing, RoutingError> {
        let mut named = self.named.clone();
        for (name, slot, channels) in own {
            named.insert(name, (slot, channels));
        }
        Self::assemble(config, named, self.catalog.clone())
    }

    /// Builds one of a tenant's accounts with this node's clients, under the
    /// tenants' rules.
    pub fn tenant_slot(
        &self,
        name: &str,
        entry: &ProviderEntry,
        config: &Config,
    ) -> Result<Slot, RoutingError> {
        Slot::build(name, entry, config, self.catalog.as_ref(), Origin::Tenant)
    }

    fn assemble(
        config: &Config,
        mut named: Named,
        catalog: Arc<dyn Catalog>,
    ) -> Result<Routing, RoutingError> {
        let breaker = || Breaker::new(config.breaker.failure_threshold, config.breaker.open_for);
        if !named.contains_key("sandbox") {
            let mut settings = toml::Table::new();
            settings.insert("kind".into(), toml::Value::String("sandbox".into()));
            let provider = catalog
                .build("sandbox", settings, Origin::Operator)
                .map_err(|e| from_catalog("sandbox", e))?;
            named.insert(
                "sandbox".into(),
                (
                    Arc::new(Slot {
                        provider,
                        breaker: breaker(),
                        limiter: None,
                    }),
                    None,
                ),
            );
        }
        let serves = |slot: &Slot, only: &Option<Vec<Channel>>, ch: Channel| {
            slot.provider.supports(ch) && only.as_ref().is_none_or(|c| c.contains(&ch))
        };
        let mut by_channel = HashMap::new();
        for ch in Channel::ALL {
            let list: Vec<Arc<Slot>> =
                match config.channels.get(&ch).filter(|c| !c.providers.is_empty()) {
                    Some(c) => {
                        let mut v = Vec::new();
                        for p in &c.providers {
                            let (slot, only) = &named[p.as_str()];
                            if !serves(slot, only, ch) {
                                return Err(RoutingError::Unsupported {
                                    channel: ch,
                                    provider: p.clone(),
                                });
                            }
                            v.push(slot.clone());
                        }
                        v
                    }
                    None => {
                        let mut names: Vec<&String> = named
                            .iter()
                            .filter(|(n, (slot, only))| {
                                n.as_str() != "sandbox" && serves(slot, only, ch)
                            })
                            .map(|(n, _)| n)
                            .collect();
                        // The default order by kind (each kind's rank in
                        // the providers' table), then by name.
                        names.sort_by_key(|n| {
                            (
                                catalog.failover_rank(ch, named[n.as_str()].0.provider.kind()),
                                *n,
                            )
                        });
                        let mut v: Vec<Arc<Slot>> =
                            names.into_iter().map(|n| named[n].0.clone()).collect();
                        if v.is_empty() {
                            v.push(named["sandbox"].0.clone());
                        }
                        v
                    }
                };
            by_channel.insert(ch, list);
        }
        let mut by_country = HashMap::new();
        for (ch, c) in &config.channels {
            for (country, names) in &c.countries {
                let mut v = Vec::new();
                for p in names {
                    let Some((slot, only)) = named.get(p.as_str()) else {
                        return Err(RoutingError::Provider {
                            name: p.clone(),
                            message: "is not configured".into(),
                        });
                    };
                    if !serves(slot, only, *ch) {
                        return Err(RoutingError::Unsupported {
                            channel: *ch,
                            provider: p.clone(),
                        });
                    }
                    v.push(slot.clone());
                }
                by_country.insert((*ch, country.clone()), v);
            }
        }
        let sms_senders = config
            .sms
            .senders
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut all: Vec<(&String, &Arc<Slot>)> =
            named.iter().map(|(name, (slot, _))| (name, slot)).collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        let all = all.into_iter().map(|(_, slot)| slot.clone()).collect();
        Ok(Routing {
            by_channel,
            by_country,
            sms_senders,
            all,
            named,
            catalog,
        })
    }

    /// Every instance, in configuration order (the dashboard lists their
    /// breakers).
    pub fn instances(&self) -> &[Arc<Slot>] {
        &self.all
    }

    /// The configured instances of a provider kind (`twilio`), by name:
    /// the candidates for verifying a callback to `/hooks/{kind}`.
    pub fn of_kind(&self, kind: &str) -> Vec<Arc<Slot>> {
        self.all
            .iter()
            .filter(|s| s.provider.kind() == kind)
            .cloned()
            .collect()
    }

    /// The providers for a recipient in `country` (its own order when one is
    /// configured, else the channel's).
    pub fn for_recipient(&self, channel: Channel, country: Option<&str>) -> &[Arc<Slot>] {
        country
            .and_then(|c| self.by_country.get(&(channel, c.to_string())))
            .map(Vec::as_slice)
            .unwrap_or_else(|| self.for_channel(channel))
    }

    /// The sender for SMS to `country`, when one is configured.
    pub fn sms_sender(&self, country: Option<&str>) -> Option<&str> {
        country
            .and_then(|c| self.sms_senders.get(c))
            .map(String::as_str)
    }

    /// The channel's providers in failover order (never empty).
    pub fn for_channel(&self, channel: Channel) -> &[Arc<Slot>] {
        self.by_channel
            .get(&channel)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

impl Slot {
    /// One provider account with its own breaker and pacing, from its
    /// config entry.
    pub fn build(
        name: &str,
        entry: &ProviderEntry,
        config: &Config,
        catalog: &dyn Catalog,
        origin: Origin,
    ) -> Result<Slot, RoutingError> {
        let mut table = entry.settings.clone();
        table.insert(
            "kind".into(),
            toml::Value::String(entry.kind.clone().unwrap_or_else(|| name.to_string())),
        );
        let provider = catalog
            .build(name, table, origin)
            .map_err(|e| from_catalog(name, e))?;
        let limiter = match entry.rate_per_second {
            Some(r) if r > 0.0 => Some(limiter_for(r)),
            Some(_) => {
                return Err(RoutingError::Provider {
                    name: name.to_string(),
                    message: "rate_per_second must be positive".into(),
                })
            }
            None => None,
        };
        Ok(Slot {
            provider,
            breaker: Breaker::new(config.breaker.failure_threshold, config.breaker.open_for),
            limiter,
        })
    }
}

fn from_catalog(name: &str, e: CatalogError) -> RoutingError {
    match e {
        CatalogError::Settings(message) => RoutingError::Provider {
            name: name.to_string(),
            message,
        },
        CatalogError::Build(message) => RoutingError::Build(message),
    }
}

fn limiter_for(per_second: f64) -> DefaultDirectRateLimiter {
    // Whole sends per second, at least one; a burst of one keeps pacing even.
    let n = NonZeroU32::new(per_second.round().max(1.0) as u32).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(n).allow_burst(NonZeroU32::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_orders_must_name_configured_providers() {
        let err = Config::from_toml("[channels.sms.countries]\nGB = [\"nobody\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nobody"), "{err}");
        let err = Config::from_toml("[channels.sms.countries]\ngb = [\"sandbox\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("channels.sms.countries.gb"), "{err}");
    }
}
