//! Building blocks shared by the providers' callback-verification schemes:
//! keyed hashes, constant-time comparison, replay windows and the
//! form-urlencoded parameter handling most SMS and email callbacks use.
//!
//! Each provider's own scheme (what exactly is signed, how it is encoded)
//! stays in that provider's `inbound` module; only the primitives are here, so
//! that every scheme compares in constant time and judges timestamps the same
//! way.

use foghorn_core::{InboundError, InboundRequest};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Keys a MAC. HMAC accepts keys of any length (RFC 2104 hashes long ones and
/// pads short ones), so this only fails for a MAC type with a fixed key size;
/// it is still a typed error so no verification path can panic.
pub fn keyed<M: Mac + KeyInit>(key: &[u8]) -> Result<M, InboundError> {
    <M as KeyInit>::new_from_slice(key)
        .map_err(|_| InboundError::NotConfigured("the signing key cannot be used".into()))
}

pub fn hmac_sha1(key: &[u8], data: &[u8]) -> Result<[u8; 20], InboundError> {
    let mut mac = keyed::<Hmac<Sha1>>(key)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<[u8; 32], InboundError> {
    let mut mac = keyed::<Hmac<Sha256>>(key)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

pub fn hmac_sha512(key: &[u8], data: &[u8]) -> Result<[u8; 64], InboundError> {
    let mut mac = keyed::<Hmac<Sha512>>(key)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

/// Lower-case hex SHA-256, the form hash claims (MessageBird's `url_hash`,
/// `payload_hash`) are written in.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub use foghorn_core::hex::hex;

/// Compares secrets or signatures without leaking, through timing, how many
/// leading bytes matched. The length is not secret (signature lengths are
/// fixed by their scheme), so unequal lengths return early.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Refuses a signed timestamp (unix seconds) further than `tolerance` from
/// `now` either way: a stale one is a replay, a future one a forgery or a
/// clock far off. Both answer 401, so the provider retries later.
pub fn check_timestamp(ts: i64, now: i64, tolerance: Duration) -> Result<(), InboundError> {
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if ts < now.saturating_sub(tolerance) {
        return Err(InboundError::Unauthorized(format!(
            "timestamp {ts} is older than the {tolerance}s replay window"
        )));
    }
    if ts > now.saturating_add(tolerance) {
        return Err(InboundError::Unauthorized(format!(
            "timestamp {ts} is more than {tolerance}s in the future"
        )));
    }
    Ok(())
}

/// The unix-seconds timestamp a scheme signs, from header `name`, inside
/// `tolerance` of the request's time.
pub fn signed_timestamp(
    req: &InboundRequest<'_>,
    name: &str,
    tolerance: Duration,
) -> Result<i64, InboundError> {
    let unauthorized = |why: String| InboundError::Unauthorized(why);
    let raw = req
        .header(name)
        .ok_or_else(|| unauthorized(format!("no {name} header")))?;
    let ts: i64 = raw
        .trim()
        .parse()
        .map_err(|_| unauthorized(format!("{name} is not a number")))?;
    check_timestamp(ts, req.now, tolerance)?;
    Ok(ts)
}

/// Decodes an `application/x-www-form-urlencoded` body or query string into
/// its pairs, in order, repeated keys kept (`+` is a space, `%XX` a byte).
pub fn parse_form(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input).into_owned().collect()
}

/// The query string of a URL (without `?` and without any `#fragment`), or
/// `""` when it has none.
pub fn query_of(url: &str) -> &str {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    url.split_once('?').map_or("", |(_, query)| query)
}

/// The decoded query parameters of a URL.
pub fn query_params(url: &str) -> Vec<(String, String)> {
    parse_form(query_of(url).as_bytes())
}

/// The first value of `key`, for schemes that send each parameter once.
pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Like [`param`], but an empty value counts as absent (form posts send
/// `ErrorCode=` for "no error").
pub fn non_empty<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    param(params, key).filter(|v| !v.is_empty())
}

/// Whether the media type of a `content-type` header is `expected`
/// (parameters such as `charset` ignored, case-insensitive).
pub fn is_content_type(header: Option<&str>, expected: &str) -> bool {
    header
        .and_then(|h| h.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmacs_match_rfc_4231_and_2202_vectors() {
        // RFC 4231 test case 2 and RFC 2202 test case 2 (key "Jefe").
        let data = b"what do ya want for nothing?";
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", data).unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", data).unwrap()),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert!(hex(&hmac_sha512(b"Jefe", data).unwrap()).starts_with("164b7a7bfcf819e2"));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn compares_and_windows() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        let five = Duration::from_secs(300);
        assert!(check_timestamp(1_000, 1_000, five).is_ok());
        assert!(check_timestamp(700, 1_000, five).is_ok());
        assert!(check_timestamp(1_300, 1_000, five).is_ok());
        assert!(matches!(
            check_timestamp(699, 1_000, five),
            Err(InboundError::Unauthorized(m)) if m.contains("older")
        ));
        assert!(matches!(
            check_timestamp(1_301, 1_000, five),
            Err(InboundError::Unauthorized(m)) if m.contains("future")
        ));
    }

    #[test]
    fn parses_forms_and_queries() {
        let pairs = parse_form(b"To=%2B15550100&Body=Hi+there%21&E=&E=2");
        let expected = [
            ("To", "+15550100"),
            ("Body", "Hi there!"),
            ("E", ""),
            ("E", "2"),
        ];
        let got: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(param(&pairs, "E"), Some(""));
        assert_eq!(non_empty(&pairs, "E"), None);
        assert_eq!(query_of("https://h/p?a=1&b=2#frag"), "a=1&b=2");
        assert_eq!(query_of("https://h/p"), "");
        assert_eq!(param(&query_params("https://h/?t=a%20b"), "t"), Some("a b"));
        assert!(is_content_type(
            Some("Application/JSON; charset=utf-8"),
            "application/json"
        ));
        assert!(!is_content_type(None, "application/json"));
    }
}
