//! Bandwidth against a local mock of Messaging v2 and its OAuth 2.0 token
//! endpoint, and its callbacks.

use super::*;
use crate::http::{build_client, HttpOptions};
use crate::sms::testkit::{self, basic, headers, mock_routes, sms, to_path, Log, Recorded, Reply};
use foghorn_core::DeliveryState;
use serde_json::json;
use std::time::Duration;

const ACCOUNT: &str = "9900000";
const CLIENT_ID: &str = "bw-client-7f3a";
const CLIENT_SECRET: &str = "bw-secret-s3cr3t-0042";
const TOKEN_PATH: &str = "/api/v1/oauth2/token";

fn messages_path() -> String {
    format!("/api/v2/users/{ACCOUNT}/messages")
}

pub(super) fn config(base: &str) -> Config {
    Config {
        account_id: ACCOUNT.into(),
        client_id: Some(CLIENT_ID.into()),
        client_secret: Some(CLIENT_SECRET.into()),
        username: None,
        password: None,
        messaging_application_id: "93de2206-9669-4e07-948d-329f4b722ee2".into(),
        from: "+19195551212".into(),
        base_url: Some(base.into()),
        webhook_username: Some("hook-user".into()),
        webhook_password: Some("hook-pass".into()),
        voice_application_id: None,
        voice_prices: Default::default(),
    }
}

fn bandwidth(config: Config) -> Bandwidth {
    Bandwidth::new("bandwidth", config, testkit::client(), &testkit::opts()).unwrap()
}

/// A token endpoint's success answer (RFC 6749 §5.1).
pub(super) fn issued(token: &str, expires_in: u64) -> Reply {
    Reply::json(
        200,
        json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}),
    )
}

/// A mock of both endpoints: the token endpoint answers `tokens` in turn,
/// the messages resource `messages` (each list's last answer repeats).
async fn both(tokens: Vec<Reply>, messages: Vec<Reply>) -> (String, Log) {
    mock_routes(vec![
        (TOKEN_PATH.to_string(), tokens),
        (messages_path(), messages),
    ])
    .await
}

fn bearers(seen: &[Recorded]) -> Vec<String> {
    seen.iter()
        .map(|s| s.header("authorization").to_string())
        .collect()
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

fn unauthorized() -> Reply {
    Reply::json(
        401,
        json!({"type": "unauthorized", "description": "Authentication Failed"}),
    )
}

#[tokio::test]
async fn sends_the_documented_requests() {
    let (base, log) = both(vec![issued("tok-AAAA-1111", 3600)], vec![accepted()]).await;
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
            thread: None,
        }
    );
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    // The token request, as the SDKs make it.
    let token = &seen[0];
    assert_eq!(token.method, "POST");
    assert_eq!(token.path, TOKEN_PATH);
    assert_eq!(token.query, None);
    assert_eq!(
        token.header("authorization"),
        basic(CLIENT_ID, CLIENT_SECRET)
    );
    assert_eq!(
        token.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(&token.body[..], b"grant_type=client_credentials");
    // The message request, with that token.
    let req = &seen[1];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, messages_path());
    assert_eq!(req.query, None);
    assert_eq!(req.header("authorization"), "Bearer tok-AAAA-1111");
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

#[test]
fn the_default_origins_are_bandwidths() {
    let mut c = config("unused");
    c.base_url = None;
    let debug = format!("{:?}", bandwidth(c));
    assert!(
        debug.contains("https://messaging.bandwidth.com/api/v2/users/9900000/messages"),
        "{debug}"
    );
    assert!(
        debug.contains("https://api.bandwidth.com/api/v1/oauth2/token"),
        "{debug}"
    );
    assert!(!debug.contains(CLIENT_SECRET), "{debug}");
}

#[test]
fn base_url_goes_through_the_private_target_check() {
    let opts = HttpOptions {
        allow_private_targets: false,
        ..testkit::opts()
    };
    let err =
        Bandwidth::new("bw", config("http://127.0.0.1:9"), testkit::client(), &opts).unwrap_err();
    assert!(err.to_string().contains("private"), "{err}");
}

