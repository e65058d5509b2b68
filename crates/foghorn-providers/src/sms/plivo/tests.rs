//! Plivo against a local mock of its Message API, and signature V3 against
//! signatures computed by plivo-python's own `utils/signature_v3.py`.

use super::inbound::{signature, signed_base, verify};
use super::*;
use crate::sms::testkit::{self, basic, form_body, headers, mock, sms, Reply, PUBLIC_URL};
use foghorn_core::{DeliveryState, Money};
use serde_json::json;
use std::time::Duration;

const AUTH_ID: &str = "MAXXXXXXXXXXXXXXXXXX";
const TOKEN: &str = "plivo-auth-token";

fn config(base: &str) -> Config {
    Config {
        auth_id: AUTH_ID.into(),
        auth_token: TOKEN.into(),
        from: "+14155550000".into(),
        base_url: Some(base.into()),
    }
}

fn plivo(config: Config) -> Plivo {
    Plivo::new("plivo", config, testkit::client(), &testkit::opts()).unwrap()
}

/// The documented 202 answer (the SDK's `messageSendResponse.json`).
fn queued() -> Reply {
    Reply::json(
        202,
        json!({
            "api_id": "948b53a2-3f08-11e7-b6f4-061564b78b75",
            "message": "message(s) queued",
            "message_uuid": ["5b40a428-bfc7-4daf-9d06-726c558bf3b8"]
        }),
    )
}

fn plivo_error(status: u16, error: &str) -> Reply {
    Reply::json(
        status,
        json!({"api_id": "c1b5e6e2-0b7b-11ee-a1c5-0242ac110002", "error": error}),
    )
}

#[tokio::test]
async fn sends_the_documented_request() {
    let (base, log) = mock(queued()).await;
    let receipt = plivo(config(&base))
        .send(&sms("+14155551234", "Your order shipped"))
        .await
        .unwrap();
    assert_eq!(
        receipt,
        Receipt {
            provider_message_id: Some("5b40a428-bfc7-4daf-9d06-726c558bf3b8".into()),
            cost: None,
            http_status: Some(202),
            captured: None,
            thread: None,
        }
    );
    let req = log.lock().unwrap()[0].clone();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, format!("/v1/Account/{AUTH_ID}/Message/"));
    assert_eq!(req.query, None);
    assert_eq!(req.header("authorization"), basic(AUTH_ID, TOKEN));
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(
        req.json(),
        json!({
            "src": "14155550000",
            "dst": "14155551234",
            "text": "Your order shipped",
            "type": "sms",
            "url": format!("{PUBLIC_URL}/hooks/plivo?tenant=ten_1&n=ntf_01hx7"),
            "method": "POST"
        })
    );
}

#[tokio::test]
async fn omits_the_callback_without_a_public_url() {
    let (base, log) = mock(queued()).await;
    let opts = HttpOptions {
        public_url: None,
        ..testkit::opts()
    };
    let mut msg = sms("+14155551234", "hi");
    msg.from = Some("FOGHORN".into());
    Plivo::new("plivo", config(&base), testkit::client(), &opts)
        .unwrap()
        .send(&msg)
        .await
        .unwrap();
    assert_eq!(
        log.lock().unwrap()[0].json(),
        json!({"src": "FOGHORN", "dst": "14155551234", "text": "hi", "type": "sms"})
    );
}

#[tokio::test]
async fn classifies_plivo_errors() {
    let cases = [
        (plivo_error(400, "invalid 'dst' parameter"), "permanent"),
        (
            plivo_error(400, "src parameter not present"),
            "misconfigured",
        ),
        (plivo_error(401, "Authentication failed"), "misconfigured"),
        (plivo_error(402, "insufficient credit"), "misconfigured"),
        (plivo_error(404, "not found"), "permanent"),
        (
            plivo_error(429, "too many requests").with_header("retry-after", "1"),
            "rate_limited",
        ),
        (plivo_error(500, "internal error"), "retryable"),
        (Reply::text(503, "Service Unavailable"), "retryable"),
    ];
    for (reply, kind) in cases {
        let status = reply.status;
        let (base, _) = mock(reply).await;
        let err = plivo(config(&base))
            .send(&sms("+14155551234", "hi"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(status)),
            "{err}"
        );
        if status != 503 {
            assert!(err.to_string().contains("plivo: "), "{err}");
        }
        if let ProviderError::RateLimited { retry_after, .. } = err {
            assert_eq!(retry_after, Some(Duration::from_secs(1)));
        }
    }
}

// ---- signature V3 ------------------------------------------------------------

