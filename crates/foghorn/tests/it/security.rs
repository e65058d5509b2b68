//! Security through the real binary: two tenants on every endpoint, nothing
//! personal in clear text on disk, master key rotation under load, the audit
//! trail, key revocation and per-key rate limits.

use crate::common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const EMAIL: &str = "elena.private@example.com";
const PHONE: &str = "+12025550199";
const BODY: &str = "Zanzibar-Impeller-Survey";

async fn tenant_key(env: &Env, tenant: &str, scope: &str) -> String {
    let (code, out, err) = env
        .run(&["keys", "create", "--tenant", tenant, "--scope", scope])
        .await;
    assert_eq!(code, 0, "{err}");
    out.lines().last().unwrap().trim().to_string()
}

/// Every tenant endpoint, read and write, with the other tenant's ids: 404
/// and no data, never 200 or 403 with data.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_tenant_cannot_read_or_touch_anothers_data() {
    for env in envs().await {
        let b = env.backend();
        let sink = Sink::start().await;
        sink.set_status(400);
        env.write(
            "foghorn.toml",
            &format!("[providers.hook]\nkind = \"webhook\"\nurl = \"{}/dead\"\nchannels = [\"webhook\"]\n", sink.url),
        );
        env.write(
            "workflows/boat.ping.toml",
            "name = \"boat.ping\"\n[[steps]]\nchannel = \"webhook\"\n",
        );
        let (code, out, err) = env.run(&["tenants", "create", "Riviera Yachts"]).await;
        assert_eq!((code, out.trim()), (0, "riviera-yachts"), "{err}");
        let a = Api::new("", &env.key("admin").await);
        let b_key = tenant_key(&env, "Riviera Yachts", "admin").await;
        let server = Server::start(
            &env,
            "all",
            &[
                ("FOGHORN_DELIVERY__MAX_ATTEMPTS", "1"),
                TENANTS_MAY_USE_LOOPBACK,
            ],
        )
        .await;
        let a = Api::new(&server.base, &a.key);
        let other = Api::new(&server.base, &b_key);

        // Tenant A's data.
        assert_eq!(
            a.put(
                "/v1/subscribers/owner-42",
                json!({"email": EMAIL, "phone": PHONE})
            )
            .await
            .0,
            201
        );
        let custom = json!({"name": "a.private", "steps": [{"channel": "email", "subject": "s", "text": "t"}]});
        assert_eq!(a.put("/v1/workflows/a.private", custom).await.0, 200);
        let (_, ev) = a.post("/v1/events", json!({"name": "document.uploaded", "to": ["owner-42"], "data": {"boat": "B", "title": BODY}, "idempotency_key": "a-1", "send_at": "2099-01-01T00:00:00Z"})).await;
        let scheduled = ev["notifications"][0]["id"].as_str().unwrap().to_string();
        let (_, ev2) = a.post("/v1/events", json!({"name": "document.uploaded", "to": ["owner-42"], "data": {"boat": "B", "title": BODY}})).await;
        let sent = ev2["notifications"][0]["id"].as_str().unwrap().to_string();
        let (_, ev3) = a.post("/v1/events", json!({"name": "boat.ping"})).await;
        let dead = ev3["notifications"][0]["id"].as_str().unwrap().to_string();
        a.wait_for_status("sent", 1, Duration::from_secs(15)).await;
        a.wait_for_status("dead", 1, Duration::from_secs(15)).await;

        // Tenant B, with an admin key of its own.
        for path in [
            "/v1/subscribers/owner-42".to_string(),
            format!("/v1/notifications/{sent}"),
            format!("/v1/notifications/{scheduled}"),
            "/v1/workflows/a.private".to_string(),
        ] {
            let (s, v) = other.get(&path).await;
            assert_eq!(s, 404, "{b}: GET {path}: {v}");
            assert!(
                !v.to_string().contains(EMAIL) && !v.to_string().contains(BODY),
                "{b}: {path} leaked"
            );
        }
        for path in ["/v1/notifications", "/v1/dlq", "/v1/sandbox/messages"] {
            let (s, v) = other.get(path).await;
            assert_eq!(s, 200, "{b}: {path}");
            assert_eq!(
                v["items"].as_array().map(Vec::len),
                Some(0),
                "{b}: {path} shows another tenant's rows: {v}"
            );
        }
        let (s, names) = other.get("/v1/workflows").await;
        assert_eq!(s, 200);
        assert!(
            !names.to_string().contains("a.private"),
            "{b}: workflow names leaked"
        );
        let (s, _) = other
            .post(&format!("/v1/dlq/{dead}/replay"), json!({}))
            .await;
        assert_eq!(s, 404, "{b}: replaying another tenant's dead letter");
        let (s, _, _) = other
            .send(reqwest::Method::DELETE, "/v1/subscribers/owner-42", None)
            .await;
        assert_eq!(s, 404, "{b}: deleting another tenant's subscriber");
        let (s, c) = other
            .post("/v1/cancellations", json!({"idempotency_key": "a-1"}))
            .await;
        assert_eq!(
            (s, c["cancelled"].as_array().map(Vec::len)),
            (200, Some(0)),
            "{b}: cancelling another tenant's sends"
        );
        let (s, _) = other
            .post(
                "/v1/events",
                json!({"name": "a.private", "to": [{"email": "x@example.com"}]}),
            )
            .await;
        assert_eq!(s, 422, "{b}: another tenant's workflow is unknown here");
        let (s, _) = other.post("/v1/events", json!({"name": "document.uploaded", "to": ["owner-42"], "data": {"boat": "B", "title": "T"}})).await;
        assert_eq!(s, 422, "{b}: another tenant's subscriber is unknown here");
        // B writing the same ids makes B's own rows and leaves A's alone.
        assert_eq!(
            other
                .put(
                    "/v1/subscribers/owner-42",
                    json!({"email": "b@example.net"})
                )
                .await
                .0,
            201
        );
        let (_, mine) = a.get("/v1/subscribers/owner-42").await;
        assert_eq!(mine["email"], EMAIL, "{b}");
        assert_eq!(
            a.get(&format!("/v1/notifications/{scheduled}")).await.1["status"],
            "scheduled"
        );
        assert_eq!(
            a.get("/v1/dlq").await.1["items"].as_array().map(Vec::len),
            Some(1)
        );
        // B brings its own SMS account; A's SMS stays on the shared one.
        let secret = "whsec_Yi1wcml2YXRlLXNpZ25pbmcta2V5LTAxMjM0NTY3";
        let (s, p) = other
            .put(
                "/v1/providers/relay",
                json!({"kind": "webhook", "url": format!("{}/b-sms", sink.url), "secret": secret}),
            )
            .await;
        assert_eq!(s, 201, "{b}: {p}");
        assert!(
            !p.to_string().contains("Yi1wcml2"),
            "{b}: the secret is masked: {p}"
        );
        assert_eq!(p["settings"]["secret"], "••••NTY3");
        let (s, _) = other
            .put("/v1/providers/bad", json!({"kind": "twilio"}))
            .await;
        assert_eq!(s, 422, "{b}: settings are validated before they are stored");
        let (s, _) = a.get("/v1/providers/relay").await;
        assert_eq!(s, 404, "{b}: another tenant's provider account");
        let (_, list) = a.get("/v1/providers").await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
        sink.set_path_status("/b-sms", 204);
        other
            .put("/v1/subscribers/buyer-1", json!({"phone": "+12025550123"}))
            .await;
        let sms_flow =
            json!({"name": "b.text", "steps": [{"channel": "sms", "text": "Hi from B"}]});
        assert_eq!(
            other.put("/v1/workflows/b.text", sms_flow.clone()).await.0,
            200
        );
        let mut a_flow = sms_flow.clone();
        a_flow["name"] = json!("a.text");
        assert_eq!(a.put("/v1/workflows/a.text", a_flow).await.0, 200);
        other
            .post("/v1/events", json!({"name": "b.text", "to": ["buyer-1"]}))
            .await;
        a.post(
            "/v1/events",
            json!({"name": "a.text", "to": [{"phone": "+12025550124"}]}),
        )
        .await;
        other
            .wait_for_status("sent", 1, Duration::from_secs(15))
            .await;
        a.wait_for_status("sent", 2, Duration::from_secs(15)).await;
        let b_sms = other.all_notifications("&channel=sms").await;
        assert_eq!(
            b_sms[0]["provider"], "relay",
            "{b}: B's SMS went out on B's account"
        );
        let a_sms = a.all_notifications("&channel=sms").await;
        assert_eq!(
            a_sms[0]["provider"], "sandbox",
            "{b}: A's SMS did not use B's account"
        );
        let hits: Vec<_> = sink
            .requests()
            .into_iter()
            .filter(|r| r.0 == "/b-sms")
            .collect();
        assert_eq!(hits.len(), 1, "{b}");
        assert!(hits[0].3.contains("Hi from B"));

        // Tenant keys cannot manage tenants; operator keys see no tenant data.
        let (s, _) = a
            .put("/v1/admin/tenants/evil", json!({"name": "Evil"}))
            .await;
        assert_eq!(s, 403);
        let (code, out, _) = env.run(&["keys", "create", "--scope", "operator"]).await;
        assert_eq!(code, 0);
        let op = Api::new(&server.base, out.lines().last().unwrap().trim());
        let (s, t) = op
            .put(
                "/v1/admin/tenants/harbour-marine",
                json!({"name": "Harbour Marine", "settings": {"sms_help_text": "Call us"}}),
            )
            .await;
        assert_eq!((s, t["id"].as_str()), (201, Some("harbour-marine")), "{t}");
        let (s, _) = op
            .put(
                "/v1/admin/tenants/harbour-marine",
                json!({"name": "Harbour Marine Ltd"}),
            )
            .await;
        assert_eq!(s, 200);
        let (s, _) = op
            .put("/v1/admin/tenants/Bad%20Id", json!({"name": "x"}))
            .await;
        assert_eq!(s, 422);
        for path in ["/v1/notifications", "/v1/subscribers/owner-42", "/v1/dlq"] {
            let (s, v) = op.get(path).await;
            assert_eq!(s, 403, "{b}: operator on {path}: {v}");
        }
        server.stop().await;
    }
}