#[tokio::test]
async fn uses_the_engines_sender() {
    let (base, log) = both(vec![issued("tok-1", 3600)], vec![accepted()]).await;
    let mut msg = sms("+19195554444", "hi");
    msg.from = Some("+19195550000".into());
    bandwidth(config(&base)).send(&msg).await.unwrap();
    assert_eq!(
        to_path(&log, &messages_path())[0].json()["from"],
        "+19195550000"
    );
}

/// `n` sends started together from clones of `provider`, as every worker
/// holds one: they share the account's token.
async fn send_at_once(provider: &Bandwidth, n: usize) -> Vec<Result<Receipt, ProviderError>> {
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..n {
        let provider = provider.clone();
        sends.spawn(async move { provider.send(&sms("+19195554444", "hi")).await });
    }
    let mut out = Vec::with_capacity(n);
    while let Some(sent) = sends.join_next().await {
        out.push(sent.expect("the send task finished"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_sends_make_one_token_request() {
    // The token answer is slow, so every send starts while it is awaited.
    let (base, log) = both(
        vec![issued("tok-shared", 3600).after(Duration::from_millis(300))],
        vec![accepted()],
    )
    .await;
    let provider = bandwidth(config(&base));
    for sent in send_at_once(&provider, 200).await {
        sent.unwrap();
    }
    assert_eq!(to_path(&log, TOKEN_PATH).len(), 1);
    let messages = to_path(&log, &messages_path());
    assert_eq!(messages.len(), 200);
    assert!(bearers(&messages).iter().all(|b| b == "Bearer tok-shared"));
    // And later sends reuse it.
    provider.send(&sms("+19195554444", "hi")).await.unwrap();
    assert_eq!(to_path(&log, TOKEN_PATH).len(), 1);
}

#[tokio::test]
async fn a_token_within_the_refresh_margin_is_replaced_once() {
    // 30 s is inside the 60 s margin: it serves the send that fetched it,
    // then is replaced; the 3600 s one is kept.
    let (base, log) = both(
        vec![issued("tok-short", 30), issued("tok-long", 3600)],
        vec![accepted()],
    )
    .await;
    let provider = bandwidth(config(&base));
    for _ in 0..3 {
        provider.send(&sms("+19195554444", "hi")).await.unwrap();
    }
    assert_eq!(to_path(&log, TOKEN_PATH).len(), 2);
    assert_eq!(
        bearers(&to_path(&log, &messages_path())),
        ["Bearer tok-short", "Bearer tok-long", "Bearer tok-long"]
    );
}

#[tokio::test]
async fn a_refused_token_is_replaced_and_the_send_retried_once() {
    let (base, log) = both(
        vec![issued("tok-revoked", 3600), issued("tok-new", 3600)],
        vec![unauthorized(), accepted()],
    )
    .await;
    let provider = bandwidth(config(&base));
    let receipt = provider.send(&sms("+19195554444", "hi")).await.unwrap();
    assert_eq!(receipt.http_status, Some(202));
    assert_eq!(to_path(&log, TOKEN_PATH).len(), 2);
    assert_eq!(
        bearers(&to_path(&log, &messages_path())),
        ["Bearer tok-revoked", "Bearer tok-new"]
    );
    // The new token is the cached one now.
    provider.send(&sms("+19195554444", "hi")).await.unwrap();
    assert_eq!(to_path(&log, TOKEN_PATH).len(), 2);
}

#[tokio::test]
async fn a_second_401_is_misconfigured() {
    let (base, log) = both(
        vec![issued("tok-1", 3600), issued("tok-2", 3600)],
        vec![unauthorized(), unauthorized(), accepted()],
    )
    .await;
    let err = bandwidth(config(&base))
        .send(&sms("+19195554444", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.http_status()),
        ("misconfigured", Some(401)),
        "{err}"
    );
    assert!(err.to_string().contains("Authentication Failed"), "{err}");
    assert!(
        err.to_string()
            .contains("newly issued access token was refused too"),
        "{err}"
    );
    assert_eq!(to_path(&log, TOKEN_PATH).len(), 2, "one refresh");
    assert_eq!(to_path(&log, &messages_path()).len(), 2, "one retry");
}

#[tokio::test]
async fn refused_client_credentials_are_misconfigured_with_the_reason() {
    for (status, body, says) in [
        (401, json!({"error": "invalid_client"}), "invalid_client"),
        (
            400,
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
            "invalid_client (Client authentication failed)",
        ),
        (
            400,
            json!({"error": "unsupported_grant_type"}),
            "unsupported_grant_type",
        ),
    ] {
        let (base, log) = both(vec![Reply::json(status, body)], vec![accepted()]).await;
        let err = bandwidth(config(&base))
            .send(&sms("+19195554444", "hi"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            ("misconfigured", Some(status)),
            "{err}"
        );
        let reason = err.to_string();
        assert!(reason.contains(says), "{reason}");
        assert!(reason.contains("BANDWIDTH_CLIENT_ID"), "{reason}");
        assert!(!reason.contains(CLIENT_SECRET), "{reason}");
        assert!(to_path(&log, &messages_path()).is_empty(), "nothing sent");
    }
}

#[tokio::test]
async fn token_endpoint_outages_are_retryable_and_429_rate_limited() {
    let cases = [
        (Reply::text(500, "internal"), "retryable"),
        (Reply::text(503, "unavailable"), "retryable"),
        (
            Reply::json(429, json!({"error": "slow_down"})).with_header("retry-after", "7"),
            "rate_limited",
        ),
    ];
    for (reply, kind) in cases {
        let status = reply.status;
        let (base, log) = both(vec![reply], vec![accepted()]).await;
        let err = bandwidth(config(&base))
            .send(&sms("+19195554444", "hi"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(status)),
            "{err}"
        );
        if let ProviderError::RateLimited { retry_after, .. } = err {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
        }
        assert!(to_path(&log, &messages_path()).is_empty());
    }
    // No answer in time.
    let opts = HttpOptions {
        timeout: Duration::from_millis(200),
        ..testkit::opts()
    };
    let (base, _) = both(
        vec![issued("late", 3600).after(Duration::from_secs(2))],
        vec![accepted()],
    )
    .await;
    let provider =
        Bandwidth::new("bw", config(&base), build_client(&opts).unwrap(), &opts).unwrap();
    let err = provider.send(&sms("+19195554444", "hi")).await.unwrap_err();
    assert_eq!(err.kind(), "retryable", "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_waiting_on_a_failed_token_request_share_its_failure() {
    let (base, log) =
        both(
            vec![Reply::json(401, json!({"error": "invalid_client"}))
                .after(Duration::from_millis(300))],
            vec![accepted()],
        )
        .await;
    let provider = bandwidth(config(&base));
    for sent in send_at_once(&provider, 50).await {
        assert_eq!(sent.unwrap_err().kind(), "misconfigured");
    }
    assert_eq!(to_path(&log, TOKEN_PATH).len(), 1);
}

#[tokio::test]
async fn credentials_never_reach_error_reasons() {
    // An endpoint that echoes what it got back.
    let (base, _) = both(
        vec![Reply::json(
            401,
            json!({"error": "invalid_client", "error_description": format!("secret {CLIENT_SECRET} is wrong")}),
        )],
        vec![accepted()],
    )
    .await;
    let err = bandwidth(config(&base))
        .send(&sms("+19195554444", "hi"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!err.to_string().contains(CLIENT_SECRET), "{err}");

    let token = "tok-echoed-9f8e7d6c";
    let echo = json!({"type": "request-validation", "description": format!("Bearer {token} rejected"),
        "fieldErrors": [{"fieldName": "to", "description": "bad"}]});
    let (base, _) = both(vec![issued(token, 3600)], vec![Reply::json(400, echo)]).await;
    let provider = bandwidth(config(&base));
    let err = provider.send(&sms("+19195554444", "hi")).await.unwrap_err();
    assert_eq!(err.kind(), "permanent", "{err}");
    assert!(err.to_string().contains("rejected"), "{err}");
    assert!(!err.to_string().contains(token), "{err}");
    let debug = format!("{provider:?}");
    assert!(
        !debug.contains(token) && !debug.contains(CLIENT_SECRET),
        "{debug}"
    );
    assert!(!format!("{:?}", config(&base)).contains(CLIENT_SECRET));
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
        (unauthorized(), "misconfigured", "bandwidth unauthorized: Authentication Failed"),
        (Reply::json(403, json!({"type": "forbidden", "description": "Access Denied"})), "misconfigured", "bandwidth forbidden"),
        (Reply::text(404, ""), "misconfigured", "HTTP 404"),
        (Reply::json(429, json!({"type": "max-message-queue-size-exceeded", "description": "The SMS queue for your account is full"})).with_header("retry-after", "5"), "rate_limited", "queue for your account is full"),
        (Reply::text(500, "internal"), "retryable", "internal"),
        (Reply::text(503, "unavailable"), "retryable", "unavailable"),
    ];
    for (reply, kind, says) in cases {
        let status = reply.status;
        let (base, _) = both(vec![issued("tok-1", 3600)], vec![reply]).await;
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

#[tokio::test]
async fn a_legacy_api_user_still_sends_with_basic_auth() {
    let (base, log) = both(vec![issued("unused", 3600)], vec![accepted()]).await;
    let mut legacy = config(&base);
    legacy.client_id = None;
    legacy.client_secret = None;
    legacy.username = Some("api-user".into());
    legacy.password = Some("api-pass".into());
    let provider = bandwidth(legacy);
    provider.send(&sms("+19195554444", "hi")).await.unwrap();
    assert!(to_path(&log, TOKEN_PATH).is_empty());
    let sent = to_path(&log, &messages_path());
    assert_eq!(bearers(&sent), [basic("api-user", "api-pass")]);
    assert!(!format!("{provider:?}").contains("api-pass"));
}

#[tokio::test]
async fn client_credentials_win_over_a_legacy_api_user() {
    let (base, log) = both(vec![issued("tok-1", 3600)], vec![accepted()]).await;
    let mut both_pairs = config(&base);
    both_pairs.username = Some("api-user".into());
    both_pairs.password = Some("api-pass".into());
    bandwidth(both_pairs)
        .send(&sms("+19195554444", "hi"))
        .await
        .unwrap();
    assert_eq!(to_path(&log, TOKEN_PATH).len(), 1);
    assert_eq!(bearers(&to_path(&log, &messages_path())), ["Bearer tok-1"]);
}

#[test]
fn refuses_missing_or_half_configured_credentials() {
    let build = |c: Config| Bandwidth::new("bw", c, testkit::client(), &testkit::opts());
    let mut none = config("https://messaging.bandwidth.com");
    none.client_id = None;
    none.client_secret = None;
    let err = build(none).unwrap_err().to_string();
    assert!(
        err.contains("BANDWIDTH_CLIENT_ID") && err.contains("BANDWIDTH_CLIENT_SECRET"),
        "{err}"
    );
    let mut half = config("https://messaging.bandwidth.com");
    half.client_secret = Some(" ".into());
    let err = build(half).unwrap_err().to_string();
    assert!(
        err.contains("`client_id` and `client_secret` go together"),
        "{err}"
    );
    let mut half = config("https://messaging.bandwidth.com");
    half.password = Some("p".into());
    let err = build(half).unwrap_err().to_string();
    assert!(
        err.contains("`username` and `password` go together"),
        "{err}"
    );
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
            media: None,
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
