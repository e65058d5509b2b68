//! Twilio against a local mock of its API, and its request validation
//! against the vectors published in twilio-python's own tests.

use super::inbound::{self, signature};
use super::*;
use crate::sms::testkit::{self, basic, form_body, headers, mock, pairs, sms, Reply, PUBLIC_URL};
use foghorn_core::{DeliveryState, Money};
use serde_json::json;
use std::time::Duration;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token";

fn config(base: &str) -> Config {
    Config {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        phone_number: Some("+15005550006".into()),
        messaging_service_sid: None,
        whatsapp_number: None,
        base_url: Some(base.into()),
        voice_prices: Default::default(),
    }
}

fn twilio(config: Config) -> Twilio {
    Twilio::new("twilio", config, testkit::client(), &testkit::opts()).unwrap()
}

/// Twilio's documented 201 answer for a new message (abridged only of URIs).
fn created() -> Reply {
    Reply::json(
        201,
        json!({
            "account_sid": SID, "api_version": "2010-04-01", "body": "Your order shipped",
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "date_sent": null,
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000", "direction": "outbound-api",
            "error_code": null, "error_message": null, "from": "+15005550006",
            "messaging_service_sid": null, "num_media": "0", "num_segments": "1",
            "price": null, "price_unit": "USD", "sid": "SM1234567890abcdef1234567890abcdef",
            "status": "queued", "to": "+15558675310",
            "uri": "/2010-04-01/Accounts/AC.../Messages/SM....json"
        }),
    )
}

fn twilio_error(status: u16, code: u32, message: &str) -> Reply {
    Reply::json(
        status,
        json!({
            "code": code, "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status
        }),
    )
}

