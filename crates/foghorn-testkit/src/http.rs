//! One recording HTTP server for tests: it keeps every request it got
//! (method, path, query, headers, raw body, and what it answered) and
//! answers as the test scripted, so the real clients run end to end on
//! loopback. A script is a function of the request; [`mock`] (one reply for
//! everything) and [`mock_routes`] (replies per path) cover most tests.
//!
//! A request is recorded when its answer is sent, after any scripted
//! [`Reply::after`] delay: a client that gave up before then left no record,
//! so a "delivered" count only counts answers that went out.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the server received it, with the answer it got.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// The path alone; the query string is in `query`.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the server answered with.
    pub status: u16,
    /// The headers it answered with (SendGrid's `X-Message-Id`, say).
    pub response_headers: HeaderMap,
}

impl Recorded {
    /// A request header, `""` when absent or not text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The body as JSON; panics when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// An `application/x-www-form-urlencoded` body as ordered pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }

    /// Form fields in order, from a `multipart/form-data` body (Mailgun's)
    /// or a URL-encoded one.
    pub fn fields(&self) -> Vec<(String, String)> {
        if self
            .header("content-type")
            .starts_with("multipart/form-data")
        {
            return crate::form::form_parts(self)
                .into_iter()
                .map(|part| (part.name, part.value))
                .collect();
        }
        self.form()
    }

    /// The first form field called `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A request as a script sees it, before it is answered.
#[derive(Debug)]
pub struct Request<'a> {
    /// 1 for the first request the server got, then 2, 3…, in order of
    /// arrival (answers that number what they create use it).
    pub n: u64,
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Exactly the headers sent: none is added (no default content type).
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// How long the server waits before answering.
    pub delay: Duration,
}

impl Reply {
    /// `status` with no body and no headers.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            body: body.to_string(),
            ..Reply::status(status)
        }
        .with_header("content-type", "application/json")
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            body: body.to_string(),
            ..Reply::status(status)
        }
        .with_header("content-type", "text/plain; charset=utf-8")
    }

    /// Sets header `name` (replacing an earlier value of it).
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    fn to_response(&self) -> Response {
        let mut resp = Response::new(Body::from(self.body.clone()));
        *resp.status_mut() = StatusCode::from_u16(self.status).expect("a scripted HTTP status");
        for (name, value) in &self.headers {
            resp.headers_mut().insert(
                HeaderName::try_from(name.as_str()).expect("a scripted header name"),
                HeaderValue::try_from(value.as_str()).expect("a scripted header value"),
            );
        }
        resp
    }
}

/// Every request a server answered, in the order the answers went out.
pub type Log = Arc<Mutex<Vec<Recorded>>>;

/// A running recording server on 127.0.0.1 (it lives as long as the
/// test's runtime).
#[derive(Clone)]
pub struct MockServer {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    pub addr: SocketAddr,
    pub log: Log,
}

