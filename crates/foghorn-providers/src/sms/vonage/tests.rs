//! Vonage against a local mock of the SMS API, and its request signing
//! against signatures computed by vonage-python-sdk's own `signature`.

use super::inbound::{signature, SignatureMethod};
use super::*;
use crate::sms::testkit::{self, form_body, headers, mock, pairs, sms, Reply, PUBLIC_URL};
use foghorn_core::DeliveryState;
use serde_json::json;
use std::time::Duration;

const SECRET: &str = "s3cr3t&=key";
const NOW: i64 = 1_700_000_000;

fn config(base: &str) -> Config {
    Config {
        api_key: "abcd1234".into(),
        api_secret: "api-secret".into(),
        signature_secret: Some(SECRET.into()),
        signature_method: SignatureMethod::default(),
        from: "AcmeInc".into(),
        base_url: Some(base.into()),
        currency: None,
    }
}

fn vonage(config: Config) -> Vonage {
    Vonage::new("vonage", config, testkit::client(), &testkit::opts()).unwrap()
}

/// The documented success answer (one part).
fn accepted() -> Reply {
    Reply::json(
        200,
        json!({
            "message-count": "1",
            "messages": [{
                "to": "447700900000", "message-id": "0A0000000123ABCD1", "status": "0",
                "remaining-balance": "3.14159265", "message-price": "0.03330000",
                "network": "12345", "client-ref": "ntf_01hx7"
            }]
        }),
    )
}

fn refused(status: &str, text: &str) -> Reply {
    Reply::json(
        200,
        json!({"message-count": "1", "messages": [{"status": status, "error-text": text}]}),
    )
}

#[tokio::test]
async fn sends_the_documented_request_and_reads_the_price() {
    let (base, log) = mock(accepted()).await;
    let receipt = vonage(config(&base))
        .send(&sms("+447700900000", "Your order shipped"))
        .await
        .unwrap();
    assert_eq!(
        receipt,
        Receipt {
            provider_message_id: Some("0A0000000123ABCD1".into()),
            cost: Some(Money::new(33_300, "EUR")),
            http_status: Some(200),
            captured: None,
            thread: None,
        }
    );
    let seen = log.lock().unwrap();
    let req = &seen[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str(), req.query.as_deref()),
        ("POST", "/sms/json", None)
    );
    assert_eq!(
        req.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    // base64("abcd1234:api-secret"), as the SDKs send it.
    assert_eq!(
        req.header("authorization"),
        "Basic YWJjZDEyMzQ6YXBpLXNlY3JldA==",
        "credentials go in the Authorization header"
    );
    assert!(
        !String::from_utf8_lossy(&req.body).contains("api-secret"),
        "the secret is never in the body"
    );
    let callback = format!("{PUBLIC_URL}/hooks/vonage?tenant=ten_1");
    assert_eq!(
        pairs(&req.form()),
        [
            ("from", "AcmeInc"),
            ("to", "447700900000"),
            ("text", "Your order shipped"),
            ("client-ref", "ntf_01hx7"),
            ("callback", callback.as_str()),
        ]
    );
}

#[tokio::test]
async fn asks_for_unicode_only_when_gsm7_cannot_carry_the_text() {
    let (base, log) = mock(accepted()).await;
    let provider = vonage(config(&base));
    let mut numeric_sender = sms("+447700900000", "Votre crêpe est prête 🥞");
    numeric_sender.from = Some("+447700900999".into());
    provider.send(&numeric_sender).await.unwrap();
    provider
        .send(&sms("+447700900000", "Prix: 5€ [promo]"))
        .await
        .unwrap();
    let seen = log.lock().unwrap();
    let field = |i: usize, key: &str| {
        seen[i]
            .form()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    };
    assert_eq!(field(0, "type").as_deref(), Some("unicode"));
    assert_eq!(
        field(0, "from").as_deref(),
        Some("447700900999"),
        "numbers go without +"
    );
    assert_eq!(
        field(1, "type"),
        None,
        "€ and [ are in GSM-7's extension table"
    );
}

