//! Bandwidth callbacks: Basic credentials, then a JSON array of events.
#![no_main]

use foghorn_fuzz::{assert_authorized, basic, inbound, provider, Request};
use foghorn_providers::Provider;
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use std::sync::LazyLock;

const USER: &str = "fuzz";
const PASSWORD: &str = "fuzz-bandwidth-password";
const URL: &str = "https://foghorn.example/hooks/bandwidth?tenant=t1";

static PROVIDER: LazyLock<Provider> = LazyLock::new(|| {
    provider(json!({
        "kind": "bandwidth",
        "account_id": "9900000",
        "username": "fuzz-api-user",
        "password": "fuzz-api-password",
        "messaging_application_id": "93de2206-9669-4e07-948d-329f4b722ee2",
        "from": "+15555550100",
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
