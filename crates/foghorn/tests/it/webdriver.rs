//! A small client over the W3C WebDriver protocol, written here instead of
//! taken from a WebDriver crate to keep the dependency tree lean: it starts
//! chromedriver with headless Chromium and offers only what the browser
//! tests use (navigation, elements, scripts, screenshots, axe-core checks).
#![allow(dead_code)]

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// WebDriver's codes for the keys the keyboard tests press.
pub const TAB: &str = "\u{E004}";
pub const SPACE: &str = "\u{E00D}";
pub const ENTER: &str = "\u{E007}";

/// The key under which the protocol carries an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
const AXE_RUN: &str = "const done = arguments[arguments.length - 1];
    axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})
        .then(r => done({violations: r.violations}), e => done({error: String(e)}));";

/// An endpoint (the driver's root or a session) and the client to reach it.
#[derive(Clone, Debug)]
struct Wire {
    http: reqwest::Client,
    base: String,
}

impl Wire {
    /// Sends one command and returns its `value`; a protocol error panics.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let what = format!("WebDriver {method} {path}");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await;
        let response = response.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = response.status();
        let reply = response.json::<Value>().await;
        let mut reply = reply.unwrap_or_else(|e| panic!("{what}: HTTP {status}, not JSON: {e}"));
        let value = reply.get_mut("value").map(Value::take).unwrap_or_default();
        if !status.is_success() {
            let error = value["error"].as_str().unwrap_or("unknown error");
            let message = value["message"].as_str().unwrap_or_default();
            let message = message.lines().next().unwrap_or_default();
            panic!("{what} failed with HTTP {status}: {error}: {message}");
        }
        value
    }

    async fn get(&self, path: &str) -> Value {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn string(&self, path: &str) -> String {
        match self.get(path).await {
            Value::String(s) => s,
            other => panic!("WebDriver GET {path}: expected a string, got {other}"),
        }
    }
}

/// The chromedriver process, killed when dropped (also when `start` panics),
/// and the TMPDIR it and Chromium write to, removed after that.
struct Driver {
    child: Child,
    port: u16,
    tmp: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headless Chromium in a session of a chromedriver of its own.
pub struct Browser {
    wire: Wire,
    /// The session id.
    id: String,
    /// Dropped after `drop` has ended the session.
    driver: Driver,
}

impl Browser {
    pub async fn start() -> Browser {
        let bin = std::env::var_os("CHROMEDRIVER").unwrap_or_else(|| "chromedriver".into());
        // Chromium's profile and sockets go to TMPDIR: one folder, removed on drop.
        let tmp = tempfile::tempdir().expect("temp dir for the browser");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr());
        let port = port.expect("a free loopback port").port();
        let child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = child.unwrap_or_else(|e| panic!("run {bin:?} (set CHROMEDRIVER?): {e}"));
        let mut driver = Driver { child, port, tmp };
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120));
        let http = http.build().expect("HTTP client");
        let root = format!("http://127.0.0.1:{port}");

        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = http.get(format!("{root}/status")).send();
            let status = async { status.await.ok()?.json::<Value>().await.ok() }.await;
            if status.is_some_and(|s| s["value"]["ready"].as_bool() == Some(true)) {
                break;
            }
            if let Some(exit) = driver.child.try_wait().expect("poll chromedriver") {
                panic!("chromedriver on port {port} exited before it was ready: {exit}");
            }
            assert!(Instant::now() < deadline, "chromedriver not ready in 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let mut options = json!({"args": ["--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--window-size=1280,900"]});
        let binary = std::env::var("CHROMIUM").ok().or_else(|| {
            let debian = "/usr/bin/chromium";
            Path::new(debian).exists().then(|| debian.to_owned())
        });
        if let Some(binary) = binary {
            options["binary"] = json!(binary);
        }
        let mut wire = Wire { http, base: root };
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}});
        let created = wire.post("/session", caps).await;
        let id = created["sessionId"].as_str().map(str::to_owned);
        let id = id.expect("a session id");
        wire.base = format!("{}/session/{id}", wire.base);
        Browser { wire, id, driver }
    }

    pub async fn goto(&self, url: &str) {
        self.wire.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.wire.string("/url").await
    }

    pub async fn title(&self) -> String {
        self.wire.string("/title").await
    }

    pub async fn source(&self) -> String {
        self.wire.string("/source").await
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let query = json!({"using": "css selector", "value": css});
        match self.wire.post("/elements", query).await {
            Value::Array(found) => found.iter().map(|r| Element::new(&self.wire, r)).collect(),
            other => panic!("WebDriver find {css:?}: expected an array, got {other}"),
        }
    }

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        self.find_all(css).await.into_iter().next()
    }

    pub async fn find(&self, css: &str) -> Element {
        if let Some(element) = self.try_find(css).await {
            return element;
        }
        let url = self.url().await;
        panic!("no element matches the CSS selector {css:?} on {url}");
    }

    /// The element that has the keyboard focus.
    pub async fn active(&self) -> Element {
        let reference = self.wire.get("/element/active").await;
        Element::new(&self.wire, &reference)
    }

    /// Presses `key` (a WebDriver key code such as [`TAB`]) on whatever has
    /// the focus, as a keyboard would.
    pub async fn press(&self, key: &str) {
        self.active().await.send_keys(key).await;
    }

    /// Saves a PNG of the viewport to `$FOGHORN_SCREENSHOTS`, or else to
    /// `screenshots/` in the target folder, and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.wire.string("/screenshot").await;
        let png = BASE64.decode(encoded).expect("a base64 screenshot");
        assert!(png.starts_with(PNG), "screenshot {name:?} is not a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let path = dir.join(format!("{}.png", name.trim_end_matches(".png")));
        std::fs::write(&path, &png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Runs `script` as a function body; a promise it returns is awaited.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        let body = json!({"script": script, "args": args});
        self.wire.post("/execute/sync", body).await
    }

    /// Runs `script` with a callback as its last argument: what it is called
    /// with is the result.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        let body = json!({"script": script, "args": args});
        self.wire.post("/execute/async", body).await
    }

    /// Runs axe-core's WCAG 2 A and AA rules on the page; returns the violations.
    pub async fn axe(&self) -> Vec<Value> {
        let path = axe_path();
        let source = std::fs::read_to_string(&path);
        let source = source.unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let script = format!("{source}\n;return typeof window.axe;");
        let loaded = self.execute(&script, vec![]).await;
        assert_eq!(loaded, "object", "axe-core did not load");
        let mut outcome = self.execute_async(AXE_RUN, vec![]).await;
        let violations = outcome.get_mut("violations").map(Value::take);
        match violations {
            Some(Value::Array(violations)) => violations,
            _ => panic!("axe.run failed: {outcome}"),
        }
    }
}

