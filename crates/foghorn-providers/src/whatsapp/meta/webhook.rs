//! Meta's webhooks for WhatsApp: the subscription handshake and the signed
//! notifications of message statuses.
//!
//! Facts relied on (Meta's webhook reference and the OpenAPI
//! `WebhookPayload`; the WhatsApp Node.js SDK's `webhooks.ts`):
//! - verification is a `GET` with `hub.mode=subscribe`, `hub.verify_token`
//!   (the token set in the app's dashboard) and `hub.challenge`, answered
//!   200 with the challenge as the body; anything else 401;
//! - notifications are `POST`s signed `X-Hub-Signature-256: sha256=` + hex
//!   HMAC-SHA256 of the raw body with the app secret (no timestamp: a
//!   replay is recognised by its status's id, `{wamid}:{status}`);
//! - the body: `{"object": "whatsapp_business_account", "entry": [{"id",
//!   "changes": [{"field": "messages", "value": {"metadata":
//!   {"display_phone_number", "phone_number_id"}, "statuses": [{"id",
//!   "status": sent|delivered|read|failed, "timestamp", "recipient_id",
//!   "pricing": {"billable", "pricing_model", "category"}, "errors":
//!   [{"code", "title"}]}], "messages": […]}}]}]}`.

use crate::signature::{constant_time_eq, hex, hmac_sha256, param, query_params};
use foghorn_core::{DeliveryState, InboundError, InboundEvent, Reply};
use serde::Deserialize;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Answers the subscription handshake when the token matches.
pub fn handshake(url: &str, verify_token: &str) -> Result<Reply, InboundError> {
    let q = query_params(url);
    if param(&q, "hub.mode") != Some("subscribe") {
        return Err(InboundError::Malformed("hub.mode is not subscribe".into()));
    }
    let given = param(&q, "hub.verify_token").unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), verify_token.as_bytes()) {
        return Err(InboundError::Unauthorized(
            "hub.verify_token does not match".into(),
        ));
    }
    let challenge = param(&q, "hub.challenge").unwrap_or_default();
    Ok(Reply {
        status: 200,
        content_type: "text/plain",
        body: challenge.as_bytes().to_vec(),
    })
}

/// Checks `X-Hub-Signature-256` over the raw body.
pub fn verify(app_secret: &str, body: &[u8], header: Option<&str>) -> Result<(), InboundError> {
    let given = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .ok_or_else(|| InboundError::Unauthorized("missing X-Hub-Signature-256".into()))?;
    let expected = hex(&hmac_sha256(app_secret.as_bytes(), body)?);
    if constant_time_eq(expected.as_bytes(), given.to_ascii_lowercase().as_bytes()) {
        Ok(())
    } else {
        Err(InboundError::Unauthorized(
            "X-Hub-Signature-256 does not match".into(),
        ))
    }
}

#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    #[serde(default)]
    value: Value,
}

#[derive(Debug, Default, Deserialize)]
struct Value {
    #[serde(default)]
    statuses: Vec<StatusItem>,
}

#[derive(Debug, Deserialize)]
struct StatusItem {
    id: String,
    status: String,
    #[serde(default)]
    recipient_id: Option<String>,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Debug, Deserialize)]
struct StatusError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
}

/// The statuses a verified notification reports.
pub fn events(body: &[u8]) -> Result<Vec<InboundEvent>, InboundError> {
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(format!("not a WhatsApp webhook: {e}")))?;
    let mut out = Vec::new();
    for status in payload
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .flat_map(|c| c.value.statuses)
    {
        let state = match status.status.as_str() {
            "sent" => DeliveryState::Sent,
            "delivered" => DeliveryState::Delivered,
            "read" => DeliveryState::Read,
            "failed" => DeliveryState::Failed,
            _ => continue,
        };
        let error = status.errors.first();
        out.push(InboundEvent::Status {
            event_id: Some(format!("{}:{}", status.id, status.status)),
            provider_message_id: Some(status.id),
            notification_id: None,
            state,
            error_code: error.and_then(|e| e.code).map(|c| c.to_string()),
            detail: error.and_then(|e| e.title.clone()),
            recipient: status.recipient_id.map(|r| format!("+{r}")),
            price: None,
        });
    }
    Ok(out)
}
