//! Postmark: email through the Email API, delivery events through webhooks
//! guarded by Basic-auth credentials in the webhook URL.
//!
//! The notification id travels as `Metadata.notification_id`, which Postmark
//! repeats in every webhook record. Postmark answers most refusals with HTTP
//! 422 and an `ErrorCode`, so errors are classified by that code rather than
//! by the HTTP status alone.

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
use reqwest::header::ACCEPT;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The `kind` this provider is configured with.
pub const KIND: &str = "postmark";

const API: &str = "https://api.postmarkapp.com";

fn default_stream() -> String {
    "outbound".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server_token: Secret,
    /// Default sender; it must be a confirmed Sender Signature or on a
    /// verified domain.
    pub from: String,
    /// The server's transactional stream unless told otherwise.
    #[serde(default = "default_stream")]
    pub message_stream: String,
    #[serde(default)]
    pub base_url: Option<String>,
    /// The credentials put in the webhook URL (`https://user:pass@…`);
    /// without them callbacks are refused.
    #[serde(default)]
    pub webhook_username: Option<String>,
    #[serde(default)]
    pub webhook_password: Option<Secret>,
}

/// Compared against each webhook call's Basic credentials.
#[derive(Debug, Clone)]
struct WebhookAuth {
    username: String,
    password: Secret,
}

#[derive(Debug, Clone)]
pub struct Postmark {
    name: String,
    /// `{base}/email`, built once.
    endpoint: Url,
    server_token: Secret,
    from: Mailbox,
    message_stream: String,
    webhook_auth: Option<WebhookAuth>,
    client: reqwest::Client,
}

impl Postmark {
    /// Checks token, sender, stream and webhook credentials at start-up.
    pub fn new(name: &str, config: Config, client: reqwest::Client) -> Result<Self, BuildError> {
        let invalid = |reason: String| BuildError::invalid(name, reason);
        let server_token = config.server_token.expose().trim();
        if server_token.is_empty() {
            return Err(invalid("server_token is empty".into()));
        }
        let base = config
            .base_url
            .as_deref()
            .unwrap_or(API)
            .trim()
            .trim_end_matches('/');
        let endpoint =
            Url::parse(&format!("{base}/email")).map_err(|e| invalid(format!("base_url: {e}")))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(invalid("base_url must be an http(s) URL".into()));
        }
        let from = Mailbox::parse(&config.from).map_err(|e| invalid(format!("from: {e}")))?;
        let message_stream = config.message_stream.trim().to_string();
        if message_stream.is_empty() {
            return Err(invalid("message_stream is empty".into()));
        }
        let webhook_auth = match (config.webhook_username, config.webhook_password) {
            (None, None) => None,
            (Some(username), Some(password))
                if !username.is_empty() && !password.expose().is_empty() =>
            {
                if username.contains(':') {
                    return Err(invalid("webhook_username cannot contain `:`".into()));
                }
                Some(WebhookAuth { username, password })
            }
            _ => {
                return Err(invalid(
                    "webhook_username and webhook_password must both be set (and non-empty)".into(),
                ))
            }
        };
        Ok(Postmark {
            name: name.to_string(),
            endpoint,
            server_token: Secret::new(server_token),
            from,
            message_stream,
            webhook_auth,
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
        // Postmark takes one tag; the first is the workflow's category.
        let tag = email::usable_tags(&msg.tags, 1, api::MAX_TAG_CHARS, false)
            .first()
            .copied();
        let body = api::Email {
            from: parts.from.to_string(),
            to: parts.to,
            subject: parts.subject,
            html_body: parts.html,
            text_body: parts.text,
            reply_to: parts.reply_to.as_ref().map(Mailbox::to_string),
            tag,
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| api::Header { name, value })
                .collect(),
            metadata: BTreeMap::from([(api::NOTIFICATION_KEY, msg.notification_id.as_str())]),
            message_stream: &self.message_stream,
        };
        let resp = self
            .client
            .post(self.endpoint.clone())
            .header("X-Postmark-Server-Token", self.server_token.expose())
            .header(ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| http::classify_transport(&e))?;
        let answer = Answer::read(resp).await;
        let status = answer.status;
        if !status.is_success() {
            return Err(classify(&answer));
        }
        let bytes = match &answer.read_error {
            None => &answer.body,
            Some(e) => {
                // A 200 means Postmark took the message; failing here would
                // have it retried and sent twice.
                tracing::warn!(provider = %self.name, error = %e, "cannot read Postmark's 200 answer");
                return Ok(Receipt {
                    http_status: Some(status.as_u16()),
                    ..Receipt::default()
                });
            }
        };
        let parsed: Option<api::Answer> = serde_json::from_slice(bytes).ok();
        match parsed {
            Some(api::Answer {
                error_code: Some(code),
                message,
                ..
            }) if code != 0 => Err(from_code(code, message.as_deref(), status)),
            Some(api::Answer {
                message_id: Some(id),
                ..
            }) if !id.trim().is_empty() => {
                tracing::debug!(provider = %self.name, notification_id = %msg.notification_id,
                    message_id = %id, "postmark accepted the message");
                Ok(Receipt {
                    provider_message_id: Some(id.trim().to_string()),
                    http_status: Some(status.as_u16()),
                    ..Receipt::default()
                })
            }
            _ => Err(ProviderError::Misconfigured {
                reason: format!(
                    "HTTP {status} without a MessageID from {}: is base_url the Postmark API?",
                    self.endpoint
                ),
                http_status: Some(status.as_u16()),
            }),
        }
    }

