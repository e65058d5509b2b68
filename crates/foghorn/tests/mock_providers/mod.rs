//! Loopback stand-ins for the email and SMS providers' HTTP APIs: each
//! answers a send the way the real API does (status, body, headers), and
//! keeps every request it got so a test can read what Foghorn sent.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which API a mock speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mailgun,
    SendGrid,
    Postmark,
    Twilio,
    Vonage,
    /// Messaging v2 and its OAuth 2.0 token endpoint, on one origin.
    Bandwidth,
}

/// Where the Bandwidth mock issues access tokens.
pub const BANDWIDTH_TOKEN_PATH: &str = "/api/v1/oauth2/token";

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the mock answered with.
    pub status: u16,
    /// The headers it answered with (SendGrid's `X-Message-Id`, say).
    pub response_headers: HeaderMap,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Form fields, from `application/x-www-form-urlencoded` or
    /// `multipart/form-data` (Mailgun), in order.
    pub fn fields(&self) -> Vec<(String, String)> {
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(b) = ct.split("boundary=").nth(1) {
            return multipart_fields(&self.text(), b.trim_matches('"'));
        }
        form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.fields()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

fn multipart_fields(body: &str, boundary: &str) -> Vec<(String, String)> {
    let delim = format!("--{boundary}");
    body.split(&delim)
        .filter_map(|part| {
            let part = part.strip_prefix("\r\n")?;
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head.split("name=\"").nth(1)?.split('"').next()?;
            Some((
                name.to_string(),
                value.strip_suffix("\r\n").unwrap_or(value).to_string(),
            ))
        })
        .collect()
}

struct MockState {
    kind: Kind,
    /// Answer this status instead of success while `failures_left` > 0
    /// (or always, when `failures_left` is `usize::MAX`).
    fail_status: AtomicU16,
    failures_left: AtomicUsize,
    counter: AtomicU64,
    received: Mutex<Vec<Received>>,
}

#[derive(Clone)]
pub struct MockProvider {
    pub url: String,
    state: Arc<MockState>,
}

impl MockProvider {
    pub async fn start(kind: Kind) -> MockProvider {
        let state = Arc::new(MockState {
            kind,
            fail_status: AtomicU16::new(0),
            failures_left: AtomicUsize::new(0),
            counter: AtomicU64::new(0),
            received: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(answer).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind mock");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockProvider {
            url: format!("http://{addr}"),
            state,
        }
    }

    /// Answer `status` to every send from now on (an outage).
    pub fn fail_always(&self, status: u16) {
        self.state.fail_status.store(status, Ordering::SeqCst);
        self.state.failures_left.store(usize::MAX, Ordering::SeqCst);
    }

    pub fn recover(&self) {
        self.state.failures_left.store(0, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("lock").clone()
    }

    /// Successful sends so far.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    pub async fn wait_accepted(&self, n: usize, limit: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.accepted();
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "{:?} mock accepted {} of {n}",
                self.state.kind,
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn answer(
    State(s): State<Arc<MockState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = s.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let failing = s
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| match left {
            0 => None,
            usize::MAX => Some(usize::MAX),
            l => Some(l - 1),
        })
        .is_ok();
    let path = uri.path().to_string();
    let response = if failing {
        let status = StatusCode::from_u16(s.fail_status.load(Ordering::SeqCst))
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let body = match s.kind {
            Kind::Postmark => json!({"ErrorCode": 100, "Message": "Maintenance"}),
            Kind::SendGrid => json!({"errors": [{"message": "Service Unavailable"}]}),
            Kind::Twilio => {
                json!({"code": 20500, "message": "Internal Server Error", "status": status.as_u16()})
            }
            Kind::Mailgun => json!({"message": "Service Unavailable"}),
            Kind::Vonage => json!({"type": "about:blank", "title": "Service Unavailable"}),
            // RFC 6749 §5.2 from the token endpoint, Bandwidth's own shape
            // from the API.
            Kind::Bandwidth if path == BANDWIDTH_TOKEN_PATH => json!({"error": "invalid_client"}),
            Kind::Bandwidth => {
                json!({"type": "unauthorized", "description": "Authentication Failed"})
            }
        };
        (status, axum::Json(body)).into_response()
    } else {
        success(s.kind, n, &path)
    };
    s.received.lock().expect("lock").push(Received {
        method: method.to_string(),
        path,
        headers,
        body,
        status: response.status().as_u16(),
        response_headers: response.headers().clone(),
    });
    response
}

/// The success answers of each API (see each provider's `api.rs`).
fn success(kind: Kind, n: u64, path: &str) -> Response {
    match kind {
        // 200 {"id": "<…@domain>", "message": "Queued. Thank you."}
        Kind::Mailgun => {
            let domain = path.split('/').nth(3).unwrap_or("mg.example");
            let body =
                json!({"id": format!("<20260501.{n}@{domain}>"), "message": "Queued. Thank you."});
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        // 202, empty body, the id in X-Message-Id.
        Kind::SendGrid => (
            StatusCode::ACCEPTED,
            [("x-message-id", format!("sgmsg{n:08}"))],
        )
            .into_response(),
        Kind::Postmark => {
            let body = json!({"To": "x", "SubmittedAt": "2026-05-01T10:00:00Z",
                "MessageID": format!("b7bc2f4a-e38e-4336-af7d-{n:012}"), "ErrorCode": 0, "Message": "OK"});
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        // 201 with the message resource; the price is not known yet.
        Kind::Twilio => {
            let body = json!({"sid": format!("SM{n:032}"), "status": "queued",
                "price": null, "price_unit": "USD", "num_segments": "1"});
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        // 200 with one entry per part, all values strings; `"0"` is
        // success, and the price (in the account's currency) is stated.
        Kind::Vonage => {
            let body = json!({"message-count": "1", "messages": [{
                "to": "12025550142", "message-id": format!("0A00000{n:09X}"), "status": "0",
                "remaining-balance": "12.34560000", "message-price": VONAGE_PRICE,
                "network": "310004"}]});
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        // A token (sdk: access_token, expires_in), then 202 with the message.
        Kind::Bandwidth if path == BANDWIDTH_TOKEN_PATH => {
            let body = json!({"access_token": bandwidth_token(n), "token_type": "Bearer",
                "expires_in": 3600});
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Kind::Bandwidth => {
            let body = json!({"id": format!("16{n:026}"), "owner": "+19195551212",
                "time": "2026-12-01T10:00:00.000Z", "segmentCount": 1, "direction": "out"});
            (StatusCode::ACCEPTED, axum::Json(body)).into_response()
        }
    }
}

/// The access token the Bandwidth mock issues as its `n`th answer.
pub fn bandwidth_token(n: u64) -> String {
    format!("bw-access-token-{n:06}")
}

/// The sender every email test uses.
pub const FROM: &str = "NaviDocs <noreply@navidocs.example>";

/// A `[providers.<name>]` table for `kind` with its API at `url`.
pub fn provider_table(kind: Kind, url: &str) -> String {
    match kind {
        Kind::Mailgun => format!("[providers.mailgun]\napi_key = \"key-test\"\ndomain = \"mg.navidocs.example\"\nbase_url = \"{url}\"\nfrom = \"{FROM}\"\n"),
        Kind::SendGrid => format!("[providers.sendgrid]\napi_key = \"SG.test\"\nbase_url = \"{url}\"\nfrom = \"{FROM}\"\n"),
        Kind::Postmark => format!("[providers.postmark]\nserver_token = \"pm-test\"\nbase_url = \"{url}\"\nfrom = \"{FROM}\"\n"),
        Kind::Vonage => format!("[providers.vonage]\napi_key = \"vk\"\napi_secret = \"vs\"\nfrom = \"+12025550100\"\nbase_url = \"{url}\"\n"),
        Kind::Twilio => format!("[providers.twilio]\naccount_sid = \"AC0123\"\nauth_token = \"tok\"\nphone_number = \"+12025550100\"\nbase_url = \"{url}\"\n"),
        Kind::Bandwidth => format!("[providers.bandwidth]\naccount_id = \"9900000\"\nclient_id = \"bw-client\"\nclient_secret = \"bw-secret\"\nmessaging_application_id = \"app-1\"\nfrom = \"+12025550100\"\nbase_url = \"{url}\"\n"),
    }
}

/// The key pair SendGrid signs its Event Webhook with (ECDSA P-256), made
/// fresh by each test.
pub struct SendGridKey(p256::ecdsa::SigningKey);

impl SendGridKey {
    pub fn generate() -> SendGridKey {
        SendGridKey(p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// The public key as SendGrid shows it: base64 of DER SubjectPublicKeyInfo.
    pub fn public_b64(&self) -> String {
        use p256::pkcs8::EncodePublicKey;
        let public = p256::PublicKey::from(self.0.verifying_key());
        B64.encode(public.to_public_key_der().unwrap().as_bytes())
    }

    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        use p256::ecdsa::signature::Signer;
        let mut data = timestamp.to_string().into_bytes();
        data.extend_from_slice(body);
        let sig: p256::ecdsa::Signature = self.0.sign(&data);
        B64.encode(sig.to_der().as_bytes())
    }
}

/// What the Vonage mock states as each part's `message-price`.
pub const VONAGE_PRICE: &str = "0.03330000";
