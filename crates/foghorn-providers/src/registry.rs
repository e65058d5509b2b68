//! The closed set of providers. `providers!` below is the one list of
//! them: from it come the configuration enum (`kind = "twilio"`), the built
//! provider enum, the table of kinds' facts and every dispatch, so adding a
//! provider is its folder (which implements [`ProviderKind`]) and one line
//! here, and the compiler points at anything the folder lacks.

use crate::email::{mailgun, postmark, sendgrid, smtp};
use crate::http::{Clients, HttpOptions};
use crate::kinds::Spec;
use crate::net_guard::{self, Family};
use crate::sms::{bandwidth, messagebird, plivo, twilio, vonage};
use crate::team::{discord, slack};
use crate::{sandbox, webhook, whatsapp};
use foghorn_core::transport::BoxFuture;
use foghorn_core::voice::{CallInput, CallPage};
use foghorn_core::{
    Answer, Channel, InboundError, InboundEvent, InboundRequest, Interaction, Outbound,
    ProviderError, Receipt, Reply,
};
use serde::Deserialize;

/// Whose configuration a provider is built from. The operator's comes from
/// its own files and environment; a tenant's arrives through the API and is
/// untrusted, so its targets obey the tenants' private-target rule and its
/// requests go through the tenants' client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Operator,
    Tenant,
}

/// One URL a configuration connects to: the setting it came from, the URL
/// and what speaks over it.
pub type Target<'a> = (&'static str, &'a str, Family);

/// What building a provider may use: the client and options of its
/// origin, and the tenants' own for a target a tenant names later.
pub struct BuildContext<'a> {
    pub opts: &'a HttpOptions,
    pub client: &'a reqwest::Client,
    pub clients: &'a Clients,
}

/// What each provider's folder supplies besides `name`, `supports`, `send`
/// and `inbound` (called by name from the dispatch below).
pub trait ProviderKind: Sized {
    type Config;
    /// The kind's facts, read by configuration, failover, pricing and the
    /// callback endpoint.
    const SPEC: Spec;
    /// Every target URL the configuration names. [`Provider::build`] runs
    /// the guard's build-time check over all of them, so a provider cannot
    /// skip it.
    fn targets(config: &Self::Config) -> Vec<Target<'_>>;
    fn build(name: &str, config: Self::Config, ctx: &BuildContext<'_>) -> Result<Self, BuildError>;

    /// Team apps read their interactions (see [`foghorn_core::Transport::interaction`]);
    /// other kinds receive none.
    fn interaction(&self, req: &InboundRequest<'_>) -> Result<Interaction, InboundError> {
        let _ = req;
        Err(InboundError::NotConfigured(format!(
            "{} receives no interactions",
            Self::SPEC.name
        )))
    }

    fn reply(&self, interaction: &Interaction, answer: &Answer) -> Reply {
        let _ = (interaction, answer);
        Reply::empty()
    }

    fn follow_up<'a>(
        &'a self,
        interaction: &'a Interaction,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        let _ = (interaction, answer);
        Box::pin(async { Ok(()) })
    }

    /// Voice kinds read their calls' page requests (see
    /// [`foghorn_core::Transport::call_input`]); other kinds place none.
    fn call_input(&self, req: &InboundRequest<'_>) -> Result<CallInput, InboundError> {
        let _ = req;
        Err(InboundError::NotConfigured(format!(
            "{} places no calls",
            Self::SPEC.name
        )))
    }

    fn call_page(&self, page: &CallPage<'_>) -> Reply {
        let _ = page;
        Reply::empty()
    }

    fn annotate<'a>(
        &'a self,
        msg: &'a Outbound,
        message_id: &'a str,
        note: &'a str,
        at_ms: i64,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        let _ = (msg, message_id, note, at_ms);
        Box::pin(async { Ok(()) })
    }

    fn handshake(&self, req: &InboundRequest<'_>) -> Result<Reply, InboundError> {
        let _ = req;
        Err(InboundError::NotConfigured(format!(
            "{} has no webhook handshake",
            Self::SPEC.name
        )))
    }

    fn fetch_media<'a>(
        &'a self,
        media: &'a foghorn_core::InboundMedia,
        max_bytes: usize,
    ) -> BoxFuture<'a, Result<foghorn_core::FetchedMedia, ProviderError>> {
        let _ = (media, max_bytes);
        Box::pin(async {
            Err(ProviderError::permanent(format!(
                "{} keeps no media",
                Self::SPEC.name
            )))
        })
    }
}