fn pairs_of(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn status_params(status: &str, error_code: &str) -> Vec<(String, String)> {
    pairs_of(&[
        ("MessageUUID", "db3ce55a-7f1d-11e1-8ea7-1231380bc196"),
        ("Status", status),
        ("To", "14155551234"),
        ("From", "14155550000"),
        ("Units", "1"),
        ("TotalRate", "0.00500"),
        ("TotalAmount", "0.00500"),
        ("ErrorCode", error_code),
        ("Sequence", "2"),
        ("Type", "sms"),
    ])
}

fn callback_url() -> String {
    format!("{PUBLIC_URL}/hooks/plivo?tenant=ten_1&n=ntf_01hx7")
}

#[test]
fn reproduces_signatures_computed_by_the_sdk() {
    // plivo-python `construct_post_url` / `construct_get_url` and
    // `get_signature_v3` with token "plivo-auth-token".
    let post = status_params("delivered", "000");
    assert_eq!(
        signed_base("POST", &callback_url(), &post),
        "https://foghorn.example.com/hooks/plivo?n=ntf_01hx7&tenant=ten_1.ErrorCode000From14155550000\
         MessageUUIDdb3ce55a-7f1d-11e1-8ea7-1231380bc196Sequence2StatusdeliveredTo14155551234\
         TotalAmount0.00500TotalRate0.00500TypesmsUnits1"
    );
    assert_eq!(
        signature(
            TOKEN,
            "POST",
            &callback_url(),
            &post,
            "12345678901234567890"
        )
        .unwrap(),
        "HnscjNmf8BqnoYTrAnA/cEs+o+krZ57GtIlF1fB9w2k="
    );
    // No query: `?` then the parameters, no `.`.
    let inbound = pairs_of(&[
        ("From", "14155551234"),
        ("To", "14155550000"),
        ("Text", "STOP & go=now"),
        ("Type", "sms"),
        ("MessageUUID", "abc-1"),
    ]);
    let url = format!("{PUBLIC_URL}/hooks/plivo");
    assert_eq!(
        signed_base("POST", &url, &inbound),
        "https://foghorn.example.com/hooks/plivo?From14155551234MessageUUIDabc-1TextSTOP & go=nowTo14155550000Typesms"
    );
    assert_eq!(
        signature(TOKEN, "POST", &url, &inbound, "nonce-2").unwrap(),
        "WUn+4UPqg1KPSbVSfu7q9SNfg7tBlAoI+qQ8+XAyyw8="
    );
    // GET: the query sorted, repeated keys' values sorted.
    let get = format!("{PUBLIC_URL}/hooks/plivo?tenant=ten_1&Status=sent&MessageUUID=u1&b=2&b=1");
    assert_eq!(
        signed_base("GET", &get, &[]),
        "https://foghorn.example.com/hooks/plivo?MessageUUID=u1&Status=sent&b=1&b=2&tenant=ten_1"
    );
    assert_eq!(
        signature(TOKEN, "GET", &get, &[], "nonce-3").unwrap(),
        "nOItcmC6Q0pQ8uHuC/DQYySDDE0sWNlhzstWjipY/Gc="
    );
    // POST without parameters signs like GET.
    let bare = format!("{PUBLIC_URL}/hooks/plivo?tenant=ten_1");
    assert_eq!(
        signature(TOKEN, "POST", &bare, &[], "nonce-4").unwrap(),
        "fzAvnsLeLMxTOXaxxbL7m7IEdW/hV3RmZ+eI5Fq8kmU="
    );
    // Several signatures in the header: one match is enough.
    let header = "bm9wZQ==, HnscjNmf8BqnoYTrAnA/cEs+o+krZ57GtIlF1fB9w2k=";
    assert_eq!(
        verify(
            TOKEN,
            "POST",
            &callback_url(),
            &post,
            Some(header),
            Some("12345678901234567890")
        ),
        Ok(())
    );
}

fn post(
    provider: &Plivo,
    url: &str,
    params: &[(String, String)],
    sign_with: &str,
    nonce: &str,
) -> Result<Vec<InboundEvent>, InboundError> {
    let sig = signature(sign_with, "POST", url, params, nonce).unwrap();
    let refs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = form_body(&refs);
    let hdrs = headers(&[
        ("X-Plivo-Signature-V3", &sig),
        ("X-Plivo-Signature-V3-Nonce", nonce),
        ("content-type", "application/x-www-form-urlencoded"),
    ]);
    provider.inbound(&InboundRequest {
        method: "POST",
        url,
        headers: &hdrs,
        body: body.as_bytes(),
        now: 1_700_000_000,
    })
}

#[test]
fn maps_status_callbacks() {
    let provider = plivo(config("https://api.plivo.com"));
    for (status, code, expected) in [
        ("delivered", "000", Some((DeliveryState::Delivered, None))),
        ("sent", "", Some((DeliveryState::Sent, None))),
        (
            "undelivered",
            "200",
            Some((DeliveryState::Undelivered, Some("200"))),
        ),
        ("failed", "420", Some((DeliveryState::Failed, Some("420")))),
        ("read", "", Some((DeliveryState::Read, None))),
        ("queued", "", None),
    ] {
        let events = post(
            &provider,
            &callback_url(),
            &status_params(status, code),
            TOKEN,
            "n-1",
        )
        .unwrap();
        let expected =
            expected.map(
                |(state, code): (DeliveryState, Option<&str>)| InboundEvent::Status {
                    provider_message_id: Some("db3ce55a-7f1d-11e1-8ea7-1231380bc196".into()),
                    notification_id: Some("ntf_01hx7".into()),
                    state,
                    error_code: code.map(str::to_string),
                    detail: None,
                    recipient: Some("+14155551234".into()),
                    price: Some(Money::new(5_000, "USD")),
                    event_id: Some(format!("db3ce55a-7f1d-11e1-8ea7-1231380bc196:{status}")),
                },
            );
        assert_eq!(events, expected.into_iter().collect::<Vec<_>>(), "{status}");
    }
}

#[test]
fn parses_incoming_messages() {
    let provider = plivo(config("https://api.plivo.com"));
    let url = format!("{PUBLIC_URL}/hooks/plivo?tenant=ten_1");
    let params = pairs_of(&[
        ("From", "14155551234"),
        ("To", "14155550000"),
        ("Text", "STOP & go=now"),
        ("Type", "sms"),
        ("MessageUUID", "abc-1"),
        ("Units", "1"),
    ]);
    assert_eq!(
        post(&provider, &url, &params, TOKEN, "n-2").unwrap(),
        [InboundEvent::Message {
            provider_message_id: Some("abc-1".into()),
            from: "+14155551234".into(),
            to: "+14155550000".into(),
            text: "STOP & go=now".into(),
            media: None,
        }]
    );
}

#[test]
fn refuses_forged_callbacks() {
    let provider = plivo(config("https://api.plivo.com"));
    let url = callback_url();
    let params = status_params("delivered", "000");
    let sig = signature(TOKEN, "POST", &url, &params, "n-3").unwrap();
    let refs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = form_body(&refs);
    let request = |url: &str, body: &str, hdrs: &[(String, String)]| {
        provider.inbound(&InboundRequest {
            method: "POST",
            url,
            headers: hdrs,
            body: body.as_bytes(),
            now: 0,
        })
    };
    let good = headers(&[
        ("X-Plivo-Signature-V3", &sig),
        ("X-Plivo-Signature-V3-Nonce", "n-3"),
    ]);
    assert!(request(&url, &body, &good).is_ok());
    let unauthorized = |r: Result<Vec<InboundEvent>, InboundError>, what: &str| {
        assert!(
            matches!(r, Err(InboundError::Unauthorized(_))),
            "{what}: {r:?}"
        )
    };
    unauthorized(
        request(&url, &body.replace("delivered", "failed"), &good),
        "tampered body",
    );
    unauthorized(
        request(&url.replace("ntf_01hx7", "ntf_other"), &body, &good),
        "tampered URL",
    );
    let other_nonce = headers(&[
        ("X-Plivo-Signature-V3", &sig),
        ("X-Plivo-Signature-V3-Nonce", "n-4"),
    ]);
    unauthorized(request(&url, &body, &other_nonce), "other nonce");
    unauthorized(
        post(&provider, &url, &params, "wrong-token", "n-3"),
        "wrong key",
    );
    unauthorized(
        request(
            &url,
            &body,
            &headers(&[("X-Plivo-Signature-V3-Nonce", "n-3")]),
        ),
        "no signature",
    );
}

#[test]
fn a_replayed_callback_has_the_same_event_id_so_upstream_dedup_drops_it() {
    // The nonce is not a timestamp and Plivo keeps no list of used ones:
    // a captured callback verifies again, and repeats its event id.
    let provider = plivo(config("https://api.plivo.com"));
    let params = status_params("delivered", "000");
    let first = post(&provider, &callback_url(), &params, TOKEN, "n-5").unwrap();
    let replay = post(&provider, &callback_url(), &params, TOKEN, "n-5").unwrap();
    assert_eq!(first, replay);
    let InboundEvent::Status { event_id, .. } = &first[0] else {
        panic!("{first:?}")
    };
    assert_eq!(
        event_id.as_deref(),
        Some("db3ce55a-7f1d-11e1-8ea7-1231380bc196:delivered")
    );
}
