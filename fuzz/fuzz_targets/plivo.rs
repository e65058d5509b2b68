//! Plivo callbacks: signature V3 (HMAC-SHA256 of the normalised URL, the
//! POST parameters and a nonce), then status callbacks and incoming messages.
#![no_main]

use base64::Engine as _;
use foghorn_fuzz::{assert_authorized, form, inbound, provider, query_of, Request};
use foghorn_providers::Provider;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const AUTH_TOKEN: &str = "fuzz-plivo-auth-token";
const URL: &str = "https://foghorn.example/hooks/plivo?tenant=t1&n=ntf_01";
const NONCE: &str = "05429567804466091622";

static PROVIDER: LazyLock<Provider> = LazyLock::new(|| {
    provider(json!({
        "kind": "plivo",
        "auth_id": "MA0000000000000000AA",
        "auth_token": AUTH_TOKEN,
        "from": "+15555550100",
    }))
});

/// Keys and each key's values, both sorted.
fn sorted(pairs: &[(String, String)]) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in pairs {
        map.entry(k).or_default().push(v);
    }
    map.values_mut().for_each(|values| values.sort_unstable());
    map
}

/// The V3 base string: scheme://host/path, the sorted query (`k=v` joined
/// by `&`), and for a POST with parameters `?query`, `.` when the query is
/// not empty, then each POST key immediately followed by its value.
fn base(req: &Request, post: &[(String, String)]) -> String {
    let url = req.url.split_once('#').map_or(req.url.as_str(), |(u, _)| u);
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    let query = sorted(&form(query_of(&req.url).as_bytes()))
        .into_iter()
        .flat_map(|(k, values)| values.into_iter().map(move |v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join("&");
    if req.is_get() || post.is_empty() {
        return if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
    }
    let mut out = format!("{path}?{query}");
    if !query.is_empty() {
        out.push('.');
    }
    for (k, values) in sorted(post) {
        for v in values {
            out.push_str(k);
            out.push_str(v);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let mut req = Request::parse(data, URL, "application/x-www-form-urlencoded");
    let _ = inbound(&PROVIDER, &req);
    // The nonce is the input's when it names one.
    let nonce = req
        .header("x-plivo-signature-v3-nonce")
        .unwrap_or(NONCE)
        .to_string();
    let post = if req.is_get() {
        Vec::new()
    } else {
        form(&req.body)
    };
    let signed = format!("{}.{nonce}", base(&req, &post));
    let mut mac = Hmac::<Sha256>::new_from_slice(AUTH_TOKEN.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    req.set_header("x-plivo-signature-v3-nonce", nonce);
    req.set_header("x-plivo-signature-v3", signature);
    assert_authorized(&inbound(&PROVIDER, &req), &req);
});
