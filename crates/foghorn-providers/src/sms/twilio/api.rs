//! Twilio Programmable Messaging, as it is on the wire.
//!
//! Facts relied on (Twilio REST API reference, "Message resource" and
//! "Error and warning dictionary"; the twilio-python and twilio-node SDKs):
//! - create: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`,
//!   HTTP Basic auth with the Account SID and Auth Token, body
//!   `application/x-www-form-urlencoded` with `To`, `From` and/or
//!   `MessagingServiceSid` (one is required), `Body`, `StatusCallback`;
//! - success is `201 Created` with the Message resource as JSON: `sid`
//!   (`SM…`), `status` (`queued`/`accepted`…), `num_segments` (a string),
//!   `price` (null until priced, then negative, e.g. `"-0.00750"`),
//!   `price_unit`, `error_code`, `error_message`;
//! - failures carry `{"code", "message", "more_info", "status"}` where
//!   `code` is Twilio's error number: 20003 authentication, 20404 not found
//!   (wrong account or service), 20429 too many requests, 21211 invalid `To`,
//!   21212 invalid `From`, 21408 region not enabled, 21602 body required, 21604 `To` required,
//!   21606 `From` not valid for this account, 21608 trial account to an
//!   unverified number, 21610 recipient replied STOP, 21612 `To` not
//!   reachable by SMS, 21614 `To` not a mobile number, 21617 body too long,
//!   21659 `From` is not a Twilio number, 21266 `To` and `From` are the
//!   same; Twilio returns HTTP 429 when rate limited;
//! - WhatsApp goes through the same resource with `whatsapp:+E164`
//!   addresses; a template is `ContentSid` (`HX…`) with `ContentVariables`,
//!   a JSON string the SDK passes through (twilio-python
//!   `MessageList.create`); 63016 is "outside the messaging window, use a
//!   template", 63003 "channel could not find the To address".

use foghorn_core::ErrorKind;
use serde::{Deserialize, Serialize};

/// The form fields of a create-message request.
#[derive(Debug, Serialize)]
pub struct CreateMessage<'a> {
    #[serde(rename = "To")]
    pub to: &'a str,
    #[serde(rename = "From", skip_serializing_if = "Option::is_none")]
    pub from: Option<&'a str>,
    #[serde(
        rename = "MessagingServiceSid",
        skip_serializing_if = "Option::is_none"
    )]
    pub messaging_service_sid: Option<&'a str>,
    #[serde(rename = "Body", skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    /// WhatsApp: an approved Content API template (`HX…`) and its
    /// variables as a JSON string (`{"1": "…"}`), as twilio-python takes
    /// them (`content_sid`, `content_variables`).
    #[serde(rename = "ContentSid", skip_serializing_if = "Option::is_none")]
    pub content_sid: Option<&'a str>,
    #[serde(rename = "ContentVariables", skip_serializing_if = "Option::is_none")]
    pub content_variables: Option<String>,
    #[serde(rename = "StatusCallback", skip_serializing_if = "Option::is_none")]
    pub status_callback: Option<&'a str>,
}

/// The parts of the Message resource Foghorn reads.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub sid: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub price_unit: Option<String>,
    #[serde(default)]
    pub error_code: Option<i64>,
}

/// Twilio's error body.
#[derive(Debug, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub code: Option<u32>,
    #[serde(default)]
    pub message: Option<String>,
}

/// What a Twilio error code means for the engine; `None` leaves the decision
/// to the HTTP status.
pub(crate) fn class_of(code: u32) -> Option<ErrorKind> {
    Some(match code {
        20429 => ErrorKind::RateLimited,
        20500 | 20503 => ErrorKind::Retryable,
        // 21210: a call's `From` is not a verified caller id.
        20003 | 20404 | 21210 | 21212 | 21606 | 21659 => ErrorKind::Misconfigured,
        // Calls: 21215/21216 geographic permissions, 13223/13224 invalid number.
        13223 | 13224 | 21215 | 21216 => ErrorKind::Permanent,
        21211 | 21266 | 21408 | 21602 | 21604 | 21608 | 21610 | 21612 | 21614 | 21617 => {
            ErrorKind::Permanent
        }
        // WhatsApp: 63016 outside the 24-hour window (a template is
        // needed), 63003 the number is not on WhatsApp, 63024 an invalid
        // recipient; the step's fallback takes over.
        63003 | 63016 | 63024 => ErrorKind::Permanent,
        _ => return None,
    })
}
