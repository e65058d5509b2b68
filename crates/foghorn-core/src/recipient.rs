//! The person one notification is for, as every layer shares it: the
//! [`Contact`] an event or a subscriber gives, and the [`Recipient`] facts a
//! notification keeps (who, where it goes, from which number, planned with
//! which workflow). One type, so the planner, the sender, the callback
//! handlers and the preview read the same fields instead of JSON keys.

use crate::{Address, Channel};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How to reach a person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub email: Option<String>,
    /// E.164.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub phone: Option<String>,
    /// E.164; WhatsApp falls back to `phone`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub whatsapp: Option<String>,
    /// BCP 47, picks the template's language.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub locale: Option<String>,
    /// IANA zone.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub timezone: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub country: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text"
    )]
    pub name: Option<String>,
}

/// A contact field as text; anything else (a subscriber's `name` taken from
/// data that held a number) reads as absent rather than failing the row.
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

impl Contact {
    /// The address `channel` reaches this person at, if they have one.
    pub fn address(&self, channel: Channel) -> Option<Address> {
        let field = |f: &Option<String>| f.clone().filter(|s| !s.is_empty());
        match channel {
            Channel::Email => field(&self.email).map(Address::Email),
            Channel::Sms | Channel::Voice => field(&self.phone).map(Address::Phone),
            Channel::Whatsapp => field(&self.whatsapp)
                .or_else(|| field(&self.phone))
                .map(Address::Phone),
            Channel::Webhook | Channel::Slack | Channel::Discord => None,
        }
    }
}

/// A notification's recipient, as its row keeps it (JSON, sealed at rest).
/// Templates see it as `recipient` (`recipient.name`, `recipient.data.x`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    /// The subscriber id: a stored subscriber's, or an inline recipient's
    /// own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub contact: Contact,
    /// A stored subscriber's own data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Where the notification goes, fixed when it is planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The number to send from: a keyword reply goes out from the number
    /// the person wrote to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The destination came from a tenant (its inbound webhook URL), so it
    /// is reached under the tenants' private-target rule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tenant_target: bool,
    /// The version of the tenant's workflow the notification was planned
    /// with, so a node holding an older copy knows to read the newer one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<i64>,
}

impl Recipient {
    /// A team destination: only where it goes.
    pub fn destination(address: Address) -> Recipient {
        Recipient {
            address: Some(address),
            ..Recipient::default()
        }
    }

    /// The stored facts; a row that does not read (written by a future
    /// version, say) is a recipient with no facts, which the sender then
    /// refuses for want of an address rather than guessing.
    pub fn parse(text: &str) -> Recipient {
        serde_json::from_str(text).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// What the templates see: the person, without the delivery facts.
    pub fn template_view(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            for k in ["address", "sender", "tenant_target", "workflow_version"] {
                m.remove(k);
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_written_before_the_type_still_read() {
        let row = json!({
            "id": "s1", "email": "a@example.com", "phone": null, "whatsapp": null,
            "locale": "fr", "timezone": null, "country": "FR", "name": "Ana",
            "data": {"boat": "B"}, "address": {"kind": "email", "value": "a@example.com"},
            "workflow_version": 3, "tenant_target": true, "sender": "+15555550100"
        });
        let r = Recipient::parse(&row.to_string());
        assert_eq!(r.id.as_deref(), Some("s1"));
        assert_eq!(r.contact.locale.as_deref(), Some("fr"));
        assert_eq!(r.address, Some(Address::Email("a@example.com".into())));
        assert_eq!((r.workflow_version, r.tenant_target), (Some(3), true));
        assert_eq!(r.sender.as_deref(), Some("+15555550100"));
        assert_eq!(Recipient::parse(&r.to_json()), r);
        let view = r.template_view();
        assert_eq!(view["name"], "Ana");
        assert_eq!(view["data"]["boat"], "B");
        assert!(view.get("address").is_none() && view.get("sender").is_none());
    }

    #[test]
    fn each_channel_has_its_address() {
        let c = Contact {
            email: Some("a@example.com".into()),
            phone: Some("+12025550142".into()),
            ..Contact::default()
        };
        assert_eq!(
            c.address(Channel::Email),
            Some(Address::Email("a@example.com".into()))
        );
        assert_eq!(
            c.address(Channel::Whatsapp),
            Some(Address::Phone("+12025550142".into()))
        );
        assert_eq!(c.address(Channel::Slack), None);
        assert_eq!(Contact::default().address(Channel::Sms), None);
        assert_eq!(Recipient::parse("not json"), Recipient::default());
        let odd = Recipient::parse(r#"{"name": 42, "email": "a@example.com"}"#);
        assert_eq!(
            (odd.contact.name, odd.contact.email.as_deref()),
            (None, Some("a@example.com"))
        );
    }
}
