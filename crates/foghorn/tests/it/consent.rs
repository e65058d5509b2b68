//! Through the real binary: a person's opt-outs outlive the application's
//! profile updates, one-click unsubscribes are scoped to the message's
//! category, a recipient named twice is sent to once, and an idempotency
//! key binds the request it was first used with.

use crate::common::*;
use foghorn_core::TenantId;
use foghorn_store::Store;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

async fn counts(env: &Env) -> (i64, i64, i64) {
    let store = Store::connect(env.url(), foghorn_store::crypto::Crypto::ephemeral())
        .await
        .expect("connect");
    let c = store
        .row_counts(&TenantId::from("default"))
        .await
        .expect("counts");
    store.close().await;
    c
}

const PUBLIC_URL: &str = "https://foghorn.example";

/// Email-only workflows: two categories, and a critical one. The text part
/// carries the unsubscribe link when there is one.
fn email_workflows(env: &Env) {
    for (name, category, critical) in [
        ("warranty.expiring", "warranty", false),
        ("invoice.due", "invoices", false),
        ("recall.issued", "safety", true),
    ] {
        env.write(
            &format!("workflows/{name}.toml"),
            &format!(
                "name = \"{name}\"\ncategory = \"{category}\"\ncritical = {critical}\n[[steps]]\nchannel = \"email\"\n\
                 subject = \"{{{{ data.title }}}}\"\nhtml = \"<p>{{{{ data.title }}}}</p>\"\n\
                 text = \"{{{{ data.title }}}}{{% if unsubscribe_url is defined %}} Unsubscribe: {{{{ unsubscribe_url }}}}{{% endif %}}\"\n"
            ),
        );
    }
}

