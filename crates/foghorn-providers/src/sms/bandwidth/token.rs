//! One Bandwidth account's OAuth 2.0 access token, fetched with the
//! client-credentials grant and shared by every send through the account.
//!
//! The token lives behind a tokio mutex so a refresh is single-flight: the
//! first caller that finds no usable token asks the token endpoint while the
//! others wait for its answer, and every caller that waited on that request
//! shares its outcome, success or failure, instead of asking again.

use super::api;
use crate::http::{self, Answer};
use foghorn_core::ErrorKind;
use foghorn_core::ProviderError;
use foghorn_core::Secret;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The path of the token endpoint under its origin (see `api.rs`).
pub const TOKEN_PATH: &str = "/api/v1/oauth2/token";

/// A token is renewed this long before it expires, as the official SDKs do
/// (they reuse a token only while its expiry is more than 60 s away): a send
/// that starts with an almost-expired token would be refused in flight.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The variables an operator sets to fix what the token endpoint refused.
const HINT: &str =
    "check BANDWIDTH_CLIENT_ID and BANDWIDTH_CLIENT_SECRET (client_id/client_secret)";

/// An access token as the API takes it.
#[derive(Debug, Clone)]
pub struct Token(Secret);

impl Token {
    pub fn bearer(&self) -> &str {
        self.0.expose()
    }
}

/// Only to tell a refused token from a newer one; no credential is checked
/// against it, so a plain comparison will do.
impl PartialEq for Token {
    fn eq(&self, other: &Token) -> bool {
        self.bearer() == other.bearer()
    }
}

#[derive(Debug)]
struct Cached {
    token: Token,
    /// When it stops being handed out; `None` when the endpoint gave no
    /// lifetime, so it is kept until the API refuses it.
    refresh_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    cached: Option<Cached>,
    /// The outcome of the last failed request, for the callers that waited
    /// on it.
    failed: Option<ProviderError>,
}

#[derive(Debug)]
pub struct TokenSource {
    provider: String,
    endpoint: String,
    client_id: String,
    client_secret: Secret,
    client: reqwest::Client,
    /// Token requests answered so far; a caller that sees it move while it
    /// waited for the lock knows a request was answered on its behalf.
    requests: AtomicU64,
    state: Mutex<State>,
}

