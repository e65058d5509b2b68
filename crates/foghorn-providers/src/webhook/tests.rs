//! Webhook delivery against a local recording receiver, signing against the
//! spec's published vector, and the SSRF guard end to end.

use super::signing::{self, Secret, VerifyError, DEFAULT_TOLERANCE};
use super::*;
use crate::http::{build_client, HttpOptions};
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::Router;
use foghorn_core::Rendered;
use reqwest::StatusCode;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A receiver that records each request, waits `delay`, then answers `status`
/// with `headers`.
async fn receiver(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    delay: Duration,
) -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let log = seen.clone();
    let app = Router::new().fallback(move |h: HeaderMap, body: Bytes| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push((h, body));
            tokio::time::sleep(delay).await;
            let mut resp: Response =
                (StatusCode::from_u16(status).unwrap(), "receiver says so").into_response();
            for (k, v) in headers {
                resp.headers_mut().insert(*k, HeaderValue::from_static(v));
            }
            resp
        }
    });
    (serve(app).await, seen)
}

fn hook(config: Config, allow_private: bool, timeout: Duration) -> Webhook {
    let opts = HttpOptions {
        allow_private_targets: allow_private,
        timeout,
    };
    Webhook::new("hook", config, build_client(&opts).unwrap(), allow_private).unwrap()
}

fn local(config: Config) -> Webhook {
    hook(config, true, Duration::from_secs(5))
}

fn msg(to: Address, json: Option<serde_json::Value>) -> Outbound {
    Outbound {
        notification_id: "ntf_01hx".into(),
        tenant_id: "ten_1".into(),
        event_id: "evt_01hx".into(),
        event_name: "order.shipped".into(),
        channel: Channel::Webhook,
        to,
        content: Rendered {
            text: Some("Your order shipped".into()),
            json,
            ..Rendered::default()
        },
        tags: vec![],
    }
}

fn url_msg(addr: SocketAddr) -> Outbound {
    msg(
        Address::Url(format!("http://{addr}/hook")),
        Some(serde_json::json!({"order": 42})),
    )
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn delivers_signed_requests_that_verify() {
    let (addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let config = Config {
        secret: Some(SECRET.into()),
        headers: [("authorization".to_string(), "Bearer t".to_string())].into(),
        ..Config::default()
    };
    let receipt = local(config).send(&url_msg(addr)).await.unwrap();
    assert_eq!(receipt.provider_message_id.as_deref(), Some("ntf_01hx"));
    assert_eq!(receipt.http_status, Some(200));

    let seen = seen.lock().unwrap();
    let (h, body) = &seen[0];
    assert_eq!(body.as_ref(), br#"{"order":42}"#);
    assert_eq!(header(h, "content-type"), "application/json");
    assert_eq!(header(h, "authorization"), "Bearer t");
    assert!(header(h, "user-agent").starts_with("foghorn/"));
    assert_eq!(header(h, "webhook-id"), "ntf_01hx");
    let verified = signing::verify(
        &Secret::parse(SECRET).unwrap(),
        header(h, "webhook-id"),
        header(h, "webhook-timestamp"),
        header(h, "webhook-signature"),
        body,
        chrono::Utc::now().timestamp(),
        DEFAULT_TOLERANCE,
    );
    assert_eq!(verified, Ok(()));
}

#[tokio::test]
async fn sends_an_envelope_when_the_template_gave_no_json() {
    let (addr, seen) = receiver(204, &[], Duration::ZERO).await;
    let m = msg(Address::Url(format!("http://{addr}/")), None);
    local(Config::default()).send(&m).await.unwrap();
    let seen = seen.lock().unwrap();
    let body: serde_json::Value = serde_json::from_slice(&seen[0].1).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "type": "order.shipped", "event_id": "evt_01hx", "notification_id": "ntf_01hx",
            "channel": "webhook", "to": format!("http://{addr}/"), "content": {"text": "Your order shipped"}
        })
    );
    assert!(
        seen[0].0.get("webhook-signature").is_none(),
        "no secret, no signature"
    );
}

#[tokio::test]
async fn a_fixed_url_relays_any_channel() {
    let (addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let relay = local(Config {
        url: Some(format!("http://{addr}/sms")),
        ..Config::default()
    });
    let mut sms = msg(Address::Phone("+15550100".into()), None);
    sms.channel = Channel::Sms;
    relay.send(&sms).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);

    let err = local(Config::default()).send(&sms).await.unwrap_err();
    assert_eq!(err.kind(), "permanent", "{err}");
}

#[tokio::test]
async fn the_webhook_id_is_stable_across_retries() {
    let (addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let hook = local(Config::default());
    let m = url_msg(addr);
    hook.send(&m).await.unwrap();
    hook.send(&m).await.unwrap();
    let ids: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| header(h, "webhook-id").to_string())
        .collect();
    assert_eq!(ids, ["ntf_01hx", "ntf_01hx"]);
}