#[tokio::test]
async fn a_long_message_costs_the_sum_of_its_parts() {
    let (base, _) = mock(Reply::json(
        200,
        json!({
            "message-count": "2",
            "messages": [
                {"to": "447700900000", "message-id": "62dfdf68-6c7c-479a-a190-5c52f798a787", "status": "0",
                 "remaining-balance": "37.43563628", "message-price": "0.04120000", "network": "23420"},
                {"to": "447700900000", "message-id": "72ff9536-62d6-455a-9f0b-65f3c265b423", "status": "0",
                 "remaining-balance": "37.43563628", "message-price": "0.04120000", "network": "23420"}
            ]
        }),
    ))
    .await;
    let mut config = config(&base);
    config.currency = Some("usd".into());
    let receipt = vonage(config)
        .send(&sms("+447700900000", &"x".repeat(200)))
        .await
        .unwrap();
    assert_eq!(
        receipt.provider_message_id.as_deref(),
        Some("62dfdf68-6c7c-479a-a190-5c52f798a787")
    );
    assert_eq!(receipt.cost, Some(Money::new(82_400, "USD")));
}

#[tokio::test]
async fn classifies_status_codes_in_200_answers() {
    let cases = [
        (refused("1", "Throttled"), "rate_limited"),
        (refused("2", "Missing to param"), "permanent"),
        (refused("3", "Invalid to param"), "permanent"),
        (refused("4", "Bad Credentials"), "misconfigured"),
        (refused("5", "Internal Error"), "retryable"),
        (refused("6", "Unroutable message - rejected"), "permanent"),
        (refused("7", "Number barred."), "permanent"),
        (refused("8", "Partner account barred"), "misconfigured"),
        (refused("9", "Partner quota exceeded"), "misconfigured"),
        (
            refused("15", "Illegal Sender Address - rejected"),
            "misconfigured",
        ),
        (
            refused("29", "Non White-listed Destination - rejected"),
            "permanent",
        ),
        (refused("33", "Number de-activated"), "permanent"),
    ];
    for (reply, kind) in cases {
        let status = serde_json::from_str::<serde_json::Value>(&reply.body).unwrap()["messages"][0]
            ["status"]
            .as_str()
            .unwrap()
            .to_string();
        let (base, _) = mock(reply).await;
        let err = vonage(config(&base))
            .send(&sms("+447700900000", "hi"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(200)),
            "{status}: {err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("vonage status {status}:")),
            "{err}"
        );
    }
    // A refused second part fails the message.
    let (base, _) = mock(Reply::json(
        200,
        json!({"message-count": "2", "messages": [
            {"to": "447700900000", "message-id": "3295d748", "status": "0", "message-price": "0.04120000"},
            {"status": "1", "error-text": "Throttled"}
        ]}),
    ))
    .await;
    let err = vonage(config(&base))
        .send(&sms("+447700900000", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "rate_limited", "{err}");
}

#[tokio::test]
async fn classifies_http_failures() {
    for (reply, kind) in [
        (
            Reply::text(429, "slow down").with_header("retry-after", "2"),
            "rate_limited",
        ),
        (Reply::text(401, "Unauthorized"), "misconfigured"),
        (Reply::text(500, "oops"), "retryable"),
        (Reply::text(503, "maintenance"), "retryable"),
        (Reply::text(200, "<html>portal</html>"), "retryable"),
    ] {
        let status = reply.status;
        let (base, _) = mock(reply).await;
        let err = vonage(config(&base))
            .send(&sms("+447700900000", "hi"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(status)),
            "{err}"
        );
        if let ProviderError::RateLimited { retry_after, .. } = err {
            assert_eq!(retry_after, Some(Duration::from_secs(2)));
        }
    }
}

#[tokio::test]
async fn refuses_non_e164_recipients_without_calling_vonage() {
    let (base, log) = mock(accepted()).await;
    let err = vonage(config(&base))
        .send(&sms("447700900000", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "permanent");
    assert!(log.lock().unwrap().is_empty());
}

// ---- signed callbacks ------------------------------------------------------

fn pairs_of(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn receipt_params() -> Vec<(String, String)> {
    pairs_of(&[
        ("msisdn", "447700900000"),
        ("to", "AcmeInc"),
        ("network-code", "12345"),
        ("messageId", "0A0000001234567B"),
        ("price", "0.03330000"),
        ("status", "delivered"),
        ("scts", "2001011400"),
        ("err-code", "0"),
        ("api-key", "abcd1234"),
        ("client-ref", "ntf_01hx7"),
        ("message-timestamp", "2020-01-01 12:00:00 +0000"),
        ("timestamp", "1700000000"),
        ("nonce", "ec11dd3e-1e7f-4db5-9467-82b02cd223b9"),
    ])
}

#[test]
fn reproduces_signatures_computed_by_the_sdk() {
    // vonage-python-sdk 2.x `Client.signature` with secret "s3cr3t&=key".
    let params = receipt_params();
    for (method, expected) in [
        (SignatureMethod::Md5hash, "c59704efaaa5d82ae2b00550588c4b51"),
        (SignatureMethod::Md5, "d782a4b27d7e5e63eb73372490f9dade"),
        (SignatureMethod::Sha1, "1d05e458e16d6f8eb0de246ab9092f8a9e721ce0"),
        (SignatureMethod::Sha256, "6537e3b0e72ffd3df5380af3ec3267bb2bcf174d77efebafb1d237e92df409cc"),
        (
            SignatureMethod::Sha512,
            "3b531a2aa109140f7b8ab05f01a73182ddb35a88b16d9865733eac00a816b857b5a24b77bac8d60f5fb98897ef8bdb1fdd60bc9129ca27d43785aa0deafe51af",
        ),
    ] {
        assert_eq!(signature(method, SECRET, &params).unwrap(), expected, "{method:?}");
    }
    // `&` and `=` inside values become `_` before signing.
    let incoming = pairs_of(&[
        ("text", "You & Me = Love"),
        ("msisdn", "447700900001"),
        ("to", "447700900000"),
        ("messageId", "0A0000000123ABCD1"),
        ("type", "text"),
        ("keyword", "YOU"),
        ("message-timestamp", "2020-01-01 12:00:00"),
        ("timestamp", "1700000000"),
        ("nonce", "n1"),
    ]);
    assert_eq!(
        signature(SignatureMethod::Md5hash, SECRET, &incoming).unwrap(),
        "dced5eaf187241a75db844205bd9b742"
    );
    assert_eq!(
        signature(SignatureMethod::Sha256, SECRET, &incoming).unwrap(),
        "fd7636ab43b6fcb534c76b2c459a9d444f48342cf6df8a975f4bdc77566dc3f4"
    );
}

fn with_sig(
    mut params: Vec<(String, String)>,
    method: SignatureMethod,
    secret: &str,
    upper: bool,
) -> Vec<(String, String)> {
    let sig = signature(method, secret, &params).unwrap();
    params.push((
        "sig".into(),
        if upper { sig.to_ascii_uppercase() } else { sig },
    ));
    params
}

fn as_refs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn get(
    provider: &Vonage,
    params: &[(String, String)],
    now: i64,
) -> Result<Vec<InboundEvent>, InboundError> {
    let url = format!(
        "{PUBLIC_URL}/hooks/vonage?tenant=ten_1&{}",
        form_body(&as_refs(params))
    );
    provider.inbound(&InboundRequest {
        method: "GET",
        url: &url,
        headers: &[],
        body: b"",
        now,
    })
}

fn delivered() -> InboundEvent {
    InboundEvent::Status {
        provider_message_id: Some("0A0000001234567B".into()),
        notification_id: Some("ntf_01hx7".into()),
        state: DeliveryState::Delivered,
        error_code: None,
        detail: None,
        recipient: Some("+447700900000".into()),
        price: Some(Money::new(33_300, "EUR")),
        event_id: Some("0A0000001234567B:delivered".into()),
    }
}

#[test]
fn verifies_receipts_by_get_form_and_json() {
    let provider = vonage(config("https://rest.nexmo.com"));
    let params = with_sig(receipt_params(), SignatureMethod::Md5hash, SECRET, true);
    assert_eq!(get(&provider, &params, NOW).unwrap(), [delivered()]);

    let url = format!("{PUBLIC_URL}/hooks/vonage?tenant=ten_1");
    let form = form_body(&as_refs(&params));
    let form_headers = headers(&[("content-type", "application/x-www-form-urlencoded")]);
    let post = InboundRequest {
        method: "POST",
        url: &url,
        headers: &form_headers,
        body: form.as_bytes(),
        now: NOW,
    };
    assert_eq!(provider.inbound(&post).unwrap(), [delivered()]);

    let json: serde_json::Map<String, serde_json::Value> =
        params.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let body = serde_json::to_vec(&json).unwrap();
    let json_headers = headers(&[("content-type", "application/json")]);
    let post = InboundRequest {
        method: "POST",
        url: &url,
        headers: &json_headers,
        body: &body,
        now: NOW,
    };
    assert_eq!(provider.inbound(&post).unwrap(), [delivered()]);
}

#[test]
fn every_dashboard_method_verifies() {
    for method in [
        SignatureMethod::Md5,
        SignatureMethod::Sha1,
        SignatureMethod::Sha256,
        SignatureMethod::Sha512,
    ] {
        let mut config = config("https://rest.nexmo.com");
        config.signature_method = method;
        let provider = vonage(config);
        let params = with_sig(receipt_params(), method, SECRET, false);
        assert_eq!(
            get(&provider, &params, NOW).unwrap(),
            [delivered()],
            "{method:?}"
        );
        // The default-method signature does not pass for another method.
        let md5hash = with_sig(receipt_params(), SignatureMethod::Md5hash, SECRET, false);
        assert!(matches!(
            get(&provider, &md5hash, NOW),
            Err(InboundError::Unauthorized(_))
        ));
    }
}

#[test]
fn refuses_forged_stale_and_unsigned_callbacks() {
    let provider = vonage(config("https://rest.nexmo.com"));
    let unauthorized = |r: Result<Vec<InboundEvent>, InboundError>, what: &str| {
        assert!(
            matches!(r, Err(InboundError::Unauthorized(_))),
            "{what}: {r:?}"
        )
    };
    // Tampered status.
    let mut tampered = with_sig(receipt_params(), SignatureMethod::Md5hash, SECRET, false);
    tampered[5].1 = "failed".into();
    unauthorized(get(&provider, &tampered, NOW), "tampered");
    // Wrong secret.
    let wrong = with_sig(
        receipt_params(),
        SignatureMethod::Md5hash,
        "other-secret",
        false,
    );
    unauthorized(get(&provider, &wrong, NOW), "wrong key");
    // Unsigned.
    unauthorized(get(&provider, &receipt_params(), NOW), "unsigned");
    // Validly signed but 5 minutes and a second old, or as far ahead.
    let signed = with_sig(receipt_params(), SignatureMethod::Md5hash, SECRET, false);
    unauthorized(get(&provider, &signed, NOW + 301), "stale");
    unauthorized(get(&provider, &signed, NOW - 301), "future");
    assert!(get(&provider, &signed, NOW + 300).is_ok());
    // Without a secret nothing is accepted.
    let mut open = config("https://rest.nexmo.com");
    open.signature_secret = None;
    assert!(matches!(
        get(&vonage(open), &signed, NOW),
        Err(InboundError::NotConfigured(_))
    ));
}

#[test]
fn maps_receipt_statuses() {
    let provider = vonage(config("https://rest.nexmo.com"));
    for (status, err_code, expected) in [
        ("delivered", "0", Some((DeliveryState::Delivered, None))),
        ("accepted", "0", Some((DeliveryState::Sent, None))),
        ("buffered", "0", Some((DeliveryState::Sent, None))),
        (
            "expired",
            "5",
            Some((DeliveryState::Undelivered, Some("5"))),
        ),
        ("failed", "6", Some((DeliveryState::Failed, Some("6")))),
        ("rejected", "99", Some((DeliveryState::Failed, Some("99")))),
        ("unknown", "0", None),
    ] {
        let mut params = receipt_params();
        params[5].1 = status.into();
        params[7].1 = err_code.into();
        let events = get(
            &provider,
            &with_sig(params, SignatureMethod::Md5hash, SECRET, false),
            NOW,
        )
        .unwrap();
        let got = events.first().map(|e| match e {
            InboundEvent::Status {
                state,
                error_code,
                event_id,
                ..
            } => {
                assert_eq!(
                    event_id.as_deref(),
                    Some(format!("0A0000001234567B:{status}").as_str())
                );
                (*state, error_code.clone())
            }
            other => panic!("{other:?}"),
        });
        assert_eq!(
            got,
            expected.map(|(s, c)| (s, c.map(str::to_string))),
            "{status}"
        );
    }
}

#[test]
fn parses_incoming_messages() {
    let provider = vonage(config("https://rest.nexmo.com"));
    let params = pairs_of(&[
        ("msisdn", "447700900001"),
        ("to", "447700900000"),
        ("messageId", "0A0000000123ABCD1"),
        ("text", "You & Me = Love"),
        ("type", "text"),
        ("keyword", "YOU"),
        ("api-key", "abcd1234"),
        ("message-timestamp", "2020-01-01 12:00:00"),
        ("timestamp", "1700000000"),
        ("nonce", "n1"),
    ]);
    let events = get(
        &provider,
        &with_sig(params, SignatureMethod::Md5hash, SECRET, false),
        NOW,
    )
    .unwrap();
    assert_eq!(
        events,
        [InboundEvent::Message {
            provider_message_id: Some("0A0000000123ABCD1".into()),
            from: "+447700900001".into(),
            to: "+447700900000".into(),
            text: "You & Me = Love".into(),
            media: None,
        }]
    );
}
