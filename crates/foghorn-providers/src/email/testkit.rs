//! A local stand-in for the providers' HTTP APIs: it records every request
//! (method, path with query, headers, raw body) and answers with whatever the
//! test scripted, so tests can run the real clients end to end on loopback.

use crate::http::{build_client, HttpOptions};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use foghorn_core::{Address, Channel, Outbound, Rendered};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path and query, as sent.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "text/plain; charset=utf-8".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

pub type Log = Arc<Mutex<Vec<Recorded>>>;

/// Serves `reply` to every request on 127.0.0.1; returns the base URL
/// (`http://127.0.0.1:PORT`, no trailing slash) and the request log.
pub async fn mock(reply: Reply) -> (String, Log) {
    let log = Log::default();
    let seen = log.clone();
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (seen, reply) = (seen.clone(), reply.clone());
            async move {
                let path = uri
                    .path_and_query()
                    .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string());
                seen.lock().unwrap().push(Recorded {
                    method,
                    path,
                    headers,
                    body,
                });
                tokio::time::sleep(reply.delay).await;
                respond(&reply)
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

fn respond(reply: &Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap();
    let mut resp = (status, reply.body.clone()).into_response();
    for (name, value) in &reply.headers {
        resp.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    resp
}

/// The only request the mock saw.
pub fn only(log: &Log) -> Recorded {
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1, "expected exactly one request, got {log:?}");
    log[0].clone()
}

/// The shared client as production builds it, except that loopback targets
/// are let through the SSRF guard so the mock can be reached.
pub fn client(timeout: Duration) -> reqwest::Client {
    let opts = HttpOptions {
        allow_private_targets: true,
        allow_private_targets_for_tenants: false,
        timeout,
        public_url: None,
    };
    build_client(&opts).unwrap()
}

/// A NaviDocs-style notification: both bodies, two tags, the unsubscribe
/// headers the engine adds, and a Reply-To.
pub fn message() -> Outbound {
    Outbound {
        notification_id: "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y".into(),
        tenant_id: "ten_navidocs".into(),
        event_id: "evt_01hx7k3q9e8w2m5n4b6v1c0z9x".into(),
        event_name: "document.shared".into(),
        channel: Channel::Email,
        to: Address::Email("ana@example.com".into()),
        content: Rendered {
            subject: Some("Ana, a document was shared with you".into()),
            html: Some("<p>Open <b>Q3 report</b></p>".into()),
            text: Some("Open Q3 report".into()),
            json: None,
        },
        tags: vec!["document-shared".into(), "transactional".into()],
        headers: vec![
            (
                "List-Unsubscribe".into(),
                "<https://navidocs.example/u/abc>, <mailto:unsub@navidocs.example>".into(),
            ),
            (
                "List-Unsubscribe-Post".into(),
                "List-Unsubscribe=One-Click".into(),
            ),
            ("Reply-To".into(), "Support <help@navidocs.example>".into()),
        ],
        from: None,
        tenant_target: false,
    }
}

/// The `InboundRequest` headers shape: lower-case names.
pub fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect()
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq)]
pub struct FormPart {
    pub name: String,
    pub value: String,
    /// The part's own headers, lower-case names, `content-disposition` included.
    pub headers: Vec<(String, String)>,
}

/// Splits a recorded `multipart/form-data` request into its parts, in order
/// (RFC 7578), so a test can assert every field a form carried.
pub fn form_parts(rec: &Recorded) -> Vec<FormPart> {
    let content_type = rec.header("content-type");
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("not multipart/form-data: {content_type}"));
    let body = std::str::from_utf8(&rec.body).expect("UTF-8 form");
    let delimiter = format!("--{boundary}");
    let mut sections: Vec<&str> = body.split(delimiter.as_str()).collect();
    assert_eq!(sections.remove(0), "", "nothing before the first boundary");
    assert_eq!(sections.pop(), Some("--\r\n"), "closing delimiter");
    sections
        .into_iter()
        .map(|section| {
            let section = section
                .strip_prefix("\r\n")
                .and_then(|s| s.strip_suffix("\r\n"))
                .expect("CRLF around each part");
            let (head, value) = section.split_once("\r\n\r\n").expect("part headers");
            let headers: Vec<(String, String)> = head
                .split("\r\n")
                .map(|line| {
                    let (k, v) = line.split_once(':').expect("header line");
                    (k.trim().to_ascii_lowercase(), v.trim().to_string())
                })
                .collect();
            let disposition = &headers
                .iter()
                .find(|(k, _)| k == "content-disposition")
                .expect("content-disposition")
                .1;
            let name = disposition
                .strip_prefix("form-data; name=\"")
                .and_then(|rest| rest.strip_suffix('"'))
                .unwrap_or_else(|| panic!("a plain field, not a file: {disposition}"))
                .to_string();
            FormPart {
                name,
                value: value.to_string(),
                headers,
            }
        })
        .collect()
}
