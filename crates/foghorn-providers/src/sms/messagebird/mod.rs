//! MessageBird (now Bird) legacy SMS REST API.
//!
//! Sends with `/messages`, passing our notification id as `reference` (echoed
//! in status reports) and the per-message `reportUrl`; the data coding is
//! chosen from the text so nothing outside GSM-7 is lost. Status reports are
//! verified with the account's signing key (`MessageBird-Signature-JWT`).

pub mod api;
pub mod inbound;
#[cfg(test)]
mod tests;

use crate::http::HttpOptions;
use crate::http::{self, Answer};
use crate::kinds::{Callbacks, EnvVars, ListPrice, Sender, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::sms;
use crate::sms::segments::{self, Encoding};
use crate::BuildError;
use foghorn_core::ErrorKind;
use foghorn_core::Secret;
use foghorn_core::{
    Channel, InboundError, InboundEvent, InboundRequest, Outbound, ProviderError, Receipt,
};
use serde::Deserialize;

pub const KIND: &str = "messagebird";
const DEFAULT_BASE_URL: &str = "https://rest.messagebird.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub access_key: Secret,
    /// The default sender: a number or an alphanumeric id (11 characters).
    pub originator: String,
    /// The dashboard's webhook signing key (not the access key); without it
    /// status reports are refused.
    #[serde(default)]
    pub signing_key: Option<Secret>,
    #[serde(default)]
    pub base_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MessageBird {
    name: String,
    access_key: Secret,
    originator: String,
    signing_key: Option<Secret>,
    endpoint: String,
    public_url: Option<String>,
    client: reqwest::Client,
}

impl MessageBird {
    pub fn new(
        name: &str,
        config: Config,
        client: reqwest::Client,
        opts: &HttpOptions,
    ) -> Result<Self, BuildError> {
        sms::required(name, "access_key", config.access_key.expose())?;
        sms::required(name, "originator", &config.originator)?;
        let base = config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base = sms::base_url(name, base, opts.allow_private_targets)?;
        Ok(MessageBird {
            name: name.to_string(),
            access_key: config.access_key,
            originator: config.originator,
            signing_key: config.signing_key.filter(|k| !k.expose().is_empty()),
            endpoint: sms::endpoint(&base, "/messages"),
            public_url: opts.public_url.clone(),
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
        let to = sms::msisdn(sms::recipient(msg)?);
        let body = sms::text(msg)?;
        let report_url = sms::callback_url(
            self.public_url.as_deref(),
            KIND,
            msg.tenant_id.as_str(),
            None,
        );
        let request = api::CreateMessage {
            originator: sms::msisdn(sms::sender(msg, &self.originator)),
            body,
            recipients: vec![to],
            reference: &msg.notification_id,
            report_url: report_url.as_deref(),
            datacoding: match segments::count(body).encoding {
                Encoding::Gsm7 => "plain",
                Encoding::Ucs2 => "unicode",
            },
        };
        let request = self
            .client
            .post(&self.endpoint)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("AccessKey {}", self.access_key.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&request);
        let answer = http::call(request).await?;
        if !answer.status.is_success() {
            return Err(failure(&answer));
        }
        let id = match serde_json::from_slice::<api::Message>(&answer.body) {
            Ok(message) => message.id,
            Err(e) => {
                tracing::warn!(provider = %self.name, error = %e, "messagebird 2xx answer unreadable");
                return Ok(sms::accepted_untracked(answer.status));
            }
        };
        tracing::debug!(provider = %self.name, notification_id = %msg.notification_id, %id, "messagebird accepted");
        Ok(Receipt {
            provider_message_id: Some(id),
            cost: None,
            http_status: Some(answer.status.as_u16()),
            captured: None,
            thread: None,
        })
    }

    /// Verifies and parses a status report (GET) or incoming message.
    pub fn inbound(&self, req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        let Some(key) = self.signing_key.as_ref().map(Secret::expose) else {
            return Err(InboundError::NotConfigured(format!(
                "messagebird provider `{}` has no signing_key to verify callbacks with",
                self.name
            )));
        };
        inbound::verify(
            key,
            req.header(inbound::SIGNATURE_HEADER),
            req.url,
            req.body,
            req.now,
        )?;
        inbound::events(&sms::callback_params(req)?)
    }
}

/// Classifies by the HTTP status for throttling and outages, by the most
/// telling error code otherwise; every error's code and text is in the reason.
fn failure(answer: &Answer) -> ProviderError {
    let Ok(parsed) = serde_json::from_slice::<api::Errors>(&answer.body) else {
        return answer.classify();
    };
    if parsed.errors.is_empty() {
        return answer.classify();
    }
    let reason = parsed
        .errors
        .iter()
        .map(|e| {
            let text = e.description.as_deref().unwrap_or("");
            match e.parameter.as_deref() {
                Some(p) => format!("messagebird {}: {text} ({p})", e.code),
                None => format!("messagebird {}: {text}", e.code),
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let class = match answer.status.as_u16() {
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Retryable,
        _ => {
            let classes: Vec<ErrorKind> = parsed.errors.iter().map(api::class_of).collect();
            if classes.contains(&ErrorKind::Misconfigured) {
                ErrorKind::Misconfigured
            } else if classes.contains(&ErrorKind::Retryable) {
                ErrorKind::Retryable
            } else {
                ErrorKind::Permanent
            }
        }
    };
    answer.error(class, reason)
}

impl ProviderKind for MessageBird {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Sms],
        failover_rank: Some(40),
        list_price: ListPrice::None,
        env: EnvVars {
            required: &[("MESSAGEBIRD_ACCESS_KEY", "access_key")],
            one_of: &[],
            optional: &[("MESSAGEBIRD_SIGNING_KEY", "signing_key")],
        },
        sender: Some(Sender {
            key: "originator",
            shared: Channel::Sms,
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
        MessageBird::new(name, config, ctx.client.clone(), ctx.opts)
    }
}