/// A configuration's `base_url` override, the one target most HTTP
/// providers have.
pub fn base_url(url: &Option<String>) -> Vec<Target<'_>> {
    url.iter()
        .map(|u| ("base_url", u.as_str(), Family::Http))
        .collect()
}

/// Generates the enums and their dispatch from one list of
/// `Variant => folder::Type`. Serde's lower-cased variant is the `kind`.
macro_rules! providers {
    ($($variant:ident => $ty:ty),+ $(,)?) => {
        #[derive(Debug, Clone, Deserialize)]
        #[serde(tag = "kind", rename_all = "lowercase")]
        pub enum ProviderConfig {
            $($variant(<$ty as ProviderKind>::Config),)+
        }

        /// Boxed: providers carry keyed HMACs and header maps, and are built
        /// once, so the indirection is free.
        #[derive(Debug, Clone)]
        pub enum Provider {
            $($variant(Box<$ty>),)+
        }

        /// Every kind's facts, in this list's order.
        pub(crate) const KINDS: &[&Spec] = &[$(&<$ty as ProviderKind>::SPEC,)+];

        impl ProviderConfig {
            /// Every target URL the configuration names, with the setting
            /// it came from and what it is for.
            pub fn targets(&self) -> Vec<Target<'_>> {
                match self {
                    $(ProviderConfig::$variant(c) => <$ty as ProviderKind>::targets(c),)+
                }
            }

            fn build(self, name: &str, ctx: &BuildContext<'_>) -> Result<Provider, BuildError> {
                Ok(match self {
                    $(ProviderConfig::$variant(c) => {
                        Provider::$variant(Box::new(<$ty as ProviderKind>::build(name, c, ctx)?))
                    })+
                })
            }
        }

        impl Provider {
            /// The kind's facts.
            pub fn spec(&self) -> &'static Spec {
                match self {
                    $(Provider::$variant(_) => &<$ty as ProviderKind>::SPEC,)+
                }
            }

            pub fn name(&self) -> &str {
                match self {
                    $(Provider::$variant(p) => p.name(),)+
                }
            }

            pub fn supports(&self, channel: Channel) -> bool {
                match self {
                    $(Provider::$variant(p) => p.supports(channel),)+
                }
            }

            pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
                match self {
                    $(Provider::$variant(p) => p.send(msg).await,)+
                }
            }

            /// Verifies a provider's callback (delivery status, incoming
            /// message) by that provider's own scheme and turns it into
            /// events. Kinds that receive no callbacks answer
            /// `NotConfigured`. Async like `send`, so a scheme that must
            /// fetch something (a rotated key) can be added without
            /// changing callers.
            pub async fn inbound(
                &self,
                req: &InboundRequest<'_>,
            ) -> Result<Vec<InboundEvent>, InboundError> {
                match self {
                    $(Provider::$variant(p) => p.inbound(req),)+
                }
            }

            pub fn interaction(&self, req: &InboundRequest<'_>) -> Result<Interaction, InboundError> {
                match self {
                    $(Provider::$variant(p) => <$ty as ProviderKind>::interaction(p, req),)+
                }
            }

            pub fn reply(&self, interaction: &Interaction, answer: &Answer) -> Reply {
                match self {
                    $(Provider::$variant(p) => <$ty as ProviderKind>::reply(p, interaction, answer),)+
                }
            }

            pub fn follow_up<'a>(
                &'a self,
                interaction: &'a Interaction,
                answer: &'a Answer,
            ) -> BoxFuture<'a, Result<(), ProviderError>> {
                match self {
                    $(Provider::$variant(p) => <$ty as ProviderKind>::follow_up(p, interaction, answer),)+
                }
            }

            pub fn call_input(&self, req: &InboundRequest<'_>) -> Result<CallInput, InboundError> {
                match self {
                    $(Provider::$variant(p) => <$ty as ProviderKind>::call_input(p, req),)+
                }
            }

            pub fn call_page(&self, page: &CallPage<'_>) -> Reply {
                match self {
                    $(Provider::$variant(p) => <$ty as ProviderKind>::call_page(p, page),)+
                }
            }

            pub fn fetch_media<'a>(
                &'a self,
                media: &'a foghorn_core::InboundMedia,
                max_bytes: usize,
            ) -> BoxFuture<'a, Result<foghorn_core::FetchedMedia, ProviderError>> {
                match self {
                    $(Provider::$variant(p) => <$ty as ProviderKind>::fetch_media(p, media, max_bytes),)+
                }
            }

            pub fn handshake(&self, req: &InboundRequest<'_>) -> Result<Reply, InboundError> {
                match self {
                    $(Provider::$variant(p) => <$ty as ProviderKind>::handshake(p, req),)+
                }
            }

            pub fn annotate<'a>(
                &'a self,
                msg: &'a Outbound,
                message_id: &'a str,
                note: &'a str,
                at_ms: i64,
            ) -> BoxFuture<'a, Result<(), ProviderError>> {
                match self {
                    $(Provider::$variant(p) => <$ty as ProviderKind>::annotate(p, msg, message_id, note, at_ms),)+
                }
            }
        }
    };
}

