//! The Postmark client against a local mock of the Email API, and webhook
//! authentication and mapping with records shaped like Postmark's examples.

use super::*;
use crate::email::testkit::{self, mock, only, Reply};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use foghorn_core::DeliveryState;
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN: &str = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
const MESSAGE_ID: &str = "b7bc2f4a-e38e-4336-af7d-e6c392c2f817";

fn config(base_url: &str) -> Config {
    Config {
        server_token: TOKEN.into(),
        from: "NaviDocs <noreply@navidocs.example>".into(),
        message_stream: "outbound".into(),
        base_url: Some(base_url.into()),
        webhook_username: Some("postmark".into()),
        webhook_password: Some("hook-pass-9f2c".into()),
    }
}

fn postmark(base_url: &str) -> Postmark {
    Postmark::new(
        "pm",
        config(base_url),
        testkit::client(Duration::from_secs(5)),
    )
    .unwrap()
}

fn ok() -> Reply {
    Reply::json(
        200,
        json!({
            "To": "ana@example.com",
            "SubmittedAt": "2026-02-03T19:26:38.4178645-05:00",
            "MessageID": MESSAGE_ID,
            "ErrorCode": 0,
            "Message": "OK"
        }),
    )
}

#[tokio::test]
async fn sends_the_documented_json_and_reads_the_message_id() {
    let (base, log) = mock(ok()).await;
    let mut c = config(&base);
    c.message_stream = "transactional-eu".into();
    let p = Postmark::new("pm", c, testkit::client(Duration::from_secs(5))).unwrap();
    let receipt = p.send(&testkit::message()).await.unwrap();
    assert_eq!(receipt.provider_message_id.as_deref(), Some(MESSAGE_ID));
    assert_eq!(receipt.http_status, Some(200));

    let req = only(&log);
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/email");
    assert_eq!(req.header("x-postmark-server-token"), TOKEN);
    assert_eq!(req.header("accept"), "application/json");
    assert_eq!(req.header("content-type"), "application/json");
    assert!(req.headers.get("authorization").is_none());
    assert_eq!(
        req.json(),
        json!({
            "From": "NaviDocs <noreply@navidocs.example>",
            "To": "ana@example.com",
            "Subject": "Ana, a document was shared with you",
            "HtmlBody": "<p>Open <b>Q3 report</b></p>",
            "TextBody": "Open Q3 report",
            "ReplyTo": "Support <help@navidocs.example>",
            "Tag": "document-shared",
            "Headers": [
                {"Name": "List-Unsubscribe", "Value": "<https://navidocs.example/u/abc>, <mailto:unsub@navidocs.example>"},
                {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}
            ],
            "Metadata": {"notification_id": "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y"},
            "MessageStream": "transactional-eu"
        })
    );
}

#[tokio::test]
async fn omits_what_the_message_does_not_have() {
    let (base, log) = mock(ok()).await;
    let mut msg = testkit::message();
    msg.tags.clear();
    msg.headers.clear();
    msg.content.text = None;
    msg.from = Some("\"NaviDocs, EU\" <eu@navidocs.example>".into());
    postmark(&base).send(&msg).await.unwrap();
    let body = only(&log).json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6, "{body}");
    for key in [
        "From",
        "To",
        "Subject",
        "HtmlBody",
        "Metadata",
        "MessageStream",
    ] {
        assert!(keys.contains(&key), "{key} in {body}");
    }
    assert_eq!(body["From"], "\"NaviDocs, EU\" <eu@navidocs.example>");
}

