//! Bandwidth calls against a local mock of Voice v2 and the token endpoint:
//! the create-call JSON the SDK's `CreateCall` model sends, with the
//! bearer token, errors and 429s; the call page's Basic credentials; the
//! BXML of the recall script in English and French (golden files); the
//! disconnect webhook.

use super::tests::{config, issued};
use super::*;
use crate::sms::testkit::{self, basic, headers, mock_routes, sms, to_path, Reply, PUBLIC_URL};
use crate::voice_rates::MinuteRates;
use foghorn_core::voice::{language, next_scene, CallInput, CallPage, Scene};
use foghorn_core::DeliveryState;
use serde_json::json;

const CALL: &str = "c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85";
const CALLS_PATH: &str = "/api/v2/accounts/9900000/calls";

fn voice_config(base: &str) -> Config {
    Config {
        voice_application_id: Some("04e88489-df02-4e34-a0ee-27a91849555f".into()),
        ..config(base)
    }
}

fn provider(base: &str) -> Bandwidth {
    Bandwidth::new(
        "bandwidth",
        voice_config(base),
        crate::sms::testkit::client(),
        &crate::sms::testkit::opts(),
    )
    .unwrap()
}

fn call(to: &str) -> Outbound {
    Outbound {
        channel: Channel::Voice,
        ..sms(to, "A recall affects your boat.")
    }
}

fn created() -> Reply {
    Reply::json(
        201,
        json!({"applicationId": "04e88489-df02-4e34-a0ee-27a91849555f", "accountId": "9900000",
            "callId": CALL, "to": "+19195554444", "from": "+19195551212",
            "enqueuedTime": "2022-06-16T13:15:07.160Z",
            "callUrl": format!("https://voice.bandwidth.com/api/v2/accounts/9900000/calls/{CALL}"),
            "callTimeout": 30, "callbackTimeout": 15, "tag": "ntf_01hx7", "answerMethod": "POST",
            "answerUrl": format!("{PUBLIC_URL}/voice/bandwidth/ntf_01hx7"), "disconnectMethod": "POST",
            "username": "hook-user", "password": "*****", "priority": 5}),
    )
}

#[tokio::test]
async fn places_the_call_as_the_sdk_does_with_the_oauth_token() {
    let (base, log) = mock_routes(vec![
        (
            "/api/v1/oauth2/token".to_string(),
            vec![issued("tok-VOICE-1", 3600)],
        ),
        (CALLS_PATH.to_string(), vec![created()]),
    ])
    .await;
    let p = provider(&base);
    assert!(p.supports(Channel::Voice));
    let receipt = p.send(&call("+19195554444")).await.unwrap();
    assert_eq!(receipt.provider_message_id.as_deref(), Some(CALL));
    let req = to_path(&log, CALLS_PATH).remove(0);
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("authorization"), "Bearer tok-VOICE-1");
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(
        req.json(),
        json!({
            "to": "+19195554444",
            "from": "+19195551212",
            "applicationId": "04e88489-df02-4e34-a0ee-27a91849555f",
            "answerUrl": format!("{PUBLIC_URL}/voice/bandwidth/ntf_01hx7"),
            "answerMethod": "POST",
            "username": "hook-user",
            "password": "hook-pass",
            "disconnectUrl": format!("{PUBLIC_URL}/hooks/bandwidth?tenant=ten_1&n=ntf_01hx7"),
            "disconnectMethod": "POST",
            "machineDetection": {"mode": "sync"},
            "tag": "ntf_01hx7"
        })
    );
    // Without a voice application the account places no calls.
    let sms_only = Bandwidth::new(
        "bandwidth",
        config(&base),
        crate::sms::testkit::client(),
        &crate::sms::testkit::opts(),
    )
    .unwrap();
    assert!(!sms_only.supports(Channel::Voice));
}