    /// Authenticates and reads one webhook record (see the `inbound` module).
    pub fn inbound(&self, req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        let auth = self.webhook_auth.as_ref().ok_or_else(|| {
            InboundError::NotConfigured(format!(
                "postmark provider `{}` has no webhook_username/webhook_password",
                self.name
            ))
        })?;
        inbound::parse(auth, req)
    }
}

/// By `ErrorCode` when the body has one (422s, and 401s for token errors);
/// otherwise by status, with a 404 meaning the base URL is wrong.
fn classify(answer: &Answer) -> ProviderError {
    let parsed: Option<api::Answer> = serde_json::from_str(&answer.text()).ok();
    if let Some(api::Answer {
        error_code: Some(code),
        message,
        ..
    }) = parsed
    {
        if code != 0
            && answer.status != StatusCode::TOO_MANY_REQUESTS
            && !answer.status.is_server_error()
        {
            return from_code(code, message.as_deref(), answer.status);
        }
    }
    let err = answer.classify();
    if answer.status == StatusCode::NOT_FOUND {
        return email::as_misconfigured(err, "the Email API endpoint was not found");
    }
    err
}

fn from_code(code: i64, message: Option<&str>, status: StatusCode) -> ProviderError {
    let message = message.map(email::short).unwrap_or_default();
    let reason = match code {
        // The engine suppresses the address on this: Postmark will refuse it
        // until it is reactivated.
        406 => format!(
            "Postmark ErrorCode 406 (inactive recipient: deactivated after a hard bounce, \
             spam complaint or unsubscribe): {message}"
        ),
        _ => format!("Postmark ErrorCode {code}: {message}"),
    };
    ProviderError::new(api::code_class(code), reason, Some(status.as_u16()))
}

impl ProviderKind for Postmark {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Email],
        failover_rank: Some(30),
        // 10,000 emails for $15 a month: $0.0015 each.
        list_price: ListPrice::Email(1_500),
        env: EnvVars {
            required: &[("POSTMARK_SERVER_TOKEN", "server_token")],
            one_of: &[],
            optional: &[
                ("POSTMARK_WEBHOOK_USERNAME", "webhook_username"),
                ("POSTMARK_WEBHOOK_PASSWORD", "webhook_password"),
            ],
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
        Postmark::new(name, config, ctx.client.clone())
    }
}
