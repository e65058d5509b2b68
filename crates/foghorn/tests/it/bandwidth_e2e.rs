//! Bandwidth end to end through the real binary, on SQLite and PostgreSQL,
//! configured only by Bandwidth's own variables: OAuth 2.0 client
//! credentials, refused credentials tripping the provider's breaker, and
//! the legacy API user that still starts with a warning.

use crate::common::*;
use crate::mock_providers::{bandwidth_token, Kind, MockProvider, Received, BANDWIDTH_TOKEN_PATH};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::Duration;

const ACCOUNT: &str = "9900000";
const CLIENT_ID: &str = "bw-client-e2e-51f0";
const CLIENT_SECRET: &str = "bw-client-secret-e2e-8c2d9b";
const APPLICATION: &str = "93de2206-9669-4e07-948d-329f4b722ee2";
const OUR_NUMBER: &str = "+19195551212";
const OWNER_PHONE: &str = "+19195554444";

fn messages_path() -> String {
    format!("/api/v2/users/{ACCOUNT}/messages")
}

/// Bandwidth's variables, as an operator following its documentation sets
/// them, with the API origin pointed at the mock.
fn variables<'a>(
    mock: &'a MockProvider,
    credentials: [(&'a str, &'a str); 2],
) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("BANDWIDTH_ACCOUNT_ID", ACCOUNT),
        ("BANDWIDTH_MESSAGING_APPLICATION_ID", APPLICATION),
        ("SMS_FROM", OUR_NUMBER),
        ("FOGHORN_PROVIDERS__BANDWIDTH__BASE_URL", mock.url.as_str()),
    ];
    vars.extend(credentials);
    vars
}

const OAUTH: [(&str, &str); 2] = [
    ("BANDWIDTH_CLIENT_ID", CLIENT_ID),
    ("BANDWIDTH_CLIENT_SECRET", CLIENT_SECRET),
];

fn workflow(env: &Env) {
    env.write(
        "workflows/alert.sms.toml",
        "name = \"alert.sms\"\ncategory = \"alerts\"\n[[steps]]\nchannel = \"sms\"\n\
         text = \"NaviDocs: {{ data.boat }} needs attention\"\n",
    );
}

fn alert() -> Value {
    json!({"name": "alert.sms", "to": ["owner"], "data": {"boat": "Jeanneau 51"}})
}

