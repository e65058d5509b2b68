//! Bandwidth Messaging API v2.
//!
//! Sends through the account's messages resource with our notification id
//! as `tag`, which every callback echoes. Callbacks go to the messaging
//! application's URL (there is no per-message one), so they are correlated by
//! `tag` and message id, and authenticated by the Basic credentials
//! configured on the application.

pub mod api;
pub mod inbound;
#[cfg(test)]
mod tests;

use crate::http::HttpOptions;
use crate::sms::{self, Class};
use crate::BuildError;
use foghorn_core::{
    Channel, InboundError, InboundEvent, InboundRequest, Outbound, ProviderError, Receipt,
};
use serde::Deserialize;
use std::fmt;

pub const KIND: &str = "bandwidth";
const DEFAULT_BASE_URL: &str = "https://messaging.bandwidth.com";

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub account_id: String,
    pub username: String,
    pub password: String,
    pub messaging_application_id: String,
    /// The default sender, an E.164 number on the application's location.
    pub from: String,
    #[serde(default)]
    pub base_url: Option<String>,
    /// The Basic credentials set on the messaging application's callback;
    /// callbacks are refused without them.
    #[serde(default)]
    pub webhook_username: Option<String>,
    #[serde(default)]
    pub webhook_password: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("account_id", &self.account_id)
            .field("username", &self.username)
            .field("password", &"..")
            .field("messaging_application_id", &self.messaging_application_id)
            .field("from", &self.from)
            .field("base_url", &self.base_url)
            .field("webhook_username", &self.webhook_username)
            .field(
                "webhook_password",
                &self.webhook_password.as_ref().map(|_| ".."),
            )
            .finish()
    }
}

#[derive(Clone)]
pub struct Bandwidth {
    name: String,
    username: String,
    password: String,
    application_id: String,
    from: String,
    webhook_credentials: Option<(String, String)>,
    endpoint: String,
    client: reqwest::Client,
}

impl fmt::Debug for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bandwidth")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field(
                "authenticated_callbacks",
                &self.webhook_credentials.is_some(),
            )
            .finish_non_exhaustive()
    }
}

impl Bandwidth {
    pub fn new(
        name: &str,
        config: Config,
        client: reqwest::Client,
        opts: &HttpOptions,
    ) -> Result<Self, BuildError> {
        sms::required(name, "account_id", &config.account_id)?;
        sms::required(name, "username", &config.username)?;
        sms::required(name, "password", &config.password)?;
        sms::required(
            name,
            "messaging_application_id",
            &config.messaging_application_id,
        )?;
        sms::required(name, "from", &config.from)?;
        // The account id is a path segment.
        if !config.account_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(BuildError::invalid(
                name,
                "`account_id` must be alphanumeric",
            ));
        }
        let webhook_credentials = match (config.webhook_username, config.webhook_password) {
            (Some(user), Some(password)) if !user.is_empty() && !password.is_empty() => {
                Some((user, password))
            }
            (None, None) => None,
            _ => {
                return Err(BuildError::invalid(
                    name,
                    "`webhook_username` and `webhook_password` go together",
                ))
            }
        };
        let base = config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base = sms::base_url(name, base, opts.allow_private_targets)?;
        let path = format!("/api/v2/users/{}/messages", config.account_id);
        Ok(Bandwidth {
            name: name.to_string(),
            username: config.username,
            password: config.password,
            application_id: config.messaging_application_id,
            from: config.from,
            webhook_credentials,
            endpoint: sms::endpoint(&base, &path),
            client,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Sms
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        let to = sms::recipient(msg)?;
        let text = sms::text(msg)?;
        let body = api::MessageRequest {
            application_id: &self.application_id,
            to: vec![to],
            from: sms::sender(msg, &self.from),
            text,
            tag: &msg.notification_id,
        };
        let request = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.username, Some(&self.password))
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body);
        let answer = sms::call(request).await?;
        if !answer.status.is_success() {
            return Err(failure(&answer));
        }
        let message: api::Message = match serde_json::from_slice(&answer.body) {
            Ok(message) => message,
            Err(e) => {
                tracing::warn!(provider = %self.name, error = %e, "bandwidth 2xx answer unreadable");
                return Ok(sms::accepted_untracked(answer.status));
            }
        };
        tracing::debug!(
            provider = %self.name,
            notification_id = %msg.notification_id,
            id = %message.id,
            segments = ?message.segment_count,
            "bandwidth accepted"
        );
        Ok(Receipt {
            provider_message_id: Some(message.id),
            cost: None,
            http_status: Some(answer.status.as_u16()),
            captured: None,
        })
    }

    /// Authenticates a callback by its Basic credentials and parses its
    /// events.
    pub fn inbound(&self, req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        let Some((user, password)) = &self.webhook_credentials else {
            return Err(InboundError::NotConfigured(format!(
                "bandwidth provider `{}` has no webhook_username/webhook_password to check callbacks with",
                self.name
            )));
        };
        inbound::check_basic(req.header("authorization"), user, password)?;
        inbound::events(req.body)
    }
}

fn failure(answer: &sms::Answer) -> ProviderError {
    let parsed = serde_json::from_slice::<api::ApiError>(&answer.body).ok();
    let class = match (answer.status.as_u16(), &parsed) {
        (400, Some(err)) => api::class_of_validation(err),
        // The account id is the only variable part of the path.
        (404, _) => Class::Misconfigured,
        _ => sms::class_of_status(answer.status),
    };
    let reason = match parsed {
        Some(err) => {
            let mut reason = format!(
                "bandwidth {}: {}",
                err.kind.as_deref().unwrap_or("error"),
                err.description.as_deref().unwrap_or("")
            );
            for field in &err.field_errors {
                reason.push_str(&format!(
                    "; {}: {}",
                    field.field_name.as_deref().unwrap_or("?"),
                    field.description.as_deref().unwrap_or("")
                ));
            }
            reason
        }
        None => format!("HTTP {}: {}", answer.status, answer.snippet()),
    };
    sms::error(class, reason, answer.status, &answer.headers)
}
