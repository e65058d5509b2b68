//! Webhook delivery against a local recording receiver, signing against the
//! spec's published vector, and the SSRF guard end to end.

use super::signing::{self, Secret, SecretError, VerifyError, DEFAULT_TOLERANCE};
use super::*;
use crate::http::{build_client, client_with, HttpOptions};
use foghorn_core::Rendered;
use foghorn_testkit::http::{Log, MockServer, Reply};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FIVE_S: Duration = Duration::from_secs(5);

/// Waits `delay`, then answers `status` with `headers` and a short text,
/// recording each request (the workspace's recording mock).
async fn receiver(
    status: u16,
    headers: &'static [(&str, &str)],
    delay: Duration,
) -> (SocketAddr, Log) {
    let mut reply = Reply::text(status, "receiver says so").after(delay);
    for (name, value) in headers {
        reply = reply.with_header(name, *value);
    }
    let server = MockServer::start(move |_| reply.clone()).await;
    (server.addr, server.log)
}

fn hook(config: Config, allow_private: bool, timeout: Duration) -> Webhook {
    let opts = HttpOptions {
        allow_private_targets: allow_private,
        allow_private_targets_for_tenants: false,
        timeout,
        public_url: None,
    };
    let reach = Reach {
        client: build_client(&opts).unwrap(),
        allow_private,
    };
    Webhook::new("hook", config, reach.clone(), reach).unwrap()
}

fn local(config: Config) -> Webhook {
    hook(config, true, FIVE_S)
}

fn msg(to: Address, json: Option<serde_json::Value>) -> Outbound {
    let text = Some("Your order shipped".to_string());
    Outbound {
        notification_id: "ntf_01hx".into(),
        tenant_id: "ten_1".into(),
        event_id: "evt_01hx".into(),
        event_name: "order.shipped".into(),
        channel: Channel::Webhook,
        to,
        content: Rendered {
            text,
            json,
            ..Rendered::default()
        },
        tags: vec![],
        headers: vec![],
        from: None,
        tenant_target: false,
        thread: None,
    }
}

