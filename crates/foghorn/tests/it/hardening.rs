//! A hostile tenant against the real binary, on SQLite and PostgreSQL: it
//! reads nothing of the server's files or environment, reaches nothing on
//! the server's network, cannot stall it with a template; a node with the
//! wrong master key refuses to start; workflows written on one node are
//! used by every node at once; webhook steps are never silently dropped;
//! receipts find their tenant by the message they name.

use crate::common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const MASTER_FILE: &str = "foghorn.master.key";

/// A listener that counts the connections it accepts, to prove a refused
/// target was never dialled.
async fn tripwire(ip: &str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_conn, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (port, hits)
}

fn hits(h: &std::sync::atomic::AtomicUsize) -> usize {
    h.load(std::sync::atomic::Ordering::SeqCst)
}

fn hook_step(url: &str) -> Value {
    json!({"name": "nc.hook", "steps": [{"channel": "webhook", "url": url}]})
}

#[tokio::test]
async fn tenant_input_never_reads_the_servers_files_or_environment() {
    for env in envs().await {
        let b = env.backend();
        let sink = Sink::start().await;
        // The operator's own file may refer to its environment.
        hook_workflow(&env, "ops.hook", "env:OPS_HOOK_URL");
        let key = env.key("admin").await;
        let secret = std::fs::read_to_string(env.path().join(MASTER_FILE)).expect("key file");
        let hook_url = format!("{}/ops", sink.url);
        let server = Server::start(
            &env,
            "all",
            &[
                ("OPS_HOOK_URL", hook_url.as_str()),
                ("FOGHORN_PROVIDERS__WEBHOOK__SECRET", WEBHOOK_SECRET),
            ],
        )
        .await;
        let api = Api::new(&server.base, &key);

        for url in [
            format!("file:{MASTER_FILE}"),
            "file:/etc/hostname".to_string(),
            "env:FOGHORN_PROVIDERS__WEBHOOK__SECRET".to_string(),
            " env:OPS_HOOK_URL".to_string(),
        ] {
            let (s, v) = api.put("/v1/workflows/nc.hook", hook_step(&url)).await;
            assert_eq!(s, 422, "{b}: {url}: {v}");
            assert_eq!(v["field"], "steps[0].url", "{b}: {v}");
            let text = v.to_string();
            for leaked in [secret.trim(), WEBHOOK_SECRET, hook_url.as_str()] {
                assert!(!text.contains(leaked), "{b}: {url} leaked: {text}");
            }
        }
        assert_eq!(api.get("/v1/workflows/nc.hook").await.0, 404, "{b}");

        for (body, field) in [
            (
                json!({"kind": "twilio", "account_sid": "AC1", "auth_token": "env:FOGHORN_PROVIDERS__WEBHOOK__SECRET", "phone_number": "+12025550142"}),
                "settings.auth_token",
            ),
            (
                json!({"kind": "smtp", "url": format!("file:{MASTER_FILE}"), "from": "a@example.com"}),
                "settings.url",
            ),
        ] {
            let (s, v) = api.put("/v1/providers/mine", body).await;
            assert_eq!((s, v["field"].as_str()), (422, Some(field)), "{b}: {v}");
            assert!(!v.to_string().contains(secret.trim()), "{b}: {v}");
        }
        assert_eq!(api.get("/v1/providers/mine").await.0, 404, "{b}");

        let operator = Api::new(&server.base, &env.key("operator").await);
        let (s, v) = operator
            .put(
                "/v1/admin/tenants/default",
                json!({"name": "Default", "settings": {"sms_help_text": "file:/etc/passwd"}}),
            )
            .await;
        assert_eq!(
            (s, v["field"].as_str()),
            (422, Some("settings.sms_help_text")),
            "{b}: {v}"
        );

        // The operator's reference still works, and reading the workflow
        // back shows the reference, not what it resolves to.
        let (s, v) = api.get("/v1/workflows/ops.hook").await;
        assert_eq!(s, 200, "{b}: {v}");
        assert_eq!(v["steps"][0]["url"], "env:OPS_HOOK_URL", "{b}");
        let (id, _) = send(&api, json!({"name": "ops.hook"})).await;
        wait_status(&api, &id, "sent").await;
        assert_eq!(sink.requests()[0].0, "/ops", "{b}");
        server.stop().await;
    }
}

