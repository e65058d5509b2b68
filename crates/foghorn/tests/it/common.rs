//! Test harness: the real `foghorn` binary on a fresh database (SQLite, and
//! PostgreSQL when `FOGHORN_TEST_DATABASE_URL` is set), and a loopback HTTP
//! sink (foghorn-testkit's recording server) that stands in for a webhook
//! receiver and counts what it receives.
#![allow(dead_code)]

use axum::http::HeaderMap;
use foghorn_store::testing::TestDb;
use foghorn_testkit::{MockServer, Reply};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_foghorn");

/// A database and a working folder for one test.
pub struct Env {
    pub db: TestDb,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn url(&self) -> &str {
        &self.db.url
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn backend(&self) -> &'static str {
        if self.db.url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        }
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write test file");
    }

    /// A `foghorn` command in this folder against this database.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(self.dir.path())
            .env("FOGHORN_DATABASE_URL", &self.db.url)
            .env("FOGHORN_SECURITY__ALLOW_PRIVATE_TARGETS", "true")
            .env_remove("FOGHORN_CONFIG")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        c
    }

    /// Runs a command to completion: (exit code, stdout, stderr).
    pub async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.command(args).output().await.expect("run foghorn");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A new API key with `scope`; the key is the last line of stdout.
    pub async fn key(&self, scope: &str) -> String {
        let (code, out, err) = self.run(&["keys", "create", "--scope", scope]).await;
        assert_eq!(code, 0, "keys create failed: {err}");
        out.lines().last().expect("a key line").trim().to_string()
    }
}

/// SQLite always; PostgreSQL too when configured.
pub async fn envs() -> Vec<Env> {
    let mut v = vec![Env {
        db: TestDb::sqlite(),
        dir: tempfile::tempdir().expect("tempdir"),
    }];
    if let Some(db) = TestDb::postgres().await {
        v.push(Env {
            db,
            dir: tempfile::tempdir().expect("tempdir"),
        });
    }
    v
}

pub async fn postgres_env() -> Option<Env> {
    let db = TestDb::postgres().await?;
    Some(Env {
        db,
        dir: tempfile::tempdir().expect("tempdir"),
    })
}

/// A running `foghorn serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub logs: Arc<Mutex<String>>,
}

/// Settings that make retries and leases fast enough for tests.
pub const FAST: &[(&str, &str)] = &[
    ("FOGHORN_DELIVERY__RETRY_SCHEDULE", "[\"100ms\", \"200ms\"]"),
    ("FOGHORN_DELIVERY__JITTER", "0"),
    ("FOGHORN_DELIVERY__LEASE", "3s"),
    ("FOGHORN_DELIVERY__POLL_INTERVAL", "50ms"),
    // Shorter than the lease, as the config requires.
    ("FOGHORN_DELIVERY__SEND_TIMEOUT", "2s"),
    ("FOGHORN_BREAKER__OPEN_FOR", "300ms"),
    // Load tests post thousands of events with one key.
    ("FOGHORN_SECURITY__KEY_RATE_PER_SECOND", "1000000"),
    ("FOGHORN_SECURITY__KEY_BURST", "1000000"),
];

/// For tests whose tenants' own accounts or settings point at a loopback
/// stand-in: tenant targets are refused on private networks by default.
pub const TENANTS_MAY_USE_LOOPBACK: (&str, &str) = (
    "FOGHORN_SECURITY__ALLOW_PRIVATE_TARGETS_FOR_TENANTS",
    "true",
);

