//! The closed set of providers: configuration is parsed into one of these
//! variants and dispatched with a `match`, so adding a provider is one line in
//! each method here and the compiler points at every place that must change.

use crate::http::HttpOptions;
use crate::{sandbox, webhook};
use foghorn_core::{Channel, Outbound, ProviderError, Receipt};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProviderConfig {
    Sandbox(sandbox::Config),
    Webhook(webhook::Config),
}

#[derive(Debug, Clone)]
pub enum Provider {
    Sandbox(sandbox::Sandbox),
    Webhook(webhook::Webhook),
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
            ProviderConfig::Webhook(c) => Provider::Webhook(webhook::Webhook::new(
                name,
                c,
                client.clone(),
                opts.allow_private_targets,
            )?),
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Provider::Sandbox(p) => p.name(),
            Provider::Webhook(p) => p.name(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Provider::Sandbox(_) => "sandbox",
            Provider::Webhook(_) => "webhook",
        }
    }

    pub fn supports(&self, channel: Channel) -> bool {
        match self {
            Provider::Sandbox(p) => p.supports(channel),
            Provider::Webhook(p) => p.supports(channel),
        }
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        match self {
            Provider::Sandbox(p) => p.send(msg).await,
            Provider::Webhook(p) => p.send(msg).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::build_client;

    fn build(json: serde_json::Value) -> Result<Provider, BuildError> {
        let opts = HttpOptions::default();
        let config: ProviderConfig =
            serde_json::from_value(json).map_err(|e| BuildError::invalid("p", e.to_string()))?;
        Provider::build("p", config, &opts, &build_client(&opts)?)
    }

    #[test]
    fn builds_from_tagged_config() {
        let sandbox = build(serde_json::json!({"kind": "sandbox"})).unwrap();
        assert_eq!((sandbox.name(), sandbox.kind()), ("p", "sandbox"));
        let hook = build(serde_json::json!({
            "kind": "webhook", "url": "https://example.com/sms",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "headers": {"authorization": "Bearer x"}
        }))
        .unwrap();
        assert_eq!(hook.kind(), "webhook");
        assert!(hook.supports(Channel::Sms));
        let relay_less = build(serde_json::json!({"kind": "webhook"})).unwrap();
        assert!(relay_less.supports(Channel::Slack) && !relay_less.supports(Channel::Email));
    }

    #[test]
    fn refuses_bad_config_naming_the_provider() {
        for bad in [
            serde_json::json!({"kind": "sandbox", "extra": 1}),
            serde_json::json!({"kind": "carrier-pigeon"}),
            serde_json::json!({"kind": "webhook", "url": "not a url"}),
            serde_json::json!({"kind": "webhook", "url": "http://10.0.0.1/hook"}),
            serde_json::json!({"kind": "webhook", "secret": "whsec_!!notbase64"}),
            serde_json::json!({"kind": "webhook", "secret": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
            serde_json::json!({"kind": "webhook", "headers": {"webhook-id": "x"}}),
            serde_json::json!({"kind": "webhook", "headers": {"x-bad": "a\nb"}}),
        ] {
            let err = build(bad.clone()).expect_err(&bad.to_string());
            assert!(err.to_string().starts_with("provider `p`: "), "{err}");
        }
    }
}