impl TokenSource {
    pub fn new(
        provider: &str,
        endpoint: String,
        client_id: String,
        client_secret: Secret,
        client: reqwest::Client,
    ) -> TokenSource {
        TokenSource {
            provider: provider.to_string(),
            endpoint,
            client_id,
            client_secret,
            client,
            requests: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// For scrubbing error reasons.
    pub(super) fn secret(&self) -> &str {
        self.client_secret.expose()
    }

    /// A token that is not about to expire, fetched only when there is none.
    pub async fn token(&self) -> Result<Token, ProviderError> {
        self.get(None).await
    }

    /// A token other than `rejected`, which the API has just refused: the
    /// first caller with that token fetches a new one, later ones get it.
    pub async fn replace(&self, rejected: &Token) -> Result<Token, ProviderError> {
        self.get(Some(rejected)).await
    }

    async fn get(&self, rejected: Option<&Token>) -> Result<Token, ProviderError> {
        let seen = self.requests.load(Ordering::SeqCst);
        let mut state = self.state.lock().await;
        let now = Instant::now();
        if let Some(cached) = &state.cached {
            let fresh = cached.refresh_at.is_none_or(|at| now < at);
            if fresh && rejected != Some(&cached.token) {
                return Ok(cached.token.clone());
            }
        }
        if self.requests.load(Ordering::SeqCst) != seen {
            if let Some(err) = &state.failed {
                return Err(err.clone());
            }
            // A token fetched while we waited serves the send that asked
            // for it even when it is shorter-lived than the margin.
            if let Some(cached) = &state.cached {
                if rejected != Some(&cached.token) {
                    return Ok(cached.token.clone());
                }
            }
        }
        state.cached = None;
        state.failed = None;
        let fetched = self.fetch().await;
        // Counted when answered, under the lock: whoever read the count
        // before this point and waits for the lock is served by this answer.
        self.requests.fetch_add(1, Ordering::SeqCst);
        match fetched {
            Ok((token, lifetime)) => {
                let refresh_at =
                    lifetime.map(|l| Instant::now() + l.saturating_sub(REFRESH_MARGIN));
                state.cached = Some(Cached {
                    token: token.clone(),
                    refresh_at,
                });
                Ok(token)
            }
            Err(err) => {
                state.failed = Some(err.clone());
                Err(err)
            }
        }
    }

    /// One token request, as the official SDKs make it.
    async fn fetch(&self) -> Result<(Token, Option<Duration>), ProviderError> {
        let request = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(api::TOKEN_REQUEST_BODY);
        let answer = http::call(request).await.map_err(|e| self.scrub(e))?;
        if !answer.status.is_success() {
            return Err(self.scrub(self.refusal(&answer)));
        }
        let parsed: api::TokenAnswer =
            serde_json::from_slice(&answer.body).map_err(|e| ProviderError::Retryable {
                reason: format!("bandwidth token endpoint: unreadable answer ({e})"),
                http_status: Some(answer.status.as_u16()),
            })?;
        if parsed.access_token.trim().is_empty() {
            return Err(ProviderError::Retryable {
                reason: "bandwidth token endpoint: the answer has no access_token".into(),
                http_status: Some(answer.status.as_u16()),
            });
        }
        if let Some(kind) = parsed.token_type.as_deref() {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(ProviderError::Misconfigured {
                    reason: format!(
                        "bandwidth token endpoint issued a `{kind}` token, not a bearer token"
                    ),
                    http_status: Some(answer.status.as_u16()),
                });
            }
        }
        let lifetime = parsed.expires_in.map(Duration::from_secs);
        tracing::debug!(
            provider = %self.provider,
            expires_in = ?parsed.expires_in,
            "bandwidth access token issued"
        );
        Ok((Token(Secret::new(parsed.access_token)), lifetime))
    }

    /// The error for a refused token request (RFC 6749 §5.2 body when there
    /// is one): refused credentials are a misconfiguration; so is any other
    /// 4xx, which no retry mends.
    fn refusal(&self, answer: &Answer) -> ProviderError {
        let parsed = serde_json::from_slice::<api::TokenError>(&answer.body).ok();
        let said = match &parsed {
            Some(err) => match err.error_description.as_deref().filter(|d| !d.is_empty()) {
                Some(description) => format!("{} ({description})", err.error),
                None => err.error.clone(),
            },
            None => format!("HTTP {}: {}", answer.status, answer.snippet()),
        };
        let class = match answer.status.as_u16() {
            429 => ErrorKind::RateLimited,
            408 | 425 | 500..=599 => ErrorKind::Retryable,
            _ => ErrorKind::Misconfigured,
        };
        let reason = match class {
            ErrorKind::Misconfigured => {
                format!("bandwidth token endpoint refused the client credentials: {said}; {HINT}")
            }
            _ => format!("bandwidth token endpoint: {said}"),
        };
        answer.error(class, reason)
    }

    /// An endpoint may echo what it was sent; no reason keeps the secret.
    fn scrub(&self, err: ProviderError) -> ProviderError {
        scrub(err, &[self.client_secret.expose()])
    }
}

/// `err` with every occurrence of each secret replaced.
pub fn scrub(err: ProviderError, secrets: &[&str]) -> ProviderError {
    let clean = |reason: String| {
        secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(reason, |r, s| r.replace(s, "••••"))
    };
    match err {
        ProviderError::Retryable {
            reason,
            http_status,
        } => ProviderError::Retryable {
            reason: clean(reason),
            http_status,
        },
        ProviderError::Permanent {
            reason,
            http_status,
        } => ProviderError::Permanent {
            reason: clean(reason),
            http_status,
        },
        ProviderError::RateLimited {
            reason,
            retry_after,
            http_status,
        } => ProviderError::RateLimited {
            reason: clean(reason),
            retry_after,
            http_status,
        },
        ProviderError::Misconfigured {
            reason,
            http_status,
        } => ProviderError::Misconfigured {
            reason: clean(reason),
            http_status,
        },
    }
}
