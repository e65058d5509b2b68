//! Incoming SMS: the consent keywords (CTIA's STOP, START and HELP families),
//! confirmations of receipt (1, OK, YES) when a notification awaits one,
//! and everything else, which goes to the tenant's webhook as
//! `sms.received`.
//!
//! An opt-out writes a consent ledger row and suppresses the number for SMS;
//! an opt-in writes a row and lifts the suppression. A confirmation is sent
//! unless the provider sends its own (Twilio does on long codes).

use crate::workflow::system::{SMS_RECEIVED, SMS_REPLY};
use foghorn_core::{normalise_address, Address, Channel, Contact, Recipient};
use foghorn_store::{ConsentAction, Effect, SystemMessage};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Stop,
    Start,
    Help,
}

/// The keyword a message is, by its first word (trimmed, upper-cased, with
/// trailing punctuation ignored: "Stop." is STOP); None for anything else.
pub fn keyword(text: &str) -> Option<(Keyword, String)> {
    let word = text
        .split_whitespace()
        .next()?
        .trim_end_matches(['.', '!', ','])
        .to_uppercase();
    let k = match word.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => Keyword::Stop,
        "START" | "YES" | "UNSTOP" => Keyword::Start,
        "HELP" | "INFO" => Keyword::Help,
        _ => return None,
    };
    Some((k, word))
}

/// Whether a message confirms receipt: `1`, `OK` or `YES` alone (any case,
/// trailing punctuation ignored). YES keeps its START meaning as well.
pub fn is_confirmation(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let (Some(word), None) = (words.next(), words.next()) else {
        return false;
    };
    matches!(
        word.trim_end_matches(['.', '!', ','])
            .to_uppercase()
            .as_str(),
        "1" | "OK" | "YES"
    )
}

/// What a confirmation the person's notification awaited does: YES still
/// opts in (so a STOP is undone only by the word that means it), and the
/// person hears that it was recorded.
pub fn confirmed(m: &Incoming<'_>, ctx: &Context<'_>) -> Vec<Effect> {
    let number = normalise_address(Channel::Sms, m.from);
    let mut out: Vec<Effect> = match keyword(m.text) {
        Some((Keyword::Start, _)) => effects(m, ctx),
        _ => Vec::new(),
    };
    let text = setting(ctx.settings, "sms_acknowledged_reply", ACKNOWLEDGED_REPLY);
    out.push(reply(&number, m.to, text, "CONFIRM"));
    out
}

/// An incoming message as the provider reported it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub text: &'a str,
    pub provider_message_id: Option<&'a str>,
    /// The sender's preference centre, when the number is a subscriber's:
    /// a HELP reply offers it.
    pub preferences_url: Option<&'a str>,
}

/// Who received it and what the tenant configured.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The provider's kind, recorded in the ledger.
    pub kind: &'a str,
    /// The provider answers keywords itself.
    pub provider_replies: bool,
    /// The tenant's settings (JSON object).
    pub settings: &'a Value,
    /// Epoch ms.
    pub now: i64,
}

const STOP_REPLY: &str =
    "You are unsubscribed and will receive no more messages. Reply START to resubscribe.";
const START_REPLY: &str = "You are subscribed again. Reply STOP to unsubscribe, HELP for help.";
const ACKNOWLEDGED_REPLY: &str = "Thank you, your confirmation has been recorded.";
const HELP_TEXT: &str =
    "Reply STOP to unsubscribe, START to resubscribe. Message and data rates may apply.";

fn setting<'a>(settings: &'a Value, key: &str, default: &'a str) -> &'a str {
    settings
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(default)
}

/// A reply from the number the message was sent to.
fn reply(to: &str, from_our_number: &str, text: &str, keyword: &str) -> Effect {
    Effect::Send(SystemMessage {
        event_name: SMS_REPLY.into(),
        workflow: SMS_REPLY.into(),
        channel: Channel::Sms,
        data: json!({"text": text, "keyword": keyword}).to_string(),
        recipient: Recipient {
            contact: Contact {
                phone: Some(to.to_string()),
                ..Contact::default()
            },
            address: Some(Address::Phone(to.to_string())),
            sender: Some(from_our_number.to_string()),
            ..Recipient::default()
        }
        .to_json(),
    })
}

