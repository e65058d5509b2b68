//! Mailgun: email through the Messages API, delivery events through signed
//! webhooks.
//!
//! The notification id travels as the custom variable `v:notification_id`,
//! which Mailgun echoes in every webhook, so callbacks can be tied to a
//! notification even before the engine has stored the message id. Message
//! ids are kept without angle brackets, the form webhooks use.

mod api;
mod inbound;
#[cfg(test)]
mod tests;

use crate::email::{self, EmailParts, Mailbox};
use crate::http::Answer;
use crate::kinds::{Callbacks, EnvVars, ListPrice, Sender, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::{http, BuildError};
use foghorn_core::Secret;
use foghorn_core::{
    Channel, InboundError, InboundEvent, InboundRequest, Outbound, ProviderError, Receipt,
};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

/// The `kind` this provider is configured with.
pub const KIND: &str = "mailgun";

const US_API: &str = "https://api.mailgun.net";
const EU_API: &str = "https://api.eu.mailgun.net";

/// Where the sending domain lives: a domain exists in one region only, and
/// the other region's API answers 404 for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Us,
    Eu,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub api_key: Secret,
    /// The sending domain, e.g. `mg.navidocs.example`.
    pub domain: String,
    #[serde(default)]
    pub region: Region,
    /// Overrides the region's API host (a proxy, or a test server).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Default sender, e.g. `NaviDocs <noreply@mg.navidocs.example>`.
    pub from: String,
    /// The "HTTP webhook signing key"; without it callbacks are refused.
    #[serde(default)]
    pub webhook_signing_key: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct Mailgun {
    name: String,
    /// `{base}/v3/{domain}/messages`, built once.
    endpoint: Url,
    api_key: Secret,
    from: Mailbox,
    signing_key: Option<Secret>,
    client: reqwest::Client,
}

impl Mailgun {
    /// Everything that can be checked without a message is checked here, so
    /// a typo fails at start-up instead of on every send.
    pub fn new(name: &str, config: Config, client: reqwest::Client) -> Result<Self, BuildError> {
        let invalid = |reason: String| BuildError::invalid(name, reason);
        if config.api_key.is_blank() {
            return Err(invalid("api_key is empty".into()));
        }
        let domain = config.domain.trim();
        let domain_ok = !domain.is_empty()
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !domain_ok {
            return Err(invalid(format!("domain `{domain}` is not a domain name")));
        }
        let base = match (&config.base_url, config.region) {
            (Some(url), _) => url.trim().trim_end_matches('/').to_string(),
            (None, Region::Us) => US_API.to_string(),
            (None, Region::Eu) => EU_API.to_string(),
        };
        let endpoint = Url::parse(&format!("{base}/v3/{domain}/messages"))
            .map_err(|e| invalid(format!("base_url: {e}")))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(invalid("base_url must be an http(s) URL".into()));
        }
        let from = Mailbox::parse(&config.from).map_err(|e| invalid(format!("from: {e}")))?;
        let signing_key = match config.webhook_signing_key {
            Some(key) if key.is_blank() => {
                return Err(invalid("webhook_signing_key is empty".into()))
            }
            Some(key) => Some(Secret::new(key.expose().trim())),
            None => None,
        };
        Ok(Mailgun {
            name: name.to_string(),
            endpoint,
            api_key: Secret::new(config.api_key.expose().trim()),
            from,
            signing_key,
            client,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Email
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        let parts = EmailParts::from_message(msg, &self.from, &[])?;
        let tags = email::usable_tags(&msg.tags, api::MAX_TAGS, api::MAX_TAG_CHARS, true);
        let form = api::message_form(&parts, &tags, &msg.notification_id);
        let resp = self
            .client
            .post(self.endpoint.clone())
            .basic_auth("api", Some(self.api_key.expose()))
            .multipart(form)
            .send()
            .await
            .map_err(|e| http::classify_transport(&e))?;
        let answer = Answer::read(resp).await;
        let status = answer.status;
        if !status.is_success() {
            return Err(classify(&answer));
        }
        // A 2xx without an id is not Mailgun's queueing answer (see `api`).
        let sent = match answer.read_error {
            Some(_) => None,
            None => serde_json::from_slice::<api::SendResponse>(&answer.body).ok(),
        };
        let id = match sent {
            Some(answer) if !answer.id.trim().is_empty() => answer.id,
            _ => {
                return Err(ProviderError::Misconfigured {
                    reason: format!(
                        "HTTP {status} without a message id from {}: is base_url the Mailgun API?",
                        self.endpoint
                    ),
                    http_status: Some(status.as_u16()),
                })
            }
        };
        let id = email::bare_message_id(&id).to_string();
        tracing::debug!(provider = %self.name, notification_id = %msg.notification_id,
            message_id = %id, "mailgun queued the message");
        Ok(Receipt {
            provider_message_id: Some(id),
            http_status: Some(status.as_u16()),
            ..Receipt::default()
        })
    }

    /// Verifies and reads one webhook call (see the `inbound` module).
    pub fn inbound(&self, req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        let key = self.signing_key.as_ref().ok_or_else(|| {
            InboundError::NotConfigured(format!(
                "mailgun provider `{}` has no webhook_signing_key",
                self.name
            ))
        })?;
        inbound::parse(key.expose().as_bytes(), req)
    }
}

/// The shared rules, except that a 404 here means the sending domain is not
/// on this account or in this region: every message would fail the same way.
fn classify(answer: &Answer) -> ProviderError {
    let err = answer.classify();
    if answer.status == StatusCode::NOT_FOUND {
        return email::as_misconfigured(err, "unknown sending domain or wrong region");
    }
    err
}

impl ProviderKind for Mailgun {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Email],
        failover_rank: Some(10),
        // $0.0005 per email, the per-message rate of the seed scenario;
        // plans with included volume cost less per message.
        list_price: ListPrice::Email(500),
        env: EnvVars {
            required: &[("MAILGUN_API_KEY", "api_key"), ("MAILGUN_DOMAIN", "domain")],
            one_of: &[],
            optional: &[
                ("MAILGUN_REGION", "region"),
                ("MAILGUN_WEBHOOK_SIGNING_KEY", "webhook_signing_key"),
            ],
        },
        sender: Some(Sender {
            key: "from",
            shared: Channel::Email,
            unless: None,
            // Mailgun is certain to accept its own sending domain.
            or_noreply_at: Some("domain"),
        }),
        callbacks: Callbacks::Json,
        answers_keywords: false,
        pace_per_destination_ms: 0,
    };

    fn targets(config: &Config) -> Vec<Target<'_>> {
        crate::registry::base_url(&config.base_url)
    }

    fn build(name: &str, config: Config, ctx: &BuildContext<'_>) -> Result<Self, BuildError> {
        Mailgun::new(name, config, ctx.client.clone())
    }
}
