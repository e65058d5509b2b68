//! Bandwidth Messaging API v2, and Voice API v2 calls (see [`voice`]).
//!
//! Sends through the account's messages resource with our notification id
//! as `tag`, which every callback echoes. Callbacks go to the messaging
//! application's URL (there is no per-message one), so they are correlated by
//! `tag` and message id, and authenticated by the Basic credentials
//! configured on the application.
//!
//! API calls carry an OAuth 2.0 access token from the client-credentials
//! grant (`token.rs`), one per provider instance and shared by its clones.
//! Legacy API users (username/password) still build, with a warning: Bandwidth
//! stops accepting them on 2 December 2026.

pub mod api;
pub mod inbound;
#[cfg(test)]
mod tests;
pub mod token;
pub mod voice;
#[cfg(test)]
mod voice_tests;

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
use serde::Deserialize;
use std::sync::Arc;
use token::{Token, TokenSource};

pub const KIND: &str = "bandwidth";
/// The Messaging API's origin.
const MESSAGING_ORIGIN: &str = "https://messaging.bandwidth.com";
/// The token endpoint's origin (`api.rs`).
const TOKEN_ORIGIN: &str = "https://api.bandwidth.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub account_id: String,
    /// OAuth 2.0 API credentials (the Bandwidth App's "API Credentials").
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// A legacy API user, accepted until Bandwidth stops taking it.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    pub messaging_application_id: String,
    /// The default sender, an E.164 number on the application's location.
    pub from: String,
    /// Replaces every Bandwidth origin (messaging and token endpoint), paths
    /// unchanged, so one local server can stand in for all of them.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The Basic credentials set on the messaging application's callback;
    /// callbacks are refused without them.
    #[serde(default)]
    pub webhook_username: Option<String>,
    #[serde(default)]
    pub webhook_password: Option<Secret>,
    /// The voice application calls are placed with; no calls without it.
    #[serde(default)]
    pub voice_application_id: Option<String>,
    /// Per-minute call rates by calling-code prefix (`"+33" = "0.0395"`),
    /// over the US list price.
    #[serde(default)]
    pub voice_prices: std::collections::BTreeMap<String, String>,
}

/// How API calls are authenticated.
#[derive(Debug, Clone)]
enum Auth {
    /// Shared by clones, so every send through this account uses one token.
    OAuth(Arc<TokenSource>),
    LegacyBasic {
        username: String,
        password: Secret,
    },
}

/// The message for configurations still on a legacy API user.
const LEGACY_WARNING: &str = "Bandwidth no longer accepts Basic-auth API users \
    (username/password; decommissioned 2 December 2026): create OAuth 2.0 API credentials \
    and set BANDWIDTH_CLIENT_ID and BANDWIDTH_CLIENT_SECRET (client_id/client_secret)";

#[derive(Debug, Clone)]
pub struct Bandwidth {
    name: String,
    auth: Auth,
    application_id: String,
    from: String,
    webhook_credentials: Option<(String, Secret)>,
    endpoint: String,
    voice_application_id: Option<String>,
    calls_endpoint: String,
    public_url: Option<String>,
    minute_rates: crate::voice_rates::MinuteRates,
    client: reqwest::Client,
}