providers! {
    Sandbox => sandbox::Sandbox,
    Webhook => webhook::Webhook,
    Slack => slack::Slack,
    Discord => discord::Discord,
    Twilio => twilio::Twilio,
    Vonage => vonage::Vonage,
    MessageBird => messagebird::MessageBird,
    Bandwidth => bandwidth::Bandwidth,
    Plivo => plivo::Plivo,
    WhatsApp => whatsapp::meta::WhatsApp,
    Mailgun => mailgun::Mailgun,
    SendGrid => sendgrid::SendGrid,
    Postmark => postmark::Postmark,
    Smtp => smtp::Smtp,
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

/// The answer of a kind that receives no callbacks.
pub(crate) fn no_callbacks(name: &str, kind: &str) -> InboundError {
    InboundError::NotConfigured(format!("provider `{name}` ({kind}) receives no callbacks"))
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
        for (field, text, family) in config.targets() {
            let invalid = |e: String| BuildError::invalid(name, format!("{field}: {e}"));
            let url = reqwest::Url::parse(text.trim()).map_err(|e| invalid(e.to_string()))?;
            net_guard::check_target(&url, family, opts.allow_private_targets)
                .map_err(|e| invalid(e.to_string()))?;
        }
        let ctx = BuildContext {
            opts: &opts,
            client,
            clients,
        };
        config.build(name, &ctx)
    }

    pub fn kind(&self) -> &'static str {
        self.spec().name
    }

    /// Whether the provider itself answers the SMS keywords STOP, START and
    /// HELP (see [`Spec::answers_keywords`]).
    pub fn replies_to_keywords(&self) -> bool {
        self.spec().answers_keywords
    }
}

/// How the engine, which knows no provider, holds one.
impl foghorn_core::Transport for Provider {
    fn name(&self) -> &str {
        Provider::name(self)
    }

    fn spec(&self) -> &'static Spec {
        Provider::spec(self)
    }

    fn supports(&self, channel: Channel) -> bool {
        Provider::supports(self, channel)
    }

    fn send<'a>(&'a self, msg: &'a Outbound) -> BoxFuture<'a, Result<Receipt, ProviderError>> {
        Box::pin(Provider::send(self, msg))
    }

    fn inbound<'a>(
        &'a self,
        req: &'a InboundRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<InboundEvent>, InboundError>> {
        Box::pin(Provider::inbound(self, req))
    }

    fn interaction(&self, req: &InboundRequest<'_>) -> Result<Interaction, InboundError> {
        Provider::interaction(self, req)
    }

    fn reply(&self, interaction: &Interaction, answer: &Answer) -> Reply {
        Provider::reply(self, interaction, answer)
    }

    fn follow_up<'a>(
        &'a self,
        interaction: &'a Interaction,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Provider::follow_up(self, interaction, answer)
    }

    fn call_input(&self, req: &InboundRequest<'_>) -> Result<CallInput, InboundError> {
        Provider::call_input(self, req)
    }

    fn call_page(&self, page: &CallPage<'_>) -> Reply {
        Provider::call_page(self, page)
    }

    fn annotate<'a>(
        &'a self,
        msg: &'a Outbound,
        message_id: &'a str,
        note: &'a str,
        at_ms: i64,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Provider::annotate(self, msg, message_id, note, at_ms)
    }

    fn handshake(&self, req: &InboundRequest<'_>) -> Result<Reply, InboundError> {
        Provider::handshake(self, req)
    }

    fn fetch_media<'a>(
        &'a self,
        media: &'a foghorn_core::InboundMedia,
        max_bytes: usize,
    ) -> BoxFuture<'a, Result<foghorn_core::FetchedMedia, ProviderError>> {
        Provider::fetch_media(self, media, max_bytes)
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
