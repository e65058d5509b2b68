//! The SendGrid client against a local mock of Mail Send, and Signed Event
//! Webhook verification with SendGrid's published test vector and with a
//! freshly generated P-256 key pair.

use super::*;
use crate::email::testkit::{self, mock, only, Reply};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use foghorn_core::DeliveryState;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use serde_json::{json, Value};

const KEY: &str = "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";
const NOW: i64 = 1_770_920_772;

fn config(base_url: &str) -> Config {
    Config {
        api_key: KEY.into(),
        from: "NaviDocs <noreply@navidocs.example>".into(),
        region: Region::Global,
        base_url: Some(base_url.into()),
        webhook_verification_key: None,
    }
}

fn sendgrid(base_url: &str) -> SendGrid {
    SendGrid::new(
        "sg",
        config(base_url),
        testkit::client(Duration::from_secs(5)),
    )
    .unwrap()
}

fn accepted() -> Reply {
    let mut reply = Reply::text(202, "").with_header("x-message-id", "LRzXl_NHStOGhQ4kofSm_A");
    reply.headers.retain(|(k, _)| *k != "content-type");
    reply
}

#[tokio::test]
async fn sends_the_documented_json_and_reads_the_message_id() {
    let (base, log) = mock(accepted()).await;
    let receipt = sendgrid(&base).send(&testkit::message()).await.unwrap();
    assert_eq!(
        receipt.provider_message_id.as_deref(),
        Some("LRzXl_NHStOGhQ4kofSm_A")
    );
    assert_eq!(receipt.http_status, Some(202));

    let req = only(&log);
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v3/mail/send");
    assert_eq!(req.header("authorization"), format!("Bearer {KEY}"));
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(req.header("accept"), "application/json");
    assert_eq!(
        req.json(),
        json!({
            "personalizations": [{
                "to": [{"email": "ana@example.com"}],
                "custom_args": {"notification_id": "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y"}
            }],
            "from": {"email": "noreply@navidocs.example", "name": "NaviDocs"},
            "reply_to": {"email": "help@navidocs.example", "name": "Support"},
            "subject": "Ana, a document was shared with you",
            "content": [
                {"type": "text/plain", "value": "Open Q3 report"},
                {"type": "text/html", "value": "<p>Open <b>Q3 report</b></p>"}
            ],
            "headers": {
                "List-Unsubscribe": "<https://navidocs.example/u/abc>, <mailto:unsub@navidocs.example>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"
            },
            "categories": ["document-shared", "transactional"]
        })
    );
    // text/plain must come first (an object comparison cannot see order).
    let body = String::from_utf8(req.body.to_vec()).unwrap();
    assert!(body.find("text/plain").unwrap() < body.find("text/html").unwrap());
}

#[tokio::test]
async fn keeps_within_the_category_limits_and_omits_what_is_absent() {
    let (base, log) = mock(accepted()).await;
    let mut msg = testkit::message();
    msg.tags = (0..12).map(|i| format!("tag-{i}")).collect();
    msg.tags.insert(0, "x".repeat(256));
    msg.headers.clear();
    msg.content.html = None;
    msg.from = Some("alerts@navidocs.example".into());
    sendgrid(&base).send(&msg).await.unwrap();
    let body = only(&log).json();
    let categories: Vec<String> = (0..10).map(|i| format!("tag-{i}")).collect();
    assert_eq!(body["categories"], json!(categories));
    assert_eq!(body["from"], json!({"email": "alerts@navidocs.example"}));
    assert_eq!(
        body["content"],
        json!([{"type": "text/plain", "value": "Open Q3 report"}])
    );
    assert!(
        body.get("headers").is_none() && body.get("reply_to").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn classifies_sendgrids_error_answers() {
    let errors = |message: &str, field: Value| json!({"errors": [{"message": message, "field": field, "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to"}]});
    let cases = [
        (
            Reply::json(
                400,
                errors(
                    "Does not contain a valid address.",
                    json!("personalizations.0.to.0.email"),
                ),
            ),
            "permanent",
            "personalizations.0.to.0.email: Does not contain a valid address.",
        ),
        (
            Reply::json(
                401,
                json!({"errors": [{"field": null, "message": "The provided authorization grant is invalid, expired, or revoked"}]}),
            ),
            "misconfigured",
            "authorization grant is invalid",
        ),
        (
            Reply::json(
                403,
                errors(
                    "The from address does not match a verified Sender Identity.",
                    json!("from"),
                ),
            ),
            "misconfigured",
            "verified Sender Identity",
        ),
        (
            Reply::json(404, errors("not found", json!("null"))),
            "misconfigured",
            "not found",
        ),
        (
            Reply::json(413, errors("content too large", json!("null"))),
            "permanent",
            "content too large",
        ),
        (
            Reply::json(429, errors("too many requests", json!(null)))
                .with_header("retry-after", "3"),
            "rate_limited",
            "too many requests",
        ),
        (
            Reply::json(
                500,
                json!({"errors": [{"message": "internal server error"}]}),
            ),
            "retryable",
            "internal server error",
        ),
        (
            Reply::text(503, "Service Unavailable"),
            "retryable",
            "Service Unavailable",
        ),
        (Reply::text(200, ""), "misconfigured", "not queued"),
    ];
    for (reply, kind, says) in cases {
        let status = reply.status;
        let (base, _) = mock(reply).await;
        let err = sendgrid(&base).send(&testkit::message()).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(status)),
            "{err}"
        );
        assert!(err.to_string().contains(says), "{status}: {err}");
        if let ProviderError::RateLimited { retry_after, .. } = &err {
            assert_eq!(*retry_after, Some(Duration::from_secs(3)));
        }
    }
}

