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
//!   "pricing": {"billable", "pricing_model", "category", "type"}, "errors":
//!   [{"code", "title"}]}], "messages": [{"from", "id", "timestamp",
//!   "type": text|image|document|…, "text": {"body"}, "image"/"document":
//!   {"id", "mime_type", "sha256", "caption", "filename"}}]}}]}]}`, numbers
//!   as digits without `+`.

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
    metadata: Option<Metadata>,
    #[serde(default)]
    statuses: Vec<StatusItem>,
    #[serde(default)]
    messages: Vec<MessageItem>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    display_phone_number: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MessageItem {
    id: String,
    from: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<TextBody>,
    #[serde(default)]
    image: Option<MediaItem>,
    #[serde(default)]
    document: Option<MediaItem>,
}

#[derive(Debug, Deserialize)]
struct TextBody {
    #[serde(default)]
    body: String,
}

#[derive(Debug, Deserialize)]
struct MediaItem {
    id: String,
    #[serde(default)]
    mime_type: String,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    caption: Option<String>,
}

/// Numbers in webhooks are digits; Foghorn's are E.164.
fn e164(digits: &str) -> String {
    if digits.starts_with('+') {
        digits.to_string()
    } else {
        format!("+{digits}")
    }
}

#[derive(Debug, Deserialize)]
struct StatusItem {
    id: String,
    status: String,
    #[serde(default)]
    recipient_id: Option<String>,
    #[serde(default)]
    errors: Vec<StatusError>,
    #[serde(default)]
    pricing: Option<Pricing>,
}

/// A status's `pricing`: `category` (`marketing`, `utility`,
/// `authentication`, `authentication_international`, `marketing_lite`,
/// `service`) and, since per-message pricing (July 2025), `type`:
/// `regular` is charged, `free_customer_service` and `free_entry_point`
/// are not; `billable` is the older flag.
#[derive(Debug, Deserialize)]
struct Pricing {
    #[serde(default)]
    billable: Option<bool>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// The categories a rate may be given for.
const CATEGORIES: &[&str] = &[
    "marketing",
    "utility",
    "authentication",
    "authentication_international",
    "marketing_lite",
    "service",
];

/// The account's rates per delivered message, by category.
#[derive(Debug, Clone, Default)]
pub struct Prices {
    micros: std::collections::BTreeMap<String, i64>,
    currency: String,
}

impl Prices {
    /// Checks each rate: a known category, a decimal amount.
    pub fn new(
        rates: &std::collections::BTreeMap<String, String>,
        currency: Option<&str>,
    ) -> Result<Prices, String> {
        let mut micros = std::collections::BTreeMap::new();
        for (category, rate) in rates {
            if !CATEGORIES.contains(&category.as_str()) {
                return Err(format!(
                    "`prices.{category}` is not a pricing category (one of {})",
                    CATEGORIES.join(", ")
                ));
            }
            let amount = foghorn_core::Money::parse_amount(rate)
                .filter(|m| *m >= 0)
                .ok_or_else(|| format!("`prices.{category}` is an amount such as \"0.0040\""))?;
            micros.insert(category.clone(), amount);
        }
        let currency = currency.unwrap_or("USD").trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err("`currency` is an ISO 4217 code such as USD".into());
        }
        Ok(Prices { micros, currency })
    }

    /// What a delivered (or read) message cost: nothing when Meta says it
    /// was free, the category's rate when charged, unknown when the
    /// account has no rate for it.
    fn of(&self, state: DeliveryState, pricing: Option<&Pricing>) -> Option<foghorn_core::Money> {
        if !matches!(state, DeliveryState::Delivered | DeliveryState::Read) {
            return None;
        }
        let pricing = pricing?;
        let charged = match pricing.kind.as_deref() {
            Some(kind) => kind == "regular",
            None => pricing.billable.unwrap_or(false),
        };
        let micros = if charged {
            *self.micros.get(pricing.category.as_deref()?)?
        } else {
            0
        };
        Some(foghorn_core::Money::new(micros, self.currency.clone()))
    }
}

#[derive(Debug, Deserialize)]
struct StatusError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
}

/// The statuses and messages a verified notification reports. Messages
/// of kinds Foghorn does not read (reactions, locations …) are left out.
pub fn events(body: &[u8], prices: &Prices) -> Result<Vec<InboundEvent>, InboundError> {
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|e| InboundError::Malformed(format!("not a WhatsApp webhook: {e}")))?;
    let mut out = Vec::new();
    let values: Vec<Value> = payload
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .map(|c| c.value)
        .collect();
    for value in &values {
        let to = value
            .metadata
            .as_ref()
            .and_then(|m| m.display_phone_number.as_deref())
            .map(e164)
            .unwrap_or_default();
        for m in &value.messages {
            let (text, media) = match m.kind.as_str() {
                "text" => (
                    m.text.as_ref().map(|t| t.body.clone()).unwrap_or_default(),
                    None,
                ),
                "image" | "document" => {
                    let Some(item) = m.image.as_ref().or(m.document.as_ref()) else {
                        continue;
                    };
                    (
                        item.caption.clone().unwrap_or_default(),
                        Some(foghorn_core::InboundMedia {
                            id: item.id.clone(),
                            mime_type: item.mime_type.clone(),
                            sha256: item.sha256.clone(),
                            filename: item.filename.clone(),
                            caption: item.caption.clone(),
                        }),
                    )
                }
                _ => continue,
            };
            out.push(InboundEvent::Message {
                provider_message_id: Some(m.id.clone()),
                from: e164(&m.from),
                to: to.clone(),
                text,
                media,
            });
        }
    }
    for status in values.into_iter().flat_map(|v| v.statuses) {
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
            price: prices.of(state, status.pricing.as_ref()),
            recipient: status.recipient_id.map(|r| format!("+{r}")),
        });
    }
    Ok(out)
}
