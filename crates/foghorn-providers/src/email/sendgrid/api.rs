//! SendGrid's wire format: the v3 Mail Send body and its answers, and the
//! Event Webhook's events.
//!
//! Facts relied on (Twilio SendGrid OpenAPI spec twilio/sendgrid-oai
//! `spec/json/tsg_mail_v3.json`, path `/v3/mail/send`; docs "Mail Send",
//! "Errors", "Event Webhook Reference", "Getting Started with the Event
//! Webhook Security Features"; SDKs sendgrid/sendgrid-nodejs
//! `packages/helpers/classes/mail.js`, `packages/client/src/classes/client.js`,
//! `packages/eventwebhook/src/eventwebhook.js` and sendgrid/sendgrid-go
//! `helpers/eventwebhook/eventwebhook.go`):
//!
//! - `POST {https://api.sendgrid.com | https://api.eu.sendgrid.com}/v3/mail/send`,
//!   `Authorization: Bearer <API key>`, JSON; the Node client also sends
//!   `Accept: application/json` on every request.
//! - Body: `personalizations[]` (each with `to[]` of `{email, name?}` and an
//!   optional `custom_args` object, string values, at most 10,000 bytes in
//!   all; personalization-level `custom_args` override message-level ones),
//!   `from {email, name?}`, `reply_to {email, name?}`, `subject` (min length
//!   1), `content[]` of `{type, value}` (each value min length 1; the Node
//!   helper adds `text/plain` before `text/html`, the order the docs require),
//!   `headers` (an object; `x-sg-id`, `x-sg-eid`, `received`,
//!   `dkim-signature`, `Content-Type`, `Content-Transfer-Encoding`, `To`,
//!   `From`, `Subject`, `Reply-To`, `CC`, `BCC` may not be set), `categories`
//!   (unique, at most 10, each at most 255 characters).
//! - Success is `202 Accepted` with an empty body and the message id in the
//!   `X-Message-Id` header; `200` only happens in sandbox mode, where the
//!   message is validated but not delivered.
//! - Errors carry `{"errors": [{"message", "field"?, "help"?}]}`: 400 bad
//!   request, 401 bad key (or credits exhausted), 403 forbidden (e.g. a sender
//!   that is not a verified identity), 404, 413 payload too large, 429 rate
//!   limited (with `X-RateLimit-Reset`, unix seconds), 5xx.
//! - Event Webhook: a POST of a JSON array of events. Signed webhooks carry
//!   `X-Twilio-Email-Event-Webhook-Signature` (base64 of an ASN.1 DER ECDSA
//!   signature) and `X-Twilio-Email-Event-Webhook-Timestamp`; the signature is
//!   ECDSA P-256 over SHA-256 of the timestamp header's text followed by the
//!   raw body; the verification key is shown as base64 DER
//!   SubjectPublicKeyInfo.
//! - Event fields: `event` (`processed`, `delivered`, `deferred`, `bounce`
//!   with `type` `bounce` or `blocked`, `dropped`, `spamreport`, `open`,
//!   `click`, `unsubscribe`, `group_unsubscribe`, …), `email`, `timestamp`,
//!   `sg_event_id`, `sg_message_id` (the `X-Message-Id`, a dot, then a
//!   suffix), `reason`, `status` (enhanced status code), `response`,
//!   `attempt`; custom args appear as top-level keys of each event.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const MAX_CATEGORIES: usize = 10;
pub const MAX_CATEGORY_CHARS: usize = 255;
/// Headers SendGrid sets itself, beyond those every email provider does
/// (`Reply-To` is sent as `reply_to` instead).
pub const RESERVED_HEADERS: [&str; 4] = ["x-sg-id", "x-sg-eid", "received", "dkim-signature"];
pub const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
pub const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";
/// The custom arg carrying our notification id; events repeat it as a
/// top-level `notification_id` key.
pub const NOTIFICATION_ARG: &str = "notification_id";

#[derive(Debug, Serialize)]
pub struct Mail<'a> {
    pub personalizations: Vec<Personalization<'a>>,
    pub from: EmailAddress<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<EmailAddress<'a>>,
    pub subject: &'a str,
    pub content: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct Personalization<'a> {
    pub to: Vec<EmailAddress<'a>>,
    pub custom_args: BTreeMap<&'a str, &'a str>,
}

#[derive(Debug, Serialize)]
pub struct EmailAddress<'a> {
    pub email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct Content<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub value: &'a str,
}

/// An error answer's body.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorItem {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
}

/// One Event Webhook event; fields Foghorn does not use are ignored.
#[derive(Debug, Deserialize)]
pub struct Event {
    pub event: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub sg_event_id: Option<String>,
    #[serde(default)]
    pub sg_message_id: Option<String>,
    #[serde(default, rename = "type")]
    pub bounce_type: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub status: Option<Value>,
    #[serde(default)]
    pub response: Option<String>,
    #[serde(default)]
    pub attempt: Option<Value>,
    /// Our custom arg, echoed at the top level.
    #[serde(default, rename = "notification_id")]
    pub notification_id: Option<Value>,
}
