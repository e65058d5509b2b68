//! WhatsApp Cloud API against a local mock that answers as Meta does
//! (errors by code, with 400 or 429), and its webhooks: the handshake, the
//! signature (valid, tampered body, wrong secret, missing) and statuses.

use super::*;
use crate::signature::{hex, hmac_sha256};
use crate::sms::testkit::{self, headers, mock, sms, Reply};
use foghorn_core::{DeliveryState, MessageTemplate};
use serde_json::json;

const TOKEN: &str = "EAAG-test-access-token";
const SECRET: &str = "meta-app-secret-0001";

fn config(base: &str) -> Config {
    Config {
        access_token: TOKEN.into(),
        phone_number_id: "106540352242922".into(),
        api_version: None,
        base_url: Some(base.into()),
        verify_token: Some("verify-me".into()),
        app_secret: Some(SECRET.into()),
        prices: Default::default(),
        currency: None,
    }
}

fn whatsapp(base: &str) -> WhatsApp {
    WhatsApp::new(
        "whatsapp",
        config(base),
        testkit::client(),
        &testkit::opts(),
    )
    .unwrap()
}

fn message(template: Option<MessageTemplate>) -> Outbound {
    let mut m = sms("+16505551234", "Your recall notice: check the fuel pump.");
    m.channel = Channel::Whatsapp;
    m.content.template = template;
    m
}

fn sent() -> Reply {
    Reply::json(
        200,
        json!({"messaging_product": "whatsapp", "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA", "message_status": "accepted"}]}),
    )
}

#[tokio::test]
async fn sends_a_template_as_the_sdk_does() {
    let (base, log) = mock(sent()).await;
    let template = MessageTemplate {
        name: "recall_notice".into(),
        language: "en_US".into(),
        params: vec!["Sea Breeze".into(), "RC-2026-114".into()],
        content_sid: None,
    };
    let receipt = whatsapp(&base)
        .send(&message(Some(template)))
        .await
        .unwrap();
    assert_eq!(
        receipt.provider_message_id.as_deref(),
        Some("wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA")
    );
    let seen = log.lock().unwrap();
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v26.0/106540352242922/messages");
    assert_eq!(req.header("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(req.header("content-type"), "application/json");
    // Field order as the SDK writes it.
    let text = req.text();
    let at = |k: &str| text.find(k).unwrap_or(usize::MAX);
    assert!(
        at("messaging_product") < at("recipient_type")
            && at("recipient_type") < at("\"to\"")
            && at("\"to\"") < at("\"type\"")
            && at("\"type\"") < at("\"template\""),
        "{text}"
    );
    assert_eq!(
        req.json(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
            "type": "template", "template": {"name": "recall_notice", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sea Breeze"}, {"type": "text", "text": "RC-2026-114"}]}]}})
    );
}

#[tokio::test]
async fn sends_text_without_a_template() {
    let (base, log) = mock(sent()).await;
    whatsapp(&base).send(&message(None)).await.unwrap();
    assert_eq!(
        log.lock().unwrap()[0].json(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
            "type": "text", "text": {"body": "Your recall notice: check the fuel pump.", "preview_url": false}})
    );
}

fn graph_error(status: u16, code: i64, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": "see the code"}, "fbtrace_id": "AbC"}}),
    )
}

#[tokio::test]
async fn errors_are_classified_by_code_not_status() {
    for (reply, kind) in [
        (
            graph_error(400, 131047, "(#131047) Re-engagement message"),
            "permanent",
        ),
        (
            graph_error(400, 131026, "(#131026) Message Undeliverable"),
            "permanent",
        ),
        (
            graph_error(400, 130429, "(#130429) Rate limit hit"),
            "rate_limited",
        ),
        (
            graph_error(429, 131056, "(#131056) Pair rate limit hit"),
            "rate_limited",
        ),
        (
            graph_error(401, 190, "Invalid OAuth access token"),
            "misconfigured",
        ),
        (
            graph_error(
                400,
                132001,
                "(#132001) Template name does not exist in the translation",
            ),
            "permanent",
        ),
        (
            graph_error(500, 131000, "Something went wrong"),
            "retryable",
        ),
        (Reply::text(503, "unavailable"), "retryable"),
    ] {
        let (base, _) = mock(reply).await;
        let e = whatsapp(&base).send(&message(None)).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
    }
    let (base, _) = mock(graph_error(400, 131047, "(#131047) Re-engagement message")).await;
    let e = whatsapp(&base).send(&message(None)).await.unwrap_err();
    assert!(e.to_string().contains("whatsapp 131047"), "{e}");
    assert!(!e.to_string().contains(TOKEN), "{e}");
}

fn request<'a>(
    method: &'a str,
    url: &'a str,
    hdrs: &'a [(String, String)],
    body: &'a [u8],
) -> InboundRequest<'a> {
    InboundRequest {
        method,
        url,
        headers: hdrs,
        body,
        now: 1_700_000_000,
    }
}

