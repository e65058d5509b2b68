//! The providers as the engine's [`Catalog`]: their kinds' facts, and
//! accounts built with this node's HTTP options and its two shared client
//! pools (one per trust level). The only place the engine meets them.

use crate::config::Config;
use foghorn_core::kind::Spec;
use foghorn_core::Transport;
use foghorn_engine::{Catalog, CatalogError, Origin};
use foghorn_providers::http::{Clients, HttpOptions};
use foghorn_providers::{registry, BuildError, Provider, ProviderConfig};
use serde::Deserialize;
use std::sync::Arc;

pub struct Providers {
    opts: HttpOptions,
    clients: Clients,
}

impl Providers {
    /// The catalog of a node running `config`.
    pub fn for_config(config: &Config) -> Result<Arc<Providers>, BuildError> {
        let opts = http_options(config);
        let clients = Clients::new(&opts)?;
        Ok(Arc::new(Providers { opts, clients }))
    }
}

impl Providers {
    /// One operator account, as its own type (for commands that speak to
    /// one kind, like registering Discord's slash commands).
    pub fn provider(
        &self,
        name: &str,
        entry: &foghorn_engine::config::ProviderEntry,
    ) -> anyhow::Result<Provider> {
        let mut table = entry.settings.clone();
        table.insert(
            "kind".into(),
            toml::Value::String(entry.kind.clone().unwrap_or_else(|| name.to_string())),
        );
        let config = ProviderConfig::deserialize(toml::Value::Table(table))
            .map_err(|e| anyhow::anyhow!("provider `{name}`: {}", e.message()))?;
        Ok(Provider::build(
            name,
            config,
            &self.opts,
            &self.clients,
            registry::Origin::Operator,
        )?)
    }
}

/// The HTTP options every provider of a node is built with.
fn http_options(config: &Config) -> HttpOptions {
    HttpOptions {
        allow_private_targets: config.security.allow_private_targets,
        allow_private_targets_for_tenants: config.security.allow_private_targets_for_tenants,
        timeout: config.delivery.send_timeout,
        public_url: config
            .public_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string()),
    }
}

