//! The HTTP client every provider shares and the one mapping from HTTP
//! answers and transport failures to [`ProviderError`].
//!
//! Written once so that every provider retries, backs off and gives up by the
//! same rules, and so that no provider can forget the SSRF guard.

use crate::net_guard::{self, GuardError, GuardedResolver};
use crate::BuildError;
use chrono::{DateTime, Utc};
use foghorn_core::{ErrorKind, ProviderError};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{redirect, StatusCode, Url};
use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

/// Redirects followed before giving up; a loop should fail, not hang.
pub const MAX_REDIRECTS: usize = 5;
/// Longest body excerpt kept in an error reason: enough to show a provider's
/// error code, short enough for a log line and the attempts timeline.
const SNIPPET_CHARS: usize = 200;
/// Most of an answer's body we read, success or failure: every provider's
/// answers (ids, error JSON) fit in well under a kilobyte, and the bound keeps
/// a huge or endless answer from holding a worker up.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Lets targets on loopback and private networks through the guard; for
    /// self-hosters whose receivers live on the same network.
    pub allow_private_targets: bool,
    /// The same for targets a tenant supplied (its own provider accounts,
    /// URLs in its workflows): separate, so an operator who lets its own
    /// configuration reach the local network does not open it to every
    /// tenant.
    pub allow_private_targets_for_tenants: bool,
    pub timeout: Duration,
    /// Where providers reach this server (`public_url`), for the status
    /// callback URLs some providers take with each send. No trailing slash.
    pub public_url: Option<String>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            allow_private_targets: false,
            allow_private_targets_for_tenants: false,
            timeout: Duration::from_secs(10),
            public_url: None,
        }
    }
}

impl HttpOptions {
    /// The options a tenant's own provider account is built with: its
    /// targets are judged by the tenants' setting.
    pub fn for_tenant(&self) -> HttpOptions {
        HttpOptions {
            allow_private_targets: self.allow_private_targets_for_tenants,
            ..self.clone()
        }
    }
}

pub fn build_client(opts: &HttpOptions) -> Result<reqwest::Client, BuildError> {
    let allow = opts.allow_private_targets;
    client_with(opts.timeout, allow, allow)
}

/// The process's HTTP clients, one per trust level: the guard sits in each
/// client's resolver, and a connection pool must never hand a connection
/// opened under the operator's rules to a tenant's request. Built once and
/// cloned (a clone shares the pool).
#[derive(Debug, Clone)]
pub struct Clients {
    pub operator: reqwest::Client,
    pub tenant: reqwest::Client,
}

impl Clients {
    pub fn new(opts: &HttpOptions) -> Result<Clients, BuildError> {
        Ok(Clients {
            operator: build_client(opts)?,
            tenant: build_client(&opts.for_tenant())?,
        })
    }
}

/// The two guards take separate flags only so a test can reach a local first
/// hop while the redirect policy stays strict; [`build_client`] passes one.
pub(crate) fn client_with(
    timeout: Duration,
    resolver_allows_private: bool,
    redirects_allow_private: bool,
) -> Result<reqwest::Client, BuildError> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .user_agent(concat!("foghorn/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver::new(resolver_allows_private)))
        // A proxy would resolve names itself, out of the guard's sight.
        .no_proxy()
        .redirect(redirect::Policy::custom(move |attempt| {
            let (url, visited) = (attempt.url(), attempt.previous().len());
            match check_redirect(url, visited, redirects_allow_private) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        }))
        .build()
        .map_err(BuildError::Client)
}

#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooMany,
    #[error("redirect refused")]
    Refused(#[source] GuardError),
}

/// Whether to follow a redirect to `next` after `visited` URLs (the first
/// request included). IP literals are judged here because they never reach the
/// resolver; hostnames are judged by the resolver when connecting.
pub fn check_redirect(
    next: &Url,
    visited: usize,
    allow_private: bool,
) -> Result<(), RedirectError> {
    if visited > MAX_REDIRECTS {
        return Err(RedirectError::TooMany);
    }
    net_guard::check_url(next, allow_private).map_err(RedirectError::Refused)
}

/// A provider's answer: status, headers and the body read up to
/// [`MAX_ANSWER_BYTES`]. Every provider reads its answers through this, so
/// all of them bound what they read and classify failures by the same rules.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Why the body stopped short of its end, when the connection failed part
    /// way: `body` holds what arrived. An error answer is classified by its
    /// status all the same; a success is the caller's to judge.
    pub read_error: Option<reqwest::Error>,
}

