//! Forms and headers as providers send and tests compare them: strict
//! `multipart/form-data` parsing of a recorded request, URL-encoded bodies,
//! Basic credentials and inbound header lists.

use crate::http::Recorded;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq)]
pub struct FormPart {
    pub name: String,
    pub value: String,
    /// The part's own headers, lower-case names, `content-disposition` included.
    pub headers: Vec<(String, String)>,
}

/// Splits a recorded `multipart/form-data` request into its parts, in order
/// (RFC 7578), so a test can assert every field a form carried. Panics on
/// anything malformed: a test should see that, not a missing field.
pub fn form_parts(rec: &Recorded) -> Vec<FormPart> {
    let content_type = rec.header("content-type");
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("not multipart/form-data: {content_type}"));
    let body = std::str::from_utf8(&rec.body).expect("UTF-8 form");
    let delimiter = format!("--{boundary}");
    let mut sections: Vec<&str> = body.split(delimiter.as_str()).collect();
    assert_eq!(sections.remove(0), "", "nothing before the first boundary");
    assert_eq!(sections.pop(), Some("--\r\n"), "closing delimiter");
    sections
        .into_iter()
        .map(|section| {
            let section = section
                .strip_prefix("\r\n")
                .and_then(|s| s.strip_suffix("\r\n"))
                .expect("CRLF around each part");
            let (head, value) = section.split_once("\r\n\r\n").expect("part headers");
            let headers: Vec<(String, String)> = head
                .split("\r\n")
                .map(|line| {
                    let (k, v) = line.split_once(':').expect("header line");
                    (k.trim().to_ascii_lowercase(), v.trim().to_string())
                })
                .collect();
            let disposition = &headers
                .iter()
                .find(|(k, _)| k == "content-disposition")
                .expect("content-disposition")
                .1;
            let name = disposition
                .strip_prefix("form-data; name=\"")
                .and_then(|rest| rest.strip_suffix('"'))
                .unwrap_or_else(|| panic!("a plain field, not a file: {disposition}"))
                .to_string();
            FormPart {
                name,
                value: value.to_string(),
                headers,
            }
        })
        .collect()
}

/// Form-encodes pairs as a provider would post them.
pub fn form_body(list: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in list {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Pairs as `(&str, &str)` for comparing with literals.
pub fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// An `Authorization: Basic` value.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", B64.encode(format!("{user}:{password}")))
}

/// Headers in the shape an inbound request carries them: lower-case names.
pub fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect()
}
