//! Twilio callbacks: `X-Twilio-Signature` (HMAC-SHA1 of the URL and the
//! sorted POST parameters), then status callbacks and incoming messages.
#![no_main]

use base64::Engine as _;
use foghorn_fuzz::{assert_authorized, form, inbound, provider, Request};
use foghorn_providers::Provider;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sha1::Sha1;
use std::collections::BTreeMap;
use std::sync::LazyLock;

const AUTH_TOKEN: &str = "fuzz-twilio-auth-token";
const URL: &str = "https://foghorn.example/hooks/twilio?tenant=t1&n=ntf_01";

static PROVIDER: LazyLock<Provider> = LazyLock::new(|| {
    provider(json!({
        "kind": "twilio",
        "account_sid": "AC00000000000000000000000000000000",
        "auth_token": AUTH_TOKEN,
        "phone_number": "+15555550100",
    }))
});

/// base64(HMAC-SHA1(auth token, URL + each key and its distinct values,
/// keys and values sorted)); a GET signs its URL alone.
fn sign(req: &Request) -> String {
    let params = if req.is_get() {
        Vec::new()
    } else {
        form(&req.body)
    };
    let mut sorted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in &params {
        sorted.entry(k).or_default().push(v);
    }
    let mut data = req.url.clone();
    for (key, mut values) in sorted {
        values.sort_unstable();
        values.dedup();
        for value in values {
            data.push_str(key);
            data.push_str(value);
        }
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(AUTH_TOKEN.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fuzz_target!(|data: &[u8]| {
    let mut req = Request::parse(data, URL, "application/x-www-form-urlencoded");
    let _ = inbound(&PROVIDER, &req);
    req.set_header("x-twilio-signature", sign(&req));
    assert_authorized(&inbound(&PROVIDER, &req), &req);
});
