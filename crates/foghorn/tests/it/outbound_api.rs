//! Outbound API through the real binary: workflow previews, the monthly
//! cost report (the seed scenario), phone number validation and the
//! unsubscribe link's error pages.

use crate::common::*;
use crate::mock_providers::{Kind, MockProvider};
use foghorn_core::TenantId;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn twilio(url: &str) -> String {
    format!("[providers.twilio]\naccount_sid = \"AC0123\"\nauth_token = \"tok\"\nphone_number = \"+12025550100\"\nbase_url = \"{url}\"\n")
}

fn mailgun(url: &str) -> String {
    format!("[providers.mailgun]\napi_key = \"key-test\"\ndomain = \"mg.navidocs.example\"\nbase_url = \"{url}\"\nfrom = \"noreply@mg.navidocs.example\"\n")
}

/// The preview renders every step without sending: email parts, and for
/// SMS the encoding, segments, characters, cap and estimated cost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn preview_renders_steps_without_sending() {
    let env = envs().await.remove(0);
    let sms = MockProvider::start(Kind::Twilio).await;
    env.write("foghorn.toml", &twilio(&sms.url));
    let admin = env.key("admin").await;
    let read = env.key("read").await;
    let server = Server::start(
        &env,
        "all",
        &[("FOGHORN_PUBLIC_URL", "https://foghorn.example")],
    )
    .await;
    let api = Api::new(&server.base, &read);
    let data = json!({"boat": "Jeanneau 51", "title": "Engine Warranty", "expires_on": "2026-04-30",
                      "days_left": 12, "url": "https://navidocs.example/w/17"});
    let (s, v) = api
        .post(
            "/v1/workflows/warranty.expiring/preview",
            json!({"data": data, "recipient": {"name": "Elena", "phone": "+1 202 555 0142"}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let steps = v["steps"].as_array().unwrap();
    // Email, SMS (14 days or fewer left), and the team's Slack card.
    assert_eq!(steps.len(), 3, "{v}");
    let slack = steps[2].to_string();
    assert!(
        slack.contains("Warranty ending: Engine Warranty"),
        "{slack}"
    );
    let email = &steps[0];
    assert_eq!(email["channel"], "email");
    assert_eq!(
        email["subject"],
        "Engine Warranty for Jeanneau 51 ends on 2026-04-30 (12 days left)"
    );
    assert!(email["html"].as_str().unwrap().contains("Hello Elena,"));
    let text = email["text"].as_str().unwrap();
    assert!(
        text.contains("Unsubscribe: https://foghorn.example/p/preview/unsubscribe"),
        "{text}"
    );
    let sms_step = &steps[1];
    assert_eq!(sms_step["channel"], "sms");
    assert_eq!(sms_step["applies"], true);
    assert_eq!(
        sms_step["text"],
        "NaviDocs: Engine Warranty for Jeanneau 51 ends 2026-04-30 (12 days left). File claims before then. https://navidocs.example/w/17"
    );
    assert_eq!(sms_step["encoding"], "gsm7");
    assert_eq!(sms_step["segments"], 1);
    assert_eq!(
        sms_step["characters"],
        sms_step["text"].as_str().unwrap().chars().count()
    );
    assert_eq!(sms_step["max_segments"], 1);
    assert_eq!(sms_step["truncated"], false);
    assert_eq!(
        (sms_step["provider"].as_str(), sms_step["country"].as_str()),
        (Some("twilio"), Some("US"))
    );
    assert_eq!(
        sms_step["estimated_cost"],
        json!({"amount": "0.0075", "currency": "USD"})
    );

    // One step, in French, with a title that overflows one segment: cut to
    // the workflow's cap, the link kept whole.
    let long = json!({"boat": "Jeanneau 51", "title": "Garantie étendue moteur, transmission et embase saildrive, pièces et main-d'œuvre",
                      "expires_on": "2026-04-30", "days_left": 3, "url": "https://navidocs.example/w/17"});
    let (s, v) = api
        .post(
            "/v1/workflows/warranty.expiring/preview",
            json!({"step": 1, "data": long, "locale": "fr"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let step = &v["steps"][0];
    assert_eq!(v["locale"], "fr");
    assert_eq!(
        (step["truncated"].as_bool(), step["segments"].as_u64()),
        (Some(true), Some(1)),
        "{step}"
    );
    let text = step["text"].as_str().unwrap();
    assert!(text.starts_with("NaviDocs : Garantie"), "{text}");
    assert!(
        text.ends_with("... https://navidocs.example/w/17"),
        "{text}"
    );
    assert!(step["characters"].as_u64().unwrap() <= 160);
    // No recipient country: the price table has no default for Twilio.
    assert!(
        step.get("estimated_cost").is_none() || step["estimated_cost"].is_null(),
        "{step}"
    );

    // French email, and the sample data when none is given.
    let (_, v) = api
        .post(
            "/v1/workflows/warranty.expiring/preview",
            json!({"step": 0, "recipient": {"locale": "fr-FR", "name": "Amélie"}}),
        )
        .await;
    assert!(
        v["steps"][0]["subject"]
            .as_str()
            .unwrap()
            .contains("fin de garantie le 2026-04-30"),
        "{v}"
    );
    assert!(v["steps"][0]["html"]
        .as_str()
        .unwrap()
        .contains("Bonjour Amélie,"));

    // Critical workflows carry no unsubscribe link.
    let (_, v) = api
        .post("/v1/workflows/recall.issued/preview", json!({"step": 0}))
        .await;
    assert!(
        !v["steps"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Unsubscribe"),
        "{v}"
    );

    for (body, status, field) in [
        (json!({"step": 7}), 422, "step"),
        (json!({"data": [1]}), 422, "data"),
        (json!({"colour": "red"}), 422, "colour"),
    ] {
        let (s, v) = api
            .post("/v1/workflows/warranty.expiring/preview", body.clone())
            .await;
        assert_eq!(s, status, "{body}: {v}");
        assert!(
            v["field"].as_str().unwrap_or_default().contains(field)
                || v["detail"].as_str().unwrap_or_default().contains(field),
            "{v}"
        );
    }
    let (s, _) = api.post("/v1/workflows/no.such/preview", json!({})).await;
    assert_eq!(s, 404);
    let writer = Api::new(&server.base, &env.key("events:write").await);
    let (s, _) = writer
        .post("/v1/workflows/warranty.expiring/preview", json!({}))
        .await;
    assert_eq!(s, 403, "preview needs the read scope");

    // Nothing was sent or stored.
    let admin = Api::new(&server.base, &admin);
    assert!(admin.all_notifications("").await.is_empty());
    assert!(sms.received().is_empty());
    server.stop().await;
}

/// The seed scenario: 100 emails via Mailgun ($0.0005 each) and 50
/// single-segment SMS via Twilio to US numbers ($0.0075) cost $0.05 +
/// $0.375 = $0.425 for the month, per provider and in total — and only
/// for the tenant that sent them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_monthly_cost_report_matches_the_seed_scenario() {
    for env in envs().await {
        let mail = MockProvider::start(Kind::Mailgun).await;
        let sms = MockProvider::start(Kind::Twilio).await;
        env.write(
            "foghorn.toml",
            &format!("{}{}", mailgun(&mail.url), twilio(&sms.url)),
        );
        env.write(
            "workflows/costs.toml",
            "name = \"account.notice\"\ncategory = \"account\"\n[[steps]]\nchannel = \"email\"\nsubject = \"Notice\"\ntext = \"Your account has a notice.\"\n[[steps]]\nchannel = \"sms\"\ntext = \"NaviDocs: your account has a notice.\"\n",
        );
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let emails: Vec<Value> = (0..100)
            .map(|i| json!({"email": format!("owner{i}@example.com")}))
            .collect();
        let phones: Vec<Value> = (0..50)
            .map(|i| json!({"phone": format!("(202) 555-{:04}", 100 + i), "country": "US"}))
            .collect();
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "account.notice", "to": emails}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "account.notice", "to": phones}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        // Each event also plans the channel its recipients have no address
        // for: those are suppressed and cost nothing.
        api.wait_for_status("sent", 150, WAIT).await;
        assert_eq!(mail.accepted().len(), 100);
        assert_eq!(sms.accepted().len(), 50);
        assert!(sms
            .accepted()
            .iter()
            .all(|r| r.field("To").is_some_and(|t| t.starts_with("+1202555"))));
        let month = chrono::Utc::now().format("%Y-%m").to_string();
        let (s, r) = api.get(&format!("/v1/reports/costs?month={month}")).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(
            r["lines"],
            json!([
                {"provider": "mailgun", "channel": "email", "amount": "0.05", "currency": "USD", "count": 100},
                {"provider": "twilio", "channel": "sms", "amount": "0.375", "currency": "USD", "count": 50},
            ]),
            "{}",
            env.backend()
        );
        assert_eq!(
            r["providers"],
            json!([
                {"provider": "mailgun", "amount": "0.05", "currency": "USD", "count": 100},
                {"provider": "twilio", "amount": "0.375", "currency": "USD", "count": 50},
            ])
        );
        assert_eq!(
            r["totals"],
            json!([{"amount": "0.425", "currency": "USD", "count": 150}])
        );
        let (_, default_month) = api.get("/v1/reports/costs").await;
        assert_eq!(
            default_month["totals"], r["totals"],
            "the current month by default"
        );
        let (_, empty) = api.get("/v1/reports/costs?month=2020-01").await;
        assert_eq!(empty["totals"], json!([]));
        let (s, bad) = api.get("/v1/reports/costs?month=January").await;
        assert_eq!((s, bad["field"].as_str()), (422, Some("month")));

        // Another tenant sees only its own (empty) month.
        let (code, out, err) = env
            .run(&["tenants", "create", "Riviera Yachts", "--id", "riviera"])
            .await;
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, err) = env
            .run(&["keys", "create", "--scope", "read", "--tenant", "riviera"])
            .await;
        assert_eq!(code, 0, "{err}");
        let other = Api::new(&server.base, out.lines().last().unwrap().trim());
        let (s, theirs) = other.get(&format!("/v1/reports/costs?month={month}")).await;
        assert_eq!((s, theirs["totals"].clone()), (200, json!([])));
        server.stop().await;
    }
}

/// Numbers are checked against the numbering plan and stored in E.164; a
/// bad one is a 422 naming the field, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn phone_numbers_are_validated_and_normalised_at_the_api() {
    let env = envs().await.remove(0);
    let key = env.key("admin").await;
    let server = Server::start(&env, "all", &[]).await;
    let api = Api::new(&server.base, &key);
    let (s, v) = api
        .put(
            "/v1/subscribers/fr-1",
            json!({"phone": "06 12 34 56 78", "whatsapp": "+33 6 12 34 56 79", "country": "fr"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (v["phone"].as_str(), v["whatsapp"].as_str()),
        (Some("+33612345678"), Some("+33612345679"))
    );
    assert_eq!(v["country"], "FR");
    for (body, field) in [
        (json!({"phone": "06 12 34 56 78"}), "phone"),
        (json!({"phone": "+1 555 555 0142"}), "phone"),
        (json!({"whatsapp": "not a number"}), "whatsapp"),
        (json!({"phone": "2025550142", "country": "USA"}), "country"),
    ] {
        let (s, v) = api.put("/v1/subscribers/bad-1", body.clone()).await;
        assert_eq!((s, v["field"].as_str()), (422, Some(field)), "{body}: {v}");
        assert_eq!(v["type"], "urn:foghorn:problem:validation-failed");
    }
    let (s, _) = api.get("/v1/subscribers/bad-1").await;
    assert_eq!(s, 404, "nothing half-written");
    let (s, v) = api
        .post("/v1/events", json!({"name": "warranty.expiring", "to": [{"email": "a@example.com", "phone": "+1 202 555"}], "data": {"days_left": 3}}))
        .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("to[0].phone")), "{v}");
    let (events, notifications, _) = {
        let store =
            foghorn_store::Store::connect(env.url(), foghorn_store::crypto::Crypto::ephemeral())
                .await
                .unwrap();
        let counts = store.row_counts(&TenantId::from("default")).await.unwrap();
        store.close().await;
        counts
    };
    assert_eq!((events, notifications), (0, 0));
    server.stop().await;
}

/// A bad or expired unsubscribe link is a plain page for people and
/// problem+json for API clients; it changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_and_expired_unsubscribe_links_are_refused() {
    let env = envs().await.remove(0);
    let key = env.key("admin").await;
    // Links that expire as soon as they are made.
    let server = Server::start(
        &env,
        "all",
        &[
            ("FOGHORN_PUBLIC_URL", "https://foghorn.example"),
            ("FOGHORN_EMAIL__UNSUBSCRIBE_TTL", "0s"),
            ("EMAIL_FROM", "a@navidocs.example"),
        ],
    )
    .await;
    let api = Api::new(&server.base, &key);
    let http = reqwest::Client::new();
    let bad = format!("{}/p/not-a-token/unsubscribe", server.base);
    let res = http.get(&bad).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let res = http
        .post(&bad)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["type"], "urn:foghorn:problem:invalid-link");

    // A real link (from the sandbox's copy of the email), after it expired.
    api.put(
        "/v1/subscribers/owner-42",
        json!({"email": "elena@example.com"}),
    )
    .await;
    api.post(
        "/v1/events",
        json!({"name": "warranty.expiring", "to": ["owner-42"], "data": {"days_left": 30}}),
    )
    .await;
    api.wait_for_status("sent", 1, WAIT).await;
    let (_, inbox) = api.get("/v1/sandbox/messages").await;
    let text = inbox.to_string();
    let start = text
        .find("https://foghorn.example/p/")
        .expect("an unsubscribe link in the email");
    let link: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_./:".contains(*c))
        .collect();
    let local = format!(
        "{}{}",
        server.base,
        link.strip_prefix("https://foghorn.example").unwrap()
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let res = http
        .post(&local)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("expired"));
    let res = http
        .get(&local)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    let (_, sub) = api.get("/v1/subscribers/owner-42").await;
    assert_eq!(sub["opt_out"], json!([]));
    server.stop().await;
}

