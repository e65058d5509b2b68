//! A JSON body extractor whose every rejection is problem+json and names
//! the field at fault (axum's own answers in plain text).

use super::problem::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

/// Deepest nesting accepted in a body; deeper input is refused before it can
/// exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 64;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            other if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::too_large()
            }
            other => ApiError::bad_request(other.body_text()),
        })?;
        parse(&bytes).map(ApiJson)
    }
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if nesting_depth(bytes) > MAX_DEPTH {
        return Err(ApiError::bad_request(format!(
            "JSON nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!("malformed JSON: {inner}"))
        } else {
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            ApiError::validation(field, inner.to_string())
        }
    })?;
    // One value and nothing after it but whitespace, as `serde_json::from_slice`
    // insists too: `{"name":"a"} {"name":"b"}` is not a body to half-read.
    de.end()
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// Bracket depth outside strings; a cheap pre-check before parsing.
pub(crate) fn nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct T {
        name: String,
        n: Option<u32>,
    }

    #[test]
    fn names_the_field_and_tells_syntax_from_shape() {
        let e = parse::<T>(br#"{"name": "x", "n": "seven"}"#).unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (422, Some("n")));
        let e = parse::<T>(br#"{"name": "x""#).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(
            parse::<serde_json::Value>(deep.as_bytes())
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
        assert_eq!(nesting_depth(br#"{"a": "[[[[", "b": [1]}"#), 2);
    }

    #[test]
    fn refuses_anything_after_the_value() {
        // Found by the event_json fuzz target: a valid object followed by
        // the rest of a mangled body was accepted, the tail ignored.
        for body in [
            &br#"{"name": "x"}d","to":["owner-42"]}"#[..],
            br#"{"name": "x"} {"name": "y"}"#,
            br#"{"name": "x"}]"#,
        ] {
            let e = parse::<T>(body).unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{}", String::from_utf8_lossy(body));
            assert!(e.detail.contains("trailing characters"), "{}", e.detail);
        }
        let ok = parse::<T>(b" {\"name\": \"x\"} \r\n\t").unwrap();
        assert_eq!(ok.name, "x");
    }
}
