//! Through the real binary, on both backends: a subscriber's export holds
//! every piece of their data, and an erasure leaves none of it anywhere —
//! not in the database files, not under the seal — while their opt-outs
//! still stop a later event to the same addresses.

use crate::common::*;
use foghorn_core::TenantId;
use foghorn_store::crypto::{Crypto, KeyRing, MasterKey};
use foghorn_store::Store;
use serde_json::{json, Value};

const EMAIL: &str = "erin.quartermaine@marina.test";
const PHONE: &str = "+12025550199";
const NAME: &str = "Erin Quartermaine";

fn workflows(env: &Env) {
    for (name, category) in [
        ("invoice.due", "invoices"),
        ("warranty.expiring", "warranty"),
    ] {
        env.write(
            &format!("workflows/{name}.toml"),
            &format!(
                "name = \"{name}\"\ncategory = \"{category}\"\n\
                 [[steps]]\nchannel = \"email\"\nsubject = \"{name} for {{{{ recipient.name }}}}\"\n\
                 html = \"<p>Dear {{{{ recipient.name }}}}</p>\"\ntext = \"Dear {{{{ recipient.name }}}}\"\n\
                 [[steps]]\nchannel = \"sms\"\ntext = \"{name} for {{{{ recipient.name }}}}\"\n"
            ),
        );
    }
}

/// The store as the server sees it: the master key it created.
async fn open_store(env: &Env) -> Store {
    let text = std::fs::read_to_string(env.path().join("foghorn.master.key")).unwrap();
    let keys = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| MasterKey::from_base64(l.trim()).unwrap())
        .collect();
    Store::connect(env.url(), Crypto::new(KeyRing { keys }))
        .await
        .unwrap()
}

/// Every byte the database keeps, as text: the SQLite files (with the WAL),
/// or a pg_dump of the PostgreSQL database.
async fn raw_database(env: &Env) -> String {
    if env.backend() == "postgres" {
        let out = tokio::process::Command::new("pg_dump")
            .arg("--data-only")
            .arg(env.url())
            .output()
            .await
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return String::from_utf8_lossy(&out.stdout).into_owned();
    }
    let file = env.url().trim_start_matches("sqlite://").to_string();
    let dir = std::path::Path::new(&file).parent().unwrap().to_path_buf();
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("foghorn.db") {
            all.push_str(&String::from_utf8_lossy(&std::fs::read(path).unwrap()));
        }
    }
    all
}

