//! The closed set of providers: configuration is parsed into one of these
//! variants and dispatched with a `match`, so adding a provider is one line in
//! each method here and the compiler points at every place that must change.

use crate::email::{mailgun, postmark, sendgrid, smtp};
use crate::http::HttpOptions;
use crate::sms::{bandwidth, messagebird, plivo, twilio, vonage};
use crate::{sandbox, webhook};
use foghorn_core::{
    Channel, InboundError, InboundEvent, InboundRequest, Outbound, ProviderError, Receipt,
};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProviderConfig {
    Sandbox(sandbox::Config),
    Webhook(webhook::Config),
    Twilio(twilio::Config),
    Vonage(vonage::Config),
    MessageBird(messagebird::Config),
    Bandwidth(bandwidth::Config),
    Plivo(plivo::Config),
    Mailgun(mailgun::Config),
    SendGrid(sendgrid::Config),
    Postmark(postmark::Config),
    Smtp(smtp::Config),
}

/// Variants holding HTTP providers are boxed: they carry a keyed HMAC and a
/// header map, and providers are built once, so the indirection is free.
#[derive(Debug, Clone)]
pub enum Provider {
    Sandbox(sandbox::Sandbox),
    Webhook(Box<webhook::Webhook>),
    Twilio(Box<twilio::Twilio>),
    Vonage(Box<vonage::Vonage>),
    MessageBird(Box<messagebird::MessageBird>),
    Bandwidth(Box<bandwidth::Bandwidth>),
    Plivo(Box<plivo::Plivo>),
    Mailgun(Box<mailgun::Mailgun>),
    SendGrid(Box<sendgrid::SendGrid>),
    Postmark(Box<postmark::Postmark>),
    Smtp(Box<smtp::Smtp>),
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("provider `{provider}`: {reason}")]
    Invalid { provider: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
}

impl BuildError {
    pub fn invalid(provider: &str, reason: impl Into<String>) -> Self {
        BuildError::Invalid {
            provider: provider.to_string(),
            reason: reason.into(),
        }
    }
}