#[tokio::test]
async fn call_errors_are_classified_and_scrubbed() {
    for (reply, kind) in [
        (
            Reply::json(
                400,
                json!({"type": "validation", "description": "Invalid answerUrl: only http and https are allowed."}),
            ),
            "permanent",
        ),
        (
            Reply::json(
                403,
                json!({"type": "forbidden", "description": "Access denied"}),
            ),
            "misconfigured",
        ),
        (
            Reply::json(
                429,
                json!({"type": "rate-limit", "description": "Too many requests"}),
            )
            .with_header("retry-after", "2"),
            "rate_limited",
        ),
        (
            Reply::json(500, json!({"type": "internal", "description": "oops"})),
            "retryable",
        ),
    ] {
        let (base, _) = mock_routes(vec![
            (
                "/api/v1/oauth2/token".to_string(),
                vec![issued("tok-VOICE-2", 3600)],
            ),
            (CALLS_PATH.to_string(), vec![reply]),
        ])
        .await;
        let e = provider(&base)
            .send(&call("+19195554444"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert!(
            !e.to_string().contains("tok-VOICE-2") && !e.to_string().contains("hook-pass"),
            "{e}"
        );
    }
}

fn page_request<'a>(
    url: &'a str,
    body: &'a [u8],
    hdrs: &'a [(String, String)],
) -> InboundRequest<'a> {
    InboundRequest {
        method: "POST",
        url,
        headers: hdrs,
        body,
        now: 1_700_000_000,
    }
}

#[test]
fn the_page_is_read_only_with_the_accounts_credentials() {
    let p = provider("https://voice.bandwidth.com");
    let url = format!("{PUBLIC_URL}/voice/bandwidth/ntf_01hx7?turn=1");
    let gather = json!({"eventType": "gather", "callId": CALL, "digits": "1", "terminatingDigit": "", "tag": "ntf_01hx7"}).to_string();
    let good = headers(&[("authorization", &basic("hook-user", "hook-pass"))]);
    assert_eq!(
        p.call_input(&page_request(&url, gather.as_bytes(), &good))
            .unwrap(),
        CallInput {
            digits: Some("1".into()),
            machine: false,
            turn: 1,
            call_id: Some(CALL.into())
        }
    );
    for bad in [
        headers(&[("authorization", &basic("hook-user", "wrong"))]),
        headers(&[("authorization", &basic("other", "hook-pass"))]),
        Vec::new(),
    ] {
        assert!(matches!(
            p.call_input(&page_request(&url, gather.as_bytes(), &bad)),
            Err(InboundError::Unauthorized(_))
        ));
    }
    // A timed-out prompt (digits "") and a machine.
    let silent = json!({"eventType": "gather", "callId": CALL, "digits": ""}).to_string();
    assert_eq!(
        p.call_input(&page_request(&url, silent.as_bytes(), &good))
            .unwrap()
            .digits,
        None
    );
    let machine = json!({"eventType": "answer", "callId": CALL, "machineDetectionResult": {"value": "answering-machine", "duration": "PT4.9891287S"}}).to_string();
    assert!(
        p.call_input(&page_request(&url, machine.as_bytes(), &good))
            .unwrap()
            .machine
    );
    assert!(matches!(
        p.call_input(&page_request(&url, b"not json", &good)),
        Err(InboundError::Malformed(_))
    ));
}

#[test]
fn the_recall_script_in_bxml_matches_its_golden_files() {
    let url = format!("{PUBLIC_URL}/voice/bandwidth/ntf_01hx7");
    for (locale, script, file) in [
        (None, testkit::RECALL_EN, "recall.en.bxml.xml"),
        (Some("fr"), testkit::RECALL_FR, "recall.fr.bxml.xml"),
    ] {
        let page = CallPage {
            scene: next_scene(&CallInput::default(), script),
            language: language(locale),
            url: &url,
        };
        let reply = voice::bxml(&page);
        assert_eq!(reply.content_type, "application/xml; charset=utf-8");
        crate::sms::testkit::golden(file, &String::from_utf8(reply.body).unwrap());
    }
    let page = CallPage {
        scene: Scene::Acknowledged,
        language: language(Some("de")),
        url: &url,
    };
    let xml = String::from_utf8(voice::bxml(&page).body).unwrap();
    assert!(
        xml.contains("<SpeakSentence voice=\"katrin\">Vielen Dank")
            && xml.ends_with("<Hangup/></Response>"),
        "{xml}"
    );
}

