//! The HTTP client every provider shares and the one mapping from HTTP
//! answers and transport failures to [`ProviderError`].
//!
//! Written once so that every provider retries, backs off and gives up by the
//! same rules, and so that no provider can forget the SSRF guard.

use crate::net_guard::{self, GuardError, GuardedResolver};
use crate::BuildError;
use chrono::{DateTime, Utc};
use foghorn_core::ProviderError;
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
/// Bytes of an error body read at most, so a huge answer cannot hold us up.
const SNIPPET_READ_BYTES: usize = 1024;

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

/// Reads a short excerpt of a failed answer's body and classifies it.
pub async fn error_from_response(mut resp: reqwest::Response) -> ProviderError {
    let status = resp.status();
    let headers = resp.headers().clone();
    let mut bytes = Vec::new();
    while bytes.len() < SNIPPET_READ_BYTES {
        match resp.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(SNIPPET_READ_BYTES);
    classify_status(status, &headers, &String::from_utf8_lossy(&bytes))
}

pub fn classify_status(status: StatusCode, headers: &HeaderMap, body: &str) -> ProviderError {
    let reason = status_reason(status, body);
    let http_status = Some(status.as_u16());
    match status.as_u16() {
        429 => ProviderError::RateLimited {
            reason,
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Utc::now())),
            http_status,
        },
        408 | 425 | 500..=599 => ProviderError::Retryable {
            reason,
            http_status,
        },
        401 | 403 => ProviderError::Misconfigured {
            reason,
            http_status,
        },
        // Other 4xx, and anything else that is not a success: a redirect not
        // followed or an informational answer will not change on retry.
        _ => ProviderError::Permanent {
            reason,
            http_status,
        },
    }
}

fn status_reason(status: StatusCode, body: &str) -> String {
    let body = body.trim();
    let mut snippet: String = body
        .chars()
        .take(SNIPPET_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.chars().nth(SNIPPET_CHARS).is_some() {
        snippet.pop();
        snippet.push('…');
    }
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

impl From<GuardError> for ProviderError {
    fn from(e: GuardError) -> Self {
        ProviderError::permanent(format!("target refused as private or not allowed: {e}"))
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
