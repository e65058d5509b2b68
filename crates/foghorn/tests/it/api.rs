//! The HTTP API through the real binary: idempotency, bad input, auth,
//! subscribers, workflows, the OpenAPI document and what reaches the logs.

use crate::common::*;
use foghorn_core::TenantId;
use foghorn_store::Store;
use serde_json::{json, Value};
use std::time::Duration;

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

fn people_workflow(env: &Env) {
    env.write(
        "workflows/doc.ready.toml",
        "name = \"doc.ready\"\ncategory = \"documents\"\n[[steps]]\nchannel = \"email\"\nsubject = \"{{ data.title }} is ready\"\n\
         html = \"<p>{{ data.title }} for {{ data.boat }}</p>\"\ntext = \"{{ data.title }} for {{ data.boat }}\"\n\
         [[steps]]\nchannel = \"sms\"\ntext = \"NaviDocs: {{ data.title }} for {{ data.boat }}\"\n",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_event_twice_makes_one_set_of_notifications_even_when_concurrent() {
    for env in envs().await {
        let b = env.backend();
        people_workflow(&env);
        let key = env.key("events:write").await;
        let server = Server::start(&env, "api", &[]).await;
        let api = Api::new(&server.base, &key);
        let ev = json!({"name": "doc.ready", "to": [{"email": "o@example.com"}], "data": {"title": "Survey", "boat": "Jeanneau 51"}, "idempotency_key": "upload-1"});
        let (s1, first) = api.post("/v1/events", ev.clone()).await;
        let (s2, again) = api.post("/v1/events", ev.clone()).await;
        assert_eq!((s1, s2), (202, 200), "{b}");
        assert_eq!(first, again, "{b}: a repeat returns the first answer");
        // The header works the same way.
        let http = reqwest::Client::new();
        let mut no_key = ev.clone();
        no_key.as_object_mut().unwrap().remove("idempotency_key");
        let res = http
            .post(format!("{}/v1/events", server.base))
            .bearer_auth(&key)
            .header("Idempotency-Key", "upload-1")
            .json(&no_key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{b}");
        assert_eq!(res.json::<Value>().await.unwrap(), first);
        // Twenty at once with a fresh key: exactly one is created.
        let mut concurrent = ev.clone();
        concurrent["idempotency_key"] = json!("upload-2");
        let answers = post_many(&api, 20, 20, |_| concurrent.clone()).await;
        let created = answers.iter().filter(|(s, _)| *s == 202).count();
        let repeats = answers.iter().filter(|(s, _)| *s == 200).count();
        assert_eq!((created, repeats), (1, 19), "{b}: {answers:?}");
        assert!(
            answers.iter().all(|(_, v)| *v == answers[0].1),
            "{b}: all answers identical"
        );
        let (events, notifications, _) = counts(&env).await;
        // Per key: one event, its email and its SMS step (suppressed: no phone).
        assert_eq!((events, notifications), (2, 4), "{b}: one set per key");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_gets_problem_json_and_writes_nothing() {
    for env in envs().await {
        let b = env.backend();
        people_workflow(&env);
        let key = env.key("admin").await;
        let read_only = env.key("read").await;
        let server =
            Server::start(&env, "api", &[("FOGHORN_SECURITY__MAX_BODY_BYTES", "4096")]).await;
        let http = reqwest::Client::new();
        let url = format!("{}/v1/events", server.base);
        let good = json!({"name": "doc.ready", "to": ["owner-42"], "data": {"title": "Survey", "boat": "X"}});
        let big = json!({"name": "doc.ready", "to": [{"email": "o@example.com"}], "data": {"pad": "x".repeat(5000)}});
        let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str, Option<&str>)> = vec![
            (
                "malformed JSON",
                http.post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body("{\"name\": "),
                400,
                "malformed-request",
                None,
            ),
            (
                "wrong type",
                http.post(&url).bearer_auth(&key).json(&json!({"name": 7})),
                422,
                "validation-failed",
                Some("name"),
            ),
            (
                "unknown field",
                http.post(&url)
                    .bearer_auth(&key)
                    .json(&json!({"name": "doc.ready", "too": []})),
                422,
                "validation-failed",
                None,
            ),
            (
                "unknown event",
                http.post(&url)
                    .bearer_auth(&key)
                    .json(&json!({"name": "boat.sank", "to": ["x"]})),
                422,
                "unknown-event",
                Some("name"),
            ),
            (
                "unknown subscriber",
                http.post(&url).bearer_auth(&key).json(&good),
                422,
                "unknown-subscriber",
                Some("to[0]"),
            ),
            (
                "no recipients",
                http.post(&url)
                    .bearer_auth(&key)
                    .json(&json!({"name": "doc.ready", "data": {}})),
                422,
                "validation-failed",
                Some("to"),
            ),
            (
                "bad inline email",
                http.post(&url)
                    .bearer_auth(&key)
                    .json(&json!({"name": "doc.ready", "to": [{"email": "nope"}]})),
                422,
                "validation-failed",
                Some("to[0].email"),
            ),
            (
                "bad inline phone",
                http.post(&url)
                    .bearer_auth(&key)
                    .json(&json!({"name": "doc.ready", "to": [{"phone": "555"}]})),
                422,
                "validation-failed",
                Some("to[0].phone"),
            ),
            (
                "data not an object",
                http.post(&url).bearer_auth(&key).json(
                    &json!({"name": "doc.ready", "to": [{"email": "o@example.com"}], "data": [1]}),
                ),
                422,
                "validation-failed",
                Some("data"),
            ),
            (
                "oversized body",
                http.post(&url).bearer_auth(&key).json(&big),
                413,
                "body-too-large",
                None,
            ),
            (
                "not JSON",
                http.post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "text/plain")
                    .body("hi"),
                415,
                "unsupported-media-type",
                None,
            ),
            (
                "no key",
                http.post(&url).json(&good),
                401,
                "unauthorized",
                None,
            ),
            (
                "bad key",
                http.post(&url).bearer_auth("fh_notakey").json(&good),
                401,
                "unauthorized",
                None,
            ),
            (
                "read-only key",
                http.post(&url).bearer_auth(&read_only).json(&good),
                403,
                "insufficient-scope",
                None,
            ),
        ];
        for (what, req, status, kind, field) in cases {
            let res = req.send().await.unwrap();
            assert_eq!(res.status().as_u16(), status, "{b}: {what}");
            assert_eq!(
                res.headers()["content-type"],
                "application/problem+json",
                "{b}: {what}"
            );
            let p: Value = res.json().await.unwrap();
            assert_eq!(
                p["type"],
                format!("urn:foghorn:problem:{kind}"),
                "{b}: {what}: {p}"
            );
            assert_eq!(p["status"], status, "{b}: {what}");
            assert!(
                p["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{b}: {what}"
            );
            if let Some(f) = field {
                assert_eq!(p["field"], f, "{b}: {what}: {p}");
            }
        }
        assert_eq!(
            counts(&env).await,
            (0, 0, 0),
            "{b}: rejected input wrote rows"
        );
        // Other endpoints answer problem+json too.
        let api = Api::new(&server.base, &key);
        let (s, p) = api.get("/v1/notifications/ntf_missing").await;
        assert_eq!(
            (s, p["type"].as_str()),
            (404, Some("urn:foghorn:problem:not-found"))
        );
        let (s, p) = api.get("/v1/notifications?status=lost").await;
        assert_eq!((s, p["field"].as_str()), (422, Some("status")));
        let (s, p) = api.get("/v1/nowhere").await;
        assert_eq!(
            (s, p["type"].as_str()),
            (404, Some("urn:foghorn:problem:not-found"))
        );
        let (s, _, _) = api.send(reqwest::Method::DELETE, "/v1/events", None).await;
        assert_eq!(s, 405);
        // And a good event still works after all that.
        let (s, v) = api.post("/v1/events", json!({"name": "doc.ready", "to": [{"email": "o@example.com"}], "data": {"title": "T", "boat": "B"}})).await;
        assert_eq!(s, 202, "{v}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribers_workflows_and_listing_work_end_to_end() {
    for env in envs().await {
        let b = env.backend();
        people_workflow(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let (s, sub) = api
            .put("/v1/subscribers/owner-42", json!({"email": "elena@example.com", "phone": "+12025550142", "locale": "en", "name": "Elena", "opt_out": ["sms"]}))
            .await;
        assert_eq!(s, 201, "{b}: {sub}");
        let (s, _) = api
            .put(
                "/v1/subscribers/owner-42",
                json!({"email": "elena@example.com", "phone": "+12025550142", "opt_out": ["sms"]}),
            )
            .await;
        assert_eq!(s, 200, "{b}: replaced");
        let (s, got) = api.get("/v1/subscribers/owner-42").await;
        assert_eq!((s, got["opt_out"].clone()), (200, json!(["sms"])));
        let (s, p) = api
            .put("/v1/subscribers/owner-43", json!({"phone": "12345"}))
            .await;
        assert_eq!((s, p["field"].as_str()), (422, Some("phone")));

        let (s, accepted) = api.post("/v1/events", json!({"name": "doc.ready", "to": ["owner-42"], "data": {"title": "Engine Warranty", "boat": "Jeanneau 51"}})).await;
        assert_eq!(s, 202, "{accepted}");
        let notes = accepted["notifications"].as_array().unwrap();
        assert_eq!(notes.len(), 2);
        let sms = notes.iter().find(|n| n["channel"] == "sms").unwrap();
        assert_eq!(sms["status"], "suppressed", "{b}: opted out of SMS");
        let email_id = notes.iter().find(|n| n["channel"] == "email").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        api.wait_for_status("sent", 1, Duration::from_secs(10))
            .await;
        let (_, n) = api.get(&format!("/v1/notifications/{email_id}")).await;
        assert_eq!(
            (n["status"].as_str(), n["provider"].as_str()),
            (Some("sent"), Some("sandbox")),
            "{n}"
        );
        let (_, inbox) = api.get("/v1/sandbox/messages").await;
        let m = &inbox["items"][0];
        assert_eq!(m["content"]["subject"], "Engine Warranty is ready");
        assert_eq!(
            m["content"]["html"],
            "<p>Engine Warranty for Jeanneau 51</p>"
        );
        assert_eq!(m["to"], "elena@example.com");
        let (_, suppressed) = api.get("/v1/notifications?status=suppressed").await;
        assert_eq!(suppressed["items"][0]["status_reason"], "unsubscribed");

        // Workflows: read, replace through the API (validated), use.
        let (s, w) = api.get("/v1/workflows/warranty.expiring").await;
        assert_eq!(
            (s, w["name"].as_str()),
            (200, Some("warranty.expiring")),
            "the built-in pack"
        );
        let doc = json!({"name": "doc.ready", "steps": [{"channel": "email", "subject": "New: {{ data.title }}", "text": "See {{ data.title }}"}]});
        let (s, _) = api.put("/v1/workflows/doc.ready", doc).await;
        assert_eq!(s, 200);
        let bad =
            json!({"name": "doc.ready", "steps": [{"channel": "email", "subject": "{{ broken"}]});
        let (s, p) = api.put("/v1/workflows/doc.ready", bad).await;
        assert_eq!(s, 422, "{p}");
        let (s, _) = api
            .put(
                "/v1/workflows/other",
                json!({"name": "doc.ready", "steps": []}),
            )
            .await;
        assert_eq!(s, 422, "path and name must agree");
        let (_, w) = api.get("/v1/workflows/doc.ready").await;
        assert_eq!(
            w["steps"][0]["subject"], "New: {{ data.title }}",
            "the broken PUT changed nothing"
        );
        api.post(
            "/v1/events",
            json!({"name": "doc.ready", "to": ["owner-42"], "data": {"title": "Survey"}}),
        )
        .await;
        api.wait_for_status("sent", 2, Duration::from_secs(10))
            .await;
        let (_, inbox) = api.get("/v1/sandbox/messages").await;
        assert_eq!(inbox["items"][0]["content"]["subject"], "New: Survey");

        // Listing pages by cursor, newest first.
        for i in 0..5 {
            api.post("/v1/events", json!({"name": "doc.ready", "to": [{"email": format!("p{i}@example.com")}], "data": {"title": "T"}})).await;
        }
        let (_, page1) = api.get("/v1/notifications?limit=3").await;
        let cursor = page1["next_cursor"].as_str().unwrap();
        let (_, page2) = api
            .get(&format!("/v1/notifications?limit=3&cursor={cursor}"))
            .await;
        assert_eq!(page1["items"].as_array().unwrap().len(), 3);
        assert!(page2["items"][0]["id"].as_str() < page1["items"][2]["id"].as_str());
        let (s, _, _) = api
            .send(reqwest::Method::DELETE, "/v1/subscribers/owner-42", None)
            .await;
        assert_eq!(s, 204);
        let (s, _) = api.get("/v1/subscribers/owner-42").await;
        assert_eq!(s, 404);
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_metrics_and_a_complete_openapi_document() {
    let env = envs().await.remove(0);
    let key = env.key("admin").await;
    let server = Server::start(&env, "all", &[]).await;
    let http = reqwest::Client::new();
    let h: Value = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "ok");
    let r: Value = http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "ready");
    let api = Api::new(&server.base, &key);
    api.put("/v1/subscribers/s1", json!({"email": "s1@example.com"}))
        .await;
    api.post(
        "/v1/events",
        json!({"name": "document.uploaded", "to": ["s1"], "data": {"boat": "B", "title": "T"}}),
    )
    .await;
    api.wait_for_status("sent", 1, Duration::from_secs(10))
        .await;
    let metrics = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for m in [
        "foghorn_queue_depth",
        "foghorn_deliveries_total{channel=\"email\",provider=\"sandbox\",outcome=\"sent\"}",
        "foghorn_provider_latency_seconds_bucket",
        "foghorn_events_accepted_total",
        "foghorn_event_to_send_seconds",
    ] {
        assert!(metrics.contains(m), "missing {m} in\n{metrics}");
    }
    let doc: Value = http
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (p, methods) in [
        ("/v1/events", vec!["post"]),
        ("/v1/cancellations", vec!["post"]),
        ("/v1/notifications", vec!["get"]),
        ("/v1/notifications/{id}", vec!["get"]),
        (
            "/v1/subscribers/{external_id}",
            vec!["put", "get", "delete"],
        ),
        ("/v1/workflows", vec!["get"]),
        ("/v1/workflows/{name}", vec!["get", "put"]),
        ("/v1/dlq", vec!["get"]),
        ("/v1/dlq/{id}/replay", vec!["post"]),
        ("/v1/sandbox/messages", vec!["get"]),
        ("/healthz", vec!["get"]),
        ("/readyz", vec!["get"]),
        ("/metrics", vec!["get"]),
    ] {
        for m in methods {
            assert!(
                paths.get(p).and_then(|x| x.get(m)).is_some(),
                "openapi lacks {m} {p}"
            );
        }
    }
    assert!(doc["components"]["schemas"]["EventRequest"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    server.stop().await;
}

/// Logs carry ids and counts, never message content, addresses or numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logs_hold_no_message_content_email_or_phone() {
    let env = envs().await.remove(0);
    let sink = Sink::start().await;
    sink.set_path_status("/fail", 400);
    env.write(
        "foghorn.toml",
        &format!("[providers.relay]\nkind = \"webhook\"\nurl = \"{}/fail\"\nchannels = [\"sms\"]\n[channels.sms]\nproviders = [\"relay\", \"sandbox\"]\n", sink.url),
    );
    people_workflow(&env);
    let key = env.key("admin").await;
    let server = Server::start(&env, "all", &[]).await;
    let api = Api::new(&server.base, &key);
    let secret_text = "Zanzibar-Impeller-Report";
    api.put(
        "/v1/subscribers/owner-42",
        json!({"email": "elena.private@example.com", "phone": "+12025550199"}),
    )
    .await;
    api.post("/v1/events", json!({"name": "doc.ready", "to": ["owner-42"], "data": {"title": secret_text, "boat": "Jeanneau 51"}})).await;
    api.post("/v1/events", json!({"name": "doc.ready", "to": [{"email": "inline.person@example.net", "phone": "+12025550177"}], "data": {"title": secret_text}})).await;
    api.post(
        "/v1/events",
        json!({"name": "doc.ready", "to": [{"email": "bad"}]}),
    )
    .await;
    api.wait_for_status("sent", 4, Duration::from_secs(15))
        .await;
    let logs = server.logs();
    let code = server.stop().await;
    assert_eq!(code, 0, "clean shutdown on SIGTERM");
    assert!(
        logs.contains("request"),
        "the test must capture real log lines:\n{logs}"
    );
    for needle in [
        secret_text,
        "elena.private@example.com",
        "+12025550199",
        "2025550199",
        "inline.person@example.net",
        "+12025550177",
        "Jeanneau",
    ] {
        assert!(!logs.contains(needle), "logs contain `{needle}`:\n{logs}");
    }
}

/// (status, content type, problem) of one request.
async fn answer(
    api: &Api,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, String, Value) {
    let (s, h, v) = api.send(method, path, body).await;
    let ct = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (s, ct, v)
}

/// Rust's names for things, which a client has no use for.
const RUST_WORDS: [&str; 8] = [
    "struct", "i64", "u32", "usize", "u64", "enum ", "Option<", "Request",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn query_and_path_rejections_are_problem_json() {
    for env in envs().await {
        let b = env.backend();
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let get = reqwest::Method::GET;
        for (path, status, field) in [
            ("/v1/notifications?limit=abc", 422, "limit"),
            ("/v1/notifications?foo=1", 422, "foo"),
            ("/v1/notifications?limit=1&limit=2", 422, "limit"),
            (
                "/v1/notifications?limit=35811110172416898332926599495680",
                422,
                "limit",
            ),
            ("/v1/notifications?since=%FF", 400, "since"),
            ("/v1/dlq?limit=x", 422, "limit"),
            ("/v1/dlq?cursor=a&cursor=b", 422, "cursor"),
            ("/v1/suppressions?limit=1.5", 422, "limit"),
            ("/v1/reports/costs?month=2026-05&x=1", 422, "x"),
            ("/v1/sandbox/messages?limit=-1", 422, "limit"),
            ("/v1/sandbox/messages?limit=1001", 422, "limit"),
            ("/v1/subscribers/%FF", 400, "external_id"),
            ("/v1/notifications/ntf_%C3%28", 400, "id"),
        ] {
            let (s, ct, p) = answer(&api, get.clone(), path, None).await;
            assert_eq!(s, status, "{b}: {path}: {p}");
            assert_eq!(ct, "application/problem+json", "{b}: {path}");
            assert_eq!(p["status"], status, "{b}: {path}");
            assert_eq!(p["field"], field, "{b}: {path}: {p}");
            let detail = p["detail"].as_str().unwrap_or_default();
            assert!(!detail.is_empty(), "{b}: {path}");
            for w in RUST_WORDS {
                assert!(!detail.contains(w), "{b}: {path}: `{w}` in {detail}");
            }
        }
        // Bodies too: no Rust type in the words, and lengths said in bytes.
        for (body, field, needle) in [
            (json!("just text"), "body", "expected an object"),
            (
                json!({"name": "document.uploaded", "to": [7]}),
                "to[0]",
                "subscriber id",
            ),
            (
                json!({"name": "document.uploaded", "to": ["s1"], "priority": 3}),
                "priority",
                "expected a string",
            ),
            (
                json!({"name": "document.uploaded", "to": ["s1"], "idempotency_key": "k".repeat(256)}),
                "idempotency_key",
                "bytes",
            ),
        ] {
            let (s, ct, p) = answer(
                &api,
                reqwest::Method::POST,
                "/v1/events",
                Some(body.clone()),
            )
            .await;
            assert_eq!(
                (s, ct.as_str()),
                (422, "application/problem+json"),
                "{b}: {body}: {p}"
            );
            assert_eq!(p["field"], field, "{b}: {body}: {p}");
            let detail = p["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(needle), "{b}: {body}: {detail}");
            for w in RUST_WORDS {
                assert!(!detail.contains(w), "{b}: {body}: `{w}` in {detail}");
            }
        }
        // The sandbox inbox pages like every other list.
        put_subscriber(&api, "s1", json!({"email": "s1@example.com"})).await;
        for i in 0..3 {
            let (s, v) = api
                .post(
                    "/v1/events",
                    json!({"name": "document.uploaded", "to": ["s1"], "data": {"boat": "B", "title": format!("T{i}")}}),
                )
                .await;
            assert_eq!(s, 202, "{b}: {v}");
        }
        api.wait_for_status("sent", 3, Duration::from_secs(15))
            .await;
        let (s, first) = api.get("/v1/sandbox/messages?limit=2").await;
        assert_eq!(s, 200, "{b}: {first}");
        let cursor = first["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_string();
        let (s, second) = api
            .get(&format!("/v1/sandbox/messages?limit=2&cursor={cursor}"))
            .await;
        assert_eq!(s, 200, "{b}: {second}");
        let ids = |v: &Value| -> Vec<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect()
        };
        let (a, z) = (ids(&first), ids(&second));
        assert_eq!((a.len(), z.len()), (2, 1), "{b}: {first} {second}");
        assert!(a.iter().all(|x| !z.contains(x)), "{b}: pages overlap");
        assert!(second["next_cursor"].is_null(), "{b}: {second}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nul_bytes_are_refused_alike_on_both_backends() {
    let mut seen: Vec<Vec<(u16, Value)>> = Vec::new();
    for env in envs().await {
        let b = env.backend();
        let key = env.key("admin").await;
        let server = Server::start(&env, "api", &[]).await;
        let api = Api::new(&server.base, &key);
        use reqwest::Method as M;
        let cases: Vec<(M, &str, Option<Value>, &str)> = vec![
            (M::GET, "/v1/subscribers/a%00b", None, "external_id"),
            (
                M::PUT,
                "/v1/subscribers/a%00b",
                Some(json!({})),
                "external_id",
            ),
            (M::DELETE, "/v1/subscribers/a%01b", None, "external_id"),
            (M::GET, "/v1/notifications/ntf_%00", None, "id"),
            (M::POST, "/v1/dlq/ntf_%00/replay", None, "id"),
            (M::GET, "/v1/notifications?cursor=ntf_%00", None, "cursor"),
            (
                M::GET,
                "/v1/notifications?event_id=evt_%00",
                None,
                "event_id",
            ),
            (M::GET, "/v1/dlq?cursor=%00", None, "cursor"),
            (M::GET, "/v1/suppressions?cursor=%00", None, "cursor"),
            (M::GET, "/v1/sandbox/messages?cursor=%00", None, "cursor"),
            (
                M::DELETE,
                "/v1/suppressions/email/a%00%40example.com",
                None,
                "address",
            ),
            (M::GET, "/v1/workflows/doc%00", None, "name"),
            (M::GET, "/v1/providers/p%00", None, "name"),
            (
                M::PUT,
                "/v1/subscribers/s1",
                Some(json!({"locale": "e\u{0}n"})),
                "locale",
            ),
            (
                M::PUT,
                "/v1/subscribers/s1",
                Some(json!({"locale": "en\u{7}"})),
                "locale",
            ),
            (
                M::PUT,
                "/v1/subscribers/s1",
                Some(json!({"timezone": "Europe/Paris\u{0}"})),
                "timezone",
            ),
            (
                M::PUT,
                "/v1/subscribers/s1",
                Some(json!({"name": "A\u{0}"})),
                "name",
            ),
            (
                M::POST,
                "/v1/events",
                Some(json!({"name": "document.uploaded", "to": ["s\u{0}1"]})),
                "to[0]",
            ),
            (
                M::POST,
                "/v1/events",
                Some(json!({"name": "document.uploaded", "to": ["s\u{1b}1"]})),
                "to[0]",
            ),
            (
                M::POST,
                "/v1/events",
                Some(
                    json!({"name": "document.uploaded", "to": [{"email": "a@example.com", "locale": "f\u{0}r"}]}),
                ),
                "to[0].locale",
            ),
            (
                M::POST,
                "/v1/events",
                Some(
                    json!({"name": "document.uploaded", "to": [{"email": "a@example.com", "id": "x\u{8}"}]}),
                ),
                "to[0].id",
            ),
            (
                M::POST,
                "/v1/events",
                Some(
                    json!({"name": "document.uploaded", "to": [{"email": "a@example.com"}], "idempotency_key": "k\u{0}"}),
                ),
                "idempotency_key",
            ),
            (
                M::POST,
                "/v1/events",
                Some(
                    json!({"name": "document.uploaded", "to": [{"email": "a@example.com"}], "grouping_key": "g\u{7f}"}),
                ),
                "grouping_key",
            ),
            (
                M::POST,
                "/v1/cancellations",
                Some(json!({"grouping_key": "g\u{0}"})),
                "grouping_key",
            ),
            (
                M::POST,
                "/v1/cancellations",
                Some(json!({"idempotency_key": "k\u{85}"})),
                "idempotency_key",
            ),
        ];
        let mut answers = Vec::new();
        for (method, path, body, field) in cases {
            let what = format!("{method} {path} {}", body.clone().unwrap_or_default());
            let (s, ct, p) = answer(&api, method, path, body).await;
            assert!((400..500).contains(&s), "{b}: {what}: {s} {p}");
            assert_eq!(ct, "application/problem+json", "{b}: {what}");
            assert_eq!(p["field"], field, "{b}: {what}: {p}");
            answers.push((s, p["type"].clone()));
        }
        assert_eq!(
            counts(&env).await,
            (0, 0, 0),
            "{b}: refused input wrote rows"
        );
        let (s, _) = api.get("/v1/subscribers/s1").await;
        assert_eq!(s, 404, "{b}: no subscriber was written");
        seen.push(answers);
        server.stop().await;
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "SQLite and PostgreSQL answer alike");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn time_zones_come_from_the_tz_database() {
    let env = envs().await.remove(0);
    let key = env.key("admin").await;
    let server = Server::start(&env, "api", &[]).await;
    let api = Api::new(&server.base, &key);
    for tz in ["Mars/Olympus", "Europe/Pariss", "UTC+2", ""] {
        let (s, p) = api.put("/v1/subscribers/s1", json!({"timezone": tz})).await;
        assert_eq!(
            (s, p["field"].as_str()),
            (422, Some("timezone")),
            "{tz}: {p}"
        );
    }
    let (s, p) = api
        .post(
            "/v1/events",
            json!({"name": "document.uploaded", "to": [{"email": "a@example.com", "timezone": "Mars/Olympus"}], "data": {"boat": "B", "title": "T"}}),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (422, Some("to[0].timezone")),
        "{p}"
    );
    for tz in [
        "Europe/Paris",
        "America/Argentina/Buenos_Aires",
        "UTC",
        "Asia/Kolkata",
    ] {
        let (s, v) = api.put("/v1/subscribers/s1", json!({"timezone": tz})).await;
        assert!(s == 200 || s == 201, "{tz}: {v}");
        assert_eq!(v["timezone"], tz);
    }
    let (s, v) = api
        .post(
            "/v1/events",
            json!({"name": "document.uploaded", "to": [{"email": "a@example.com", "timezone": "Pacific/Auckland"}], "data": {"boat": "B", "title": "T"}}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    // The document lists the zones the server accepts.
    let (_, doc) = api.get("/openapi.json").await;
    let zones = doc["components"]["schemas"]["SubscriberInput"]["properties"]["timezone"]["enum"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(zones.contains(&json!("Europe/Paris")) && !zones.contains(&json!("Mars/Olympus")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openapi_document_says_what_the_server_does() {
    let env = envs().await.remove(0);
    let key = env.key("admin").await;
    let server = Server::start(&env, "api", &[]).await;
    let api = Api::new(&server.base, &key);
    let (_, doc) = api.get("/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    // List parameters are query parameters, optional, with their rules.
    for path in [
        "/v1/notifications",
        "/v1/dlq",
        "/v1/suppressions",
        "/v1/sandbox/messages",
        "/v1/reports/costs",
    ] {
        let params = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}"));
        assert!(!params.is_empty(), "{path}");
        for p in params {
            assert_eq!(p["in"], "query", "{path}: {p}");
            assert_ne!(p["required"], true, "{path}: {p}");
            if p["name"] == "limit" {
                assert_eq!(
                    (
                        p["schema"]["minimum"].as_i64(),
                        p["schema"]["maximum"].as_i64()
                    ),
                    (Some(1), Some(1000)),
                    "{path}: {p}"
                );
            }
        }
    }
    let sandbox: Vec<&str> = doc["paths"]["/v1/sandbox/messages"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(sandbox.contains(&"cursor"), "{sandbox:?}");
    let list = &doc["paths"]["/v1/notifications"]["get"]["parameters"];
    let param = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap()
    };
    let channel = serde_json::to_string(&param("channel")["schema"]).unwrap();
    let status = serde_json::to_string(&param("status")["schema"]).unwrap();
    assert!(channel.contains("Channel"), "{channel}");
    assert!(status.contains("Status"), "{status}");
    let channels = doc["components"]["schemas"]["Channel"]["enum"]
        .as_array()
        .unwrap();
    assert!(channels.contains(&json!("email")) && channels.contains(&json!("sms")));
    // Every secured operation documents the problems auth and input can give.
    let problem = |op: &Value, status: &str| {
        op["responses"][status]["content"]["application/problem+json"].is_object()
    };
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                // Each names the scope it needs, one the document lists.
                let scopes = doc["components"]["schemas"]["Scope"]["enum"]
                    .as_array()
                    .unwrap();
                for req in op["security"].as_array().unwrap() {
                    let needed = req["bearer"].as_array().unwrap();
                    assert_eq!(needed.len(), 1, "{method} {path}: {req}");
                    assert!(scopes.contains(&needed[0]), "{method} {path}: {req}");
                }
                for st in ["401", "403", "429"] {
                    assert!(problem(op, st), "{method} {path} lacks {st}");
                }
            }
            if op["requestBody"]["content"]["application/json"].is_object() {
                for st in ["400", "413", "415", "422"] {
                    assert!(problem(op, st), "{method} {path} lacks {st}");
                }
            }
            if op["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
                for st in ["400", "422"] {
                    assert!(problem(op, st), "{method} {path} lacks {st}");
                }
            }
        }
    }
    // The unsubscribe pages are HTML, and say so.
    for m in ["get", "post"] {
        let op = &doc["paths"]["/p/{token}/unsubscribe"][m];
        for st in ["200", "400"] {
            assert!(
                op["responses"][st]["content"]["text/html"].is_object(),
                "{m} {st}"
            );
        }
    }
    // A 405's Allow lists exactly the methods the document has (HEAD rides with GET).
    let http = reqwest::Client::new();
    for (path, concrete) in [
        ("/hooks/{provider}", "/hooks/mailgun"),
        ("/v1/subscribers/{external_id}", "/v1/subscribers/s1"),
        ("/v1/events", "/v1/events"),
        ("/v1/workflows/{name}", "/v1/workflows/w"),
    ] {
        let res = http
            .request(reqwest::Method::PATCH, format!("{}{concrete}", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 405, "{path}");
        let mut allow: Vec<String> = res.headers()["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| m != "head")
            .collect();
        allow.sort();
        let mut documented: Vec<String> = doc["paths"][path]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        documented.sort();
        assert_eq!(allow, documented, "{path}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_reference_is_served_with_no_external_url() {
    let env = envs().await.remove(0);
    let server = Server::start(&env, "api", &[]).await;
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("{}{path}", server.base);
        let http = http.clone();
        async move {
            let res = http.get(url).send().await.unwrap();
            let status = res.status().as_u16();
            let h = res.headers().clone();
            (status, h, res.text().await.unwrap())
        }
    };
    let (s, h, page) = get("/docs").await;
    assert_eq!(s, 200);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert!(page.contains("/docs/docs.js") && page.contains("/docs/docs.css"));
    let (s, h, script) = get("/docs/docs.js").await;
    assert_eq!(s, 200);
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(
        script.contains("/openapi.json"),
        "the page renders the served document"
    );
    let (s, _, style) = get("/docs/docs.css").await;
    assert_eq!(s, 200);
    for (what, text) in [("page", &page), ("script", &script), ("style", &style)] {
        for needle in [
            "http://",
            "https://",
            "src=\"//",
            "href=\"//",
            "url(",
            "@import",
        ] {
            assert!(
                !text.contains(needle),
                "{what} refers elsewhere: `{needle}`"
            );
        }
    }
    server.stop().await;
}
