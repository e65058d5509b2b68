//! Bandwidth Messaging API v2, as it is on the wire.
//!
//! Facts relied on (Bandwidth "Messaging" API reference, "Webhooks" and
//! "Errors" pages; the official Bandwidth/node-sdk models `MessageRequest`,
//! `Message`, `CreateMessageRequestError`, `FieldError`, `StatusCallback`,
//! `InboundCallback` and their type enums):
//! - send: `POST {base}/api/v2/users/{accountId}/messages`, HTTP Basic auth
//!   (API username and password), JSON `{"applicationId", "to": [E.164…],
//!   "from", "text", "tag"}` — `to` is an array, numbers keep their `+`;
//!   `tag` (up to 1024 characters) is echoed in every callback;
//! - success is `202 Accepted` with the message: `id`, `owner`,
//!   `applicationId`, `time`, `segmentCount`, `direction` (`out`), `to`,
//!   `from`, `text`, `tag`;
//! - failures: 400 `{"type": "request-validation", "description",
//!   "fieldErrors": [{"fieldName", "description"}]}`, 401
//!   `{"type": "unauthorized", …}`, 403 `{"type": "forbidden", …}`, 404 when
//!   the path (account) is wrong, 415, 429 `Too Many Requests`; 4xx and 5xx
//!   are neither sent nor billed;
//! - there is no per-message callback URL: callbacks go to the URL set on the
//!   messaging application, protected by the HTTP Basic credentials set there.

use crate::sms::Class;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRequest<'a> {
    pub application_id: &'a str,
    pub to: Vec<&'a str>,
    pub from: &'a str,
    pub text: &'a str,
    pub tag: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    #[serde(default)]
    pub segment_count: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub field_errors: Vec<FieldError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    #[serde(default)]
    pub field_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A validation error about our own settings fails every message alike.
pub(crate) fn class_of_validation(error: &ApiError) -> Class {
    let ours = |f: &FieldError| matches!(f.field_name.as_deref(), Some("from" | "applicationId"));
    if error.field_errors.iter().any(ours) {
        Class::Misconfigured
    } else {
        Class::Permanent
    }
}

/// One callback event; callbacks are posted as a JSON array of these.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    #[serde(rename = "type")]
    pub kind: String,
    /// The recipient of an outbound message; our number for an inbound one.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub error_code: Option<serde_json::Value>,
    pub message: CallbackMessage,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackMessage {
    pub id: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}
