//! Vonage SMS API (the former Nexmo `rest.nexmo.com`), as it is on the wire.
//!
//! Facts relied on (Vonage "SMS API reference", "Troubleshooting SMS" and
//! "API errors: SMS"; the vonage-python-sdk `sms` package and its test data):
//! - send: `POST {base}/sms/json`, body `application/x-www-form-urlencoded`
//!   with `from`, `to`, `text`, optional `type` (`text`, `unicode`, `binary`), `client-ref`
//!   (our reference, echoed in delivery receipts; at most 100 characters, 40
//!   in older documentation) and `callback` (the delivery-receipt URL for
//!   this message, at most 100 characters);
//! - credentials: `Authorization: Basic base64(api_key:api_secret)`, never
//!   in the body. vonage-python-sdk's `Sms` client sends with auth type
//!   `basic` (unless a signature secret is set) and data type `form`; its
//!   HTTP client then sets the `Authorization` header and adds no
//!   `api_key`/`api_secret` parameters (those are only added for auth type
//!   `body`). vonage-node-sdk's `@vonage/sms` likewise sets its auth type to
//!   `BASIC`. Keeping the secret out of the body keeps it out of any log of
//!   request bodies;
//! - numbers are E.164 *without* the leading `+` (the SDK documents `from`
//!   that way and every example `to` is digits only);
//! - the answer is `200` even when sending failed:
//!   `{"message-count": "1", "messages": [{"to", "message-id", "status",
//!   "remaining-balance", "message-price", "network", "client-ref"}]}`, one
//!   entry per part of a long message, all values strings; a non-`"0"`
//!   `status` is a failure described by `error-text`;
//! - the status codes: 1 throttled, 2 missing parameters, 3 invalid
//!   parameters, 4 invalid credentials, 5 internal error, 6 invalid message
//!   (e.g. unroutable prefix), 7 number barred, 8 partner account barred,
//!   9 partner quota violation (no credit), 10 too many existing binds,
//!   11 account not enabled for HTTP, 12 message too long, 14 invalid
//!   signature, 15 invalid sender address, 22 invalid network code,
//!   23 invalid callback URL, 29 non-whitelisted destination, 32 signature
//!   and API secret disallowed, 33 number de-activated;
//! - prices are in the account's currency, which the answer does not name
//!   (EUR for accounts unless Vonage set another).

use foghorn_core::ErrorKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct SendSms<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub text: &'a str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(rename = "client-ref", skip_serializing_if = "Option::is_none")]
    pub client_ref: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub struct SendAnswer {
    #[serde(rename = "message-count", default)]
    pub message_count: Option<String>,
    #[serde(default)]
    pub messages: Vec<Part>,
}

/// One part of the message as Vonage accepted (or refused) it.
#[derive(Debug, Deserialize)]
pub struct Part {
    pub status: String,
    #[serde(rename = "message-id", default)]
    pub message_id: Option<String>,
    #[serde(rename = "message-price", default)]
    pub message_price: Option<String>,
    #[serde(rename = "error-text", default)]
    pub error_text: Option<String>,
}

/// Longest `client-ref` and `callback` the API takes.
pub const MAX_CLIENT_REF: usize = 100;
pub const MAX_CALLBACK: usize = 100;

/// What a non-zero `status` means for the engine.
pub(crate) fn class_of(status: &str) -> ErrorKind {
    match status {
        "1" => ErrorKind::RateLimited,
        "5" | "10" => ErrorKind::Retryable,
        "4" | "8" | "9" | "11" | "14" | "15" | "23" | "32" => ErrorKind::Misconfigured,
        // 2, 3, 6, 7, 12, 22, 29, 33 and anything new: this message, this
        // recipient.
        _ => ErrorKind::Permanent,
    }
}