#[tokio::test]
async fn a_rate_limit_without_retry_after_waits_for_the_reset() {
    let reset = (Utc::now().timestamp() + 40).to_string();
    let reply = Reply::json(
        429,
        json!({"errors": [{"field": null, "message": "too many requests"}]}),
    )
    .with_header("x-ratelimit-limit", "600")
    .with_header("x-ratelimit-remaining", "0")
    .with_header("x-ratelimit-reset", &reset);
    let (base, _) = mock(reply).await;
    let err = sendgrid(&base).send(&testkit::message()).await.unwrap_err();
    let ProviderError::RateLimited {
        retry_after: Some(wait),
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert!((38..=40).contains(&wait.as_secs()), "{wait:?}");
}

#[tokio::test]
async fn a_slow_api_is_retryable() {
    let (base, _) = mock(accepted().after(Duration::from_secs(2))).await;
    let client = testkit::client(Duration::from_millis(200));
    let err = SendGrid::new("sg", config(&base), client)
        .unwrap()
        .send(&testkit::message())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "retryable", "{err}");
}

#[test]
fn builds_the_endpoint_from_the_region_and_refuses_bad_config() {
    let client = testkit::client(Duration::from_secs(1));
    let mut c = config("unused");
    c.base_url = None;
    let p = SendGrid::new("sg", c.clone(), client.clone()).unwrap();
    assert_eq!(p.endpoint.as_str(), "https://api.sendgrid.com/v3/mail/send");
    c.region = Region::Eu;
    let p = SendGrid::new("sg", c.clone(), client.clone()).unwrap();
    assert_eq!(
        p.endpoint.as_str(),
        "https://api.eu.sendgrid.com/v3/mail/send"
    );
    assert!(!format!("{p:?}{c:?}").contains(KEY));
    assert!(p.supports(Channel::Email) && !p.supports(Channel::Whatsapp));
    c.webhook_verification_key = Some("bm90IGEga2V5".into());
    let err = SendGrid::new("sg", c, client).unwrap_err().to_string();
    assert!(err.contains("webhook_verification_key"), "{err}");
}

// ---- Signed Event Webhook ----

fn call(
    p: &SendGrid,
    headers: &[(&str, &str)],
    body: &[u8],
    now: i64,
) -> Result<Vec<InboundEvent>, InboundError> {
    let headers = testkit::headers(headers);
    p.inbound(&InboundRequest {
        method: "POST",
        url: "https://foghorn.example/inbound/sg",
        headers: &headers,
        body,
        now,
    })
}

fn with_key(public_key_b64: &str) -> SendGrid {
    let mut c = config("https://api.sendgrid.com");
    c.webhook_verification_key = Some(public_key_b64.into());
    SendGrid::new("sg", c, testkit::client(Duration::from_secs(1))).unwrap()
}

