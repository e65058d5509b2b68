//! The Mailgun client against a local mock of the Messages API, and webhook
//! verification with payloads shaped like Mailgun's documented examples.

use super::*;
use crate::email::testkit::{self, form_parts, mock, only, Reply};
use crate::signature;
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::Duration;

const KEY: &str = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
const SIGNING_KEY: &str = "f8ed2a3b1b5c4e4d9a7c6b5a4f3e2d1c";
const NOW: i64 = 1_770_920_772;

fn config(base_url: &str) -> Config {
    Config {
        api_key: KEY.into(),
        domain: "mg.navidocs.example".into(),
        region: Region::Us,
        base_url: Some(base_url.into()),
        from: "NaviDocs <noreply@mg.navidocs.example>".into(),
        webhook_signing_key: Some(SIGNING_KEY.into()),
    }
}

fn mailgun(base_url: &str) -> Mailgun {
    Mailgun::new(
        "mg",
        config(base_url),
        testkit::client(Duration::from_secs(5)),
    )
    .unwrap()
}

fn queued() -> Reply {
    Reply::json(
        200,
        json!({"id": "<20260203192638.000be97f99f8cea1@mg.navidocs.example>", "message": "Queued. Thank you."}),
    )
}

#[tokio::test]
async fn sends_the_documented_form_and_reads_the_id() {
    let (base, log) = mock(queued()).await;
    let mut msg = testkit::message();
    msg.content.subject = Some("Olá Ana — a document was shared".into());
    msg.tags.extend(["three".into(), "four-is-too-many".into()]);
    let receipt = mailgun(&base).send(&msg).await.unwrap();
    assert_eq!(
        receipt.provider_message_id.as_deref(),
        Some("20260203192638.000be97f99f8cea1@mg.navidocs.example")
    );
    assert_eq!(receipt.http_status, Some(200));

    let req = only(&log);
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v3/mg.navidocs.example/messages");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("api:{KEY}"));
    assert_eq!(req.header("authorization"), format!("Basic {basic}"));
    assert!(req
        .header("content-type")
        .starts_with("multipart/form-data; boundary="));
    let parts = form_parts(&req);
    for part in &parts {
        // Plain form fields: no filename, no per-part content type.
        assert_eq!(part.headers.len(), 1, "{part:?}");
    }
    let fields: Vec<(&str, &str)> = parts
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("from", "NaviDocs <noreply@mg.navidocs.example>"),
            ("to", "ana@example.com"),
            ("subject", "Olá Ana — a document was shared"),
            ("text", "Open Q3 report"),
            ("html", "<p>Open <b>Q3 report</b></p>"),
            ("o:tag", "document-shared"),
            ("o:tag", "transactional"),
            ("o:tag", "three"),
            ("h:Reply-To", "Support <help@navidocs.example>"),
            (
                "h:List-Unsubscribe",
                "<https://navidocs.example/u/abc>, <mailto:unsub@navidocs.example>"
            ),
            ("h:List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("v:notification_id", "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y"),
        ]
    );
}

#[tokio::test]
async fn the_engines_sender_and_a_text_only_body_are_honoured() {
    let (base, log) = mock(queued()).await;
    let mut msg = testkit::message();
    msg.from = Some("\"NaviDocs, EU\" <eu@mg.navidocs.example>".into());
    msg.content.html = None;
    msg.headers.clear();
    msg.tags.clear();
    mailgun(&base).send(&msg).await.unwrap();
    let parts = form_parts(&only(&log));
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["from", "to", "subject", "text", "v:notification_id"]
    );
    assert_eq!(parts[0].value, "\"NaviDocs, EU\" <eu@mg.navidocs.example>");
}

