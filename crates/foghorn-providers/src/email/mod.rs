//! Email providers: Mailgun, SendGrid and Postmark over their HTTP APIs, and
//! plain SMTP through `lettre`.
//!
//! Every email provider checks a message the same way before it talks to
//! anyone (an email address to send to, a subject, a body, headers that
//! cannot inject or override what the provider sets itself), and names the
//! sent message the same way (a Message-ID without angle brackets), so that
//! the ids a send returns and the ids a callback reports can be matched.
//! Those shared rules live here; each provider folder holds only what is
//! specific to its wire format.

pub mod mailgun;
pub mod postmark;
pub mod sendgrid;
pub mod smtp;
#[cfg(test)]
pub(crate) mod testkit;

use foghorn_core::{Address, InboundError, Outbound, ProviderError};
use std::time::Duration;

/// How far a signed callback timestamp may be from our clock: five minutes,
/// the window the providers' own verification helpers use.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Headers every email provider sets from the message itself; taking them
/// from `Outbound.headers` too would duplicate or silently override them.
const RESERVED_HEADERS: [&str; 10] = [
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

pub use foghorn_core::mailbox::{Mailbox, MailboxError};

/// What every email provider needs from a message, checked once.
#[derive(Debug, Clone)]
pub(crate) struct EmailParts<'a> {
    pub to: &'a str,
    /// The engine's sender when it chose one, else the provider's default.
    pub from: Mailbox,
    pub subject: &'a str,
    pub text: Option<&'a str>,
    pub html: Option<&'a str>,
    /// `Reply-To`, taken out of the headers: the HTTP APIs have a field of
    /// their own for it.
    pub reply_to: Option<Mailbox>,
    /// The remaining custom headers, in order, already validated.
    pub headers: Vec<(&'a str, &'a str)>,
}

impl<'a> EmailParts<'a> {
    /// `extra_reserved` adds the provider's own reserved header names
    /// (lower-case) to [`RESERVED_HEADERS`].
    pub fn from_message(
        msg: &'a Outbound,
        default_from: &Mailbox,
        extra_reserved: &[&str],
    ) -> Result<Self, ProviderError> {
        let to = match &msg.to {
            Address::Email(addr) => addr.as_str(),
            Address::Phone(_) | Address::Url(_) | Address::Channel(_) => {
                return Err(ProviderError::permanent(
                    "email providers deliver only to email addresses",
                ))
            }
        };
        Mailbox::parse(to).map_err(|e| ProviderError::permanent(format!("recipient: {e}")))?;
        let from = match msg.from.as_deref() {
            Some(text) => Mailbox::parse(text)
                .map_err(|e| ProviderError::permanent(format!("sender: {e}")))?,
            None => default_from.clone(),
        };
        let content = &msg.content;
        let subject = content
            .subject
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ProviderError::permanent("the email has no subject"))?;
        if subject.contains(['\r', '\n']) {
            return Err(ProviderError::permanent(
                "the subject contains a line break",
            ));
        }
        let text = content.text.as_deref().filter(|s| !s.is_empty());
        let html = content.html.as_deref().filter(|s| !s.is_empty());
        if text.is_none() && html.is_none() {
            return Err(ProviderError::permanent(
                "the email has neither a text nor an HTML body",
            ));
        }
        let mut reply_to = None;
        let mut headers = Vec::with_capacity(msg.headers.len());
        for (name, value) in &msg.headers {
            check_header(name, value)?;
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str())
                || extra_reserved.contains(&lower.as_str())
            {
                return Err(ProviderError::permanent(format!(
                    "header `{name}` is set by the provider and cannot be overridden"
                )));
            }
            if lower == "reply-to" {
                let mailbox = Mailbox::parse(value)
                    .map_err(|e| ProviderError::permanent(format!("Reply-To: {e}")))?;
                reply_to = Some(mailbox);
            } else {
                headers.push((name.as_str(), value.as_str()));
            }
        }
        Ok(EmailParts {
            to,
            from,
            subject,
            text,
            html,
            reply_to,
            headers,
        })
    }
}

