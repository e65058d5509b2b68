//! What the fuzz targets share: a fixed clock, the request-shaped input
//! format, building a provider from its configuration and running its
//! callback handling to completion.
//!
//! Every provider target runs each input twice:
//! - raw: the request exactly as written, so the verifier itself sees
//!   hostile signatures, timestamps and credentials;
//! - signed: the request authenticated with the target's fixed test
//!   credentials, computed the way the provider computes them, so the input
//!   reaches the parser behind the verifier. A signed request that is still
//!   refused as unauthorized means the target and the provider disagree on
//!   the scheme, and the target fails loudly.
//!
//! # Input format
//!
//! An input that starts with a method and a space is read as
//!
//! ```text
//! POST https://foghorn.example/hooks/x?tenant=t1
//! content-type: application/x-www-form-urlencoded
//!
//! body bytes…
//! ```
//!
//! (the head up to the first blank line; headers `name: value`). Anything
//! else is the body of a POST to the target's default URL with its default
//! content type.

use foghorn_core::{InboundError, InboundEvent, InboundRequest};
use foghorn_providers::http::{build_client, HttpOptions};
use foghorn_providers::{Provider, ProviderConfig};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The clock every target runs at (unix seconds); signed timestamps use it.
pub const NOW: i64 = 1_700_000_000;

/// The provider name the targets build under.
pub const NAME: &str = "fuzz";

/// A callback request as the input describes it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    /// Lower-case names, in input order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// Reads an input (see the crate docs). Never fails: whatever does not
    /// parse as a head is a body.
    pub fn parse(data: &[u8], default_url: &str, default_content_type: &str) -> Request {
        if let Some(request) = Self::parse_head(data) {
            return request;
        }
        Request {
            method: "POST".into(),
            url: default_url.into(),
            headers: vec![("content-type".into(), default_content_type.into())],
            body: data.to_vec(),
        }
    }

    fn parse_head(data: &[u8]) -> Option<Request> {
        let space = data.iter().position(|&b| b == b' ')?;
        let method = &data[..space];
        if method.is_empty() || method.len() > 8 || !method.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
            Some(end) => (&data[..end], &data[end + 2..]),
            None => (data, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next()?;
        let (method, url) = first.split_once(' ')?;
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Some(Request {
            method: method.to_string(),
            url: url.trim().to_string(),
            headers,
            body: body.to_vec(),
        })
    }

    pub fn is_get(&self) -> bool {
        self.method.eq_ignore_ascii_case("GET")
    }

    /// The first value of a header, as the providers look it up.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every `name` header with one `value`, placed first.
    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.insert(0, (name.to_string(), value));
    }

    /// Whether the body is JSON by its content type, as the SMS providers
    /// decide it (media type only, case ignored).
    pub fn is_json(&self) -> bool {
        self.header("content-type")
            .and_then(|h| h.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    }

    pub fn inbound(&self) -> InboundRequest<'_> {
        InboundRequest {
            method: &self.method,
            url: &self.url,
            headers: &self.headers,
            body: &self.body,
            now: NOW,
        }
    }
}

/// Builds a provider from the JSON form of its configuration, as the
/// server's configuration loader would. Panics on a bad configuration: that
/// is a broken target, not a finding.
pub fn provider(config: serde_json::Value) -> Provider {
    let opts = HttpOptions::default();
    let config: ProviderConfig = serde_json::from_value(config).expect("provider config");
    let client = build_client(&opts).expect("HTTP client");
    Provider::build(NAME, config, &opts, &client).expect("provider")
}

/// Runs `Provider::inbound` to completion. It does no I/O, so it completes
/// on its first poll; anything else is a bug worth failing on.
pub fn inbound(provider: &Provider, request: &Request) -> Result<Vec<InboundEvent>, InboundError> {
    let req = request.inbound();
    let mut future = pin!(provider.inbound(&req));
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("inbound callback handling waited on something"),
    }
}

/// Fails when a request the target signed was refused as unauthorized.
pub fn assert_authorized(result: &Result<Vec<InboundEvent>, InboundError>, request: &Request) {
    if let Err(InboundError::Unauthorized(why)) = result {
        panic!("a correctly signed request was refused ({why}): {request:?}");
    }
}

/// Form pairs as the providers decode them (`+` a space, `%XX` a byte,
/// invalid UTF-8 replaced).
pub fn form(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input).into_owned().collect()
}

/// The URL's query string (before any `#`), or `""`.
pub fn query_of(url: &str) -> &str {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    url.split_once('?').map_or("", |(_, query)| query)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `Basic` credentials for an `Authorization` header.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}
