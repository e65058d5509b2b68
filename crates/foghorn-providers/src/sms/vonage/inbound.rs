//! Vonage's signed callbacks: delivery receipts and incoming messages.
//!
//! Facts relied on (Vonage "Signing messages" guide and "Delivery receipts"
//! / "Inbound SMS" webhook references; `signature` / `check_signature` in
//! vonage-python-sdk 2.x–3.x and `Auth.sign_params` in 4.x):
//! - signed callbacks carry `sig`, `timestamp` (unix seconds, UTC) and
//!   `nonce` among their parameters; everything but `sig` is signed;
//! - the signed string is, for each parameter sorted by name, `&name=value`,
//!   with `&` and `=` inside values replaced by `_`;
//! - `md5hash` (the dashboard's default) is MD5 over that string followed by
//!   the signature secret; `md5`, `sha1`, `sha256`, `sha512` are the HMAC of
//!   the string keyed with the secret; both are compared as hex, case
//!   ignored (the SDK lower-cases the received `sig`);
//! - receipts come by GET (query) or POST (form or JSON, as configured) with
//!   `messageId`, `msisdn` (the recipient, no `+`), `to` (our sender),
//!   `status` (`delivered`, `expired`, `failed`, `rejected`, `accepted`,
//!   `buffered`, `unknown`), `err-code` (`0` when none), `price`,
//!   `client-ref`, `message-timestamp`, `scts`, `network-code`;
//! - incoming messages carry `msisdn` (the sender), `to` (our number),
//!   `messageId`, `text`, `type`, `keyword`; long ones arrive part by part
//!   (`concat-*` fields), each part its own callback.

use crate::signature::{check_timestamp, constant_time_eq, hex, keyed, non_empty, param};
use crate::sms::{e164, price};
use foghorn_core::{DeliveryState, InboundError, InboundEvent};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use std::time::Duration;

/// Vonage's replay window for signed requests.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The algorithm chosen in the Vonage dashboard; it must match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureMethod {
    /// The dashboard default: MD5 of the parameters followed by the secret.
    #[default]
    Md5hash,
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

/// The string Vonage signs: `&name=value` for each parameter but `sig`, in
/// name order, with `&` and `=` in values turned into `_`.
fn signing_string(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sig").collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (key, value) in sorted {
        out.push('&');
        out.push_str(key);
        out.push('=');
        out.push_str(&value.replace(['&', '='], "_"));
    }
    out
}

fn hmac_hex<M: Mac + hmac::digest::KeyInit>(
    secret: &str,
    data: &str,
) -> Result<String, InboundError> {
    let mut mac = keyed::<M>(secret.as_bytes())?;
    mac.update(data.as_bytes());
    Ok(hex(&mac.finalize().into_bytes()))
}

/// The lower-case hex signature of `params` (any `sig` among them ignored).
pub fn signature(
    method: SignatureMethod,
    secret: &str,
    params: &[(String, String)],
) -> Result<String, InboundError> {
    let data = signing_string(params);
    match method {
        SignatureMethod::Md5hash => {
            let mut md5 = Md5::new();
            md5.update(data.as_bytes());
            md5.update(secret.as_bytes());
            Ok(hex(&md5.finalize()))
        }
        SignatureMethod::Md5 => hmac_hex::<Hmac<Md5>>(secret, &data),
        SignatureMethod::Sha1 => hmac_hex::<Hmac<Sha1>>(secret, &data),
        SignatureMethod::Sha256 => hmac_hex::<Hmac<Sha256>>(secret, &data),
        SignatureMethod::Sha512 => hmac_hex::<Hmac<Sha512>>(secret, &data),
    }
}

/// Checks `sig` and the freshness of `timestamp`.
pub fn verify(
    method: SignatureMethod,
    secret: &str,
    params: &[(String, String)],
    now: i64,
) -> Result<(), InboundError> {
    let sig = non_empty(params, "sig")
        .ok_or_else(|| InboundError::Unauthorized("unsigned callback (no `sig`)".into()))?;
    let expected = signature(method, secret, params)?;
    if !constant_time_eq(
        expected.as_bytes(),
        sig.trim().to_ascii_lowercase().as_bytes(),
    ) {
        return Err(InboundError::Unauthorized("`sig` does not match".into()));
    }
    let timestamp = param(params, "timestamp")
        .and_then(|t| t.trim().parse::<i64>().ok())
        .ok_or_else(|| {
            InboundError::Unauthorized("signed callback without a unix `timestamp`".into())
        })?;
    check_timestamp(timestamp, now, TOLERANCE)
}

/// Turns verified parameters into events. `currency` is the account's, for
/// receipt prices.
pub fn events(
    params: &[(String, String)],
    currency: &str,
) -> Result<Vec<InboundEvent>, InboundError> {
    let message_id = non_empty(params, "messageId")
        .or_else(|| non_empty(params, "message-id"))
        .ok_or_else(|| InboundError::Malformed("no messageId".into()))?;
    if let Some(status) = non_empty(params, "status") {
        let state = match status {
            "delivered" => DeliveryState::Delivered,
            "accepted" | "buffered" => DeliveryState::Sent,
            "expired" => DeliveryState::Undelivered,
            "failed" | "rejected" => DeliveryState::Failed,
            // `unknown`: the carrier said nothing that changes the status.
            _ => return Ok(Vec::new()),
        };
        return Ok(vec![InboundEvent::Status {
            provider_message_id: Some(message_id.to_string()),
            notification_id: non_empty(params, "client-ref").map(str::to_string),
            state,
            error_code: non_empty(params, "err-code")
                .filter(|c| *c != "0")
                .map(str::to_string),
            detail: None,
            recipient: non_empty(params, "msisdn").map(e164),
            price: non_empty(params, "price").and_then(|p| price(p, currency)),
            event_id: Some(format!("{message_id}:{status}")),
        }]);
    }
    // An incoming message; binary ones have no text to hand on.
    if param(params, "type") == Some("binary") {
        return Ok(Vec::new());
    }
    let field = |key: &str| {
        param(params, key)
            .ok_or_else(|| InboundError::Malformed(format!("incoming message without `{key}`")))
    };
    Ok(vec![InboundEvent::Message {
        provider_message_id: Some(message_id.to_string()),
        from: e164(field("msisdn")?),
        to: e164(field("to")?),
        text: field("text")?.to_string(),
        media: None,
    }])
}
