//! Vonage callbacks: the `sig` parameter (MD5 of the sorted parameters and
//! the secret, or their HMAC) with a signed `timestamp`, over a query, a
//! form or a flat JSON object; then delivery receipts and incoming messages.
//!
//! The signed run picks the signature method named by the input's
//! `x-fuzz-signature-method` header (the provider ignores that header);
//! `md5hash`, the dashboard default, otherwise.
#![no_main]

use foghorn_fuzz::{assert_authorized, form, hex, inbound, provider, query_of, Request, NOW};
use foghorn_providers::Provider;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use std::sync::LazyLock;

const SECRET: &str = "fuzz-vonage-signature-secret";
const URL: &str = "https://foghorn.example/hooks/vonage?tenant=t1";
const METHODS: [&str; 5] = ["md5hash", "md5", "sha1", "sha256", "sha512"];
/// Our own callback URL's parameters, which Vonage does not sign.
const ROUTING: [&str; 2] = ["tenant", "n"];

static PROVIDERS: LazyLock<Vec<Provider>> = LazyLock::new(|| {
    METHODS
        .iter()
        .map(|method| {
            provider(json!({
                "kind": "vonage",
                "api_key": "fuzzkey",
                "api_secret": "fuzz-api-secret",
                "signature_secret": SECRET,
                "signature_method": method,
                "from": "Foghorn",
                "currency": "EUR",
            }))
        })
        .collect()
});

fn hmac_hex<M: Mac + hmac::digest::KeyInit>(data: &str) -> String {
    let mut mac = <M as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// `&name=value` for each parameter but `sig` and our routing ones, sorted
/// by name (stably), `&` and `=` in values made `_`; then hashed by `method`.
fn sig(method: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "sig" && !ROUTING.contains(&k.as_str()))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut data = String::new();
    for (k, v) in sorted {
        data.push('&');
        data.push_str(k);
        data.push('=');
        data.push_str(&v.replace(['&', '='], "_"));
    }
    match method {
        "md5" => hmac_hex::<Hmac<Md5>>(&data),
        "sha1" => hmac_hex::<Hmac<Sha1>>(&data),
        "sha256" => hmac_hex::<Hmac<Sha256>>(&data),
        "sha512" => hmac_hex::<Hmac<Sha512>>(&data),
        _ => {
            let mut md5 = Md5::new();
            md5.update(data.as_bytes());
            md5.update(SECRET.as_bytes());
            hex(&md5.finalize())
        }
    }
}

/// Flat JSON members as text, as the provider reads a JSON callback.
fn flat(object: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    object
        .iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((k.clone(), text))
        })
        .collect()
}

/// Signs in place; `false` when the request cannot carry a signature (a
/// JSON body that is not an object).
fn sign(req: &mut Request, method: &str) -> bool {
    let stamp = format!("timestamp={NOW}");
    if req.is_get() {
        // Ours go first: the provider reads the first `sig` and `timestamp`.
        let (url, fragment) = match req.url.split_once('#') {
            Some((u, f)) => (u.to_string(), Some(f.to_string())),
            None => (req.url.clone(), None),
        };
        let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p);
        let query = query_of(&req.url);
        let rest = if query.is_empty() {
            String::new()
        } else {
            format!("&{query}")
        };
        let signature = sig(method, &form(format!("{stamp}{rest}").as_bytes()));
        let mut signed = format!("{path}?sig={signature}&{stamp}{rest}");
        if let Some(f) = fragment {
            signed.push('#');
            signed.push_str(&f);
        }
        req.url = signed;
        return true;
    }
    if req.is_json() {
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&req.body) else {
            return false;
        };
        object.insert("timestamp".into(), Value::String(NOW.to_string()));
        // Read back as the provider will, numbers included.
        let text = serde_json::to_vec(&object).unwrap();
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&text) else {
            return false;
        };
        let signature = sig(method, &flat(&object));
        object.insert("sig".into(), Value::String(signature));
        req.body = serde_json::to_vec(&object).unwrap();
        return true;
    }
    let mut unsigned = stamp.into_bytes();
    if !req.body.is_empty() {
        unsigned.push(b'&');
        unsigned.extend_from_slice(&req.body);
    }
    let signature = sig(method, &form(&unsigned));
    let mut body = format!("sig={signature}&").into_bytes();
    body.extend_from_slice(&unsigned);
    req.body = body;
    true
}

fuzz_target!(|data: &[u8]| {
    let mut req = Request::parse(data, URL, "application/x-www-form-urlencoded");
    let chosen = req
        .header("x-fuzz-signature-method")
        .and_then(|m| {
            METHODS
                .iter()
                .position(|known| m.eq_ignore_ascii_case(known))
        })
        .unwrap_or(0);
    let _ = inbound(&PROVIDERS[chosen], &req);
    if sign(&mut req, METHODS[chosen]) {
        assert_authorized(&inbound(&PROVIDERS[chosen], &req), &req);
    }
});
