//! A local stand-in for a provider's API: records every request (method,
//! path, query, headers, body) and answers with scripted replies, so tests
//! run the real client end to end on 127.0.0.1.

use crate::http::{build_client, HttpOptions};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use foghorn_core::{Address, Channel, Outbound, Rendered};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const PUBLIC_URL: &str = "https://foghorn.example.com";

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }

    /// The form body as ordered pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        crate::signature::parse_form(&self.body)
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: String,
    /// How long the mock waits before answering.
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json")],
            body: body.to_string(),
            delay: None,
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "text/plain")],
            body: body.to_string(),
            delay: None,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Reply {
        self.headers.push((name, value));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

/// Starts a mock answering `reply` to every request; returns its base URL
/// (`http://127.0.0.1:PORT`) and the log of requests.
pub async fn mock(reply: Reply) -> (String, Log) {
    serve(move |_| reply.clone()).await
}

/// Starts a mock that answers by path, for APIs spread over several
/// endpoints: each request to a path takes the next of that path's replies,
/// the last one repeating; any other path is answered 404.
pub async fn mock_routes(routes: Vec<(String, Vec<Reply>)>) -> (String, Log) {
    let queues: Mutex<HashMap<String, Vec<Reply>>> = Mutex::new(routes.into_iter().collect());
    serve(move |path| {
        let mut queues = queues.lock().unwrap();
        match queues.get_mut(path) {
            Some(queue) if queue.len() > 1 => queue.remove(0),
            Some(queue) if !queue.is_empty() => queue[0].clone(),
            _ => Reply::text(404, "no such route in the mock"),
        }
    })
    .await
}

/// The requests in `log` to `path`.
pub fn to_path(log: &Log, path: &str) -> Vec<Seen> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == path)
        .cloned()
        .collect()
}

async fn serve(answer: impl Fn(&str) -> Reply + Send + Sync + 'static) -> (String, Log) {
    let log = Log::default();
    let seen = log.clone();
    let answer = Arc::new(answer);
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            let reply = answer(uri.path());
            async move {
                seen.lock().unwrap().push(Seen {
                    method,
                    path: uri.path().to_string(),
                    query: uri.query().map(str::to_string),
                    headers,
                    body,
                });
                if let Some(delay) = reply.delay {
                    tokio::time::sleep(delay).await;
                }
                let status = StatusCode::from_u16(reply.status).unwrap();
                let mut resp = (status, reply.body).into_response();
                for (k, v) in reply.headers {
                    resp.headers_mut().insert(k, HeaderValue::from_static(v));
                }
                resp
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

/// Options as in production except that loopback is allowed (the mock lives
/// there) and the public URL is set, so callback URLs are sent.
pub fn opts() -> HttpOptions {
    HttpOptions {
        allow_private_targets: true,
        allow_private_targets_for_tenants: false,
        timeout: Duration::from_secs(5),
        public_url: Some(PUBLIC_URL.to_string()),
    }
}

pub fn client() -> reqwest::Client {
    build_client(&opts()).unwrap()
}

pub fn sms(to: &str, text: &str) -> Outbound {
    Outbound {
        notification_id: "ntf_01hx7".into(),
        tenant_id: "ten_1".into(),
        event_id: "evt_01hx7".into(),
        event_name: "order.shipped".into(),
        channel: Channel::Sms,
        to: Address::Phone(to.to_string()),
        content: Rendered {
            text: Some(text.to_string()),
            ..Rendered::default()
        },
        tags: vec![],
        headers: vec![],
        from: None,
        tenant_target: false,
    }
}

pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", B64.encode(format!("{user}:{password}")))
}

/// Pairs as `(&str, &str)` for comparing with literals.
pub fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Headers as an [`foghorn_core::InboundRequest`] carries them.
pub fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect()
}

/// Form-encodes pairs as a provider would post them.
pub fn form_body(list: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in list {
        s.append_pair(k, v);
    }
    s.finish()
}
