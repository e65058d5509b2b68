//! One email's whole life through the real binary, on SQLite and
//! PostgreSQL: an event, a Mailgun outage, failover to SendGrid, and
//! SendGrid's signed Event Webhook reporting it delivered.

use crate::common::*;
use crate::mock_providers::{provider_table, Kind, MockProvider, SendGridKey};
use serde_json::{json, Value};

/// The address SendGrid would call; the webhook's signature does not cover
/// the URL, so the test posts to the server's own address, as a proxy in
/// front of it would.
const PUBLIC_URL: &str = "https://foghorn.example";

/// Posts a SendGrid Event Webhook batch: `body`, with `key`'s signature over
/// `signed_body` (the same bytes, unless the test tampers): (status, text).
async fn post_sendgrid(
    base: &str,
    key: &SendGridKey,
    signed_body: &[u8],
    body: Vec<u8>,
) -> (u16, String) {
    let ts = now_s();
    hook(
        base,
        "/hooks/sendgrid",
        &[
            (
                "x-twilio-email-event-webhook-signature",
                key.sign(ts, signed_body),
            ),
            ("x-twilio-email-event-webhook-timestamp", ts.to_string()),
        ],
        "application/json",
        body,
    )
    .await
}

/// "Event → Mailgun fails with 503s → SendGrid accepts → SendGrid's signed
/// `delivered` webhook → notification `delivered`".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_email_fails_over_to_sendgrid_and_its_signed_webhook_marks_it_delivered() {
    for env in envs().await {
        let b = env.backend();
        let mailgun = MockProvider::start(Kind::Mailgun).await;
        let sendgrid = MockProvider::start(Kind::SendGrid).await;
        mailgun.fail_always(503);
        let sg_key = SendGridKey::generate();
        env.write(
            "foghorn.toml",
            &format!(
                "public_url = \"{PUBLIC_URL}\"\n\
                 [channels.email]\nproviders = [\"mailgun\", \"sendgrid\"]\n\
                 {}{}webhook_verification_key = \"{}\"\n",
                provider_table(Kind::Mailgun, &mailgun.url),
                provider_table(Kind::SendGrid, &sendgrid.url),
                sg_key.public_b64(),
            ),
        );
        env.write(
            "workflows/service.due.toml",
            "name = \"service.due\"\ncategory = \"maintenance\"\n[[steps]]\nchannel = \"email\"\n\
             subject = \"{{ data.boat }}: service due\"\ntext = \"{{ data.boat }} is due for service\"\n",
        );
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);

        // The event: Mailgun answers 503 every time, SendGrid takes it.
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "service.due", "to": [{"email": "elena@example.com"}],
                       "data": {"boat": "Jeanneau 51"}}),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        let id = v["notifications"][0]["id"].as_str().unwrap().to_string();
        let n = wait_status(&api, &id, "sent").await;
        assert_eq!(n["provider"], "sendgrid", "{b}: {n}");

        let to_sendgrid = sendgrid.received();
        assert_eq!(
            to_sendgrid.len(),
            1,
            "{b}: SendGrid got exactly one request"
        );
        let mail = to_sendgrid[0].json();
        assert_eq!(
            mail["personalizations"][0]["custom_args"]["notification_id"], id,
            "{b}: {mail}"
        );
        let x_message_id = to_sendgrid[0].response_headers["x-message-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(
            n["provider_message_id"], x_message_id,
            "{b}: the id is SendGrid's X-Message-Id"
        );

        let attempts = n["attempts"].as_array().unwrap();
        let (last, before) = attempts.split_last().unwrap();
        assert_eq!(
            (last["provider"].as_str(), last["outcome"].as_str()),
            (Some("sendgrid"), Some("sent")),
            "{b}: {n}"
        );
        assert!(!before.is_empty(), "{b}: Mailgun was tried first: {n}");
        for a in before {
            assert_eq!(
                (
                    a["provider"].as_str(),
                    a["outcome"].as_str(),
                    a["http_status"].as_u64()
                ),
                (Some("mailgun"), Some("retryable"), Some(503)),
                "{b}: {n}"
            );
        }
        assert!(mailgun.accepted().is_empty(), "{b}");
        assert_eq!(
            mailgun.received().len(),
            before.len(),
            "{b}: every Mailgun request is on the attempts"
        );

        // SendGrid's signed Event Webhook: processed, then delivered.
        let sg_message_id = format!("{x_message_id}.filterdrecv-5645d9c87f-6r2ch-1-5F5FC76C-9.0");
        let batch = json!([
            {"email": "elena@example.com", "event": "processed", "sg_event_id": "sg-evt-processed",
             "sg_message_id": sg_message_id, "notification_id": id, "timestamp": now_s()},
            {"email": "elena@example.com", "event": "delivered", "sg_event_id": "sg-evt-delivered",
             "sg_message_id": sg_message_id, "notification_id": id, "timestamp": now_s(),
             "response": "250 2.0.0 OK"},
        ]);
        let body = batch.to_string().into_bytes();
        let (s, text) = post_sendgrid(&server.base, &sg_key, &body, body.clone()).await;
        assert!((200..300).contains(&s), "{b}: {s} {text}");
        let n = wait_status(&api, &id, "delivered").await;
        let delivered = |n: &Value| {
            timeline_kinds(n)
                .iter()
                .filter(|k| k.as_str() == "delivered")
                .count()
        };
        assert_eq!(delivered(&n), 1, "{b}: {n}");

        // SendGrid resends a batch it is unsure of: applied once.
        let (s, text) = post_sendgrid(&server.base, &sg_key, &body, body.clone()).await;
        assert!((200..300).contains(&s), "{b}: repeat: {s} {text}");
        let n = notification(&api, &id).await;
        assert_eq!(n["status"], "delivered", "{b}");
        assert_eq!(delivered(&n), 1, "{b}: still one `delivered`: {n}");

        // A copy altered after signing is refused.
        let tampered = batch
            .to_string()
            .replace("delivered", "bounce")
            .into_bytes();
        let (s, text) = post_sendgrid(&server.base, &sg_key, &body, tampered).await;
        assert_eq!(s, 401, "{b}: tampered: {text}");
        let n = notification(&api, &id).await;
        assert_eq!(n["status"], "delivered", "{b}");
        assert_eq!(delivered(&n), 1, "{b}");

        server.stop().await;
    }
}
