//! The email and SMS providers' stand-ins as the binary's tests use them:
//! foghorn-testkit's [`MockProvider`] (the recording server answering like
//! each API), plus what only these tests need: a provider's table in
//! `foghorn.toml` and a SendGrid signing key.
#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

pub use foghorn_testkit::http::Recorded as Received;
pub use foghorn_testkit::providers::{
    bandwidth_token, Kind, MockProvider, BANDWIDTH_TOKEN_PATH, VONAGE_PRICE,
};

/// The sender every email test uses.
pub const FROM: &str = "NaviDocs <noreply@navidocs.example>";

/// A `[providers.<name>]` table for `kind` with its API at `url`.
pub fn provider_table(kind: Kind, url: &str) -> String {
    match kind {
        Kind::Mailgun => format!("[providers.mailgun]\napi_key = \"key-test\"\ndomain = \"mg.navidocs.example\"\nbase_url = \"{url}\"\nfrom = \"{FROM}\"\n"),
        Kind::SendGrid => format!("[providers.sendgrid]\napi_key = \"SG.test\"\nbase_url = \"{url}\"\nfrom = \"{FROM}\"\n"),
        Kind::Postmark => format!("[providers.postmark]\nserver_token = \"pm-test\"\nbase_url = \"{url}\"\nfrom = \"{FROM}\"\n"),
        Kind::Vonage => format!("[providers.vonage]\napi_key = \"vk\"\napi_secret = \"vs\"\nfrom = \"+12025550100\"\nbase_url = \"{url}\"\n"),
        Kind::Twilio => format!("[providers.twilio]\naccount_sid = \"AC0123\"\nauth_token = \"tok\"\nphone_number = \"+12025550100\"\nbase_url = \"{url}\"\n"),
        Kind::Bandwidth => format!("[providers.bandwidth]\naccount_id = \"9900000\"\nclient_id = \"bw-client\"\nclient_secret = \"bw-secret\"\nmessaging_application_id = \"app-1\"\nfrom = \"+12025550100\"\nbase_url = \"{url}\"\n"),
    }
}

/// The key pair SendGrid signs its Event Webhook with (ECDSA P-256), made
/// fresh by each test.
pub struct SendGridKey(p256::ecdsa::SigningKey);

impl SendGridKey {
    pub fn generate() -> SendGridKey {
        SendGridKey(p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// The public key as SendGrid shows it: base64 of DER SubjectPublicKeyInfo.
    pub fn public_b64(&self) -> String {
        use p256::pkcs8::EncodePublicKey;
        let public = p256::PublicKey::from(self.0.verifying_key());
        B64.encode(public.to_public_key_der().unwrap().as_bytes())
    }

    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        use p256::ecdsa::signature::Signer;
        let mut data = timestamp.to_string().into_bytes();
        data.extend_from_slice(body);
        let sig: p256::ecdsa::Signature = self.0.sign(&data);
        B64.encode(sig.to_der().as_bytes())
    }
}
