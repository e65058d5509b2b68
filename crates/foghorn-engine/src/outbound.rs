//! What the engine adds to messages on their way out, built once from
//! config: unsubscribe links for email, the public URL short links use, and
//! the price table for costs.

use super::pricing::PriceTable;
use crate::config::Config;
use crate::unsubscribe::{mailto_address, Unsubscribe};
use foghorn_core::Channel;
use foghorn_store::crypto::Crypto;

pub struct OutboundSettings {
    pub pricing: PriceTable,
    pub unsubscribe: Unsubscribe,
    /// The acknowledgement links of emails and SMS that ask for one.
    pub acknowledge: crate::acknowledge::AckLinks,
    /// Where short links and unsubscribe pages live, no trailing slash.
    pub public_url: Option<String>,
}

impl OutboundSettings {
    /// `email_senders` are the configured email providers' default senders,
    /// in failover order (the `mailto` falls back to the first one's domain).
    pub fn from_config(
        config: &Config,
        crypto: Crypto,
        routing: &super::Routing,
    ) -> OutboundSettings {
        let senders: Vec<String> = config
            .email
            .from
            .iter()
            .cloned()
            .chain(
                routing
                    .for_channel(Channel::Email)
                    .iter()
                    .filter_map(|slot| {
                        config
                            .providers
                            .get(slot.provider.name())
                            .and_then(|p| p.settings.get("from"))
                            .and_then(toml::Value::as_str)
                            .map(str::to_string)
                    }),
            )
            .collect();
        let senders: Vec<&str> = senders.iter().map(String::as_str).collect();
        let mailto = mailto_address(config.email.unsubscribe_mailto.as_deref(), &senders);
        if config.public_url.is_none() {
            tracing::warn!(
                "public_url is not set: emails carry no one-click unsubscribe link (only mailto)"
            );
        }
        OutboundSettings {
            public_url: config
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            pricing: PriceTable::new(&config.pricing, routing.kinds()),
            acknowledge: crate::acknowledge::links(crypto.clone(), config.public_url.as_deref()),
            unsubscribe: Unsubscribe::new(
                crypto,
                config.public_url.as_deref(),
                mailto,
                config.email.unsubscribe_ttl,
            ),
        }
    }
}