#[tokio::test]
async fn tenant_targets_on_private_networks_are_refused_and_never_dialled() {
    for env in envs().await {
        let b = env.backend();
        let (http_port, http_hits) = tripwire("127.0.0.2").await;
        let (smtp_port, smtp_hits) = tripwire("127.0.0.1").await;
        let sink = Sink::start().await;
        let key = env.key("admin").await;
        // Private targets are allowed for the operator (the test default),
        // not for tenants.
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let private = format!("http://127.0.0.2:{http_port}");
        let refused = [
            (
                "/v1/providers/mg",
                json!({"kind": "mailgun", "api_key": "key-1", "domain": "mg.example.com", "from": "a@example.com", "base_url": private}),
                "settings",
            ),
            (
                "/v1/providers/mail",
                json!({"kind": "smtp", "url": format!("smtp://127.0.0.1:{smtp_port}"), "from": "a@example.com"}),
                "settings",
            ),
            (
                "/v1/providers/relay",
                json!({"kind": "smtp", "url": format!("smtp://localhost:{smtp_port}"), "from": "a@example.com"}),
                "settings",
            ),
            (
                "/v1/workflows/nc.hook",
                hook_step(&format!("{private}/x")),
                "steps[0].url",
            ),
            (
                "/v1/workflows/nc.hook",
                hook_step("gopher://example.com/"),
                "steps[0].url",
            ),
            (
                "/v1/workflows/nc.hook",
                hook_step("file:///etc/passwd"),
                "steps[0].url",
            ),
        ];
        for (path, body, field) in refused {
            let (s, v) = api.put(path, body.clone()).await;
            assert_eq!(
                (s, v["field"].as_str()),
                (422, Some(field)),
                "{b}: {body}: {v}"
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!((hits(&http_hits), hits(&smtp_hits)), (0, 0), "{b}: dialled");

        // The operator's own loopback targets still work.
        env.write(
            "workflows/ops.hook.toml",
            &format!(
                "name = \"ops.hook\"\n[[steps]]\nchannel = \"webhook\"\nurl = \"{}/ops\"\n",
                sink.url
            ),
        );
        server.stop().await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let (id, _) = send(&api, json!({"name": "ops.hook"})).await;
        wait_status(&api, &id, "sent").await;
        server.stop().await;

        // The tenants' own setting is what opens them.
        let server = Server::start(
            &env,
            "all",
            &[(
                "FOGHORN_SECURITY__ALLOW_PRIVATE_TARGETS_FOR_TENANTS",
                "true",
            )],
        )
        .await;
        let api = Api::new(&server.base, &key);
        let (s, v) = api
            .put(
                "/v1/workflows/nc.hook",
                hook_step(&format!("{}/tenant", sink.url)),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        server.stop().await;
    }
}

/// A name other than `localhost` that resolves to loopback only (the
/// machine's own name usually does), if there is one.
async fn loopback_name() -> Option<String> {
    // The kernel's own record of the name gethostname(2) answers.
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()?
        .trim()
        .to_string();
    if name.is_empty() {
        return None;
    }
    let addrs: Vec<_> = tokio::net::lookup_host((name.as_str(), 0))
        .await
        .ok()?
        .collect();
    let only_v4_loopback =
        !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback() && a.is_ipv4());
    (only_v4_loopback && !name.eq_ignore_ascii_case("localhost")).then_some(name)
}

#[tokio::test]
async fn a_tenants_url_obeys_the_tenants_rule_when_it_is_called() {
    // A name that resolves to loopback passes the check when the workflow
    // is written (no literal), so the connection itself must be refused.
    let Some(name) = loopback_name().await else {
        eprintln!("no name of this machine resolves to loopback; nothing to test");
        return;
    };
    for env in envs().await {
        let b = env.backend();
        let (port, trip) = tripwire("127.0.0.1").await;
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let (s, v) = api
            .put(
                "/v1/workflows/nc.hook",
                hook_step(&format!("http://{name}:{port}/x")),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        let (id, _) = send(&api, json!({"name": "nc.hook"})).await;
        let n = wait_status(&api, &id, "dead").await;
        assert!(n.to_string().contains("private"), "{b}: {n}");
        assert_eq!(hits(&trip), 0, "{b}: dialled");
        server.stop().await;
    }
}

/// Loops that would run 10^10 iterations if nothing stopped them.
const RUNAWAY: &str =
    "{% for i in range(data.n) %}{% for j in range(data.n) %}x{% endfor %}{% endfor %}";

#[tokio::test]
async fn templates_cannot_stall_the_server() {
    for env in envs().await {
        let b = env.backend();
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);

        // Constant bounds: refused when written, quickly.
        let constant = json!({"name": "nc.loop", "steps": [{"channel": "sms",
            "text": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"}]});
        let started = Instant::now();
        let (s, v) = api.put("/v1/workflows/nc.loop", constant).await;
        assert_eq!(s, 422, "{b}: {v}");
        assert!(
            v["detail"].as_str().unwrap_or_default().contains("budget"),
            "{b}: {v}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{b}: {:?}",
            started.elapsed()
        );

        // Data-driven bounds pass when written; preview and sending stop them.
        let (s, v) = api
            .put(
                "/v1/workflows/nc.loop",
                json!({"name": "nc.loop", "steps": [{"channel": "sms", "text": RUNAWAY}]}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        let preview = {
            let api = api.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let r = api
                    .post(
                        "/v1/workflows/nc.loop/preview",
                        json!({"data": {"n": 100000}}),
                    )
                    .await;
                (r, started.elapsed())
            })
        };
        let mut slowest = Duration::ZERO;
        let http = reqwest::Client::new();
        while !preview.is_finished() {
            let t = Instant::now();
            let r = http
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            slowest = slowest.max(t.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let ((s, v), took) = preview.await.unwrap();
        assert_eq!(s, 422, "{b}: {v}");
        assert!(
            v["detail"].as_str().unwrap_or_default().contains("budget"),
            "{b}: {v}"
        );
        assert!(took < Duration::from_secs(1), "{b}: preview took {took:?}");
        assert!(
            slowest < Duration::from_millis(50),
            "{b}: /healthz took {slowest:?}"
        );

        put_subscriber(&api, "s1", json!({"phone": "+12025550142"})).await;
        let (id, _) = send(
            &api,
            json!({"name": "nc.loop", "to": ["s1"], "data": {"n": 100000}}),
        )
        .await;
        let n = wait_status(&api, &id, "dead").await;
        assert!(n.to_string().contains("rendering budget"), "{b}: {n}");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_node_with_the_wrong_master_key_refuses_to_start() {
    for env in envs().await {
        let b = env.backend();
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        put_subscriber(
            &Api::new(&server.base, &key),
            "s1",
            json!({"email": "s1@boats.example"}),
        )
        .await;
        server.stop().await;
        let ring = std::fs::read_to_string(env.path().join(MASTER_FILE)).unwrap();

        // Another key in the environment.
        let other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let out = env
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .env("FOGHORN_MASTER_KEY", other)
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{b}: {err}");
        assert!(err.contains("needs master key"), "{b}: {err}");
        // And for a worker too.
        let out = env
            .command(&["serve", "--listen", "127.0.0.1:0", "--role", "worker"])
            .env("FOGHORN_MASTER_KEY", other)
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{b}");

        // No key file: no new key in front of existing data.
        std::fs::remove_file(env.path().join(MASTER_FILE)).unwrap();
        let out = env
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{b}: {err}");
        assert!(
            !env.path().join(MASTER_FILE).exists(),
            "{b}: a new key was written"
        );

        // The right ring starts again.
        std::fs::write(env.path().join(MASTER_FILE), ring).unwrap();
        let server = Server::start(&env, "all", &[]).await;
        let (s, v) = Api::new(&server.base, &key).get("/v1/subscribers/s1").await;
        assert_eq!(s, 200, "{b}: {v}");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_workflow_written_on_one_node_is_used_by_every_node_at_once() {
    let Some(env) = postgres_env().await else {
        return;
    };
    let sink = Sink::start().await;
    webhook_provider(&env, "");
    let key = env.key("admin").await;
    let tenants = [(
        "FOGHORN_SECURITY__ALLOW_PRIVATE_TARGETS_FOR_TENANTS",
        "true",
    )];
    let api_node = Server::start(&env, "api", &tenants).await;
    let w1 = Server::start(&env, "worker", &tenants).await;
    let w2 = Server::start(&env, "worker", &tenants).await;
    let api = Api::new(&api_node.base, &key);
    for round in 0..3 {
        let path = format!("/v{round}");
        let (s, v) = api
            .put(
                "/v1/workflows/nc.hook",
                hook_step(&format!("{}{path}", sink.url)),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(send(&api, json!({"name": "nc.hook"})).await.0);
        }
        for id in &ids {
            let n = wait_status(&api, id, "sent").await;
            assert_eq!(n["status"], "sent", "{n}");
        }
        let at_path = sink.requests().iter().filter(|r| r.0 == path).count();
        assert_eq!(
            at_path, 5,
            "round {round}: the version planned with was used"
        );
    }
    let (s, _, _) = api
        .send(reqwest::Method::DELETE, "/v1/workflows/nc.hook", None)
        .await;
    assert_eq!(s, 204);
    let (s, v) = api.post("/v1/events", json!({"name": "nc.hook"})).await;
    assert_eq!(s, 422, "{v}");
    for node in [api_node, w1, w2] {
        node.stop().await;
    }
}

#[tokio::test]
async fn a_webhook_step_without_a_webhook_provider_is_signed_and_delivered() {
    for env in envs().await {
        let b = env.backend();
        let sink = Sink::start().await;
        hook_workflow(&env, "ops.hook", &format!("{}/ops", sink.url));
        hook_workflow(&env, "ops.unset", "env:NOT_SET_ANYWHERE");
        env.write(
            "workflows/ops.slack.toml",
            &format!(
                "name = \"ops.slack\"\n[[steps]]\nchannel = \"slack\"\nurl = \"{}/slack\"\ntext = \"hi\"\n",
                sink.url
            ),
        );
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let (id, _) = send(&api, json!({"name": "ops.hook"})).await;
        wait_status(&api, &id, "sent").await;
        let logs = server.logs();
        let secret = logs
            .split_whitespace()
            .find(|w| w.starts_with("whsec_"))
            .unwrap_or_else(|| panic!("{b}: the generated secret is not printed: {logs}"));
        assert!(secret.len() > 20, "{b}: {secret}");
        let req = sink.requests();
        assert_eq!(req.len(), 1, "{b}");
        // The step with an unset destination says so instead of "sent".
        let (s, v) = api.post("/v1/events", json!({"name": "ops.unset"})).await;
        assert_eq!(s, 202, "{b}: {v}");
        assert_eq!(v["notifications"][0]["status"], "suppressed", "{b}: {v}");
        let n = notification(&api, v["notifications"][0]["id"].as_str().unwrap()).await;
        assert!(
            n["status_reason"]
                .as_str()
                .unwrap_or_default()
                .contains("NOT_SET_ANYWHERE"),
            "{b}: {n}"
        );
        // A URL step that only the sandbox takes says so, and calls nothing.
        let (id, _) = send(&api, json!({"name": "ops.slack"})).await;
        let n = wait_status(&api, &id, "sent").await;
        assert!(
            n["status_reason"]
                .as_str()
                .unwrap_or_default()
                .contains("captured by the sandbox"),
            "{b}: {n}"
        );
        assert!(
            logs_eventually(&server, "its URL was not called").await,
            "{b}"
        );
        assert_eq!(sink.requests().len(), 1, "{b}: the sandbox called the URL");
        server.stop().await;
    }
}

/// Whether the server's log shows `needle` within a few seconds.
async fn logs_eventually(server: &Server, needle: &str) -> bool {
    for _ in 0..100 {
        if server.logs().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A Mailgun callback to the account's one URL, which names no tenant.
async fn post_mailgun(base: &str, body: &Value) -> (u16, String) {
    let bytes = body.to_string().into_bytes();
    hook(base, "/hooks/mailgun", &[], "application/json", bytes).await
}

#[tokio::test]
async fn receipts_find_their_tenant_without_a_query() {
    const KEY: &str = "mailgun-signing-key-0002";
    for env in envs().await {
        let b = env.backend();
        env.write(
            "foghorn.toml",
            &format!(
                "public_url = \"https://foghorn.example\"\n\
                 [providers.mailgun]\nkind = \"mailgun\"\napi_key = \"key-1\"\ndomain = \"mg.navidocs.example\"\n\
                 from = \"NaviDocs <noreply@mg.navidocs.example>\"\nwebhook_signing_key = \"{KEY}\"\n\
                 [channels.email]\nproviders = [\"sandbox\"]\n"
            ),
        );
        env.write(
            "workflows/alert.email.toml",
            "name = \"alert.email\"\n[[steps]]\nchannel = \"email\"\nsubject = \"s\"\ntext = \"t\"\n",
        );
        let key = env.key("admin").await;
        let (_, key2) = tenant_with_key(&env, "Riviera Yachts").await;
        let server = Server::start(&env, "all", &[]).await;
        let (a, r) = (Api::new(&server.base, &key), Api::new(&server.base, &key2));
        let mut ids = Vec::new();
        for api in [&a, &r] {
            let (id, _) = send(
                api,
                json!({"name": "alert.email", "to": [{"email": "ana@boats.example"}]}),
            )
            .await;
            wait_status(api, &id, "sent").await;
            ids.push(id);
        }
        // One callback URL for the account; each report names its message.
        for (i, id) in ids.iter().enumerate() {
            let event = json!({"event": "delivered", "id": format!("mg-{i}"), "recipient": "ana@boats.example",
                "user-variables": {"notification_id": id}});
            let body = mailgun_body(KEY, now_s(), &format!("tok-{i}"), event);
            let (s, t) = post_mailgun(&server.base, &body).await;
            assert_eq!(s, 200, "{b}: {t}");
        }
        wait_status(&a, &ids[0], "delivered").await;
        wait_status(&r, &ids[1], "delivered").await;
        // A tampered copy changes nothing.
        let event = json!({"event": "failed", "severity": "permanent", "id": "mg-x", "recipient": "ana@boats.example",
            "user-variables": {"notification_id": ids[1]}});
        let mut body = mailgun_body(KEY, now_s(), "tok-x", event);
        body["event-data"]["id"] = json!("mg-y");
        body["signature"]["token"] = json!("tok-y");
        let (s, _) = post_mailgun(&server.base, &body).await;
        assert_eq!(s, 401, "{b}");
        assert_eq!(
            notification(&r, &ids[1]).await["status"],
            "delivered",
            "{b}"
        );
        server.stop().await;
    }
}
