//! MessageBird (Bird) legacy SMS REST API, as it is on the wire.
//!
//! Facts relied on (MessageBird "SMS Messaging API" reference; the official
//! messagebird/go-rest-api `sms` package, `client.go` and `error.go`, and
//! their test data):
//! - send: `POST {base}/messages`, header `Authorization: AccessKey {key}`,
//!   JSON body `{"originator", "body", "recipients": [msisdn…], "reference",
//!   "reportUrl", "datacoding"}`; the Go SDK sends recipients as strings of
//!   digits (MSISDNs, no `+`);
//! - `datacoding` is `plain` (GSM 03.38 only, the default), `unicode` or
//!   `auto`: left at `plain`, characters outside GSM-7 are lost;
//! - `originator` is a number (with country code) or an alphanumeric id;
//!   numbers are sent as MSISDNs like the recipients;
//! - success is `201 Created` with the message object: `id`, `reference`,
//!   `recipients: {"totalCount", "items": [{"recipient": 31612345678,
//!   "status": "sent", "statusDatetime", …}]}` — `recipient` is a number;
//! - failures are `{"errors": [{"code", "description", "parameter"}]}`
//!   with codes 2 request not allowed (incorrect access_key), 9 missing
//!   params, 10 invalid params, 20 not found, 21 bad request, 25 not enough
//!   balance, 98 API not found, 99 internal error; the SDK treats every
//!   status but 200/201/202/204 as an error and 500 as "unavailable".

use foghorn_core::ErrorKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMessage<'a> {
    pub originator: &'a str,
    pub body: &'a str,
    pub recipients: Vec<&'a str>,
    pub reference: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_url: Option<&'a str>,
    pub datacoding: &'static str,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct Errors {
    pub errors: Vec<ApiError>,
}

#[derive(Debug, Deserialize)]
pub struct ApiError {
    pub code: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameter: Option<String>,
}

/// What an error means for the engine: a wrong key, an empty balance, a
/// wrong endpoint or a refused originator fail every message alike.
pub(crate) fn class_of(error: &ApiError) -> ErrorKind {
    match error.code {
        2 | 25 | 98 => ErrorKind::Misconfigured,
        99 => ErrorKind::Retryable,
        _ if error.parameter.as_deref() == Some("originator") => ErrorKind::Misconfigured,
        _ => ErrorKind::Permanent,
    }
}
