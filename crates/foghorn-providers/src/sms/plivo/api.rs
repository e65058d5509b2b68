//! Plivo Messaging API, as it is on the wire.
//!
//! Facts relied on (Plivo "Message" API reference and "Message status
//! callbacks"; the official plivo-python `Messages.create`, client and test
//! fixtures):
//! - send: `POST {base}/v1/Account/{auth_id}/Message/`, HTTP Basic auth
//!   (Auth ID, Auth Token), JSON body `{"src", "dst", "text", "type": "sms",
//!   "url", "method"}` — `url`/`method` name the status callback;
//! - `dst` is E.164 digits as in the documentation's examples (`14156667777`,
//!   several joined by `<`), so the `+` is dropped; `src` is a Plivo number
//!   (written the same way) or a sender id;
//! - success is `202 Accepted`: `{"message": "message(s) queued",
//!   "message_uuid": ["…"], "api_id": "…"}`;
//! - failures are `{"api_id", "error"}` and are told apart by HTTP status
//!   (400 validation, 401 authentication, 402 payment, 403, 404, 405, 429,
//!   5xx).

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct SendMessage<'a> {
    pub src: &'a str,
    pub dst: &'a str,
    pub text: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct Queued {
    #[serde(default)]
    pub message_uuid: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}
