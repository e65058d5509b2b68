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
    refuse_nul(bytes)?;
    // Every body is an object; serde would read a struct from an array
    // too (`[null, null]` as a struct of two optional fields).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::validation(
            "body",
            "expected an object, not an array",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // serde_json reports some shape errors (an integer where an enum's
        // string belongs) as syntax; a body that parses as JSON is not
        // malformed, and the field at fault is named instead.
        let well_formed = || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        if (inner.is_syntax() || inner.is_eof()) && !well_formed() {
            ApiError::bad_request(format!("malformed JSON: {inner}"))
        } else if inner.is_syntax() {
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            ApiError::validation(field, "expected a string naming one of the accepted values")
        } else {
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            ApiError::validation(field, clean_message(&inner.to_string()))
        }
    })?;
    // One value and nothing after it but whitespace, as `serde_json::from_slice`
    // insists too: `{"name":"a"} {"name":"b"}` is not a body to half-read.
    de.end()
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// A NUL (`\u0000`) anywhere in a body's strings is refused, naming the
/// JSON path: no field has a use for one, and PostgreSQL cannot store it in
/// text (`invalid byte sequence for encoding "UTF8": 0x00`) where SQLite
/// can, so refusing it here answers alike on both backends.
fn refuse_nul(bytes: &[u8]) -> Result<(), ApiError> {
    // Cheap in the common case: only a body that spells the escape is read twice.
    if !bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // the typed parse reports the syntax error
    };
    match nul_path(&value, String::new()) {
        Some(path) => Err(ApiError::validation(
            if path.is_empty() { "body".into() } else { path },
            "must not contain NUL (U+0000)",
        )),
        None => Ok(()),
    }
}

/// The JSON path (`to[0].locale`) of the first string or key holding NUL.
fn nul_path(v: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('\0') => Some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                Some(here)
            } else {
                nul_path(x, here)
            }
        }),
        _ => None,
    }
}

/// serde's message in the API's words: no Rust type names (`struct
/// EventRequest`, `i64`, `usize`), JSON's names for JSON's types, and
/// no line/column of a value that parsed.
pub fn clean_message(message: &str) -> String {
    let m = match message.split_once(" at line ") {
        Some((head, tail)) if tail.contains(" column ") => head,
        _ => message,
    };
    match m {
        "invalid digit found in string" => return "expected an integer".into(),
        "cannot parse integer from empty string" => {
            return "expected an integer, not nothing".into()
        }
        "number too large to fit in target type" | "number too small to fit in target type" => {
            return "the number is out of range".into()
        }
        "invalid float literal" => return "expected a number".into(),
        _ => {}
    }
    if let Some((_, name)) = m.split_once("did not match any variant of untagged enum ") {
        return match name.trim() {
            "RecipientInput" => {
                "expected a subscriber id (a string) or an inline recipient (an object)".into()
            }
            _ => "matches none of the accepted forms".into(),
        };
    }
    let mut out = m.to_string();
    for (from, to) in [
        ("invalid type: map", "invalid type: object"),
        ("invalid type: sequence", "invalid type: array"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected an object"),
        ("expected a borrowed string", "expected a string"),
    ] {
        out = out.replace(from, to);
    }
    out = replace_named(&out, "expected struct ", "expected an object");
    out = replace_named(&out, "expected enum ", "expected a string");
    out = replace_named(&out, "expected tuple struct ", "expected a value");
    for (ty, to) in [
        ("u8", "a non-negative integer"),
        ("u16", "a non-negative integer"),
        ("u32", "a non-negative integer"),
        ("u64", "a non-negative integer"),
        ("usize", "a non-negative integer"),
        ("i8", "an integer"),
        ("i16", "an integer"),
        ("i32", "an integer"),
        ("i64", "an integer"),
        ("isize", "an integer"),
        ("f32", "a number"),
        ("f64", "a number"),
    ] {
        out = replace_word(&out, &format!("expected {ty}"), &format!("expected {to}"));
    }
    out
}

/// Replaces `prefix` and the identifier after it with `with`.
fn replace_named(s: &str, prefix: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at]);
        out.push_str(with);
        let after = &rest[at + prefix.len()..];
        let end = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Replaces `word` where it is not followed by more of an identifier.
fn replace_word(s: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(word) {
        let after = &rest[at + word.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = after;
    }
    out.push_str(rest);
    out
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

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Optional {
        a: Option<u32>,
        b: Option<u32>,
    }

    #[test]
    fn an_array_is_no_object_even_where_serde_would_take_it() {
        let e = parse::<Optional>(b" [null, null]").unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (422, Some("body")));
        assert!(parse::<Optional>(br#"{"a": 1}"#).is_ok());
    }

    #[test]
    fn messages_name_json_types_not_rust_types() {
        let e = parse::<T>(br#""text""#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
        assert!(
            !e.detail.contains("struct") && !e.detail.contains(" T"),
            "{}",
            e.detail
        );
        assert!(e.detail.contains("expected an object"), "{}", e.detail);
        let e = parse::<T>(br#"{"name": "x", "n": -1}"#).unwrap_err();
        assert!(
            e.detail.contains("expected a non-negative integer") && !e.detail.contains("u32"),
            "{}",
            e.detail
        );
        let e = parse::<T>(br#"{"name": {}}"#).unwrap_err();
        assert!(e.detail.contains("invalid type: object"), "{}", e.detail);
        assert!(!e.detail.contains("line"), "{}", e.detail);
        assert_eq!(clean_message("expected u32x"), "expected u32x");
        assert_eq!(
            clean_message("data did not match any variant of untagged enum Shape"),
            "matches none of the accepted forms"
        );
    }

    #[test]
    fn a_well_formed_body_of_the_wrong_shape_is_not_malformed() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        enum Kind {
            A,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct K {
            kind: Kind,
        }
        let e = parse::<K>(br#"{"kind": 3}"#).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.field.as_deref()),
            (422, Some("kind")),
            "{}",
            e.detail
        );
        assert_eq!(
            parse::<K>(br#"{"kind": 3"#).unwrap_err().status.as_u16(),
            400
        );
    }

    #[test]
    fn nul_is_refused_where_it_is() {
        let e =
            parse::<serde_json::Value>(br#"{"to": ["a", {"locale": "e\u0000n"}]}"#).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.field.as_deref()),
            (422, Some("to[1].locale"))
        );
        let e = parse::<serde_json::Value>(br#"{"k\u0000": 1}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("k\0"));
        assert!(parse::<serde_json::Value>(br#"{"a": "\\u0000"}"#).is_ok());
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
