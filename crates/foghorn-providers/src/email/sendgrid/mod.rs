//! SendGrid: email through the v3 Mail Send API, delivery events through the
//! Signed Event Webhook.
//!
//! The notification id travels as the custom arg `notification_id`, which
//! SendGrid repeats as a top-level key of every event; the message id is the
//! `X-Message-Id` of the send, which events report as the part of
//! `sg_message_id` before its first dot.

mod api;
mod inbound;
#[cfg(test)]
mod tests;

use crate::email::{self, EmailParts, Mailbox};
use crate::http::Answer;
use crate::kinds::{Callbacks, EnvVars, ListPrice, Sender, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::{http, BuildError};
use chrono::Utc;
use foghorn_core::Secret;
use foghorn_core::{
    Channel, InboundError, InboundEvent, InboundRequest, Outbound, ProviderError, Receipt,
};
use p256::ecdsa::VerifyingKey;
use reqwest::header::{HeaderMap, ACCEPT};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The `kind` this provider is configured with.
pub const KIND: &str = "sendgrid";

const GLOBAL_API: &str = "https://api.sendgrid.com";
const EU_API: &str = "https://api.eu.sendgrid.com";

/// The SDKs' two regions; EU-pinned subusers must use the EU host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Global,
    Eu,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub api_key: Secret,
    /// Default sender, `Name <address>` or a bare address; it must be a
    /// verified Sender Identity in SendGrid.
    pub from: String,
    #[serde(default)]
    pub region: Region,
    /// Overrides the region's host (a proxy, or a test server).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The base64 public key SendGrid shows for the Signed Event Webhook;
    /// without it callbacks are refused.
    #[serde(default)]
    pub webhook_verification_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SendGrid {
    name: String,
    /// `{base}/v3/mail/send`, built once.
    endpoint: Url,
    api_key: Secret,
    from: Mailbox,
    verification_key: Option<VerifyingKey>,
    client: reqwest::Client,
}

impl SendGrid {
    /// Checks the key, sender and URL at start-up rather than on every send.
    pub fn new(name: &str, config: Config, client: reqwest::Client) -> Result<Self, BuildError> {
        let invalid = |reason: String| BuildError::invalid(name, reason);
        let api_key = config.api_key.expose().trim();
        if api_key.is_empty() {
            return Err(invalid("api_key is empty".into()));
        }
        let base = match (&config.base_url, config.region) {
            (Some(url), _) => url.trim().trim_end_matches('/').to_string(),
            (None, Region::Global) => GLOBAL_API.to_string(),
            (None, Region::Eu) => EU_API.to_string(),
        };
        let endpoint = Url::parse(&format!("{base}/v3/mail/send"))
            .map_err(|e| invalid(format!("base_url: {e}")))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(invalid("base_url must be an http(s) URL".into()));
        }
        let from = Mailbox::parse(&config.from).map_err(|e| invalid(format!("from: {e}")))?;
        let verification_key = match config.webhook_verification_key.as_deref() {
            None => None,
            Some(text) => Some(
                inbound::parse_public_key(text)
                    .map_err(|e| invalid(format!("webhook_verification_key: {e}")))?,
            ),
        };
        Ok(SendGrid {
            name: name.to_string(),
            endpoint,
            api_key: Secret::new(api_key),
            from,
            verification_key,
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
        let parts = EmailParts::from_message(msg, &self.from, &api::RESERVED_HEADERS)?;
        let categories = email::usable_tags(
            &msg.tags,
            api::MAX_CATEGORIES,
            api::MAX_CATEGORY_CHARS,
            false,
        );
        let body = mail(&parts, categories, &msg.notification_id);
        let resp = self
            .client
            .post(self.endpoint.clone())
            .bearer_auth(self.api_key.expose())
            .header(ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| http::classify_transport(&e))?;
        let status = resp.status();
        if status == StatusCode::ACCEPTED {
            let id = resp
                .headers()
                .get("x-message-id")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_string);
            if id.is_none() {
                // Queued all the same: retrying would send it twice.
                tracing::warn!(provider = %self.name, "SendGrid accepted a message without X-Message-Id");
            }
            tracing::debug!(provider = %self.name, notification_id = %msg.notification_id,
                message_id = ?id, "sendgrid accepted the message");
            return Ok(Receipt {
                provider_message_id: id,
                http_status: Some(status.as_u16()),
                ..Receipt::default()
            });
        }
        if status.is_success() {
            return Err(ProviderError::Misconfigured {
                reason: format!(
                    "HTTP {status} instead of 202: the message was validated but not queued \
                     (sandbox mode, or base_url is not the SendGrid API)"
                ),
                http_status: Some(status.as_u16()),
            });
        }
        Err(classify(&Answer::read(resp).await))
    }

    /// Verifies and reads one Event Webhook batch (see the `inbound` module).
    pub fn inbound(&self, req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        let key = self.verification_key.as_ref().ok_or_else(|| {
            InboundError::NotConfigured(format!(
                "sendgrid provider `{}` has no webhook_verification_key",
                self.name
            ))
        })?;
        inbound::parse(key, req)
    }
}

/// The Mail Send body for one recipient.
fn mail<'a>(
    parts: &'a EmailParts<'a>,
    categories: Vec<&'a str>,
    notification_id: &'a str,
) -> api::Mail<'a> {
    let address = |m: &'a Mailbox| api::EmailAddress {
        email: &m.email,
        name: m.name.as_deref(),
    };
    let mut content = Vec::with_capacity(2);
    if let Some(text) = parts.text {
        content.push(api::Content {
            kind: "text/plain",
            value: text,
        });
    }
    if let Some(html) = parts.html {
        content.push(api::Content {
            kind: "text/html",
            value: html,
        });
    }
    api::Mail {
        personalizations: vec![api::Personalization {
            to: vec![api::EmailAddress {
                email: parts.to,
                name: None,
            }],
            custom_args: BTreeMap::from([(api::NOTIFICATION_ARG, notification_id)]),
        }],
        from: address(&parts.from),
        reply_to: parts.reply_to.as_ref().map(address),
        subject: parts.subject,
        content,
        headers: parts.headers.iter().copied().collect(),
        categories,
    }
}

