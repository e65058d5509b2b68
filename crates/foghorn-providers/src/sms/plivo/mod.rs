//! Plivo Messaging.
//!
//! Sends through the account's Message resource with a per-message status
//! callback (`url`, `method=POST`) that carries our notification id; Plivo's
//! signature V3 covers the whole URL, so the id comes back authenticated.

pub mod api;
pub mod inbound;
#[cfg(test)]
mod tests;

use crate::http::HttpOptions;
use crate::http::{self, Answer};
use crate::kinds::{Callbacks, EnvVars, ListPrice, Sender, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::signature::parse_form;
use crate::sms;
use crate::BuildError;
use foghorn_core::ErrorKind;
use foghorn_core::Secret;
use foghorn_core::{
    Channel, InboundError, InboundEvent, InboundRequest, Outbound, ProviderError, Receipt,
};
use serde::Deserialize;

pub const KIND: &str = "plivo";
const DEFAULT_BASE_URL: &str = "https://api.plivo.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `MA…` or `SA…` (sub-account).
    pub auth_id: String,
    pub auth_token: Secret,
    /// The default `src`: a Plivo number or a sender id.
    pub from: String,
    #[serde(default)]
    pub base_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Plivo {
    name: String,
    auth_id: String,
    auth_token: Secret,
    from: String,
    endpoint: String,
    public_url: Option<String>,
    client: reqwest::Client,
}

impl Plivo {
    pub fn new(
        name: &str,
        config: Config,
        client: reqwest::Client,
        opts: &HttpOptions,
    ) -> Result<Self, BuildError> {
        sms::required(name, "auth_id", &config.auth_id)?;
        sms::required(name, "auth_token", config.auth_token.expose())?;
        sms::required(name, "from", &config.from)?;
        // A path segment; the SDK insists on `MA`/`SA` + 18 characters.
        if !config.auth_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(BuildError::invalid(
                name,
                "`auth_id` must be alphanumeric (MA… or SA…)",
            ));
        }
        let base = config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base = sms::base_url(name, base, opts.allow_private_targets)?;
        let path = format!("/v1/Account/{}/Message/", config.auth_id);
        Ok(Plivo {
            name: name.to_string(),
            endpoint: sms::endpoint(&base, &path),
            auth_id: config.auth_id,
            auth_token: config.auth_token,
            from: config.from,
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
        let dst = sms::msisdn(sms::recipient(msg)?);
        let text = sms::text(msg)?;
        let callback = sms::callback_url(
            self.public_url.as_deref(),
            KIND,
            msg.tenant_id.as_str(),
            Some(&msg.notification_id),
        );
        let body = api::SendMessage {
            src: sms::msisdn(sms::sender(msg, &self.from)),
            dst,
            text,
            kind: "sms",
            url: callback.as_deref(),
            method: callback.as_ref().map(|_| "POST"),
        };
        let request = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.auth_id, Some(self.auth_token.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body);
        let answer = http::call(request).await?;
        if !answer.status.is_success() {
            return Err(failure(&answer));
        }
        let uuid = match serde_json::from_slice::<api::Queued>(&answer.body) {
            Ok(queued) => queued.message_uuid.into_iter().next(),
            Err(e) => {
                tracing::warn!(provider = %self.name, error = %e, "plivo 2xx answer unreadable");
                None
            }
        };
        tracing::debug!(provider = %self.name, notification_id = %msg.notification_id, uuid = ?uuid, "plivo queued");
        Ok(Receipt {
            provider_message_id: uuid,
            cost: None,
            http_status: Some(answer.status.as_u16()),
            captured: None,
            thread: None,
        })
    }

    /// Verifies signature V3 against the URL called and parses the callback.
    pub fn inbound(&self, req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        let is_get = req.method.eq_ignore_ascii_case("GET");
        let post_params = if is_get {
            Vec::new()
        } else {
            parse_form(req.body)
        };
        inbound::verify(
            self.auth_token.expose(),
            req.method,
            req.url,
            &post_params,
            req.header(inbound::SIGNATURE_HEADER),
            req.header(inbound::NONCE_HEADER),
        )?;
        let params = if is_get {
            crate::signature::query_params(req.url)
        } else {
            post_params
        };
        inbound::events(&params, sms::notification_from_url(req.url))
    }
}

/// Plivo's errors carry no code: the HTTP status decides, except that a
/// refused `src` (a sender not on the account) fails every message alike and
/// 402 (no credit) is an account matter.
fn failure(answer: &Answer) -> ProviderError {
    let error = serde_json::from_slice::<api::ApiError>(&answer.body)
        .ok()
        .and_then(|e| e.error)
        .map(|e| match e {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
    let Some(error) = error else {
        return answer.classify();
    };
    let class = match answer.status.as_u16() {
        402 => ErrorKind::Misconfigured,
        400 if error.to_ascii_lowercase().contains("src") => ErrorKind::Misconfigured,
        _ => http::kind_of_status(answer.status),
    };
    answer.error(class, format!("plivo: {error}"))
}

impl ProviderKind for Plivo {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Sms],
        failover_rank: Some(30),
        list_price: ListPrice::None,
        env: EnvVars {
            required: &[
                ("PLIVO_AUTH_ID", "auth_id"),
                ("PLIVO_AUTH_TOKEN", "auth_token"),
            ],
            one_of: &[],
            optional: &[],
        },
        sender: Some(Sender {
            key: "from",
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
        Plivo::new(name, config, ctx.client.clone(), ctx.opts)
    }
}
