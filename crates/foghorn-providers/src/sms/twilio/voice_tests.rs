//! Twilio calls against a local mock of the Calls resource: the request
//! twilio-python's `calls.create` sends, errors and 429s, the call page's
//! signature, what each key does, the TwiML of the recall script in
//! English and French (golden files), and the calls' status callbacks.

use super::inbound::signature;
use super::*;
use crate::sms::testkit::{self, basic, form_body, headers, mock, pairs, sms, Reply, PUBLIC_URL};
use foghorn_core::voice::{language, next_scene, CallInput, CallPage, Scene};
use foghorn_core::{DeliveryState, Money};
use serde_json::json;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token";
const CALL: &str = "CA5ef8732a3c49700934481addd5ce1659";

fn twilio(base: &str) -> Twilio {
    let config = Config {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        phone_number: Some("+15005550006".into()),
        messaging_service_sid: None,
        whatsapp_number: Some("+14155238886".into()),
        base_url: Some(base.into()),
        voice_prices: Default::default(),
    };
    Twilio::new("twilio", config, testkit::client(), &testkit::opts()).unwrap()
}

fn call(to: &str, script: &str) -> Outbound {
    Outbound {
        channel: Channel::Voice,
        ..sms(to, script)
    }
}

/// Twilio's 201 for a new call (abridged of URIs).
fn created() -> Reply {
    Reply::json(
        201,
        json!({
            "account_sid": SID, "annotation": null, "answered_by": null, "api_version": "2010-04-01",
            "caller_name": null, "date_created": "Tue, 31 Aug 2010 20:36:28 +0000", "direction": "outbound-api",
            "duration": "0", "end_time": null, "forwarded_from": null, "from": "+15005550006",
            "parent_call_sid": null, "price": null, "price_unit": "USD", "sid": CALL,
            "start_time": null, "status": "queued", "to": "+15558675310"
        }),
    )
}

#[tokio::test]
async fn places_the_call_as_the_sdk_does() {
    let (base, log) = mock(created()).await;
    let receipt = twilio(&base)
        .send(&call("+15558675310", "A recall affects your boat."))
        .await
        .unwrap();
    assert_eq!(receipt.provider_message_id.as_deref(), Some(CALL));
    assert_eq!(receipt.http_status, Some(201));
    let seen = log.lock().unwrap();
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, format!("/2010-04-01/Accounts/{SID}/Calls.json"));
    assert_eq!(req.header("authorization"), basic(SID, TOKEN));
    assert_eq!(
        req.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let page = format!("{PUBLIC_URL}/voice/twilio/ntf_01hx7");
    let callback = format!("{PUBLIC_URL}/hooks/twilio?tenant=ten_1&n=ntf_01hx7");
    assert_eq!(
        pairs(&req.form()),
        [
            ("To", "+15558675310"),
            ("From", "+15005550006"),
            ("Url", page.as_str()),
            ("Method", "POST"),
            ("StatusCallback", callback.as_str()),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
            ("StatusCallbackMethod", "POST"),
            ("MachineDetection", "DetectMessageEnd"),
        ]
    );
    // The script is not in the request: Twilio fetches it from the page.
    assert!(!req.text().contains("recall"));
}

#[tokio::test]
async fn call_errors_are_classified_by_code() {
    for (reply, kind) in [
        (
            Reply::json(
                400,
                json!({"code": 21215, "message": "Geographic permission", "status": 400}),
            ),
            "permanent",
        ),
        (
            Reply::json(
                400,
                json!({"code": 21210, "message": "Caller id not verified", "status": 400}),
            ),
            "misconfigured",
        ),
        (
            Reply::json(
                401,
                json!({"code": 20003, "message": "Authenticate", "status": 401}),
            ),
            "misconfigured",
        ),
        (
            Reply::json(
                429,
                json!({"code": 20429, "message": "Too Many Requests", "status": 429}),
            )
            .with_header("retry-after", "3"),
            "rate_limited",
        ),
        (Reply::text(503, "unavailable"), "retryable"),
    ] {
        let (base, _) = mock(reply).await;
        let e = twilio(&base)
            .send(&call("+15558675310", "notice"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
    }
}

fn page_request<'a>(
    url: &'a str,
    body: &'a str,
    hdrs: &'a [(String, String)],
) -> InboundRequest<'a> {
    InboundRequest {
        method: "POST",
        url,
        headers: hdrs,
        body: body.as_bytes(),
        now: 1_700_000_000,
    }
}

fn signed(url: &str, fields: &[(&str, &str)], token: &str) -> (String, Vec<(String, String)>) {
    let body = form_body(fields);
    let params = crate::signature::parse_form(body.as_bytes());
    let sig = signature(token, url, &params).unwrap();
    (body, headers(&[("X-Twilio-Signature", &sig)]))
}