#[test]
fn the_handshake_echoes_the_challenge_only_for_the_token() {
    let w = whatsapp("https://graph.facebook.com");
    let ok = "https://foghorn.example/hooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444";
    let reply = w.handshake(&request("GET", ok, &[], b"")).unwrap();
    assert_eq!(
        (reply.status, reply.body.as_slice()),
        (200, b"1158201444".as_slice())
    );
    let wrong = ok.replace("verify-me", "guess");
    assert!(matches!(
        w.handshake(&request("GET", &wrong, &[], b"")),
        Err(InboundError::Unauthorized(_))
    ));
    let no_mode = ok.replace("hub.mode=subscribe&", "");
    assert!(w.handshake(&request("GET", &no_mode, &[], b"")).is_err());
}

fn statuses() -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [
            {"id": "wamid.A", "status": "delivered", "timestamp": "1749416383", "recipient_id": "16505551234",
             "pricing": {"billable": true, "pricing_model": "PMP", "category": "utility"}},
            {"id": "wamid.B", "status": "failed", "timestamp": "1749416384", "recipient_id": "16505551235",
             "errors": [{"code": 131026, "title": "Message undeliverable"}]}
        ]}}]}]})
    .to_string()
}

fn signed(secret: &str, body: &str) -> Vec<(String, String)> {
    let sig = format!(
        "sha256={}",
        hex(&hmac_sha256(secret.as_bytes(), body.as_bytes()).unwrap())
    );
    headers(&[("X-Hub-Signature-256", &sig)])
}

#[test]
fn webhooks_are_read_only_when_signed_with_the_app_secret() {
    let w = whatsapp("https://graph.facebook.com");
    let url = "https://foghorn.example/hooks/whatsapp";
    let body = statuses();
    let events = w
        .inbound(&request(
            "POST",
            url,
            &signed(SECRET, &body),
            body.as_bytes(),
        ))
        .unwrap();
    assert_eq!(events.len(), 2);
    let InboundEvent::Status {
        provider_message_id,
        state,
        recipient,
        event_id,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (
            provider_message_id.as_deref(),
            *state,
            recipient.as_deref(),
            event_id.as_deref()
        ),
        (
            Some("wamid.A"),
            DeliveryState::Delivered,
            Some("+16505551234"),
            Some("wamid.A:delivered")
        )
    );
    let InboundEvent::Status {
        state, error_code, ..
    } = &events[1]
    else {
        panic!()
    };
    assert_eq!(
        (*state, error_code.as_deref()),
        (DeliveryState::Failed, Some("131026"))
    );
    // Tampered, another app's secret, no signature.
    let tampered = body.replace("delivered", "read");
    for (hdrs, b) in [
        (signed(SECRET, &body), tampered.as_str()),
        (signed("another-secret", &body), body.as_str()),
        (Vec::new(), body.as_str()),
    ] {
        assert!(matches!(
            w.inbound(&request("POST", url, &hdrs, b.as_bytes())),
            Err(InboundError::Unauthorized(_))
        ));
    }
    // Without an app secret nothing is accepted.
    let mut open = config("https://graph.facebook.com");
    open.app_secret = None;
    let open = WhatsApp::new("whatsapp", open, testkit::client(), &testkit::opts()).unwrap();
    assert!(matches!(
        open.inbound(&request(
            "POST",
            url,
            &signed(SECRET, &body),
            body.as_bytes()
        )),
        Err(InboundError::NotConfigured(_))
    ));
}

