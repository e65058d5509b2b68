//! Postmark webhook authentication and record mapping (facts in `api.rs`).
//!
//! Postmark does not sign webhooks; the only proof of origin is the Basic
//! credentials configured in the webhook URL, compared here in constant time.
//! Nothing in a record is time-stamped for replay checks, so replays are
//! caught downstream by de-duplicating on `event_id` — which is why every
//! record gets a stable one: the bounce `ID` for bounces and complaints, and
//! a composite of record type, message, recipient and event time otherwise.

use super::api::{Record, NOTIFICATION_KEY};
use super::WebhookAuth;
use crate::email;
use crate::signature;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use foghorn_core::{DeliveryState, InboundError, InboundEvent, InboundRequest};

pub(super) fn parse(
    auth: &WebhookAuth,
    req: &InboundRequest<'_>,
) -> Result<Vec<InboundEvent>, InboundError> {
    check_basic_auth(auth, req.header("authorization"))?;
    let record: Record = email::parse_json(req.body)?;
    Ok(to_event(record).into_iter().collect())
}

fn check_basic_auth(auth: &WebhookAuth, header: Option<&str>) -> Result<(), InboundError> {
    let unauthorized = |why: &str| InboundError::Unauthorized(why.to_string());
    let header = header.ok_or_else(|| unauthorized("missing Basic credentials"))?;
    let (scheme, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| unauthorized("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(unauthorized("not Basic credentials"));
    }
    let decoded = B64
        .decode(encoded.trim())
        .map_err(|_| unauthorized("Basic credentials are not base64"))?;
    let colon = decoded
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| unauthorized("Basic credentials without `:`"))?;
    let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
    // Both compared, whatever the first result, so timing does not tell
    // which of the two was wrong.
    let user_ok = signature::constant_time_eq(user, auth.username.as_bytes());
    let pass_ok = signature::constant_time_eq(pass, auth.password.expose().as_bytes());
    if user_ok & pass_ok {
        Ok(())
    } else {
        Err(unauthorized("wrong webhook credentials"))
    }
}

/// One event, or none for records Foghorn has no use for.
fn to_event(r: Record) -> Option<InboundEvent> {
    let key = |parts: &[Option<&str>]| {
        let mut id = r.record_type.clone();
        for part in parts {
            id.push(':');
            id.push_str(part.unwrap_or(""));
        }
        id
    };
    let bounce_id = r.id.as_ref().and_then(email::scalar_text);
    let message_id = r.message_id.as_deref();
    let (state, error_code, detail, recipient, event_id) = match r.record_type.as_str() {
        "Delivery" => (
            DeliveryState::Delivered,
            None,
            None,
            r.recipient.clone(),
            key(&[message_id, r.recipient.as_deref()]),
        ),
        "Bounce" => {
            let state = bounce_state(r.bounce_type.as_deref(), r.inactive == Some(true))?;
            let detail = r
                .description
                .as_deref()
                .or(r.details.as_deref())
                .map(email::short);
            let id = bounce_id
                .clone()
                .unwrap_or_else(|| key(&[message_id, r.email.as_deref()]));
            (state, r.bounce_type.clone(), detail, r.email.clone(), id)
        }
        "SpamComplaint" => {
            let id = bounce_id
                .clone()
                .unwrap_or_else(|| key(&[message_id, r.email.as_deref()]));
            (DeliveryState::Complained, None, None, r.email.clone(), id)
        }
        "Open" => (
            DeliveryState::Opened,
            None,
            None,
            r.recipient.clone(),
            key(&[message_id, r.recipient.as_deref(), r.received_at.as_deref()]),
        ),
        "Click" => (
            DeliveryState::Clicked,
            None,
            None,
            r.recipient.clone(),
            key(&[
                message_id,
                r.recipient.as_deref(),
                r.received_at.as_deref(),
                r.original_link.as_deref(),
            ]),
        ),
        "SubscriptionChange" => {
            // `SuppressSending: false` is a reactivation: nothing to report.
            if r.suppress_sending != Some(true) {
                return None;
            }
            let state = match r.suppression_reason.as_deref() {
                Some("HardBounce") => DeliveryState::BouncedHard,
                Some("SpamComplaint") => DeliveryState::Complained,
                _ => DeliveryState::Unsubscribed,
            };
            (
                state,
                None,
                r.suppression_reason.clone(),
                r.recipient.clone(),
                key(&[message_id, r.recipient.as_deref(), r.changed_at.as_deref()]),
            )
        }
        other => {
            tracing::debug!(record_type = %other, "ignoring a Postmark record type Foghorn does not track");
            return None;
        }
    };
    let notification_id = r
        .metadata
        .as_ref()
        .and_then(|m| m.get(NOTIFICATION_KEY))
        .and_then(email::scalar_text);
    Some(InboundEvent::Status {
        provider_message_id: r.message_id.clone(),
        notification_id,
        state,
        error_code,
        detail,
        recipient,
        price: None,
        event_id: Some(event_id),
    })
}

/// Postmark's bounce `Type`s. `Inactive` means Postmark deactivated the
/// address and will refuse it, which is a hard bounce whatever the type.
/// Types that report something other than a failed delivery (auto-replies,
/// address changes) yield no event.
fn bounce_state(kind: Option<&str>, inactive: bool) -> Option<DeliveryState> {
    let state = match kind.unwrap_or("Unknown") {
        "HardBounce" | "BadEmailAddress" | "ManuallyDeactivated" => DeliveryState::BouncedHard,
        "SpamComplaint" => DeliveryState::Complained,
        "Unsubscribe" => DeliveryState::Unsubscribed,
        "AutoResponder" | "AddressChange" | "Subscribe" | "OpenRelayTest" => return None,
        "SMTPApiError" | "TemplateRenderingFailed" | "InboundError" => DeliveryState::Failed,
        // SoftBounce, Transient, DnsError, Blocked, SpamNotification,
        // VirusNotification, ChallengeVerification, DMARCPolicy, Unknown.
        _ => DeliveryState::BouncedSoft,
    };
    Some(match state {
        DeliveryState::BouncedSoft | DeliveryState::Failed if inactive => {
            DeliveryState::BouncedHard
        }
        state => state,
    })
}
