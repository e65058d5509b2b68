//! Mailgun webhooks: the JSON body's `signature` block (HMAC-SHA256 of
//! timestamp and token), then `event-data`.
//!
//! The raw run posts the input's body as the whole webhook. The signed run
//! takes it as `event-data` and wraps it in a body signed with the test key
//! (the timestamp as a string or, for odd-length bodies, as a number: Mailgun
//! has sent both).
#![no_main]

use foghorn_fuzz::{assert_authorized, hex, inbound, provider, Request, NOW};
use foghorn_providers::Provider;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::LazyLock;

const SIGNING_KEY: &str = "fuzz-mailgun-signing-key";
const TOKEN: &str = "5f3c0d6c3b9e4f0c8b0fa4a7e51d2b9e0a6c1f7e2d3b4a59";
const URL: &str = "https://foghorn.example/hooks/mailgun?tenant=t1";

static PROVIDER: LazyLock<Provider> = LazyLock::new(|| {
    provider(json!({
        "kind": "mailgun",
        "api_key": "fuzz-api-key",
        "domain": "mg.foghorn.example",
        "from": "Foghorn <noreply@mg.foghorn.example>",
        "webhook_signing_key": SIGNING_KEY,
    }))
});

fn signed_body(event_data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNING_KEY.as_bytes()).unwrap();
    mac.update(format!("{NOW}{TOKEN}").as_bytes());
    let signature = hex(&mac.finalize().into_bytes());
    let timestamp = if event_data.len() % 2 == 1 {
        json!(NOW)
    } else {
        json!(NOW.to_string())
    };
    let head = json!({"timestamp": timestamp, "token": TOKEN, "signature": signature});
    let mut body = format!(r#"{{"signature":{head},"event-data":"#).into_bytes();
    body.extend_from_slice(event_data);
    body.push(b'}');
    body
}

fuzz_target!(|data: &[u8]| {
    let mut req = Request::parse(data, URL, "application/json");
    let _ = inbound(&PROVIDER, &req);
    // Signed only when the wrapped body is one JSON value with exactly our
    // two members; an input that is not a JSON value on its own (or that
    // smuggles in members of its own) is rightly refused.
    let event_data = std::mem::take(&mut req.body);
    req.body = signed_body(&event_data);
    let result = inbound(&PROVIDER, &req);
    let whole = serde_json::from_slice::<Value>(&event_data).is_ok()
        && serde_json::from_slice::<Value>(&req.body).is_ok();
    if whole {
        assert_authorized(&result, &req);
    }
});