/// Summarises SendGrid's `errors` array for the reason, then applies the
/// shared rules; a 404 means the base URL is not the Mail Send API, and a
/// 429 without `Retry-After` takes its wait from `X-RateLimit-Reset`.
fn classify(answer: &Answer) -> ProviderError {
    let body = answer.text();
    let summary = serde_json::from_str::<api::ErrorBody>(&body)
        .ok()
        .map(|b| {
            b.errors
                .iter()
                .filter_map(|e| {
                    let message = e.message.as_deref()?;
                    Some(match e.field.as_deref().filter(|f| *f != "null") {
                        Some(field) => format!("{field}: {message}"),
                        None => message.to_string(),
                    })
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|s| !s.is_empty());
    let text = summary.as_deref().unwrap_or(&body);
    let err = http::classify_status(answer.status, &answer.headers, text);
    match err {
        ProviderError::RateLimited {
            reason,
            retry_after: None,
            http_status,
        } => ProviderError::RateLimited {
            reason,
            retry_after: rate_limit_reset(&answer.headers, Utc::now().timestamp()),
            http_status,
        },
        err if answer.status == StatusCode::NOT_FOUND => {
            email::as_misconfigured(err, "the Mail Send endpoint was not found")
        }
        err => err,
    }
}

/// `X-RateLimit-Reset` is the unix time at which the limit resets.
fn rate_limit_reset(headers: &HeaderMap, now: i64) -> Option<Duration> {
    let reset: i64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(u64::try_from(reset - now).unwrap_or(0)))
}

impl ProviderKind for SendGrid {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Email],
        failover_rank: Some(20),
        // Essentials: 50,000 emails for $19.95 a month, about $0.0004 each.
        list_price: ListPrice::Email(400),
        env: EnvVars {
            required: &[("SENDGRID_API_KEY", "api_key")],
            one_of: &[],
            optional: &[(
                "SENDGRID_WEBHOOK_VERIFICATION_KEY",
                "webhook_verification_key",
            )],
        },
        sender: Some(Sender {
            key: "from",
            shared: Channel::Email,
            unless: None,
            or_noreply_at: None,
        }),
        callbacks: Callbacks::Json,
        answers_keywords: false,
        pace_per_destination_ms: 0,
    };

    fn targets(config: &Config) -> Vec<Target<'_>> {
        crate::registry::base_url(&config.base_url)
    }

    fn build(name: &str, config: Config, ctx: &BuildContext<'_>) -> Result<Self, BuildError> {
        SendGrid::new(name, config, ctx.client.clone())
    }
}
