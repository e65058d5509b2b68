//! What a delivery report means for its notification: the status it moves
//! to, the timeline entry, the final price, and — for hard bounces,
//! complaints and unsubscribes — the address's place on the suppression list.

use foghorn_core::{normalise_address, Channel, DeliveryState, Money, Status};
use foghorn_store::{ConsentAction, Effect, NotificationRow, SOFT_BOUNCE};

/// A status event's facts (the fields of `InboundEvent::Status` that matter
/// once the notification is found).
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    pub state: DeliveryState,
    pub error_code: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub recipient: Option<&'a str>,
    pub price: Option<&'a Money>,
}

/// The timeline's name for a reported state.
pub fn timeline_kind(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Sent => "sent",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Read => "read",
        DeliveryState::Failed => "failed",
        DeliveryState::Undelivered => "undelivered",
        DeliveryState::BouncedHard => "hard_bounce",
        DeliveryState::BouncedSoft => "soft_bounce",
        DeliveryState::Complained => "complained",
        DeliveryState::Opened => "opened",
        DeliveryState::Clicked => "clicked",
        DeliveryState::Unsubscribed => "unsubscribed",
    }
}

/// `what (code)`: a status reason names the outcome and the provider's
/// code, never the provider's words (which may quote the address; they are
/// sealed on the timeline).
fn reason(what: &str, code: Option<&str>) -> String {
    match code {
        Some(c) => format!("{what} ({c})"),
        None => what.to_string(),
    }
}

/// The status a state moves the notification to, with its reason; None
/// for states recorded on the timeline only.
fn status_of(r: &Report<'_>) -> Option<(Status, Option<String>)> {
    Some(match r.state {
        DeliveryState::Delivered => (Status::Delivered, None),
        DeliveryState::Read => (Status::Read, None),
        DeliveryState::Failed => (Status::Failed, Some(reason("failed", r.error_code))),
        DeliveryState::Undelivered => (Status::Failed, Some(reason("undelivered", r.error_code))),
        DeliveryState::BouncedHard => (Status::Bounced, Some(reason("hard bounce", r.error_code))),
        DeliveryState::BouncedSoft => (Status::Bounced, Some(reason(SOFT_BOUNCE, r.error_code))),
        DeliveryState::Sent
        | DeliveryState::Complained
        | DeliveryState::Opened
        | DeliveryState::Clicked
        | DeliveryState::Unsubscribed => return None,
    })
}

/// The address the report is about: the one it names, else the one the
/// notification went to. None for team channels (nothing to suppress).
fn address(r: &Report<'_>, n: &NotificationRow, channel: Channel) -> Option<String> {
    if channel.is_team_destination() {
        return None;
    }
    let own = || {
        let facts = foghorn_core::Recipient::parse(&n.recipient);
        let addr = facts.address.or_else(|| facts.contact.address(channel))?;
        Some(addr.as_str().to_string())
    };
    let raw = r
        .recipient
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
        .or_else(own)?;
    Some(normalise_address(channel, &raw))
}

