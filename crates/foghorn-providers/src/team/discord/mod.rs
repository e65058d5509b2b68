//! Discord: webhooks (`DISCORD_WEBHOOK_URL`, or a step's `url`) executed
//! with `?wait=true`, the bot (`DISCORD_BOT_TOKEN`) for messages that carry
//! buttons, the signed interactions endpoint (`DISCORD_PUBLIC_KEY`) and
//! the slash commands it registers (`DISCORD_APPLICATION_ID`).
//!
//! Discord bans an IP after 10,000 invalid requests in 10 minutes, so the
//! rate-limit headers are obeyed before a 429 happens: a destination whose
//! bucket is empty is not called until it resets, and a 4xx is never
//! retried blindly.

pub mod api;
pub mod embed;
pub mod interactions;
#[cfg(test)]
mod tests;

use super::{card, webhook_target};
use crate::http::{self, Answer as HttpAnswer};
use crate::kinds::{Callbacks, EnvVars, ListPrice, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::webhook::Reach;
use crate::{net_guard, BuildError};
use foghorn_core::team::{Answer, Interaction, Reply};
use foghorn_core::transport::BoxFuture;
use foghorn_core::{
    Address, Channel, ErrorKind, InboundError, InboundEvent, InboundRequest, Outbound,
    ProviderError, Receipt, Secret,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const KIND: &str = "discord";

/// Where a message goes: its request, its rate-limit bucket, and whether
/// the bot sends it (only the bot's messages keep buttons).
struct Posting {
    request: reqwest::RequestBuilder,
    bucket: String,
    by_bot: bool,
}
/// Where the bucket of every destination is kept when Discord says the
/// limit is global.
const GLOBAL: &str = "*";

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    #[serde(default)]
    pub bot_token: Option<Secret>,
    /// The application's public key (hex), for `POST /interactions/discord`.
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub application_id: Option<String>,
    /// The API origin, `https://discord.com/api/v10` unless set.
    #[serde(default)]
    pub base_url: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("webhook_url", &self.webhook_url.is_some())
            .field("bot_token", &self.bot_token.is_some())
            .field("application_id", &self.application_id)
            .field("base_url", &self.base_url)
            .finish()
    }
}

#[derive(Clone)]
pub struct Discord {
    name: String,
    webhook_url: Option<Url>,
    bot_token: Option<Secret>,
    public_key: Option<Vec<u8>>,
    application_id: Option<String>,
    base: String,
    reach: Reach,
    tenant_reach: Reach,
    /// When each destination's bucket refills, as the last answer said.
    blocked: Arc<Mutex<HashMap<String, Instant>>>,
}

impl fmt::Debug for Discord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discord")
            .field("name", &self.name)
            .field("bot", &self.bot_token.is_some())
            .finish_non_exhaustive()
    }
}

