//! Mailgun webhook verification and event mapping (facts in `api.rs`).
//!
//! The signature lives inside the JSON body, so the body is parsed loosely
//! first, the signature checked (HMAC-SHA256 over `timestamp + token`, in
//! constant time, timestamp within five minutes), and only then is
//! `event-data` read. A signed timestamp older than the window is refused
//! even with a valid signature: that is a replayed call.
//!
//! Mailgun's scheme signs only `timestamp + token`, not `event-data`: a
//! captured call could be replayed with altered event data within the
//! window. Mailgun's guidance is to refuse a token seen before; that needs
//! state shared by every Foghorn instance, so it belongs with the engine's
//! de-duplication (on `event_id`, Mailgun's `event-data.id`), not here.

use super::api::{EventData, WebhookBody, NOTIFICATION_VAR};
use crate::email::{self, REPLAY_WINDOW};
use crate::signature;
use foghorn_core::{DeliveryState, InboundError, InboundEvent, InboundRequest};

pub(super) fn parse(
    key: &[u8],
    req: &InboundRequest<'_>,
) -> Result<Vec<InboundEvent>, InboundError> {
    // Without a readable signature block there is nothing to authenticate.
    let body: WebhookBody = serde_json::from_slice(req.body).map_err(|_| {
        InboundError::Unauthorized("not a signed Mailgun webhook (no JSON signature block)".into())
    })?;
    let sig = body
        .signature
        .ok_or_else(|| InboundError::Unauthorized("missing `signature`".into()))?;
    let timestamp = email::scalar_text(&sig.timestamp)
        .ok_or_else(|| InboundError::Unauthorized("missing signature timestamp".into()))?;
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| InboundError::Unauthorized(format!("bad timestamp `{timestamp}`")))?;
    signature::check_timestamp(ts, req.now, REPLAY_WINDOW)?;

    let mut signed = timestamp.into_bytes();
    signed.extend_from_slice(sig.token.as_bytes());
    let expected = signature::hex(&signature::hmac_sha256(key, &signed)?);
    let matches = |given: &str| {
        signature::constant_time_eq(
            expected.as_bytes(),
            given.trim().to_ascii_lowercase().as_bytes(),
        )
    };
    let parent_matches = sig.parent_signature.as_deref().is_some_and(matches);
    if !matches(&sig.signature) && !parent_matches {
        return Err(InboundError::Unauthorized("signature mismatch".into()));
    }

    let data = body
        .event_data
        .ok_or_else(|| InboundError::Malformed("missing `event-data`".into()))?;
    let data: EventData = serde_json::from_value(data)
        .map_err(|e| InboundError::Malformed(format!("event-data: {e}")))?;
    Ok(to_event(data).into_iter().collect())
}

/// One event, or none for event types Foghorn has no use for (they are
/// acknowledged so Mailgun does not retry them).
fn to_event(data: EventData) -> Option<InboundEvent> {
    let failure = data.delivery_status.as_ref();
    let (state, is_failure) = match data.event.as_str() {
        "accepted" => (DeliveryState::Sent, false),
        "delivered" => (DeliveryState::Delivered, false),
        "failed" => match data.severity.as_deref() {
            Some("permanent") => (DeliveryState::BouncedHard, true),
            // Mailgun retries temporary failures itself; a later `delivered`
            // or permanent `failed` supersedes this one.
            Some("temporary") => (DeliveryState::BouncedSoft, true),
            _ => (DeliveryState::Failed, true),
        },
        "complained" => (DeliveryState::Complained, false),
        "opened" => (DeliveryState::Opened, false),
        "clicked" => (DeliveryState::Clicked, false),
        "unsubscribed" => (DeliveryState::Unsubscribed, false),
        other => {
            tracing::debug!(event = %other, "ignoring a Mailgun event type Foghorn does not track");
            return None;
        }
    };
    let error_code = if is_failure {
        failure
            .and_then(|s| s.code.as_ref())
            .and_then(email::scalar_text)
    } else {
        None
    };
    let detail = if is_failure {
        failure
            .and_then(|s| {
                [s.description.as_deref(), s.message.as_deref()]
                    .into_iter()
                    .flatten()
                    .find(|t| !t.trim().is_empty())
            })
            .or(data.reason.as_deref())
            .map(email::short)
    } else {
        None
    };
    let provider_message_id = data
        .message
        .as_ref()
        .and_then(|m| m.headers.get("message-id"))
        .and_then(|v| v.as_str())
        .map(|id| email::bare_message_id(id).to_string());
    Some(InboundEvent::Status {
        provider_message_id,
        notification_id: data
            .user_variables
            .get(NOTIFICATION_VAR)
            .and_then(email::scalar_text),
        state,
        error_code,
        detail,
        recipient: data.recipient,
        price: None,
        event_id: data.id,
    })
}
