//! Bandwidth's callbacks: HTTP Basic authentication and the event array.
//!
//! Facts relied on (Bandwidth "Webhooks" and "Applications" docs, node-sdk
//! callback models):
//! - every callback is a POST of a JSON array, each element with `type`,
//!   `time`, `to`, `description`, `message` (`id`, `owner`, `applicationId`,
//!   `time`, `segmentCount`, `direction`, `to`, `from`, `text`, `tag`, …)
//!   and, for failures, a numeric `errorCode`;
//! - status types: `message-sending`, `message-sent`, `message-delivered`,
//!   `message-failed`, `message-read`; inbound: `message-received`;
//! - callbacks are authenticated only by the Basic credentials configured on
//!   the application: no signature, no timestamp. Bandwidth delivers "at
//!   least once" and retries for 24 hours, so duplicates are expected;
//!   the event id (`{message id}:{type}`) is what de-duplicates them, replays
//!   included.

use super::api::Callback;
use crate::signature::constant_time_eq;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use foghorn_core::{DeliveryState, InboundError, InboundEvent};

/// Checks `Authorization: Basic …` against the configured credentials, in
/// constant time over the whole `user:password`.
pub fn check_basic(
    header: Option<&str>,
    username: &str,
    password: &str,
) -> Result<(), InboundError> {
    let header =
        header.ok_or_else(|| InboundError::Unauthorized("missing Basic credentials".into()))?;
    let (scheme, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| InboundError::Unauthorized("malformed Authorization header".into()))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(InboundError::Unauthorized(
            "Authorization is not Basic".into(),
        ));
    }
    let decoded = B64
        .decode(encoded.trim())
        .map_err(|_| InboundError::Unauthorized("Basic credentials are not base64".into()))?;
    let expected = format!("{username}:{password}");
    if constant_time_eq(&decoded, expected.as_bytes()) {
        Ok(())
    } else {
        Err(InboundError::Unauthorized("wrong Basic credentials".into()))
    }
}

/// Turns the callback array into events; intermediate `message-sending`
/// events and types we do not know produce none.
pub fn events(body: &[u8]) -> Result<Vec<InboundEvent>, InboundError> {
    let callbacks: Vec<Callback> = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(format!("not a Bandwidth callback array: {e}")))?;
    let mut events = Vec::with_capacity(callbacks.len());
    for cb in callbacks {
        let state = match cb.kind.as_str() {
            "message-received" => {
                let from = cb.message.from.ok_or_else(|| {
                    InboundError::Malformed("message-received without message.from".into())
                })?;
                let to = cb
                    .to
                    .ok_or_else(|| InboundError::Malformed("message-received without to".into()))?;
                events.push(InboundEvent::Message {
                    provider_message_id: Some(cb.message.id),
                    from,
                    to,
                    text: cb.message.text.unwrap_or_default(),
                    media: None,
                });
                continue;
            }
            "message-sent" => DeliveryState::Sent,
            // For SMS this follows the carrier's delivery receipt; Bandwidth
            // documents it as "handed off to the downstream carrier" where
            // no receipt exists (MMS, some routes).
            "message-delivered" => DeliveryState::Delivered,
            "message-read" => DeliveryState::Read,
            "message-failed" => DeliveryState::Failed,
            _ => continue,
        };
        let error_code = cb.error_code.and_then(|code| match code {
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::String(s) if !s.is_empty() => Some(s),
            _ => None,
        });
        events.push(InboundEvent::Status {
            event_id: Some(format!("{}:{}", cb.message.id, cb.kind)),
            provider_message_id: Some(cb.message.id),
            notification_id: cb.message.tag.filter(|t| !t.is_empty()),
            state,
            error_code,
            detail: cb.description,
            recipient: cb.to,
            price: None,
        });
    }
    Ok(events)
}
