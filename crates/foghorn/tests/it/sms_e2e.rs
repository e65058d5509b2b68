//! SMS failover end to end through the real binary, on SQLite and
//! PostgreSQL: Twilio is down, its circuit opens, Vonage carries the
//! messages, Vonage's signed delivery receipt marks one delivered with its
//! final price, and a `STOP` sent to Vonage suppresses the next SMS.

use crate::common::*;
use crate::mock_providers::{Kind, MockProvider, Received, VONAGE_PRICE};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::Duration;

const PUBLIC_URL: &str = "https://foghorn.example";
const OUR_NUMBER: &str = "+12025550100";
const OWNER_PHONE: &str = "+12025550142";
const VONAGE_SECRET: &str = "vonage-signature-secret-0001";
const THRESHOLD: usize = 2;
const MAX_ATTEMPTS: usize = 2;

fn config(twilio: &MockProvider, vonage: &MockProvider) -> String {
    format!(
        "public_url = \"{PUBLIC_URL}\"\n\
         [providers.twilio]\nkind = \"twilio\"\naccount_sid = \"AC00000000000000000000000000000002\"\n\
         auth_token = \"twilio-auth-token-0002\"\nphone_number = \"{OUR_NUMBER}\"\nbase_url = \"{}\"\n\
         [providers.vonage]\nkind = \"vonage\"\napi_key = \"vonage-key\"\napi_secret = \"vonage-secret\"\n\
         from = \"{OUR_NUMBER}\"\nsignature_secret = \"{VONAGE_SECRET}\"\nsignature_method = \"sha256\"\n\
         base_url = \"{}\"\n\
         [channels.sms]\nproviders = [\"twilio\", \"vonage\"]\n",
        twilio.url, vonage.url
    )
}