impl Server {
    pub async fn start(env: &Env, role: &str, extra: &[(&str, &str)]) -> Server {
        let mut c = env.command(&["serve", "--listen", "127.0.0.1:0", "--role", role]);
        c.env(
            "RUST_LOG",
            "debug,sqlx=warn,hyper=warn,reqwest=warn,h2=warn,rustls=warn",
        );
        for (k, v) in FAST.iter().chain(extra) {
            c.env(k, v);
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn foghorn serve");
        let logs = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&l);
                    s.push('\n');
                }
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(l)) = lines.next_line().await {
                if let Some(rest) = l.strip_prefix("foghorn listening on ") {
                    return Some(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
            }
            None
        })
        .await;
        let base = match line {
            Ok(Some(b)) => b,
            _ => panic!(
                "server did not start; logs:\n{}",
                logs.lock().map(|s| s.clone()).unwrap_or_default()
            ),
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server { child, base, logs }
    }

    /// SIGKILL: no shutdown work of any kind.
    pub async fn kill9(&mut self) {
        self.child.kill().await.expect("kill");
    }

    /// SIGTERM and wait for a clean exit.
    pub async fn stop(mut self) -> i32 {
        if let Some(pid) = self.child.id() {
            // The shell's `kill` sends SIGTERM; no unsafe FFI in tests.
            let _ = tokio::process::Command::new("kill")
                .arg(pid.to_string())
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(s)) => s.code().unwrap_or(-1),
            _ => {
                let _ = self.child.kill().await;
                -1
            }
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// An HTTP client for the API with a key.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Api {
        Api {
            base: base.to_string(),
            key: key.to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (s, _, v) = self.send(reqwest::Method::GET, path, None).await;
        (s, v)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, _, v) = self.send(reqwest::Method::POST, path, Some(body)).await;
        (s, v)
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, _, v) = self.send(reqwest::Method::PUT, path, Some(body)).await;
        (s, v)
    }

    /// Waits until `n` notifications have `status` (the sink sees a send a
    /// moment before the outcome is recorded).
    pub async fn wait_for_status(&self, status: &str, n: usize, limit: Duration) -> Vec<Value> {
        self.wait_for_query(&format!("&status={status}"), n, limit)
            .await
    }

    /// Like [`Api::wait_for_status`], on one channel only.
    pub async fn wait_for_channel_status(
        &self,
        channel: &str,
        status: &str,
        n: usize,
        limit: Duration,
    ) -> Vec<Value> {
        self.wait_for_query(&format!("&status={status}&channel={channel}"), n, limit)
            .await
    }

    async fn wait_for_query(&self, query: &str, n: usize, limit: Duration) -> Vec<Value> {
        let status = query;
        let start = Instant::now();
        loop {
            let got = self.all_notifications(query).await;
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "only {} of {n} notifications reached `{status}`",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every notification of the tenant (all pages).
    pub async fn all_notifications(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = format!("/v1/notifications?limit=1000{query}");
            if let Some(c) = &cursor {
                q.push_str(&format!("&cursor={c}"));
            }
            let (s, v) = self.get(&q).await;
            assert_eq!(s, 200, "{v}");
            out.extend(v["items"].as_array().cloned().unwrap_or_default());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }
}

/// What the sink answers.
pub const OK: u16 = 204;

/// What the sink answers, changeable while it runs.
#[derive(Default)]
struct SinkScript {
    /// Status to answer with, per path; `default_status` elsewhere.
    status: Mutex<HashMap<String, u16>>,
    default_status: AtomicU16,
    /// Delay before answering, ms.
    delay_ms: AtomicU64,
}

/// A loopback provider stand-in on 127.0.0.1: the kit's recording server,
/// answering a bare status, and counting deliveries by `webhook-id`.
#[derive(Clone)]
pub struct Sink {
    pub url: String,
    script: Arc<SinkScript>,
    server: MockServer,
}

impl Sink {
    pub async fn start() -> Sink {
        let script = Arc::new(SinkScript::default());
        script.default_status.store(OK, Ordering::SeqCst);
        let answers = script.clone();
        let server = MockServer::start(move |req| {
            let status = answers
                .status
                .lock()
                .ok()
                .and_then(|m| m.get(req.path).copied())
                .unwrap_or_else(|| answers.default_status.load(Ordering::SeqCst));
            let delay = answers.delay_ms.load(Ordering::SeqCst);
            Reply::status(status).after(Duration::from_millis(delay))
        })
        .await;
        Sink {
            url: server.url.clone(),
            script,
            server,
        }
    }

    pub fn set_status(&self, status: u16) {
        self.script.default_status.store(status, Ordering::SeqCst);
    }

    pub fn set_path_status(&self, path: &str, status: u16) {
        self.script
            .status
            .lock()
            .expect("lock")
            .insert(path.to_string(), status);
    }

    pub fn set_delay(&self, ms: u64) {
        self.script.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// (distinct ids delivered, total 2xx deliveries).
    pub fn counts(&self) -> (usize, usize) {
        self.server.inspect(|log| {
            let mut delivered: HashMap<&str, usize> = HashMap::new();
            for r in log.iter().filter(|r| (200..300).contains(&r.status)) {
                *delivered.entry(r.header("webhook-id")).or_default() += 1;
            }
            (delivered.len(), delivered.values().sum())
        })
    }

    /// Every request: (path, webhook-id, status answered, body).
    pub fn requests(&self) -> Vec<(String, String, u16, String)> {
        self.server.inspect(|log| {
            log.iter()
                .map(|r| {
                    let id = r.header("webhook-id").to_string();
                    (r.path.clone(), id, r.status, r.text())
                })
                .collect()
        })
    }

    /// Waits until `distinct` ids have been delivered, or panics after `limit`.
    pub async fn wait_for(&self, distinct: usize, limit: Duration) {
        let start = Instant::now();
        loop {
            let (d, _) = self.counts();
            if d >= distinct {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "only {d} of {distinct} delivered within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A workflow that sends each event to the sink as a signed webhook.
pub fn hook_workflow(env: &Env, name: &str, url: &str) {
    env.write(
        &format!("workflows/{name}.toml"),
        &format!("name = \"{name}\"\ncategory = \"test\"\n[[steps]]\nchannel = \"webhook\"\nurl = \"{url}\"\n"),
    );
}

pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Config with a signing webhook provider for the webhook channel.
pub fn webhook_provider(env: &Env, extra: &str) {
    env.write(
        "foghorn.toml",
        &format!("[providers.webhook]\nkind = \"webhook\"\nsecret = \"{WEBHOOK_SECRET}\"\n{extra}"),
    );
}

/// Posts `n` events with up to `parallel` in flight; returns the answers.
pub async fn post_many(
    api: &Api,
    n: usize,
    parallel: usize,
    make: impl Fn(usize) -> Value,
) -> Vec<(u16, Value)> {
    use futures_like::*;
    let bodies: Vec<Value> = (0..n).map(make).collect();
    run_bounded(bodies, parallel, |b| {
        let api = api.clone();
        async move { api.post("/v1/events", b).await }
    })
    .await
}

pub fn dir_of(env: &Env) -> PathBuf {
    env.path().to_path_buf()
}

/// A tiny bounded-concurrency runner (no extra crate for one loop).
pub mod futures_like {
    use std::future::Future;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    pub async fn run_bounded<I, F, Fut, T>(items: Vec<I>, parallel: usize, f: F) -> Vec<T>
    where
        F: Fn(I) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let sem = Arc::new(Semaphore::new(parallel));
        let mut handles = Vec::with_capacity(items.len());
        for item in items {
            let permit = sem.clone().acquire_owned().await.expect("semaphore");
            let fut = f(item);
            handles.push(tokio::spawn(async move {
                let out = fut.await;
                drop(permit);
                out
            }));
        }
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.expect("task"));
        }
        out
    }
}

// ------------------------------------------------ provider callbacks ---

/// Unix seconds now, as providers stamp their callbacks.
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A callback as a provider would send it: (status, body text).
pub async fn hook(
    base: &str,
    path_and_query: &str,
    headers: &[(&str, String)],
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String) {
    let mut r = reqwest::Client::new()
        .post(format!("{base}{path_and_query}"))
        .header("content-type", content_type)
        .body(body);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.unwrap_or_default();
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "{status}: {text}");
    }
    (status, text)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A Mailgun webhook body signed as Mailgun signs it: HMAC-SHA256 of
/// timestamp + token under the webhook signing key, hex.
pub fn mailgun_body(key: &str, timestamp: i64, token: &str, event_data: Value) -> Value {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}{token}").as_bytes());
    serde_json::json!({
        "signature": {
            "timestamp": timestamp.to_string(),
            "token": token,
            "signature": hex(&mac.finalize().into_bytes()),
        },
        "event-data": event_data,
    })
}

/// Creates tenant `name` and an admin key of it: (tenant id, key).
pub async fn tenant_with_key(env: &Env, name: &str) -> (String, String) {
    let (code, out, err) = env.run(&["tenants", "create", name]).await;
    assert_eq!(code, 0, "tenants create: {err}");
    let id = out.lines().last().expect("a tenant id").trim().to_string();
    let (code, out, err) = env
        .run(&["keys", "create", "--tenant", &id, "--scope", "admin"])
        .await;
    assert_eq!(code, 0, "keys create: {err}");
    (id, out.lines().last().expect("a key").trim().to_string())
}

/// Percent-encodes a form name or value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn notification(api: &Api, id: &str) -> Value {
    let (s, v) = api.get(&format!("/v1/notifications/{id}")).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Waits until notification `id` has `status`.
pub async fn wait_status(api: &Api, id: &str, status: &str) -> Value {
    let start = Instant::now();
    loop {
        let n = notification(api, id).await;
        if n["status"] == status {
            return n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "notification never reached `{status}`: {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn timeline_kinds(n: &Value) -> Vec<String> {
    n["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Posts an event; returns the first notification's id and status.
pub async fn send(api: &Api, body: Value) -> (String, String) {
    let (s, v) = api.post("/v1/events", body).await;
    assert_eq!(s, 202, "{v}");
    let n = &v["notifications"][0];
    (
        n["id"].as_str().unwrap().to_string(),
        n["status"].as_str().unwrap().to_string(),
    )
}

/// Creates or replaces subscriber `id`.
pub async fn put_subscriber(api: &Api, id: &str, body: Value) {
    let (s, v) = api.put(&format!("/v1/subscribers/{id}"), body).await;
    assert!(s == 200 || s == 201, "{v}");
}

/// Sandbox messages of the tenant (the default provider without credentials).
pub async fn inbox(api: &Api) -> Vec<Value> {
    let (s, v) = api.get("/v1/sandbox/messages?limit=1000").await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().cloned().unwrap_or_default()
}
