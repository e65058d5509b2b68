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
             prices = {{ utility = \"0.0040\" }}\n\
             [providers.twilio]\nkind = \"twilio\"\naccount_sid = \"AC00000000000000000000000000000007\"\n\
             auth_token = \"tw-token\"\nphone_number = \"+12025550100\"\nbase_url = \"{twilio}\"\n\
             [channels.sms]\nproviders = [\"twilio\"]\n[channels.whatsapp]\nproviders = [\"whatsapp\"]\n"
        ),
    );
    write_workflow(env);
}

fn write_workflow(env: &Env) {
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
                "statuses": [{"id": wamid, "status": s, "timestamp": "1765000000", "recipient_id": "16505551234",
                    "pricing": {"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"}}]}}]}]})
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
        // Its cost is the account's rate for the category Meta reported.
        assert_eq!(n["cost"]["amount"], "0.004", "{b}: {n}");
        assert_eq!(n["cost"]["currency"], "USD", "{b}: {n}");

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

/// The photo a person sends, as Meta keeps it.
const PHOTO: &str = "JPEG-bytes-of-a-survey-photo-0001";

/// The photo's SHA-256 as Meta writes it (base64).
fn photo_sha() -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(PHOTO.as_bytes()))
}

/// Meta's Graph API for media: the id's lookup answers a short-lived URL
/// on the same server (with the bearer token only), which serves the file.
async fn graph() -> (MockServer, std::sync::Arc<std::sync::Mutex<String>>) {
    let origin = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = origin.clone();
    let sha = photo_sha();
    let server = MockServer::start(move |req| {
        if req.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer EAAG-e2e") {
            return Reply::json(401, json!({"error": {"message": "Invalid OAuth access token", "code": 190}}));
        }
        match req.path {
            "/v26.0/1003383421387256" => Reply::json(
                200,
                json!({"messaging_product": "whatsapp", "url": format!("{}/whatsapp_business/attachments/?mid=1003383421387256", seen.lock().unwrap()),
                    "mime_type": "image/jpeg", "sha256": sha, "file_size": PHOTO.len().to_string(), "id": "1003383421387256"}),
            ),
            "/whatsapp_business/attachments/" => Reply::text(200, PHOTO).with_header("content-type", "image/jpeg"),
            "/v26.0/106540352242922/messages" => Reply::json(200, json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT1"}]})),
            _ => Reply::json(404, json!({"error": {"message": "Unsupported get request", "code": 100}})),
        }
    })
    .await;
    *origin.lock().unwrap() = server.url.clone();
    (server, origin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_photo_sent_by_whatsapp_is_kept_announced_to_navidocs_and_found_in_the_catalog() {
    for env in envs().await {
        let b = env.backend();
        let (graph, _) = graph().await;
        let navidocs = MockServer::start(|_| Reply::status(204)).await;
        env.write(
            "foghorn.toml",
            &format!(
                "public_url = \"{PUBLIC_URL}\"\n\
                 [providers.whatsapp]\nkind = \"whatsapp\"\naccess_token = \"EAAG-e2e\"\nphone_number_id = \"106540352242922\"\n\
                 base_url = \"{}\"\nverify_token = \"verify-e2e\"\napp_secret = \"{APP_SECRET}\"\n\
                 [providers.webhook]\nkind = \"webhook\"\nsecret = \"{WEBHOOK_SECRET}\"\n\
                 [channels.whatsapp]\nproviders = [\"whatsapp\"]\n",
                graph.url
            ),
        );
        write_workflow(&env);
        let key = env.key("admin").await;
        let operator = env.key("operator").await;
        let server = Server::start(&env, "all", &[TENANTS_MAY_USE_LOOPBACK]).await;
        let api = Api::new(&server.base, &key);
        let (s, v) = Api::new(&server.base, &operator)
            .put(
                "/v1/admin/tenants/default",
                json!({"name": "default", "settings": {"inbound_webhook_url": format!("{}/navidocs/inbound", navidocs.url)}}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        put_subscriber(&api, "owner-wa", json!({"phone": "+16505551234", "whatsapp": "+16505551234", "data": {"boat": "Sea Breeze"}})).await;

        let message = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "16505551234"}],
            "messages": [{"from": "16505551234", "id": "wamid.IN1", "timestamp": "1765000000", "type": "image",
                "image": {"caption": "Hull survey page 2", "mime_type": "image/jpeg", "sha256": photo_sha(), "id": "1003383421387256"}}]}}]}]})
        .to_string();
        // Unsigned, or signed by another app: nothing is fetched.
        let (s, _) = hook(
            &server.base,
            "/hooks/whatsapp",
            &[("x-hub-signature-256", "sha256=00".into())],
            "application/json",
            message.clone().into_bytes(),
        )
        .await;
        assert_eq!(s, 401, "{b}");
        assert!(graph.requests().is_empty(), "{b}");
        let (s, text) = hook(
            &server.base,
            "/hooks/whatsapp",
            &[("x-hub-signature-256", signed(&message))],
            "application/json",
            message.clone().into_bytes(),
        )
        .await;
        assert_eq!(s, 200, "{b}: {text}");
        assert_eq!(graph.requests().len(), 2, "{b}: the lookup, then the file");

        // NaviDocs hears of it, signed as Standard Webhooks sign.
        let start = Instant::now();
        let announced = loop {
            let got = navidocs.requests();
            if !got.is_empty() || start.elapsed() > Duration::from_secs(20) {
                break got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if announced.is_empty() {
            let (_, list) = api.get("/v1/notifications").await;
            let logs = server.logs.lock().unwrap().clone();
            let tail: Vec<&str> = logs
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("whatsapp") || l.contains("ERROR"))
                .collect();
            panic!("{b}: no document.received: {list}\n{}", tail.join("\n"));
        }
        let req = &announced[0];
        // Verified as NaviDocs would: with the Standard Webhooks library.
        let verifier = standardwebhooks::Webhook::new(WEBHOOK_SECRET).unwrap();
        assert!(
            verifier.verify(&req.body, &req.headers).is_ok(),
            "{b}: the signature verifies"
        );
        let mut tampered = req.body.to_vec();
        tampered.push(b' ');
        assert!(
            verifier.verify(&tampered, &req.headers).is_err(),
            "{b}: a changed body does not"
        );
        let body = req.json();
        assert_eq!(body["type"], "document.received", "{b}: {body}");
        let data = &body["data"];
        assert_eq!(
            (data["boat"].as_str(), data["title"].as_str()),
            (Some("Sea Breeze"), Some("Hull survey page 2")),
            "{b}: {body}"
        );
        assert_eq!(data["subscriber_id"], "owner-wa", "{b}");
        assert_eq!(data["size"], PHOTO.len(), "{b}");
        // The link serves the file (through the binary, on any node).
        let link = data["download_url"].as_str().unwrap();
        let path = link.strip_prefix(PUBLIC_URL).unwrap();
        let res = reqwest::get(format!("{}{path}", server.base))
            .await
            .unwrap();
        let status = res.status();
        if status != 200 {
            panic!("{b}: {status} {}", res.text().await.unwrap());
        }
        assert_eq!(res.headers()["content-type"], "image/jpeg", "{b}");
        assert_eq!(res.text().await.unwrap(), PHOTO, "{b}");
        let res = reqwest::get(format!("{}{path}x", server.base))
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{b}: a tampered link");

        // And it is in the catalog, under the sender's boat.
        let mut found = Value::Null;
        for _ in 0..100 {
            let (_, v) = api.get("/v1/catalog/search?q=survey").await;
            if v["items"].as_array().is_some_and(|i| !i.is_empty()) {
                found = v;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            found["items"][0]["title"], "Hull survey page 2",
            "{b}: {found}"
        );
        assert_eq!(found["items"][0]["boat"], "Sea Breeze", "{b}: {found}");

        // The owner wrote: for a day, the step's text goes as it is.
        let (id, _) = send(
            &api,
            json!({"name": "recall.whatsapp", "to": ["owner-wa"], "data": {"boat": "Sea Breeze", "recall_id": "RC-2026-114"}}),
        )
        .await;
        wait_status(&api, &id, "sent").await;
        let sent = graph
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/messages"))
            .map(|r| r.json())
            .next()
            .unwrap_or_else(|| panic!("{b}: nothing sent"));
        assert_eq!(sent["type"], "text", "{b}: {sent}");
        assert_eq!(
            sent["text"]["body"], "Recall RC-2026-114 for Sea Breeze",
            "{b}: {sent}"
        );

        // Erasing the owner erases what they sent: the file, its catalog
        // entry, and when they last wrote (the template goes again).
        let (s, _, _) = api
            .send(reqwest::Method::DELETE, "/v1/subscribers/owner-wa", None)
            .await;
        assert_eq!(s, 204, "{b}");
        let res = reqwest::get(format!("{}{path}", server.base))
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{b}: the file is gone");
        let (_, v) = api.get("/v1/catalog/search?q=survey").await;
        assert_eq!(v["items"], json!([]), "{b}: {v}");
        put_subscriber(&api, "owner-wa", json!({"whatsapp": "+16505551234"})).await;
        let (id, _) = send(
            &api,
            json!({"name": "recall.whatsapp", "to": ["owner-wa"], "data": {"boat": "Sea Breeze", "recall_id": "RC-2026-115"}}),
        )
        .await;
        wait_status(&api, &id, "sent").await;
        let last = graph
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/messages"))
            .map(|r| r.json())
            .last()
            .unwrap_or_else(|| panic!("{b}: nothing sent"));
        assert_eq!(last["type"], "template", "{b}: {last}");
        server.stop().await;
    }
}