async fn event(api: &Api, name: &str, to: &str) -> Value {
    let (s, v) = api
        .post(
            "/v1/events",
            json!({"name": name, "to": [to], "data": {"title": name}}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    v["notifications"][0].clone()
}

/// The unsubscribe link of the email of notification `id`, on this server
/// (the public URL stands for a proxy in front of it).
async fn unsubscribe_link(api: &Api, id: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        let found = inbox(api)
            .await
            .into_iter()
            .find(|m| m["notification_id"] == id);
        if let Some(m) = found {
            let text = m["content"].to_string();
            let at = text.find(&format!("{PUBLIC_URL}/p/")).expect("a link");
            let rest = &text[at + PUBLIC_URL.len()..];
            let end = rest.find("/unsubscribe").expect("the page path") + "/unsubscribe".len();
            return format!("{}{}", api.base, &rest[..end]);
        }
        assert!(start.elapsed() < WAIT, "no email for {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn one_click(link: &str) -> Value {
    let res = reqwest::Client::new()
        .post(link)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn status_of(api: &Api, n: &Value) -> (String, Option<String>) {
    let (_, got) = api
        .get(&format!("/v1/notifications/{}", n["id"].as_str().unwrap()))
        .await;
    (
        got["status"].as_str().unwrap_or_default().to_string(),
        got["status_reason"].as_str().map(String::from),
    )
}

/// The person's opt-outs as the API shows them: (channel, category, source).
fn opt_outs(sub: &Value) -> Vec<(String, Option<String>, String)> {
    sub["opt_outs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|o| {
            (
                o["channel"].as_str().unwrap_or_default().to_string(),
                o["category"].as_str().map(String::from),
                o["source"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unsubscribe_survives_a_profile_update() {
    for env in envs().await {
        let b = env.backend();
        email_workflows(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[("FOGHORN_PUBLIC_URL", PUBLIC_URL)]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "alice", json!({"email": "alice@example.com"})).await;
        let first = event(&api, "warranty.expiring", "alice").await;
        let link = unsubscribe_link(&api, first["id"].as_str().unwrap()).await;
        one_click(&link).await;
        // The application's routine profile update, without opt_out.
        let (s, sub) = api
            .put(
                "/v1/subscribers/alice",
                json!({"email": "alice@example.com", "name": "Alice", "locale": "en"}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {sub}");
        let kept = vec![(
            "email".to_string(),
            Some("warranty".to_string()),
            "one-click".to_string(),
        )];
        assert_eq!(opt_outs(&sub), kept, "{b}: the PUT answer keeps it");
        let (_, sub) = api.get("/v1/subscribers/alice").await;
        assert_eq!(opt_outs(&sub), kept, "{b}: so does a GET");
        let next = event(&api, "warranty.expiring", "alice").await;
        assert_eq!(next["status"], "suppressed", "{b}: {next}");
        assert_eq!(
            status_of(&api, &next).await,
            ("suppressed".to_string(), Some("unsubscribed".to_string())),
            "{b}"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_click_is_scoped_to_the_category() {
    for env in envs().await {
        let b = env.backend();
        email_workflows(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[("FOGHORN_PUBLIC_URL", PUBLIC_URL)]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "alice", json!({"email": "alice@example.com"})).await;
        let first = event(&api, "warranty.expiring", "alice").await;
        let link = unsubscribe_link(&api, first["id"].as_str().unwrap()).await;
        let http = reqwest::Client::new();
        let page = http.get(&link).send().await.unwrap().text().await.unwrap();
        let category_effect =
            "You will no longer receive warranty emails. Other emails from us are not affected.";
        let all_effect = "You will no longer receive any emails from us, except critical notices (such as safety recalls), which never carry an unsubscribe link.";
        for text in [
            category_effect,
            all_effect,
            "Unsubscribe from warranty emails",
            "Unsubscribe from all emails",
            "name=\"scope\" value=\"category\"",
            "name=\"scope\" value=\"all\"",
        ] {
            assert!(page.contains(text), "{b}: the page offers `{text}`: {page}");
        }

        // One click from the mail client: this list only.
        let done = one_click(&link).await;
        assert_eq!(
            (&done["scope"], &done["category"]),
            (&json!("category"), &json!("warranty")),
            "{b}"
        );
        let warranty = event(&api, "warranty.expiring", "alice").await;
        let invoice = event(&api, "invoice.due", "alice").await;
        assert_eq!(warranty["status"], "suppressed", "{b}");
        assert_eq!(
            invoice["status"], "queued",
            "{b}: other categories still go"
        );
        wait_status(&api, invoice["id"].as_str().unwrap(), "sent").await;

        // The page's second button: every email.
        let res = http
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("scope=all")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{b}");
        let after = res.text().await.unwrap();
        assert!(after.contains(all_effect), "{b}: the same words: {after}");
        let (_, sub) = api.get("/v1/subscribers/alice").await;
        assert_eq!(sub["opt_out"], json!(["email"]), "{b}: {sub}");
        let invoice = event(&api, "invoice.due", "alice").await;
        assert_eq!(invoice["status"], "suppressed", "{b}: all email now");
        // As the page says, critical notices still go.
        let recall = event(&api, "recall.issued", "alice").await;
        assert_eq!(recall["status"], "queued", "{b}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_explicit_api_change_is_in_the_ledger_and_audit() {
    for env in envs().await {
        let b = env.backend();
        email_workflows(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[("FOGHORN_PUBLIC_URL", PUBLIC_URL)]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(
            &api,
            "alice",
            json!({"email": "alice@example.com", "phone": "+12025550142", "opt_out": ["sms"]}),
        )
        .await;
        let first = event(&api, "warranty.expiring", "alice").await;
        let link = unsubscribe_link(&api, first["id"].as_str().unwrap()).await;
        one_click(&link).await;
        // Routine: no opt_out, no consent change.
        put_subscriber(
            &api,
            "alice",
            json!({"email": "alice@example.com", "phone": "+12025550142"}),
        )
        .await;
        // Explicit: SMS back on, all email off.
        let (s, sub) = api
            .put(
                "/v1/subscribers/alice",
                json!({"email": "alice@example.com", "phone": "+12025550142", "opt_out": ["email"]}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {sub}");
        assert_eq!(sub["opt_out"], json!(["email"]), "{b}");
        assert_eq!(
            opt_outs(&sub),
            [
                ("email".to_string(), None, "api".to_string()),
                (
                    "email".to_string(),
                    Some("warranty".to_string()),
                    "one-click".to_string()
                ),
            ],
            "{b}: the person's own choice stays beside the API's"
        );

        let (s, ledger) = api.get("/v1/subscribers/alice/consents").await;
        assert_eq!(s, 200, "{b}: {ledger}");
        let (s, _) = api.get("/v1/subscribers/nobody/consents").await;
        assert_eq!(s, 404, "{b}");
        let mut rows: Vec<(String, String, Option<String>, String, String)> = ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let actor = c["actor"].as_str().unwrap_or_default();
                (
                    c["channel"].as_str().unwrap().to_string(),
                    c["action"].as_str().unwrap().to_string(),
                    c["category"].as_str().map(String::from),
                    c["source"].as_str().unwrap().to_string(),
                    actor.split(':').next().unwrap_or_default().to_string(),
                )
            })
            .collect();
        rows.sort();
        let row = |c: &str, a: &str, g: Option<&str>, s: &str, who: &str| {
            (
                c.into(),
                a.into(),
                g.map(String::from),
                s.into(),
                who.into(),
            )
        };
        assert_eq!(
            rows,
            [
                row("email", "opt_out", None, "api", "key"),
                row(
                    "email",
                    "opt_out",
                    Some("warranty"),
                    "one-click",
                    "recipient"
                ),
                row("sms", "opt_in", None, "api", "key"),
                row("sms", "opt_out", None, "api", "key"),
            ],
            "{b}: {ledger}"
        );

        let store = Store::connect(env.url(), foghorn_store::crypto::Crypto::ephemeral())
            .await
            .unwrap();
        let audit = store
            .audit_rows(Some(&TenantId::from("default")), 0, 1000)
            .await
            .unwrap();
        let changes: Vec<(String, Value)> = audit
            .iter()
            .filter(|r| r.action == "subscriber.consent")
            .map(|r| (r.actor.clone(), serde_json::from_str(&r.detail).unwrap()))
            .collect();
        assert_eq!(changes.len(), 2, "{b}: {changes:?}");
        assert!(
            changes.iter().all(|(actor, _)| actor.starts_with("key:")),
            "{b}: the actor is the API key: {changes:?}"
        );
        assert_eq!(
            changes[1].1,
            json!({"source": "api", "opt_out": ["email"], "opt_in": ["sms"]}),
            "{b}"
        );
        assert_eq!(store.verify_audit().await.unwrap(), Ok(audit.len() as i64));
        store.close().await;
        // And it has its effect.
        let invoice = event(&api, "invoice.due", "alice").await;
        assert_eq!(invoice["status"], "suppressed", "{b}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotency_key_reused_with_another_body_is_409() {
    for env in envs().await {
        let b = env.backend();
        email_workflows(&env);
        let key = env.key("events:write").await;
        let server = Server::start(&env, "api", &[]).await;
        let api = Api::new(&server.base, &key);
        let ev = json!({"name": "warranty.expiring", "to": [{"email": "o@example.com"}],
            "data": {"title": "Engine", "boat": "Jeanneau 51"}, "idempotency_key": "k-1"});
        let (s, first) = api.post("/v1/events", ev.clone()).await;
        assert_eq!(s, 202, "{b}: {first}");
        // The same request, its data keys in another order: a repeat.
        let mut reordered = ev.clone();
        reordered["data"] = json!({"boat": "Jeanneau 51", "title": "Engine"});
        let (s, again) = api.post("/v1/events", reordered).await;
        assert_eq!((s, &again), (200, &first), "{b}");

        let mut other_data = ev.clone();
        other_data["data"]["title"] = json!("Hull");
        let mut other_name = ev.clone();
        other_name["name"] = json!("invoice.due");
        let mut other_to = ev.clone();
        other_to["to"] = json!([{"email": "someone-else@example.com"}]);
        let mut other_time = ev.clone();
        other_time["send_at"] = json!("2099-01-01T00:00:00Z");
        let mut other_priority = ev.clone();
        other_priority["priority"] = json!("critical");
        for (what, body) in [
            ("data", other_data.clone()),
            ("name", other_name),
            ("to", other_to),
            ("send_at", other_time),
            ("priority", other_priority),
        ] {
            let (s, h, p) = api
                .send(reqwest::Method::POST, "/v1/events", Some(body))
                .await;
            assert_eq!(s, 409, "{b}: another {what}: {p}");
            assert_eq!(
                p["type"], "urn:foghorn:problem:idempotency-key-reused",
                "{b}: {what}"
            );
            assert_eq!(p["status"], 409, "{b}");
            assert_eq!(h["content-type"], "application/problem+json", "{b}");
        }

        // The header form binds the same way.
        let http = reqwest::Client::new();
        let by_header = |body: &Value| {
            let mut body = body.clone();
            body.as_object_mut().unwrap().remove("idempotency_key");
            http.post(format!("{}/v1/events", server.base))
                .bearer_auth(&key)
                .header("Idempotency-Key", "k-1")
                .json(&body)
                .send()
        };
        let res = by_header(&ev).await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{b}");
        assert_eq!(res.json::<Value>().await.unwrap(), first, "{b}");
        let res = by_header(&other_data).await.unwrap();
        assert_eq!(res.status().as_u16(), 409, "{b}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["type"], "urn:foghorn:problem:idempotency-key-reused");

        // Two bodies racing for one fresh key, many landing in one accept
        // batch: one is created, its twins answer its response, the other
        // body is refused.
        let mut a = ev.clone();
        a["idempotency_key"] = json!("k-2");
        let mut other = a.clone();
        other["data"]["title"] = json!("Keel");
        let answers = post_many(&api, 20, 20, |i| {
            if i % 2 == 0 {
                a.clone()
            } else {
                other.clone()
            }
        })
        .await;
        let created: Vec<&Value> = answers
            .iter()
            .filter(|(s, _)| *s == 202)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(created.len(), 1, "{b}: {answers:?}");
        let repeats = answers.iter().filter(|(s, _)| *s == 200).count();
        let refused = answers.iter().filter(|(s, _)| *s == 409).count();
        assert_eq!((repeats, refused), (9, 10), "{b}: {answers:?}");
        assert!(
            answers
                .iter()
                .filter(|(s, _)| *s == 200)
                .all(|(_, v)| v == created[0]),
            "{b}: repeats answer the winner's response"
        );
        let (events, notifications, _) = counts(&env).await;
        assert_eq!((events, notifications), (2, 2), "{b}: one event per key");
        let (_, doc) = api.get("/openapi.json").await;
        assert!(
            doc["paths"]["/v1/events"]["post"]["responses"]["409"].is_object(),
            "{b}: the 409 is documented"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_recipients_are_one_recipient() {
    for env in envs().await {
        let b = env.backend();
        email_workflows(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "s1", json!({"email": "elena@example.com"})).await;
        put_subscriber(&api, "s2", json!({"email": "marc@example.com"})).await;
        // By id twice, and by the same address spelled another way.
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "warranty.expiring", "data": {"title": "Engine"},
                    "to": ["s1", "s1", {"email": "Elena@Example.COM"}, "s2"]}),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        let notes = v["notifications"].as_array().unwrap();
        let who: Vec<&str> = notes
            .iter()
            .map(|n| n["recipient"].as_str().unwrap_or("-"))
            .collect();
        assert_eq!(who, ["s1", "s2"], "{b}: {v}");
        // A thousand mentions of one subscriber.
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "invoice.due", "data": {"title": "Invoice"}, "to": vec!["s1"; 1000]}),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        assert_eq!(v["notifications"].as_array().unwrap().len(), 1, "{b}");
        // An inline copy of a subscriber's address is that subscriber, even
        // named first: it does not escape the subscriber's opt-out.
        put_subscriber(
            &api,
            "s3",
            json!({"email": "olga@example.com", "opt_out": ["email"]}),
        )
        .await;
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "invoice.due", "data": {"title": "Invoice"},
                    "to": [{"email": "olga@example.com"}, "s3"]}),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        let notes = v["notifications"].as_array().unwrap();
        assert_eq!(notes.len(), 1, "{b}: {v}");
        assert_eq!(
            (notes[0]["recipient"].as_str(), notes[0]["status"].as_str()),
            (Some("s3"), Some("suppressed")),
            "{b}"
        );

        api.wait_for_status("sent", 3, WAIT).await;
        let (_, notifications, _) = counts(&env).await;
        assert_eq!(notifications, 4, "{b}");
        // Let any stray duplicate reach the sandbox before counting.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut to: Vec<String> = inbox(&api)
            .await
            .iter()
            .map(|m| m["to"].as_str().unwrap_or_default().to_string())
            .collect();
        to.sort();
        assert_eq!(
            to,
            ["elena@example.com", "elena@example.com", "marc@example.com"],
            "{b}: one message per person and event"
        );
        server.stop().await;
    }
}
