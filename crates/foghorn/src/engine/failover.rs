//! The default failover order of a channel's providers, used when
//! `[channels.<channel>].providers` does not set one: the one place that
//! order is written down (a per-tenant or per-country order would start
//! from here).
//!
//! Only configured providers take part; kinds not listed here (a webhook
//! relay, say) come after the listed ones, by name.

use foghorn_core::Channel;

/// Email: the HTTP APIs first (delivery events, idempotent ids), plain SMTP last.
const EMAIL: &[&str] = &["mailgun", "sendgrid", "postmark", "smtp"];
/// SMS, by reach and price.
const SMS: &[&str] = &["twilio", "vonage", "plivo", "messagebird", "bandwidth"];

/// Provider kinds in the order a channel tries them by default.
pub fn default_order(channel: Channel) -> &'static [&'static str] {
    match channel {
        Channel::Email => EMAIL,
        Channel::Sms => SMS,
        _ => &[],
    }
}

/// A sort key: a provider's place in its channel's default order.
pub fn rank(channel: Channel, kind: &str) -> usize {
    let order = default_order(channel);
    order.iter().position(|k| *k == kind).unwrap_or(order.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_and_sms_follow_the_documented_order() {
        let mut kinds = ["smtp", "webhook", "postmark", "mailgun", "sendgrid"];
        kinds.sort_by_key(|k| rank(Channel::Email, k));
        assert_eq!(
            kinds,
            ["mailgun", "sendgrid", "postmark", "smtp", "webhook"]
        );
        let mut kinds = ["bandwidth", "messagebird", "plivo", "vonage", "twilio"];
        kinds.sort_by_key(|k| rank(Channel::Sms, k));
        assert_eq!(
            kinds,
            ["twilio", "vonage", "plivo", "messagebird", "bandwidth"]
        );
    }
}