impl Catalog for Providers {
    fn kinds(&self) -> &'static [&'static Spec] {
        foghorn_providers::kinds::all()
    }

    fn build(
        &self,
        name: &str,
        settings: toml::Table,
        origin: Origin,
    ) -> Result<Arc<dyn Transport>, CatalogError> {
        let config = ProviderConfig::deserialize(toml::Value::Table(settings))
            .map_err(|e| CatalogError::Settings(e.message().to_string()))?;
        let origin = match origin {
            Origin::Operator => registry::Origin::Operator,
            Origin::Tenant => registry::Origin::Tenant,
        };
        let provider = Provider::build(name, config, &self.opts, &self.clients, origin)
            .map_err(|e| CatalogError::Build(e.to_string()))?;
        Ok(Arc::new(provider))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foghorn_core::Channel;
    use foghorn_engine::breaker::Admission;
    use foghorn_engine::config::{ChannelConfig, PriceEntry, ProviderEntry};
    use foghorn_engine::pricing::PriceTable;
    use foghorn_engine::routing::{Routing, Slot};
    use std::collections::BTreeMap;

    fn routing(c: &Config) -> Routing {
        let catalog: Arc<dyn Catalog> = Providers::for_config(c).unwrap();
        Routing::from_config(c, catalog).unwrap()
    }

    fn config(text: &str) -> Config {
        Config::from_toml(text).expect("config")
    }

    #[test]
    fn recipients_in_a_country_get_its_provider_order_and_sender() {
        let c = config(
            "[providers.a]\nkind = \"webhook\"\nurl = \"https://a.example/sms\"\n\
             [providers.b]\nkind = \"webhook\"\nurl = \"https://b.example/sms\"\n\
             [channels.sms]\nproviders = [\"a\", \"b\"]\n[channels.sms.countries]\nGB = [\"b\", \"a\"]\n\
             [sms.senders]\nGB = \"NaviDocs\"\n",
        );
        let r = routing(&c);
        let names = |s: &[Arc<Slot>]| {
            s.iter()
                .map(|x| x.provider.name().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(r.for_recipient(Channel::Sms, Some("GB"))), ["b", "a"]);
        assert_eq!(names(r.for_recipient(Channel::Sms, Some("US"))), ["a", "b"]);
        assert_eq!(names(r.for_recipient(Channel::Sms, None)), ["a", "b"]);
        assert_eq!(r.sms_sender(Some("GB")), Some("NaviDocs"));
        assert_eq!(r.sms_sender(Some("US")), None);
    }

    /// A tenant's routing holds the operator's instances themselves: a
    /// breaker opened through one tenant is open for every tenant, and
    /// pacing is one limit, not one per tenant.
    #[test]
    fn tenant_routings_share_the_operators_accounts() {
        let c = config(
            "[providers.relay]\nkind = \"webhook\"\nurl = \"https://relay.example/sms\"\nrate_per_second = 5\n\
             [providers.mail]\nkind = \"webhook\"\nurl = \"https://mail.example/in\"\nchannels = [\"email\"]\n",
        );
        let global = routing(&c);
        let own = ProviderEntry {
            kind: Some("webhook".into()),
            rate_per_second: None,
            channels: Some(vec![Channel::Email]),
            settings: toml::from_str("url = \"https://dealer.example/in\"").unwrap(),
        };
        let slot = Arc::new(global.tenant_slot("dealer", &own, &c).unwrap());
        let mut derived = c.clone();
        derived.channels.insert(
            Channel::Email,
            ChannelConfig {
                providers: vec!["dealer".into()],
                countries: Default::default(),
            },
        );
        let a = global
            .with_accounts(
                &derived,
                [(
                    "dealer".to_string(),
                    slot.clone(),
                    Some(vec![Channel::Email]),
                )],
            )
            .unwrap();
        let b = global
            .with_accounts(
                &derived,
                [("dealer".to_string(), slot, Some(vec![Channel::Email]))],
            )
            .unwrap();
        let sms = |r: &Routing| r.for_channel(Channel::Sms)[0].clone();
        assert!(Arc::ptr_eq(&sms(&global), &sms(&a)) && Arc::ptr_eq(&sms(&a), &sms(&b)));
        assert_eq!(a.for_channel(Channel::Email)[0].provider.name(), "dealer");
        sms(&a).breaker.trip(std::time::Instant::now());
        assert!(matches!(
            sms(&b).breaker.admit(std::time::Instant::now()),
            Admission::Rejected(_)
        ));
        // A tenant's account is built under the tenants' rule.
        let private = ProviderEntry {
            settings: toml::from_str("url = \"http://10.0.0.7/in\"").unwrap(),
            ..own
        };
        let err = global
            .tenant_slot("dealer", &private, &c)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("private"), "{err}");
    }

    fn table(toml_text: &str) -> PriceTable {
        #[derive(serde::Deserialize)]
        struct T {
            pricing: BTreeMap<String, PriceEntry>,
        }
        let t: T = toml::from_str(toml_text).unwrap();
        PriceTable::new(&t.pricing, foghorn_providers::kinds::all())
    }

    #[test]
    fn the_seed_scenario_costs_what_the_issue_says() {
        let t = PriceTable::new(&BTreeMap::new(), foghorn_providers::kinds::all());
        let email = t
            .cost("mailgun", "mailgun", Channel::Email, 0, None)
            .unwrap();
        let sms = t
            .cost("twilio", "twilio", Channel::Sms, 1, Some("US"))
            .unwrap();
        assert_eq!((email.micros * 100 + sms.micros * 50), 425_000);
        assert_eq!(sms.currency, "USD");
        assert_eq!(
            t.cost("twilio", "twilio", Channel::Sms, 3, Some("us"))
                .unwrap()
                .micros,
            22_500
        );
        // No built-in price for another country, nor for the sandbox.
        assert_eq!(
            t.cost("twilio", "twilio", Channel::Sms, 1, Some("FR")),
            None
        );
        assert_eq!(t.cost("sandbox", "sandbox", Channel::Email, 0, None), None);
    }

    #[test]
    fn configured_prices_win_by_name_then_kind() {
        let t = table(
            "[pricing.twilio]\ncurrency = \"EUR\"\n[pricing.twilio.sms]\nFR = \"0.07\"\ndefault = \"0.05\"\n\
             [pricing.mg-eu]\nemail = \"0.0009\"\n",
        );
        let fr = t
            .cost("twilio", "twilio", Channel::Sms, 2, Some("FR"))
            .unwrap();
        assert_eq!((fr.micros, fr.currency.as_str()), (140_000, "EUR"));
        // The configured table replaces the built-in one: US is `default` now.
        assert_eq!(
            t.cost("twilio", "twilio", Channel::Sms, 1, Some("US"))
                .unwrap()
                .micros,
            50_000
        );
        assert_eq!(
            t.cost("mg-eu", "mailgun", Channel::Email, 0, None)
                .unwrap()
                .micros,
            900
        );
        assert_eq!(
            t.cost("mg-us", "mailgun", Channel::Email, 0, None)
                .unwrap()
                .micros,
            500
        );
    }
}
