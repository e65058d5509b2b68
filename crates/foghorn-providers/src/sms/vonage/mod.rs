//! Vonage SMS API.
//!
//! Sends with `/sms/json`, choosing `type=unicode` when the text needs UCS-2
//! (Vonage would otherwise replace what GSM-7 cannot carry), and records the
//! price Vonage states in its answer. Delivery receipts echo our
//! notification id as `client-ref`; they and incoming messages are verified
//! with the account's signature secret.

pub mod api;
pub mod inbound;
#[cfg(test)]
mod tests;

use crate::http::{self, HttpOptions};
use crate::kinds::{Callbacks, EnvVars, ListPrice, Sender, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::sms;
use crate::sms::segments::{self, Encoding};
use crate::BuildError;
use foghorn_core::Secret;
use foghorn_core::{
    Channel, InboundError, InboundEvent, InboundRequest, Money, Outbound, ProviderError, Receipt,
};
pub use inbound::SignatureMethod;
use serde::Deserialize;

pub const KIND: &str = "vonage";
const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";
const DEFAULT_CURRENCY: &str = "EUR";
/// Query parameters of our own callback URL, which Vonage did not sign.
const ROUTING_PARAMS: [&str; 2] = ["tenant", "n"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub api_key: String,
    pub api_secret: Secret,
    /// Verifies delivery receipts and incoming messages; without it they
    /// are refused, since anyone could post them.
    #[serde(default)]
    pub signature_secret: Option<Secret>,
    /// Must match the dashboard's choice; `md5hash` is its default.
    #[serde(default)]
    pub signature_method: SignatureMethod,
    /// The default sender (number or alphanumeric id).
    pub from: String,
    #[serde(default)]
    pub base_url: Option<String>,
    /// The account's billing currency, which Vonage's prices are in but do
    /// not name.
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Vonage {
    name: String,
    api_key: String,
    api_secret: Secret,
    signature_secret: Option<Secret>,
    signature_method: SignatureMethod,
    from: String,
    currency: String,
    endpoint: String,
    public_url: Option<String>,
    client: reqwest::Client,
}

impl Vonage {
    pub fn new(
        name: &str,
        config: Config,
        client: reqwest::Client,
        opts: &HttpOptions,
    ) -> Result<Self, BuildError> {
        sms::required(name, "api_key", &config.api_key)?;
        sms::required(name, "api_secret", config.api_secret.expose())?;
        sms::required(name, "from", &config.from)?;
        let base = config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base = sms::base_url(name, base, opts.allow_private_targets)?;
        let currency = config
            .currency
            .as_deref()
            .unwrap_or(DEFAULT_CURRENCY)
            .trim()
            .to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(BuildError::invalid(
                name,
                "`currency` must be an ISO 4217 code",
            ));
        }
        Ok(Vonage {
            name: name.to_string(),
            api_key: config.api_key,
            api_secret: config.api_secret,
            signature_secret: config.signature_secret.filter(|s| !s.expose().is_empty()),
            signature_method: config.signature_method,
            from: config.from,
            currency,
            endpoint: sms::endpoint(&base, "/sms/json"),
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
        let text = sms::text(msg)?;
        let from = sms::msisdn(sms::sender(msg, &self.from));
        let kind = match segments::count(text).encoding {
            Encoding::Ucs2 => Some("unicode"),
            Encoding::Gsm7 => None,
        };
        // Both are optional: a reference or URL Vonage would refuse as too
        // long is left out (the dashboard's receipt URL then applies).
        let client_ref =
            Some(msg.notification_id.as_str()).filter(|r| r.len() <= api::MAX_CLIENT_REF);
        let callback = sms::callback_url(
            self.public_url.as_deref(),
            KIND,
            msg.tenant_id.as_str(),
            None,
        )
        .filter(|url| url.len() <= api::MAX_CALLBACK);
        let form = api::SendSms {
            from,
            to,
            text,
            kind,
            client_ref,
            callback: callback.as_deref(),
        };
        let request = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.api_key, Some(self.api_secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        let answer = http::call(request).await?;
        if !answer.status.is_success() {
            return Err(answer.classify());
        }
        // A 200 says nothing by itself: each part has its own status.
        let parsed: api::SendAnswer =
            serde_json::from_slice(&answer.body).map_err(|e| ProviderError::Retryable {
                reason: format!("unreadable Vonage answer ({e}): {}", answer.snippet()),
                http_status: Some(answer.status.as_u16()),
            })?;
        let Some(first) = parsed.messages.first() else {
            return Err(ProviderError::Retryable {
                reason: format!("Vonage answered without messages: {}", answer.snippet()),
                http_status: Some(answer.status.as_u16()),
            });
        };
        // A long message is one entry per part; any refused part fails the
        // message (the SDK calls this a partial failure).
        if let Some(failed) = parsed.messages.iter().find(|p| p.status != "0") {
            let text = failed.error_text.as_deref().unwrap_or("");
            let reason = format!("vonage status {}: {text}", failed.status);
            return Err(answer.error(api::class_of(&failed.status), reason));
        }
        tracing::debug!(
            provider = %self.name,
            notification_id = %msg.notification_id,
            parts = parsed.message_count.as_deref().unwrap_or("?"),
            "vonage accepted"
        );
        Ok(Receipt {
            provider_message_id: first.message_id.clone(),
            cost: self.cost(&parsed.messages),
            http_status: Some(answer.status.as_u16()),
            captured: None,
            thread: None,
        })
    }

    /// The sum of the parts' `message-price`, when every part states one.
    fn cost(&self, parts: &[api::Part]) -> Option<Money> {
        let mut total = 0_i64;
        for part in parts {
            let price = sms::price(part.message_price.as_deref()?, &self.currency)?;
            total = total.checked_add(price.micros)?;
        }
        Some(Money::new(total, self.currency.clone()))
    }

    /// Verifies and parses a delivery receipt or incoming message (GET query,
    /// or POST form or JSON). Unsigned callbacks are refused: without the
    /// signature secret this provider cannot receive.
    pub fn inbound(&self, req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        let Some(secret) = self.signature_secret.as_ref().map(Secret::expose) else {
            return Err(InboundError::NotConfigured(format!(
                "vonage provider `{}` has no signature_secret to verify callbacks with",
                self.name
            )));
        };
        let params = sms::callback_params(req)?;
        // For GET, Vonage's parameters follow our own callback URL's
        // (`tenant`), which it did not sign: try without them first.
        let signed: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| !ROUTING_PARAMS.contains(&k.as_str()))
            .cloned()
            .collect();
        let check =
            |p: &[(String, String)]| inbound::verify(self.signature_method, secret, p, req.now);
        match check(&signed) {
            Ok(()) => {}
            Err(first) if signed.len() != params.len() => {
                check(&params).map_err(|_| first)?;
            }
            Err(e) => return Err(e),
        }
        inbound::events(&signed, &self.currency)
    }
}

impl ProviderKind for Vonage {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Sms],
        failover_rank: Some(20),
        list_price: ListPrice::None,
        env: EnvVars {
            required: &[
                ("VONAGE_API_KEY", "api_key"),
                ("VONAGE_API_SECRET", "api_secret"),
            ],
            one_of: &[],
            optional: &[("VONAGE_SIGNATURE_SECRET", "signature_secret")],
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
        Vonage::new(name, config, ctx.client.clone(), ctx.opts)
    }
}