#[tokio::test]
async fn sends_the_documented_request() {
    let (base, log) = mock(created()).await;
    let receipt = twilio(config(&base))
        .send(&sms("+15558675310", "Your order shipped"))
        .await
        .unwrap();
    assert_eq!(
        receipt,
        Receipt {
            provider_message_id: Some("SM1234567890abcdef1234567890abcdef".into()),
            cost: None,
            http_status: Some(201),
            captured: None,
            thread: None,
        }
    );
    let seen = log.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    assert_eq!(req.query, None);
    assert_eq!(req.header("authorization"), basic(SID, TOKEN));
    assert_eq!(
        req.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let callback = format!("{PUBLIC_URL}/hooks/twilio?tenant=ten_1&n=ntf_01hx7");
    assert_eq!(
        pairs(&req.form()),
        [
            ("To", "+15558675310"),
            ("From", "+15005550006"),
            ("Body", "Your order shipped"),
            ("StatusCallback", callback.as_str()),
        ]
    );
}

#[tokio::test]
async fn picks_the_sender() {
    let (base, log) = mock(created()).await;
    // Messaging Service only: Twilio picks the number.
    let service_only = Config {
        phone_number: None,
        messaging_service_sid: Some("MG11111111111111111111111111111111".into()),
        ..config(&base)
    };
    twilio(service_only.clone())
        .send(&sms("+15558675310", "hi"))
        .await
        .unwrap();
    // The engine's choice overrides the configured number and is sent with
    // the service.
    let mut chosen = sms("+15558675310", "hi");
    chosen.from = Some("+15005550009".into());
    twilio(service_only).send(&chosen).await.unwrap();
    let seen = log.lock().unwrap();
    let fields = |i: usize| {
        seen[i]
            .form()
            .into_iter()
            .filter(|(k, _)| k == "From" || k == "MessagingServiceSid")
            .collect::<Vec<_>>()
    };
    let ms = (
        "MessagingServiceSid".to_string(),
        "MG11111111111111111111111111111111".to_string(),
    );
    assert_eq!(fields(0), std::slice::from_ref(&ms));
    assert_eq!(
        fields(1),
        [("From".to_string(), "+15005550009".to_string()), ms]
    );
}

#[tokio::test]
async fn no_callback_without_a_public_url() {
    let (base, log) = mock(created()).await;
    let opts = HttpOptions {
        public_url: None,
        ..testkit::opts()
    };
    let provider = Twilio::new("twilio", config(&base), testkit::client(), &opts).unwrap();
    provider.send(&sms("+15558675310", "hi")).await.unwrap();
    let form = log.lock().unwrap()[0].form();
    assert!(form.iter().all(|(k, _)| k != "StatusCallback"), "{form:?}");
}

#[tokio::test]
async fn reads_a_price_when_the_answer_states_one() {
    let mut body: serde_json::Value = serde_json::from_str(&created().body).unwrap();
    body["price"] = json!("-0.00790");
    body["status"] = json!("sent");
    let (base, _) = mock(Reply::json(201, body)).await;
    let receipt = twilio(config(&base))
        .send(&sms("+15558675310", "hi"))
        .await
        .unwrap();
    assert_eq!(receipt.cost, Some(Money::new(7_900, "USD")));
}

#[tokio::test]
async fn classifies_twilio_errors() {
    let cases = [
        (
            twilio_error(
                400,
                21211,
                "The 'To' number +1555 is not a valid phone number.",
            ),
            "permanent",
            "twilio 21211:",
        ),
        (
            twilio_error(400, 21614, "'To' number is not a valid mobile number"),
            "permanent",
            "twilio 21614:",
        ),
        (
            twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"),
            "permanent",
            "twilio 21610:",
        ),
        (
            twilio_error(401, 20003, "Authenticate"),
            "misconfigured",
            "twilio 20003:",
        ),
        (
            twilio_error(
                400,
                21606,
                "The From phone number is not a valid, SMS-capable inbound phone number",
            ),
            "misconfigured",
            "twilio 21606:",
        ),
        (
            twilio_error(400, 21659, "Source is not a Twilio phone number"),
            "misconfigured",
            "twilio 21659:",
        ),
        (
            twilio_error(404, 20404, "The requested resource was not found"),
            "misconfigured",
            "twilio 20404:",
        ),
        (
            twilio_error(400, 12345, "something new"),
            "permanent",
            "twilio 12345:",
        ),
        (
            twilio_error(429, 20429, "Too Many Requests").with_header("retry-after", "3"),
            "rate_limited",
            "twilio 20429:",
        ),
        (
            twilio_error(503, 20503, "Service unavailable"),
            "retryable",
            "twilio 20503:",
        ),
        (
            Reply::text(500, "upstream exploded"),
            "retryable",
            "upstream exploded",
        ),
        (Reply::text(502, ""), "retryable", "HTTP 502"),
    ];
    for (reply, kind, says) in cases {
        let status = reply.status;
        let (base, _) = mock(reply).await;
        let err = twilio(config(&base))
            .send(&sms("+15558675310", "hi"))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.http_status()),
            (kind, Some(status)),
            "{err}"
        );
        assert!(err.to_string().contains(says), "{err}");
        if let ProviderError::RateLimited { retry_after, .. } = err {
            assert_eq!(retry_after, Some(Duration::from_secs(3)));
        }
    }
}

#[tokio::test]
async fn refuses_what_it_cannot_send_without_calling_twilio() {
    let (base, log) = mock(created()).await;
    let provider = twilio(config(&base));
    let mut email = sms("+15558675310", "hi");
    email.to = foghorn_core::Address::Email("a@example.com".into());
    for msg in [sms("5558675310", "hi"), sms("+15558675310", "  "), email] {
        let err = provider.send(&msg).await.unwrap_err();
        assert_eq!(err.kind(), "permanent", "{err}");
    }
    assert!(log.lock().unwrap().is_empty());
    assert!(provider.supports(Channel::Sms) && !provider.supports(Channel::Email));
}