impl Discord {
    pub fn new(
        name: &str,
        config: Config,
        reach: Reach,
        tenant_reach: Reach,
    ) -> Result<Self, BuildError> {
        let invalid = |reason: String| BuildError::invalid(name, reason);
        let webhook_url = config
            .webhook_url
            .as_ref()
            .map(|u| net_guard::setting_url(name, "webhook_url", u.expose(), reach.allow_private))
            .transpose()?;
        let public_key = match config
            .public_key
            .as_deref()
            .filter(|k| !k.trim().is_empty())
        {
            None => None,
            Some(k) => Some(interactions::public_key(k).map_err(invalid)?),
        };
        let base = net_guard::base_url(
            name,
            config.base_url.as_deref().unwrap_or(api::DEFAULT_BASE_URL),
            reach.allow_private,
        )?
        .as_str()
        .trim_end_matches('/')
        .to_string();
        if let Some(id) = &config.application_id {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("application_id: a Discord id is digits".into()));
            }
        }
        Ok(Discord {
            name: name.to_string(),
            webhook_url,
            bot_token: config.bot_token.filter(|t| !t.expose().trim().is_empty()),
            public_key,
            application_id: config.application_id,
            base,
            reach,
            tenant_reach,
            blocked: Arc::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Discord
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        let card = card(msg);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let to = self.posting(msg, None)?;
        // Webhooks not owned by an application drop components.
        let body = embed::message(&card, &msg.notification_id, &now, to.by_bot);
        self.execute(&to.bucket, to.request, &body).await
    }

    /// Draws a message Foghorn posted again from `msg`, with `note` as its
    /// last field (buttons kept on the bot's posts).
    pub async fn annotate(
        &self,
        msg: &Outbound,
        message_id: &str,
        note: &str,
        at_ms: i64,
    ) -> Result<(), ProviderError> {
        if message_id.is_empty() || !message_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProviderError::permanent(format!(
                "`{message_id}` is not a Discord message id"
            )));
        }
        let card = card(msg);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let to = self.posting(msg, Some(message_id))?;
        let body = embed::noted(
            embed::message(&card, &msg.notification_id, &now, to.by_bot),
            note,
            at_ms,
        );
        self.execute(&to.bucket, to.request, &body).await.map(drop)
    }

    /// The request that posts `msg`, or edits the earlier message `edit`:
    /// the bot's Create Message / Edit Message
    /// (`POST|PATCH /channels/{channel}/messages[/{id}]`) for a channel,
    /// the webhook's Execute (`?wait=true`, for the message's id) / Edit
    /// Webhook Message (`PATCH …/messages/{id}`) otherwise, each with
    /// `thread_id` when the entity has a thread (Discord API reference,
    /// "Message" and "Webhook").
    fn posting(&self, msg: &Outbound, edit: Option<&str>) -> Result<Posting, ProviderError> {
        match &msg.to {
            Address::Channel(channel) => {
                let channel = msg.thread.as_deref().unwrap_or(channel);
                if channel.is_empty() || !channel.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ProviderError::permanent(format!(
                        "`{channel}` is not a Discord channel id"
                    )));
                }
                let Some(token) = &self.bot_token else {
                    return Err(ProviderError::misconfigured(format!(
                        "provider `{}` has no bot_token (DISCORD_BOT_TOKEN) to post to a channel",
                        self.name
                    )));
                };
                let messages = format!("{}/channels/{channel}/messages", self.base);
                let client = &self.reach.client;
                let request = match edit {
                    Some(id) => client.patch(format!("{messages}/{id}")),
                    None => client.post(messages),
                };
                Ok(Posting {
                    request: request.header(AUTHORIZATION, format!("Bot {}", token.expose())),
                    bucket: channel.to_string(),
                    by_bot: true,
                })
            }
            _ => {
                let (mut url, reach) = webhook_target(
                    msg,
                    self.webhook_url.as_ref(),
                    &self.reach,
                    &self.tenant_reach,
                    "Discord webhook",
                )?;
                let bucket = url.path().to_string();
                if let Some(id) = edit {
                    url.path_segments_mut()
                        .map_err(|_| ProviderError::permanent("a Discord webhook URL has a path"))?
                        .pop_if_empty()
                        .extend(["messages", id]);
                }
                // Touched only to add a pair: an empty query would still
                // write its `?`.
                if edit.is_none() {
                    url.query_pairs_mut().append_pair("wait", "true");
                }
                if let Some(thread) = &msg.thread {
                    url.query_pairs_mut().append_pair("thread_id", thread);
                }
                let request = match edit {
                    Some(_) => reach.client.patch(url),
                    None => reach.client.post(url),
                };
                Ok(Posting {
                    request,
                    bucket,
                    by_bot: false,
                })
            }
        }
    }

    /// The time the bucket still needs, if it is empty.
    fn wait_for(&self, bucket: &str) -> Option<Duration> {
        let now = Instant::now();
        let blocked = self.blocked.lock().ok()?;
        [bucket, GLOBAL]
            .iter()
            .filter_map(|b| blocked.get(*b))
            .filter(|until| **until > now)
            .max()
            .map(|until| *until - now)
    }

    fn block(&self, bucket: &str, wait: Duration) {
        if let Ok(mut blocked) = self.blocked.lock() {
            let until = Instant::now() + wait;
            blocked.retain(|_, u| *u > Instant::now());
            blocked.insert(bucket.to_string(), until);
        }
    }

    async fn execute(
        &self,
        bucket: &str,
        request: reqwest::RequestBuilder,
        body: &Value,
    ) -> Result<Receipt, ProviderError> {
        if let Some(wait) = self.wait_for(bucket) {
            return Err(ProviderError::RateLimited {
                reason: "discord: the rate-limit bucket is empty until it resets".into(),
                retry_after: Some(wait),
                http_status: None,
            });
        }
        let request = request
            .header(USER_AGENT, api::USER_AGENT)
            .header(CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body).unwrap_or_default());
        let answer = http::call(request).await?;
        self.note_limits(bucket, &answer);
        if !answer.status.is_success() {
            return Err(self.failure(bucket, &answer));
        }
        let message: Option<api::Message> = serde_json::from_slice(&answer.body).ok();
        Ok(Receipt {
            provider_message_id: message.map(|m| m.id),
            http_status: Some(answer.status.as_u16()),
            ..Receipt::default()
        })
    }

    /// An empty bucket (`X-RateLimit-Remaining: 0`) waits out
    /// `X-RateLimit-Reset-After` before the next call.
    fn note_limits(&self, bucket: &str, answer: &HttpAnswer) {
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        if header("x-ratelimit-remaining") == Some("0") {
            if let Some(secs) =
                header("x-ratelimit-reset-after").and_then(|v| v.parse::<f64>().ok())
            {
                self.block(bucket, seconds(secs));
            }
        }
    }

    fn failure(&self, bucket: &str, answer: &HttpAnswer) -> ProviderError {
        if answer.status.as_u16() == 429 {
            let limited: Option<api::RateLimited> = serde_json::from_slice(&answer.body).ok();
            let wait = limited
                .as_ref()
                .and_then(|l| l.retry_after)
                .map(seconds)
                .or_else(|| match answer.classify() {
                    ProviderError::RateLimited { retry_after, .. } => retry_after,
                    _ => None,
                })
                .unwrap_or(Duration::from_secs(1));
            let global = limited.is_some_and(|l| l.global);
            self.block(if global { GLOBAL } else { bucket }, wait);
            return ProviderError::RateLimited {
                reason: format!(
                    "discord: rate limited{}",
                    if global { " (global)" } else { "" }
                ),
                retry_after: Some(wait),
                http_status: Some(429),
            };
        }
        let error: Option<api::ApiError> = serde_json::from_slice(&answer.body).ok();
        let what = match &error {
            Some(api::ApiError {
                code: Some(code),
                message,
            }) => format!("{code} {}", message.as_deref().unwrap_or_default()),
            _ => answer.snippet(),
        };
        // 401: the token or webhook is wrong for every message. Other 4xx
        // (unknown channel, missing permission, invalid body) are this
        // message's and are not retried; 5xx are.
        let kind = match answer.status.as_u16() {
            401 => ErrorKind::Misconfigured,
            400..=499 => ErrorKind::Permanent,
            _ => http::kind_of_status(answer.status),
        };
        answer.error(
            kind,
            format!("discord: HTTP {}: {}", answer.status.as_u16(), what.trim()),
        )
    }

    pub fn inbound(&self, _req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        Err(crate::registry::no_callbacks(&self.name, KIND))
    }

    pub fn interaction(&self, req: &InboundRequest<'_>) -> Result<Interaction, InboundError> {
        let Some(key) = &self.public_key else {
            return Err(InboundError::NotConfigured(format!(
                "provider `{}` has no public_key (DISCORD_PUBLIC_KEY)",
                self.name
            )));
        };
        interactions::verify(key, req)?;
        interactions::read(req.body)
    }

    pub fn reply(&self, interaction: &Interaction, answer: &Answer) -> Reply {
        Reply::json(&response(interaction, answer))
    }

    /// A deferred command's answer, through the interaction's webhook
    /// (`PATCH /webhooks/{application}/{token}/messages/@original`).
    pub async fn follow_up(
        &self,
        interaction: &Interaction,
        answer: &Answer,
    ) -> Result<(), ProviderError> {
        let Interaction::Command {
            follow_up: Some(path),
            ..
        } = interaction
        else {
            return Ok(());
        };
        if matches!(answer, Answer::Deferred) {
            return Ok(());
        }
        let data = response(interaction, answer)["data"].clone();
        let url = format!("{}/webhooks/{path}/messages/@original", self.base);
        let request = self
            .reach
            .client
            .patch(url)
            .header(USER_AGENT, api::USER_AGENT)
            .header(CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&data).unwrap_or_default());
        let answer = http::call(request).await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(self.failure(path, &answer))
        }
    }

    /// Registers `/find` and `/boat-status` (bulk overwrite), globally or
    /// in one server.
    pub async fn register_commands(&self, guild: Option<&str>) -> Result<Value, ProviderError> {
        let (Some(token), Some(app)) = (&self.bot_token, &self.application_id) else {
            return Err(ProviderError::misconfigured(
                "registering commands needs DISCORD_BOT_TOKEN and DISCORD_APPLICATION_ID",
            ));
        };
        let url = match guild {
            Some(g) if !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{}/applications/{app}/guilds/{g}/commands", self.base)
            }
            Some(g) => {
                return Err(ProviderError::permanent(format!(
                    "`{g}` is not a Discord server id"
                )))
            }
            None => format!("{}/applications/{app}/commands", self.base),
        };
        let request = self
            .reach
            .client
            .put(url)
            .header(AUTHORIZATION, format!("Bot {}", token.expose()))
            .header(USER_AGENT, api::USER_AGENT)
            .header(CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&api::commands()).unwrap_or_default());
        let answer = http::call(request).await?;
        if !answer.status.is_success() {
            return Err(self.failure("commands", &answer));
        }
        serde_json::from_slice(&answer.body)
            .map_err(|e| ProviderError::retryable(format!("discord: unreadable answer: {e}")))
    }
}