fn mentions(text: &str) -> Vec<&'static str> {
    [EMAIL, PHONE, &PHONE[2..], NAME]
        .into_iter()
        .filter(|p| text.contains(p))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_holds_everything_and_an_erasure_leaves_nothing() {
    for env in envs().await {
        let b = env.backend();
        workflows(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(
            &api,
            "owner-9",
            json!({"email": EMAIL, "phone": PHONE, "name": NAME, "data": {"boat": "Sea Breeze"}}),
        )
        .await;
        let (s, _) = api
            .put(
                "/v1/subscribers/owner-9/preferences",
                json!({"categories": {"warranty": {"email": false}}, "channels": {"sms": false}}),
            )
            .await;
        assert_eq!(s, 200);
        let (invoice, _) = send(
            &api,
            json!({"name": "invoice.due", "to": ["owner-9"], "data": {}}),
        )
        .await;
        let sent = wait_status(&api, &invoice, "sent").await;
        let later = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
        let (pending, status) = send(
            &api,
            json!({"name": "invoice.due", "to": ["owner-9"], "data": {}, "send_at": later}),
        )
        .await;
        assert_eq!(status, "scheduled");
        let (_, v) = api
            .post(
                "/v1/events",
                json!({"name": "warranty.expiring", "to": ["owner-9"], "data": {}}),
            )
            .await;
        assert!(
            v["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["status"] == "suppressed"),
            "{b}: {v}"
        );

        // Sealed at rest: no plaintext even before the erasure.
        assert_eq!(
            mentions(&raw_database(&env).await),
            Vec::<&str>::new(),
            "{b}"
        );

        // The export: profile, choices, ledger, every notification.
        let (s, doc) = api.get("/v1/subscribers/owner-9/export").await;
        assert_eq!(s, 200, "{b}: {doc}");
        assert_eq!(doc["subscriber"]["email"], EMAIL, "{b}");
        assert_eq!(doc["subscriber"]["phone"], PHONE, "{b}");
        assert_eq!(doc["subscriber"]["name"], NAME, "{b}");
        assert_eq!(doc["subscriber"]["data"]["boat"], "Sea Breeze", "{b}");
        assert_eq!(
            doc["preferences"]["categories"]["warranty"]["email"], false,
            "{b}"
        );
        assert_eq!(doc["preferences"]["channels"]["sms"], false, "{b}");
        assert_eq!(doc["consents"].as_array().unwrap().len(), 2, "{b}: {doc}");
        let ns = doc["notifications"].as_array().unwrap();
        assert_eq!(ns.len(), 6, "{b}: three events, two channels each");
        let first = ns.iter().find(|n| n["id"] == invoice.as_str()).unwrap();
        assert_eq!(first["delivered_to"], EMAIL, "{b}");
        assert_eq!(
            first["attempts"].as_array().unwrap().len(),
            1,
            "{b}: {first}"
        );
        assert_eq!(
            first["provider_message_id"], sent["provider_message_id"],
            "{b}"
        );
        let content = first["content"][0]["content"].to_string();
        assert!(
            content.contains(&format!("Dear {NAME}")),
            "{b}: the message as sent: {first}"
        );
        // The CLI exports the same.
        let (code, out, err) = env.run(&["subscribers", "export", "owner-9"]).await;
        assert_eq!(code, 0, "{b}: {err}");
        let cli: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(cli["notifications"], doc["notifications"], "{b}");
        assert_eq!(cli["consents"], doc["consents"], "{b}");

        let (s, _, _) = api
            .send(reqwest::Method::DELETE, "/v1/subscribers/owner-9", None)
            .await;
        assert_eq!(s, 204, "{b}");

        // Gone from the API, the files, and from under the seal.
        assert_eq!(api.get("/v1/subscribers/owner-9").await.0, 404, "{b}");
        assert_eq!(
            api.get("/v1/subscribers/owner-9/export").await.0,
            404,
            "{b}"
        );
        assert_eq!(
            mentions(&raw_database(&env).await),
            Vec::<&str>::new(),
            "{b}"
        );
        let store = open_store(&env).await;
        let tenant = TenantId::from("default");
        let kept = store
            .subscriber_notifications(&tenant, "owner-9")
            .await
            .unwrap();
        assert_eq!(
            kept.len(),
            6,
            "{b}: the notifications stay, for the reports"
        );
        for n in &kept {
            assert_eq!(
                mentions(&n.recipient),
                Vec::<&str>::new(),
                "{b}: {}",
                n.recipient
            );
        }
        let captured = store.sandbox_messages(&tenant, None, 1000).await.unwrap();
        for m in &captured.items {
            assert_eq!(
                mentions(&format!("{} {}", m.recipient, m.content)),
                Vec::<&str>::new(),
                "{b}"
            );
        }
        let suppressed = store.suppressions(&tenant, None, None, 1000).await.unwrap();
        assert!(suppressed.items.iter().all(|s| s.address.is_none()), "{b}");
        assert_eq!(
            store
                .notification(&tenant, &pending)
                .await
                .unwrap()
                .unwrap()
                .status
                .as_str(),
            "cancelled",
            "{b}: nobody left to send the pending one to"
        );
        store.close().await;

        // Their no to SMS outlives them: the same number, imported again, is
        // not texted. A no to one category of email stayed theirs alone.
        put_subscriber(&api, "owner-10", json!({"email": EMAIL, "phone": PHONE})).await;
        let (_, v) = api
            .post("/v1/events", json!({"name": "warranty.expiring", "to": ["owner-10", {"phone": PHONE}], "data": {}}))
            .await;
        let by_channel = |c: &str| {
            v["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["channel"] == c && n["recipient"] == "owner-10")
                .map(|n| n["status"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(by_channel("sms"), vec!["suppressed"], "{b}: {v}");
        assert_eq!(by_channel("email"), vec!["queued"], "{b}: {v}");
        let (code, out, _) = env.run(&["audit", "verify", "--json"]).await;
        assert_eq!(code, 0, "{b}: {out}");
        // Erasing again: there is no one.
        let (code, _, err) = env.run(&["subscribers", "erase", "owner-9"]).await;
        assert_eq!(code, 1, "{b}: {err}");
        assert!(err.contains("no subscriber `owner-9`"), "{b}: {err}");
        server.stop().await;
    }
}