#[tokio::test]
async fn classifies_failed_answers() {
    let cases: [(u16, &'static [(&str, &str)], ProviderError); 4] = [
        (
            503,
            &[],
            ProviderError::Retryable {
                reason: String::new(),
                http_status: Some(503),
            },
        ),
        (
            429,
            &[("retry-after", "7")],
            ProviderError::RateLimited {
                reason: String::new(),
                retry_after: Some(Duration::from_secs(7)),
                http_status: Some(429),
            },
        ),
        (
            400,
            &[],
            ProviderError::Permanent {
                reason: String::new(),
                http_status: Some(400),
            },
        ),
        (
            401,
            &[],
            ProviderError::Misconfigured {
                reason: String::new(),
                http_status: Some(401),
            },
        ),
    ];
    for (status, headers, expected) in cases {
        let (addr, _) = receiver(status, headers, Duration::ZERO).await;
        let err = local(Config::default())
            .send(&url_msg(addr))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (expected.kind(), expected.http_status())
        );
        assert!(err.to_string().contains("receiver says so"), "{err}");
        if let ProviderError::RateLimited { retry_after, .. } = err {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
        }
    }
}

#[tokio::test]
async fn a_slow_receiver_is_retryable() {
    let (addr, _) = receiver(200, &[], Duration::from_secs(3)).await;
    let err = hook(Config::default(), true, Duration::from_millis(200))
        .send(&url_msg(addr))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "retryable", "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn private_targets_are_refused_and_never_reached() {
    let (addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let port = addr.port();
    let guarded = hook(Config::default(), false, Duration::from_secs(5));
    for target in [
        format!("http://127.0.0.1:{port}/"),
        "http://10.0.0.1/".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        format!("http://[::1]:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        let err = guarded
            .send(&msg(Address::Url(target.clone()), None))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "permanent", "{target}: {err}");
        assert!(
            err.to_string().contains("refused as private"),
            "{target}: {err}"
        );
    }
    assert!(seen.lock().unwrap().is_empty());

    // The same loopback target is delivered when private targets are allowed.
    local(Config::default())
        .send(&msg(
            Address::Url(format!("http://localhost:{port}/")),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// Redirects are followed when the guard allows their target; refusing a
/// redirect to loopback is covered by `http::tests` on the policy function,
/// because every local first hop is itself private.
#[tokio::test]
async fn redirects_are_followed_when_allowed() {
    let (final_addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let location: &'static str = Box::leak(format!("http://{final_addr}/final").into_boxed_str());
    let app = Router::new().fallback(move || async move {
        (StatusCode::TEMPORARY_REDIRECT, [("location", location)])
    });
    let first = serve(app).await;
    local(Config::default())
        .send(&url_msg(first))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap()[0].1.as_ref(), br#"{"order":42}"#);
}

#[test]
fn reproduces_the_published_test_vector() {
    // From the Standard Webhooks / Svix libraries' own tests.
    let secret = Secret::parse(SECRET).unwrap();
    let body = br#"{"test": 2432232314}"#;
    let sig = signing::sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
    assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

#[test]
fn verify_rejects_what_it_should() {
    let secret = Secret::parse(SECRET).unwrap();
    let (id, now, body) = ("ntf_1", 1_700_000_000_i64, b"{}".as_slice());
    let sig = signing::sign(&secret, id, now, body);
    let check = |key: &Secret, ts: i64, sig: &str, body: &[u8]| {
        signing::verify(key, id, &ts.to_string(), sig, body, now, DEFAULT_TOLERANCE)
    };
    assert_eq!(check(&secret, now, &sig, body), Ok(()));
    assert_eq!(
        check(&secret, now, &format!("v1a,xyz v1,bm9wZQ== {sig}"), body),
        Ok(())
    );
    assert_eq!(
        check(&secret, now, &sig, b"{ }"),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        check(&Secret::parse(OTHER_SECRET).unwrap(), now, &sig, body),
        Err(VerifyError::Mismatch)
    );
    let stale = now - 301;
    assert_eq!(
        check(
            &secret,
            stale,
            &signing::sign(&secret, id, stale, body),
            body
        ),
        Err(VerifyError::Stale)
    );
    let future = now + 301;
    assert_eq!(
        check(
            &secret,
            future,
            &signing::sign(&secret, id, future, body),
            body
        ),
        Err(VerifyError::Future)
    );
    assert_eq!(
        check(&secret, now, "garbage", body),
        Err(VerifyError::Malformed)
    );
    assert_eq!(
        signing::verify(&secret, id, "yesterday", &sig, body, now, DEFAULT_TOLERANCE),
        Err(VerifyError::BadTimestamp)
    );
}

#[test]
fn secrets_fail_clearly() {
    use signing::SecretError;
    assert_eq!(
        Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").err(),
        Some(SecretError::MissingPrefix)
    );
    assert_eq!(
        Secret::parse("whsec_not*base64").err(),
        Some(SecretError::BadBase64)
    );
    assert_eq!(
        Secret::parse("whsec_c2hvcnQ=").err(),
        Some(SecretError::TooShort(5))
    );
}