fn seconds(secs: f64) -> Duration {
    Duration::from_secs_f64(secs.clamp(0.0, 3600.0))
}

fn hit_field(h: &foghorn_core::team::CatalogHit) -> Value {
    let mut value = match &h.link {
        Some(link) if link.starts_with("https://") || link.starts_with("http://") => {
            format!("[{}]({link})", h.boat)
        }
        _ => h.boat.clone(),
    };
    if let Some(kind) = &h.kind {
        value.push_str(&format!(" · {kind}"));
    }
    if let Some(exp) = &h.expires_on {
        value.push_str(&format!(" · expires {exp}"));
    }
    json!({"name": super::clip(&h.title, api::FIELD_NAME_MAX), "value": super::clip(&value, api::FIELD_VALUE_MAX), "inline": false})
}

/// The interaction response (interactions/receiving-and-responding.mdx).
fn response(interaction: &Interaction, answer: &Answer) -> Value {
    let ephemeral = |data: Value| {
        let mut data = data;
        data["flags"] = json!(api::EPHEMERAL);
        data["allowed_mentions"] = json!({"parse": []});
        json!({"type": api::CHANNEL_MESSAGE_WITH_SOURCE, "data": data})
    };
    match answer {
        Answer::Pong => json!({"type": api::PONG}),
        Answer::Deferred => {
            json!({"type": api::DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, "data": {"flags": api::EPHEMERAL}})
        }
        // Someone acknowledged it before: the message already says who; the
        // person who clicked is told, and nothing is redrawn.
        Answer::Acknowledged {
            first: false, by, ..
        } => ephemeral(
            json!({"content": super::clip(&format!("Already acknowledged by {by}."), api::CONTENT_MAX)}),
        ),
        Answer::Acknowledged { at_ms, .. } | Answer::Dismissed { at_ms, .. } => {
            let what = if matches!(answer, Answer::Acknowledged { .. }) {
                "Acknowledged"
            } else {
                "Dismissed"
            };
            match interaction {
                Interaction::Button {
                    actor, original, ..
                } => json!({
                    "type": api::UPDATE_MESSAGE,
                    "data": embed::settled(original.as_ref(), what, actor, *at_ms),
                }),
                _ => ephemeral(json!({"content": what})),
            }
        }
        Answer::Found { query, hits } => {
            let title = format!(
                "{} document{} match “{}”",
                hits.len(),
                if hits.len() == 1 { "" } else { "s" },
                query
            );
            let fields: Vec<Value> = hits.iter().take(api::FIELDS_MAX).map(hit_field).collect();
            ephemeral(json!({"embeds": [{
                "type": "rich",
                "title": super::clip(&title, api::TITLE_MAX),
                "color": api::BLURPLE,
                "fields": fields,
            }]}))
        }
        Answer::BoatStatus {
            boat,
            documents,
            expiring,
            open_alerts,
        } => {
            let list = |items: Vec<String>| {
                let text = items.join("\n");
                if text.is_empty() {
                    "none".to_string()
                } else {
                    super::clip(&text, api::FIELD_VALUE_MAX)
                }
            };
            let titles = |hits: &[foghorn_core::team::CatalogHit]| {
                hits.iter()
                    .take(10)
                    .map(|h| match &h.expires_on {
                        Some(e) => format!("{} (expires {e})", h.title),
                        None => h.title.clone(),
                    })
                    .collect::<Vec<_>>()
            };
            ephemeral(json!({"embeds": [{
                "type": "rich",
                "title": super::clip(&format!("Status of {boat}"), api::TITLE_MAX),
                "color": if open_alerts.is_empty() { api::GREEN } else { api::YELLOW },
                "fields": [
                    {"name": "Latest documents", "value": list(titles(documents)), "inline": false},
                    {"name": "Upcoming expiries", "value": list(titles(expiring)), "inline": false},
                    {"name": "Open alerts", "value": list(open_alerts.iter().take(10).map(|a| format!("{} `{}`", a.workflow, a.notification_id)).collect()), "inline": false},
                ],
            }]}))
        }
        Answer::Notice(text) => ephemeral(json!({"content": super::clip(text, api::CONTENT_MAX)})),
    }
}

