//! Meta's WhatsApp Cloud API, as it is on the wire.
//!
//! Facts relied on (Meta's OpenAPI description of the Business Messaging
//! API, `facebook/openapi` `business-messaging-api_v23.0.yaml`, and the
//! WhatsApp Node.js SDK's `messages.ts`/`requester.ts`; Meta's "Error
//! codes" page):
//! - send: `POST https://graph.facebook.com/{version}/{phone-number-id}/messages`,
//!   `Authorization: Bearer <token>`, JSON in the SDK's order:
//!   `messaging_product: "whatsapp"`, `recipient_type: "individual"`, `to`
//!   (the SDK sends the number's digits, no `+`), `type`, then the payload
//!   under the type's name: `template: {name, language: {code}, components:
//!   [{type: "body", parameters: [{type: "text", text}]}]}` or `text: {body,
//!   preview_url}`;
//! - success: `{"messaging_product", "contacts": [{"input", "wa_id"}]
//!   (not always present), "messages": [{"id": "wamid…", "message_status"?}]}`;
//! - failure: `{"error": {"message", "type", "code", "error_data":
//!   {"messaging_product", "details"}, "fbtrace_id"}}`; Meta says to act on
//!   `code`, not on the HTTP status (throttling comes as 400 or 429):
//!   131047 re-engagement (more than 24 hours since the person wrote: only a
//!   template may go), 131026 undeliverable (not on WhatsApp), 130429
//!   throughput reached (80 messages a second per number by default), 131056
//!   pair rate limit, 131048 spam rate limit, 80007 and 4 rate limits, 190
//!   access token expired, 0/10/200–299 permissions, 368 and 131031 account
//!   blocked or locked, 100/131008/131009 invalid parameters, 132000–132015
//!   template problems, 131000/131016/1/2 transient;
//! - the Graph API's latest version is v26.0 (29 July 2026).

use foghorn_core::ErrorKind;
use serde::{Deserialize, Serialize};

pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
pub const DEFAULT_API_VERSION: &str = "v26.0";

#[derive(Debug, Serialize)]
pub struct SendMessage<'a> {
    pub messaging_product: &'static str,
    pub recipient_type: &'static str,
    pub to: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Template<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Text<'a>>,
}

#[derive(Debug, Serialize)]
pub struct Template<'a> {
    pub name: &'a str,
    pub language: Language<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component<'a>>,
}

#[derive(Debug, Serialize)]
pub struct Language<'a> {
    pub code: &'a str,
}

#[derive(Debug, Serialize)]
pub struct Component<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub parameters: Vec<Parameter<'a>>,
}

#[derive(Debug, Serialize)]
pub struct Parameter<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: &'a str,
}

#[derive(Debug, Serialize)]
pub struct Text<'a> {
    pub body: &'a str,
    pub preview_url: bool,
}

#[derive(Debug, Deserialize)]
pub struct Sent {
    #[serde(default)]
    pub messages: Vec<SentMessage>,
}

#[derive(Debug, Deserialize)]
pub struct SentMessage {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub error: GraphError,
}

#[derive(Debug, Deserialize)]
pub struct GraphError {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
}

/// What an error code means for the engine; None leaves it to the status.
pub fn class_of(code: i64) -> Option<ErrorKind> {
    Some(match code {
        4 | 80007 | 130429 | 131048 | 131056 => ErrorKind::RateLimited,
        0 | 10 | 190 | 200..=299 | 368 | 131031 => ErrorKind::Misconfigured,
        // 131047: outside the 24-hour window, 131026: not on WhatsApp; both
        // final for this message, and a step's fallback (SMS) takes over.
        100 | 131008 | 131009 | 131021 | 131026 | 131047 | 131051 | 132000..=132015 => {
            ErrorKind::Permanent
        }
        1 | 2 | 131000 | 131016 => ErrorKind::Retryable,
        _ => return None,
    })
}

/// The media lookup's answer (`file_size` is a string).
#[derive(Debug, Deserialize)]
pub struct MediaUrl {
    pub url: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub file_size: Option<String>,
}
