//! The closed set of providers: configuration is parsed into one of these
//! variants and dispatched with a `match`, so adding a provider is one line in
//! each method here and the compiler points at every place that must change.

use crate::email::{mailgun, postmark, sendgrid, smtp};
use crate::http::{Clients, HttpOptions};
use crate::net_guard::{self, Family};
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

/// Whose configuration a provider is built from. The operator's comes from
/// its own files and environment; a tenant's arrives through the API and is
/// untrusted, so its targets obey the tenants' private-target rule and its
/// requests go through the tenants' client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Operator,
    Tenant,
}

impl ProviderConfig {
    /// Every target URL the configuration names, with the setting it came
    /// from and what it is for. [`Provider::build`] runs the guard's
    /// build-time check over all of them, so a provider cannot skip it: a
    /// new variant does not compile until it says what it connects to.
    pub fn targets(&self) -> Vec<(&'static str, &str, Family)> {
        fn base(url: &Option<String>) -> Vec<(&'static str, &str, Family)> {
            url.iter()
                .map(|u| ("base_url", u.as_str(), Family::Http))
                .collect()
        }
        match self {
            ProviderConfig::Sandbox(_) => Vec::new(),
            ProviderConfig::Webhook(c) => c
                .url
                .iter()
                .map(|u| ("url", u.as_str(), Family::Http))
                .collect(),
            ProviderConfig::Twilio(c) => base(&c.base_url),
            ProviderConfig::Vonage(c) => base(&c.base_url),
            ProviderConfig::MessageBird(c) => base(&c.base_url),
            ProviderConfig::Bandwidth(c) => base(&c.base_url),
            ProviderConfig::Plivo(c) => base(&c.base_url),
            ProviderConfig::Mailgun(c) => base(&c.base_url),
            ProviderConfig::SendGrid(c) => base(&c.base_url),
            ProviderConfig::Postmark(c) => base(&c.base_url),
            ProviderConfig::Smtp(c) => vec![("url", c.url.as_str(), Family::Smtp)],
        }
    }
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
    /// `clients` are the process's shared ones ([`Clients::new`] with the
    /// same `opts`), so every provider shares one connection pool per trust
    /// level; `origin` picks the client and the private-target rule.
    pub fn build(
        name: &str,
        config: ProviderConfig,
        opts: &HttpOptions,
        clients: &Clients,
        origin: Origin,
    ) -> Result<Provider, BuildError> {
        let (opts, client) = match origin {
            Origin::Operator => (opts.clone(), &clients.operator),
            Origin::Tenant => (opts.for_tenant(), &clients.tenant),
        };
        let opts = &opts;
        for (field, text, family) in config.targets() {
            let invalid = |e: String| BuildError::invalid(name, format!("{field}: {e}"));
            let url = reqwest::Url::parse(text.trim()).map_err(|e| invalid(e.to_string()))?;
            net_guard::check_target(&url, family, opts.allow_private_targets)
                .map_err(|e| invalid(e.to_string()))?;
        }
        Ok(match config {
            ProviderConfig::Sandbox(c) => Provider::Sandbox(sandbox::Sandbox::new(name, c)),
            ProviderConfig::Webhook(c) => Provider::Webhook(Box::new(webhook::Webhook::new(
                name,
                c,
                webhook::Reach {
                    client: client.clone(),
                    allow_private: opts.allow_private_targets,
                },
                // A tenant's URL is never reached under the operator's rule.
                webhook::Reach {
                    client: clients.tenant.clone(),
                    allow_private: opts.allow_private_targets_for_tenants,
                },
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
            ProviderConfig::Smtp(c) => Provider::Smtp(Box::new(smtp::Smtp::new(
                name,
                c,
                opts.timeout,
                opts.allow_private_targets,
            )?)),
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
    use serde_json::json;

    fn build_as(
        json: serde_json::Value,
        opts: &HttpOptions,
        origin: Origin,
    ) -> Result<Provider, String> {
        let config: ProviderConfig = serde_json::from_value(json).map_err(|e| e.to_string())?;
        let clients = Clients::new(opts).map_err(|e| e.to_string())?;
        Provider::build("p", config, opts, &clients, origin).map_err(|e| e.to_string())
    }

    fn build(json: serde_json::Value) -> Result<Provider, String> {
        build_as(json, &HttpOptions::default(), Origin::Operator)
    }

    /// Tenants' accounts arrive as JSON with credentials as plain strings:
    /// they still deserialize, and every credential prints as `[redacted]`
    /// in the configuration's and the built provider's `Debug`.
    #[test]
    fn credentials_deserialize_from_strings_and_print_redacted() {
        let opts = HttpOptions::default();
        let from = "a@example.com";
        let configs = [
            (
                json!({"kind": "mailgun", "api_key": "hush-1", "domain": "mg.example.com", "from": from,
                    "webhook_signing_key": "hush-2"}),
                2,
            ),
            (
                json!({"kind": "sendgrid", "api_key": "hush-1", "from": from}),
                1,
            ),
            (
                json!({"kind": "postmark", "server_token": "hush-1", "from": from,
                    "webhook_username": "u", "webhook_password": "hush-2"}),
                2,
            ),
            (
                json!({"kind": "twilio", "account_sid": "AC1", "auth_token": "hush-1", "phone_number": "+12025550142"}),
                1,
            ),
            (
                json!({"kind": "vonage", "api_key": "k", "api_secret": "hush-1", "from": "Acme",
                    "signature_secret": "hush-2"}),
                2,
            ),
            (
                json!({"kind": "messagebird", "access_key": "hush-1", "originator": "Acme", "signing_key": "hush-2"}),
                2,
            ),
            (
                json!({"kind": "bandwidth", "account_id": "9900000", "client_id": "c", "client_secret": "hush-1",
                    "messaging_application_id": "app", "from": "+19195551212",
                    "webhook_username": "w", "webhook_password": "hush-2"}),
                2,
            ),
            (
                json!({"kind": "plivo", "auth_id": "MA1", "auth_token": "hush-1", "from": "14155550000"}),
                1,
            ),
            (
                json!({"kind": "webhook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
                1,
            ),
        ];
        for (config, secrets) in configs {
            let parsed: ProviderConfig = serde_json::from_value(config.clone()).unwrap();
            let shown = format!("{parsed:?}");
            assert_eq!(shown.matches("[redacted]").count(), secrets, "{shown}");
            let provider = build_as(config.clone(), &opts, Origin::Tenant).unwrap();
            let shown = format!("{shown} {provider:?}");
            assert!(
                !shown.contains("hush") && !shown.contains("MfKQ"),
                "{config}: {shown}"
            );
        }
    }

    /// Every kind with a target, pointed at loopback: refused for a tenant
    /// under the default rule while the operator's own private targets are
    /// allowed; the check lives in `build`, before any provider's own code.
    #[test]
    fn every_target_passes_the_guard_by_origin() {
        let opts = HttpOptions {
            allow_private_targets: true,
            ..HttpOptions::default()
        };
        let local = "http://127.0.0.2:9";
        let configs = [
            json!({"kind": "webhook", "url": local}),
            json!({"kind": "twilio", "account_sid": "AC1", "auth_token": "t", "phone_number": "+12025550142", "base_url": local}),
            json!({"kind": "mailgun", "api_key": "k", "domain": "mg.example.com", "from": "a@example.com", "base_url": local}),
            json!({"kind": "sendgrid", "api_key": "k", "from": "a@example.com", "base_url": local}),
            json!({"kind": "postmark", "server_token": "k", "from": "a@example.com", "base_url": local}),
            json!({"kind": "smtp", "url": "smtp://127.0.0.1:2525", "from": "a@example.com"}),
            json!({"kind": "smtp", "url": "smtp://localhost:2525", "from": "a@example.com"}),
        ];
        for config in configs {
            let err =
                build_as(config.clone(), &opts, Origin::Tenant).expect_err(&config.to_string());
            assert!(err.contains("private or reserved"), "{config}: {err}");
            build_as(config.clone(), &opts, Origin::Operator)
                .unwrap_or_else(|e| panic!("{config}: {e}"));
        }
        let tenants_allowed = HttpOptions {
            allow_private_targets_for_tenants: true,
            ..opts.clone()
        };
        build_as(
            json!({"kind": "webhook", "url": local}),
            &tenants_allowed,
            Origin::Tenant,
        )
        .unwrap();
        for (bad, says) in [
            (
                json!({"kind": "webhook", "url": "gopher://example.com/"}),
                "only http and https",
            ),
            (
                json!({"kind": "mailgun", "api_key": "k", "domain": "mg.example.com", "from": "a@example.com", "base_url": "file:///etc/passwd"}),
                "only http and https",
            ),
            (
                json!({"kind": "smtp", "url": "http://mail.example.com", "from": "a@example.com"}),
                "only smtp and smtps",
            ),
        ] {
            let err = build_as(bad.clone(), &opts, Origin::Operator).expect_err(&bad.to_string());
            assert!(err.contains(says), "{bad}: {err}");
        }
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