#[test]
fn the_version_and_number_id_are_checked() {
    for (version, number) in [
        (Some("26.0"), "1"),
        (Some("v26"), "1"),
        (None, "12/../3"),
        (Some("v2x.0"), "1"),
    ] {
        let c = Config {
            api_version: version.map(str::to_string),
            phone_number_id: number.into(),
            ..config("https://graph.facebook.com")
        };
        assert!(
            WhatsApp::new("whatsapp", c, testkit::client(), &testkit::opts()).is_err(),
            "{version:?} {number}"
        );
    }
}

#[test]
fn messages_are_read_with_their_files_and_numbers_in_e164() {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "messages": [
            {"from": "16505551234", "id": "wamid.T", "timestamp": "1749416383", "type": "text", "text": {"body": "OK"}},
            {"from": "16505551234", "id": "wamid.I", "timestamp": "1749416384", "type": "document",
             "document": {"filename": "survey.pdf", "mime_type": "application/pdf", "sha256": "abc=", "id": "987"}},
            {"from": "16505551234", "id": "wamid.R", "timestamp": "1749416385", "type": "reaction", "reaction": {"emoji": "x"}}
        ]}}]}]})
    .to_string();
    let events = webhook::events(body.as_bytes(), &Default::default()).unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let InboundEvent::Message {
        from,
        to,
        text,
        media,
        ..
    } = &events[0]
    else {
        panic!()
    };
    assert_eq!(
        (from.as_str(), to.as_str(), text.as_str(), media),
        ("+16505551234", "+15550783881", "OK", &None)
    );
    let InboundEvent::Message { media: Some(m), .. } = &events[1] else {
        panic!()
    };
    assert_eq!(
        (m.id.as_str(), m.mime_type.as_str(), m.filename.as_deref()),
        ("987", "application/pdf", Some("survey.pdf"))
    );
}

#[test]
fn a_delivered_messages_cost_is_its_categorys_rate_and_free_ones_cost_nothing() {
    let mut c = config("https://graph.facebook.com");
    c.prices = [("utility", "0.0040"), ("marketing", "0.0250")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let w = WhatsApp::new("whatsapp", c, testkit::client(), &testkit::opts()).unwrap();
    let status = |status: &str, pricing: serde_json::Value| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "statuses": [{"id": "wamid.P", "status": status, "timestamp": "1749416383", "recipient_id": "16505551234", "pricing": pricing}]}}]}]})
        .to_string()
    };
    let price = |body: String| {
        let events = w
            .inbound(&request(
                "POST",
                "https://foghorn.example/hooks/whatsapp",
                &signed(SECRET, &body),
                body.as_bytes(),
            ))
            .unwrap();
        match events.as_slice() {
            [InboundEvent::Status { price, .. }] => {
                price.as_ref().map(|p| (p.micros, p.currency.clone()))
            }
            other => panic!("{other:?}"),
        }
    };
    let usd = |m: i64| Some((m, "USD".to_string()));
    // Per-message pricing: `type` says whether it was charged.
    let regular = |cat: &str| json!({"billable": true, "pricing_model": "PMP", "category": cat, "type": "regular"});
    assert_eq!(price(status("delivered", regular("utility"))), usd(4_000));
    assert_eq!(price(status("read", regular("marketing"))), usd(25_000));
    // A utility template inside the service window is free.
    let free = json!({"billable": false, "pricing_model": "PMP", "category": "utility", "type": "free_customer_service"});
    assert_eq!(price(status("delivered", free)), usd(0));
    // The older flag alone.
    let old = json!({"billable": true, "pricing_model": "CBP", "category": "utility"});
    assert_eq!(price(status("delivered", old)), usd(4_000));
    // No rate for the category, not yet delivered, or no pricing: unknown.
    assert_eq!(price(status("delivered", regular("authentication"))), None);
    assert_eq!(price(status("sent", regular("utility"))), None);
    assert_eq!(price(status("delivered", json!(null))), None);
    // A rate for something that is not a category, or not an amount, is
    // refused when the account is built.
    for (k, v) in [
        ("utilty", "0.004"),
        ("utility", "four"),
        ("utility", "-0.004"),
    ] {
        let mut c = config("https://graph.facebook.com");
        c.prices = [(k.to_string(), v.to_string())].into_iter().collect();
        let e = WhatsApp::new("whatsapp", c, testkit::client(), &testkit::opts()).unwrap_err();
        assert!(e.to_string().contains(&format!("prices.{k}")), "{e}");
    }
}