/// RFC 5322 §2.2: a field name is printable ASCII without `:`; a value must
/// not carry a line break, which would let it start a header of its own.
fn check_header(name: &str, value: &str) -> Result<(), ProviderError> {
    let name_ok = !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
    if !name_ok {
        return Err(ProviderError::permanent(format!(
            "`{name}` is not a valid header name"
        )));
    }
    if value.contains(['\r', '\n', '\0']) {
        return Err(ProviderError::permanent(format!(
            "header `{name}` has a line break in its value"
        )));
    }
    Ok(())
}

/// Tags as a provider can take them: at most `max` of them, each at most
/// `max_len` characters, duplicates (case-insensitively) dropped. Tags are
/// analytics, so ones a provider would refuse are left out rather than
/// failing the message.
pub(crate) fn usable_tags(
    tags: &[String],
    max: usize,
    max_len: usize,
    ascii_only: bool,
) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for tag in tags {
        let tag = tag.trim();
        let fits = !tag.is_empty()
            && tag.chars().count() <= max_len
            && (!ascii_only || tag.is_ascii())
            && !tag.chars().any(char::is_control);
        if fits && !out.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            out.push(tag);
        }
        if out.len() == max {
            break;
        }
    }
    out
}

/// `<id@host>` → `id@host`. Providers disagree on brackets (Mailgun's send
/// answer has them, its webhooks do not), so ids are kept without them.
pub(crate) fn bare_message_id(id: &str) -> &str {
    let id = id.trim();
    id.strip_prefix('<')
        .and_then(|i| i.strip_suffix('>'))
        .unwrap_or(id)
}

/// Re-labels a classified error as a misconfiguration, keeping its reason
/// and status: for answers that mean "every message would fail like this".
pub(crate) fn as_misconfigured(err: ProviderError, why: &str) -> ProviderError {
    let http_status = err.http_status();
    let reason = match err {
        ProviderError::Retryable { reason, .. }
        | ProviderError::Permanent { reason, .. }
        | ProviderError::RateLimited { reason, .. }
        | ProviderError::Misconfigured { reason, .. } => reason,
    };
    ProviderError::Misconfigured {
        reason: format!("{why}: {reason}"),
        http_status,
    }
}

/// Keeps a provider's free-text detail short enough for the timeline.
pub(crate) fn short(text: &str) -> String {
    crate::http::excerpt(text, 200)
}

/// Parses a callback body as JSON of type `T`, answering `Malformed` (400).
pub(crate) fn parse_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, InboundError> {
    serde_json::from_slice(body).map_err(|e| InboundError::Malformed(format!("invalid JSON: {e}")))
}

