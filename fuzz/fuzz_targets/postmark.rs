//! Postmark webhooks: Basic credentials, then one JSON record.
#![no_main]

use foghorn_fuzz::{assert_authorized, basic, inbound, provider, Request};
use foghorn_providers::Provider;
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use std::sync::LazyLock;

const USER: &str = "fuzz";
const PASSWORD: &str = "fuzz-postmark-password";
const URL: &str = "https://foghorn.example/hooks/postmark?tenant=t1";

static PROVIDER: LazyLock<Provider> = LazyLock::new(|| {
    provider(json!({
        "kind": "postmark",
        "server_token": "fuzz-server-token",
        "from": "Foghorn <noreply@foghorn.example>",
        "webhook_username": USER,
        "webhook_password": PASSWORD,
    }))
});

fuzz_target!(|data: &[u8]| {
    let mut req = Request::parse(data, URL, "application/json");
    let _ = inbound(&PROVIDER, &req);
    req.set_header("authorization", basic(USER, PASSWORD));
    assert_authorized(&inbound(&PROVIDER, &req), &req);
});
