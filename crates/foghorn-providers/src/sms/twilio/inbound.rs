//! Twilio's callbacks: request validation and the two kinds of callback an
//! SMS number receives (status callbacks, incoming messages).
//!
//! Facts relied on (Twilio "Webhooks security" docs; `RequestValidator` in
//! twilio-python and twilio-node, whose tests publish the vectors used in
//! ours):
//! - `X-Twilio-Signature` is base64(HMAC-SHA1(auth token, data)) where data
//!   is the full URL Twilio requested (query included) followed, for each
//!   POST parameter in key order, by the key and its value; a key sent
//!   several times contributes each distinct value, in sorted order;
//! - Twilio is inconsistent about the port, so the SDKs accept the signature
//!   of the URL with the default port added (`:443`/`:80`) or with any port
//!   removed;
//! - status callbacks post `MessageSid`, `MessageStatus` (`queued`,
//!   `sending`, `sent`, `delivered`, `undelivered`, `failed`, `read`, …),
//!   `ErrorCode`, `To`, `From`, and the legacy `SmsSid`/`SmsStatus`;
//! - incoming messages post `MessageSid`, `From`, `To`, `Body` and
//!   `SmsStatus=received`, without `MessageStatus`;
//! - the signature covers no timestamp: a captured callback replays validly
//!   forever, so replays are neutralised by de-duplicating on the event id
//!   (`{MessageSid}:{status}`), which a replay reproduces exactly.

use crate::signature::{self, constant_time_eq, hmac_sha1, non_empty, param};
use crate::sms::{self, price};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use foghorn_core::{DeliveryState, InboundError, InboundEvent};
use std::collections::BTreeMap;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The signature Twilio sends for `url` and the POST `params`.
pub fn signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
) -> Result<String, InboundError> {
    let mut sorted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in params {
        sorted.entry(k.as_str()).or_default().push(v.as_str());
    }
    let mut data = String::from(url);
    for (key, mut values) in sorted {
        values.sort_unstable();
        values.dedup();
        for value in values {
            data.push_str(key);
            data.push_str(value);
        }
    }
    Ok(B64.encode(hmac_sha1(auth_token.as_bytes(), data.as_bytes())?))
}

/// Checks `X-Twilio-Signature` for a callback to `url` carrying `params`.
pub fn verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> Result<(), InboundError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| InboundError::Unauthorized("missing X-Twilio-Signature".into()))?;
    let (with_port, without_port) = port_variants(url);
    for candidate in [with_port, without_port] {
        let expected = signature(auth_token, &candidate, params)?;
        if constant_time_eq(expected.as_bytes(), header.as_bytes()) {
            return Ok(());
        }
    }
    Err(InboundError::Unauthorized(
        "X-Twilio-Signature does not match".into(),
    ))
}

/// The URL with the scheme's default port made explicit, and with any port
/// removed — the two forms the SDKs try.
fn port_variants(url: &str) -> (String, String) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), url.to_string());
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // The port follows the last ':' after any IPv6 literal's ']'.
    let host_start = authority.rfind(']').unwrap_or(0);
    let port_at = authority[host_start..].rfind(':').map(|i| host_start + i);
    let bare = port_at.map_or(authority, |i| &authority[..i]);
    let without = format!("{scheme}://{bare}{tail}");
    let with = match port_at {
        Some(_) => url.to_string(),
        None => {
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            format!("{scheme}://{authority}:{port}{tail}")
        }
    };
    (with, without)
}

/// Turns a verified callback into events: one status event, one incoming
/// message, or nothing for intermediate states (`queued`, `accepted`,
/// `sending`, `scheduled`) that do not change a notification's status.
pub fn events(
    params: &[(String, String)],
    notification_id: Option<String>,
) -> Result<Vec<InboundEvent>, InboundError> {
    let sid = non_empty(params, "MessageSid")
        .or_else(|| non_empty(params, "SmsSid"))
        .ok_or_else(|| InboundError::Malformed("no MessageSid".into()))?;
    let status = non_empty(params, "MessageStatus")
        .or_else(|| non_empty(params, "SmsStatus"))
        .unwrap_or("received");
    if status == "received" || status == "receiving" {
        let field = |key: &str| {
            param(params, key)
                .map(str::to_string)
                .ok_or_else(|| InboundError::Malformed(format!("incoming message without {key}")))
        };
        return Ok(vec![InboundEvent::Message {
            provider_message_id: Some(sid.to_string()),
            from: field("From")?,
            to: field("To")?,
            text: field("Body")?,
            media: None,
        }]);
    }
    let state = match status {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "undelivered" => DeliveryState::Undelivered,
        "failed" | "canceled" => DeliveryState::Failed,
        _ => return Ok(Vec::new()),
    };
    let price = match (non_empty(params, "Price"), non_empty(params, "PriceUnit")) {
        (Some(amount), Some(unit)) => price(amount, unit),
        _ => None,
    };
    Ok(vec![InboundEvent::Status {
        provider_message_id: Some(sid.to_string()),
        notification_id,
        state,
        error_code: non_empty(params, "ErrorCode").map(str::to_string),
        detail: non_empty(params, "ErrorMessage").map(str::to_string),
        recipient: non_empty(params, "To").map(str::to_string),
        price,
        event_id: Some(format!("{sid}:{status}")),
    }])
}

/// The parameters Twilio signed: the form body of a POST; nothing for a GET,
/// whose parameters are already part of the signed URL.
pub fn signed_params(method: &str, body: &[u8]) -> Vec<(String, String)> {
    if method.eq_ignore_ascii_case("GET") {
        Vec::new()
    } else {
        signature::parse_form(body)
    }
}

/// The event parameters: the body of a POST, the query of a GET.
pub fn event_params(method: &str, url: &str, body: &[u8]) -> Vec<(String, String)> {
    if method.eq_ignore_ascii_case("GET") {
        signature::query_params(url)
    } else {
        signature::parse_form(body)
    }
}

/// Our notification id, when the callback URL carries it.
pub fn notification_id(url: &str) -> Option<String> {
    sms::notification_from_url(url)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn port_variants_follow_the_sdk() {
        let v = |u: &str| port_variants(u);
        assert_eq!(
            v("https://h.com/a?b=1"),
            (
                "https://h.com:443/a?b=1".into(),
                "https://h.com/a?b=1".into()
            )
        );
        assert_eq!(
            v("http://h.com:1234/a"),
            ("http://h.com:1234/a".into(), "http://h.com/a".into())
        );
        assert_eq!(
            v("http://[::1]:8080/x"),
            ("http://[::1]:8080/x".into(), "http://[::1]/x".into())
        );
        assert_eq!(
            v("http://h.com?x=a:b"),
            ("http://h.com:80?x=a:b".into(), "http://h.com?x=a:b".into())
        );
    }
}
