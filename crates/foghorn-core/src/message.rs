//! What a provider is asked to send, and what it answers on success.

use crate::{Channel, Money, TenantId};
use serde::{Deserialize, Serialize};

/// Where one notification goes. Person channels carry an address; team
/// channels carry the destination URL (a webhook) or the chat channel a
/// bot posts to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Address {
    Email(String),
    Phone(String),
    Url(String),
    /// A chat channel id reached through the app's bot (Slack `C0123456789`,
    /// a Discord channel id).
    Channel(String),
}

impl Address {
    pub fn as_str(&self) -> &str {
        match self {
            Address::Email(s) | Address::Phone(s) | Address::Url(s) | Address::Channel(s) => s,
        }
    }
}

/// The canonical form of an address on `channel`, as suppression lists and
/// the consent ledger key it: emails trimmed and lower-cased; phone numbers
/// reduced to `+` and digits (providers write `15555550142`, `+1 555-555-0142`
/// or `+15555550142` for the same number).
pub fn normalise_address(channel: Channel, raw: &str) -> String {
    let raw = raw.trim();
    match channel {
        Channel::Sms | Channel::Voice | Channel::Whatsapp => {
            let raw = raw.strip_prefix("whatsapp:").unwrap_or(raw);
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            let looks_like_number = !digits.is_empty()
                && raw
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
            if looks_like_number {
                format!("+{digits}")
            } else {
                // A short code or alphanumeric sender: kept as written.
                raw.to_string()
            }
        }
        _ => raw.to_lowercase(),
    }
}

/// A message after template rendering. Which fields are set depends on the
/// channel: email has subject, HTML and text; SMS has text; webhook has a JSON
/// body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rendered {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// Team channels: the message as a card, drawn by the app's provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<crate::team::Card>,
    /// WhatsApp: the approved template to send (a business may start a
    /// conversation only with one), its parameters rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<MessageTemplate>,
}

/// A message template approved with the provider, by name and language,
/// with the values of its body parameters in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTemplate {
    pub name: String,
    /// `en_US`, `fr`: the language the template was approved in.
    pub language: String,
    pub params: Vec<String>,
    /// The same template in Twilio's Content API (`HX…`), for a Twilio
    /// WhatsApp sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sid: Option<String>,
}

/// One send request handed to a provider.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// Stable across retries; providers that support idempotency keys get it.
    pub notification_id: String,
    pub tenant_id: TenantId,
    pub event_id: String,
    pub event_name: String,
    pub channel: Channel,
    pub to: Address,
    pub content: Rendered,
    /// Tags for provider-side analytics (the workflow's category, its name).
    pub tags: Vec<String>,
    /// Extra headers for channels that have them (email: `List-Unsubscribe`,
    /// `List-Unsubscribe-Post`).
    pub headers: Vec<(String, String)>,
    /// Sender chosen by the engine (per tenant and country); providers fall
    /// back to their configured default when None.
    pub from: Option<String>,
    /// The `to` URL was written by a tenant (a step of its own workflow), so
    /// reaching it obeys the tenants' private-target rule, not the
    /// operator's.
    pub tenant_target: bool,
    /// Team channels: the thread earlier messages about the same entity
    /// started on this destination (Slack's `thread_ts`, a Discord thread
    /// id).
    pub thread: Option<String>,
}

/// A provider's acceptance of a message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Receipt {
    pub provider_message_id: Option<String>,
    pub cost: Option<Money>,
    /// HTTP status of the accepting answer, for the attempts timeline.
    pub http_status: Option<u16>,
    /// Set by the sandbox: the message as it would have gone out, kept for
    /// the sandbox inbox.
    pub captured: Option<Rendered>,
    /// Team channels: the thread this message can start, for the next
    /// message about the same entity (Slack: the message's `ts`).
    pub thread: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_normalise_per_channel() {
        for raw in [
            "+15555550142",
            "15555550142",
            " +1 555-555-0142 ",
            "whatsapp:+15555550142",
        ] {
            assert_eq!(
                normalise_address(Channel::Sms, raw),
                "+15555550142",
                "{raw}"
            );
        }
        assert_eq!(normalise_address(Channel::Sms, "NAVIDOCS"), "NAVIDOCS");
        assert_eq!(
            normalise_address(Channel::Email, " Owner@Example.COM "),
            "owner@example.com"
        );
    }
}
