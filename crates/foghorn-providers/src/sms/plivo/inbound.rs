//! Plivo's callbacks: signature V3 and the message status / incoming
//! message parameters.
//!
//! Facts relied on (plivo-python `utils/signature_v3.py`
//! `validate_v3_signature` and plivo-node `utils/v3Security.js`
//! `validateV3Signature`, which agree; Plivo "Message status callbacks" and
//! "Receive messages" docs):
//! - headers `X-Plivo-Signature-V3` (one or more base64 signatures joined by
//!   `,`; one match is enough) and `X-Plivo-Signature-V3-Nonce`;
//! - the signature is base64(HMAC-SHA256(auth token, base + "." + nonce));
//! - base, for GET: scheme://host/path, then `?` and the URL's query
//!   parameters decoded and re-joined as `key=value` with `&`, sorted by key
//!   (a key's several values sorted too) — nothing when there is no query;
//! - base, for POST without parameters: the same as GET;
//! - base, for POST with parameters: scheme://host/path, `?`, the sorted query
//!   as above (possibly empty), then `.` only if that query was not empty,
//!   then every POST parameter in key order as key immediately followed by
//!   value (no separators; a key's several values sorted);
//! - Plivo signs no timestamp; the nonce is random per request, so replays
//!   are recognised by the event id (`{MessageUUID}:{Status}`) upstream;
//! - status callbacks post `MessageUUID`, `Status` (`queued`, `sent`,
//!   `failed`, `delivered`, `undelivered`, `read`), `ErrorCode` (failures
//!   only), `To`, `From`, `Units`, `TotalRate`, `TotalAmount`; incoming
//!   messages post `From`, `To`, `Text`, `Type`, `MessageUUID`.

use crate::signature::{constant_time_eq, hmac_sha256, non_empty, param, parse_form, query_of};
use crate::sms::{e164, price};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use foghorn_core::{DeliveryState, InboundError, InboundEvent};
use std::collections::BTreeMap;

pub const SIGNATURE_HEADER: &str = "x-plivo-signature-v3";
pub const NONCE_HEADER: &str = "x-plivo-signature-v3-nonce";

/// Plivo bills in US dollars.
pub const CURRENCY: &str = "USD";

/// Parameters grouped by key, keys and each key's values sorted.
fn sorted(params: &[(String, String)]) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in params {
        map.entry(k.as_str()).or_default().push(v.as_str());
    }
    for values in map.values_mut() {
        values.sort_unstable();
    }
    map
}

/// The string signed before `.nonce`, as the SDKs build it.
pub fn signed_base(method: &str, url: &str, post_params: &[(String, String)]) -> String {
    let without_fragment = url.split_once('#').map_or(url, |(u, _)| u);
    let base = without_fragment
        .split_once('?')
        .map_or(without_fragment, |(b, _)| b);
    let query: Vec<String> = sorted(&parse_form(query_of(url).as_bytes()))
        .into_iter()
        .flat_map(|(k, values)| values.into_iter().map(move |v| format!("{k}={v}")))
        .collect();
    let query = query.join("&");
    let is_get = method.eq_ignore_ascii_case("GET");
    if is_get || post_params.is_empty() {
        return if query.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{query}")
        };
    }
    let mut out = format!("{base}?{query}");
    if !query.is_empty() {
        out.push('.');
    }
    for (k, values) in sorted(post_params) {
        for v in values {
            out.push_str(k);
            out.push_str(v);
        }
    }
    out
}

pub fn signature(
    auth_token: &str,
    method: &str,
    url: &str,
    post_params: &[(String, String)],
    nonce: &str,
) -> Result<String, InboundError> {
    let data = format!("{}.{nonce}", signed_base(method, url, post_params));
    Ok(B64.encode(hmac_sha256(auth_token.as_bytes(), data.as_bytes())?))
}

/// Checks the V3 signature headers of a callback.
pub fn verify(
    auth_token: &str,
    method: &str,
    url: &str,
    post_params: &[(String, String)],
    signature_header: Option<&str>,
    nonce: Option<&str>,
) -> Result<(), InboundError> {
    let (Some(header), Some(nonce)) = (signature_header, nonce) else {
        return Err(InboundError::Unauthorized(
            "missing X-Plivo-Signature-V3 or its nonce".into(),
        ));
    };
    let expected = signature(auth_token, method, url, post_params, nonce)?;
    let matched = header
        .split(',')
        .any(|candidate| constant_time_eq(candidate.trim().as_bytes(), expected.as_bytes()));
    if matched {
        Ok(())
    } else {
        Err(InboundError::Unauthorized(
            "X-Plivo-Signature-V3 does not match".into(),
        ))
    }
}

/// Turns verified callback parameters into events.
pub fn events(
    params: &[(String, String)],
    notification_id: Option<String>,
) -> Result<Vec<InboundEvent>, InboundError> {
    let uuid = non_empty(params, "MessageUUID")
        .ok_or_else(|| InboundError::Malformed("no MessageUUID".into()))?;
    let Some(status) = non_empty(params, "Status") else {
        let field = |key: &str| {
            param(params, key)
                .ok_or_else(|| InboundError::Malformed(format!("incoming message without {key}")))
        };
        return Ok(vec![InboundEvent::Message {
            provider_message_id: Some(uuid.to_string()),
            from: e164(field("From")?),
            to: e164(field("To")?),
            text: field("Text")?.to_string(),
            media: None,
        }]);
    };
    let state = match status {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "undelivered" => DeliveryState::Undelivered,
        "failed" | "rejected" => DeliveryState::Failed,
        // `queued` and anything new.
        _ => return Ok(Vec::new()),
    };
    Ok(vec![InboundEvent::Status {
        provider_message_id: Some(uuid.to_string()),
        notification_id,
        state,
        // `000` is Plivo's "no error".
        error_code: non_empty(params, "ErrorCode")
            .filter(|c| c.bytes().any(|b| b != b'0'))
            .map(str::to_string),
        detail: None,
        recipient: non_empty(params, "To").map(e164),
        price: non_empty(params, "TotalAmount").and_then(|a| price(a, CURRENCY)),
        event_id: Some(format!("{uuid}:{status}")),
    }])
}
