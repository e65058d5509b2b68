//! MessageBird's signed webhooks: status reports and incoming messages.
//!
//! Facts relied on (MessageBird "Verify HTTP requests" docs; the official
//! `signature_jwt` package of messagebird/go-rest-api and its published
//! `testdata/reference.json` vectors, several of which our tests replay):
//! - the `MessageBird-Signature-JWT` header holds a JWT signed with the
//!   account's signing key (not the access key) by HS256, HS384 or HS512;
//!   any other `alg` (`none` in particular) is refused;
//! - claims: `iss` must be `MessageBird`; `nbf` and `exp` bound its validity
//!   (the SDK allows one second of clock skew); `jti` must be present;
//!   `url_hash` is the hex SHA-256 of the full URL called, query included
//!   exactly as sent; `payload_hash` is the hex SHA-256 of the body and must
//!   be present exactly when there is a body;
//! - status reports are GET requests to the message's `reportUrl` with `id`,
//!   `reference`, `recipient` (digits), `status` (`scheduled`, `sent`,
//!   `buffered`, `delivered`, `expired`, `delivery_failed`),
//!   `statusReason`, `statusErrorCode`, `statusDatetime`, `price[amount]`,
//!   `price[currency]`, `mccmnc`, `messagePartCount`…;
//! - incoming messages name the sender `originator`, our number `recipient`
//!   and the text `body`.

use crate::signature::{constant_time_eq, hmac_sha256, keyed, non_empty, param, sha256_hex};
use crate::sms::{e164, price};
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use foghorn_core::{DeliveryState, InboundError, InboundEvent};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Sha384, Sha512};

pub const SIGNATURE_HEADER: &str = "messagebird-signature-jwt";
/// Clock skew tolerated on `nbf` and `exp`, as in the official SDK.
pub const MAX_SKEW_SECS: i64 = 1;

/// JWTs are base64url without padding; padding is tolerated, not required.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    url_hash: Option<String>,
    #[serde(default)]
    payload_hash: Option<String>,
}

fn unauthorized(reason: impl Into<String>) -> InboundError {
    InboundError::Unauthorized(reason.into())
}

fn decode_json<T: DeserializeOwned>(part: &str, what: &str) -> Result<T, InboundError> {
    let bytes = B64URL
        .decode(part)
        .map_err(|_| unauthorized(format!("JWT {what} is not base64url")))?;
    serde_json::from_slice(&bytes).map_err(|_| unauthorized(format!("JWT {what} is not JSON")))
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, InboundError> {
    let mut mac = keyed::<M>(key)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// Verifies the `MessageBird-Signature-JWT` of a request to `url` with
/// `body`, at `now` (unix seconds).
pub fn verify(
    signing_key: &str,
    token: Option<&str>,
    url: &str,
    body: &[u8],
    now: i64,
) -> Result<(), InboundError> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("missing MessageBird-Signature-JWT"))?;
    let mut parts = token.split('.');
    let (Some(header_part), Some(claims_part), Some(sig_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized("MessageBird-Signature-JWT is not a JWT"));
    };
    let header: Header = decode_json(header_part, "header")?;
    let signed = &token.as_bytes()[..header_part.len() + 1 + claims_part.len()];
    let key = signing_key.as_bytes();
    let expected = match header.alg.as_str() {
        "HS256" => hmac_sha256(key, signed)?.to_vec(),
        "HS384" => mac::<Hmac<Sha384>>(key, signed)?,
        "HS512" => mac::<Hmac<Sha512>>(key, signed)?,
        other => return Err(unauthorized(format!("JWT alg `{other}` is not allowed"))),
    };
    let sig = B64URL
        .decode(sig_part)
        .map_err(|_| unauthorized("JWT signature is not base64url"))?;
    if !constant_time_eq(&expected, &sig) {
        return Err(unauthorized("JWT signature is invalid"));
    }
    let claims: Claims = decode_json(claims_part, "claims")?;
    if claims.iss.as_deref() != Some("MessageBird") {
        return Err(unauthorized("claim iss is not MessageBird"));
    }
    if now < claims.nbf.unwrap_or(0).saturating_sub(MAX_SKEW_SECS) {
        return Err(unauthorized("claim nbf is in the future"));
    }
    let exp = claims
        .exp
        .ok_or_else(|| unauthorized("claim exp is missing"))?;
    if now > exp.saturating_add(MAX_SKEW_SECS) {
        return Err(unauthorized("claim exp is in the past"));
    }
    match claims.jti.as_deref() {
        Some(jti) if !jti.is_empty() => {}
        _ => return Err(unauthorized("claim jti is empty or missing")),
    }
    if claims.url_hash.as_deref() != Some(sha256_hex(url.as_bytes()).as_str()) {
        return Err(unauthorized("claim url_hash does not match the URL"));
    }
    let body_hash = (!body.is_empty()).then(|| sha256_hex(body));
    match (
        claims.payload_hash.as_deref().filter(|h| !h.is_empty()),
        body_hash.as_deref(),
    ) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(unauthorized(
            "claim payload_hash is set but there is no body",
        )),
        (None, Some(_)) => Err(unauthorized("claim payload_hash is missing for a body")),
        (Some(claimed), Some(actual)) if claimed == actual => Ok(()),
        (Some(_), Some(_)) => Err(unauthorized("claim payload_hash does not match the body")),
    }
}

/// Turns verified parameters into events.
pub fn events(params: &[(String, String)]) -> Result<Vec<InboundEvent>, InboundError> {
    if let Some(status) = non_empty(params, "status") {
        let id = non_empty(params, "id")
            .ok_or_else(|| InboundError::Malformed("status report without id".into()))?;
        let state = match status {
            "delivered" => DeliveryState::Delivered,
            "sent" | "buffered" => DeliveryState::Sent,
            "expired" => DeliveryState::Undelivered,
            "delivery_failed" => DeliveryState::Failed,
            // `scheduled` and anything new change nothing we track.
            _ => return Ok(Vec::new()),
        };
        let price = match (
            non_empty(params, "price[amount]"),
            non_empty(params, "price[currency]"),
        ) {
            (Some(amount), Some(currency)) => price(amount, currency),
            _ => None,
        };
        return Ok(vec![InboundEvent::Status {
            provider_message_id: Some(id.to_string()),
            notification_id: non_empty(params, "reference").map(str::to_string),
            state,
            error_code: non_empty(params, "statusErrorCode").map(str::to_string),
            detail: non_empty(params, "statusReason").map(str::to_string),
            recipient: non_empty(params, "recipient").map(e164),
            price,
            event_id: Some(format!("{id}:{status}")),
        }]);
    }
    let field = |key: &str| {
        param(params, key).ok_or_else(|| {
            InboundError::Malformed(format!(
                "neither a status report nor a message (no `{key}`)"
            ))
        })
    };
    Ok(vec![InboundEvent::Message {
        provider_message_id: non_empty(params, "id").map(str::to_string),
        from: e164(field("originator")?),
        to: e164(field("recipient")?),
        text: field("body")?.to_string(),
        media: None,
    }])
}
