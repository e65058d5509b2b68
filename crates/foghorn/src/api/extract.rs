//! Query-string and path extractors whose every rejection is problem+json
//! naming the parameter at fault, and the one check that keeps control
//! characters (NUL above all) out of ids, cursors and keys.
//!
//! axum's own `Query` and `Path` answer plain-text 400s, accept a repeated
//! parameter by keeping one of its values, and pass a NUL through to the
//! database, where PostgreSQL refuses it with a 500 and SQLite stores it.
//! Every handler takes these instead, so the answer is the same everywhere.

use super::problem::ApiError;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{PathRejection, RawPathParamsRejection};
use axum::extract::{FromRequestParts, Path, RawPathParams};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use utoipa::openapi::path::ParameterIn;
use utoipa::IntoParams;

/// Refuses a text value holding a control character: the engine's one
/// rule, answered as a 422 naming the parameter.
pub fn plain_text(field: &str, value: &str) -> Result<(), ApiError> {
    Ok(foghorn_engine::fields::plain_text(field, value)?)
}

/// A query string read into `T`, whose `IntoParams` declaration is also
/// the list of parameters accepted: the document and the parser agree.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + IntoParams,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        let known: Vec<String> = T::into_params(|| Some(ParameterIn::Query))
            .into_iter()
            .map(|p| p.name)
            .collect();
        check_query(raw, &known)?;
        parse_query(raw).map(ApiQuery)
    }
}

/// Decodes every pair strictly (valid percent-encoding and UTF-8) and
/// refuses unknown, repeated and control-character parameters.
fn check_query(raw: &str, known: &[String]) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(k).ok_or_else(|| {
            ApiError::bad_request("a query parameter name is not valid percent-encoded UTF-8")
        })?;
        plain_text("query", &key)?;
        if !known.contains(&key) {
            let expected = match known.len() {
                0 => "this operation takes no query parameters".to_string(),
                _ => format!("expected one of {}", known.join(", ")),
            };
            return Err(ApiError::validation(
                key.clone(),
                format!("unknown query parameter `{key}`; {expected}"),
            ));
        }
        let value = decode(v).ok_or_else(|| {
            ApiError::bad_request(format!("`{key}` is not valid percent-encoded UTF-8"))
                .with_field(key.clone())
        })?;
        plain_text(&key, &value)?;
        if !seen.insert(key.clone()) {
            return Err(ApiError::validation(
                key.clone(),
                format!("`{key}` is given more than once; give it once"),
            ));
        }
    }
    Ok(())
}

/// `application/x-www-form-urlencoded` decoding that refuses what
/// `form_urlencoded` would silently repair (bad escapes, invalid UTF-8).
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let message = super::json::clean_message(&e.into_inner().to_string());
        let field = if field == "." {
            "query".to_string()
        } else {
            field
        };
        ApiError::validation(field, message)
    })
}

/// Path parameters read into `T`, with a problem naming the segment at
/// fault for undecodable or control-character values.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(raw_rejection)?;
        for (key, value) in &raw {
            plain_text(key, value)?;
        }
        let Path(value) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(path_rejection)?;
        Ok(ApiPath(value))
    }
}

fn raw_rejection(e: RawPathParamsRejection) -> ApiError {
    match e {
        RawPathParamsRejection::InvalidUtf8InPathParam(e) => {
            let text = e.body_text();
            // axum's text is "Invalid UTF-8 in `key`".
            let key = text.split('`').nth(1).unwrap_or("path").to_string();
            ApiError::bad_request(format!(
                "the `{key}` path segment is not valid percent-encoded UTF-8"
            ))
            .with_field(key)
        }
        other => ApiError::internal(&other.body_text()),
    }
}

fn path_rejection(e: PathRejection) -> ApiError {
    match e {
        PathRejection::FailedToDeserializePathParams(e) => match e.into_kind() {
            ErrorKind::InvalidUtf8InPathParam { key } => ApiError::bad_request(format!(
                "the `{key}` path segment is not valid percent-encoded UTF-8"
            ))
            .with_field(key),
            ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::DeserializeError { key, .. } => {
                ApiError::validation(key.clone(), format!("`{key}` is not valid here"))
            }
            other => ApiError::internal(&other),
        },
        other => ApiError::internal(&other.body_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, IntoParams)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        limit: Option<i64>,
        cursor: Option<String>,
    }

    fn query(raw: &str) -> Result<Q, ApiError> {
        let known: Vec<String> = Q::into_params(|| Some(ParameterIn::Query))
            .into_iter()
            .map(|p| p.name)
            .collect();
        check_query(raw, &known)?;
        parse_query(raw)
    }

    #[test]
    fn every_query_rejection_names_its_parameter() {
        for (raw, status, field) in [
            ("limit=abc", 422, "limit"),
            ("limit=35811110172416898332926599495680", 422, "limit"),
            ("foo=1", 422, "foo"),
            ("limit=1&limit=2", 422, "limit"),
            ("cursor=%FF", 400, "cursor"),
            ("cursor=a%00b", 422, "cursor"),
            ("cursor=%zz", 400, "cursor"),
        ] {
            let e = query(raw).err().unwrap_or_else(|| panic!("{raw} accepted"));
            assert_eq!(
                (e.status.as_u16(), e.field.as_deref()),
                (status, Some(field)),
                "{raw}: {}",
                e.detail
            );
            assert!(!e.detail.contains("i64"), "{raw}: {}", e.detail);
        }
        let q = query("limit=5&cursor=ntf_1+2").unwrap();
        assert_eq!((q.limit, q.cursor.as_deref()), (Some(5), Some("ntf_1 2")));
        assert!(query("").is_ok());
    }

    #[test]
    fn control_characters_are_refused_and_text_is_not() {
        assert!(plain_text("id", "owner-42 é ✓").is_ok());
        for bad in ["a\0b", "a\u{7}", "a\u{7f}", "a\u{85}", "a\nb"] {
            assert_eq!(plain_text("id", bad).unwrap_err().status.as_u16(), 422);
        }
    }
}