#[test]
fn refuses_incomplete_config() {
    let opts = testkit::opts();
    let build = |c: Config| {
        Twilio::new("t", c, testkit::client(), &opts)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let no_sender = Config {
        phone_number: None,
        ..config("https://api.twilio.com")
    };
    assert!(build(no_sender).contains("messaging_service_sid"));
    let no_token = Config {
        auth_token: " ".into(),
        ..config("https://api.twilio.com")
    };
    assert!(build(no_token).contains("auth_token"));
    let bad_sid = Config {
        account_sid: "AC1/../x".into(),
        ..config("https://api.twilio.com")
    };
    assert!(build(bad_sid).contains("account_sid"));
}

// ---- request validation ----------------------------------------------------

/// twilio-python `tests/unit/test_request_validator.py`: token, URL, params.
const SDK_TOKEN: &str = "12345";
const SDK_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

fn sdk_params() -> Vec<(String, String)> {
    [
        ("CallSid", "CA1234567890ABCDE"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
        ("Caller", "+14158675309"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn reproduces_the_sdk_vectors() {
    let params = sdk_params();
    assert_eq!(
        signature(SDK_TOKEN, SDK_URL, &params).unwrap(),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    // Repeated keys: sorted, distinct values.
    let dup: Vec<(String, String)> = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        signature(SDK_TOKEN, SDK_URL, &dup).unwrap(),
        "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    );
    let ok = |url: &str, sig: &str| inbound::verify(SDK_TOKEN, url, &params, Some(sig));
    assert_eq!(ok(SDK_URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), Ok(()));
    // A port in the URL we saw is removed ...
    let with_port = SDK_URL.replace(".com", ".com:1234");
    assert_eq!(ok(&with_port, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), Ok(()));
    let http_port = with_port.replace("https", "http");
    assert_eq!(ok(&http_port, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="), Ok(()));
    // ... and the default port added when Twilio signed with it.
    assert_eq!(ok(SDK_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="), Ok(()));
    let http = SDK_URL.replace("https", "http");
    assert_eq!(ok(&http, "0ZXoZLH/DfblKGATFgpif+LLRf4="), Ok(()));
    assert!(matches!(
        ok(SDK_URL, "IK+Dwps556ElfBT0I3Rgjkr1wJU="),
        Err(InboundError::Unauthorized(_))
    ));
}

fn callback_url() -> String {
    format!("{PUBLIC_URL}/hooks/twilio?tenant=ten_1&n=ntf_01hx7")
}

fn status_params(status: &str, error_code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SmsSid", "SM1234567890abcdef1234567890abcdef".into()),
        ("SmsStatus", status.into()),
        ("MessageStatus", status.into()),
        ("To", "+15558675310".into()),
        ("MessageSid", "SM1234567890abcdef1234567890abcdef".into()),
        ("AccountSid", SID.into()),
        ("From", "+15005550006".into()),
        ("ApiVersion", "2010-04-01".into()),
        ("ErrorCode", error_code.into()),
    ]
}

/// A callback as Twilio would post it, signed with `token`.
fn signed(url: &str, fields: &[(&str, String)], token: &str) -> (String, Vec<(String, String)>) {
    let list: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = form_body(&list);
    let params = crate::signature::parse_form(body.as_bytes());
    let sig = signature(token, url, &params).unwrap();
    (
        body,
        headers(&[
            ("X-Twilio-Signature", &sig),
            ("content-type", "application/x-www-form-urlencoded"),
        ]),
    )
}

fn receive(
    url: &str,
    body: &str,
    hdrs: &[(String, String)],
) -> Result<Vec<InboundEvent>, InboundError> {
    let provider = twilio(config("https://api.twilio.com"));
    provider.inbound(&InboundRequest {
        method: "POST",
        url,
        headers: hdrs,
        body: body.as_bytes(),
        now: 1_700_000_000,
    })
}

fn status_event(state: DeliveryState, status: &str, code: Option<&str>) -> InboundEvent {
    InboundEvent::Status {
        provider_message_id: Some("SM1234567890abcdef1234567890abcdef".into()),
        notification_id: Some("ntf_01hx7".into()),
        state,
        error_code: code.map(str::to_string),
        detail: None,
        recipient: Some("+15558675310".into()),
        price: None,
        event_id: Some(format!("SM1234567890abcdef1234567890abcdef:{status}")),
    }
}

#[test]
fn maps_status_callbacks() {
    let url = callback_url();
    for (status, code, expected) in [
        (
            "sent",
            "",
            Some(status_event(DeliveryState::Sent, "sent", None)),
        ),
        (
            "delivered",
            "",
            Some(status_event(DeliveryState::Delivered, "delivered", None)),
        ),
        (
            "read",
            "",
            Some(status_event(DeliveryState::Read, "read", None)),
        ),
        (
            "undelivered",
            "30003",
            Some(status_event(
                DeliveryState::Undelivered,
                "undelivered",
                Some("30003"),
            )),
        ),
        (
            "failed",
            "30008",
            Some(status_event(DeliveryState::Failed, "failed", Some("30008"))),
        ),
        (
            "canceled",
            "",
            Some(status_event(DeliveryState::Failed, "canceled", None)),
        ),
        ("queued", "", None),
        ("sending", "", None),
        ("accepted", "", None),
    ] {
        let (body, hdrs) = signed(&url, &status_params(status, code), TOKEN);
        let events = receive(&url, &body, &hdrs).unwrap();
        assert_eq!(events, expected.into_iter().collect::<Vec<_>>(), "{status}");
    }
}

#[test]
fn a_stated_price_is_kept_as_its_absolute_value() {
    let url = callback_url();
    let mut fields = status_params("delivered", "");
    fields.push(("Price", "-0.00750".into()));
    fields.push(("PriceUnit", "USD".into()));
    let (body, hdrs) = signed(&url, &fields, TOKEN);
    let events = receive(&url, &body, &hdrs).unwrap();
    let InboundEvent::Status { price, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(price, &Some(Money::new(7_500, "USD")));
}

#[test]
fn parses_incoming_messages() {
    let url = format!("{PUBLIC_URL}/hooks/twilio?tenant=ten_1");
    let fields = vec![
        ("ToCountry", "US".to_string()),
        ("SmsMessageSid", "SM99".into()),
        ("NumMedia", "0".into()),
        ("SmsSid", "SM99".into()),
        ("SmsStatus", "received".into()),
        ("Body", "STOP please & thanks".into()),
        ("To", "+15005550006".into()),
        ("NumSegments", "1".into()),
        ("MessageSid", "SM99".into()),
        ("AccountSid", SID.into()),
        ("From", "+15558675310".into()),
        ("ApiVersion", "2010-04-01".into()),
    ];
    let (body, hdrs) = signed(&url, &fields, TOKEN);
    assert_eq!(
        receive(&url, &body, &hdrs).unwrap(),
        [InboundEvent::Message {
            provider_message_id: Some("SM99".into()),
            from: "+15558675310".into(),
            to: "+15005550006".into(),
            text: "STOP please & thanks".into(),
            media: None,
        }]
    );
}

#[test]
fn refuses_forged_callbacks() {
    let url = callback_url();
    let (body, hdrs) = signed(&url, &status_params("delivered", ""), TOKEN);
    let unauthorized = |r: Result<Vec<InboundEvent>, InboundError>| {
        assert!(matches!(r, Err(InboundError::Unauthorized(_))), "{r:?}")
    };
    // Tampered parameter.
    unauthorized(receive(&url, &body.replace("delivered", "failed"), &hdrs));
    // Another tenant's URL.
    unauthorized(receive(&url.replace("ten_1", "ten_2"), &body, &hdrs));
    // Signed with the wrong token.
    let (body2, wrong) = signed(&url, &status_params("delivered", ""), "another-token");
    unauthorized(receive(&url, &body2, &wrong));
    // No signature at all.
    unauthorized(receive(&url, &body, &headers(&[])));
}

#[test]
fn a_replayed_callback_has_the_same_event_id_so_upstream_dedup_drops_it() {
    // Twilio signs no timestamp, so a captured callback verifies forever;
    // what stops a replay from counting twice is the event id it repeats.
    let url = callback_url();
    let (body, hdrs) = signed(&url, &status_params("delivered", ""), TOKEN);
    let first = receive(&url, &body, &hdrs).unwrap();
    let replay = receive(&url, &body, &hdrs).unwrap();
    assert_eq!(first, replay);
    let id = |e: &[InboundEvent]| match &e[0] {
        InboundEvent::Status { event_id, .. } => event_id.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        id(&first).as_deref(),
        Some("SM1234567890abcdef1234567890abcdef:delivered")
    );
    // A later status of the same message is a different event.
    let (body, hdrs) = signed(&url, &status_params("undelivered", "30005"), TOKEN);
    assert_ne!(id(&receive(&url, &body, &hdrs).unwrap()), id(&first));
}