#[test]
fn the_page_is_read_only_when_signed_by_the_account() {
    let provider = twilio("https://api.twilio.com");
    let url = format!("{PUBLIC_URL}/voice/twilio/ntf_01hx7?turn=1");
    let fields = [("CallSid", CALL), ("Digits", "1"), ("AnsweredBy", "human")];
    let (body, hdrs) = signed(&url, &fields, TOKEN);
    let input = provider
        .call_input(&page_request(&url, &body, &hdrs))
        .unwrap();
    assert_eq!(
        input,
        CallInput {
            digits: Some("1".into()),
            machine: false,
            turn: 1,
            call_id: Some(CALL.into()),
        }
    );
    // A tampered key press, another account's token, another page's URL
    // (the turn is signed too), and no signature at all.
    let tampered = body.replace("Digits=1", "Digits=2");
    let (_, wrong) = signed(&url, &fields, "another-token");
    let other_turn = url.replace("turn=1", "turn=0");
    for (u, b, h) in [
        (url.as_str(), tampered.as_str(), hdrs.clone()),
        (url.as_str(), body.as_str(), wrong),
        (other_turn.as_str(), body.as_str(), hdrs.clone()),
        (url.as_str(), body.as_str(), Vec::new()),
    ] {
        assert!(
            matches!(
                provider.call_input(&page_request(u, b, &h)),
                Err(InboundError::Unauthorized(_))
            ),
            "{u} {b}"
        );
    }
    // A machine.
    let fields = [("CallSid", CALL), ("AnsweredBy", "machine_end_beep")];
    let (body, hdrs) = signed(&url, &fields, TOKEN);
    assert!(
        provider
            .call_input(&page_request(&url, &body, &hdrs))
            .unwrap()
            .machine
    );
}

#[test]
fn the_recall_script_in_twiml_matches_its_golden_files() {
    let url = format!("{PUBLIC_URL}/voice/twilio/ntf_01hx7");
    for (locale, script, file) in [
        (None, testkit::RECALL_EN, "recall.en.twiml.xml"),
        (Some("fr-FR"), testkit::RECALL_FR, "recall.fr.twiml.xml"),
    ] {
        let scene = next_scene(&CallInput::default(), script);
        let reply = voice::twiml(&CallPage {
            scene,
            language: language(locale),
            url: &url,
        });
        assert_eq!(reply.content_type, "text/xml");
        let xml = String::from_utf8(reply.body).unwrap();
        testkit::golden(file, &xml);
    }
    // The other scenes.
    let lang = language(Some("fr"));
    let xml = |scene| {
        String::from_utf8(
            voice::twiml(&CallPage {
                scene,
                language: lang,
                url: &url,
            })
            .body,
        )
        .unwrap()
    };
    assert!(xml(Scene::Acknowledged).contains("Votre confirmation a été enregistrée"));
    assert!(xml(Scene::Acknowledged).ends_with("<Hangup/></Response>"));
    let vm = xml(Scene::Voicemail {
        text: "Avis <urgent> & important",
    });
    assert!(
        vm.contains("Avis &lt;urgent&gt; &amp; important") && !vm.contains("<Gather"),
        "{vm}"
    );
    assert!(xml(Scene::Goodbye).contains("Au revoir"));
}

fn call_status(status: &str, extra: &[(&str, &str)]) -> Option<InboundEvent> {
    let mut params: Vec<(String, String)> = vec![
        ("CallSid".into(), CALL.into()),
        ("CallStatus".into(), status.into()),
        ("To".into(), "+15558675310".into()),
        ("From".into(), "+15005550006".into()),
    ];
    // An extra field replaces the default of the same name.
    params.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let rates = crate::voice_rates::MinuteRates::new(
        &[("+33".to_string(), "0.0395".to_string())]
            .into_iter()
            .collect(),
        &[("+1", voice::US_MICROS_PER_MINUTE)],
    )
    .unwrap();
    voice::status_event(&params, Some("ntf_01hx7".into()), &rates)
}

#[test]
fn call_statuses_map_and_completed_calls_are_priced_per_started_minute() {
    for progress in ["queued", "initiated", "ringing", "in-progress"] {
        assert_eq!(call_status(progress, &[]), None, "{progress}");
    }
    let Some(InboundEvent::Status {
        state,
        price,
        event_id,
        ..
    }) = call_status("completed", &[("CallDuration", "61")])
    else {
        panic!("completed")
    };
    assert_eq!(state, DeliveryState::Delivered);
    assert_eq!(
        price,
        Some(Money {
            micros: 28_000,
            currency: "USD".into()
        })
    );
    assert_eq!(
        event_id.as_deref(),
        Some(format!("{CALL}:completed").as_str())
    );
    // A country the account gave a rate for; one it did not.
    let priced = |to: &str| match call_status("completed", &[("CallDuration", "61"), ("To", to)]) {
        Some(InboundEvent::Status { price, .. }) => price.map(|p| p.micros),
        other => panic!("{other:?}"),
    };
    assert_eq!(priced("+33612345678"), Some(79_000));
    assert_eq!(priced("+4915112345678"), None);
    for (status, want) in [
        ("busy", DeliveryState::Undelivered),
        ("no-answer", DeliveryState::Undelivered),
        ("failed", DeliveryState::Failed),
        ("canceled", DeliveryState::Failed),
    ] {
        let Some(InboundEvent::Status { state, price, .. }) = call_status(status, &[]) else {
            panic!("{status}")
        };
        assert_eq!((state, price), (want, None), "{status}");
    }
    // Through the provider's signed callback endpoint.
    let url = format!("{PUBLIC_URL}/hooks/twilio?tenant=ten_1&n=ntf_01hx7");
    let fields = [
        ("CallSid", CALL),
        ("CallStatus", "no-answer"),
        ("To", "+15558675310"),
    ];
    let (body, hdrs) = signed(&url, &fields, TOKEN);
    let events = twilio("https://api.twilio.com")
        .inbound(&page_request(&url, &body, &hdrs))
        .unwrap();
    assert!(
        matches!(
            &events[..],
            [InboundEvent::Status {
                state: DeliveryState::Undelivered,
                ..
            }]
        ),
        "{events:?}"
    );
}
