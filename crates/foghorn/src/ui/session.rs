//! Dashboard sessions: an API key is typed once and exchanged for a
//! session cookie (HttpOnly, SameSite=Strict, Secure behind https), so the
//! key never sits in the browser. Each session has its own form token;
//! every POST must carry it. Sign-out deletes the session; revoking the key
//! ends it too (the store joins the key on every lookup).

use super::page::{self, Html};
use crate::api::auth::{Auth, Scope};
use crate::api::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use foghorn_core::TenantId;
use std::sync::Arc;

pub const COOKIE: &str = "foghorn_session";
/// The sign-in form's own token (double submit: cookie and field), since
/// there is no session yet to hold one.
pub const LOGIN_COOKIE: &str = "foghorn_login";
/// A working day; a person signs in again the next morning.
pub const LIFETIME_MS: i64 = 8 * 3_600_000;
/// How long `foghorn demo`'s sign-in link works, once.
pub const LINK_LIFETIME_MS: i64 = 15 * 60_000;

/// A signed-in caller: the key's tenant and scopes, and the form token.
#[derive(Debug, Clone)]
pub struct Session {
    pub auth: Auth,
    pub csrf: String,
}

/// A fresh unguessable token, as URL-safe text.
pub fn random_token() -> String {
    B64.encode(rand::random::<[u8; 32]>())
}

/// Cookie secrets are kept as API keys are: their SHA-256, in hex.
pub use crate::keys::hash_key as hash;

/// The named cookie's value, from every `Cookie` header.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `Set-Cookie` for `name`; `Secure` when Foghorn is served over https.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age_s: i64,
) -> HeaderValue {
    let secure = state
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    HeaderValue::from_str(&cookie_text(name, value, path, max_age_s, secure))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn cookie_text(name: &str, value: &str, path: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age_s}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Starts a session for `auth`; the `Set-Cookie` that carries it.
pub async fn begin(state: &AppState, auth: &Auth) -> Result<HeaderValue, Html> {
    let secret = random_token();
    let now = foghorn_core::clock::now_ms();
    state
        .store
        .create_ui_session(
            &hash(&secret),
            &auth.tenant_id,
            &auth.key_id,
            &random_token(),
            now,
            now + LIFETIME_MS,
        )
        .await
        .map_err(|e| page::failure(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
    Ok(set_cookie(
        state,
        COOKIE,
        &secret,
        "/ui",
        LIFETIME_MS / 1000,
    ))
}

/// A sign-in link for `foghorn demo`: a session row under the link's
/// token that [`super::pages::signin_link`] trades, once, for a real one.
pub async fn link_token(
    state_store: &foghorn_store::Store,
    tenant: &TenantId,
    key_id: &str,
) -> foghorn_store::Result<String> {
    let token = random_token();
    let now = foghorn_core::clock::now_ms();
    state_store
        .create_ui_session(
            &hash(&token),
            tenant,
            key_id,
            "link",
            now,
            now + LINK_LIFETIME_MS,
        )
        .await?;
    Ok(token)
}

/// Why a request has no session: pages send the browser to sign in, forms
/// answer 401.
pub struct SignInFirst {
    get: bool,
}

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        if self.get {
            Redirect::to("/ui/login").into_response()
        } else {
            page::failure(StatusCode::UNAUTHORIZED, "Sign in first.").into_response()
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Session {
    type Rejection = SignInFirst;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, SignInFirst> {
        let rejected = SignInFirst {
            get: parts.method == axum::http::Method::GET,
        };
        let Some(secret) = cookie(&parts.headers, COOKIE) else {
            return Err(rejected);
        };
        let now = foghorn_core::clock::now_ms();
        let Ok(Some(row)) = state.store.ui_session(&hash(&secret), now).await else {
            return Err(rejected);
        };
        // A demo link's row is not a session until it is traded.
        if row.csrf == "link" {
            return Err(rejected);
        }
        Ok(Session {
            auth: Auth::of_session(row.tenant_id, row.key_id, &row.scopes),
            csrf: row.csrf,
        })
    }
}

impl Session {
    /// The key may act (replay, test sends), not only look.
    pub fn admin(&self) -> bool {
        self.auth.has(Scope::Admin)
    }

    pub fn operator(&self) -> bool {
        self.auth.has(Scope::Operator)
    }

    /// Refuses a form without this session's token (403), before it acts.
    pub fn check_form(&self, sent: Option<&str>) -> Result<(), Html> {
        match sent {
            Some(t) if same_token(t, &self.csrf) => Ok(()),
            _ => Err(page::failure(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this dashboard. Reload the page and try again.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_tokens_compare_whole() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; foghorn_session=abc"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("foghorn_login=xyz"),
        );
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, LOGIN_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "foghorn"), None);
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd") && !same_token("abc", "abcd") && !same_token("", "a"));
        assert_eq!(
            cookie_text(COOKIE, "s3", "/ui", 60, true),
            "foghorn_session=s3; Path=/ui; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!cookie_text(COOKIE, "s3", "/ui", 60, false).contains("Secure"));
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
    }
}