#[test]
fn verifies_sendgrids_published_test_vector() {
    // sendgrid/sendgrid-go helpers/eventwebhook/eventwebhook_test.go: its key,
    // signature and timestamp, and the payload exactly as that test encodes
    // it (Go's sorted keys, no HTML escaping, a trailing CRLF).
    let public_key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
    let signature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
    let timestamp = "1600112502";
    let payload = concat!(
        r#"[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","#,
        r#""sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","#,
        r#""sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","#,
        r#""smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]"#,
        "\r\n"
    );
    let p = with_key(public_key);
    let headers = [
        ("X-Twilio-Email-Event-Webhook-Signature", signature),
        ("X-Twilio-Email-Event-Webhook-Timestamp", timestamp),
    ];
    let events = call(&p, &headers, payload.as_bytes(), 1_600_112_502).unwrap();
    assert_eq!(
        events,
        [InboundEvent::Status {
            provider_message_id: Some("LRzXl_NHStOGhQ4kofSm_A".into()),
            notification_id: None,
            state: DeliveryState::Failed,
            error_code: None,
            detail: Some("Bounced Address".into()),
            recipient: Some("hello@world.com".into()),
            price: None,
            event_id: Some("ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA".into()),
        }]
    );
    // One byte changed and the same signature no longer verifies.
    let tampered = payload.replace("Bounced", "Bouncer");
    let result = call(&p, &headers, tampered.as_bytes(), 1_600_112_502);
    assert!(
        matches!(result, Err(InboundError::Unauthorized(_))),
        "{result:?}"
    );
}

/// A freshly generated key pair, with the public half as SendGrid shows it.
fn key_pair() -> (SigningKey, String) {
    let signing = SigningKey::random(&mut rand_core::OsRng);
    let public = p256::PublicKey::from(signing.verifying_key());
    let der = public.to_public_key_der().unwrap();
    (signing, B64.encode(der.as_bytes()))
}

fn signed_headers(key: &SigningKey, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
    let ts = timestamp.to_string();
    let mut signed = ts.clone().into_bytes();
    signed.extend_from_slice(body);
    let sig: Signature = key.sign(&signed);
    vec![
        (
            "X-Twilio-Email-Event-Webhook-Signature".into(),
            B64.encode(sig.to_der().as_bytes()),
        ),
        ("X-Twilio-Email-Event-Webhook-Timestamp".into(), ts),
    ]
}

fn call_signed(
    p: &SendGrid,
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<Vec<InboundEvent>, InboundError> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    call(p, &pairs, body, now)
}

/// Events as the Event Webhook Reference shows them, with our custom arg.
fn event(name: &str, extra: Value) -> Value {
    let mut e = json!({
        "email": "ana@example.com",
        "timestamp": 1770920700,
        "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
        "event": name,
        "category": ["document-shared", "transactional"],
        "sg_event_id": format!("sg_event_{name}"),
        "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
        "notification_id": "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y"
    });
    if let (Value::Object(e), Value::Object(extra)) = (&mut e, extra) {
        e.extend(extra);
    }
    e
}