#[tokio::test]
async fn classifies_mailguns_error_answers() {
    let cases = [
        (
            Reply::json(
                400,
                json!({"message": "'to' parameter is not a valid address. please check documentation"}),
            ),
            "permanent",
            "not a valid address",
        ),
        (Reply::text(401, "Forbidden"), "misconfigured", "Forbidden"),
        (
            Reply::json(
                403,
                json!({"message": "Domain mg.navidocs.example is not allowed to send: Free accounts are for test purposes only."}),
            ),
            "misconfigured",
            "not allowed to send",
        ),
        (
            Reply::json(
                404,
                json!({"message": "Domain not found: mg.navidocs.example"}),
            ),
            "misconfigured",
            "Domain not found",
        ),
        (
            Reply::json(413, json!({"message": "request entity too large"})),
            "permanent",
            "too large",
        ),
        (
            Reply::json(429, json!({"message": "Too many requests"}))
                .with_header("retry-after", "12"),
            "rate_limited",
            "Too many requests",
        ),
        (
            Reply::text(500, "Internal Server Error"),
            "retryable",
            "Internal",
        ),
        (
            Reply::text(503, "Service Unavailable"),
            "retryable",
            "Unavailable",
        ),
        (
            Reply::text(200, "Mailgun Magnificent API"),
            "misconfigured",
            "without a message id",
        ),
    ];
    for (reply, kind, says) in cases {
        let status = reply.status;
        let (base, log) = mock(reply).await;
        let err = mailgun(&base).send(&testkit::message()).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(status)),
            "{err}"
        );
        assert!(err.to_string().contains(says), "{status}: {err}");
        if let ProviderError::RateLimited { retry_after, .. } = &err {
            assert_eq!(*retry_after, Some(Duration::from_secs(12)));
        }
        assert_eq!(log.lock().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_slow_api_is_retryable() {
    let (base, _) = mock(queued().after(Duration::from_secs(2))).await;
    let impatient = Mailgun::new(
        "mg",
        config(&base),
        testkit::client(Duration::from_millis(200)),
    )
    .unwrap();
    let err = impatient.send(&testkit::message()).await.unwrap_err();
    assert_eq!(err.kind(), "retryable", "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn refuses_messages_it_cannot_send_without_calling_mailgun() {
    let (base, log) = mock(queued()).await;
    let mut sms = testkit::message();
    sms.to = foghorn_core::Address::Phone("+15550100".into());
    let err = mailgun(&base).send(&sms).await.unwrap_err();
    assert_eq!(err.kind(), "permanent");
    assert!(log.lock().unwrap().is_empty());
}

#[test]
fn picks_the_regions_host_and_validates_config() {
    let client = testkit::client(Duration::from_secs(1));
    let mut eu = config("unused");
    eu.base_url = None;
    eu.region = Region::Eu;
    let p = Mailgun::new("mg", eu.clone(), client.clone()).unwrap();
    assert_eq!(
        p.endpoint.as_str(),
        "https://api.eu.mailgun.net/v3/mg.navidocs.example/messages"
    );
    eu.region = Region::Us;
    let p = Mailgun::new("mg", eu, client.clone()).unwrap();
    assert_eq!(
        p.endpoint.as_str(),
        "https://api.mailgun.net/v3/mg.navidocs.example/messages"
    );
    assert!(p.supports(Channel::Email) && !p.supports(Channel::Sms));
    let debug = format!("{p:?} {:?}", config("x"));
    assert!(
        !debug.contains(KEY) && !debug.contains(SIGNING_KEY),
        "{debug}"
    );

    for (change, says) in [
        (
            &(|c: &mut Config| c.domain = "mg.example/../x".into()) as &dyn Fn(&mut Config),
            "domain",
        ),
        (&|c: &mut Config| c.api_key = " ".into(), "api_key"),
        (&|c: &mut Config| c.from = "not an address".into(), "from"),
        (
            &|c: &mut Config| c.base_url = Some("ftp://x".into()),
            "base_url",
        ),
    ] {
        let mut c = config("https://api.mailgun.net");
        change(&mut c);
        let err = Mailgun::new("mg", c, client.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{err}");
    }
    let parsed: Result<Config, _> = serde_json::from_value(json!({
        "api_key": "k", "domain": "d.example", "from": "a@d.example", "region": "eu"
    }));
    assert_eq!(parsed.unwrap().region, Region::Eu);
    let unknown: Result<Config, _> = serde_json::from_value(json!({
        "api_key": "k", "domain": "d.example", "from": "a@d.example", "regoin": "eu"
    }));
    assert!(unknown.unwrap_err().to_string().contains("unknown field"));
}

// ---- webhooks ----

fn sign(key: &str, timestamp: &str, token: &str) -> String {
    let data = format!("{timestamp}{token}");
    signature::hex(&signature::hmac_sha256(key.as_bytes(), data.as_bytes()).unwrap())
}

/// A webhook body shaped like Mailgun's documented payloads, signed.
fn webhook(key: &str, timestamp: i64, event_data: Value) -> Vec<u8> {
    let (ts, token) = (
        timestamp.to_string(),
        "e0b5477167110d68991efc6b9f89f0a11066af27834600e123",
    );
    json!({
        "signature": {"token": token, "timestamp": ts, "signature": sign(key, &ts, token)},
        "event-data": event_data,
    })
    .to_string()
    .into_bytes()
}

fn delivered() -> Value {
    json!({
        "event": "delivered",
        "id": "CCXMjJ7nQi2N3BPigGOdgQ",
        "timestamp": 1770920771.153125,
        "log-level": "info",
        "recipient": "ana@example.com",
        "recipient-domain": "example.com",
        "message": {"headers": {
            "from": "NaviDocs <noreply@mg.navidocs.example>",
            "message-id": "20260203192638.000be97f99f8cea1@mg.navidocs.example",
            "subject": "Ana, a document was shared with you",
            "to": "ana@example.com"
        }, "size": 341},
        "delivery-status": {"code": 250, "message": "OK", "description": "", "attempt-no": 1, "tls": true},
        "tags": ["document-shared"],
        "user-variables": {"notification_id": "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y"},
        "flags": {"is-authenticated": true, "is-test-mode": false}
    })
}

fn failed(severity: &str) -> Value {
    json!({
        "event": "failed",
        "severity": severity,
        "reason": "bounce",
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "recipient": "nobody@example.com",
        "log-level": "error",
        "message": {"headers": {"message-id": "20260203192638.000be97f99f8cea1@mg.navidocs.example"}},
        "delivery-status": {
            "code": 550,
            "message": "5.1.1 The email account that you tried to reach does not exist.",
            "description": "",
            "attempt-no": 1
        },
        "user-variables": {"notification_id": "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y"}
    })
}

fn call(p: &Mailgun, body: &[u8], now: i64) -> Result<Vec<InboundEvent>, InboundError> {
    let headers = testkit::headers(&[("content-type", "application/json")]);
    let req = InboundRequest {
        method: "POST",
        url: "https://foghorn.example/inbound/mg",
        headers: &headers,
        body,
        now,
    };
    p.inbound(&req)
}

#[test]
fn a_signed_delivery_becomes_a_status_event() {
    let p = mailgun("https://api.mailgun.net");
    let events = call(&p, &webhook(SIGNING_KEY, NOW, delivered()), NOW).unwrap();
    assert_eq!(
        events,
        [InboundEvent::Status {
            provider_message_id: Some("20260203192638.000be97f99f8cea1@mg.navidocs.example".into()),
            notification_id: Some("ntf_01hx7k3q9e8w2m5n4b6v1c0z9y".into()),
            state: DeliveryState::Delivered,
            error_code: None,
            detail: None,
            recipient: Some("ana@example.com".into()),
            price: None,
            event_id: Some("CCXMjJ7nQi2N3BPigGOdgQ".into()),
        }]
    );
}

use foghorn_core::DeliveryState;

#[test]
fn maps_every_tracked_event_type() {
    let p = mailgun("https://api.mailgun.net");
    let with_event = |event: &str| {
        let mut data = delivered();
        data["event"] = json!(event);
        data
    };
    let cases = [
        (with_event("accepted"), Some(DeliveryState::Sent)),
        (with_event("delivered"), Some(DeliveryState::Delivered)),
        (failed("permanent"), Some(DeliveryState::BouncedHard)),
        (failed("temporary"), Some(DeliveryState::BouncedSoft)),
        (with_event("complained"), Some(DeliveryState::Complained)),
        (with_event("opened"), Some(DeliveryState::Opened)),
        (with_event("clicked"), Some(DeliveryState::Clicked)),
        (
            with_event("unsubscribed"),
            Some(DeliveryState::Unsubscribed),
        ),
        (with_event("list_member_uploaded"), None),
    ];
    for (data, expected) in cases {
        let name = data["event"].clone();
        let events = call(&p, &webhook(SIGNING_KEY, NOW, data), NOW).unwrap();
        let states: Vec<DeliveryState> = events
            .iter()
            .map(|e| match e {
                InboundEvent::Status { state, .. } => *state,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(states, expected.into_iter().collect::<Vec<_>>(), "{name}");
    }
}

#[test]
fn a_permanent_failure_carries_the_smtp_code_and_text() {
    let p = mailgun("https://api.mailgun.net");
    let events = call(&p, &webhook(SIGNING_KEY, NOW, failed("permanent")), NOW).unwrap();
    let InboundEvent::Status {
        error_code,
        detail,
        recipient,
        event_id,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(error_code.as_deref(), Some("550"));
    assert_eq!(
        detail.as_deref(),
        Some("5.1.1 The email account that you tried to reach does not exist.")
    );
    assert_eq!(recipient.as_deref(), Some("nobody@example.com"));
    assert_eq!(event_id.as_deref(), Some("G9Bn5sl1TC6nu79C8C0bwg"));
}

#[test]
fn refuses_forged_tampered_and_replayed_webhooks() {
    let p = mailgun("https://api.mailgun.net");
    let unauthorized = |result: Result<Vec<InboundEvent>, InboundError>| {
        assert!(
            matches!(result, Err(InboundError::Unauthorized(_))),
            "{result:?}"
        );
    };
    // Tampered: the event changed after signing.
    let body = String::from_utf8(webhook(SIGNING_KEY, NOW, failed("permanent"))).unwrap();
    let signed: Value = serde_json::from_str(&body).unwrap();
    let mut tampered = signed.clone();
    tampered["signature"]["token"] = json!("a-different-token-a-different-token-a-differen");
    unauthorized(call(&p, tampered.to_string().as_bytes(), NOW));
    let mut tampered = signed.clone();
    tampered["signature"]["timestamp"] = json!((NOW - 1).to_string());
    unauthorized(call(&p, tampered.to_string().as_bytes(), NOW));
    let mut tampered = signed;
    tampered["signature"]["signature"] = json!(sign(SIGNING_KEY, "0", "x"));
    unauthorized(call(&p, tampered.to_string().as_bytes(), NOW));
    // Signed with another key.
    unauthorized(call(&p, &webhook("another-key", NOW, delivered()), NOW));
    // Validly signed, but older (and newer) than the five-minute window.
    unauthorized(call(&p, &webhook(SIGNING_KEY, NOW - 301, delivered()), NOW));
    unauthorized(call(&p, &webhook(SIGNING_KEY, NOW + 301, delivered()), NOW));
    // Inside the window it is accepted.
    assert!(call(&p, &webhook(SIGNING_KEY, NOW - 299, delivered()), NOW).is_ok());
    // No signature at all, or not JSON.
    unauthorized(call(
        &p,
        json!({"event-data": delivered()}).to_string().as_bytes(),
        NOW,
    ));
    unauthorized(call(&p, b"signature=abc&timestamp=1", NOW));
}

#[test]
fn the_signature_covers_timestamp_and_token_not_the_event() {
    // Mailgun signs only timestamp + token: event-data is trusted because a
    // token is single-use and the timestamp fresh, which is why the window
    // above matters. A valid signature with a well-formed body is accepted,
    // and an unreadable event-data is a 400, not a 401.
    let p = mailgun("https://api.mailgun.net");
    let mut body: Value = serde_json::from_slice(&webhook(SIGNING_KEY, NOW, delivered())).unwrap();
    body["event-data"] = json!({"no-event": true});
    let result = call(&p, body.to_string().as_bytes(), NOW);
    assert!(
        matches!(result, Err(InboundError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn a_subaccount_webhook_verifies_with_the_parent_signature() {
    let p = mailgun("https://api.mailgun.net");
    let mut body: Value =
        serde_json::from_slice(&webhook("subaccount-key", NOW, delivered())).unwrap();
    let parent = sign(
        SIGNING_KEY,
        &NOW.to_string(),
        body["signature"]["token"].as_str().unwrap(),
    );
    body["signature"]["parent-signature"] = json!(parent);
    assert_eq!(call(&p, body.to_string().as_bytes(), NOW).unwrap().len(), 1);
}

#[test]
fn without_a_signing_key_webhooks_are_not_configured() {
    let mut c = config("https://api.mailgun.net");
    c.webhook_signing_key = None;
    let p = Mailgun::new("mg", c, testkit::client(Duration::from_secs(1))).unwrap();
    let result = call(&p, &webhook(SIGNING_KEY, NOW, delivered()), NOW);
    assert!(
        matches!(result, Err(InboundError::NotConfigured(_))),
        "{result:?}"
    );
}
