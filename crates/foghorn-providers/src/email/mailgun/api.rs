//! Mailgun's wire format: the send form and its answer, and the webhook body.
//!
//! Facts relied on (Mailgun API reference "Messages → Send an email",
//! documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages;
//! user manual "Sending via HTTP", "Tags", "Webhooks → Securing Webhooks" and
//! "Webhook Payloads"; SDKs mailgun/mailgun.js `lib/Classes/Messages.ts`,
//! `lib/Classes/common/FormDataBuilder.ts`, `lib/Types/Messages/Messages.ts`
//! and mailgun/mailgun-python `mailgun/builders.py`, `mailgun/security.py`):
//!
//! - `POST /v3/{domain_name}/messages` on `https://api.mailgun.net` (US) or
//!   `https://api.eu.mailgun.net` (EU), HTTP Basic auth user `api`, password
//!   the API key.
//! - The request body is documented as `multipart/form-data`; mailgun.js
//!   sends exactly that (a FormData, one part per field, a repeated field
//!   once per value). mailgun-python's urlencoded posts are accepted too, but
//!   this client follows the reference and the JS SDK.
//! - Fields: `from`, `to`, `subject`, `text`, `html`; `o:tag` repeated, at
//!   most 3 tags per message, ASCII, 128 characters each; `h:NAME` adds a
//!   MIME header (the manual's own example is `h:Reply-To`); `v:NAME` attaches
//!   custom data that webhooks echo back under `event-data.user-variables`
//!   (the older `h:X-Mailgun-Variables` JSON header lands in the same place;
//!   `v:` is what both SDKs' builders emit).
//!   All `o:`/`h:`/`v:`/`t:` options together may not exceed 16 KB.
//! - Success is `200` with `{"id": "<…@domain>", "message": "Queued. Thank
//!   you."}`: the id in angle brackets, whereas webhooks report
//!   `event-data.message.headers.message-id` without them.
//! - Errors: 400 carries `{"message": "…"}`; 401/403 a bad key; 404 an
//!   unknown sending domain (or the wrong region); 429 rate limiting; 5xx
//!   Mailgun's side. An unknown API path answers `200` with a "Mailgun
//!   Magnificent API" page rather than a 404, so a 200 without an `id` means
//!   the base URL is wrong, not that the message was queued.
//! - Webhooks POST JSON `{"signature": {"timestamp", "token", "signature",
//!   "parent-signature"?}, "event-data": {…}}`; `signature` is the lower-case
//!   hex HMAC-SHA256 of `timestamp` immediately followed by `token`, keyed
//!   with the HTTP webhook signing key; `parent-signature` is the same made
//!   with the primary account's key, for subaccount domains.
//! - Event data: `event` (`accepted`, `delivered`, `failed` with `severity`
//!   `permanent`/`temporary`, `opened`, `clicked`, `unsubscribed`,
//!   `complained`), `id`, `recipient`, `reason`, `user-variables`,
//!   `message.headers.message-id`, `delivery-status.{code, message,
//!   description}` (`code` is a number, e.g. 550).

use crate::email::EmailParts;
use reqwest::multipart::Form;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Mailgun's per-message tag limits (manual, "Tags").
pub const MAX_TAGS: usize = 3;
pub const MAX_TAG_CHARS: usize = 128;
/// The custom variable carrying our notification id; webhooks return it as
/// `event-data.user-variables.notification_id`.
pub const NOTIFICATION_VAR: &str = "notification_id";

/// The send form, fields in the reference's order. Empty bodies are left
/// out rather than sent empty.
pub fn message_form(parts: &EmailParts<'_>, tags: &[&str], notification_id: &str) -> Form {
    let mut form = Form::new()
        .text("from", parts.from.to_string())
        .text("to", parts.to.to_string())
        .text("subject", parts.subject.to_string());
    if let Some(text) = parts.text {
        form = form.text("text", text.to_string());
    }
    if let Some(html) = parts.html {
        form = form.text("html", html.to_string());
    }
    for tag in tags {
        form = form.text("o:tag", tag.to_string());
    }
    if let Some(reply_to) = &parts.reply_to {
        form = form.text("h:Reply-To", reply_to.to_string());
    }
    for (name, value) in &parts.headers {
        form = form.text(format!("h:{name}"), value.to_string());
    }
    form.text(format!("v:{NOTIFICATION_VAR}"), notification_id.to_string())
}

/// The `200` answer to a send.
#[derive(Debug, Deserialize)]
pub struct SendResponse {
    pub id: String,
}

/// A webhook body, loosely: the signature must be read before anything in
/// `event-data` is trusted, so `event-data` stays raw until then.
#[derive(Debug, Deserialize)]
pub struct WebhookBody {
    pub signature: Option<WebhookSignature>,
    #[serde(rename = "event-data")]
    pub event_data: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct WebhookSignature {
    /// Documented as a string of unix seconds; a number is accepted too.
    pub timestamp: Value,
    pub token: String,
    pub signature: String,
    #[serde(rename = "parent-signature", default)]
    pub parent_signature: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub event: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(rename = "user-variables", default)]
    pub user_variables: Map<String, Value>,
    #[serde(default)]
    pub message: Option<EventMessage>,
    #[serde(rename = "delivery-status", default)]
    pub delivery_status: Option<DeliveryStatus>,
}

#[derive(Debug, Deserialize)]
pub struct EventMessage {
    #[serde(default)]
    pub headers: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct DeliveryStatus {
    #[serde(default)]
    pub code: Option<Value>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}