#[test]
fn maps_a_signed_batch_of_every_event_type() {
    let (signing, public) = key_pair();
    let p = with_key(&public);
    let batch = json!([
        event("processed", json!({})),
        event("deferred", json!({"response": "400 try again later", "attempt": "5"})),
        event("delivered", json!({"response": "250 OK"})),
        event("open", json!({"useragent": "Mozilla/5.0", "ip": "255.255.255.255", "sg_machine_open": false})),
        event("click", json!({"url": "https://navidocs.example/d/1", "url_offset": {"index": 0, "type": "html"}})),
        event("bounce", json!({"reason": "550 5.1.1 The email account that you tried to reach does not exist.", "status": "5.1.1", "type": "bounce", "bounce_classification": "Invalid Address"})),
        event("bounce", json!({"reason": "550 5.7.1 Message rejected due to content", "status": "5.7.1", "type": "blocked"})),
        event("dropped", json!({"reason": "Bounced Address", "status": "5.0.0"})),
        event("spamreport", json!({})),
        event("unsubscribe", json!({})),
        event("group_unsubscribe", json!({"asm_group_id": 10})),
        event("group_resubscribe", json!({"asm_group_id": 10})),
        event("account_status_change", json!({"type": "compliance_suspend"})),
        {"no_event_key": true},
    ]);
    let body = batch.to_string().into_bytes();
    let events = call_signed(&p, &signed_headers(&signing, NOW, &body), &body, NOW).unwrap();
    let summary: Vec<(DeliveryState, Option<&str>, Option<&str>)> = events
        .iter()
        .map(|e| match e {
            InboundEvent::Status {
                state,
                error_code,
                detail,
                provider_message_id,
                notification_id,
                recipient,
                ..
            } => {
                assert_eq!(
                    provider_message_id.as_deref(),
                    Some("LRzXl_NHStOGhQ4kofSm_A")
                );
                assert_eq!(
                    notification_id.as_deref(),
                    Some("ntf_01hx7k3q9e8w2m5n4b6v1c0z9y")
                );
                assert_eq!(recipient.as_deref(), Some("ana@example.com"));
                (*state, error_code.as_deref(), detail.as_deref())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    use DeliveryState::*;
    assert_eq!(
        summary,
        [
            (Sent, None, None),
            (
                BouncedSoft,
                None,
                Some("deferred (attempt 5): 400 try again later")
            ),
            (Delivered, None, None),
            (Opened, None, None),
            (Clicked, None, None),
            (
                BouncedHard,
                Some("5.1.1"),
                Some("550 5.1.1 The email account that you tried to reach does not exist.")
            ),
            (
                BouncedSoft,
                Some("5.7.1"),
                Some("550 5.7.1 Message rejected due to content")
            ),
            (Failed, None, Some("Bounced Address")),
            (Complained, None, None),
            (Unsubscribed, None, None),
            (Unsubscribed, None, None),
        ]
    );
    let InboundEvent::Status { event_id, .. } = &events[1] else {
        unreachable!()
    };
    assert_eq!(event_id.as_deref(), Some("sg_event_deferred"));
}

#[test]
fn refuses_tampered_foreign_stale_and_unsigned_batches() {
    let (signing, public) = key_pair();
    let p = with_key(&public);
    let body = json!([event("delivered", json!({}))])
        .to_string()
        .into_bytes();
    let headers = signed_headers(&signing, NOW, &body);
    assert_eq!(call_signed(&p, &headers, &body, NOW).unwrap().len(), 1);

    let unauthorized = |result: Result<Vec<InboundEvent>, InboundError>| {
        assert!(
            matches!(result, Err(InboundError::Unauthorized(_))),
            "{result:?}"
        );
    };
    // The body changed after signing.
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("delivered", "bounce")
        .into_bytes();
    unauthorized(call_signed(&p, &headers, &tampered, NOW));
    // The timestamp changed after signing (still inside the window).
    let mut moved = headers.clone();
    moved[1].1 = (NOW - 1).to_string();
    unauthorized(call_signed(&p, &moved, &body, NOW));
    // Signed by another key.
    let (other, _) = key_pair();
    unauthorized(call_signed(
        &p,
        &signed_headers(&other, NOW, &body),
        &body,
        NOW,
    ));
    // Correctly signed but stale, or from the future.
    unauthorized(call_signed(
        &p,
        &signed_headers(&signing, NOW - 301, &body),
        &body,
        NOW,
    ));
    unauthorized(call_signed(
        &p,
        &signed_headers(&signing, NOW + 301, &body),
        &body,
        NOW,
    ));
    // Missing or garbled headers.
    unauthorized(call_signed(&p, &headers[1..], &body, NOW));
    unauthorized(call_signed(&p, &headers[..1], &body, NOW));
    let mut garbled = headers.clone();
    garbled[0].1 = "not base64!".into();
    unauthorized(call_signed(&p, &garbled, &body, NOW));
}

#[test]
fn a_signed_body_that_is_not_an_event_array_is_malformed() {
    let (signing, public) = key_pair();
    let p = with_key(&public);
    let body = br#"{"event": "delivered"}"#;
    let result = call_signed(&p, &signed_headers(&signing, NOW, body), body, NOW);
    assert!(
        matches!(result, Err(InboundError::Malformed(_))),
        "{result:?}"
    );
}

#[test]
fn a_pem_key_is_accepted_and_no_key_means_not_configured() {
    let (signing, public) = key_pair();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
        &public[..64],
        &public[64..]
    );
    let p = with_key(&pem);
    let body = json!([event("open", json!({}))]).to_string().into_bytes();
    assert_eq!(
        call_signed(&p, &signed_headers(&signing, NOW, &body), &body, NOW)
            .unwrap()
            .len(),
        1
    );

    let unkeyed = sendgrid("https://api.sendgrid.com");
    let result = call_signed(&unkeyed, &signed_headers(&signing, NOW, &body), &body, NOW);
    assert!(
        matches!(result, Err(InboundError::NotConfigured(_))),
        "{result:?}"
    );
}
