//! Twilio Programmable Messaging and Voice.
//!
//! Sends through the Messages resource, places calls through the Calls
//! resource (see [`voice`]), and receives status callbacks and incoming
//! messages on `/hooks/twilio`. Messages are correlated by the SID
//! Twilio returns; the callback URL also carries our notification id (`n`),
//! which Twilio's signature covers, so status events name the notification
//! even when they overtake the send's own bookkeeping.

pub mod api;
pub mod inbound;
#[cfg(test)]
mod tests;
pub mod voice;
#[cfg(test)]
mod voice_tests;
#[cfg(test)]
mod whatsapp_tests;

use crate::http::HttpOptions;
use crate::http::{self, Answer};
use crate::kinds::{Callbacks, EnvVars, ListPrice, Sender, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::sms;
use crate::BuildError;
use foghorn_core::ErrorKind;
use foghorn_core::Secret;
use foghorn_core::{
    Channel, InboundError, InboundEvent, InboundRequest, Outbound, ProviderError, Receipt,
};
use reqwest::Url;
use serde::Deserialize;

pub const KIND: &str = "twilio";
const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub account_sid: String,
    pub auth_token: Secret,
    /// The default `From`; used unless the engine picked a sender.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Lets Twilio pick the sender from a Messaging Service's pool; sent
    /// alongside `From` when both are known.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    /// The WhatsApp sender (E.164); no WhatsApp without it.
    #[serde(default)]
    pub whatsapp_number: Option<String>,
    /// Per-minute call rates by calling-code prefix (`"+33" = "0.0395"`),
    /// over the US list price.
    #[serde(default)]
    pub voice_prices: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Twilio {
    name: String,
    account_sid: String,
    auth_token: Secret,
    phone_number: Option<String>,
    messaging_service_sid: Option<String>,
    whatsapp_number: Option<String>,
    endpoint: String,
    calls_endpoint: String,
    public_url: Option<String>,
    minute_rates: crate::voice_rates::MinuteRates,
    client: reqwest::Client,
}

impl Twilio {
    pub fn new(
        name: &str,
        config: Config,
        client: reqwest::Client,
        opts: &HttpOptions,
    ) -> Result<Self, BuildError> {
        sms::required(name, "account_sid", &config.account_sid)?;
        sms::required(name, "auth_token", config.auth_token.expose())?;
        let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let phone_number = non_empty(config.phone_number);
        let messaging_service_sid = non_empty(config.messaging_service_sid);
        if phone_number.is_none() && messaging_service_sid.is_none() {
            return Err(BuildError::invalid(
                name,
                "one of `phone_number` and `messaging_service_sid` is required",
            ));
        }
        let base = config.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base: Url = sms::base_url(name, base, opts.allow_private_targets)?;
        // The SID is a path segment; refuse anything that would change the path.
        if !config
            .account_sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
        {
            return Err(BuildError::invalid(
                name,
                "`account_sid` must be alphanumeric (AC…)",
            ));
        }
        let minute_rates = crate::voice_rates::MinuteRates::new(
            &config.voice_prices,
            &[("+1", voice::US_MICROS_PER_MINUTE)],
        )
        .map_err(|why| BuildError::invalid(name, why))?;
        let path = format!("/2010-04-01/Accounts/{}/Messages.json", config.account_sid);
        let calls = format!("/2010-04-01/Accounts/{}/Calls.json", config.account_sid);
        Ok(Twilio {
            name: name.to_string(),
            endpoint: sms::endpoint(&base, &path),
            calls_endpoint: sms::endpoint(&base, &calls),
            account_sid: config.account_sid,
            auth_token: config.auth_token,
            phone_number,
            messaging_service_sid,
            whatsapp_number: non_empty(config.whatsapp_number),
            public_url: opts.public_url.clone(),
            minute_rates,
            client,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn supports(&self, channel: Channel) -> bool {
        match channel {
            Channel::Sms | Channel::Voice => true,
            Channel::Whatsapp => self.whatsapp_number.is_some(),
            _ => false,
        }
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        if msg.channel == Channel::Voice {
            return self.call(msg).await;
        }
        let to = sms::recipient(msg)?;
        let callback = sms::callback_url(
            self.public_url.as_deref(),
            KIND,
            msg.tenant_id.as_str(),
            Some(&msg.notification_id),
        );
        let (wa_to, wa_from, content_variables);
        let form = if msg.channel == Channel::Whatsapp {
            let number = self.whatsapp_number.as_deref().ok_or_else(|| {
                ProviderError::misconfigured("twilio: WhatsApp needs `whatsapp_number`")
            })?;
            wa_to = format!("whatsapp:{to}");
            wa_from = format!("whatsapp:{number}");
            let template = msg
                .content
                .template
                .as_ref()
                .filter(|t| t.content_sid.is_some());
            content_variables = template.map(|t| {
                let vars: serde_json::Map<String, serde_json::Value> = t
                    .params
                    .iter()
                    .enumerate()
                    .map(|(i, p)| ((i + 1).to_string(), serde_json::Value::String(p.clone())))
                    .collect();
                serde_json::Value::Object(vars).to_string()
            });
            api::CreateMessage {
                to: &wa_to,
                from: Some(&wa_from),
                messaging_service_sid: None,
                // A template goes without a body: since April 2025 a body
                // outside the window fails with 63016.
                body: if template.is_some() {
                    None
                } else {
                    Some(sms::text(msg)?)
                },
                content_sid: template.and_then(|t| t.content_sid.as_deref()),
                content_variables: content_variables.clone(),
                status_callback: callback.as_deref(),
            }
        } else {
            let from = match msg.from.as_deref() {
                Some(from) if !from.trim().is_empty() => Some(from),
                _ => self.phone_number.as_deref(),
            };
            api::CreateMessage {
                to,
                from,
                messaging_service_sid: self.messaging_service_sid.as_deref(),
                body: Some(sms::text(msg)?),
                content_sid: None,
                content_variables: None,
                status_callback: callback.as_deref(),
            }
        };
        let (answer, message) = self.create(&self.endpoint, &form).await?;
        let Some(message) = message else {
            return Ok(sms::accepted_untracked(answer.status));
        };
        let cost = match (message.price.as_deref(), message.price_unit.as_deref()) {
            (Some(amount), Some(unit)) => sms::price(amount, unit),
            _ => None,
        };
        tracing::debug!(
            provider = %self.name,
            notification_id = %msg.notification_id,
            sid = %message.sid,
            status = message.status.as_deref().unwrap_or("?"),
            error_code = ?message.error_code,
            "twilio accepted"
        );
        Ok(Receipt {
            provider_message_id: Some(message.sid),
            cost,
            http_status: Some(answer.status.as_u16()),
            captured: None,
            thread: None,
        })
    }

    /// Places a call whose page, `{public_url}/voice/twilio/{notification}`,
    /// Foghorn serves: Twilio fetches it once the greeting (or the person)
    /// is heard.
    async fn call(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        let to = sms::recipient(msg)?;
        let from = msg
            .from
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .or(self.phone_number.as_deref())
            .ok_or_else(|| {
                ProviderError::misconfigured(
                    "twilio: a call needs `phone_number` (a messaging service cannot call)",
                )
            })?;
        let public = self.public_url.as_deref().ok_or_else(|| {
            ProviderError::misconfigured(
                "twilio: a call needs `public_url`: Twilio fetches the call's script from it",
            )
        })?;
        let page = format!(
            "{}/voice/twilio/{}",
            public.trim_end_matches('/'),
            msg.notification_id
        );
        let callback = sms::callback_url(
            Some(public),
            KIND,
            msg.tenant_id.as_str(),
            Some(&msg.notification_id),
        );
        let form = voice::create_call(to, from, &page, callback.as_deref());
        let (answer, call) = self.create(&self.calls_endpoint, &form).await?;
        let Some(call) = call else {
            return Ok(sms::accepted_untracked(answer.status));
        };
        Ok(Receipt {
            provider_message_id: Some(call.sid),
            // Billed by the minute when it ends: the status callback says.
            cost: None,
            http_status: Some(answer.status.as_u16()),
            captured: None,
            thread: None,
        })
    }

    /// Creates a message or a call with the account's credentials; the
    /// resource Twilio answers, or None for a 2xx whose body does not read
    /// (Twilio took it: failing would make the engine send it again).
    async fn create(
        &self,
        endpoint: &str,
        form: &impl serde::Serialize,
    ) -> Result<(Answer, Option<api::Message>), ProviderError> {
        let request = self
            .client
            .post(endpoint)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        let answer = http::call(request).await?;
        if !answer.status.is_success() {
            return Err(failure(&answer));
        }
        match serde_json::from_slice(&answer.body) {
            Ok(created) => Ok((answer, Some(created))),
            Err(e) => {
                tracing::warn!(provider = %self.name, error = %e, "twilio 2xx answer unreadable");
                Ok((answer, None))
            }
        }
    }

    /// A request from a call to its page, verified like every callback.
    pub fn call_input(
        &self,
        req: &InboundRequest<'_>,
    ) -> Result<foghorn_core::voice::CallInput, InboundError> {
        let signed = inbound::signed_params(req.method, req.body);
        inbound::verify(
            self.auth_token.expose(),
            req.url,
            &signed,
            req.header(inbound::SIGNATURE_HEADER),
        )?;
        let params = inbound::event_params(req.method, req.url, req.body);
        Ok(voice::input(&params, req.url))
    }

    /// Verifies a callback against the URL it was sent to and turns it into
    /// events. Twilio signs every callback with the auth token, so this
    /// provider is always ready to receive.
    pub fn inbound(&self, req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        let signed = inbound::signed_params(req.method, req.body);
        inbound::verify(
            self.auth_token.expose(),
            req.url,
            &signed,
            req.header(inbound::SIGNATURE_HEADER),
        )?;
        let params = inbound::event_params(req.method, req.url, req.body);
        let notification = inbound::notification_id(req.url);
        if params.iter().any(|(k, _)| k == "CallStatus") {
            return Ok(
                voice::status_event(&params, notification, &self.minute_rates)
                    .into_iter()
                    .collect(),
            );
        }
        inbound::events(&params, notification)
    }
}

/// Classifies a failed answer by Twilio's error code when it has one, by
/// HTTP status otherwise. The code leads the reason (`twilio 21610: …`) so
/// the engine and operators can act on it (21610: the recipient sent STOP).
fn failure(answer: &Answer) -> ProviderError {
    let Ok(err) = serde_json::from_slice::<api::ApiError>(&answer.body) else {
        return answer.classify();
    };
    let Some(code) = err.code else {
        return answer.classify();
    };
    let class = match answer.status.as_u16() {
        // The HTTP status wins for throttling and outages whatever the code.
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Retryable,
        _ => api::class_of(code).unwrap_or_else(|| http::kind_of_status(answer.status)),
    };
    let message = err.message.unwrap_or_default();
    let reason = format!("twilio {code}: {message}");
    answer.error(class, reason)
}

impl ProviderKind for Twilio {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Sms, Channel::Voice, Channel::Whatsapp],
        failover_rank: Some(10),
        // Twilio's pricing page ("Programmable Messaging"): $0.0075 per
        // outbound segment to US numbers.
        list_price: ListPrice::SmsSegment {
            country: "US",
            micros: 7_500,
        },
        env: EnvVars {
            required: &[
                ("TWILIO_ACCOUNT_SID", "account_sid"),
                ("TWILIO_AUTH_TOKEN", "auth_token"),
            ],
            one_of: &[],
            optional: &[
                ("TWILIO_PHONE_NUMBER", "phone_number"),
                ("TWILIO_MESSAGING_SERVICE_SID", "messaging_service_sid"),
                ("TWILIO_WHATSAPP_NUMBER", "whatsapp_number"),
            ],
        },
        sender: Some(Sender {
            key: "phone_number",
            shared: Channel::Sms,
            unless: Some("messaging_service_sid"),
            or_noreply_at: None,
        }),
        callbacks: Callbacks::EmptyTwiml,
        // Twilio answers STOP, START and HELP itself on long codes (its
        // Advanced Opt-Out, on by default).
        answers_keywords: true,
        pace_per_destination_ms: 0,
    };

    fn targets(config: &Config) -> Vec<Target<'_>> {
        crate::registry::base_url(&config.base_url)
    }

    fn build(name: &str, config: Config, ctx: &BuildContext<'_>) -> Result<Self, BuildError> {
        Twilio::new(name, config, ctx.client.clone(), ctx.opts)
    }

    fn call_input(
        &self,
        req: &InboundRequest<'_>,
    ) -> Result<foghorn_core::voice::CallInput, InboundError> {
        Twilio::call_input(self, req)
    }

    fn call_page(&self, page: &foghorn_core::voice::CallPage<'_>) -> foghorn_core::Reply {
        voice::twiml(page)
    }
}