fn header(r: &Received, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn to_path(mock: &MockProvider, path: &str) -> Vec<Received> {
    mock.received()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", B64.encode(format!("{user}:{password}")))
}

/// The scenario: only BANDWIDTH_ACCOUNT_ID, BANDWIDTH_CLIENT_ID,
/// BANDWIDTH_CLIENT_SECRET, BANDWIDTH_MESSAGING_APPLICATION_ID and SMS_FROM;
/// the SMS reaches the mock with a bearer token got the SDKs' way, and the
/// notification is `sent` with Bandwidth's message id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_sms_goes_through_bandwidth_configured_only_by_its_variables() {
    for env in envs().await {
        let b = env.backend();
        let mock = MockProvider::start(Kind::Bandwidth).await;
        workflow(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &variables(&mock, OAUTH)).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "owner", json!({"phone": OWNER_PHONE})).await;

        let mut ids = Vec::new();
        for _ in 0..3 {
            let (id, status) = send(&api, alert()).await;
            assert_eq!(status, "queued", "{b}");
            ids.push(id);
        }
        let mut message_ids = Vec::new();
        for id in &ids {
            let n = wait_status(&api, id, "sent").await;
            assert_eq!(n["provider"], "bandwidth", "{b}: {n}");
            let message_id = n["provider_message_id"].as_str().unwrap_or_default();
            assert!(message_id.starts_with("16"), "{b}: Bandwidth's id: {n}");
            message_ids.push(message_id.to_string());
            let text = n.to_string();
            assert!(
                !text.contains(CLIENT_SECRET) && !text.contains("bw-access-token"),
                "{b}: {n}"
            );
        }

        // One token, got as the SDKs get it.
        let tokens = to_path(&mock, BANDWIDTH_TOKEN_PATH);
        assert_eq!(tokens.len(), 1, "{b}: one token for every send");
        let t = &tokens[0];
        assert_eq!(t.method, "POST", "{b}");
        assert_eq!(
            header(t, "authorization"),
            basic(CLIENT_ID, CLIENT_SECRET),
            "{b}"
        );
        assert_eq!(
            header(t, "content-type"),
            "application/x-www-form-urlencoded",
            "{b}"
        );
        assert_eq!(t.text(), "grant_type=client_credentials", "{b}");
        // Every message carries it.
        let messages = to_path(&mock, &messages_path());
        assert_eq!(messages.len(), 3, "{b}");
        let token = bandwidth_token(1);
        for m in &messages {
            assert_eq!(header(m, "authorization"), format!("Bearer {token}"), "{b}");
            let body = m.json();
            assert_eq!(body["applicationId"], APPLICATION, "{b}");
            assert_eq!(body["to"], json!([OWNER_PHONE]), "{b}");
            assert_eq!(body["from"], OUR_NUMBER, "{b}: SMS_FROM");
            assert_eq!(body["text"], "NaviDocs: Jeanneau 51 needs attention", "{b}");
            assert!(
                ids.iter().any(|id| body["tag"] == id.as_str()),
                "{b}: {body}"
            );
        }

        let logs = server.logs();
        server.stop().await;
        assert!(!logs.contains(CLIENT_SECRET), "{b}: the secret in the logs");
        assert!(!logs.contains(&token), "{b}: the token in the logs");
        assert!(
            !logs.contains("no longer accepts Basic-auth"),
            "{b}: no legacy warning with client credentials"
        );
    }
}

/// The token endpoint refuses the client credentials: the attempt is
/// `misconfigured` with `invalid_client` in its reason, the provider's
/// circuit opens, and the next SMS does not reach Bandwidth at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_client_credentials_trip_the_breaker_with_the_reason() {
    for env in envs().await {
        let b = env.backend();
        let mock = MockProvider::start(Kind::Bandwidth).await;
        mock.fail_always(401);
        workflow(&env);
        let key = env.key("admin").await;
        let mut vars = variables(&mock, OAUTH);
        vars.push(("FOGHORN_BREAKER__OPEN_FOR", "60s"));
        let server = Server::start(&env, "all", &vars).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "owner", json!({"phone": OWNER_PHONE})).await;

        let (first, _) = send(&api, alert()).await;
        // The only SMS provider is out: the notification is dead, with why.
        let n = wait_status(&api, &first, "dead").await;
        assert_eq!(
            n["status_reason"], "bandwidth: misconfigured (HTTP 401)",
            "{b}: {n}"
        );
        let attempts = n["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{b}: no retries: {n}");
        assert_eq!(attempts[0]["provider"], "bandwidth", "{b}");
        assert_eq!(attempts[0]["outcome"], "misconfigured", "{b}: {n}");
        assert_eq!(attempts[0]["http_status"], 401, "{b}: {n}");
        let error = attempts[0]["error"].as_str().unwrap_or_default();
        assert!(error.contains("invalid_client"), "{b}: {error}");
        assert!(error.contains("BANDWIDTH_CLIENT_ID"), "{b}: {error}");
        assert!(!n.to_string().contains(CLIENT_SECRET), "{b}: {n}");

        // The circuit is open: the next one waits without a request.
        let (second, _) = send(&api, alert()).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        let n = notification(&api, &second).await;
        assert!(
            n["attempts"].as_array().is_none_or(|a| a.is_empty()),
            "{b}: {n}"
        );
        assert_eq!(
            mock.received().len(),
            1,
            "{b}: only the first token request"
        );
        assert!(to_path(&mock, &messages_path()).is_empty(), "{b}");

        let logs = server.logs();
        server.stop().await;
        assert!(logs.contains("circuit is open"), "{b}");
        assert!(!logs.contains(CLIENT_SECRET), "{b}: the secret in the logs");
    }
}

/// BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD still start and send (with
/// Basic auth), with a WARN naming the variables to set instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_legacy_api_user_still_starts_with_a_warning() {
    for env in envs().await {
        let b = env.backend();
        let mock = MockProvider::start(Kind::Bandwidth).await;
        workflow(&env);
        let key = env.key("admin").await;
        let legacy = [
            ("BANDWIDTH_USERNAME", "legacy-api-user"),
            ("BANDWIDTH_PASSWORD", "legacy-api-password-77"),
        ];
        let server = Server::start(&env, "all", &variables(&mock, legacy)).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "owner", json!({"phone": OWNER_PHONE})).await;
        let (id, _) = send(&api, alert()).await;
        let n = wait_status(&api, &id, "sent").await;
        assert_eq!(n["provider"], "bandwidth", "{b}: {n}");
        assert!(to_path(&mock, BANDWIDTH_TOKEN_PATH).is_empty(), "{b}");
        let messages = to_path(&mock, &messages_path());
        assert_eq!(
            header(&messages[0], "authorization"),
            basic("legacy-api-user", "legacy-api-password-77"),
            "{b}"
        );
        let logs = server.logs();
        server.stop().await;
        let warning = logs
            .lines()
            .find(|l| l.contains("no longer accepts Basic-auth"))
            .unwrap_or_else(|| panic!("{b}: no warning in\n{logs}"));
        assert!(warning.contains("WARN"), "{b}: {warning}");
        assert!(
            warning.contains("BANDWIDTH_CLIENT_ID") && warning.contains("BANDWIDTH_CLIENT_SECRET"),
            "{b}: {warning}"
        );
        assert!(!logs.contains("legacy-api-password-77"), "{b}");
    }
}

/// A tenant's own Bandwidth account, added through the API with client
/// credentials: stored and shown masked, and its sends carry its own token.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenants_own_bandwidth_account_uses_its_client_credentials() {
    for env in envs().await {
        let b = env.backend();
        let mock = MockProvider::start(Kind::Bandwidth).await;
        workflow(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[TENANTS_MAY_USE_LOOPBACK]).await;
        let api = Api::new(&server.base, &key);
        let secret = "dealer-client-secret-4b1e77";
        let account = json!({"kind": "bandwidth", "account_id": "9900042",
            "client_id": "dealer-client", "client_secret": secret,
            "messaging_application_id": APPLICATION, "from": OUR_NUMBER, "base_url": mock.url});
        let (s, v) = api.put("/v1/providers/dealer-bw", account).await;
        assert_eq!(s, 201, "{b}: {v}");
        assert_eq!(v["settings"]["client_secret"], "••••1e77", "{b}: {v}");
        let (_, list) = api.get("/v1/providers").await;
        assert!(!list.to_string().contains(secret), "{b}: {list}");

        put_subscriber(&api, "owner", json!({"phone": OWNER_PHONE})).await;
        let (id, _) = send(&api, alert()).await;
        let n = wait_status(&api, &id, "sent").await;
        assert_eq!(n["provider"], "dealer-bw", "{b}: {n}");
        let tokens = to_path(&mock, BANDWIDTH_TOKEN_PATH);
        assert_eq!(tokens.len(), 1, "{b}");
        assert_eq!(
            header(&tokens[0], "authorization"),
            basic("dealer-client", secret),
            "{b}"
        );
        let messages = to_path(&mock, "/api/v2/users/9900042/messages");
        assert_eq!(messages.len(), 1, "{b}");
        assert_eq!(
            header(&messages[0], "authorization"),
            format!("Bearer {}", bandwidth_token(1)),
            "{b}"
        );
        let logs = server.logs();
        server.stop().await;
        assert!(!logs.contains(secret), "{b}: the secret in the logs");
    }
}