/// Vonage's signature, as its dashboard's `sha256` method computes it: the
/// HMAC-SHA256 (keyed with the signature secret, hex) of `&name=value` for
/// every parameter in name order, `&` and `=` in values turned into `_`.
fn vonage_sig(secret: &str, params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut data = String::new();
    for (k, v) in sorted {
        data.push('&');
        data.push_str(k);
        data.push('=');
        data.push_str(&v.replace(['&', '='], "_"));
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Posts `params` to `path_and_query` as Vonage does (a form), signed with
/// `timestamp`, `nonce` and `sig`; `tamper` changes a value after signing.
async fn vonage_hook(
    base: &str,
    path_and_query: &str,
    params: &[(&str, &str)],
    tamper: Option<(&str, &str)>,
) -> (u16, String) {
    let now = chrono::Utc::now().timestamp();
    let mut signed: Vec<(&str, String)> = params.iter().map(|(k, v)| (*k, v.to_string())).collect();
    signed.push(("timestamp", now.to_string()));
    signed.push(("nonce", format!("nonce-{}", ulid_like())));
    let sig = vonage_sig(VONAGE_SECRET, &signed);
    if let Some((key, value)) = tamper {
        for p in signed.iter_mut().filter(|p| p.0 == key) {
            p.1 = value.to_string();
        }
    }
    signed.push(("sig", sig));
    let body = signed
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    hook(
        base,
        path_and_query,
        &[],
        "application/x-www-form-urlencoded",
        body.into_bytes(),
    )
    .await
}

/// A distinct nonce per callback.
fn ulid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}-{}",
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

fn alert() -> Value {
    json!({"name": "alert.sms", "to": ["owner"], "data": {"boat": "Jeanneau 51"}})
}

fn attempt_providers(n: &Value) -> Vec<(String, String)> {
    n["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["provider"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The Vonage request that carried notification `id` (its `client-ref`).
fn vonage_request_for(vonage: &MockProvider, id: &str) -> Received {
    vonage
        .accepted()
        .into_iter()
        .find(|r| r.field("client-ref").as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no Vonage send for {id}"))
}

/// The scenario: Twilio mock down → breaker opens → Vonage delivers
/// → Vonage receipt → `delivered`, cost recorded; then `STOP` from that
/// number → the next SMS is `suppressed (unsubscribed)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twilio_outage_fails_over_to_vonage_whose_receipt_and_stop_are_applied() {
    for env in envs().await {
        let b = env.backend();
        let twilio = MockProvider::start(Kind::Twilio).await;
        twilio.fail_always(503);
        let vonage = MockProvider::start(Kind::Vonage).await;
        env.write("foghorn.toml", &config(&twilio, &vonage));
        env.write(
            "workflows/alert.sms.toml",
            "name = \"alert.sms\"\ncategory = \"alerts\"\n[[steps]]\nchannel = \"sms\"\n\
             text = \"NaviDocs: {{ data.boat }} needs attention\"\n",
        );
        let key = env.key("admin").await;
        let server = Server::start(
            &env,
            "all",
            &[
                ("FOGHORN_BREAKER__FAILURE_THRESHOLD", "2"),
                // Open for the whole test: no half-open probe reaches Twilio.
                ("FOGHORN_BREAKER__OPEN_FOR", "30s"),
                ("FOGHORN_DELIVERY__MAX_ATTEMPTS", "2"),
            ],
        )
        .await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "owner", json!({"phone": OWNER_PHONE})).await;

        // The first SMS spends its Twilio attempts (which open the circuit)
        // and goes out through Vonage.
        let (first, status) = send(&api, alert()).await;
        assert_eq!(status, "queued", "{b}");
        let n = wait_status(&api, &first, "sent").await;
        assert_eq!(n["provider"], "vonage", "{b}: {n}");
        let tries = vec![("twilio".to_string(), "retryable".to_string()); MAX_ATTEMPTS];
        let mut expected = tries.clone();
        expected.push(("vonage".into(), "sent".into()));
        assert_eq!(attempt_providers(&n), expected, "{b}: {n}");
        assert_eq!(
            n["attempts"][0]["http_status"], 503,
            "{b}: {}",
            n["attempts"]
        );
        assert_eq!(twilio.received().len(), THRESHOLD.max(MAX_ATTEMPTS), "{b}");

        // With the circuit open, the next ones skip Twilio altogether.
        let mut ids = vec![first];
        for _ in 0..3 {
            let (id, status) = send(&api, alert()).await;
            assert_eq!(status, "queued", "{b}");
            ids.push(id);
        }
        for id in &ids {
            let n = wait_status(&api, id, "sent").await;
            assert_eq!(n["provider"], "vonage", "{b}: {n}");
            // Vonage's own price from its answer (EUR, the account's
            // default currency), not the price table's.
            assert_eq!(
                n["cost"],
                json!({"amount": "0.0333", "currency": "EUR"}),
                "{b}: {n}"
            );
            let sent = vonage_request_for(&vonage, id);
            assert!(
                n["provider_message_id"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("0A00000")),
                "{b}: Vonage's message-id: {n}"
            );
            // base64("vonage-key:vonage-secret"): the secret travels in the
            // header only, as Vonage's SDKs send it.
            assert_eq!(
                sent.headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok()),
                Some("Basic dm9uYWdlLWtleTp2b25hZ2Utc2VjcmV0"),
                "{b}"
            );
            assert_eq!(sent.field("api_secret"), None, "{b}");
            assert_eq!(sent.field("to").as_deref(), Some("12025550142"), "{b}");
            assert_eq!(sent.field("from").as_deref(), Some("12025550100"), "{b}");
            assert_eq!(
                sent.field("text").as_deref(),
                Some("NaviDocs: Jeanneau 51 needs attention"),
                "{b}"
            );
            assert_eq!(
                sent.field("callback").as_deref(),
                Some(&*format!("{PUBLIC_URL}/hooks/vonage?tenant=default")),
                "{b}"
            );
        }
        for id in &ids[1..] {
            let n = notification(&api, id).await;
            assert_eq!(
                attempt_providers(&n),
                vec![("vonage".to_string(), "sent".to_string())],
                "{b}: the open circuit skipped Twilio: {n}"
            );
        }
        assert_eq!(
            twilio.received().len(),
            THRESHOLD,
            "{b}: Twilio saw only the sends that opened its circuit"
        );
        assert_eq!(vonage.accepted().len(), ids.len(), "{b}");
        assert!(VONAGE_PRICE.starts_with("0.0333"));

        // Vonage's delivery receipt, to the callback URL it was given.
        let id = ids[0].clone();
        let n = notification(&api, &id).await;
        let message_id = n["provider_message_id"].as_str().unwrap().to_string();
        let callback = vonage_request_for(&vonage, &id).field("callback").unwrap();
        let path = callback.strip_prefix(PUBLIC_URL).unwrap().to_string();
        let receipt = [
            ("msisdn", "12025550142"),
            ("to", "12025550100"),
            ("network-code", "310004"),
            ("messageId", message_id.as_str()),
            ("price", "0.03500000"),
            ("status", "delivered"),
            ("scts", "2605011200"),
            ("err-code", "0"),
            ("client-ref", id.as_str()),
            ("message-timestamp", "2026-05-01 12:00:00"),
        ];
        let (s, body) =
            vonage_hook(&server.base, &path, &receipt, Some(("price", "0.00010000"))).await;
        assert_eq!(s, 401, "{b}: a tampered receipt: {body}");
        assert_eq!(notification(&api, &id).await["status"], "sent", "{b}");
        for _ in 0..2 {
            let (s, body) = vonage_hook(&server.base, &path, &receipt, None).await;
            assert_eq!(s, 200, "{b}: {body}");
        }
        let n = notification(&api, &id).await;
        assert_eq!(n["status"], "delivered", "{b}: {n}");
        assert_eq!(n["timeline"].as_array().unwrap().len(), 1, "{b}: once: {n}");
        assert_eq!(n["timeline"][0]["kind"], "delivered", "{b}");
        assert_eq!(n["timeline"][0]["provider"], "vonage", "{b}");
        assert_eq!(
            n["cost"],
            json!({"amount": "0.035", "currency": "EUR"}),
            "{b}: the receipt's price replaces the cost"
        );

        // STOP, from that number to our Vonage number.
        let stop = [
            ("msisdn", "12025550142"),
            ("to", "12025550100"),
            ("messageId", "0B00000000000001"),
            ("text", "STOP"),
            ("type", "text"),
            ("keyword", "STOP"),
            ("message-timestamp", "2026-05-01 12:01:00"),
        ];
        let (s, body) = vonage_hook(&server.base, "/hooks/vonage", &stop, None).await;
        assert_eq!(s, 200, "{b}: {body}");
        let (_, page) = api.get("/v1/suppressions?channel=sms").await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{b}: {page}");
        assert_eq!(items[0]["reason"], "unsubscribed", "{b}");
        // Vonage does not confirm opt-outs itself: Foghorn does, through
        // Vonage (Twilio's circuit is still open).
        let replies = vonage
            .wait_accepted(ids.len() + 1, Duration::from_secs(20))
            .await;
        let reply = replies.last().unwrap();
        assert_eq!(reply.field("to").as_deref(), Some("12025550142"), "{b}");
        assert!(
            reply
                .field("text")
                .is_some_and(|t| t.to_ascii_lowercase().contains("unsubscribed")),
            "{b}: {:?}",
            reply.field("text")
        );

        let (next, status) = send(&api, alert()).await;
        assert_eq!(status, "suppressed", "{b}");
        let n = notification(&api, &next).await;
        assert_eq!(n["status"], "suppressed", "{b}: {n}");
        assert_eq!(n["status_reason"], "unsubscribed", "{b}: {n}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            vonage.received().len(),
            ids.len() + 1,
            "{b}: nothing more sent"
        );
        assert_eq!(twilio.received().len(), THRESHOLD, "{b}");

        let logs = server.logs();
        server.stop().await;
        assert!(
            !logs.contains("2025550142"),
            "{b}: a phone number in the logs"
        );
    }
}