impl MockServer {
    /// Starts a server that answers each request with `script(request)`.
    pub async fn start<F>(script: F) -> MockServer
    where
        F: Fn(&Request<'_>) -> Reply + Send + Sync + 'static,
    {
        let log = Log::default();
        let seen = log.clone();
        let script = Arc::new(script);
        let arrivals = Arc::new(AtomicU64::new(0));
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (seen, script, arrivals) = (seen.clone(), script.clone(), arrivals.clone());
                async move {
                    let reply = script(&Request {
                        n: arrivals.fetch_add(1, Ordering::SeqCst) + 1,
                        method: &method,
                        path: uri.path(),
                        query: uri.query(),
                        headers: &headers,
                        body: &body,
                    });
                    if !reply.delay.is_zero() {
                        tokio::time::sleep(reply.delay).await;
                    }
                    let resp = reply.to_response();
                    seen.lock().unwrap().push(Recorded {
                        method,
                        path: uri.path().to_string(),
                        query: uri.query().map(str::to_string),
                        headers,
                        body,
                        status: reply.status,
                        response_headers: resp.headers().clone(),
                    });
                    resp
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the mock");
        let addr = listener.local_addr().expect("the mock's address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockServer {
            url: format!("http://{addr}"),
            addr,
            log,
        }
    }

    /// A copy of every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Looks at the requests so far without copying them.
    pub fn inspect<T>(&self, f: impl FnOnce(&[Recorded]) -> T) -> T {
        f(&self.log.lock().unwrap())
    }

    /// The requests so far to `path`.
    pub fn to_path(&self, path: &str) -> Vec<Recorded> {
        to_path(&self.log, path)
    }
}

/// Serves `reply` to every request; returns the base URL and the log.
pub async fn mock(reply: Reply) -> (String, Log) {
    let server = MockServer::start(move |_| reply.clone()).await;
    (server.url, server.log)
}

/// Serves replies by path, for APIs spread over several endpoints: each
/// request to a path takes the next of that path's replies, the last one
/// repeating; any other path is answered 404.
pub async fn mock_routes(routes: Vec<(String, Vec<Reply>)>) -> (String, Log) {
    let queues: Mutex<HashMap<String, Vec<Reply>>> = Mutex::new(routes.into_iter().collect());
    let server = MockServer::start(move |req| {
        let mut queues = queues.lock().unwrap();
        match queues.get_mut(req.path) {
            Some(queue) if queue.len() > 1 => queue.remove(0),
            Some(queue) if !queue.is_empty() => queue[0].clone(),
            _ => Reply::text(404, "no such route in the mock"),
        }
    })
    .await;
    (server.url, server.log)
}

/// The only request in `log`; panics unless there is exactly one.
pub fn only(log: &Log) -> Recorded {
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1, "expected exactly one request, got {log:?}");
    log[0].clone()
}

/// The requests in `log` to `path`.
pub fn to_path(log: &Log, path: &str) -> Vec<Recorded> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|r| r.path == path)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use raw::post;

    /// A bare HTTP/1.1 client over one TCP connection, enough to check the
    /// server without another dependency.
    mod raw {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        pub struct Answer {
            pub head: String,
            pub body: String,
        }

        pub async fn post(url: &str, body: &str) -> Answer {
            let rest = url.strip_prefix("http://").unwrap();
            let (host, path) = rest
                .split_once('/')
                .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
            let mut conn = tokio::net::TcpStream::connect(host).await.unwrap();
            let request = format!(
                "POST {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\
                 content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(request.as_bytes()).await.unwrap();
            let mut raw = String::new();
            conn.read_to_string(&mut raw).await.unwrap();
            let (head, body) = raw.split_once("\r\n\r\n").unwrap();
            Answer {
                head: head.to_ascii_lowercase(),
                body: body.to_string(),
            }
        }
    }

    #[tokio::test]
    async fn records_each_request_with_the_answer_it_got() {
        let server = MockServer::start(|req| {
            Reply::json(201, serde_json::json!({"n": req.n})).with_header("x-id", "abc")
        })
        .await;
        let answer = post(&format!("{}/a/b?x=1", server.url), "To=%2B1+2&Body=hi").await;
        assert!(answer.head.starts_with("http/1.1 201"), "{}", answer.head);
        assert!(answer.head.contains("content-type: application/json"));
        assert_eq!(answer.body, r#"{"n":1}"#);
        post(&format!("{}/c", server.url), "").await;

        let seen = server.requests();
        assert_eq!(seen.len(), 2);
        let first = &seen[0];
        assert_eq!(first.method, "POST");
        assert_eq!(
            (first.path.as_str(), first.query.as_deref()),
            ("/a/b", Some("x=1"))
        );
        assert_eq!(
            first.form(),
            [("To".into(), "+1 2".into()), ("Body".into(), "hi".into())]
        );
        assert_eq!(first.field("Body").as_deref(), Some("hi"));
        assert_eq!(first.status, 201);
        assert_eq!(first.response_headers["x-id"], "abc");
        assert_eq!(server.to_path("/c").len(), 1);
    }

    #[tokio::test]
    async fn routes_answer_in_turn_then_repeat_and_a_bare_status_has_no_body() {
        let (url, log) = mock_routes(vec![(
            "/t".into(),
            vec![Reply::status(503), Reply::status(204)],
        )])
        .await;
        let answers: Vec<String> = [
            post(&format!("{url}/t"), "").await.head,
            post(&format!("{url}/t"), "").await.head,
            post(&format!("{url}/t"), "").await.head,
            post(&format!("{url}/elsewhere"), "").await.head,
        ]
        .into_iter()
        .map(|head| head.lines().next().unwrap_or_default().to_string())
        .collect();
        assert_eq!(
            answers,
            [
                "http/1.1 503 service unavailable",
                "http/1.1 204 no content",
                "http/1.1 204 no content",
                "http/1.1 404 not found"
            ]
        );
        let statuses: Vec<u16> = log.lock().unwrap().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [503, 204, 204, 404]);
        assert!(!log.lock().unwrap()[0]
            .response_headers
            .contains_key("content-type"));
    }
}