impl Provider {
    /// `client` is the shared one from [`crate::http::build_client`], built
    /// with the same `opts`, so all providers share one connection pool.
    pub fn build(
        name: &str,
        config: ProviderConfig,
        opts: &HttpOptions,
        client: &reqwest::Client,
    ) -> Result<Provider, BuildError> {
        Ok(match config {
            ProviderConfig::Sandbox(c) => Provider::Sandbox(sandbox::Sandbox::new(name, c)),
            ProviderConfig::Webhook(c) => Provider::Webhook(Box::new(webhook::Webhook::new(
                name,
                c,
                client.clone(),
                opts.allow_private_targets,
            )?)),
            ProviderConfig::Twilio(c) => Provider::Twilio(Box::new(twilio::Twilio::new(
                name,
                c,
                client.clone(),
                opts,
            )?)),
            ProviderConfig::Vonage(c) => Provider::Vonage(Box::new(vonage::Vonage::new(
                name,
                c,
                client.clone(),
                opts,
            )?)),
            ProviderConfig::MessageBird(c) => Provider::MessageBird(Box::new(
                messagebird::MessageBird::new(name, c, client.clone(), opts)?,
            )),
            ProviderConfig::Bandwidth(c) => Provider::Bandwidth(Box::new(
                bandwidth::Bandwidth::new(name, c, client.clone(), opts)?,
            )),
            ProviderConfig::Plivo(c) => {
                Provider::Plivo(Box::new(plivo::Plivo::new(name, c, client.clone(), opts)?))
            }
            ProviderConfig::Mailgun(c) => {
                Provider::Mailgun(Box::new(mailgun::Mailgun::new(name, c, client.clone())?))
            }
            ProviderConfig::SendGrid(c) => {
                Provider::SendGrid(Box::new(sendgrid::SendGrid::new(name, c, client.clone())?))
            }
            ProviderConfig::Postmark(c) => {
                Provider::Postmark(Box::new(postmark::Postmark::new(name, c, client.clone())?))
            }
            ProviderConfig::Smtp(c) => {
                Provider::Smtp(Box::new(smtp::Smtp::new(name, c, opts.timeout)?))
            }
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Provider::Sandbox(p) => p.name(),
            Provider::Webhook(p) => p.name(),
            Provider::Twilio(p) => p.name(),
            Provider::Vonage(p) => p.name(),
            Provider::MessageBird(p) => p.name(),
            Provider::Bandwidth(p) => p.name(),
            Provider::Plivo(p) => p.name(),
            Provider::Mailgun(p) => p.name(),
            Provider::SendGrid(p) => p.name(),
            Provider::Postmark(p) => p.name(),
            Provider::Smtp(p) => p.name(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Provider::Sandbox(_) => "sandbox",
            Provider::Webhook(_) => "webhook",
            Provider::Twilio(_) => twilio::KIND,
            Provider::Vonage(_) => vonage::KIND,
            Provider::MessageBird(_) => messagebird::KIND,
            Provider::Bandwidth(_) => bandwidth::KIND,
            Provider::Plivo(_) => plivo::KIND,
            Provider::Mailgun(_) => mailgun::KIND,
            Provider::SendGrid(_) => sendgrid::KIND,
            Provider::Postmark(_) => postmark::KIND,
            Provider::Smtp(_) => smtp::KIND,
        }
    }

    /// Whether the provider itself answers the SMS keywords STOP, START and
    /// HELP. Twilio does on long codes (its Advanced Opt-Out, on by
    /// default), so a confirmation from us would reach the person twice;
    /// the others pass the message on and leave the answer to us.
    pub fn replies_to_keywords(&self) -> bool {
        matches!(self, Provider::Twilio(_))
    }

    pub fn supports(&self, channel: Channel) -> bool {
        match self {
            Provider::Sandbox(p) => p.supports(channel),
            Provider::Webhook(p) => p.supports(channel),
            Provider::Twilio(p) => p.supports(channel),
            Provider::Vonage(p) => p.supports(channel),
            Provider::MessageBird(p) => p.supports(channel),
            Provider::Bandwidth(p) => p.supports(channel),
            Provider::Plivo(p) => p.supports(channel),
            Provider::Mailgun(p) => p.supports(channel),
            Provider::SendGrid(p) => p.supports(channel),
            Provider::Postmark(p) => p.supports(channel),
            Provider::Smtp(p) => p.supports(channel),
        }
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        match self {
            Provider::Sandbox(p) => p.send(msg).await,
            Provider::Webhook(p) => p.send(msg).await,
            Provider::Twilio(p) => p.send(msg).await,
            Provider::Vonage(p) => p.send(msg).await,
            Provider::MessageBird(p) => p.send(msg).await,
            Provider::Bandwidth(p) => p.send(msg).await,
            Provider::Plivo(p) => p.send(msg).await,
            Provider::Mailgun(p) => p.send(msg).await,
            Provider::SendGrid(p) => p.send(msg).await,
            Provider::Postmark(p) => p.send(msg).await,
            Provider::Smtp(p) => p.send(msg).await,
        }
    }

    /// Verifies a provider's callback (delivery status, incoming message) by
    /// that provider's own scheme and turns it into events. Providers that
    /// receive no callbacks answer `NotConfigured`.
    pub async fn inbound(
        &self,
        req: &InboundRequest<'_>,
    ) -> Result<Vec<InboundEvent>, InboundError> {
        match self {
            // SMTP servers report nothing back: bounces arrive as mail.
            Provider::Sandbox(_) | Provider::Webhook(_) | Provider::Smtp(_) => {
                Err(InboundError::NotConfigured(format!(
                    "provider `{}` ({}) receives no callbacks",
                    self.name(),
                    self.kind()
                )))
            }
            Provider::Twilio(p) => p.inbound(req),
            Provider::Vonage(p) => p.inbound(req),
            Provider::MessageBird(p) => p.inbound(req),
            Provider::Bandwidth(p) => p.inbound(req),
            Provider::Plivo(p) => p.inbound(req),
            Provider::Mailgun(p) => p.inbound(req),
            Provider::SendGrid(p) => p.inbound(req),
            Provider::Postmark(p) => p.inbound(req),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::build_client;
    use serde_json::json;

    fn build(json: serde_json::Value) -> Result<Provider, String> {
        let opts = HttpOptions::default();
        let config: ProviderConfig = serde_json::from_value(json).map_err(|e| e.to_string())?;
        let client = build_client(&opts).map_err(|e| e.to_string())?;
        Provider::build("p", config, &opts, &client).map_err(|e| e.to_string())
    }

    #[test]
    fn builds_from_tagged_config() {
        let sandbox = build(json!({"kind": "sandbox"})).unwrap();
        assert_eq!((sandbox.name(), sandbox.kind()), ("p", "sandbox"));
        let hook = build(json!({
            "kind": "webhook", "url": "https://example.com/sms?token=hush",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "headers": {"authorization": "Bearer x"}
        }))
        .unwrap();
        assert_eq!(hook.kind(), "webhook");
        assert!(hook.supports(Channel::Sms));
        let debug = format!("{hook:?}");
        assert!(
            !debug.contains("hush") && !debug.contains("MfKQ"),
            "{debug}"
        );
        let relay_less = build(json!({"kind": "webhook"})).unwrap();
        assert!(relay_less.supports(Channel::Slack) && !relay_less.supports(Channel::Email));
    }

    #[test]
    fn refuses_bad_config() {
        for (bad, says) in [
            (
                json!({"kind": "sandbox", "extra": 1}),
                "unknown field `extra`",
            ),
            (json!({"kind": "carrier-pigeon"}), "unknown variant"),
            (
                json!({"kind": "webhook", "url": "not a url"}),
                "provider `p`: url",
            ),
            (
                json!({"kind": "webhook", "url": "http://10.0.0.1/"}),
                "private",
            ),
            (json!({"kind": "webhook", "secret": "whsec_!!"}), "base64"),
            (json!({"kind": "webhook", "secret": "c2VjcmV0"}), "whsec_"),
            (
                json!({"kind": "webhook", "headers": {"webhook-id": "x"}}),
                "set by the provider",
            ),
            (
                json!({"kind": "webhook", "headers": {"x-bad": "a\nb"}}),
                "header value",
            ),
        ] {
            let err = build(bad.clone()).expect_err(&bad.to_string());
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
