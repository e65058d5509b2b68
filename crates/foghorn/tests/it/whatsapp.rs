//! WhatsApp through the real binary on SQLite and PostgreSQL: an approved
//! template to the owner with the event's values, the webhook handshake,
//! signed statuses applied (and a tampered one refused), and a number that
//! is not on WhatsApp (131026) moving to the step's SMS fallback.

use crate::common::*;
use foghorn_testkit::{MockServer, Reply};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PUBLIC_URL: &str = "https://foghorn.example";
const APP_SECRET: &str = "meta-app-secret-e2e";
const NOT_ON_WHATSAPP: &str = "+16505550000";

/// Meta's messages resource: a wamid for every number but one, which is
/// not on WhatsApp (131026).
async fn meta() -> MockServer {
    MockServer::start(|req| {
        let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        if body["to"] == NOT_ON_WHATSAPP.trim_start_matches('+') {
            return Reply::json(
                400,
                json!({"error": {"message": "(#131026) Message Undeliverable", "type": "OAuthException", "code": 131026,
                    "error_data": {"messaging_product": "whatsapp", "details": "Message Undeliverable."}, "fbtrace_id": "A1"}}),
            );
        }
        Reply::json(
            200,
            json!({"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": format!("wamid.E2E{:04}", req.n)}]}),
        )
    })
    .await
}

async fn twilio() -> MockServer {
    MockServer::start(|req| {
        Reply::json(
            201,
            json!({"sid": format!("SM{:032}", req.n), "status": "queued", "price": null, "price_unit": "USD"}),
        )
    })
    .await
}

fn config(env: &Env, meta: &str, twilio: &str) {
    env.write(
        "foghorn.toml",
        &format!(
            "public_url = \"{PUBLIC_URL}\"\n\
             [providers.whatsapp]\nkind = \"whatsapp\"\naccess_token = \"EAAG-e2e\"\nphone_number_id = \"106540352242922\"\n\
             base_url = \"{meta}\"\nverify_token = \"verify-e2e\"\napp_secret = \"{APP_SECRET}\"\n\
             [providers.twilio]\nkind = \"twilio\"\naccount_sid = \"AC00000000000000000000000000000007\"\n\
             auth_token = \"tw-token\"\nphone_number = \"+12025550100\"\nbase_url = \"{twilio}\"\n\
             [channels.sms]\nproviders = [\"twilio\"]\n[channels.whatsapp]\nproviders = [\"whatsapp\"]\n"
        ),
    );
    env.write(
        "workflows/recall.whatsapp.toml",
        "name = \"recall.whatsapp\"\ncategory = \"safety\"\n\
         [[steps]]\nchannel = \"whatsapp\"\nfallback = \"sms\"\ntext = \"Recall {{ data.recall_id }} for {{ data.boat }}\"\n\
         whatsapp_template = { name = \"recall_notice\", language = \"en_US\", params = [\"{{ data.boat }}\", \"{{ data.recall_id }}\"] }\n",
    );
}

fn signed(body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_template_goes_out_its_statuses_come_back_and_a_number_not_on_whatsapp_gets_an_sms() {
    for env in envs().await {
        let b = env.backend();
        let (meta, twilio) = (meta().await, twilio().await);
        config(&env, &meta.url, &twilio.url);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let event = |phone: &str| {
            json!({"name": "recall.whatsapp", "to": [{"whatsapp": phone, "phone": phone}],
                "data": {"boat": "Sea Breeze", "recall_id": "RC-2026-114"}})
        };

        let (id, _) = send(&api, event("+16505551234")).await;
        let n = wait_status(&api, &id, "sent").await;
        let wamid = n["provider_message_id"].as_str().unwrap().to_string();
        let sent = meta.requests()[0].json();
        assert_eq!(sent["to"], "16505551234", "{b}");
        assert_eq!(
            sent["template"],
            json!({"name": "recall_notice", "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sea Breeze"}, {"type": "text", "text": "RC-2026-114"}]}]}),
            "{b}"
        );

        // Meta's subscription check.
        let client = reqwest::Client::new();
        let res = client
            .get(format!("{}/hooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-e2e&hub.challenge=8765", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{b}");
        assert_eq!(res.text().await.unwrap(), "8765", "{b}");
        let res = client
            .get(format!(
                "{}/hooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=8765",
                server.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{b}");

        // A signed status: delivered. A tampered one changes nothing.
        let status = |s: &str| {
            json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
                "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                "statuses": [{"id": wamid, "status": s, "timestamp": "1765000000", "recipient_id": "16505551234"}]}}]}]})
            .to_string()
        };
        let body = status("delivered");
        let (s, text) = hook(
            &server.base,
            "/hooks/whatsapp",
            &[("x-hub-signature-256", signed(&body))],
            "application/json",
            body.clone().into_bytes(),
        )
        .await;
        assert_eq!(s, 200, "{b}: {text}");
        let tampered = status("read");
        let (s, _) = hook(
            &server.base,
            "/hooks/whatsapp",
            &[("x-hub-signature-256", signed(&body))],
            "application/json",
            tampered.into_bytes(),
        )
        .await;
        assert_eq!(s, 401, "{b}");
        let n = wait_status(&api, &id, "delivered").await;
        assert_eq!(n["status"], "delivered", "{b}: {n}");

        // Not on WhatsApp: the SMS fallback carries the step's text.
        let (id, _) = send(&api, event(NOT_ON_WHATSAPP)).await;
        let start = Instant::now();
        let sms = loop {
            let found: Vec<_> = twilio.requests().iter().map(|r| r.form()).collect();
            if !found.is_empty() || start.elapsed() > Duration::from_secs(20) {
                break found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let form = sms
            .first()
            .unwrap_or_else(|| panic!("{b}: no SMS fallback"));
        let field = |k: &str| {
            form.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(field("To"), NOT_ON_WHATSAPP, "{b}");
        assert_eq!(field("Body"), "Recall RC-2026-114 for Sea Breeze", "{b}");
        let n = notification(&api, &id).await;
        assert!(
            n.to_string().contains("131026"),
            "{b}: the reason is kept: {n}"
        );
        server.stop().await;
    }
}