impl Drop for Browser {
    /// Killing chromedriver would leave Chromium running, so the session is
    /// ended first, over a blocking socket: no async runtime is at hand here.
    fn drop(&mut self) {
        let (port, id) = (self.driver.port, &self.id);
        let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let request = format!(
            "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        // chromedriver answers once Chromium has quit, then keeps the
        // connection open: the answer's first bytes are all to wait for.
        if stream.write_all(request.as_bytes()).is_ok() {
            let _ = stream.read(&mut [0u8; 512]);
        }
    }
}

/// An element of the page, by its WebDriver reference.
#[derive(Clone, Debug)]
pub struct Element {
    wire: Wire,
    id: String,
}

impl Element {
    fn new(wire: &Wire, reference: &Value) -> Element {
        let id = reference[ELEMENT_KEY].as_str();
        let id = id.unwrap_or_else(|| panic!("not an element reference: {reference}"));
        let mut wire = wire.clone();
        wire.base = format!("{}/element/{id}", wire.base);
        let id = id.to_owned();
        Element { wire, id }
    }

    /// The reference that passes this element to a script as an argument.
    pub fn to_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    pub async fn click(&self) {
        self.wire.post("/click", json!({})).await;
    }

    pub async fn send_keys(&self, text: &str) {
        self.wire.post("/value", json!({ "text": text })).await;
    }

    pub async fn clear(&self) {
        self.wire.post("/clear", json!({})).await;
    }

    /// The rendered text, as a user sees it.
    pub async fn text(&self) -> String {
        self.wire.string("/text").await
    }

    /// The attribute as written in the markup; `None` when absent.
    pub async fn attr(&self, name: &str) -> Option<String> {
        let value = self.wire.get(&format!("/attribute/{name}")).await;
        value.as_str().map(str::to_owned)
    }

    /// The DOM property (e.g. `value`, `checked`); `Null` when absent.
    pub async fn property(&self, name: &str) -> Value {
        self.wire.get(&format!("/property/{name}")).await
    }
}

/// One line per axe violation, for assertion messages.
pub fn describe(violations: &[Value]) -> String {
    let line = |v: &Value| {
        let field = |key: &str| v[key].as_str().unwrap_or("?").to_owned();
        let (id, impact, help) = (field("id"), field("impact"), field("help"));
        let nodes = v["nodes"].as_array().map_or(0, Vec::len);
        let target = &v["nodes"][0]["target"];
        format!("{id} ({impact}): {help}; {nodes} node(s), the first {target}")
    };
    violations.iter().map(line).collect::<Vec<_>>().join("\n")
}

fn screenshot_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("FOGHORN_SCREENSHOTS") {
        return dir.into();
    }
    // A relative CARGO_TARGET_DIR is one from the workspace root.
    let target = var("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.join(target).join("screenshots")
}

fn axe_path() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    let cached = Path::new(&home).join(".cache/foghorn-axe/package/axe.min.js");
    let path = std::env::var_os("FOGHORN_AXE_JS").map_or(cached, PathBuf::from);
    assert!(
        path.is_file(),
        "axe-core is not at {} (FOGHORN_AXE_JS, or else ~/.cache/foghorn-axe): install it with \
         `mkdir -p ~/.cache/foghorn-axe && cd ~/.cache/foghorn-axe && \
         npm pack axe-core@4.14.1 && tar xzf axe-core-4.14.1.tgz`",
        path.display()
    );
    path
}