impl Answer {
    pub async fn read(mut resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        let mut read_error = None;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
            if body.len() > MAX_ANSWER_BYTES {
                body.truncate(MAX_ANSWER_BYTES);
                break;
            }
        }
        Answer {
            status,
            headers,
            body,
            read_error,
        }
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// A short single-line excerpt of the body for error reasons.
    /// Keeps all of its first `SNIPPET_CHARS` and marks a cut after them.
    pub fn snippet(&self) -> String {
        let (mut snippet, cut) = clip(&self.text(), SNIPPET_CHARS);
        if cut {
            snippet.push('…');
        }
        snippet
    }

    /// The error for a failed answer by its status alone: see
    /// [`classify_status`].
    pub fn classify(&self) -> ProviderError {
        classify_status(self.status, &self.headers, &self.text())
    }

    /// The error of `kind` for this answer, as a provider's own error code
    /// classified it: with the HTTP status and, when rate limited, the
    /// answer's `Retry-After` hint.
    pub fn error(&self, kind: ErrorKind, reason: String) -> ProviderError {
        error_with(kind, reason, self.status, &self.headers)
    }
}

/// Sends a request and reads the answer; a request that got no answer, or
/// whose answer broke off, fails by the transport rules.
pub async fn call(request: reqwest::RequestBuilder) -> Result<Answer, ProviderError> {
    let resp = request.send().await.map_err(|e| classify_transport(&e))?;
    let mut answer = Answer::read(resp).await;
    match answer.read_error.take() {
        Some(e) => Err(classify_transport(&e)),
        None => Ok(answer),
    }
}

/// The kind an HTTP status alone implies, for answers without a provider
/// error code of their own.
pub fn kind_of_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        429 => ErrorKind::RateLimited,
        408 | 425 | 500..=599 => ErrorKind::Retryable,
        401 | 403 => ErrorKind::Misconfigured,
        // Other 4xx, and anything else that is not a success: a redirect not
        // followed or an informational answer will not change on retry.
        _ => ErrorKind::Permanent,
    }
}

pub fn classify_status(status: StatusCode, headers: &HeaderMap, body: &str) -> ProviderError {
    error_with(
        kind_of_status(status),
        status_reason(status, body),
        status,
        headers,
    )
}

fn error_with(
    kind: ErrorKind,
    reason: String,
    status: StatusCode,
    headers: &HeaderMap,
) -> ProviderError {
    match ProviderError::new(kind, reason, Some(status.as_u16())) {
        ProviderError::RateLimited {
            reason,
            http_status,
            ..
        } => ProviderError::RateLimited {
            reason,
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Utc::now())),
            http_status,
        },
        err => err,
    }
}

/// `text` trimmed, cut to at most `max` characters with `…` as the last.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let (mut out, cut) = clip(text, max);
    if cut {
        out.pop();
        out.push('…');
    }
    out
}

/// The first `max` characters of `text` trimmed, on one line (control
/// characters as spaces), and whether more followed.
fn clip(text: &str, max: usize) -> (String, bool) {
    let text = text.trim();
    let out = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    (out, text.chars().nth(max).is_some())
}

fn status_reason(status: StatusCode, body: &str) -> String {
    let snippet = excerpt(body, SNIPPET_CHARS);
    if snippet.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {snippet}")
    }
}