/// The new endpoints are in the OpenAPI document.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openapi_document_lists_the_outbound_endpoints() {
    let env = envs().await.remove(0);
    let server = Server::start(&env, "all", &[]).await;
    let doc: Value = reqwest::get(format!("{}/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/workflows/{name}/preview",
        "/v1/reports/costs",
        "/p/{token}/unsubscribe",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    assert!(doc["paths"]["/p/{token}/unsubscribe"].get("post").is_some());
    server.stop().await;
}

/// With `short_links = true`, URLs in an SMS go out as `{public_url}/l/{code}`;
/// following one redirects to the target and the click shows on the
/// notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sms_short_links_redirect_and_record_clicks() {
    for env in envs().await {
        let sms = MockProvider::start(Kind::Twilio).await;
        env.write("foghorn.toml", &twilio(&sms.url));
        env.write(
            "workflows/links.toml",
            "name = \"doc.shared\"\n[[steps]]\nchannel = \"sms\"\nshort_links = true\ntext = \"NaviDocs: {{ data.title }} is ready: {{ data.url }}.\"\n",
        );
        let key = env.key("admin").await;
        let server = Server::start(
            &env,
            "all",
            &[("FOGHORN_PUBLIC_URL", "https://foghorn.example")],
        )
        .await;
        let api = Api::new(&server.base, &key);
        let target = "https://navidocs.example/boats/jeanneau-51/docs/d-81k4?tab=pages&page=2";
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "doc.shared", "to": [{"phone": "+12025550142"}],
                "data": {"title": "Survey", "url": target}}),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        let id = v["notifications"][0]["id"].as_str().unwrap().to_string();
        let got = sms.wait_accepted(1, WAIT).await;
        let body = got[0].field("Body").unwrap();
        let prefix = "NaviDocs: Survey is ready: https://foghorn.example/l/";
        assert!(body.starts_with(prefix) && body.ends_with('.'), "{body}");
        let code = &body[prefix.len()..body.len() - 1];
        assert!(
            !body.contains("navidocs.example/boats"),
            "the long URL is not in the text"
        );

        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = http
            .get(format!("{}/l/{code}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], target);
        let res = http
            .get(format!("{}/l/AAAAAAAAAAA", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        api.wait_for_status("sent", 1, WAIT).await;
        let (_, n) = api.get(&format!("/v1/notifications/{id}")).await;
        let clicks = n["clicks"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: {n}", env.backend()));
        assert_eq!(clicks.len(), 1);
        assert_eq!(clicks[0]["code"], code);
        server.stop().await;
    }
}
