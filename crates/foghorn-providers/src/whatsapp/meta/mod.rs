//! WhatsApp through Meta's Cloud API: approved templates (what a business
//! may send to start a conversation) and free-form text, and the status
//! webhooks at `/hooks/whatsapp` (see [`webhook`]).

pub mod api;
#[cfg(test)]
mod tests;
pub mod webhook;

use crate::http::{self, Answer, HttpOptions};
use crate::kinds::{Callbacks, EnvVars, ListPrice, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::{sms, BuildError};
use foghorn_core::{
    Channel, ErrorKind, InboundError, InboundEvent, InboundRequest, Outbound, ProviderError,
    Receipt, Reply, Secret,
};
use serde::Deserialize;
use sha2::Digest;

pub const KIND: &str = "whatsapp";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A system user's access token with `whatsapp_business_messaging`.
    pub access_token: Secret,
    /// The sending number's id (not the number itself).
    pub phone_number_id: String,
    /// The Graph API version, `v26.0` unless set.
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    /// The token the webhook subscription's handshake must present.
    #[serde(default)]
    pub verify_token: Option<Secret>,
    /// The app secret that signs the webhooks; none are accepted without it.
    #[serde(default)]
    pub app_secret: Option<Secret>,
    /// The account's rate per delivered message by pricing category
    /// (`marketing = "0.0250"`, `utility`, `authentication`, …): Meta
    /// reports the category on each status, not the amount, and rates vary
    /// by country and contract, so there is no built-in list price.
    #[serde(default)]
    pub prices: std::collections::BTreeMap<String, String>,
    /// The currency of `prices`, `USD` unless set.
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WhatsApp {
    name: String,
    access_token: Secret,
    endpoint: String,
    /// `{origin}/{version}`, where media ids are looked up.
    graph: String,
    allow_private: bool,
    verify_token: Option<Secret>,
    app_secret: Option<Secret>,
    prices: webhook::Prices,
    client: reqwest::Client,
}

impl WhatsApp {
    pub fn new(
        name: &str,
        config: Config,
        client: reqwest::Client,
        opts: &HttpOptions,
    ) -> Result<Self, BuildError> {
        sms::required(name, "access_token", config.access_token.expose())?;
        sms::required(name, "phone_number_id", &config.phone_number_id)?;
        // Both are path segments.
        if !config.phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BuildError::invalid(
                name,
                "`phone_number_id` is the number's id: digits",
            ));
        }
        let version = config
            .api_version
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| api::DEFAULT_API_VERSION.to_string());
        let valid_version = version
            .strip_prefix('v')
            .and_then(|v| v.split_once('.'))
            .is_some_and(|(major, minor)| {
                !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) && minor == "0"
            });
        if !valid_version {
            return Err(BuildError::invalid(
                name,
                "`api_version` is a Graph API version such as v26.0",
            ));
        }
        let base = config.base_url.as_deref().unwrap_or(api::DEFAULT_BASE_URL);
        let base = sms::base_url(name, base, opts.allow_private_targets)?;
        let path = format!("/{version}/{}/messages", config.phone_number_id);
        let blank = |s: Option<Secret>| s.filter(|s| !s.is_blank());
        let prices = webhook::Prices::new(&config.prices, config.currency.as_deref())
            .map_err(|why| BuildError::invalid(name, why))?;
        Ok(WhatsApp {
            name: name.to_string(),
            access_token: config.access_token,
            endpoint: sms::endpoint(&base, &path),
            graph: sms::endpoint(&base, &format!("/{version}")),
            allow_private: opts.allow_private_targets,
            verify_token: blank(config.verify_token),
            app_secret: blank(config.app_secret),
            prices,
            client,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Whatsapp
    }

    /// A template when the step names one (it may start a conversation),
    /// else the text (which Meta takes only inside the 24-hour window; a
    /// 131047 answer hands the message to the step's fallback).
    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        let to = sms::recipient(msg)?;
        let to = to.strip_prefix('+').unwrap_or(to);
        let body = match &msg.content.template {
            Some(t) => api::SendMessage {
                messaging_product: "whatsapp",
                recipient_type: "individual",
                to,
                kind: "template",
                template: Some(api::Template {
                    name: &t.name,
                    language: api::Language { code: &t.language },
                    components: if t.params.is_empty() {
                        Vec::new()
                    } else {
                        vec![api::Component {
                            kind: "body",
                            parameters: t
                                .params
                                .iter()
                                .map(|p| api::Parameter {
                                    kind: "text",
                                    text: p,
                                })
                                .collect(),
                        }]
                    },
                }),
                text: None,
            },
            None => api::SendMessage {
                messaging_product: "whatsapp",
                recipient_type: "individual",
                to,
                kind: "text",
                template: None,
                text: Some(api::Text {
                    body: sms::text(msg)?,
                    preview_url: false,
                }),
            },
        };
        let request = self
            .client
            .post(&self.endpoint)
            .bearer_auth(self.access_token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body);
        let answer = http::call(request).await?;
        if !answer.status.is_success() {
            return Err(failure(&answer));
        }
        let sent: api::Sent = match serde_json::from_slice(&answer.body) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(provider = %self.name, error = %e, "whatsapp 2xx answer unreadable");
                return Ok(sms::accepted_untracked(answer.status));
            }
        };
        Ok(Receipt {
            provider_message_id: sent.messages.into_iter().next().map(|m| m.id),
            http_status: Some(answer.status.as_u16()),
            ..Receipt::default()
        })
    }

    /// A signed webhook's statuses.
    pub fn inbound(&self, req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        let Some(secret) = &self.app_secret else {
            return Err(InboundError::NotConfigured(format!(
                "whatsapp provider `{}` has no app_secret to check webhooks with",
                self.name
            )));
        };
        webhook::verify(
            secret.expose(),
            req.body,
            req.header(webhook::SIGNATURE_HEADER),
        )?;
        webhook::events(req.body, &self.prices)
    }

    /// Downloads a file someone sent: the media id is looked up for a
    /// short-lived URL (Meta's answer: `url`, `mime_type`, `sha256`,
    /// `file_size`), fetched with the same token, never past `max_bytes`,
    /// and checked against Meta's SHA-256. The URL passes the same
    /// network guard as the account's own base URL.
    pub async fn fetch_media(
        &self,
        media: &foghorn_core::InboundMedia,
        max_bytes: usize,
    ) -> Result<foghorn_core::FetchedMedia, ProviderError> {
        if media.id.is_empty() || !media.id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ProviderError::permanent(
                "whatsapp: a media id is letters and digits",
            ));
        }
        let lookup = self
            .client
            .get(format!("{}/{}", self.graph, media.id))
            .bearer_auth(self.access_token.expose());
        let answer = http::call(lookup).await?;
        if !answer.status.is_success() {
            return Err(failure(&answer));
        }
        let found: api::MediaUrl = serde_json::from_slice(&answer.body).map_err(|e| {
            ProviderError::permanent(format!("whatsapp media lookup unreadable: {e}"))
        })?;
        if found
            .file_size
            .as_deref()
            .and_then(|s| s.parse::<usize>().ok())
            .is_some_and(|n| n > max_bytes)
        {
            return Err(ProviderError::permanent(format!(
                "whatsapp media larger than {max_bytes} bytes"
            )));
        }
        let url =
            crate::net_guard::setting_url(&self.name, "media url", &found.url, self.allow_private)
                .map_err(|e| {
                    ProviderError::permanent(format!("whatsapp media URL refused: {e}"))
                })?;
        let response = self
            .client
            .get(url)
            .bearer_auth(self.access_token.expose())
            .send()
            .await
            .map_err(|e| ProviderError::retryable(format!("whatsapp media download: {e}")))?;
        if !response.status().is_success() {
            return Err(ProviderError::retryable(format!(
                "whatsapp media download: HTTP {}",
                response.status()
            )));
        }
        let bytes = read_capped(response, max_bytes).await?;
        let digest = sha2::Sha256::digest(&bytes);
        let hex = crate::signature::hex(&digest);
        let b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(digest)
        };
        let claimed = media
            .sha256
            .as_deref()
            .or(found.sha256.as_deref())
            .filter(|c| !c.is_empty());
        if claimed.is_some_and(|c| c != hex && c != b64) {
            return Err(ProviderError::permanent(
                "whatsapp media does not match its sha256",
            ));
        }
        Ok(foghorn_core::FetchedMedia {
            bytes,
            mime_type: found.mime_type.unwrap_or_else(|| media.mime_type.clone()),
            sha256_hex: hex,
        })
    }

    /// The webhook subscription's handshake.
    pub fn handshake(&self, req: &InboundRequest<'_>) -> Result<Reply, InboundError> {
        let Some(token) = &self.verify_token else {
            return Err(InboundError::NotConfigured(format!(
                "whatsapp provider `{}` has no verify_token",
                self.name
            )));
        };
        webhook::handshake(req.url, token.expose())
    }
}