fn us_list_price() -> MinuteRates {
    MinuteRates::new(&Default::default(), &[("+1", voice::US_MICROS_PER_MINUTE)]).unwrap()
}

#[test]
fn a_disconnect_ends_the_call_by_its_cause() {
    let hook = |cause: &str, answered: bool| {
        let mut v = json!({"eventType": "disconnect", "callId": CALL, "cause": cause, "tag": "ntf_01hx7", "to": "+19195554444",
            "startTime": "2022-06-17T22:19:40.375Z", "endTime": "2022-06-17T22:20:40.375Z"});
        if answered {
            v["answerTime"] = json!("2022-06-17T22:19:45.375Z");
        }
        v.to_string()
    };
    for (cause, answered, want) in [
        ("hangup", true, DeliveryState::Delivered),
        ("hangup", false, DeliveryState::Undelivered),
        ("timeout", false, DeliveryState::Undelivered),
        ("busy", false, DeliveryState::Undelivered),
        ("rejected", false, DeliveryState::Failed),
        ("error", false, DeliveryState::Failed),
    ] {
        let events = voice::events(hook(cause, answered).as_bytes(), &us_list_price()).unwrap();
        let [InboundEvent::Status {
            state,
            notification_id,
            event_id,
            price,
            ..
        }] = events.as_slice()
        else {
            panic!("{events:?}")
        };
        assert_eq!(*state, want, "{cause}");
        // Answered for 55 s: one minute at the list price; unanswered, free.
        assert_eq!(
            price.as_ref().map(|p| (p.micros, p.currency.as_str())),
            answered.then_some((voice::US_MICROS_PER_MINUTE, "USD")),
            "{cause}"
        );
        assert_eq!(notification_id.as_deref(), Some("ntf_01hx7"));
        assert_eq!(
            event_id.as_deref(),
            Some(format!("{CALL}:disconnect").as_str())
        );
    }
    // Two minutes and a second are three begun minutes; abroad, no list price.
    let long = |to: &str| {
        json!({"eventType": "disconnect", "callId": CALL, "cause": "hangup", "to": to,
            "answerTime": "2022-06-17T22:19:45.375Z", "endTime": "2022-06-17T22:21:46.375Z"})
        .to_string()
    };
    let price = |body: String, rates: &MinuteRates| match voice::events(body.as_bytes(), rates)
        .unwrap()
        .as_slice()
    {
        [InboundEvent::Status { price, .. }] => price.as_ref().map(|p| p.micros),
        other => panic!("{other:?}"),
    };
    let list = us_list_price();
    assert_eq!(
        price(long("+19195554444"), &list),
        Some(3 * voice::US_MICROS_PER_MINUTE)
    );
    assert_eq!(price(long("+33612345678"), &list), None);
    // With the account's rate for France.
    let france = MinuteRates::new(
        &[("+33".to_string(), "0.0395".to_string())]
            .into_iter()
            .collect(),
        &[("+1", voice::US_MICROS_PER_MINUTE)],
    )
    .unwrap();
    assert_eq!(price(long("+33612345678"), &france), Some(3 * 39_500));
    // Through the provider's callback endpoint, with its credentials.
    let p = provider("https://voice.bandwidth.com");
    let good = headers(&[("authorization", &basic("hook-user", "hook-pass"))]);
    let body = hook("timeout", false);
    let url = format!("{PUBLIC_URL}/hooks/bandwidth?tenant=ten_1&n=ntf_01hx7");
    let events = p
        .inbound(&page_request(&url, body.as_bytes(), &good))
        .unwrap();
    assert!(matches!(
        &events[..],
        [InboundEvent::Status {
            state: DeliveryState::Undelivered,
            ..
        }]
    ));
}