/// Everything one incoming message changes.
pub fn effects(m: &Incoming<'_>, ctx: &Context<'_>) -> Vec<Effect> {
    let number = normalise_address(Channel::Sms, m.from);
    let Some((k, word)) = keyword(m.text) else {
        return vec![forward(m, ctx)];
    };
    let source = "sms keyword".to_string();
    let mut out = Vec::new();
    let text = match k {
        Keyword::Stop => {
            out.push(Effect::Consent {
                channel: Channel::Sms,
                address: number.clone(),
                action: ConsentAction::OptOut,
                keyword: Some(word.clone()),
                source: source.clone(),
            });
            out.push(Effect::Suppress {
                channel: Channel::Sms,
                address: number.clone(),
                reason: "unsubscribed".into(),
                source,
            });
            setting(ctx.settings, "sms_stop_reply", STOP_REPLY)
        }
        Keyword::Start => {
            out.push(Effect::Consent {
                channel: Channel::Sms,
                address: number.clone(),
                action: ConsentAction::OptIn,
                keyword: Some(word.clone()),
                source: source.clone(),
            });
            out.push(Effect::Unsuppress {
                channel: Channel::Sms,
                address: number.clone(),
                source,
            });
            setting(ctx.settings, "sms_start_reply", START_REPLY)
        }
        Keyword::Help => setting(ctx.settings, "sms_help_text", HELP_TEXT),
    };
    let text = match (k, m.preferences_url) {
        (Keyword::Help, Some(url)) => format!("{text} Your preferences: {url}"),
        _ => text.to_string(),
    };
    if !ctx.provider_replies {
        out.push(reply(&number, m.to, &text, &word));
    }
    out
}