/// A JSON scalar as text: providers send some ids and codes as numbers in one
/// event and as strings in another.
pub(crate) fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foghorn_core::{Channel, Rendered};

    fn outbound(headers: &[(&str, &str)]) -> Outbound {
        Outbound {
            notification_id: "ntf_1".into(),
            tenant_id: "ten_1".into(),
            event_id: "evt_1".into(),
            event_name: "doc.shared".into(),
            channel: Channel::Email,
            to: Address::Email("ana@example.com".into()),
            content: Rendered {
                subject: Some("Hello".into()),
                text: Some("hi".into()),
                ..Rendered::default()
            },
            tags: vec![],
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            from: None,
            tenant_target: false,
            thread: None,
        }
    }

    #[tokio::test]
    async fn the_registry_builds_every_email_kind_from_tagged_config() {
        use crate::http::{Clients, HttpOptions};
        use crate::registry::Origin;
        use crate::{Provider, ProviderConfig};
        use serde_json::json;
        let opts = HttpOptions::default();
        let client = Clients::new(&opts).unwrap();
        let build = |config: serde_json::Value| {
            let config: ProviderConfig =
                serde_json::from_value(config).map_err(|e| e.to_string())?;
            Provider::build("mail", config, &opts, &client, Origin::Operator)
                .map_err(|e| e.to_string())
        };
        let from = "NaviDocs <noreply@mg.navidocs.example>";
        for (config, kind) in [
            (
                json!({"kind": "mailgun", "api_key": "k", "domain": "mg.navidocs.example", "from": from, "region": "eu"}),
                "mailgun",
            ),
            (
                json!({"kind": "sendgrid", "api_key": "SG.x", "from": from}),
                "sendgrid",
            ),
            (
                json!({"kind": "postmark", "server_token": "t", "from": from}),
                "postmark",
            ),
            (
                json!({"kind": "smtp", "url": "smtps://u:p@smtp.navidocs.example", "from": from, "timeout": "20s"}),
                "smtp",
            ),
        ] {
            let provider = build(config).unwrap();
            assert_eq!((provider.name(), provider.kind()), ("mail", kind));
            assert!(provider.supports(Channel::Email));
            assert!(!provider.supports(Channel::Sms) && !provider.supports(Channel::Webhook));
            // None of them has callback credentials configured here.
            let headers = [];
            let req = foghorn_core::InboundRequest {
                method: "POST",
                url: "https://foghorn.example/inbound/mail",
                headers: &headers,
                body: b"[]",
                now: 0,
            };
            let result = provider.inbound(&req).await;
            assert!(
                matches!(result, Err(InboundError::NotConfigured(_))),
                "{kind}: {result:?}"
            );
        }
        let err =
            build(json!({"kind": "postmark", "server_token": "t", "from": from, "stream": "x"}))
                .unwrap_err();
        assert!(err.contains("unknown field `stream`"), "{err}");
        let err =
            build(json!({"kind": "smtp", "url": "smtp://u:p@smtp.navidocs.example", "from": from}))
                .unwrap_err();
        assert!(
            err.contains("provider `mail`") && err.contains("plain text"),
            "{err}"
        );
    }

    #[test]
    fn parses_mailboxes() {
        let m = Mailbox::parse("NaviDocs <noreply@mg.navidocs.example>").unwrap();
        assert_eq!(m.name.as_deref(), Some("NaviDocs"));
        assert_eq!(m.email, "noreply@mg.navidocs.example");
        assert_eq!(m.domain(), "mg.navidocs.example");
        let quoted = Mailbox::parse("\"Doe, Jane\" <jane@example.com>").unwrap();
        assert_eq!(quoted.name.as_deref(), Some("Doe, Jane"));
        assert_eq!(quoted.to_string(), "\"Doe, Jane\" <jane@example.com>");
        let dotted = Mailbox::parse("NaviDocs Inc. <a@b.example>").unwrap();
        assert_eq!(dotted.to_string(), "\"NaviDocs Inc.\" <a@b.example>");
        assert_eq!(
            Mailbox::parse("Ana <a@b.example>").unwrap().to_string(),
            "Ana <a@b.example>"
        );
        let bare = Mailbox::parse(" a@b.example ").unwrap();
        assert_eq!((bare.name, bare.email.as_str()), (None, "a@b.example"));
        for bad in [
            "",
            "nobody",
            "a@b@c",
            "Name <a@b",
            "x <a b@c>",
            "<a@b> trailing",
        ] {
            assert!(Mailbox::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_messages_before_sending() {
        let from = Mailbox::parse("d@example.com").unwrap();
        let msg = outbound(&[("Reply-To", "Support <help@example.com>"), ("X-A", "1")]);
        let parts = EmailParts::from_message(&msg, &from, &[]).unwrap();
        assert_eq!(parts.reply_to.unwrap().email, "help@example.com");
        assert_eq!(parts.headers, [("X-A", "1")]);

        for (headers, says) in [
            (&[("Subject", "x")][..], "set by the provider"),
            (&[("X-Sg-Id", "x")], "set by the provider"),
            (&[("X-Evil", "a\r\nBcc: victim@example.com")], "line break"),
            (&[("Bad Name", "x")], "not a valid header name"),
        ] {
            let msg = outbound(headers);
            let err = EmailParts::from_message(&msg, &from, &["x-sg-id"]).unwrap_err();
            assert_eq!(err.kind(), "permanent");
            assert!(err.to_string().contains(says), "{err}");
        }
        let mut sms = outbound(&[]);
        sms.to = Address::Phone("+15550100".into());
        assert!(EmailParts::from_message(&sms, &from, &[]).is_err());
        let mut bodiless = outbound(&[]);
        bodiless.content.text = None;
        let err = EmailParts::from_message(&bodiless, &from, &[]).unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");
    }

    #[test]
    fn keeps_tags_a_provider_accepts() {
        let tags: Vec<String> = ["a", "A", "", "ünï", "b", "c", "d"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(usable_tags(&tags, 3, 128, true), ["a", "b", "c"]);
        assert_eq!(usable_tags(&tags, 10, 2, false), ["a", "b", "c", "d"]);
        assert_eq!(bare_message_id(" <x@y> "), "x@y");
        assert_eq!(bare_message_id("x@y"), "x@y");
    }
}
