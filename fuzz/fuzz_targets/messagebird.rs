//! MessageBird callbacks: the `MessageBird-Signature-JWT` header (HS256,
//! HS384 or HS512 over claims that hash the URL and the body), then status
//! reports and incoming messages.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use foghorn_fuzz::{assert_authorized, hex, inbound, provider, Request, NOW};
use foghorn_providers::Provider;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::sync::LazyLock;

const SIGNING_KEY: &str = "fuzz-messagebird-signing-key";
const URL: &str = "https://foghorn.example/hooks/messagebird?tenant=t1";

static PROVIDER: LazyLock<Provider> = LazyLock::new(|| {
    provider(json!({
        "kind": "messagebird",
        "access_key": "fuzz-access-key",
        "originator": "Foghorn",
        "signing_key": SIGNING_KEY,
    }))
});

fn mac<M: Mac + KeyInit>(data: &[u8]) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(SIGNING_KEY.as_bytes()).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The JWT MessageBird would send for this request; the algorithm varies
/// with the body's length so all three are exercised.
fn jwt(req: &Request) -> String {
    let alg = ["HS256", "HS384", "HS512"][req.body.len() % 3];
    let mut claims = json!({
        "iss": "MessageBird",
        "nbf": NOW - 5,
        "exp": NOW + 60,
        "jti": "fuzz-jti",
        "url_hash": hex(&Sha256::digest(req.url.as_bytes())),
    });
    if !req.body.is_empty() {
        claims["payload_hash"] = json!(hex(&Sha256::digest(&req.body)));
    }
    let header = B64URL.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
    let claims = B64URL.encode(claims.to_string());
    let signed = format!("{header}.{claims}");
    let signature = match alg {
        "HS256" => mac::<Hmac<Sha256>>(signed.as_bytes()),
        "HS384" => mac::<Hmac<Sha384>>(signed.as_bytes()),
        _ => mac::<Hmac<Sha512>>(signed.as_bytes()),
    };
    format!("{signed}.{}", B64URL.encode(signature))
}

fuzz_target!(|data: &[u8]| {
    let mut req = Request::parse(data, URL, "application/x-www-form-urlencoded");
    let _ = inbound(&PROVIDER, &req);
    req.set_header("messagebird-signature-jwt", jwt(&req));
    assert_authorized(&inbound(&PROVIDER, &req), &req);
});
