//! MessageBird against a local mock of its REST API, and its webhook
//! signature check against the reference vectors of messagebird/go-rest-api
//! (`signature_jwt/testdata/reference.json`).

use super::inbound::verify;
use super::*;
use crate::signature::{hmac_sha256, sha256_hex};
use crate::sms::testkit::{self, headers, mock, sms, Reply, PUBLIC_URL};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use foghorn_core::{DeliveryState, Money};
use serde_json::json;
use std::time::Duration;

const KEY: &str = "mb-signing-key";
const NOW: i64 = 1_700_000_000;

fn config(base: &str) -> Config {
    Config {
        access_key: "live_0123456789abcdef".into(),
        originator: "Foghorn".into(),
        signing_key: Some(KEY.into()),
        base_url: Some(base.into()),
    }
}

fn bird(config: Config) -> MessageBird {
    MessageBird::new("messagebird", config, testkit::client(), &testkit::opts()).unwrap()
}

/// The documented 201 answer (the SDK's `messageObject.json`, with our
/// reference).
fn created() -> Reply {
    Reply::json(
        201,
        json!({
            "id": "6fe65f90454aa61536e6a88b88972670",
            "href": "https://rest.messagebird.com/messages/6fe65f90454aa61536e6a88b88972670",
            "direction": "mt", "type": "sms", "originator": "Foghorn", "body": "Your order shipped",
            "reference": "ntf_01hx7", "validity": null, "gateway": 239, "typeDetails": {},
            "datacoding": "plain", "mclass": 1, "scheduledDatetime": null,
            "createdDatetime": "2022-01-05T10:02:59+00:00",
            "recipients": {
                "totalCount": 1, "totalSentCount": 1, "totalDeliveredCount": 0,
                "totalDeliveryFailedCount": 0,
                "items": [{"recipient": 31612345678_u64, "status": "sent",
                           "statusDatetime": "2022-01-05T10:02:59+00:00", "messagePartCount": 1}]
            }
        }),
    )
}

fn mb_error(status: u16, code: i64, description: &str, parameter: Option<&str>) -> Reply {
    Reply::json(
        status,
        json!({"errors": [{"code": code, "description": description, "parameter": parameter}]}),
    )
}

#[tokio::test]
async fn sends_the_documented_request() {
    let (base, log) = mock(created()).await;
    let receipt = bird(config(&base))
        .send(&sms("+31612345678", "Your order shipped"))
        .await
        .unwrap();
    assert_eq!(
        receipt,
        Receipt {
            provider_message_id: Some("6fe65f90454aa61536e6a88b88972670".into()),
            cost: None,
            http_status: Some(201),
            captured: None,
            thread: None,
        }
    );
    let req = log.lock().unwrap()[0].clone();
    assert_eq!(
        (req.method.as_str(), req.path.as_str(), req.query.as_deref()),
        ("POST", "/messages", None)
    );
    assert_eq!(
        req.header("authorization"),
        "AccessKey live_0123456789abcdef"
    );
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(
        req.json(),
        json!({
            "originator": "Foghorn",
            "body": "Your order shipped",
            "recipients": ["31612345678"],
            "reference": "ntf_01hx7",
            "reportUrl": format!("{PUBLIC_URL}/hooks/messagebird?tenant=ten_1"),
            "datacoding": "plain"
        })
    );
}

#[tokio::test]
async fn sends_unicode_when_gsm7_cannot_carry_it_and_honours_the_chosen_sender() {
    let (base, log) = mock(created()).await;
    let mut msg = sms("+31612345678", "Привет 👋");
    msg.from = Some("+31970102030".into());
    bird(config(&base)).send(&msg).await.unwrap();
    let body = log.lock().unwrap()[0].json();
    assert_eq!(body["datacoding"], "unicode");
    assert_eq!(body["originator"], "31970102030", "numbers as MSISDNs");
}

