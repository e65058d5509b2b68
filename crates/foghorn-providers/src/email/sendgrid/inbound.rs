//! Signed Event Webhook verification and event mapping (facts in `api.rs`).
//!
//! The signature covers the timestamp header and the exact raw body, so it
//! is checked before the body is parsed; the timestamp must also be within
//! five minutes of our clock, so a captured batch cannot be replayed later.

use super::api::{self, Event};
use crate::email::{self, REPLAY_WINDOW};
use crate::signature;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use foghorn_core::{DeliveryState, InboundError, InboundEvent, InboundRequest};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not base64")]
    Base64,
    #[error("not a DER P-256 public key (SubjectPublicKeyInfo)")]
    NotP256,
}

/// Reads the key as SendGrid shows it (base64 of DER SubjectPublicKeyInfo);
/// a PEM block pasted with its `-----BEGIN PUBLIC KEY-----` lines also works.
pub(super) fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let b64: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    let der = B64.decode(b64).map_err(|_| KeyError::Base64)?;
    VerifyingKey::from_public_key_der(&der).map_err(|_| KeyError::NotP256)
}

pub(super) fn parse(
    key: &VerifyingKey,
    req: &InboundRequest<'_>,
) -> Result<Vec<InboundEvent>, InboundError> {
    let unauthorized = |why: &str| InboundError::Unauthorized(why.to_string());
    let sig = req
        .header(api::SIGNATURE_HEADER)
        .ok_or_else(|| unauthorized("missing X-Twilio-Email-Event-Webhook-Signature"))?;
    let timestamp = req
        .header(api::TIMESTAMP_HEADER)
        .ok_or_else(|| unauthorized("missing X-Twilio-Email-Event-Webhook-Timestamp"))?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| unauthorized("the webhook timestamp is not unix seconds"))?;
    signature::check_timestamp(ts, req.now, REPLAY_WINDOW)?;
    let der = B64
        .decode(sig.trim())
        .map_err(|_| unauthorized("the signature is not base64"))?;
    let sig =
        Signature::from_der(&der).map_err(|_| unauthorized("the signature is not DER ECDSA"))?;
    let mut signed = Vec::with_capacity(timestamp.len() + req.body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(req.body);
    // (r, s) and (r, n - s) are the same signature; signers that do not
    // normalise s (Go's crypto/ecdsa, which SendGrid's own helper uses)
    // produce either, so both are accepted.
    let verified = key.verify(&signed, &sig).is_ok()
        || sig
            .normalize_s()
            .is_some_and(|low| key.verify(&signed, &low).is_ok());
    if !verified {
        return Err(unauthorized("signature mismatch"));
    }

    let batch: Vec<Value> = email::parse_json(req.body)?;
    let mut events = Vec::with_capacity(batch.len());
    for raw in batch {
        match serde_json::from_value::<Event>(raw) {
            Ok(event) => events.extend(to_event(event)),
            // Signed, so it is SendGrid's: a shape we cannot read is skipped
            // rather than failing the batch, which SendGrid would resend.
            Err(e) => tracing::warn!(error = %e, "skipping an unreadable SendGrid event"),
        }
    }
    Ok(events)
}

/// One event, or none for event types Foghorn has no use for.
fn to_event(e: Event) -> Option<InboundEvent> {
    let (state, error_code, detail) = match e.event.as_str() {
        "processed" => (DeliveryState::Sent, None, None),
        "delivered" => (DeliveryState::Delivered, None, None),
        // SendGrid keeps retrying a deferred message for up to 72 hours; it
        // is reported as a soft bounce, as Mailgun's temporary failures are,
        // and a later `delivered` or `bounce` supersedes it.
        "deferred" => {
            let detail = match (&e.response, e.attempt.as_ref().and_then(email::scalar_text)) {
                (Some(r), Some(n)) => Some(format!("deferred (attempt {n}): {r}")),
                (Some(r), None) => Some(format!("deferred: {r}")),
                (None, _) => Some("deferred".to_string()),
            };
            (DeliveryState::BouncedSoft, None, detail)
        }
        "bounce" => {
            // `blocked` is a refusal of this message (content, reputation),
            // not of the address, so the address is not to be suppressed.
            let state = match e.bounce_type.as_deref() {
                Some("blocked") => DeliveryState::BouncedSoft,
                _ => DeliveryState::BouncedHard,
            };
            let code = e.status.as_ref().and_then(email::scalar_text);
            (state, code, e.reason.clone())
        }
        "dropped" => (DeliveryState::Failed, None, e.reason.clone()),
        "spamreport" => (DeliveryState::Complained, None, None),
        "open" => (DeliveryState::Opened, None, None),
        "click" => (DeliveryState::Clicked, None, None),
        "unsubscribe" | "group_unsubscribe" => (DeliveryState::Unsubscribed, None, None),
        other => {
            tracing::debug!(event = %other, "ignoring a SendGrid event type Foghorn does not track");
            return None;
        }
    };
    Some(InboundEvent::Status {
        provider_message_id: e
            .sg_message_id
            .as_deref()
            .and_then(|id| id.split('.').next())
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        notification_id: e.notification_id.as_ref().and_then(email::scalar_text),
        state,
        error_code,
        detail: detail.as_deref().map(email::short),
        recipient: e.email,
        price: None,
        event_id: e.sg_event_id,
    })
}
