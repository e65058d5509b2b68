//! Bandwidth against a local mock of Messaging v2, and its callbacks.

use super::*;
use crate::sms::testkit::{self, basic, headers, mock, sms, Reply};
use foghorn_core::DeliveryState;
use serde_json::json;
use std::time::Duration;

const ACCOUNT: &str = "9900000";

fn config(base: &str) -> Config {
    Config {
        account_id: ACCOUNT.into(),
        username: "api-user".into(),
        password: "api-pass".into(),
        messaging_application_id: "93de2206-9669-4e07-948d-329f4b722ee2".into(),
        from: "+19195551212".into(),
        base_url: Some(base.into()),
        webhook_username: Some("hook-user".into()),
        webhook_password: Some("hook-pass".into()),
    }
}

fn bandwidth(config: Config) -> Bandwidth {
    Bandwidth::new("bandwidth", config, testkit::client(), &testkit::opts()).unwrap()
}

/// The documented 202 answer.
fn accepted() -> Reply {
    Reply::json(
        202,
        json!({
            "id": "1589228074636lm4k2je7j7jklbn2", "owner": "+19195551212",
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
            "time": "2020-05-11T20:14:34.636Z", "segmentCount": 1, "direction": "out",
            "to": ["+19195554444"], "from": "+19195551212", "text": "Your order shipped",
            "tag": "ntf_01hx7", "priority": "default"
        }),
    )
}

#[tokio::test]
async fn sends_the_documented_request() {
    let (base, log) = mock(accepted()).await;
    let receipt = bandwidth(config(&base))
        .send(&sms("+19195554444", "Your order shipped"))
        .await
        .unwrap();
    assert_eq!(
        receipt,
        Receipt {
            provider_message_id: Some("1589228074636lm4k2je7j7jklbn2".into()),
            cost: None,
            http_status: Some(202),
            captured: None,
        }
    );
    let req = log.lock().unwrap()[0].clone();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, format!("/api/v2/users/{ACCOUNT}/messages"));
    assert_eq!(req.query, None);
    assert_eq!(req.header("authorization"), basic("api-user", "api-pass"));
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(
        req.json(),
        json!({
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
            "to": ["+19195554444"],
            "from": "+19195551212",
            "text": "Your order shipped",
            "tag": "ntf_01hx7"
        })
    );
}

#[tokio::test]
async fn uses_the_engines_sender() {
    let (base, log) = mock(accepted()).await;
    let mut msg = sms("+19195554444", "hi");
    msg.from = Some("+19195550000".into());
    bandwidth(config(&base)).send(&msg).await.unwrap();
    assert_eq!(log.lock().unwrap()[0].json()["from"], "+19195550000");
}

#[tokio::test]
async fn classifies_bandwidth_errors() {
    let invalid_to = json!({
        "type": "request-validation", "description": "Your request could not be accepted.",
        "fieldErrors": [{"fieldName": "to", "description": "'+1invalid' must be replaced with a valid E164 formatted telephone number"}]
    });
    let invalid_from = json!({
        "type": "request-validation", "description": "Your request could not be accepted.",
        "fieldErrors": [{"fieldName": "from", "description": "'+19195551212' must be a number on your account"}]
    });
    let cases = [
        (Reply::json(400, invalid_to), "permanent", "bandwidth request-validation: Your request could not be accepted.; to: "),
        (Reply::json(400, invalid_from), "misconfigured", "; from: "),
        (Reply::json(401, json!({"type": "unauthorized", "description": "Authentication Failed"})), "misconfigured", "bandwidth unauthorized: Authentication Failed"),
        (Reply::json(403, json!({"type": "forbidden", "description": "Access Denied"})), "misconfigured", "bandwidth forbidden"),
        (Reply::text(404, ""), "misconfigured", "HTTP 404"),
        (Reply::json(429, json!({"type": "max-message-queue-size-exceeded", "description": "The SMS queue for your account is full"})).with_header("retry-after", "5"), "rate_limited", "queue for your account is full"),
        (Reply::text(500, "internal"), "retryable", "internal"),
        (Reply::text(503, "unavailable"), "retryable", "unavailable"),
    ];
    for (reply, kind, says) in cases {
        let status = reply.status;
        let (base, _) = mock(reply).await;
        let err = bandwidth(config(&base))
            .send(&sms("+19195554444", "hi"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(status)),
            "{err}"
        );
        assert!(err.to_string().contains(says), "{err}");
        if let ProviderError::RateLimited { retry_after, .. } = err {
            assert_eq!(retry_after, Some(Duration::from_secs(5)));
        }
    }
}

#[test]
fn refuses_half_configured_webhook_credentials() {
    let mut half = config("https://messaging.bandwidth.com");
    half.webhook_password = None;
    let err = Bandwidth::new("bw", half, testkit::client(), &testkit::opts()).unwrap_err();
    assert!(err.to_string().contains("go together"), "{err}");
}

// ---- callbacks ---------------------------------------------------------------

fn callback(kind: &str, error_code: Option<i64>) -> serde_json::Value {
    let mut event = json!({
        "type": kind,
        "time": "2020-05-11T20:14:36.000Z",
        "description": "ok",
        "to": "+19195554444",
        "message": {
            "id": "1589228074636lm4k2je7j7jklbn2", "owner": "+19195551212",
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2",
            "time": "2020-05-11T20:14:34.636Z", "segmentCount": 1, "direction": "out",
            "to": ["+19195554444"], "from": "+19195551212", "text": "", "tag": "ntf_01hx7"
        }
    });
    if let Some(code) = error_code {
        event["errorCode"] = json!(code);
        event["description"] = json!("rejected-unallocated-from-number");
    }
    event
}

