//! Slack: incoming webhooks (`SLACK_WEBHOOK_URL`, or a step's `url`) and the
//! Web API with a bot token (`SLACK_BOT_TOKEN`: `chat.postMessage` to a
//! channel id, in the entity's thread, and `chat.update` once someone
//! acknowledged), and the app's signed interactions (`SLACK_SIGNING_SECRET`).

pub mod api;
pub mod blocks;
pub mod interactions;
#[cfg(test)]
mod tests;

use super::{card, webhook_target};
use crate::http::{self, Answer as HttpAnswer};
use crate::kinds::{Callbacks, EnvVars, ListPrice, Spec};
use crate::registry::{BuildContext, ProviderKind, Target};
use crate::webhook::Reach;
use crate::{net_guard, BuildError};
use api::ErrorClass;
use foghorn_core::team::{Answer, Interaction, Reply};
use foghorn_core::transport::BoxFuture;
use foghorn_core::{
    Address, Channel, ErrorKind, InboundError, InboundEvent, InboundRequest, Outbound,
    ProviderError, Receipt, Secret,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt;

pub const KIND: &str = "slack";

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// An incoming webhook (`https://hooks.slack.com/services/…`), for steps
    /// without a `url` or `destination` of their own.
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    /// `xoxb-…`: posts to a step's `destination` channel, in threads.
    #[serde(default)]
    pub bot_token: Option<Secret>,
    /// Verifies `POST /interactions/slack`.
    #[serde(default)]
    pub signing_secret: Option<Secret>,
    /// The Web API origin, `https://slack.com/api` unless set.
    #[serde(default)]
    pub base_url: Option<String>,
}

/// The webhook URL is a credential: only whether it is set is shown.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("webhook_url", &self.webhook_url.is_some())
            .field("bot_token", &self.bot_token.is_some())
            .field("signing_secret", &self.signing_secret.is_some())
            .field("base_url", &self.base_url)
            .finish()
    }
}

#[derive(Clone)]
pub struct Slack {
    name: String,
    webhook_url: Option<Url>,
    bot_token: Option<Secret>,
    signing_secret: Option<Secret>,
    base: String,
    reach: Reach,
    tenant_reach: Reach,
}

impl fmt::Debug for Slack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slack")
            .field("name", &self.name)
            .field("bot", &self.bot_token.is_some())
            .finish_non_exhaustive()
    }
}

