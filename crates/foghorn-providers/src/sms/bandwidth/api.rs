//! Bandwidth Messaging API v2 and its OAuth 2.0 token endpoint, as they are
//! on the wire.
//!
//! Facts relied on (Bandwidth "Messaging" API reference, "Webhooks" and
//! "Errors" pages; the official Bandwidth/node-sdk models `MessageRequest`,
//! `Message`, `CreateMessageRequestError`, `FieldError`, `StatusCallback`,
//! `InboundCallback` and their type enums):
//! - send: `POST {base}/api/v2/users/{accountId}/messages` with
//!   `Authorization: Bearer <access_token>` (below), JSON `{"applicationId",
//!   "to": [E.164…], "from", "text", "tag"}` — `to` is an array, numbers keep
//!   their `+`; `tag` (up to 1024 characters) is echoed in every callback;
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
//!
//! Authentication, as the official SDKs do it (Bandwidth/python-sdk
//! `bandwidth/configuration.py` `get_access_token`, Bandwidth/node-sdk
//! `configuration.ts` `accessToken`, Bandwidth/ruby-sdk
//! `lib/bandwidth-sdk/configuration.rb` `access_token_getter`; the OpenAPI
//! spec `bandwidth.yml` they are generated from declares the `OAuth2`
//! scheme as `clientCredentials` with `tokenUrl:
//! https://api.bandwidth.com/api/v1/oauth2/token`):
//! - token: `POST https://api.bandwidth.com/api/v1/oauth2/token`,
//!   `Authorization: Basic base64(client_id:client_secret)`, `Content-Type:
//!   application/x-www-form-urlencoded`, body exactly
//!   `grant_type=client_credentials`;
//! - the answer is JSON; the SDKs read `access_token` and `expires_in`
//!   (seconds) and send `Authorization: Bearer <access_token>` on the API
//!   call; a non-200 answer is a failure (ruby: "Failed to obtain access
//!   token");
//! - a token is reused while its expiry is more than 60 s away (python:
//!   `expiration > now + 60`, node and ruby alike), else a new one is
//!   fetched; node also keeps a token that came without an expiry;
//! - refused credentials are answered per RFC 6749 §5.2: 400 or 401 with
//!   `{"error": "invalid_client", "error_description"?}`;
//! - legacy API users (username/password, HTTP Basic) are fully
//!   decommissioned on 2 December 2026 and OAuth 2.0 client credentials are
//!   the only method after it (dev.bandwidth.com "Credential Management");
//!   the ruby SDK's v18 → v19 migration guide likewise removes Basic auth.

use foghorn_core::ErrorKind;
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

/// The token request's whole body, byte for byte as the SDKs send it.
pub const TOKEN_REQUEST_BODY: &str = "grant_type=client_credentials";

/// The token endpoint's success answer (RFC 6749 §5.1).
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub token_type: Option<String>,
    /// Seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// The token endpoint's error answer (RFC 6749 §5.2).
#[derive(Debug, Deserialize)]
pub struct TokenError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
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
pub(crate) fn class_of_validation(error: &ApiError) -> ErrorKind {
    let ours = |f: &FieldError| matches!(f.field_name.as_deref(), Some("from" | "applicationId"));
    if error.field_errors.iter().any(ours) {
        ErrorKind::Misconfigured
    } else {
        ErrorKind::Permanent
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