fn post(
    provider: &Bandwidth,
    body: &serde_json::Value,
    auth: Option<&str>,
) -> Result<Vec<InboundEvent>, InboundError> {
    let mut list = vec![("content-type", "application/json")];
    if let Some(auth) = auth {
        list.push(("Authorization", auth));
    }
    let hdrs = headers(&list);
    let body = body.to_string();
    provider.inbound(&InboundRequest {
        method: "POST",
        url: "https://foghorn.example.com/hooks/bandwidth",
        headers: &hdrs,
        body: body.as_bytes(),
        now: 1_700_000_000,
    })
}

fn status(state: DeliveryState, kind: &str, code: Option<&str>, detail: &str) -> InboundEvent {
    InboundEvent::Status {
        provider_message_id: Some("1589228074636lm4k2je7j7jklbn2".into()),
        notification_id: Some("ntf_01hx7".into()),
        state,
        error_code: code.map(str::to_string),
        detail: Some(detail.into()),
        recipient: Some("+19195554444".into()),
        price: None,
        event_id: Some(format!("1589228074636lm4k2je7j7jklbn2:{kind}")),
    }
}

#[test]
fn maps_callback_arrays() {
    let provider = bandwidth(config("https://messaging.bandwidth.com"));
    let auth = basic("hook-user", "hook-pass");
    let body = json!([
        callback("message-delivered", None),
        callback("message-failed", Some(4720)),
        callback("message-sending", None),
        callback("message-sent", None),
        callback("message-read", None),
    ]);
    assert_eq!(
        post(&provider, &body, Some(&auth)).unwrap(),
        [
            status(DeliveryState::Delivered, "message-delivered", None, "ok"),
            status(
                DeliveryState::Failed,
                "message-failed",
                Some("4720"),
                "rejected-unallocated-from-number"
            ),
            status(DeliveryState::Sent, "message-sent", None, "ok"),
            status(DeliveryState::Read, "message-read", None, "ok"),
        ]
    );
}

#[test]
fn parses_incoming_messages() {
    let provider = bandwidth(config("https://messaging.bandwidth.com"));
    let body = json!([{
        "type": "message-received", "time": "2016-09-14T18:20:16Z",
        "description": "Incoming message received", "to": "+19195551212",
        "message": {
            "id": "14762070468292kw2fuqty55yp2b2", "time": "2016-09-14T18:20:16Z",
            "to": ["+19195551212"], "from": "+19195554444", "text": "STOP",
            "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2", "owner": "+19195551212",
            "direction": "in", "segmentCount": 1
        }
    }]);
    assert_eq!(
        post(&provider, &body, Some(&basic("hook-user", "hook-pass"))).unwrap(),
        [InboundEvent::Message {
            provider_message_id: Some("14762070468292kw2fuqty55yp2b2".into()),
            from: "+19195554444".into(),
            to: "+19195551212".into(),
            text: "STOP".into(),
        }]
    );
}

#[test]
fn refuses_callbacks_without_the_right_credentials() {
    let provider = bandwidth(config("https://messaging.bandwidth.com"));
    let body = json!([callback("message-delivered", None)]);
    for auth in [
        None,
        Some(basic("hook-user", "wrong")),
        Some(basic("someone", "hook-pass")),
        Some(basic("hook-user", "hook-pass2")),
        Some("Bearer hook-pass".to_string()),
        Some("Basic not-base64!".to_string()),
    ] {
        let got = post(&provider, &body, auth.as_deref());
        assert!(
            matches!(got, Err(InboundError::Unauthorized(_))),
            "{auth:?}: {got:?}"
        );
    }
    // Malformed bodies are reported as such once authenticated.
    let got = post(
        &provider,
        &json!({"type": "message-delivered"}),
        Some(&basic("hook-user", "hook-pass")),
    );
    assert!(matches!(got, Err(InboundError::Malformed(_))), "{got:?}");
    // Without configured credentials nothing is accepted.
    let mut open = config("https://messaging.bandwidth.com");
    open.webhook_username = None;
    open.webhook_password = None;
    let got = post(
        &bandwidth(open),
        &body,
        Some(&basic("hook-user", "hook-pass")),
    );
    assert!(
        matches!(got, Err(InboundError::NotConfigured(_))),
        "{got:?}"
    );
}

#[test]
fn a_replayed_callback_has_the_same_event_id_so_upstream_dedup_drops_it() {
    // Bandwidth signs nothing and delivers at least once: duplicates and
    // replays verify alike, and are recognised by their repeated event id.
    let provider = bandwidth(config("https://messaging.bandwidth.com"));
    let auth = basic("hook-user", "hook-pass");
    let body = json!([callback("message-delivered", None)]);
    let first = post(&provider, &body, Some(&auth)).unwrap();
    let replay = post(&provider, &body, Some(&auth)).unwrap();
    assert_eq!(first, replay);
    let failed = post(
        &provider,
        &json!([callback("message-failed", Some(4432))]),
        Some(&auth),
    )
    .unwrap();
    let id = |events: &[InboundEvent]| match &events[0] {
        InboundEvent::Status { event_id, .. } => event_id.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        id(&first).as_deref(),
        Some("1589228074636lm4k2je7j7jklbn2:message-delivered")
    );
    assert_ne!(id(&first), id(&failed));
}