#[tokio::test]
async fn classifies_messagebird_errors() {
    let cases = [
        (
            mb_error(
                401,
                2,
                "Request not allowed (incorrect access_key)",
                Some("access_key"),
            ),
            "misconfigured",
            "messagebird 2:",
        ),
        (
            mb_error(422, 9, "no (correct) recipients found", Some("recipients")),
            "permanent",
            "messagebird 9:",
        ),
        (
            mb_error(422, 10, "originator is invalid", Some("originator")),
            "misconfigured",
            "(originator)",
        ),
        (
            mb_error(422, 10, "recipient is invalid", Some("recipients")),
            "permanent",
            "messagebird 10:",
        ),
        (
            mb_error(402, 25, "Not enough balance", None),
            "misconfigured",
            "messagebird 25:",
        ),
        (
            mb_error(422, 21, "Bad request", None),
            "permanent",
            "messagebird 21:",
        ),
        (
            mb_error(429, 21, "Too many requests", None).with_header("retry-after", "4"),
            "rate_limited",
            "messagebird 21:",
        ),
        (
            mb_error(500, 99, "Internal error", None),
            "retryable",
            "messagebird 99:",
        ),
        (
            Reply::text(503, "Service Unavailable"),
            "retryable",
            "Service Unavailable",
        ),
        (Reply::text(429, ""), "rate_limited", "HTTP 429"),
    ];
    for (reply, kind, says) in cases {
        let status = reply.status;
        let (base, _) = mock(reply).await;
        let err = bird(config(&base))
            .send(&sms("+31612345678", "hi"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(status)),
            "{err}"
        );
        assert!(err.to_string().contains(says), "{err}");
        if let ProviderError::RateLimited { retry_after, .. } = &err {
            let hinted = says != "HTTP 429";
            assert_eq!(
                *retry_after,
                hinted.then(|| Duration::from_secs(4)),
                "{err}"
            );
        }
    }
    // Several errors: all are reported, the most telling decides.
    let (base, _) = mock(Reply::json(
        422,
        json!({"errors": [
            {"code": 9, "description": "no (correct) recipients found", "parameter": "recipients"},
            {"code": 2, "description": "Request not allowed (incorrect access_key)", "parameter": "access_key"}
        ]}),
    ))
    .await;
    let err = bird(config(&base))
        .send(&sms("+31612345678", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "misconfigured");
    assert!(
        err.to_string().contains("messagebird 9:") && err.to_string().contains("messagebird 2:"),
        "{err}"
    );
}

// ---- webhook signatures -----------------------------------------------------

/// Cases from the SDK's reference.json: (name, url, payload, token, valid).
const REF_SECRET: &str = "36efdd1aace2e26cd490f0d951138253bef2f7c6d34d18981da781555cc4cebb";
const REF_NOW: i64 = 1_625_479_200; // 2021-07-05T12:00:00+02:00
const REFERENCE: &[(&str, &str, &str, &str, bool)] = &[
    ("valid, no parameters or payload", "https://example.com/", "",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiI1OWEyNDRkYy1lOWFkLTRlMjMtOTc3OC0zNzFmYWEyMzhmNzIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.6Fp0rVOsRr1fj9S2GidXAfkmPVofKr8_RTffC6G6r2E", true),
    ("valid, parameters and payload", "https://example.com/path?bar=1&foo=2", "Hello, World!",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiI5M2U1NTAwNi1hMGU4LTQ1MjYtYTE5MC1mYTVmZjAwZWExMTYiLCJ1cmxfaGFzaCI6IjQxZjA1ZjBkZGQwYTIyYWIyMDlhYzQ2ZjQ3YzQ1NzJkOWNlZmEyNTdlZDc0YjI0MDA0YmFlNzUzZWNlNmMyNjAiLCJwYXlsb2FkX2hhc2giOiJkZmZkNjAyMWJiMmJkNWIwYWY2NzYyOTA4MDllYzNhNTMxOTFkZDgxYzdmNzBhNGIyODY4OGEzNjIxODI5ODZmIn0._H--TOuYFLpeEH39-rg5E3IHVkjHozBcaKVWPRC5m9I", true),
    ("valid, special characters in the URL", "https://example.com/?obj%5Bfield1%5D=val1&obj%5Bfield2%5D=val2&param=value+with+spaces", "",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiI1OWEyNDRkYy1lOWFkLTRlMjMtOTc3OC0zNzFmYWEyMzhmNzIiLCJ1cmxfaGFzaCI6IjhhZmYzNzQ4ZDc4OWM0MzMzNTczZTFjMzFmZTViMDA0OTQwY2I1ZmM0NzQ2MGVkM2QwZTY1NGY3ZmM0ZTVmYWUifQ.mJBCMfEjKmN3IMuzqPXPHktWETrcu0iNdF3agE8PDyI", true),
    ("valid, HS384", "https://example.com/", "",
     "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiI1OWEyNDRkYy1lOWFkLTRlMjMtOTc3OC0zNzFmYWEyMzhmNzIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.KNMW-29X77lZeuPmThmHWc_RUAvTkaDkpxIZK6mqE08v8mWKiU9Edh4QXwAJO2nv", true),
    ("valid, HS512", "https://example.com/", "",
     "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiI1OWEyNDRkYy1lOWFkLTRlMjMtOTc3OC0zNzFmYWEyMzhmNzIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.rd6r0iMyNGnVPCwurETphE3Y8rpAyvvnUK0S8WvGUkt2E1QSRAZ7NZJZBHw1Y_Wb5W-sK9HJr_PRL2vz4jRT3Q", true),
    ("received before nbf", "https://example.com/", "",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ4MjgwMCwiZXhwIjoxNjI1NDgyODYwLCJqdGkiOiJmOWY4YzM4Mi0yNDQ5LTQzMTEtYjcyYi0xZGY3MTY4NzkzMWUiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.ZELgDFNGhjZH9CffQKcq3sytBe2I0KciLxpBhcfstHQ", false),
    ("received after exp", "https://example.com/", "",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3NTYwMCwiZXhwIjoxNjI1NDc1NjYwLCJqdGkiOiI1ZjAyZjUyMi02MDMwLTQ2YzgtYjVhMy0wMTI0NjQ3OGQ4YmMiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.45MSST3B_2PsjNUeiuW54_vUQgVw4rBXrdWrOUEz3lM", false),
    ("parameters out of order", "https://example.com/path?foo=1&bar=2", "",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiJhNzVjOTA5Ni1lODIzLTQ0MmItODVmMi03ZDNjOWQ5YjcyNmIiLCJ1cmxfaGFzaCI6IjZhMDIyZDgzNGMxODMzMGJhYWQ4YTJiZDYxMzUxNzNlZDIxNjEwYTQ1NDUxNmJlMGRmM2YxY2MwMTUxNjEwZWEifQ.z6Sw1XQIM0wuEQGBhXBdawDIIrtMg2XnmA_bpDq53pE", false),
    ("payload does not match", "https://example.com/", "Hello, World!",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiIxNDUwMTUzMi05NmYyLTQ2ODQtOTgzMi02OGYwOTUxYWUzNDIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDciLCJwYXlsb2FkX2hhc2giOiJmYjYyZjAyYWNkYTdkNzQxNzdhNzAxYTFjZTAwNmU2YmFjZDkwYzdkNGQ3YWI0ODE2OTJjMWRhNDdjODEwNzZiIn0.m79RCwO6dGa9pvzsQypkVuXQ6eM0CkRl6_U7MfWg6TM", false),
    ("different secret", "https://example.com/", "",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiIyNDNjMjdhZS0yZjAyLTQ2YTAtODg1Mi1jNjZmMzdlYTlmNDYiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.JgSeYyOtlEKAXk8bz30iJI4tXgf4lxknoiezawuVhb4", false),
    ("payload removed in transit", "https://example.com/", "",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiIxNDUwMTUzMi05NmYyLTQ2ODQtOTgzMi02OGYwOTUxYWUzNDIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDciLCJwYXlsb2FkX2hhc2giOiJkZmZkNjAyMWJiMmJkNWIwYWY2NzYyOTA4MDllYzNhNTMxOTFkZDgxYzdmNzBhNGIyODY4OGEzNjIxODI5ODZmIn0.bHfsjj3tljfzTufoG3EU3p_yFrQh9CufyzRSaRMd4ss", false),
    ("payload added in transit", "https://example.com/", "Hello, World!",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiI1OWEyNDRkYy1lOWFkLTRlMjMtOTc3OC0zNzFmYWEyMzhmNzIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.6Fp0rVOsRr1fj9S2GidXAfkmPVofKr8_RTffC6G6r2E", false),
    ("alg none", "https://example.com/", "",
     "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJNZXNzYWdlQmlyZCIsImlhdCI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5MjYwLCJqdGkiOiI1OWEyNDRkYy1lOWFkLTRlMjMtOTc3OC0zNzFmYWEyMzhmNzIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQwMzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.", false),
];

#[test]
fn agrees_with_the_sdk_reference_vectors() {
    for (name, url, payload, token, valid) in REFERENCE {
        // The "different secret" token was signed with another key than
        // the one every case is checked with.
        let got = verify(REF_SECRET, Some(token), url, payload.as_bytes(), REF_NOW);
        assert_eq!(got.is_ok(), *valid, "{name}: {got:?}");
        if !valid {
            assert!(matches!(got, Err(InboundError::Unauthorized(_))), "{name}");
        }
    }
}

/// A token as MessageBird mints them, for our own requests.
fn mint(key: &str, url: &str, body: &[u8], nbf: i64, exp: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let mut claims = json!({
        "iss": "MessageBird", "nbf": nbf, "exp": exp,
        "jti": "2d0b3cc8-69b5-4a1a-a3f6-71ee2e6d8b6c", "url_hash": sha256_hex(url.as_bytes())
    });
    if !body.is_empty() {
        claims["payload_hash"] = json!(sha256_hex(body));
    }
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{claims}");
    let sig = URL_SAFE_NO_PAD.encode(hmac_sha256(key.as_bytes(), signed.as_bytes()).unwrap());
    format!("{signed}.{sig}")
}

fn report_url(status: &str, extra: &str) -> String {
    format!(
        "{PUBLIC_URL}/hooks/messagebird?tenant=ten_1&id=6fe65f90454aa61536e6a88b88972670\
         &reference=ntf_01hx7&recipient=31612345678&status={status}\
         &statusDatetime=2023-07-28T17%3A57%3A12%2B00%3A00&mccmnc=20408&ported=0\
         &messageLength=18&messagePartCount=1{extra}"
    )
}

fn get(
    provider: &MessageBird,
    url: &str,
    token: Option<&str>,
    now: i64,
) -> Result<Vec<InboundEvent>, InboundError> {
    let hdrs = match token {
        Some(t) => headers(&[("MessageBird-Signature-JWT", t)]),
        None => headers(&[]),
    };
    provider.inbound(&InboundRequest {
        method: "GET",
        url,
        headers: &hdrs,
        body: b"",
        now,
    })
}

#[test]
fn maps_signed_status_reports() {
    let provider = bird(config("https://rest.messagebird.com"));
    let price = "&price%5Bamount%5D=0.0700&price%5Bcurrency%5D=EUR";
    for (status, extra, state, code, reason) in [
        (
            "delivered",
            price,
            Some(DeliveryState::Delivered),
            None,
            None,
        ),
        ("sent", "", Some(DeliveryState::Sent), None, None),
        ("buffered", "", Some(DeliveryState::Sent), None, None),
        (
            "expired",
            "&statusReason=expired",
            Some(DeliveryState::Undelivered),
            None,
            Some("expired"),
        ),
        (
            "delivery_failed",
            "&statusErrorCode=103&statusReason=recipient+opted+out",
            Some(DeliveryState::Failed),
            Some("103"),
            Some("recipient opted out"),
        ),
        ("scheduled", "", None, None, None),
    ] {
        let url = report_url(status, extra);
        let token = mint(KEY, &url, b"", NOW - 1, NOW + 59);
        let events = get(&provider, &url, Some(&token), NOW).unwrap();
        let expected = state.map(|state| InboundEvent::Status {
            provider_message_id: Some("6fe65f90454aa61536e6a88b88972670".into()),
            notification_id: Some("ntf_01hx7".into()),
            state,
            error_code: code.map(str::to_string),
            detail: reason.map(str::to_string),
            recipient: Some("+31612345678".into()),
            price: (status == "delivered").then(|| Money::new(70_000, "EUR")),
            event_id: Some(format!("6fe65f90454aa61536e6a88b88972670:{status}")),
        });
        assert_eq!(events, expected.into_iter().collect::<Vec<_>>(), "{status}");
    }
}

#[test]
fn refuses_forged_stale_and_unsigned_reports() {
    let provider = bird(config("https://rest.messagebird.com"));
    let url = report_url("delivered", "");
    let unauthorized = |r: Result<Vec<InboundEvent>, InboundError>, what: &str| {
        assert!(
            matches!(r, Err(InboundError::Unauthorized(_))),
            "{what}: {r:?}"
        )
    };
    let token = mint(KEY, &url, b"", NOW - 1, NOW + 59);
    assert!(get(&provider, &url, Some(&token), NOW).is_ok());
    // A tampered parameter changes the URL hash.
    unauthorized(
        get(
            &provider,
            &url.replace("delivered", "delivery_failed"),
            Some(&token),
            NOW,
        ),
        "tampered",
    );
    unauthorized(
        get(
            &provider,
            &url,
            Some(&mint("wrong-key", &url, b"", NOW - 1, NOW + 59)),
            NOW,
        ),
        "wrong key",
    );
    unauthorized(get(&provider, &url, None, NOW), "unsigned");
    // Expired more than the one second of skew ago; not yet valid.
    unauthorized(get(&provider, &url, Some(&token), NOW + 61), "stale");
    assert!(
        get(&provider, &url, Some(&token), NOW + 60).is_ok(),
        "within the skew"
    );
    unauthorized(
        get(
            &provider,
            &url,
            Some(&mint(KEY, &url, b"", NOW + 30, NOW + 90)),
            NOW,
        ),
        "not yet valid",
    );
    // A body the token does not cover.
    let hdrs = headers(&[("MessageBird-Signature-JWT", &token)]);
    let req = InboundRequest {
        method: "POST",
        url: &url,
        headers: &hdrs,
        body: b"status=delivered",
        now: NOW,
    };
    unauthorized(provider.inbound(&req), "added body");
    // Without a signing key nothing is accepted.
    let mut open = config("https://rest.messagebird.com");
    open.signing_key = None;
    assert!(matches!(
        get(&bird(open), &url, Some(&token), NOW),
        Err(InboundError::NotConfigured(_))
    ));
}

#[test]
fn parses_signed_incoming_messages() {
    let provider = bird(config("https://rest.messagebird.com"));
    let url = format!("{PUBLIC_URL}/hooks/messagebird?tenant=ten_1");
    let body = json!({
        "id": "b6aae1b5dfb2427a8f7ea6a717ba31a9", "recipient": "31970102030",
        "originator": "31612345678", "body": "STOP", "createdDatetime": "2023-07-27T00:49:29+00:00",
        "date": 1690386569
    })
    .to_string();
    let token = mint(KEY, &url, body.as_bytes(), NOW, NOW + 60);
    let hdrs = headers(&[
        ("MessageBird-Signature-JWT", &token),
        ("Content-Type", "application/json"),
    ]);
    let req = InboundRequest {
        method: "POST",
        url: &url,
        headers: &hdrs,
        body: body.as_bytes(),
        now: NOW,
    };
    assert_eq!(
        provider.inbound(&req).unwrap(),
        [InboundEvent::Message {
            provider_message_id: Some("b6aae1b5dfb2427a8f7ea6a717ba31a9".into()),
            from: "+31612345678".into(),
            to: "+31970102030".into(),
            text: "STOP".into(),
            media: None,
        }]
    );
    // The same body, one byte changed, is refused.
    let tampered = body.replace("STOP", "STOQ");
    let req = InboundRequest {
        body: tampered.as_bytes(),
        ..req
    };
    assert!(matches!(
        provider.inbound(&req),
        Err(InboundError::Unauthorized(_))
    ));
}