fn grep_bytes(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// After a full run, the database holds none of the test's personal data,
/// message text or secrets in clear text.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_personal_is_stored_in_clear_text() {
    for env in envs().await {
        let b = env.backend();
        let sink = Sink::start().await;
        let relay_secret = "whsec_c2VjcmV0LXJlbGF5LXNpZ25pbmcta2V5LTEyMzQ1";
        env.write(
            "foghorn.toml",
            &format!("[providers.relay]\nkind = \"webhook\"\nurl = \"{}/fail\"\nsecret = \"{relay_secret}\"\nchannels = [\"sms\"]\n[channels.sms]\nproviders = [\"relay\", \"sandbox\"]\n", sink.url),
        );
        sink.set_path_status("/fail", 400);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[TENANTS_MAY_USE_LOOPBACK]).await;
        let api = Api::new(&server.base, &key);
        api.put(
            "/v1/subscribers/owner-42",
            json!({"email": EMAIL, "phone": PHONE, "name": "Elena Fischer"}),
        )
        .await;
        let tenant_secret = "whsec_dGVuYW50LXByb3ZpZGVyLXNlY3JldC0wMTIzNDU2";
        let own = json!({"kind": "webhook", "url": format!("{}/own", sink.url), "secret": tenant_secret, "channels": ["slack"]});
        let (s, v) = api.put("/v1/providers/own-relay", own).await;
        assert_eq!(s, 201, "{v}");
        for name in ["document.uploaded", "warranty.expiring", "recall.issued"] {
            let (s, v) = api
                .post("/v1/events", json!({"name": name, "to": ["owner-42", {"email": "inline.person@example.net", "phone": "+12025550177"}], "data": {"boat": "Jeanneau 51", "title": BODY, "component": BODY, "summary": BODY, "days_left": 3, "expires_on": "2027-12-15", "recall_id": "R-1"}}))
                .await;
            assert_eq!(s, 202, "{v}");
        }
        api.wait_for_status("sent", 8, Duration::from_secs(20))
            .await;
        let (_, inbox) = api.get("/v1/sandbox/messages").await;
        assert!(
            inbox.to_string().contains(BODY),
            "the API still shows the content to its tenant: {inbox}"
        );
        let (_, sub) = api.get("/v1/subscribers/owner-42").await;
        assert_eq!(sub["phone"], PHONE);
        server.stop().await;
        let needles = [
            EMAIL,
            PHONE,
            "2025550199",
            "inline.person@example.net",
            "+12025550177",
            BODY,
            "Elena Fischer",
            "c2VjcmV0LXJlbGF5",
            "dGVuYW50LXByb3ZpZGVy",
        ];
        let dump: Vec<u8> = if b == "sqlite" {
            let mut all = Vec::new();
            for f in ["foghorn.db", "foghorn.db-wal", "foghorn.db-shm"] {
                let path = std::path::Path::new(env.url().trim_start_matches("sqlite://"))
                    .with_file_name(f);
                all.extend(std::fs::read(path).unwrap_or_default());
            }
            assert!(all.len() > 10_000, "read the database files");
            all
        } else {
            let out = std::process::Command::new("pg_dump")
                .arg(env.url())
                .output()
                .expect("pg_dump");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        assert!(grep_bytes(&dump, "enc1:"), "{b}: sealed values are there");
        for n in needles {
            assert!(!grep_bytes(&dump, n), "{b}: `{n}` is stored in clear text");
        }
    }
}