#[tokio::test]
async fn classifies_postmarks_error_answers() {
    let code = |status: u16, code: i64, message: &str| {
        Reply::json(status, json!({"ErrorCode": code, "Message": message}))
    };
    let cases = [
        (
            code(401, 10, "No Account or Server API tokens were supplied in the HTTP headers. Please add a header for either X-Postmark-Server-Token or X-Postmark-Account-Token."),
            "misconfigured",
            "ErrorCode 10",
        ),
        (code(422, 300, "Error parsing 'To': Illegal email address 'ana@'. It must contain the '@' symbol."), "permanent", "ErrorCode 300"),
        (
            code(422, 406, "You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: ana@example.com. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."),
            "permanent",
            "inactive recipient",
        ),
        (
            code(422, 400, "The 'From' address you supplied (noreply@navidocs.example) is not a Sender Signature on your account. Please add and confirm this address in order to be able to use it in the 'From' field of your messages."),
            "misconfigured",
            "ErrorCode 400",
        ),
        (code(422, 401, "Sender signature not confirmed."), "misconfigured", "ErrorCode 401"),
        (code(422, 412, "Your account is pending approval."), "misconfigured", "ErrorCode 412"),
        (code(422, 1226, "The message stream for the provided 'ID' was not found."), "misconfigured", "ErrorCode 1226"),
        (code(422, 100, "Maintenance."), "retryable", "ErrorCode 100"),
        (code(422, 429, "Rate limit exceeded."), "rate_limited", "ErrorCode 429"),
        (Reply::text(413, "Request Entity Too Large"), "permanent", "Too Large"),
        (
            code(429, 429, "Rate limit exceeded.").with_header("retry-after", "30"),
            "rate_limited",
            "Rate limit exceeded",
        ),
        (code(500, 0, "Internal server error."), "retryable", "Internal server error"),
        (Reply::text(503, "Service Unavailable"), "retryable", "Service Unavailable"),
        (Reply::text(404, "Not Found"), "misconfigured", "not found"),
        (Reply::text(200, "<html>hello</html>"), "misconfigured", "without a MessageID"),
    ];
    for (reply, kind, says) in cases {
        let status = reply.status;
        let (base, _) = mock(reply).await;
        let err = postmark(&base).send(&testkit::message()).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(status)),
            "{err}"
        );
        assert!(err.to_string().contains(says), "{status}: {err}");
        if let (429, ProviderError::RateLimited { retry_after, .. }) = (status, &err) {
            assert_eq!(*retry_after, Some(Duration::from_secs(30)));
        }
    }
}

#[tokio::test]
async fn a_slow_api_is_retryable() {
    let (base, _) = mock(ok().after(Duration::from_secs(2))).await;
    let client = testkit::client(Duration::from_millis(200));
    let err = Postmark::new("pm", config(&base), client)
        .unwrap()
        .send(&testkit::message())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "retryable", "{err}");
}

#[test]
fn validates_config() {
    let client = testkit::client(Duration::from_secs(1));
    let parsed: Config =
        serde_json::from_value(json!({"server_token": "t", "from": "a@b.example"})).unwrap();
    assert_eq!(parsed.message_stream, "outbound");
    let p = Postmark::new("pm", parsed, client.clone()).unwrap();
    assert_eq!(p.endpoint.as_str(), "https://api.postmarkapp.com/email");
    assert!(p.supports(Channel::Email) && !p.supports(Channel::Sms));
    let debug = format!(
        "{:?}{:?}",
        postmark("https://x.example"),
        config("https://x.example")
    );
    assert!(
        !debug.contains(TOKEN) && !debug.contains("hook-pass"),
        "{debug}"
    );
    let mut half = config("https://api.postmarkapp.com");
    half.webhook_password = None;
    let err = Postmark::new("pm", half, client).unwrap_err().to_string();
    assert!(err.contains("must both be set"), "{err}");
}

// ---- webhooks ----

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", B64.encode(format!("{user}:{pass}")))
}

fn call(
    p: &Postmark,
    authorization: Option<&str>,
    body: &Value,
) -> Result<Vec<InboundEvent>, InboundError> {
    let mut pairs = vec![("content-type", "application/json")];
    if let Some(a) = authorization {
        pairs.push(("authorization", a));
    }
    let headers = testkit::headers(&pairs);
    let body = body.to_string().into_bytes();
    p.inbound(&InboundRequest {
        method: "POST",
        url: "https://foghorn.example/inbound/pm",
        headers: &headers,
        body: &body,
        now: 1_770_920_772,
    })
}

fn metadata() -> Value {
    json!({"notification_id": "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y"})
}