impl Slack {
    pub fn new(
        name: &str,
        config: Config,
        reach: Reach,
        tenant_reach: Reach,
    ) -> Result<Self, BuildError> {
        let webhook_url = config
            .webhook_url
            .as_ref()
            .map(|u| net_guard::setting_url(name, "webhook_url", u.expose(), reach.allow_private))
            .transpose()?;
        let base = net_guard::base_url(
            name,
            config.base_url.as_deref().unwrap_or(api::DEFAULT_BASE_URL),
            reach.allow_private,
        )?
        .as_str()
        .trim_end_matches('/')
        .to_string();
        Ok(Slack {
            name: name.to_string(),
            webhook_url,
            bot_token: config.bot_token.filter(|t| !t.expose().trim().is_empty()),
            signing_secret: config
                .signing_secret
                .filter(|s| !s.expose().trim().is_empty()),
            base,
            reach,
            tenant_reach,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Slack
    }

    pub async fn send(&self, msg: &Outbound) -> Result<Receipt, ProviderError> {
        let card = card(msg);
        let blocks = blocks::draw(&card, &msg.notification_id);
        let text = super::clip(&card.fallback_text(), 4000);
        match &msg.to {
            Address::Channel(channel) => self.post_message(msg, channel, &text, &blocks).await,
            _ => self.post_webhook(msg, &text, &blocks).await,
        }
    }

    async fn post_webhook(
        &self,
        msg: &Outbound,
        text: &str,
        blocks: &[Value],
    ) -> Result<Receipt, ProviderError> {
        let (url, reach) = webhook_target(
            msg,
            self.webhook_url.as_ref(),
            &self.reach,
            &self.tenant_reach,
            "Slack webhook",
        )?;
        let body = api::WebhookBody { text, blocks };
        let request = reach
            .client
            .post(url)
            .header(CONTENT_TYPE, api::CONTENT_TYPE)
            .body(serde_json::to_vec(&body).unwrap_or_default());
        let answer = http::call(request).await?;
        if answer.status.is_success() {
            return Ok(Receipt {
                http_status: Some(answer.status.as_u16()),
                ..Receipt::default()
            });
        }
        Err(webhook_failure(&answer))
    }

    async fn post_message(
        &self,
        msg: &Outbound,
        channel: &str,
        text: &str,
        blocks: &[Value],
    ) -> Result<Receipt, ProviderError> {
        let body = api::PostMessage {
            channel,
            text,
            blocks,
            thread_ts: msg.thread.as_deref(),
        };
        let (answer, reply) = self.call(api::POST_MESSAGE, &body).await?;
        Ok(Receipt {
            // The thread of a first message is its own ts.
            thread: if msg.thread.is_none() {
                reply.ts.clone()
            } else {
                None
            },
            provider_message_id: reply.ts,
            http_status: Some(answer.status.as_u16()),
            ..Receipt::default()
        })
    }

    /// A Web API method with the bot token; an `ok: false` answer is the
    /// error it names.
    async fn call(
        &self,
        method: &str,
        body: &impl serde::Serialize,
    ) -> Result<(HttpAnswer, api::ApiAnswer), ProviderError> {
        let Some(token) = &self.bot_token else {
            return Err(ProviderError::misconfigured(format!(
                "provider `{}` has no bot_token (SLACK_BOT_TOKEN) for {method}",
                self.name
            )));
        };
        let request = self
            .reach
            .client
            .post(format!("{}/{method}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            .header(CONTENT_TYPE, api::CONTENT_TYPE)
            .body(serde_json::to_vec(body).unwrap_or_default());
        let answer = http::call(request).await?;
        if !answer.status.is_success() {
            return Err(answer.classify());
        }
        let reply: api::ApiAnswer = serde_json::from_slice(&answer.body).map_err(|e| {
            answer.error(
                ErrorKind::Retryable,
                format!("slack {method}: unreadable answer: {e}"),
            )
        })?;
        if reply.ok {
            if let Some(w) = &reply.warning {
                tracing::debug!(provider = %self.name, warning = %w, "slack warned");
            }
            return Ok((answer, reply));
        }
        let error = reply.error.unwrap_or_else(|| "unknown_error".into());
        let kind = match api::classify_error(&error) {
            ErrorClass::Permanent => ErrorKind::Permanent,
            ErrorClass::Misconfigured => ErrorKind::Misconfigured,
            ErrorClass::RateLimited => ErrorKind::RateLimited,
            ErrorClass::Retryable => ErrorKind::Retryable,
        };
        Err(answer.error(kind, format!("slack {method}: {error}")))
    }

    /// Receives no delivery callbacks: interactions come through
    /// [`Slack::interaction`].
    pub fn inbound(&self, _req: &InboundRequest<'_>) -> Result<Vec<InboundEvent>, InboundError> {
        Err(crate::registry::no_callbacks(&self.name, KIND))
    }

    pub fn interaction(&self, req: &InboundRequest<'_>) -> Result<Interaction, InboundError> {
        let Some(secret) = &self.signing_secret else {
            return Err(InboundError::NotConfigured(format!(
                "provider `{}` has no signing_secret (SLACK_SIGNING_SECRET)",
                self.name
            )));
        };
        interactions::verify(secret.expose(), req)?;
        interactions::read(req.body)
    }

    pub fn reply(&self, _interaction: &Interaction, answer: &Answer) -> Reply {
        match answer {
            // The click is answered by updating the message.
            Answer::Pong
            | Answer::Deferred
            | Answer::Acknowledged { .. }
            | Answer::Dismissed { .. } => Reply::empty(),
            other => Reply::json(&command_reply(other)),
        }
    }

    /// Redraws the clicked message without its buttons, saying who settled
    /// it (`chat.update`).
    pub async fn follow_up(
        &self,
        interaction: &Interaction,
        answer: &Answer,
    ) -> Result<(), ProviderError> {
        let Interaction::Button {
            actor,
            channel: Some(channel),
            message: Some(ts),
            original,
            ..
        } = interaction
        else {
            return Ok(());
        };
        let (what, at_ms) = match answer {
            // Someone acknowledged it before: the message already says who.
            Answer::Acknowledged { first: false, .. } => return Ok(()),
            Answer::Acknowledged { at_ms, .. } => ("Acknowledged", *at_ms),
            Answer::Dismissed { at_ms, .. } => ("Dismissed", *at_ms),
            _ => return Ok(()),
        };
        if self.bot_token.is_none() {
            return Ok(());
        }
        let blocks = blocks::settled(original.as_ref(), what, actor, at_ms);
        let text = blocks::settled_line(what, actor, at_ms);
        let body = api::Update {
            channel,
            ts,
            text: &text,
            blocks: &blocks,
        };
        self.call(api::UPDATE, &body).await.map(|_| ())
    }
}

impl Slack {
    /// Draws a posted message again from its card with `note` added as a
    /// last context line (its buttons stay: the team may still act).
    /// Only the Web API can update a message; through a webhook there is
    /// nothing to do.
    pub async fn annotate(
        &self,
        msg: &Outbound,
        ts: &str,
        note: &str,
        at_ms: i64,
    ) -> Result<(), ProviderError> {
        let (Address::Channel(channel), Some(_)) = (&msg.to, &self.bot_token) else {
            return Ok(());
        };
        let card = card(msg);
        let mut blocks = blocks::draw(&card, &msg.notification_id);
        let line = blocks::noted_line(note, at_ms);
        blocks.push(serde_json::json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": line}],
        }));
        let text = super::clip(&format!("{}\n{line}", card.fallback_text()), 4000);
        let body = api::Update {
            channel,
            ts,
            text: &text,
            blocks: &blocks,
        };
        self.call(api::UPDATE, &body).await.map(|_| ())
    }
}

/// Incoming webhooks answer plain text with the status. A 403 is the
/// channel's rule (`action_prohibited`), not a bad credential, unless it
/// says the token is wrong.
fn webhook_failure(answer: &HttpAnswer) -> ProviderError {
    let text = answer.text().trim().to_string();
    let kind = match answer.status.as_u16() {
        403 if text.contains("token") => ErrorKind::Misconfigured,
        403 | 410 => ErrorKind::Permanent,
        _ => http::kind_of_status(answer.status),
    };
    answer.error(
        kind,
        format!(
            "slack webhook: HTTP {}: {}",
            answer.status.as_u16(),
            answer.snippet()
        ),
    )
}

/// Slack's mrkdwn escaping, for catalog text in answers.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn hit_line(h: &foghorn_core::team::CatalogHit) -> String {
    let title = match &h.link {
        Some(link) if link.starts_with("https://") || link.starts_with("http://") => {
            format!(
                "<{}|{}>",
                escape(link).replace('|', "%7C"),
                escape(&h.title)
            )
        }
        _ => escape(&h.title),
    };
    let mut line = format!("*{title}* — {}", escape(&h.boat));
    if let Some(kind) = &h.kind {
        line.push_str(&format!(" · {}", escape(kind)));
    }
    if let Some(exp) = &h.expires_on {
        line.push_str(&format!(" · expires {}", escape(exp)));
    }
    line
}

/// A slash command's answer, shown only to whoever asked (ephemeral).
fn command_reply(answer: &Answer) -> Value {
    let section = |text: String| json!({"type": "section", "text": {"type": "mrkdwn", "text": super::clip(&text, 3000)}});
    let (text, blocks) = match answer {
        Answer::Found { query, hits } => {
            let head = format!(
                "{} document{} match _{}_",
                hits.len(),
                if hits.len() == 1 { "" } else { "s" },
                escape(query)
            );
            let mut blocks = vec![section(format!("*{head}*"))];
            blocks.extend(hits.iter().take(20).map(|h| section(hit_line(h))));
            (head, blocks)
        }
        Answer::BoatStatus {
            boat,
            documents,
            expiring,
            open_alerts,
        } => {
            let head = format!("Status of {}", escape(boat));
            let mut blocks = vec![
                json!({"type": "header", "text": {"type": "plain_text", "text": super::clip(&format!("Status of {boat}"), 150)}}),
            ];
            let list = |items: Vec<String>| {
                if items.is_empty() {
                    "none".to_string()
                } else {
                    items.join("\n")
                }
            };
            blocks.push(section(format!(
                "*Latest documents*\n{}",
                list(documents.iter().take(10).map(hit_line).collect())
            )));
            blocks.push(section(format!(
                "*Upcoming expiries*\n{}",
                list(expiring.iter().take(10).map(hit_line).collect())
            )));
            blocks.push(section(format!(
                "*Open alerts*\n{}",
                list(
                    open_alerts
                        .iter()
                        .take(10)
                        .map(|a| format!(
                            "`{}` {}",
                            escape(&a.workflow),
                            escape(&a.notification_id)
                        ))
                        .collect()
                )
            )));
            (head, blocks)
        }
        Answer::Notice(text) => (escape(text), vec![section(escape(text))]),
        _ => (String::new(), Vec::new()),
    };
    json!({"response_type": "ephemeral", "text": text, "blocks": blocks})
}

impl ProviderKind for Slack {
    type Config = Config;
    const SPEC: Spec = Spec {
        name: KIND,
        channels: &[Channel::Slack],
        failover_rank: Some(10),
        list_price: ListPrice::None,
        env: EnvVars {
            required: &[],
            one_of: &[
                &[("SLACK_BOT_TOKEN", "bot_token")],
                &[("SLACK_WEBHOOK_URL", "webhook_url")],
            ],
            optional: &[("SLACK_SIGNING_SECRET", "signing_secret")],
        },
        sender: None,
        callbacks: Callbacks::None,
        answers_keywords: false,
        pace_per_destination_ms: api::PACE_PER_CHANNEL_MS,
    };

    fn targets(config: &Config) -> Vec<Target<'_>> {
        let mut out = crate::registry::base_url(&config.base_url);
        if let Some(url) = &config.webhook_url {
            out.push(("webhook_url", url.expose(), crate::net_guard::Family::Http));
        }
        out
    }

    fn interaction(&self, req: &InboundRequest<'_>) -> Result<Interaction, InboundError> {
        Slack::interaction(self, req)
    }

    fn reply(&self, interaction: &Interaction, answer: &Answer) -> Reply {
        Slack::reply(self, interaction, answer)
    }

    fn follow_up<'a>(
        &'a self,
        interaction: &'a Interaction,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(Slack::follow_up(self, interaction, answer))
    }

    fn build(name: &str, config: Config, ctx: &BuildContext<'_>) -> Result<Self, BuildError> {
        let (reach, tenant_reach) = Reach::both(ctx);
        Slack::new(name, config, reach, tenant_reach)
    }

    fn annotate<'a>(
        &'a self,
        msg: &'a Outbound,
        message_id: &'a str,
        note: &'a str,
        at_ms: i64,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(Slack::annotate(self, msg, message_id, note, at_ms))
    }
}