/// `Retry-After` is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
/// Only the IMF-fixdate form of HTTP-date is read (chrono's RFC 2822 parser
/// accepts it); a date already past means "now".
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// Classifies a request that got no HTTP answer. The reason is built from the
/// error's sources, not its own text, which repeats the URL — and webhook URLs
/// (Slack's, Discord's) are themselves secrets.
pub fn classify_transport(err: &reqwest::Error) -> ProviderError {
    let mut source = err.source();
    let mut causes = Vec::new();
    while let Some(e) = source {
        if let Some(guard) = e.downcast_ref::<GuardError>() {
            return ProviderError::from(guard.clone());
        }
        causes.push(e.to_string());
        source = e.source();
    }
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_redirect() {
        "redirect failed"
    } else if err.is_builder() {
        "invalid request"
    } else {
        "request failed"
    };
    let reason = if causes.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {}", causes.join(": "))
    };
    if err.is_redirect() || err.is_builder() {
        ProviderError::permanent(reason)
    } else {
        ProviderError::retryable(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn parses_retry_after() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn classifies_statuses() {
        let none = HeaderMap::new();
        for (kind, codes) in [
            ("retryable", &[408, 425, 500, 503][..]),
            ("misconfigured", &[401, 403]),
            ("permanent", &[304, 400, 404, 422]),
            ("rate_limited", &[429]),
        ] {
            for &code in codes {
                let status = StatusCode::from_u16(code).unwrap();
                assert_eq!(classify_status(status, &none, "").kind(), kind, "{code}");
            }
        }
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let err = classify_status(StatusCode::TOO_MANY_REQUESTS, &h, "slow down");
        let reason = "HTTP 429 Too Many Requests: slow down".to_string();
        let retry_after = Some(Duration::from_secs(7));
        let http_status = Some(429);
        let expected = ProviderError::RateLimited {
            reason,
            retry_after,
            http_status,
        };
        assert_eq!(err, expected);
    }

    #[test]
    fn reasons_carry_a_short_single_line_snippet() {
        let body = format!("line one\nline two {}", "x".repeat(500));
        let reason = classify_status(StatusCode::BAD_REQUEST, &HeaderMap::new(), &body).to_string();
        assert!(
            reason.contains("HTTP 400 Bad Request: line one line two"),
            "{reason}"
        );
        let snippet = reason.rsplit_once(": ").unwrap().1;
        assert_eq!(snippet.chars().count(), SNIPPET_CHARS);
    }

    /// Success and error bodies alike are read up to one cap; a provider's
    /// own code maps to a kind and keeps the status and `Retry-After`.
    #[tokio::test]
    async fn answers_are_read_up_to_the_cap_and_classified_by_kind() {
        use crate::sms::testkit::{client, mock, Reply};
        let big = "x".repeat(MAX_ANSWER_BYTES + 10_000);
        let (url, _log) = mock(Reply::text(200, &big)).await;
        let answer = call(client().get(&url)).await.unwrap();
        assert_eq!(answer.body.len(), MAX_ANSWER_BYTES);
        assert_eq!(answer.snippet().chars().count(), SNIPPET_CHARS + 1);

        let (url, _log) =
            mock(Reply::text(400, r#"{"code": 20429}"#).with_header("retry-after", "7")).await;
        let answer = call(client().post(&url)).await.unwrap();
        assert_eq!(answer.body, br#"{"code": 20429}"#);
        let expected = ProviderError::RateLimited {
            reason: "too many".into(),
            retry_after: Some(Duration::from_secs(7)),
            http_status: Some(400),
        };
        assert_eq!(
            answer.error(ErrorKind::RateLimited, "too many".into()),
            expected
        );
        let err = answer.error(ErrorKind::Misconfigured, "bad sender".into());
        assert_eq!(
            (err.kind(), err.http_status()),
            ("misconfigured", Some(400))
        );
        assert_eq!(answer.classify().kind(), "permanent");
        assert!(answer.classify().to_string().contains("20429"));
    }

    #[test]
    fn redirects_are_limited_and_guarded() {
        let check =
            |u: &str, visited, allow| check_redirect(&Url::parse(u).unwrap(), visited, allow);
        assert!(check("https://example.com/next", 1, false).is_ok());
        assert!(check("https://93.184.215.14/", 5, false).is_ok());
        assert!(check("http://127.0.0.1:9/", 1, true).is_ok());
        assert!(matches!(
            check("https://example.com/", 6, true),
            Err(RedirectError::TooMany)
        ));
        for url in [
            "http://127.0.0.1:9/",
            "http://[::1]/",
            "http://169.254.169.254/",
            "gopher://x/",
        ] {
            assert!(
                matches!(check(url, 1, false), Err(RedirectError::Refused(_))),
                "{url}"
            );
        }
    }
}