fn delivery() -> Value {
    json!({
        "RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound",
        "MessageID": MESSAGE_ID, "Recipient": "ana@example.com", "Tag": "document-shared",
        "DeliveredAt": "2026-02-03T16:34:52Z", "Details": "Test delivery webhook details",
        "Metadata": metadata()
    })
}

fn bounce(kind: &str, inactive: bool) -> Value {
    json!({
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807_i64,
        "Type": kind, "TypeCode": 1, "Name": "Hard bounce", "Tag": "document-shared",
        "MessageID": MESSAGE_ID, "Metadata": metadata(), "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "ana@example.com", "From": "noreply@navidocs.example",
        "BouncedAt": "2026-02-03T16:33:54.9070259Z", "DumpAvailable": true,
        "Inactive": inactive, "CanActivate": true, "Subject": "Ana, a document was shared with you"
    })
}

fn state_of(events: &[InboundEvent]) -> Vec<DeliveryState> {
    events
        .iter()
        .map(|e| match e {
            InboundEvent::Status { state, .. } => *state,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn authenticated_records_become_status_events() {
    let p = postmark("https://api.postmarkapp.com");
    let auth = basic("postmark", "hook-pass-9f2c");
    let events = call(&p, Some(&auth), &delivery()).unwrap();
    assert_eq!(
        events,
        [InboundEvent::Status {
            provider_message_id: Some(MESSAGE_ID.into()),
            notification_id: Some("ntf_01hx7k3q9e8w2m5n4b6v1c0z9y".into()),
            state: DeliveryState::Delivered,
            error_code: None,
            detail: None,
            recipient: Some("ana@example.com".into()),
            price: None,
            event_id: Some(format!("Delivery:{MESSAGE_ID}:ana@example.com")),
        }]
    );
    let events = call(&p, Some(&auth), &bounce("HardBounce", true)).unwrap();
    assert_eq!(
        events,
        [InboundEvent::Status {
            provider_message_id: Some(MESSAGE_ID.into()),
            notification_id: Some("ntf_01hx7k3q9e8w2m5n4b6v1c0z9y".into()),
            state: DeliveryState::BouncedHard,
            error_code: Some("HardBounce".into()),
            detail: Some("The server was unable to deliver your message (ex: unknown user, mailbox not found).".into()),
            recipient: Some("ana@example.com".into()),
            price: None,
            event_id: Some("4323372036854775807".into()),
        }]
    );
}

#[test]
fn maps_every_record_type_and_bounce_kind() {
    let p = postmark("https://api.postmarkapp.com");
    let auth = basic("postmark", "hook-pass-9f2c");
    let open = json!({
        "RecordType": "Open", "MessageStream": "outbound", "FirstOpen": true,
        "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
        "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
        "Platform": "WebMail", "UserAgent": "Mozilla/5.0", "ReadSeconds": 5,
        "Geo": {"CountryISOCode": "RS", "Country": "Serbia"}, "MessageID": MESSAGE_ID,
        "Metadata": metadata(), "ReceivedAt": "2026-02-03T16:40:54.9070259Z",
        "Tag": "document-shared", "Recipient": "ana@example.com"
    });
    let click = json!({
        "RecordType": "Click", "MessageStream": "outbound", "ClickLocation": "HTML",
        "Platform": "Desktop", "UserAgent": "Mozilla/5.0", "OriginalLink": "https://navidocs.example/d/1",
        "MessageID": MESSAGE_ID, "Metadata": metadata(), "ReceivedAt": "2026-02-03T16:41:11.0000000Z",
        "Tag": "document-shared", "Recipient": "ana@example.com"
    });
    let complaint = json!({
        "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": 42, "Type": "SpamComplaint",
        "TypeCode": 512, "MessageID": MESSAGE_ID, "Metadata": metadata(), "Email": "ana@example.com",
        "Inactive": true, "Description": "The subscriber explicitly marked this message as spam."
    });
    let change = |suppress: bool, reason: &str| {
        json!({
            "RecordType": "SubscriptionChange", "MessageID": MESSAGE_ID, "ServerID": 123456,
            "MessageStream": "outbound", "ChangedAt": "2026-02-03T10:53:34.416071Z",
            "Recipient": "ana@example.com", "Origin": "Recipient", "SuppressSending": suppress,
            "SuppressionReason": reason, "Tag": "document-shared", "Metadata": metadata()
        })
    };
    use DeliveryState::*;
    let cases = [
        (open, vec![Opened]),
        (click, vec![Clicked]),
        (complaint, vec![Complained]),
        (bounce("SoftBounce", false), vec![BouncedSoft]),
        (bounce("Transient", false), vec![BouncedSoft]),
        (bounce("SoftBounce", true), vec![BouncedHard]),
        (bounce("BadEmailAddress", false), vec![BouncedHard]),
        (bounce("Blocked", false), vec![BouncedSoft]),
        (bounce("SMTPApiError", false), vec![Failed]),
        (bounce("AutoResponder", false), vec![]),
        (change(true, "ManualSuppression"), vec![Unsubscribed]),
        (change(true, "HardBounce"), vec![BouncedHard]),
        (change(false, "ManualSuppression"), vec![]),
        (
            json!({"RecordType": "Inbound", "MessageID": MESSAGE_ID}),
            vec![],
        ),
    ];
    for (record, expected) in cases {
        let events = call(&p, Some(&auth), &record).unwrap();
        assert_eq!(state_of(&events), expected, "{record}");
    }
    let open_again = call(
        &p,
        Some(&auth),
        &json!({
            "RecordType": "Open", "MessageID": MESSAGE_ID, "Recipient": "ana@example.com",
            "ReceivedAt": "2026-02-03T16:40:54.9070259Z"
        }),
    )
    .unwrap();
    let InboundEvent::Status {
        event_id,
        notification_id,
        ..
    } = &open_again[0]
    else {
        unreachable!()
    };
    assert_eq!(
        event_id.as_deref(),
        Some(format!("Open:{MESSAGE_ID}:ana@example.com:2026-02-03T16:40:54.9070259Z").as_str())
    );
    assert_eq!(*notification_id, None);
}

#[test]
fn refuses_wrong_or_missing_credentials() {
    let p = postmark("https://api.postmarkapp.com");
    for auth in [
        None,
        Some(basic("postmark", "wrong")),
        Some(basic("someone", "hook-pass-9f2c")),
        Some(basic("postmark", "hook-pass-9f2c-and-more")),
        Some(format!("Bearer {}", B64.encode("postmark:hook-pass-9f2c"))),
        Some("Basic not-base64!".to_string()),
        Some(format!("Basic {}", B64.encode("no-colon"))),
    ] {
        let result = call(&p, auth.as_deref(), &delivery());
        assert!(
            matches!(result, Err(InboundError::Unauthorized(_))),
            "{auth:?}: {result:?}"
        );
    }
    // A password containing `:` is split at the first one, as RFC 7617 says.
    let mut c = config("https://api.postmarkapp.com");
    c.webhook_password = Some("pa:ss".into());
    let colon = Postmark::new("pm", c, testkit::client(Duration::from_secs(1))).unwrap();
    assert!(call(&colon, Some(&basic("postmark", "pa:ss")), &delivery()).is_ok());
}

#[test]
fn unreadable_records_and_missing_credentials_config() {
    let p = postmark("https://api.postmarkapp.com");
    let auth = basic("postmark", "hook-pass-9f2c");
    let result = call(&p, Some(&auth), &json!({"no": "record type"}));
    assert!(
        matches!(result, Err(InboundError::Malformed(_))),
        "{result:?}"
    );

    let mut c = config("https://api.postmarkapp.com");
    c.webhook_username = None;
    c.webhook_password = None;
    let open = Postmark::new("pm", c, testkit::client(Duration::from_secs(1))).unwrap();
    let result = call(&open, Some(&auth), &delivery());
    assert!(
        matches!(result, Err(InboundError::NotConfigured(_))),
        "{result:?}"
    );
}