fn to_url(url: String) -> Outbound {
    msg(Address::Url(url), Some(json!({"order": 42})))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn delivers_signed_requests_that_verify() {
    let (addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let headers = [("authorization".to_string(), "Bearer t".to_string())].into();
    let config = Config {
        secret: Some(SECRET.into()),
        headers,
        ..Config::default()
    };
    let receipt = local(config)
        .send(&to_url(format!("http://{addr}/")))
        .await
        .unwrap();
    assert_eq!(receipt.provider_message_id.as_deref(), Some("ntf_01hx"));
    assert_eq!(receipt.http_status, Some(200));

    let seen = seen.lock().unwrap();
    let (h, body) = (&seen[0].headers, &seen[0].body);
    assert_eq!(body.as_ref(), br#"{"order":42}"#);
    assert_eq!(header(h, "content-type"), "application/json");
    assert_eq!(header(h, "authorization"), "Bearer t");
    assert!(header(h, "user-agent").starts_with("foghorn/"));
    assert_eq!(header(h, "webhook-id"), "ntf_01hx");
    let (ts, sig) = (
        header(h, "webhook-timestamp"),
        header(h, "webhook-signature"),
    );
    let now = chrono::Utc::now().timestamp();
    let secret = Secret::parse(SECRET).unwrap();
    let verified = signing::verify(&secret, "ntf_01hx", ts, sig, body, now, DEFAULT_TOLERANCE);
    assert_eq!(verified, Ok(()));
}

#[tokio::test]
async fn a_fixed_url_relays_any_channel_as_an_envelope() {
    let (addr, seen) = receiver(204, &[], Duration::ZERO).await;
    let relay = local(Config {
        url: Some(format!("http://{addr}/sms")),
        ..Config::default()
    });
    let mut sms = msg(Address::Phone("+15550100".into()), None);
    sms.channel = Channel::Sms;
    relay.send(&sms).await.unwrap();
    let first = seen.lock().unwrap()[0].clone();
    let (h, body) = (first.headers, first.body);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let expected = json!({
        "type": "order.shipped", "event_id": "evt_01hx", "notification_id": "ntf_01hx",
        "channel": "sms", "to": "+15550100", "content": {"text": "Your order shipped"}
    });
    assert_eq!(body, expected);
    assert!(
        h.get("webhook-signature").is_none(),
        "no secret, no signature"
    );

    // Without a fixed URL a phone number has nowhere to go.
    let err = local(Config::default()).send(&sms).await.unwrap_err();
    assert_eq!(err.kind(), "permanent", "{err}");
}

#[tokio::test]
async fn the_webhook_id_is_stable_across_retries() {
    let (addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let (hook, m) = (local(Config::default()), to_url(format!("http://{addr}/")));
    hook.send(&m).await.unwrap();
    hook.send(&m).await.unwrap();
    let seen = seen.lock().unwrap();
    let ids: Vec<&str> = seen
        .iter()
        .map(|r| header(&r.headers, "webhook-id"))
        .collect();
    assert_eq!(ids, ["ntf_01hx", "ntf_01hx"]);
}

#[tokio::test]
async fn classifies_failed_answers() {
    for (status, headers, kind) in [
        (503, &[][..], "retryable"),
        (429, &[("retry-after", "7")], "rate_limited"),
        (400, &[], "permanent"),
        (401, &[], "misconfigured"),
    ] {
        let (addr, _) = receiver(status, headers, Duration::ZERO).await;
        let m = to_url(format!("http://{addr}/"));
        let err = local(Config::default()).send(&m).await.unwrap_err();
        assert_eq!((err.kind(), err.http_status()), (kind, Some(status)));
        assert!(err.to_string().contains("receiver says so"), "{err}");
        if let ProviderError::RateLimited { retry_after, .. } = err {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
        }
    }
}

#[tokio::test]
async fn a_slow_receiver_is_retryable() {
    let (addr, _) = receiver(200, &[], Duration::from_secs(3)).await;
    let impatient = hook(Config::default(), true, Duration::from_millis(200));
    let err = impatient
        .send(&to_url(format!("http://{addr}/")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "retryable", "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn private_targets_are_refused_and_never_reached() {
    let (addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let port = addr.port();
    let guarded = hook(Config::default(), false, FIVE_S);
    for target in [
        format!("http://127.0.0.1:{port}/"),
        "http://10.0.0.1/".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        format!("http://[::1]:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        let err = guarded.send(&to_url(target.clone())).await.unwrap_err();
        assert_eq!(err.kind(), "permanent", "{target}: {err}");
        assert!(
            err.to_string().contains("refused as private"),
            "{target}: {err}"
        );
    }
    assert!(seen.lock().unwrap().is_empty());

    // The same loopback target is delivered when private targets are allowed.
    let m = to_url(format!("http://localhost:{port}/"));
    local(Config::default()).send(&m).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn redirects_are_followed_unless_they_lead_somewhere_private() {
    let (final_addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let location = format!("http://{final_addr}/final");
    let redirect =
        MockServer::start(move |_| Reply::status(307).with_header("location", &location)).await;
    let m = to_url(format!("http://localhost:{}/start", redirect.addr.port()));

    // Every local first hop is private, so this client's resolver lets one
    // through while its redirect policy is as strict as in production.
    let client = client_with(FIVE_S, true, false).unwrap();
    let reach = Reach {
        client,
        allow_private: false,
    };
    let strict = Webhook::new("hook", Config::default(), reach.clone(), reach).unwrap();
    let err = strict.send(&m).await.unwrap_err();
    assert_eq!(err.kind(), "permanent", "{err}");
    // Refused at the redirect (the literal), not at the first hop (`localhost`).
    assert!(err.to_string().contains("host `127.0.0.1`"), "{err}");
    assert!(seen.lock().unwrap().is_empty());

    local(Config::default()).send(&m).await.unwrap();
    assert_eq!(seen.lock().unwrap()[0].body.as_ref(), br#"{"order":42}"#);
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
    let other = Secret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let (id, now, body) = ("ntf_1", 1_700_000_000_i64, &b"{}"[..]);
    let sign = |ts| signing::sign(&secret, id, ts, body);
    let rotated = format!("v1a,xyz v1,bm9wZQ== {}", sign(now));
    use VerifyError::*;
    for (key, ts, sig, body, expected) in [
        (&secret, now, sign(now), body, Ok(())),
        (&secret, now, rotated, body, Ok(())),
        (&secret, now, sign(now), &b"{ }"[..], Err(Mismatch)),
        (&other, now, sign(now), body, Err(Mismatch)),
        (&secret, now - 301, sign(now - 301), body, Err(Stale)),
        (&secret, now + 301, sign(now + 301), body, Err(Future)),
        (&secret, now, "garbage".into(), body, Err(Malformed)),
    ] {
        let got = signing::verify(key, id, &ts.to_string(), &sig, body, now, DEFAULT_TOLERANCE);
        assert_eq!(got, expected, "{sig}");
    }
    let got = signing::verify(
        &secret,
        id,
        "soon",
        &sign(now),
        body,
        now,
        DEFAULT_TOLERANCE,
    );
    assert_eq!(got, Err(BadTimestamp));
}

#[test]
fn secrets_fail_clearly() {
    let err = |s: &str| Secret::parse(s).err();
    assert_eq!(
        err("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        Some(SecretError::MissingPrefix)
    );
    assert_eq!(err("whsec_not*base64"), Some(SecretError::BadBase64));
    assert_eq!(err("whsec_c2hvcnQ="), Some(SecretError::TooShort(5)));
}

/// A URL written by a tenant is reached under the tenants' rule even when
/// the operator's own targets may be private: by name (the resolver) and
/// by literal alike.
#[tokio::test]
async fn a_tenants_url_is_reached_under_the_tenants_rule() {
    let (addr, seen) = receiver(200, &[], Duration::ZERO).await;
    let opts = HttpOptions {
        allow_private_targets: true,
        ..HttpOptions::default()
    };
    let clients = crate::http::Clients::new(&opts).unwrap();
    let hook = Webhook::new(
        "hook",
        Config::default(),
        Reach {
            client: clients.operator.clone(),
            allow_private: true,
        },
        Reach {
            client: clients.tenant.clone(),
            allow_private: false,
        },
    )
    .unwrap();
    for url in [
        format!("http://{addr}/"),
        format!("http://localhost:{}/", addr.port()),
    ] {
        let mut m = to_url(url.clone());
        m.tenant_target = true;
        let err = hook.send(&m).await.unwrap_err();
        assert_eq!(err.kind(), "permanent", "{url}: {err}");
        assert!(err.to_string().contains("private"), "{url}: {err}");
        m.tenant_target = false;
        hook.send(&m).await.unwrap();
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "only the operator's sends arrived"
    );
}
