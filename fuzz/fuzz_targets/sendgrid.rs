//! SendGrid's Signed Event Webhook: ECDSA P-256 over the timestamp header
//! and the raw body, then a JSON array of events.
//!
//! The key pair is derived from a fixed seed, so runs are reproducible; the
//! provider is configured with its public half as SendGrid shows it (base64
//! DER). Odd-length bodies are signed with the high-s form of the signature,
//! which SendGrid's own signer can produce and the provider must accept.
#![no_main]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use foghorn_fuzz::{assert_authorized, inbound, provider, Request, NOW};
use foghorn_providers::Provider;
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const SPKI_P256_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
const URL: &str = "https://foghorn.example/hooks/sendgrid?tenant=t1";

static KEY: LazyLock<SigningKey> = LazyLock::new(|| {
    let seed = Sha256::digest(b"foghorn fuzz sendgrid signing key");
    SigningKey::from_slice(&seed).expect("a P-256 scalar")
});

static PROVIDER: LazyLock<Provider> = LazyLock::new(|| {
    // SubjectPublicKeyInfo: the DER header for an id-ecPublicKey on
    // prime256v1 with a 65-byte uncompressed point, then the point.
    let mut der = SPKI_P256_PREFIX.to_vec();
    der.extend_from_slice(KEY.verifying_key().to_encoded_point(false).as_bytes());
    provider(json!({
        "kind": "sendgrid",
        "api_key": "SG.fuzz",
        "from": "Foghorn <noreply@foghorn.example>",
        "webhook_verification_key": B64.encode(&der),
    }))
});

fuzz_target!(|data: &[u8]| {
    let mut req = Request::parse(data, URL, "application/json");
    let _ = inbound(&PROVIDER, &req);
    let timestamp = NOW.to_string();
    let mut signed = timestamp.clone().into_bytes();
    signed.extend_from_slice(&req.body);
    let mut signature: Signature = KEY.sign(&signed);
    if req.body.len() % 2 == 1 {
        let (r, s) = signature.split_scalars();
        signature = Signature::from_scalars(r, -*s).expect("(r, n - s)");
    }
    req.set_header(
        "x-twilio-email-event-webhook-signature",
        B64.encode(signature.to_der().as_bytes()),
    );
    req.set_header("x-twilio-email-event-webhook-timestamp", timestamp);
    assert_authorized(&inbound(&PROVIDER, &req), &req);
});
