//! Bearer API keys: the extractor that turns a request into an [`Auth`]
//! (tenant and scopes) or a 401, with a short-lived cache so a busy key does
//! not cost a database read per request. What a key is: `crate::keys`.

use super::problem::ApiError;
use super::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use foghorn_core::TenantId;
use foghorn_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub use crate::keys::{hash_key, new_key, Scope};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth {
    pub tenant_id: TenantId,
    pub key_id: String,
    scopes: Vec<Scope>,
}

impl Auth {
    /// The caller behind a dashboard session: the key it signed in with.
    pub fn of_session(tenant_id: TenantId, key_id: String, scopes: &str) -> Auth {
        Auth {
            tenant_id,
            key_id,
            scopes: scopes.split_whitespace().filter_map(Scope::parse).collect(),
        }
    }

    /// Whether this caller holds `scope` (as [`Auth::require`] judges).
    pub fn has(&self, scope: Scope) -> bool {
        self.require(scope).is_ok()
    }

    /// `admin` includes every tenant scope (not `operator`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        let by_admin = scope != Scope::Operator && self.scopes.contains(&Scope::Admin);
        if self.scopes.contains(&scope) || by_admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this key lacks the `{}` scope",
                scope.as_str()
            )))
        }
    }

    /// An audit record of an action by this key.
    pub fn audit(&self, action: &str, target: &str) -> foghorn_store::Audit {
        foghorn_store::Audit::new(format!("key:{}", self.key_id), action, target)
    }

    /// Either scope suffices.
    pub fn require_any(&self, a: Scope, b: Scope) -> Result<(), ApiError> {
        self.require(a).or_else(|_| self.require(b))
    }
}

struct Cached {
    auth: Auth,
    fetched: Instant,
    touched: Instant,
}

/// Hash → caller, for a few seconds; revocation takes effect within `TTL`.
#[derive(Clone, Default)]
pub struct KeyCache {
    inner: Arc<RwLock<HashMap<String, Cached>>>,
}

const TTL: Duration = Duration::from_secs(10);
/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl KeyCache {
    pub async fn authenticate(&self, store: &Store, secret: &str) -> Result<Auth, ApiError> {
        let hash = hash_key(secret);
        let now = Instant::now();
        if let Ok(map) = self.inner.read() {
            if let Some(c) = map.get(&hash) {
                if now.duration_since(c.fetched) < TTL {
                    return Ok(c.auth.clone());
                }
            }
        }
        let row = store
            .api_key_by_hash(&hash)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the API key is not valid"))?;
        let auth = Auth {
            tenant_id: row.tenant_id.clone(),
            key_id: row.id.clone(),
            scopes: row
                .scopes
                .split_whitespace()
                .filter_map(Scope::parse)
                .collect(),
        };
        let touch = match self
            .inner
            .read()
            .ok()
            .and_then(|m| m.get(&hash).map(|c| c.touched))
        {
            Some(t) if now.duration_since(t) < TOUCH_EVERY => Some(t),
            _ => None,
        };
        if touch.is_none() {
            let ms = chrono::Utc::now().timestamp_millis();
            if let Err(e) = store.touch_api_key(&row.id, ms).await {
                tracing::warn!(error = %e, "could not record key use");
            }
        }
        if let Ok(mut map) = self.inner.write() {
            map.insert(
                hash,
                Cached {
                    auth: auth.clone(),
                    fetched: now,
                    touched: touch.unwrap_or(now),
                },
            );
        }
        Ok(auth)
    }
}

/// Requests per key: a token bucket per key id.
pub type KeyLimiter = Arc<governor::DefaultKeyedRateLimiter<String>>;

pub fn key_limiter(per_second: u32, burst: u32) -> Option<KeyLimiter> {
    let rate = std::num::NonZeroU32::new(per_second)?;
    let burst = std::num::NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
    Some(Arc::new(governor::RateLimiter::keyed(
        governor::Quota::per_second(rate).allow_burst(burst),
    )))
}

impl FromRequestParts<Arc<AppState>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <API key>`"))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
        let secret = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <API key>`")
            })?;
        let auth = state.keys.authenticate(&state.store, secret).await?;
        if let Some(limiter) = &state.key_limiter {
            if let Err(not_until) = limiter.check_key(&auth.key_id) {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                return Err(ApiError::rate_limited(wait.as_secs_f64().ceil() as u64));
            }
        }
        Ok(auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_admin_is_not_operator() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        let admin = Auth {
            tenant_id: "t".into(),
            key_id: "k".into(),
            scopes: vec![Scope::Admin],
        };
        assert!(admin.require(Scope::Read).is_ok() && admin.require(Scope::EventsWrite).is_ok());
        assert!(admin.require(Scope::Operator).is_err());
        let op = Auth {
            tenant_id: TenantId::default(),
            key_id: "k".into(),
            scopes: vec![Scope::Operator],
        };
        assert!(op.require(Scope::Read).is_err() && op.require(Scope::Operator).is_ok());
        let (secret, row) = new_key(&TenantId::from("t"), &[Scope::Read]);
        assert_eq!(row.hash, hash_key(&secret));
        assert!(!row.hash.contains(&secret[3..]));
    }
}
