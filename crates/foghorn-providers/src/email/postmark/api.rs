//! Postmark's wire format: the Email API body and answers, its error codes,
//! and the webhook records.
//!
//! Facts relied on (Postmark developer docs "API overview" — endpoint,
//! authentication, HTTP response codes and "API error codes" —, "Email API →
//! Send a single email", "Webhooks" overview and the Delivery, Bounce, Spam
//! complaint, Open, Click and Subscription change webhook pages; SDK
//! ActiveCampaign/postmark.js `src/client/BaseClient.ts`,
//! `src/client/ServerClient.ts`, `src/client/models/message/Message.ts`,
//! `src/client/models/message/SupportingTypes.ts`,
//! `src/client/errors/ErrorHandler.ts`, `src/client/errors/Errors.ts`,
//! `src/client/models/bounces/Bounce.ts` and
//! `src/client/models/webhooks/payload/*.ts`):
//!
//! - `POST https://api.postmarkapp.com/email` with headers
//!   `X-Postmark-Server-Token`, `Accept: application/json` and
//!   `Content-Type: application/json` (the headers postmark.js sends).
//! - Body: `From`, `To` (both accept `Name <address>`), `Subject`,
//!   `HtmlBody`, `TextBody`, `ReplyTo`, `Tag` (one string, at most 1000
//!   characters), `Headers` as `[{Name, Value}]`, `Metadata` (string values,
//!   echoed by webhooks), `MessageStream` (defaults to `outbound`),
//!   `TrackOpens`/`TrackLinks` (left unset: the server's settings apply).
//! - Success: `200 {"To", "SubmittedAt", "MessageID", "ErrorCode": 0,
//!   "Message": "OK"}`.
//! - HTTP codes: 401 missing or wrong token, 404 no such entity, 413 payload
//!   too large (10 MB), 422 with `{"ErrorCode": n, "Message": "…"}`, 429 rate
//!   limit, 500 internal error, 503 service unavailable.
//! - ErrorCodes: 10 bad or missing API token, 100 maintenance, 300 invalid
//!   email request, 400 sender signature not found, 401 sender signature not
//!   confirmed, 402 invalid JSON, 403 incompatible JSON, 405 not allowed to
//!   send (out of credits), 406 inactive recipient, 409 JSON required, 411
//!   forbidden attachment type, 412 account pending, 413 account may not
//!   send, 429 rate limit exceeded, 1226 message stream not found.
//! - Webhooks POST one JSON record per call, told apart by `RecordType`
//!   (`Delivery`, `Bounce`, `SpamComplaint`, `Open`, `Click`,
//!   `SubscriptionChange`), each with `MessageID`, `Metadata` and the
//!   recipient (`Recipient`, or `Email` on bounces and complaints); bounces
//!   and complaints have a numeric `ID`, a `Type` (HardBounce, SoftBounce,
//!   Transient, …), `Inactive` (Postmark deactivated the address),
//!   `Description`, `Details`. Webhook URLs may embed Basic-auth credentials
//!   (`https://user:pass@host/path`), which Postmark sends as an
//!   `Authorization: Basic` header; there is no signature or timestamp.

use foghorn_core::ErrorKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const MAX_TAG_CHARS: usize = 1000;
pub const NOTIFICATION_KEY: &str = "notification_id";

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Email<'a> {
    pub from: String,
    pub to: &'a str,
    pub subject: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html_body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Header<'a>>,
    pub metadata: BTreeMap<&'a str, &'a str>,
    pub message_stream: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Header<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// The success answer, and the error answers' body (`ErrorCode`, `Message`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Answer {
    #[serde(rename = "MessageID", default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
}

/// What an ErrorCode means for the engine: token, sender signature,
/// account or stream errors fail every message; most others only this one.
pub fn code_class(code: i64) -> ErrorKind {
    match code {
        10 | 400 | 401 | 405 | 412 | 413 | 1226 => ErrorKind::Misconfigured,
        429 => ErrorKind::RateLimited,
        100 => ErrorKind::Retryable,
        _ => ErrorKind::Permanent,
    }
}

/// One webhook record; the fields differ per `RecordType`, so the few that
/// are read are all optional.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    pub record_type: String,
    #[serde(rename = "ID", default)]
    pub id: Option<Value>,
    #[serde(rename = "MessageID", default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(rename = "Type", default)]
    pub bounce_type: Option<String>,
    #[serde(default)]
    pub inactive: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub received_at: Option<String>,
    #[serde(default)]
    pub changed_at: Option<String>,
    #[serde(default)]
    pub original_link: Option<String>,
    #[serde(default)]
    pub suppress_sending: Option<bool>,
    #[serde(default)]
    pub suppression_reason: Option<String>,
}