/// The message, for the tenant's webhook: the tenant's
/// `inbound_webhook_url`, else the webhook provider's own url.
fn forward(m: &Incoming<'_>, ctx: &Context<'_>) -> Effect {
    Effect::Send(SystemMessage {
        event_name: SMS_RECEIVED.into(),
        workflow: SMS_RECEIVED.into(),
        channel: Channel::Webhook,
        data: json!({
            "from": normalise_address(Channel::Sms, m.from),
            "to": normalise_address(Channel::Sms, m.to),
            "text": m.text,
            "provider": ctx.kind,
            "provider_message_id": m.provider_message_id,
            "received_at": super::received_at(ctx.now),
        })
        .to_string(),
        recipient: super::tenant_inbound_webhook(ctx.settings),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(settings: &'a Value, provider_replies: bool) -> Context<'a> {
        Context {
            kind: "plivo",
            provider_replies,
            settings,
            now: 0,
        }
    }

    #[test]
    fn confirmations_are_one_word_and_yes_still_opts_in() {
        for text in ["1", " ok ", "Ok.", "YES", "yes!"] {
            assert!(is_confirmation(text), "{text}");
        }
        for text in ["", "11", "ok thanks", "yes please call", "no", "STOP"] {
            assert!(!is_confirmation(text), "{text}");
        }
        let settings = json!({});
        let m = |text| Incoming {
            preferences_url: None,
            from: "+15555550142",
            to: "+15555550100",
            text,
            provider_message_id: None,
        };
        let e = confirmed(&m("1"), &ctx(&settings, true));
        let [Effect::Send(reply)] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert!(reply.data.contains("confirmation has been recorded"));
        let e = confirmed(&m("yes"), &ctx(&settings, true));
        assert!(
            e.iter().any(|x| matches!(
                x,
                Effect::Consent {
                    action: ConsentAction::OptIn,
                    ..
                }
            )),
            "{e:?}"
        );
        assert!(matches!(e.last(), Some(Effect::Send(r)) if r.data.contains("confirmation")));
    }

    #[test]
    fn keywords_are_read_from_the_first_word_in_any_case() {
        for (text, k) in [
            ("STOP", Keyword::Stop),
            ("  stop please ", Keyword::Stop),
            ("Stop.", Keyword::Stop),
            ("stopall", Keyword::Stop),
            ("Unsubscribe", Keyword::Stop),
            ("cancel", Keyword::Stop),
            ("END", Keyword::Stop),
            ("quit", Keyword::Stop),
            ("start", Keyword::Start),
            ("Yes", Keyword::Start),
            ("UNSTOP", Keyword::Start),
            ("help", Keyword::Help),
            ("Info!", Keyword::Help),
        ] {
            assert_eq!(keyword(text).map(|x| x.0), Some(k), "{text}");
        }
        for text in ["", "   ", "don't stop", "stopper", "Where is my boat?"] {
            assert_eq!(keyword(text), None, "{text}");
        }
    }

    #[test]
    fn stop_opts_out_suppresses_and_replies_unless_the_provider_does() {
        let settings = json!({"sms_stop_reply": "Bye from NaviDocs"});
        let m = Incoming {
            preferences_url: None,
            from: "15555550142",
            to: "+15555550100",
            text: "stop",
            provider_message_id: Some("m1"),
        };
        let e = effects(&m, &ctx(&settings, false));
        assert!(e.contains(&Effect::Suppress {
            channel: Channel::Sms,
            address: "+15555550142".into(),
            reason: "unsubscribed".into(),
            source: "sms keyword".into(),
        }));
        assert!(e.iter().any(|x| matches!(x,
            Effect::Consent { action: ConsentAction::OptOut, keyword: Some(k), .. } if k == "STOP")));
        let Some(Effect::Send(reply)) = e.last() else {
            panic!("{e:?}")
        };
        assert_eq!(reply.workflow, SMS_REPLY);
        assert!(reply.data.contains("Bye from NaviDocs"));
        assert!(
            reply.recipient.contains("+15555550142") && reply.recipient.contains("+15555550100")
        );
        let e = effects(&m, &ctx(&settings, true));
        assert!(!e.iter().any(|x| matches!(x, Effect::Send(_))), "{e:?}");
    }

    #[test]
    fn start_lifts_help_answers_and_other_text_is_forwarded() {
        let settings = json!({"inbound_webhook_url": "https://navidocs.example/sms"});
        let m = |text| Incoming {
            preferences_url: None,
            from: "+15555550142",
            to: "+15555550100",
            text,
            provider_message_id: None,
        };
        let e = effects(&m("START"), &ctx(&settings, false));
        assert!(e.iter().any(|x| matches!(x, Effect::Unsuppress { .. })));
        let e = effects(&m("help"), &ctx(&settings, false));
        assert_eq!(e.len(), 1);
        assert!(matches!(&e[0], Effect::Send(s) if s.data.contains("Reply STOP")));
        assert!(matches!(&e[0], Effect::Send(s) if !s.data.contains("preferences")));
        // A subscriber's HELP also gets their preference centre.
        let mine = Incoming {
            preferences_url: Some("https://foghorn.example/p/tok"),
            ..m("HELP")
        };
        let e = effects(&mine, &ctx(&settings, false));
        assert!(matches!(&e[0], Effect::Send(s)
            if s.data.contains("Reply STOP") && s.data.contains("Your preferences: https://foghorn.example/p/tok")));
        let e = effects(
            &Incoming {
                preferences_url: Some("https://foghorn.example/p/tok"),
                ..m("STOP")
            },
            &ctx(&settings, false),
        );
        assert!(
            !e.iter()
                .any(|x| matches!(x, Effect::Send(s) if s.data.contains("/p/tok"))),
            "{e:?}"
        );
        let e = effects(&m("Is the survey done?"), &ctx(&settings, true));
        let [Effect::Send(s)] = e.as_slice() else {
            panic!("{e:?}")
        };
        assert_eq!(
            (s.event_name.as_str(), s.channel),
            (SMS_RECEIVED, Channel::Webhook)
        );
        assert!(s.recipient.contains("https://navidocs.example/sms"));
        let data: Value = serde_json::from_str(&s.data).unwrap();
        assert_eq!(data["text"], "Is the survey done?");
        assert_eq!(data["from"], "+15555550142");
    }
}