/// The body, refused as soon as it passes `max` bytes.
async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ProviderError> {
    let mut out = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ProviderError::retryable(format!("whatsapp media download: {e}")))?
    {
        if out.len() + chunk.len() > max {
            return Err(ProviderError::permanent(format!(
                "whatsapp media larger than {max} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Classifies a failure by Meta's error code, which leads the reason.
fn failure(answer: &Answer) -> ProviderError {
    let Ok(body) = serde_json::from_slice::<api::ErrorBody>(&answer.body) else {
        return answer.classify();
    };
    let err = body.error;
    let Some(code) = err.code else {
        return answer.classify();
    };
    let class = match answer.status.as_u16() {
        500..=599 if api::class_of(code).is_none() => ErrorKind::Retryable,
        _ => api::class_of(code).unwrap_or_else(|| http::kind_of_status(answer.status)),
    };
    let details = err
        .error_data
        .and_then(|d| d.details)
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    let reason = format!(
        "whatsapp {code}: {}{details}",
        err.message.unwrap_or_default()
    );
    answer.error(class, reason)
}

impl ProviderKind for WhatsApp {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Whatsapp],
        failover_rank: Some(10),
        // Meta charges a delivered template by its category and the
        // recipient's country; the status webhooks name the category and
        // the account's `prices` give the rate.
        list_price: ListPrice::None,
        env: EnvVars {
            required: &[
                ("WHATSAPP_ACCESS_TOKEN", "access_token"),
                ("WHATSAPP_PHONE_NUMBER_ID", "phone_number_id"),
            ],
            one_of: &[],
            optional: &[
                ("WHATSAPP_API_VERSION", "api_version"),
                ("WHATSAPP_VERIFY_TOKEN", "verify_token"),
                ("WHATSAPP_APP_SECRET", "app_secret"),
            ],
        },
        sender: None,
        callbacks: Callbacks::Json,
        answers_keywords: false,
        pace_per_destination_ms: 0,
    };

    fn targets(config: &Config) -> Vec<Target<'_>> {
        crate::registry::base_url(&config.base_url)
    }

    fn build(name: &str, config: Config, ctx: &BuildContext<'_>) -> Result<Self, BuildError> {
        WhatsApp::new(name, config, ctx.client.clone(), ctx.opts)
    }

    fn handshake(&self, req: &InboundRequest<'_>) -> Result<Reply, InboundError> {
        WhatsApp::handshake(self, req)
    }

    fn fetch_media<'a>(
        &'a self,
        media: &'a foghorn_core::InboundMedia,
        max_bytes: usize,
    ) -> foghorn_core::transport::BoxFuture<'a, Result<foghorn_core::FetchedMedia, ProviderError>>
    {
        Box::pin(WhatsApp::fetch_media(self, media, max_bytes))
    }
}
