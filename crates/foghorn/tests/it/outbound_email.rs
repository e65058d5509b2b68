//! Email through the real binary: each provider's API (a local mock that
//! answers like it), failover between them, a real SMTP server, one-click
//! unsubscribe, providers configured by their own variables, and locales.

use crate::common::*;
use crate::mock_providers::{provider_table, Kind, MockProvider, FROM};
use foghorn_core::TenantId;
use foghorn_testkit::smtp::SmtpSink;
use serde_json::{json, Value};
use std::time::Duration;

const PUBLIC_URL: &str = "https://foghorn.example";
const WAIT: Duration = Duration::from_secs(30);

fn warranty(days_left: i64) -> Value {
    json!({"boat": "Jeanneau 51", "title": "Engine Warranty", "component": "Engine",
           "provider": "Yanmar Marine", "expires_on": "2026-06-30", "days_left": days_left,
           "url": "https://navidocs.example/boats/jeanneau-51/warranties/w-17"})
}

/// The notification once it is `sent` (the mock sees the request a moment
/// before the outcome is recorded).
async fn wait_sent(api: &Api, id: &str) -> Value {
    let start = std::time::Instant::now();
    loop {
        let (_, n) = api.get(&format!("/v1/notifications/{id}")).await;
        if n["status"] == "sent" {
            return n;
        }
        assert!(start.elapsed() < WAIT, "{n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `List-Unsubscribe` headers as each API was asked to set them.
fn unsubscribe_headers(kind: Kind, r: &crate::mock_providers::Received) -> (String, String) {
    match kind {
        Kind::Mailgun => (
            r.field("h:List-Unsubscribe").unwrap_or_default(),
            r.field("h:List-Unsubscribe-Post").unwrap_or_default(),
        ),
        Kind::SendGrid => {
            let h = &r.json()["headers"];
            (
                h["List-Unsubscribe"].as_str().unwrap_or_default().into(),
                h["List-Unsubscribe-Post"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
            )
        }
        Kind::Postmark => {
            let headers = r.json()["Headers"].as_array().cloned().unwrap_or_default();
            let get = |n: &str| {
                headers
                    .iter()
                    .find(|h| h["Name"] == n)
                    .and_then(|h| h["Value"].as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            (get("List-Unsubscribe"), get("List-Unsubscribe-Post"))
        }
        Kind::Twilio | Kind::Vonage | Kind::Bandwidth => unreachable!(),
    }
}

fn subject(kind: Kind, r: &crate::mock_providers::Received) -> String {
    match kind {
        Kind::Mailgun => r.field("subject").unwrap_or_default(),
        Kind::SendGrid => r.json()["subject"].as_str().unwrap_or_default().into(),
        Kind::Postmark => r.json()["Subject"].as_str().unwrap_or_default().into(),
        Kind::Twilio | Kind::Vonage | Kind::Bandwidth => unreachable!(),
    }
}

/// Each email provider kind sends a NaviDocs email end to end: the mock gets
/// the provider's request with the unsubscribe headers, the notification is
/// `sent` by that provider with its message id and its price.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_email_provider_sends_through_its_api() {
    for env in envs().await {
        for (kind, name, price) in [
            (Kind::Mailgun, "mailgun", "0.0005"),
            (Kind::SendGrid, "sendgrid", "0.0004"),
            (Kind::Postmark, "postmark", "0.0015"),
        ] {
            let mock = MockProvider::start(kind).await;
            env.write("foghorn.toml", &provider_table(kind, &mock.url));
            let key = env.key("admin").await;
            let server = Server::start(&env, "all", &[("FOGHORN_PUBLIC_URL", PUBLIC_URL)]).await;
            let api = Api::new(&server.base, &key);
            let (s, _) = api
                .put(
                    "/v1/subscribers/owner-42",
                    json!({"email": "elena@example.com", "name": "Elena", "locale": "en"}),
                )
                .await;
            assert!(s == 201 || s == 200);
            let (s, v) = api
                .post(
                    "/v1/events",
                    json!({"name": "warranty.expiring", "to": ["owner-42"], "data": warranty(30)}),
                )
                .await;
            assert_eq!(s, 202, "{v}");
            let id = v["notifications"][0]["id"].as_str().unwrap().to_string();
            let got = mock.wait_accepted(1, WAIT).await;
            assert_eq!(got.len(), 1, "{name}: one request");
            assert_eq!(
                subject(kind, &got[0]),
                "Engine Warranty for Jeanneau 51 ends on 2026-06-30 (30 days left)"
            );
            let (list, post) = unsubscribe_headers(kind, &got[0]);
            assert!(
                list.starts_with(&format!("<{PUBLIC_URL}/p/")),
                "{name}: {list}"
            );
            assert!(
                list.ends_with(
                    "/unsubscribe>, <mailto:unsubscribe@navidocs.example?subject=unsubscribe>"
                ),
                "{name}: {list}"
            );
            assert_eq!(post, "List-Unsubscribe=One-Click", "{name}");
            let n = wait_sent(&api, &id).await;
            assert_eq!(n["provider"], name, "{}: {n}", env.backend());
            assert!(
                n["provider_message_id"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{n}"
            );
            assert_eq!(
                n["cost"],
                json!({"amount": price, "currency": "USD"}),
                "{name}"
            );
            server.stop().await;
            // The next provider starts from a clean slate.
            let _ = std::fs::remove_file(env.path().join("foghorn.toml"));
        }
    }
}

/// "Event → Mailgun answers 503s → SendGrid accepts": the notification is
/// `sent` via SendGrid with the Mailgun attempts on its timeline, and every
/// notification reaches SendGrid exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mailgun_outage_fails_over_to_sendgrid() {
    for env in envs().await {
        let mailgun = MockProvider::start(Kind::Mailgun).await;
        let sendgrid = MockProvider::start(Kind::SendGrid).await;
        mailgun.fail_always(503);
        // No [channels.email] order: the default puts Mailgun first.
        env.write(
            "foghorn.toml",
            &format!(
                "{}{}",
                provider_table(Kind::SendGrid, &sendgrid.url),
                provider_table(Kind::Mailgun, &mailgun.url)
            ),
        );
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[("FOGHORN_PUBLIC_URL", PUBLIC_URL)]).await;
        let api = Api::new(&server.base, &key);
        const N: usize = 3;
        for i in 0..N {
            let (s, v) = api
                .post(
                    "/v1/events",
                    json!({"name": "warranty.expiring",
                    "to": [{"email": format!("owner{i}@example.com")}], "data": warranty(30)}),
                )
                .await;
            assert_eq!(s, 202, "{v}");
        }
        let sent = api.wait_for_channel_status("email", "sent", N, WAIT).await;
        let accepted = sendgrid.wait_accepted(N, WAIT).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            sendgrid.accepted().len(),
            N,
            "{}: no message doubled",
            env.backend()
        );
        let mut ids: Vec<String> = accepted
            .iter()
            .map(|r| {
                r.json()["personalizations"][0]["custom_args"]["notification_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), N, "each notification once: {ids:?}");
        assert!(mailgun.accepted().is_empty());
        assert!(mailgun.received().len() >= 5, "Mailgun was tried first");
        let mut mailgun_attempts = 0;
        for n in &sent {
            let (_, detail) = api
                .get(&format!("/v1/notifications/{}", n["id"].as_str().unwrap()))
                .await;
            assert_eq!(detail["status"], "sent");
            assert_eq!(detail["provider"], "sendgrid", "{detail}");
            let attempts = detail["attempts"].as_array().unwrap();
            let last = attempts.last().unwrap();
            assert_eq!(
                (last["provider"].as_str(), last["outcome"].as_str()),
                (Some("sendgrid"), Some("sent"))
            );
            for a in &attempts[..attempts.len() - 1] {
                assert_eq!(a["provider"], "mailgun", "{detail}");
                assert_eq!(a["outcome"], "retryable");
                assert_eq!(a["http_status"], 503);
                mailgun_attempts += 1;
            }
        }
        // The first notification met the outage; once Mailgun's circuit
        // opened, the others may have gone straight to SendGrid.
        assert!(
            mailgun_attempts >= 5,
            "{}: {mailgun_attempts} Mailgun attempts on the timelines",
            env.backend()
        );
        server.stop().await;
    }
}

/// A provider configured only by the variables Mailgun's own docs use.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mailgun_configured_by_its_own_env_vars_sends() {
    let env = envs().await.remove(0);
    let mock = MockProvider::start(Kind::Mailgun).await;
    let key = env.key("admin").await;
    let server = Server::start(
        &env,
        "all",
        &[
            ("MAILGUN_API_KEY", "key-native"),
            ("MAILGUN_DOMAIN", "mg.navidocs.example"),
            ("MAILGUN_REGION", "eu"),
            ("EMAIL_FROM", FROM),
            // Tests only: the API origin is a local mock.
            ("FOGHORN_PROVIDERS__MAILGUN__BASE_URL", &mock.url),
        ],
    )
    .await;
    let api = Api::new(&server.base, &key);
    let (s, v) = api
        .post("/v1/events", json!({"name": "warranty.expiring", "to": [{"email": "elena@example.com"}], "data": warranty(30)}))
        .await;
    assert_eq!(s, 202, "{v}");
    let sent = api.wait_for_channel_status("email", "sent", 1, WAIT).await;
    let got = mock.wait_accepted(1, WAIT).await;
    assert_eq!(got[0].path, "/v3/mg.navidocs.example/messages");
    let auth = got[0].headers["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode("api:key-native");
    assert_eq!(auth, format!("Basic {expected}"));
    assert_eq!(got[0].field("from").as_deref(), Some(FROM));
    let (_, n) = api
        .get(&format!(
            "/v1/notifications/{}",
            sent[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(n["provider"], "mailgun");
    server.stop().await;
}

/// A French subscriber gets the French templates; a German one, for whom
/// there are none, gets English.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emails_follow_the_subscribers_locale_with_english_fallback() {
    let env = envs().await.remove(0);
    let mock = MockProvider::start(Kind::Mailgun).await;
    env.write("foghorn.toml", &provider_table(Kind::Mailgun, &mock.url));
    let key = env.key("admin").await;
    let server = Server::start(&env, "all", &[("FOGHORN_PUBLIC_URL", PUBLIC_URL)]).await;
    let api = Api::new(&server.base, &key);
    api.put(
        "/v1/subscribers/fr-1",
        json!({"email": "amelie@example.fr", "name": "Amélie", "locale": "fr-FR"}),
    )
    .await;
    api.put(
        "/v1/subscribers/de-1",
        json!({"email": "jonas@example.de", "name": "Jonas", "locale": "de-DE"}),
    )
    .await;
    for who in ["fr-1", "de-1"] {
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "warranty.expiring", "to": [who], "data": warranty(30)}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
    }
    let got = mock.wait_accepted(2, WAIT).await;
    let by_to = |to: &str| {
        got.iter()
            .find(|r| r.field("to").as_deref() == Some(to))
            .unwrap()
    };
    let fr = by_to("amelie@example.fr");
    assert_eq!(
        fr.field("subject").unwrap(),
        "Engine Warranty (Jeanneau 51) : fin de garantie le 2026-06-30 (30 jours restants)"
    );
    let html = fr.field("html").unwrap();
    assert!(
        html.contains("Bonjour Amélie,") && html.contains("Se désabonner"),
        "{html}"
    );
    assert!(html.contains("lang=\"fr-FR\""));
    let text = fr.field("text").unwrap();
    assert!(
        text.contains("Se désabonner : https://foghorn.example/p/"),
        "{text}"
    );
    let de = by_to("jonas@example.de");
    assert!(de
        .field("subject")
        .unwrap()
        .starts_with("Engine Warranty for Jeanneau 51 ends"));
    assert!(de.field("html").unwrap().contains("Hello Jonas,"));
    server.stop().await;
}

async fn smtp_sink() -> SmtpSink {
    SmtpSink::start(None).await
}

/// The message as Python's standard `email` parser reads it: headers, and
/// each leaf part's type and decoded text.
async fn parse_mime(path: &std::path::Path) -> Value {
    let script = r#"
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
parts = [{"type": p.get_content_type(), "text": p.get_content()} for p in m.walk() if not p.is_multipart()]
print(json.dumps({"content_type": m.get_content_type(), "headers": {k: str(v) for k, v in m.items()}, "parts": parts}))
"#;
    let out = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .await
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn wait_for_file(path: &std::path::Path) {
    let start = std::time::Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < WAIT, "no message at {}", path.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The message a real SMTP server received has both parts and the
/// unsubscribe headers; its https link works by one-click POST, is
/// idempotent, and the next email to that subscriber is suppressed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn smtp_mail_carries_a_working_one_click_unsubscribe() {
    for env in envs().await {
        let sink = smtp_sink().await;
        let key = env.key("admin").await;
        let smtp_url = format!("smtp://127.0.0.1:{}", sink.port);
        let server = Server::start(
            &env,
            "all",
            &[
                ("SMTP_URL", smtp_url.as_str()),
                ("EMAIL_FROM", FROM),
                ("FOGHORN_PUBLIC_URL", PUBLIC_URL),
            ],
        )
        .await;
        let api = Api::new(&server.base, &key);
        api.put(
            "/v1/subscribers/owner-42",
            json!({"email": "elena@example.com", "name": "Elena"}),
        )
        .await;
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "warranty.expiring", "to": ["owner-42"], "data": warranty(30)}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        api.wait_for_status("sent", 1, WAIT).await;
        let meta = sink.dir().join("1.json");
        wait_for_file(&meta).await;
        let envelope: Value =
            serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
        assert_eq!(envelope["rcpt_tos"], json!(["elena@example.com"]));
        let mime = parse_mime(&sink.dir().join("1.eml")).await;
        assert_eq!(mime["content_type"], "multipart/alternative");
        let parts = mime["parts"].as_array().unwrap();
        let types: Vec<&str> = parts.iter().map(|p| p["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["text/plain", "text/html"]);
        let h = &mime["headers"];
        assert_eq!(
            h["Subject"],
            "Engine Warranty for Jeanneau 51 ends on 2026-06-30 (30 days left)"
        );
        assert_eq!(h["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
        let list = h["List-Unsubscribe"].as_str().unwrap();
        let https = list
            .split(',')
            .map(|s| s.trim().trim_start_matches('<').trim_end_matches('>'))
            .find(|u| u.starts_with("https://"))
            .unwrap()
            .to_string();
        assert!(
            list.contains("<mailto:unsubscribe@navidocs.example?subject=unsubscribe>"),
            "{list}"
        );
        let text = parts[0]["text"].as_str().unwrap();
        // MiniJinja's HTML escaping writes `/` as `&#x2f;`; browsers read both.
        let html = parts[1]["text"].as_str().unwrap().replace("&#x2f;", "/");
        assert!(
            text.contains(&format!("Unsubscribe: {https}")),
            "the text footer has the same link"
        );
        assert!(
            html.contains(&format!("href=\"{https}\"")),
            "the HTML footer has the same link"
        );
        assert!(html.contains("Hello Elena,"));

        // The public URL is a proxy in front of this server: same path here.
        let path = https.strip_prefix(PUBLIC_URL).unwrap();
        let local = format!("{}{path}", server.base);
        let http = reqwest::Client::new();
        let page = http.get(&local).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        let body = page.text().await.unwrap();
        assert!(body.contains("<form method=\"post\">"), "{body}");
        let (_, sub) = api.get("/v1/subscribers/owner-42").await;
        assert_eq!(
            sub["opt_out"],
            json!([]),
            "showing the page changes nothing"
        );

        let one_click = || {
            http.post(&local)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
                .send()
        };
        let first = one_click().await.unwrap();
        assert_eq!(first.status(), 200);
        // RFC 8058 "this list": the message's category, not all email.
        let (_, sub) = api.get("/v1/subscribers/owner-42").await;
        assert_eq!(sub["opt_out"], json!([]), "{}", env.backend());
        assert_eq!(
            (
                &sub["opt_outs"][0]["channel"],
                &sub["opt_outs"][0]["category"]
            ),
            (&json!("email"), &json!("warranty")),
            "{}",
            env.backend()
        );
        let again = http
            .post(&local)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["already"], true);
        assert_eq!(again["category"], "warranty");

        // Recorded once, with who, when and how, in the audit trail.
        let store =
            foghorn_store::Store::connect(env.url(), foghorn_store::crypto::Crypto::ephemeral())
                .await
                .unwrap();
        let rows = store
            .audit_rows(Some(&TenantId::from("default")), 0, 1000)
            .await
            .unwrap();
        let unsubs: Vec<_> = rows
            .iter()
            .filter(|r| r.action == "subscriber.unsubscribe")
            .collect();
        assert_eq!(unsubs.len(), 1, "{}", env.backend());
        assert_eq!(
            (unsubs[0].actor.as_str(), unsubs[0].target.as_str()),
            ("recipient:one-click", "owner-42")
        );
        let detail: Value = serde_json::from_str(&unsubs[0].detail).unwrap();
        assert_eq!(detail["channel"], "email");
        assert_eq!(detail["category"], "warranty");
        store.close().await;

        // The next email to them is suppressed, not sent.
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "warranty.expiring", "to": ["owner-42"], "data": warranty(29)}),
            )
            .await;
        assert_eq!(s, 202);
        assert_eq!(v["notifications"][0]["status"], "suppressed");
        let (_, n) = api
            .get(&format!(
                "/v1/notifications/{}",
                v["notifications"][0]["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(
            (n["status"].as_str(), n["status_reason"].as_str()),
            (Some("suppressed"), Some("unsubscribed"))
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !sink.dir().join("2.eml").exists(),
            "nothing more was mailed"
        );
        let (code, out, _) = env.run(&["audit", "verify"]).await;
        assert_eq!(code, 0, "{out}");
        server.stop().await;
    }
}

/// An inline recipient (no subscriber) unsubscribes by address: later
/// email to that address is suppressed at send time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_inline_recipient_unsubscribes_by_address() {
    let env = envs().await.remove(0);
    let mock = MockProvider::start(Kind::Postmark).await;
    env.write("foghorn.toml", &provider_table(Kind::Postmark, &mock.url));
    let key = env.key("admin").await;
    let server = Server::start(&env, "all", &[("FOGHORN_PUBLIC_URL", PUBLIC_URL)]).await;
    let api = Api::new(&server.base, &key);
    let event = json!({"name": "warranty.expiring", "to": [{"email": "Walk-In@Example.com"}], "data": warranty(30)});
    api.post("/v1/events", event.clone()).await;
    let got = mock.wait_accepted(1, WAIT).await;
    let headers = got[0].json()["Headers"].clone();
    let list = headers
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["Name"] == "List-Unsubscribe")
        .unwrap()["Value"]
        .as_str()
        .unwrap()
        .to_string();
    let https = list.split('>').next().unwrap().trim_start_matches('<');
    let local = format!("{}{}", server.base, https.strip_prefix(PUBLIC_URL).unwrap());
    let res = reqwest::Client::new()
        .post(&local)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The same address, written differently, is the same person.
    let mut again = event.clone();
    again["to"] = json!([{"email": "walk-in@example.com"}]);
    let (_, v) = api.post("/v1/events", again).await;
    let id = v["notifications"][0]["id"].as_str().unwrap().to_string();
    let start = std::time::Instant::now();
    loop {
        let (_, n) = api.get(&format!("/v1/notifications/{id}")).await;
        if n["status"] == "suppressed" {
            assert_eq!(n["status_reason"], "unsubscribed");
            break;
        }
        assert!(start.elapsed() < WAIT, "{n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(mock.accepted().len(), 1);
    server.stop().await;
}