impl ProviderKind for Discord {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Discord],
        failover_rank: Some(10),
        list_price: ListPrice::None,
        env: EnvVars {
            required: &[],
            one_of: &[
                &[("DISCORD_BOT_TOKEN", "bot_token")],
                &[("DISCORD_WEBHOOK_URL", "webhook_url")],
            ],
            optional: &[
                ("DISCORD_PUBLIC_KEY", "public_key"),
                ("DISCORD_APPLICATION_ID", "application_id"),
            ],
        },
        sender: None,
        callbacks: Callbacks::None,
        answers_keywords: false,
        pace_per_destination_ms: 0,
    };

    fn targets(config: &Config) -> Vec<Target<'_>> {
        let mut out = crate::registry::base_url(&config.base_url);
        if let Some(url) = &config.webhook_url {
            out.push(("webhook_url", url.expose(), crate::net_guard::Family::Http));
        }
        out
    }

    fn interaction(&self, req: &InboundRequest<'_>) -> Result<Interaction, InboundError> {
        Discord::interaction(self, req)
    }

    fn reply(&self, interaction: &Interaction, answer: &Answer) -> Reply {
        Discord::reply(self, interaction, answer)
    }

    fn follow_up<'a>(
        &'a self,
        interaction: &'a Interaction,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(Discord::follow_up(self, interaction, answer))
    }

    fn annotate<'a>(
        &'a self,
        msg: &'a Outbound,
        message_id: &'a str,
        note: &'a str,
        at_ms: i64,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(Discord::annotate(self, msg, message_id, note, at_ms))
    }

    fn build(name: &str, config: Config, ctx: &BuildContext<'_>) -> Result<Self, BuildError> {
        let (reach, tenant_reach) = Reach::both(ctx);
        Discord::new(name, config, reach, tenant_reach)
    }
}