impl Bandwidth {
    pub fn new(
        name: &str,
        config: Config,
        client: reqwest::Client,
        opts: &HttpOptions,
    ) -> Result<Self, BuildError> {
        sms::required(name, "account_id", &config.account_id)?;
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
            (Some(user), Some(password)) if !user.is_empty() && !password.expose().is_empty() => {
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
        let origin = |default: &str| {
            let base = config.base_url.as_deref().unwrap_or(default);
            sms::base_url(name, base, opts.allow_private_targets)
        };
        let messaging = origin(MESSAGING_ORIGIN)?;
        let oauth = pair(
            name,
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
        )?;
        let legacy = pair(
            name,
            ("username", &config.username),
            ("password", &config.password),
        )?;
        let auth = match (oauth, legacy) {
            (Some((id, secret)), legacy) => {
                if legacy.is_some() {
                    tracing::info!(provider = %name, "bandwidth: client credentials given, username/password unused");
                }
                let endpoint = sms::endpoint(&origin(TOKEN_ORIGIN)?, token::TOKEN_PATH);
                Auth::OAuth(Arc::new(TokenSource::new(
                    name,
                    endpoint,
                    id,
                    secret,
                    client.clone(),
                )))
            }
            (None, Some((username, password))) => {
                tracing::warn!(provider = %name, "{LEGACY_WARNING}");
                Auth::LegacyBasic { username, password }
            }
            (None, None) => {
                return Err(BuildError::invalid(
                    name,
                    "`client_id` and `client_secret` are required \
                     (BANDWIDTH_CLIENT_ID, BANDWIDTH_CLIENT_SECRET)",
                ))
            }
        };
        let minute_rates = crate::voice_rates::MinuteRates::new(
            &config.voice_prices,
            &[("+1", voice::US_MICROS_PER_MINUTE)],
        )
        .map_err(|why| BuildError::invalid(name, why))?;
        let path = format!("/api/v2/users/{}/messages", config.account_id);
        let calls = format!("/api/v2/accounts/{}/calls", config.account_id);
        Ok(Bandwidth {
            name: name.to_string(),
            auth,
            application_id: config.messaging_application_id,
            from: config.from,
            webhook_credentials,
            endpoint: sms::endpoint(&messaging, &path),
            voice_application_id: config.voice_application_id.filter(|v| !v.trim().is_empty()),
            calls_endpoint: sms::endpoint(&origin(voice::VOICE_ORIGIN)?, &calls),
            public_url: opts.public_url.clone(),
            minute_rates,
            client,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Sms
            || (channel == Channel::Voice && self.voice_application_id.is_some())
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        if msg.channel == Channel::Voice {
            return self.call(msg).await;
        }
        let to = sms::recipient(msg)?;
        let text = sms::text(msg)?;
        let body = api::MessageRequest {
            application_id: &self.application_id,
            to: vec![to],
            from: sms::sender(msg, &self.from),
            text,
            tag: &msg.notification_id,
        };
        let answer = self.post(&self.endpoint, &body).await?;
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
            thread: None,
        })
    }

    /// Places a call whose page, `{public_url}/voice/bandwidth/{notification}`,
    /// Foghorn serves; Bandwidth authenticates its webhooks with the
    /// account's webhook credentials, which the page checks.
    async fn call(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        let to = sms::recipient(msg)?;
        let application = self.voice_application_id.as_deref().ok_or_else(|| {
            ProviderError::misconfigured("bandwidth: calls need `voice_application_id`")
        })?;
        let public = self.public_url.as_deref().ok_or_else(|| {
            ProviderError::misconfigured(
                "bandwidth: a call needs `public_url`: Bandwidth fetches the call's script from it",
            )
        })?;
        let (user, password) = self.webhook_credentials.as_ref().ok_or_else(|| {
            ProviderError::misconfigured(
                "bandwidth: a call needs webhook_username/webhook_password to check the call's requests",
            )
        })?;
        let public = public.trim_end_matches('/');
        let answer_url = format!("{public}/voice/bandwidth/{}", msg.notification_id);
        let disconnect_url = sms::callback_url(
            Some(public),
            KIND,
            msg.tenant_id.as_str(),
            Some(&msg.notification_id),
        )
        .unwrap_or_default();
        let body = voice::CreateCall {
            to,
            from: sms::sender(msg, &self.from),
            application_id: application,
            answer_url: &answer_url,
            answer_method: "POST",
            username: user,
            password: password.expose(),
            disconnect_url: &disconnect_url,
            disconnect_method: "POST",
            machine_detection: voice::MachineDetection::SYNC,
            tag: &msg.notification_id,
        };
        let answer = self.post(&self.calls_endpoint, &body).await?;
        let call: voice::CreatedCall = match serde_json::from_slice(&answer.body) {
            Ok(call) => call,
            Err(e) => {
                tracing::warn!(provider = %self.name, error = %e, "bandwidth 2xx call answer unreadable");
                return Ok(sms::accepted_untracked(answer.status));
            }
        };
        Ok(Receipt {
            provider_message_id: Some(call.call_id),
            http_status: Some(answer.status.as_u16()),
            ..Receipt::default()
        })
    }

    /// One API call with the account's credentials; a failed answer is the
    /// error, with every secret scrubbed from it.
    async fn post(
        &self,
        endpoint: &str,
        body: &(impl serde::Serialize + Sync),
    ) -> Result<Answer, ProviderError> {
        match &self.auth {
            Auth::LegacyBasic { username, password } => {
                let request = self
                    .request(endpoint, body)
                    .basic_auth(username, Some(password.expose()));
                let answer = http::call(request).await?;
                if !answer.status.is_success() {
                    return Err(token::scrub(failure(&answer), &[password.expose()]));
                }
                Ok(answer)
            }
            Auth::OAuth(source) => {
                let (answer, used) = self.send_with_token(source, endpoint, body).await?;
                if !answer.status.is_success() {
                    let mut err = failure(&answer);
                    if answer.status == reqwest::StatusCode::UNAUTHORIZED {
                        err = refused_twice(err);
                    }
                    let secrets = [used.bearer(), source.secret()];
                    return Err(token::scrub(err, &secrets));
                }
                Ok(answer)
            }
        }
    }

    fn request(&self, endpoint: &str, body: &impl serde::Serialize) -> reqwest::RequestBuilder {
        self.client
            .post(endpoint)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(body)
    }

    /// Sends with the shared token; a 401 means the token is no longer good
    /// (revoked, or expired early), so it is replaced and the call made once
    /// more. A second 401 is left to [`failure`]: misconfigured.
    async fn send_with_token(
        &self,
        source: &TokenSource,
        endpoint: &str,
        body: &(impl serde::Serialize + Sync),
    ) -> Result<(Answer, Token), ProviderError> {
        let token = source.token().await?;
        let answer = self.call_with(&token, endpoint, body).await?;
        if answer.status != reqwest::StatusCode::UNAUTHORIZED {
            return Ok((answer, token));
        }
        tracing::info!(provider = %self.name, "bandwidth refused its access token; fetching a new one");
        let fresh = source.replace(&token).await?;
        let answer = self.call_with(&fresh, endpoint, body).await?;
        Ok((answer, fresh))
    }

    async fn call_with(
        &self,
        token: &Token,
        endpoint: &str,
        body: &(impl serde::Serialize + Sync),
    ) -> Result<Answer, ProviderError> {
        let request = self.request(endpoint, body).bearer_auth(token.bearer());
        http::call(request)
            .await
            .map_err(|e| token::scrub(e, &[token.bearer()]))
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
        inbound::check_basic(req.header("authorization"), user, password.expose())?;
        if voice::is_call_webhook(req.body) {
            return voice::events(req.body, &self.minute_rates);
        }
        inbound::events(req.body)
    }

    /// A request from a call to its page, by the same Basic credentials.
    pub fn call_input(
        &self,
        req: &InboundRequest<'_>,
    ) -> Result<foghorn_core::voice::CallInput, InboundError> {
        let Some((user, password)) = &self.webhook_credentials else {
            return Err(InboundError::NotConfigured(format!(
                "bandwidth provider `{}` has no webhook credentials to check calls with",
                self.name
            )));
        };
        inbound::check_basic(req.header("authorization"), user, password.expose())?;
        voice::input(req.body, req.url)
    }
}

/// A 401 reached the caller only after a new token was refused as well:
/// the credentials lack access to this account (roles, account scope).
fn refused_twice(err: ProviderError) -> ProviderError {
    match err {
        ProviderError::Misconfigured {
            reason,
            http_status,
        } => ProviderError::Misconfigured {
            reason: format!("{reason}; a newly issued access token was refused too"),
            http_status,
        },
        other => other,
    }
}

/// A credential pair: both set, or neither (a blank value counts as unset).
fn pair(
    provider: &str,
    (first, a): (&str, &Option<String>),
    (second, b): (&str, &Option<Secret>),
) -> Result<Option<(String, Secret)>, BuildError> {
    let a = a.as_ref().filter(|v| !v.trim().is_empty()).cloned();
    let b = b.as_ref().filter(|v| !v.is_blank()).cloned();
    match (a, b) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        _ => Err(BuildError::invalid(
            provider,
            format!("`{first}` and `{second}` go together"),
        )),
    }
}

