//! The generic webhook provider: POSTs a JSON body to a URL, signed per the
//! Standard Webhooks spec.
//!
//! With a fixed `url` it stands in as a relay for any channel (an SMS gateway
//! of one's own); without one it delivers to the URL the message addresses.

pub mod signing;
#[cfg(test)]
mod tests;

use crate::kinds::{Callbacks, EnvVars, ListPrice, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::{http, net_guard, BuildError};
use foghorn_core::{Address, Channel, Outbound, ProviderError, Receipt};
use foghorn_core::{InboundError, InboundEvent, InboundRequest};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::Url;
use serde::Deserialize;
use signing::Secret;
use std::collections::BTreeMap;
use std::fmt;

/// Headers the provider sets itself; letting configuration override them
/// would break the signature or the body framing.
const RESERVED_HEADERS: [&str; 6] = [
    "content-type",
    "content-length",
    "host",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A fixed target; when absent the message's own URL address is used.
    #[serde(default)]
    pub url: Option<String>,
    /// `whsec_…`; deliveries go unsigned without it.
    #[serde(default)]
    pub secret: Option<foghorn_core::Secret>,
    /// Extra headers, e.g. an `authorization` the receiver expects.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// Shows the URL's host and the header names only: URLs (Slack's, Discord's)
/// and header values may be credentials, and are plain strings so that
/// tenants' JSON and the tests build them as such.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.url.as_deref().and_then(|u| Url::parse(u).ok());
        f.debug_struct("Config")
            .field("url_host", &url.as_ref().and_then(Url::host_str))
            .field("secret", &self.secret)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A client and the private-target rule it was built with, for one trust
/// level.
#[derive(Debug, Clone)]
pub struct Reach {
    pub client: reqwest::Client,
    pub allow_private: bool,
}

impl Reach {
    /// The account's own reach, and the one for URLs a tenant wrote: a
    /// tenant's URL is never reached under the operator's rule.
    pub(crate) fn both(ctx: &BuildContext<'_>) -> (Reach, Reach) {
        (
            Reach {
                client: ctx.client.clone(),
                allow_private: ctx.opts.allow_private_targets,
            },
            Reach {
                client: ctx.clients.tenant.clone(),
                allow_private: ctx.opts.allow_private_targets_for_tenants,
            },
        )
    }
}

#[derive(Clone)]
pub struct Webhook {
    name: String,
    url: Option<Url>,
    secret: Option<Secret>,
    headers: HeaderMap,
    /// For the fixed `url` and URLs of the operator's own workflows.
    reach: Reach,
    /// For URLs written by a tenant ([`Outbound::tenant_target`]).
    tenant_reach: Reach,
}

/// Redacted like [`Config`]'s.
impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url_host", &self.url.as_ref().and_then(|u| u.host_str()))
            .field("signed", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Validates everything that can be known before a message arrives, so a
    /// bad configuration fails at start-up rather than on every delivery.
    pub fn new(
        name: &str,
        config: Config,
        reach: Reach,
        tenant_reach: Reach,
    ) -> Result<Self, BuildError> {
        let invalid = |reason: String| BuildError::invalid(name, reason);
        let url = config
            .url
            .as_deref()
            .map(|u| net_guard::setting_url(name, "url", u, reach.allow_private))
            .transpose()?;
        let secret = match config.secret.as_ref().map(foghorn_core::Secret::expose) {
            None => None,
            Some(text) => Some(Secret::parse(text).map_err(|e| invalid(format!("secret: {e}")))?),
        };
        let mut headers = HeaderMap::new();
        for (key, value) in &config.headers {
            let key = HeaderName::from_bytes(key.as_bytes())
                .map_err(|_| invalid(format!("header `{key}`: not a valid header name")))?;
            if RESERVED_HEADERS.contains(&key.as_str()) {
                return Err(invalid(format!("header `{key}` is set by the provider")));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| invalid(format!("header `{key}`: not a valid header value")))?;
            headers.insert(key, value);
        }
        Ok(Webhook {
            name: name.to_string(),
            url,
            secret,
            headers,
            reach,
            tenant_reach,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Without a fixed URL only channels addressed by URL can be delivered.
    pub fn supports(&self, channel: Channel) -> bool {
        self.url.is_some() || channel.is_team_destination()
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        let target = self.target(msg)?;
        let reach = if msg.tenant_target && self.url.is_none() {
            &self.tenant_reach
        } else {
            &self.reach
        };
        net_guard::check_url(&target, reach.allow_private)?;
        let body = serde_json::to_vec(&body(msg))
            .map_err(|e| ProviderError::permanent(format!("cannot encode the body: {e}")))?;
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = reach
            .client
            .post(target)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            // The notification id is stable across retries, which makes it
            // the receiver's idempotency key.
            .header("webhook-id", &msg.notification_id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(secret) = &self.secret {
            let signature = signing::sign(secret, &msg.notification_id, timestamp, &body);
            request = request.header("webhook-signature", signature);
        }
        let resp = request
            .body(body)
            .send()
            .await
            .map_err(|e| http::classify_transport(&e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(http::Answer::read(resp).await.classify());
        }
        let (provider, id) = (&self.name, &msg.notification_id);
        tracing::debug!(%provider, notification_id = %id, %status, "webhook delivered");
        Ok(Receipt {
            provider_message_id: Some(msg.notification_id.clone()),
            http_status: Some(status.as_u16()),
            ..Receipt::default()
        })
    }

    fn target(&self, msg: &Outbound) -> Result<Url, ProviderError> {
        if let Some(url) = &self.url {
            return Ok(url.clone());
        }
        match &msg.to {
            Address::Url(text) => Url::parse(text)
                .map_err(|e| ProviderError::permanent(format!("invalid target URL: {e}"))),
            Address::Email(_) | Address::Phone(_) | Address::Channel(_) => {
                Err(ProviderError::permanent(format!(
                    "webhook provider `{}` has no fixed url and the recipient is not a URL",
                    self.name
                )))
            }
        }
    }
}

/// The rendered JSON when the template produced one; otherwise an envelope
/// that says what happened and carries the rendered content.
fn body(msg: &Outbound) -> serde_json::Value {
    match &msg.content.json {
        Some(json) => json.clone(),
        None => serde_json::json!({
            "type": msg.event_name,
            "event_id": msg.event_id,
            "notification_id": msg.notification_id,
            "channel": msg.channel,
            "to": msg.to.as_str(),
            "content": msg.content,
        }),
    }
}

pub const KIND: &str = "webhook";

impl ProviderKind for Webhook {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &Channel::ALL,
        failover_rank: None,
        list_price: ListPrice::None,
        env: EnvVars::NONE,
        sender: None,
        callbacks: Callbacks::None,
        answers_keywords: false,
        pace_per_destination_ms: 0,
    };

    fn targets(config: &Config) -> Vec<Target<'_>> {
        config
            .url
            .iter()
            .map(|u| ("url", u.as_str(), crate::net_guard::Family::Http))
            .collect()
    }

    fn build(name: &str, config: Config, ctx: &BuildContext<'_>) -> Result<Self, BuildError> {
        let (reach, tenant_reach) = Reach::both(ctx);
        Webhook::new(name, config, reach, tenant_reach)
    }
}

impl Webhook {
    /// Receives no callbacks.
    pub fn inbound(&self, _req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        Err(crate::registry::no_callbacks(self.name(), KIND))
    }
}
