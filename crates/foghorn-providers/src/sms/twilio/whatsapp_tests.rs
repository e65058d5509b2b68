//! Twilio WhatsApp against a local mock of the Messages resource: the
//! `whatsapp:` addresses, a Content API template with its variables as
//! twilio-python's `messages.create(content_sid=…, content_variables=…)`
//! sends them, text otherwise, and the WhatsApp error codes.

use super::*;
use crate::sms::testkit::{self, mock, pairs, sms, Reply};
use foghorn_core::MessageTemplate;
use serde_json::json;

const SID: &str = "AC0123456789abcdef0123456789abcdef";

fn twilio(base: &str, whatsapp: Option<&str>) -> Twilio {
    let config = Config {
        account_sid: SID.into(),
        auth_token: "twilio-auth-token".into(),
        phone_number: Some("+15005550006".into()),
        messaging_service_sid: None,
        base_url: Some(base.into()),
        whatsapp_number: whatsapp.map(str::to_string),
        voice_prices: Default::default(),
    };
    Twilio::new("twilio", config, testkit::client(), &testkit::opts()).unwrap()
}

fn message(template: Option<MessageTemplate>) -> Outbound {
    let mut m = sms("+16505551234", "Recall RC-2026-114 for Sea Breeze");
    m.channel = Channel::Whatsapp;
    m.content.template = template;
    m
}

fn created() -> Reply {
    Reply::json(
        201,
        json!({"sid": "SM1234567890abcdef1234567890abcdef", "status": "queued", "price": null, "price_unit": "USD"}),
    )
}

#[tokio::test]
async fn a_content_template_goes_with_its_variables_and_no_body() {
    let (base, log) = mock(created()).await;
    let t = twilio(&base, Some("+14155238886"));
    assert!(t.supports(Channel::Whatsapp));
    let template = MessageTemplate {
        name: "recall_notice".into(),
        language: "en_US".into(),
        params: vec!["Sea Breeze".into(), "RC-2026-114".into()],
        content_sid: Some("HXb5b62575e6e4ff6129ad7c8efe1f983e".into()),
    };
    t.send(&message(Some(template))).await.unwrap();
    let callback = format!(
        "{}/hooks/twilio?tenant=ten_1&n=ntf_01hx7",
        testkit::PUBLIC_URL
    );
    assert_eq!(
        pairs(&log.lock().unwrap()[0].form()),
        [
            ("To", "whatsapp:+16505551234"),
            ("From", "whatsapp:+14155238886"),
            ("ContentSid", "HXb5b62575e6e4ff6129ad7c8efe1f983e"),
            (
                "ContentVariables",
                r#"{"1":"Sea Breeze","2":"RC-2026-114"}"#
            ),
            ("StatusCallback", callback.as_str()),
        ]
    );
}

#[tokio::test]
async fn text_goes_as_the_body_and_whatsapp_needs_its_number() {
    let (base, log) = mock(created()).await;
    twilio(&base, Some("+14155238886"))
        .send(&message(None))
        .await
        .unwrap();
    let form = log.lock().unwrap()[0].form();
    assert!(
        form.contains(&("Body".into(), "Recall RC-2026-114 for Sea Breeze".into())),
        "{form:?}"
    );
    assert!(!form.iter().any(|(k, _)| k == "ContentSid"));
    assert!(!twilio(&base, None).supports(Channel::Whatsapp));
}

#[tokio::test]
async fn whatsapp_errors_hand_the_message_to_the_fallback() {
    for code in [63016, 63003, 63024] {
        let (base, _) = mock(Reply::json(
            400,
            json!({"code": code, "message": "WhatsApp refused", "status": 400}),
        ))
        .await;
        let e = twilio(&base, Some("+14155238886"))
            .send(&message(None))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "permanent", "{code}: {e}");
    }
}