fn failure(answer: &Answer) -> ProviderError {
    let parsed = serde_json::from_slice::<api::ApiError>(&answer.body).ok();
    let class = match (answer.status.as_u16(), &parsed) {
        (400, Some(err)) => api::class_of_validation(err),
        // The account id is the only variable part of the path.
        (404, _) => ErrorKind::Misconfigured,
        _ => http::kind_of_status(answer.status),
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
    answer.error(class, reason)
}

impl ProviderKind for Bandwidth {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Sms, Channel::Voice],
        failover_rank: Some(50),
        list_price: ListPrice::None,
        env: EnvVars {
            required: &[
                ("BANDWIDTH_ACCOUNT_ID", "account_id"),
                (
                    "BANDWIDTH_MESSAGING_APPLICATION_ID",
                    "messaging_application_id",
                ),
            ],
            // OAuth 2.0 client credentials; the legacy API user still starts
            // (with a warning) until Bandwidth stops accepting it.
            one_of: &[
                &[
                    ("BANDWIDTH_CLIENT_ID", "client_id"),
                    ("BANDWIDTH_CLIENT_SECRET", "client_secret"),
                ],
                &[
                    ("BANDWIDTH_USERNAME", "username"),
                    ("BANDWIDTH_PASSWORD", "password"),
                ],
            ],
            optional: &[
                ("BANDWIDTH_PHONE_NUMBER", "from"),
                ("BANDWIDTH_WEBHOOK_USERNAME", "webhook_username"),
                ("BANDWIDTH_WEBHOOK_PASSWORD", "webhook_password"),
                ("BANDWIDTH_VOICE_APPLICATION_ID", "voice_application_id"),
            ],
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
        Bandwidth::new(name, config, ctx.client.clone(), ctx.opts)
    }

    fn call_input(
        &self,
        req: &InboundRequest<'_>,
    ) -> Result<foghorn_core::voice::CallInput, InboundError> {
        Bandwidth::call_input(self, req)
    }

    fn call_page(&self, page: &foghorn_core::voice::CallPage<'_>) -> foghorn_core::Reply {
        voice::bxml(page)
    }
}
