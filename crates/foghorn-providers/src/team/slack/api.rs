//! Slack's wire format, as the official `slack_sdk` (python-slack-sdk)
//! sends and reads it:
//!
//! - Incoming webhooks (`slack_sdk/webhook/client.py`): `POST` of the JSON
//!   body with `Content-Type: application/json;charset=utf-8`; keys without
//!   a value are left out (`_build_body`); `blocks` is a JSON array. Slack
//!   answers plain text: 200 `ok`; 400 `invalid_payload`/`user_not_found`,
//!   403 `action_prohibited`, 404 `channel_not_found`, 410
//!   `channel_is_archived`, 500 `rollup_error` (Slack changelog
//!   2016-05-17, "changes to errors for incoming webhooks"); 429 with
//!   `Retry-After` in seconds.
//! - Web API (`slack_sdk/web/client.py`): `chat_postMessage` and
//!   `chat_update` call `api_call(…, json=kwargs)`, so the body is JSON with
//!   the same content type and `Authorization: Bearer xoxb-…`, at
//!   `https://slack.com/api/chat.postMessage` and `…/chat.update`. Failures
//!   are HTTP 200 with `{"ok": false, "error": "…"}` (`SlackResponse.validate`
//!   accepts only 200 with `ok`), except 429 `ratelimited` with `Retry-After`.
//! - Posting is rated about one message per second per channel (Web API
//!   tier "special", docs.slack.dev/apis/web-api/rate-limits).

use serde::{Deserialize, Serialize};

/// A message per second per channel, measured from the last answer.
pub const PACE_PER_CHANNEL_MS: u32 = 1_000;
pub const DEFAULT_BASE_URL: &str = "https://slack.com/api";
pub const CONTENT_TYPE: &str = "application/json;charset=utf-8";
pub const POST_MESSAGE: &str = "chat.postMessage";
pub const UPDATE: &str = "chat.update";

/// An incoming webhook's body (and a `response_url`'s).
#[derive(Debug, Serialize)]
pub struct WebhookBody<'a> {
    pub text: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub blocks: &'a [serde_json::Value],
}

/// `chat.postMessage`'s arguments.
#[derive(Debug, Serialize)]
pub struct PostMessage<'a> {
    pub channel: &'a str,
    /// The notification and accessibility fallback of the blocks.
    pub text: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub blocks: &'a [serde_json::Value],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<&'a str>,
}

/// `chat.update`'s arguments.
#[derive(Debug, Serialize)]
pub struct Update<'a> {
    pub channel: &'a str,
    pub ts: &'a str,
    pub text: &'a str,
    pub blocks: &'a [serde_json::Value],
}

/// Every Web API answer: `{"ok":true,"channel":"C…","ts":"1503435956.000247",…}`
/// or `{"ok":false,"error":"channel_not_found"}`.
#[derive(Debug, Deserialize)]
pub struct ApiAnswer {
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub ts: Option<String>,
    #[serde(default)]
    pub warning: Option<String>,
}

/// What a Web API error means for the message, by Slack's error names
/// (the method pages' error tables, e.g. docs.slack.dev/reference/methods/chat.postMessage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// This message will never go to this destination.
    Permanent,
    /// The token or app is wrong: every message fails alike.
    Misconfigured,
    /// Slow down (`Retry-After`).
    RateLimited,
    /// Slack's own trouble.
    Retryable,
}

pub fn classify_error(error: &str) -> ErrorClass {
    match error {
        "invalid_auth"
        | "not_authed"
        | "account_inactive"
        | "token_revoked"
        | "token_expired"
        | "missing_scope"
        | "no_permission"
        | "not_allowed_token_type"
        | "ekm_access_denied"
        | "team_access_not_granted" => ErrorClass::Misconfigured,
        "ratelimited" | "rate_limited" => ErrorClass::RateLimited,
        "fatal_error" | "internal_error" | "service_unavailable" | "request_timeout" => {
            ErrorClass::Retryable
        }
        // channel_not_found, is_archived, not_in_channel, msg_too_long,
        // no_text, invalid_blocks, restricted_action…: and anything new,
        // which is no reason to retry a refused message.
        _ => ErrorClass::Permanent,
    }
}