/// Everything one report changes about notification `n`, reported by a
/// provider of kind `kind`.
pub fn effects(r: &Report<'_>, n: &NotificationRow, kind: &str) -> Vec<Effect> {
    let mut out = vec![Effect::Timeline {
        kind: timeline_kind(r.state).to_string(),
        code: r.error_code.map(str::to_string),
        detail: r.detail.map(str::to_string),
    }];
    if let Some((status, reason)) = status_of(r) {
        out.push(Effect::Status { status, reason });
    }
    if let Some(p) = r.price {
        out.push(Effect::Cost {
            micros: p.micros,
            currency: p.currency.clone(),
        });
    }
    let suppress = match r.state {
        DeliveryState::BouncedHard => Some(("bounced", "hard bounce")),
        DeliveryState::Complained => Some(("complained", "complaint")),
        DeliveryState::Unsubscribed => Some(("unsubscribed", "unsubscribe")),
        _ => None,
    };
    let channel = Some(n.channel);
    if let (Some((why, what)), Some(channel)) = (suppress, channel) {
        if let Some(address) = address(r, n, channel) {
            let source = format!("{kind} {what}");
            if r.state == DeliveryState::Unsubscribed {
                out.push(Effect::Consent {
                    channel,
                    address: address.clone(),
                    action: ConsentAction::OptOut,
                    keyword: None,
                    source: source.clone(),
                });
            }
            out.push(Effect::Suppress {
                channel,
                address,
                reason: why.to_string(),
                source,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(to: &str) -> NotificationRow {
        NotificationRow {
            id: "ntf_1".into(),
            tenant_id: "default".into(),
            event_id: "evt_1".into(),
            workflow: "w".into(),
            step: 0,
            channel: Channel::Email,
            subscriber_id: None,
            recipient: serde_json::json!({"email": to, "address": {"kind": "email", "value": to}})
                .to_string(),
            status: foghorn_core::Status::Sent,
            status_reason: None,
            grouping_key: None,
            idempotency_key: None,
            provider: None,
            provider_message_id: None,
            cost_micros: None,
            currency: None,
            attempts: 1,
            parent_id: None,
            send_at: None,
            created_at: 0,
            updated_at: 0,
            acknowledged_at: None,
            acknowledged_by: None,
            acknowledged_via: None,
            escalates: None,
        }
    }

    fn report(state: DeliveryState) -> Report<'static> {
        Report {
            state,
            error_code: None,
            detail: None,
            recipient: None,
            price: None,
        }
    }

    #[test]
    fn a_hard_bounce_is_bounced_and_suppresses_the_notifications_address() {
        let r = Report {
            error_code: Some("550"),
            detail: Some("mailbox owner@example.com unknown"),
            ..report(DeliveryState::BouncedHard)
        };
        let e = effects(&r, &email("Owner@Example.com"), "mailgun");
        assert!(e.contains(&Effect::Status {
            status: Status::Bounced,
            reason: Some("hard bounce (550)".into())
        }));
        assert!(e.contains(&Effect::Suppress {
            channel: Channel::Email,
            address: "owner@example.com".into(),
            reason: "bounced".into(),
            source: "mailgun hard bounce".into(),
        }));
        let Effect::Timeline { kind, detail, .. } = &e[0] else {
            panic!("{e:?}")
        };
        assert_eq!(kind, "hard_bounce");
        assert!(detail.as_deref().unwrap().contains("unknown"));
    }

    #[test]
    fn complaints_keep_the_status_and_opens_are_timeline_only() {
        let r = Report {
            recipient: Some("other@example.com"),
            ..report(DeliveryState::Complained)
        };
        let e = effects(&r, &email("a@example.com"), "sendgrid");
        assert!(!e.iter().any(|x| matches!(x, Effect::Status { .. })));
        assert!(e.iter().any(|x| matches!(x,
            Effect::Suppress { address, reason, .. } if address == "other@example.com" && reason == "complained")));
        for state in [
            DeliveryState::Opened,
            DeliveryState::Clicked,
            DeliveryState::Sent,
        ] {
            let e = effects(&report(state), &email("a@example.com"), "postmark");
            assert_eq!(e.len(), 1, "{state:?}: {e:?}");
        }
        let e = effects(
            &report(DeliveryState::Unsubscribed),
            &email("a@example.com"),
            "postmark",
        );
        assert!(e.iter().any(|x| matches!(
            x,
            Effect::Consent {
                action: ConsentAction::OptOut,
                ..
            }
        )));
    }

    #[test]
    fn failures_carry_the_code_and_prices_replace_the_cost() {
        let price = Money::new(7_900, "USD");
        let r = Report {
            error_code: Some("30005"),
            price: Some(&price),
            ..report(DeliveryState::Undelivered)
        };
        let mut n = email("a@example.com");
        n.channel = Channel::Sms;
        let e = effects(&r, &n, "twilio");
        assert!(e.contains(&Effect::Status {
            status: Status::Failed,
            reason: Some("undelivered (30005)".into())
        }));
        assert!(e.contains(&Effect::Cost {
            micros: 7_900,
            currency: "USD".into()
        }));
        assert!(!e.iter().any(|x| matches!(x, Effect::Suppress { .. })));
    }
}
