//! The person one notification is for, as every layer shares it: the
//! [`Contact`] an event or a subscriber gives, and the [`Recipient`] facts a
//! notification keeps (who, where it goes, from which number, planned with
//! which workflow). One type, so the planner, the sender, the callback
//! handlers and the preview read the same fields instead of JSON keys.

use crate::{Address, Channel};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How to reach a person: the one declaration that an inline recipient, a
/// subscriber as the API takes and shows it, a subscriber row and a
/// notification's recipient all flatten in, so a new field (a Slack user id,
/// say) is added once. Strict when read from a request: a field that is not
/// text is refused there; [`Recipient::parse`] is the lenient reader of
/// stored rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "sql", derive(sqlx::FromRow))]
pub struct Contact {
    pub email: Option<String>,
    /// E.164, e.g. `+12025550142`, or a national number read with
    /// `country`; stored in E.164.
    pub phone: Option<String>,
    /// Like `phone`; WhatsApp sends fall back to `phone`.
    pub whatsapp: Option<String>,
    /// BCP 47, e.g. `en`, `fr-FR`; picks the template's language.
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 35,
            pattern = r"^[A-Za-z][A-Za-z0-9]{0,7}([-_][A-Za-z0-9]{1,8})*$"
        )
    )]
    pub locale: Option<String>,
    /// IANA tz database zone, e.g. `Europe/Paris`.
    #[cfg_attr(feature = "openapi", schema(example = "Europe/Paris"))]
    pub timezone: Option<String>,
    /// ISO 3166-1 alpha-2; reads national phone numbers.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[A-Za-z]{2}$"))]
    pub country: Option<String>,
    /// How the person is named in messages (`recipient.name`).
    // Not a column of a subscriber row: it is kept in the row's data.
    #[cfg_attr(feature = "sql", sqlx(default))]
    pub name: Option<String>,
}

/// The contact fields, as the lenient reader of stored rows knows them.
const CONTACT_FIELDS: [&str; 7] = [
    "email", "phone", "whatsapp", "locale", "timezone", "country", "name",
];

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
    /// Planned by a critical workflow: preferences do not hold it at send
    /// time either, even if the workflow has changed since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub critical: bool,
    /// The tenant's mention for the named destination this goes to, in
    /// place of the step's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention: Option<String>,
    /// One reminder of a series: its templates read its own days left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<Reminder>,
    /// It sends a digest: the events its notification collected (its
    /// parent's, for a fallback).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub digest: bool,
}

/// Which reminder of a series a notification is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// As the workflow wrote it: `-30d`.
    pub offset: String,
    /// Days from the reminder to the series' date.
    pub days_left: i64,
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
    /// A contact field that is not text (a `name` copied from data that
    /// held a number, in rows of older versions) reads as absent rather
    /// than failing the row.
    pub fn parse(text: &str) -> Recipient {
        let Ok(mut v) = serde_json::from_str::<Value>(text) else {
            return Recipient::default();
        };
        if let Value::Object(m) = &mut v {
            m.retain(|k, v| !CONTACT_FIELDS.contains(&k.as_str()) || v.is_string());
        }
        serde_json::from_value(v).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// What the templates see: the person, without the delivery facts. An
    /// absent field is undefined, not null, so `default(...)` applies.
    pub fn template_view(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            for k in [
                "address",
                "sender",
                "tenant_target",
                "workflow_version",
                "reminder",
                "digest",
            ] {
                m.remove(k);
            }
            m.retain(|_, v| !v.is_null());
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
        assert!(view.get("phone").is_none(), "absent is undefined: {view}");
    }

    #[test]
    fn a_contact_from_a_request_is_text_or_refused() {
        let ok: Contact = serde_json::from_value(json!({"email": "a@example.com", "phone": null}))
            .expect("text reads");
        assert_eq!(
            (ok.email.as_deref(), ok.phone.as_deref()),
            (Some("a@example.com"), None)
        );
        assert!(serde_json::from_value::<Contact>(json!({"email": 5})).is_err());
        // Every field is written, absent ones as null, so requests and
        // answers keep the shape they had before the type.
        let shown = serde_json::to_value(&ok).expect("serialises");
        assert_eq!(
            shown.as_object().map(|m| m.len()),
            Some(CONTACT_FIELDS.len())
        );
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