/// The master key rotates while events flow: nothing fails, every row is
/// readable after, and the old key is no longer needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_master_key_rotates_online() {
    for env in envs().await {
        let b = env.backend();
        let key = env.key("admin").await;
        let old_ring = std::fs::read_to_string(env.path().join("foghorn.master.key")).unwrap();
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        api.put(
            "/v1/subscribers/owner-42",
            json!({"email": EMAIL, "phone": PHONE}),
        )
        .await;
        let flowing = {
            let api = api.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(8) {
                    let (s, _) = api.post("/v1/events", json!({"name": "document.uploaded", "to": ["owner-42"], "data": {"boat": "B", "title": BODY}})).await;
                    statuses.push(s);
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                statuses
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (code, out, err) = env.run(&["keys", "rotate-master"]).await;
        assert_eq!(code, 0, "{b}: {out}\n{err}");
        let statuses = flowing.await.unwrap();
        assert!(
            statuses.len() > 50 && statuses.iter().all(|s| *s == 202),
            "{b}: {statuses:?}"
        );
        let n = statuses.len();
        api.wait_for_status("sent", n, Duration::from_secs(30))
            .await;
        server.stop().await;
        // Whatever a lagging node sealed with the old key is re-sealed by a
        // second pass (the command is idempotent).
        let (code, _, err) = env.run(&["keys", "rotate-master"]).await;
        assert_eq!(code, 0, "{err}");
        let new_ring = std::fs::read_to_string(env.path().join("foghorn.master.key")).unwrap();
        let keys = |t: &str| {
            t.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let (old, new) = (keys(&old_ring), keys(&new_ring));
        assert_eq!(new.len(), 1, "{b}: one key left");
        assert_ne!(old[0], new[0], "{b}: a new key");
        // A node with only the new key reads everything.
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let (_, sub) = api.get("/v1/subscribers/owner-42").await;
        assert_eq!(sub["email"], EMAIL, "{b}");
        let (s, inbox) = api.get("/v1/sandbox/messages?limit=1000").await;
        assert_eq!(s, 200, "{b}: {inbox}");
        assert!(inbox["items"].as_array().unwrap().len() >= n, "{b}");
        assert!(inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["content"]["subject"]
                .as_str()
                .is_some_and(|s| !s.is_empty())));
        let all = api.all_notifications("").await;
        assert_eq!(all.len(), n, "{b}");
        server.stop().await;
        let (code, out, _) = env.run(&["audit", "verify"]).await;
        assert_eq!(code, 0, "{out}");
    }
}

/// Edit, delete or reorder an audit row: `audit verify` fails and names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_verify_names_the_first_tampered_row() {
    for env in envs().await {
        let b = env.backend();
        let key = env.key("admin").await;
        let server = Server::start(&env, "api", &[]).await;
        let api = Api::new(&server.base, &key);
        for i in 0..4 {
            api.put(
                &format!("/v1/subscribers/s{i}"),
                json!({"email": format!("s{i}@example.com")}),
            )
            .await;
        }
        server.stop().await;
        let (code, out, _) = env.run(&["audit", "verify"]).await;
        assert_eq!(code, 0, "{b}: {out}");
        assert!(
            out.contains("5 rows"),
            "{b}: key creation + 4 subscriber changes: {out}"
        );
        foghorn_store::testing::execute(
            env.url(),
            "UPDATE audit_log SET actor = 'key:someone-else' WHERE seq = 3",
        )
        .await
        .unwrap();
        let (code, _, err) = env.run(&["audit", "verify"]).await;
        assert_eq!(code, 1, "{b}");
        assert!(err.contains("row 3"), "{b}: {err}");
        let (_, out, _) = env.run(&["audit", "verify", "--json"]).await;
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(
            (v["ok"].as_bool(), v["first_bad_row"].as_i64()),
            (Some(false), Some(3))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoked_keys_stop_working_and_fast_keys_are_paced() {
    let env = envs().await.remove(0);
    let key = env.key("read").await;
    let server = Server::start(
        &env,
        "api",
        &[
            ("FOGHORN_SECURITY__KEY_RATE_PER_SECOND", "5"),
            ("FOGHORN_SECURITY__KEY_BURST", "5"),
        ],
    )
    .await;
    let api = Api::new(&server.base, &key);
    let mut limited = None;
    for _ in 0..20 {
        let (s, h, v) = api
            .send(reqwest::Method::GET, "/v1/notifications", None)
            .await;
        if s == 429 {
            limited = Some((h, v));
            break;
        }
    }
    let (h, v) = limited.expect("the sixth quick request is limited");
    assert!(h
        .get("retry-after")
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.parse::<u64>().ok())
        .is_some_and(|s| s >= 1));
    assert_eq!(v["type"], "urn:foghorn:problem:rate-limited");
    let (_, listing, _) = env.run(&["keys", "list", "--json"]).await;
    let keys: Value = serde_json::from_str(&listing).unwrap();
    let id = keys[0]["id"].as_str().unwrap().to_string();
    assert!(
        keys[0]["last_used_at"].is_string(),
        "last use is recorded: {keys}"
    );
    assert!(!listing.contains(&key), "secrets are never listed");
    let (code, _, err) = env.run(&["keys", "revoke", &id]).await;
    assert_eq!(code, 0, "{err}");
    let start = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (s, _) = api.get("/v1/notifications").await;
        if s == 401 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "a revoked key kept working"
        );
    }
    let (code, _, _) = env.run(&["keys", "revoke", &id]).await;
    assert_eq!(code, 1, "revoking twice is an error");
    server.stop().await;
}
