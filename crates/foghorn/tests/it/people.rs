//! Through the real binary, on both backends: preferences per channel and
//! category (at accept and again at send), opt-ins with the words agreed
//! to, quiet hours in the person's zone on a clock the test moves, and the
//! critical workflow that goes whatever the person chose.

use crate::common::*;
use serde_json::{json, Value};

/// Email and SMS workflows of three categories, and a critical recall.
fn workflows(env: &Env) {
    for (name, category, critical) in [
        ("warranty.expiring", "warranty", false),
        ("invoice.due", "invoices", false),
        ("offer.sent", "marketing", false),
        ("recall.issued", "safety", true),
    ] {
        env.write(
            &format!("workflows/{name}.toml"),
            &format!(
                "name = \"{name}\"\ncategory = \"{category}\"\ncritical = {critical}\n\
                 [[steps]]\nchannel = \"email\"\nsubject = \"{name}\"\nhtml = \"<p>{name}</p>\"\ntext = \"{name}\"\n\
                 [[steps]]\nchannel = \"sms\"\ntext = \"{name}\"\n"
            ),
        );
    }
}

/// The notifications of an event by channel: (id, status).
async fn event(api: &Api, name: &str, to: &str, extra: Value) -> Vec<(String, String, String)> {
    let mut body = json!({"name": name, "to": [to], "data": {}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (s, v) = api.post("/v1/events", body).await;
    assert_eq!(s, 202, "{v}");
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["channel"].as_str().unwrap().to_string(),
                n["id"].as_str().unwrap().to_string(),
                n["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn on<'a>(ns: &'a [(String, String, String)], channel: &str) -> (&'a str, &'a str) {
    let n = ns.iter().find(|n| n.0 == channel).expect("a notification");
    (n.1.as_str(), n.2.as_str())
}

async fn reason(api: &Api, id: &str) -> Option<String> {
    notification(api, id).await["status_reason"]
        .as_str()
        .map(String::from)
}

async fn start(env: &Env) -> (Server, Api, Api) {
    workflows(env);
    let key = env.key("admin").await;
    let operator = env.key("operator").await;
    let server = Server::start(env, "all", &[("FOGHORN_DEV__CLOCK", "true")]).await;
    let api = Api::new(&server.base, &key);
    let ops = Api::new(&server.base, &operator);
    let (s, v) = api
        .put(
            "/v1/preferences/categories",
            json!({"categories": {
                "warranty": {"label": "Warranty reminders"},
                "invoices": {"label": "Invoices", "channels": {"sms": false}},
                "marketing": {"label": "News and offers", "default": false, "marketing": true},
            }}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    put_subscriber(
        &api,
        "owner-1",
        json!({"email": "owner1@example.com", "phone": "+12025550101", "timezone": "Asia/Tokyo"}),
    )
    .await;
    (server, api, ops)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_category_opt_out_suppresses_that_category_only() {
    for env in envs().await {
        let b = env.backend();
        let (server, api, _) = start(&env).await;
        let (s, prefs) = api
            .put(
                "/v1/subscribers/owner-1/preferences",
                json!({"categories": {"warranty": {"email": false}}}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {prefs}");
        assert_eq!(prefs["categories"]["warranty"]["email"], false, "{b}");
        assert_eq!(prefs["categories"]["warranty"]["sms"], true, "{b}");
        assert_eq!(
            prefs["categories"]["invoices"]["sms"], false,
            "{b}: the tenant's default shows"
        );

        let warranty = event(&api, "warranty.expiring", "owner-1", json!({})).await;
        assert_eq!(on(&warranty, "email").1, "suppressed", "{b}");
        assert_eq!(
            reason(&api, on(&warranty, "email").0).await.as_deref(),
            Some("unsubscribed"),
            "{b}"
        );
        assert_eq!(
            on(&warranty, "sms").1,
            "queued",
            "{b}: the other channel goes"
        );
        let invoice = event(&api, "invoice.due", "owner-1", json!({})).await;
        assert_eq!(
            on(&invoice, "email").1,
            "queued",
            "{b}: other categories go"
        );
        assert_eq!(
            on(&invoice, "sms").1,
            "suppressed",
            "{b}: off by default on SMS"
        );
        assert_eq!(
            reason(&api, on(&invoice, "sms").0).await.as_deref(),
            Some("no consent"),
            "{b}"
        );
        wait_status(&api, on(&invoice, "email").0, "sent").await;

        // Marketing is off until a yes; by SMS the yes needs its words.
        let offer = event(&api, "offer.sent", "owner-1", json!({})).await;
        assert_eq!(on(&offer, "email").1, "suppressed", "{b}");
        let (s, v) = api
            .put(
                "/v1/subscribers/owner-1/preferences",
                json!({"categories": {"marketing": {"sms": true, "email": true}}}),
            )
            .await;
        assert_eq!(s, 422, "{b}: {v}");
        assert_eq!(v["field"], "consent_text", "{b}: {v}");
        let (_, still) = api.get("/v1/subscribers/owner-1/preferences").await;
        assert_eq!(
            still["categories"]["marketing"]["email"], false,
            "{b}: a refused update changes nothing"
        );
        let words = "Yes, text me offers from Harbor Marine. Msg&data rates may apply. Reply STOP to cancel.";
        let (s, v) = api
            .put(
                "/v1/subscribers/owner-1/preferences",
                json!({"categories": {"marketing": {"sms": true, "email": true}}, "consent_text": words}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        let offer = event(&api, "offer.sent", "owner-1", json!({})).await;
        assert_eq!(on(&offer, "email").1, "queued", "{b}");
        assert_eq!(on(&offer, "sms").1, "queued", "{b}");

        // The ledger has each change, once, with who and the words.
        let (_, c) = api.get("/v1/subscribers/owner-1/consents").await;
        let items = c["items"].as_array().unwrap();
        let mut entries: Vec<(String, String, String, Option<String>)> = items
            .iter()
            .map(|i| {
                (
                    i["channel"].as_str().unwrap().to_string(),
                    i["category"].as_str().unwrap_or_default().to_string(),
                    i["action"].as_str().unwrap().to_string(),
                    i["consent_text"].as_str().map(String::from),
                )
            })
            .collect();
        entries[1..].sort();
        assert_eq!(
            entries,
            vec![
                ("email".into(), "warranty".into(), "opt_out".into(), None),
                (
                    "email".into(),
                    "marketing".into(),
                    "opt_in".into(),
                    Some(words.into())
                ),
                (
                    "sms".into(),
                    "marketing".into(),
                    "opt_in".into(),
                    Some(words.into())
                ),
            ],
            "{b}: {c}"
        );
        assert!(
            items
                .iter()
                .all(|i| i["source"] == "api" && i["actor"].as_str().unwrap().starts_with("key:")),
            "{b}: {c}"
        );

        // A recall goes against every preference, and says so.
        let (s, _) = api
            .put(
                "/v1/subscribers/owner-1/preferences",
                json!({"channels": {"email": false, "sms": false}}),
            )
            .await;
        assert_eq!(s, 200);
        let recall = event(&api, "recall.issued", "owner-1", json!({})).await;
        for ch in ["email", "sms"] {
            let (id, status) = on(&recall, ch);
            assert_eq!(status, "queued", "{b}: {ch}");
            wait_status(&api, id, "sent").await;
            assert_eq!(
                reason(&api, id).await.as_deref(),
                Some("critical: preferences bypassed"),
                "{b}: {ch}"
            );
        }
        let warranty = event(&api, "warranty.expiring", "owner-1", json!({})).await;
        assert_eq!(
            on(&warranty, "sms").1,
            "suppressed",
            "{b}: the whole channel is given up"
        );
        // An event's priority is no critical workflow: it orders the queue,
        // it does not override the person.
        let urgent = event(
            &api,
            "warranty.expiring",
            "owner-1",
            json!({"priority": "critical"}),
        )
        .await;
        assert_eq!(on(&urgent, "sms").1, "suppressed", "{b}");
        // A later no to the whole channel covers an earlier yes to a category.
        let offer = event(&api, "offer.sent", "owner-1", json!({})).await;
        assert_eq!(
            on(&offer, "email").1,
            "suppressed",
            "{b}: marketing email went with all email"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_preference_changed_before_the_send_is_honoured_at_send_time() {
    for env in envs().await {
        let b = env.backend();
        let (server, api, ops) = start(&env).await;
        let at = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
        let later = event(&api, "warranty.expiring", "owner-1", json!({"send_at": at})).await;
        let (email, status) = on(&later, "email");
        assert_eq!(status, "scheduled", "{b}");
        let (s, _) = api
            .put(
                "/v1/subscribers/owner-1/preferences",
                json!({"categories": {"warranty": {"email": false}}}),
            )
            .await;
        assert_eq!(s, 200);
        let (s, v) = ops
            .post("/v1/admin/clock", json!({"advance_ms": 3 * 3_600_000}))
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        let n = wait_status(&api, email, "suppressed").await;
        assert_eq!(n["status_reason"], "unsubscribed", "{b}: {n}");
        let (sms, _) = on(&later, "sms");
        wait_status(&api, sms, "sent").await;
        assert!(
            inbox(&api)
                .await
                .iter()
                .all(|m| m["notification_id"] != email),
            "{b}: nothing was sent for the email"
        );
        server.stop().await;
    }
}

/// The next instant at `hh:mm` UTC that is at least an hour ahead.
fn next_utc(hh: u32, mm: u32) -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now() + chrono::Duration::hours(1);
    let today = now.date_naive().and_hms_opt(hh, mm, 0).unwrap().and_utc();
    if today > now {
        today
    } else {
        today + chrono::Duration::days(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quiet_hours_hold_a_notification_until_they_end() {
    for env in envs().await {
        let b = env.backend();
        let (server, api, ops) = start(&env).await;
        // Tokyo has no daylight saving: 21:00-08:00 there is 12:00-23:00 UTC.
        let (s, v) = api
            .put(
                "/v1/preferences/quiet-hours",
                json!({"quiet_hours": {"start": "21:00", "end": "08:00"}, "timezone": "Europe/Paris"}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        put_subscriber(&api, "owner-2", json!({"email": "owner2@example.com"})).await;
        let night = next_utc(13, 30); // 22:30 in Tokyo
        let (s, v) = ops
            .post("/v1/admin/clock", json!({"to": night.to_rfc3339()}))
            .await;
        assert_eq!(s, 200, "{b}: {v}");

        let held = event(&api, "invoice.due", "owner-1", json!({})).await;
        let (id, status) = on(&held, "email");
        assert_eq!(status, "scheduled", "{b}");
        let n = notification(&api, id).await;
        assert_eq!(n["status_reason"], "quiet hours", "{b}: {n}");
        let morning = night.date_naive().and_hms_opt(23, 0, 0).unwrap().and_utc();
        assert_eq!(
            n["send_at"]
                .as_str()
                .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()),
            Some(morning.timestamp()),
            "{b}: held until 08:00 in Tokyo: {n}"
        );
        // Paris (the tenant's zone for owner-2) is at 14:30: not quiet.
        let day = event(&api, "invoice.due", "owner-2", json!({})).await;
        assert_eq!(on(&day, "email").1, "queued", "{b}");
        // A recall bypasses quiet hours.
        let recall = event(&api, "recall.issued", "owner-1", json!({})).await;
        wait_status(&api, on(&recall, "email").0, "sent").await;
        wait_status(&api, on(&day, "email").0, "sent").await;
        assert_eq!(notification(&api, id).await["status"], "scheduled", "{b}");

        // The person's own hours win over the tenant's.
        let (s, v) = api
            .put(
                "/v1/subscribers/owner-1/preferences",
                json!({"quiet_hours": {"start": "00:00", "end": "00:00"}}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        assert_eq!(v["quiet_hours_from"], "subscriber", "{b}: {v}");
        let now = event(&api, "warranty.expiring", "owner-1", json!({})).await;
        assert_eq!(on(&now, "email").1, "queued", "{b}");
        let (s, v) = api
            .put(
                "/v1/subscribers/owner-1/preferences",
                json!({"quiet_hours": null}),
            )
            .await;
        assert_eq!(
            (s, &v["quiet_hours_from"]),
            (200, &json!("tenant")),
            "{b}: {v}"
        );
        // A profile update leaves the person's hours alone.
        let (s, _) = api
            .put(
                "/v1/subscribers/owner-1/preferences",
                json!({"quiet_hours": {"start": "22:00", "end": "07:00"}}),
            )
            .await;
        assert_eq!(s, 200);
        put_subscriber(
            &api,
            "owner-1",
            json!({"email": "owner1@example.com", "phone": "+12025550101", "timezone": "Asia/Tokyo"}),
        )
        .await;
        let (_, v) = api.get("/v1/subscribers/owner-1/preferences").await;
        assert_eq!(
            v["quiet_hours"],
            json!({"start": "22:00", "end": "07:00"}),
            "{b}: {v}"
        );

        // At 08:00 in Tokyo the held one goes.
        let (s, _) = ops
            .post("/v1/admin/clock", json!({"to": morning.to_rfc3339()}))
            .await;
        assert_eq!(s, 200);
        wait_status(&api, id, "sent").await;
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_preferences_are_refused_and_change_nothing() {
    for env in envs().await {
        let b = env.backend();
        let (server, api, ops) = start(&env).await;
        for (path, body, field) in [
            (
                "/v1/subscribers/owner-1/preferences",
                json!({"categories": {"warranty": {"slack": false}}}),
                "categories.warranty.slack",
            ),
            (
                "/v1/subscribers/owner-1/preferences",
                json!({"categories": {"Bad Name": {"email": false}}}),
                "categories.Bad Name",
            ),
            (
                "/v1/subscribers/owner-1/preferences",
                json!({"quiet_hours": {"start": "25:00", "end": "08:00"}}),
                "",
            ),
            (
                "/v1/preferences/quiet-hours",
                json!({"timezone": "Mars/Olympus"}),
                "timezone",
            ),
            (
                "/v1/preferences/categories",
                json!({"categories": {"x": {"channels": {"webhook": true}}}}),
                "categories.x.channels.webhook",
            ),
        ] {
            let (s, v) = api.put(path, body.clone()).await;
            assert!(s == 422 || s == 400, "{b}: {path} {body}: {s} {v}");
            if !field.is_empty() {
                assert_eq!(v["field"], field, "{b}: {v}");
            }
        }
        let (s, _) = api
            .put(
                "/v1/subscribers/nobody/preferences",
                json!({"channels": {"email": false}}),
            )
            .await;
        assert_eq!(s, 404, "{b}");
        // Alerts never go to the server's own network or files.
        for url in [
            "http://127.0.0.1:9/x",
            "http://169.254.169.254/latest/meta-data",
            "file:///etc/passwd",
            "env:HOME",
        ] {
            let (s, v) = api
                .put("/v1/budgets", json!({"monthly": {"total": {"amount": "5", "currency": "USD"}}, "alert_url": url}))
                .await;
            assert_eq!(
                (s, &v["field"]),
                (422, &json!("alert_url")),
                "{b}: {url}: {v}"
            );
        }
        let (_, v) = api.get("/v1/budgets").await;
        assert_eq!(
            v["budgets"]["monthly"],
            json!({}),
            "{b}: nothing was kept: {v}"
        );
        let (_, v) = api.get("/v1/preferences/quiet-hours").await;
        assert_eq!(v["timezone"], Value::Null, "{b}: {v}");
        let (_, v) = api.get("/v1/subscribers/owner-1/consents").await;
        assert_eq!(v["items"], json!([]), "{b}: {v}");
        // The clock is the operator's, and only moves forward.
        let (s, _) = api
            .post("/v1/admin/clock", json!({"advance_ms": 1000}))
            .await;
        assert_eq!(s, 403, "{b}: a tenant key cannot move it");
        let (s, _) = ops
            .post("/v1/admin/clock", json!({"to": "2001-01-01T00:00:00Z"}))
            .await;
        assert_eq!(s, 422, "{b}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_budget_alerts_once_at_80_percent_and_stops_what_can_wait_at_100() {
    for env in envs().await {
        let b = env.backend();
        webhook_provider(&env, "[pricing.sandbox]\nemail = \"0.30\"\n");
        workflows(&env);
        let key = env.key("admin").await;
        let sink = Sink::start().await;
        let server = Server::start(
            &env,
            "all",
            &[(
                "FOGHORN_SECURITY__ALLOW_PRIVATE_TARGETS_FOR_TENANTS",
                "true",
            )],
        )
        .await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "owner-1", json!({"email": "owner1@example.com"})).await;
        let (s, v) = api
            .put(
                "/v1/budgets",
                json!({"monthly": {"total": {"amount": "1.00", "currency": "USD"}},
                       "alert_url": format!("{}/budget", sink.url)}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        assert_eq!(v["usage"][0]["state"], "ok", "{b}: {v}");
        let alerts = || {
            sink.requests()
                .into_iter()
                .filter(|r| r.0 == "/budget")
                .map(|r| serde_json::from_str::<Value>(&r.3).unwrap())
                .collect::<Vec<_>>()
        };
        // 0.30 a message: three make 0.90, past 80%.
        for _ in 0..3 {
            let ns = event(&api, "invoice.due", "owner-1", json!({})).await;
            wait_status(&api, on(&ns, "email").0, "sent").await;
        }
        assert!(alerts().is_empty(), "{b}: no send has seen 80% yet");
        let (_, v) = api.get("/v1/budgets").await;
        assert_eq!(
            (&v["usage"][0]["spent"], &v["usage"][0]["state"]),
            (&json!("0.9"), &json!("warning")),
            "{b}: {v}"
        );
        // The fourth sees 90%: the alert goes once, the send too (1.20).
        let ns = event(&api, "invoice.due", "owner-1", json!({})).await;
        wait_status(&api, on(&ns, "email").0, "sent").await;
        sink.wait_for(1, std::time::Duration::from_secs(20)).await;
        let got = alerts();
        assert_eq!(got.len(), 1, "{b}: {got:?}");
        assert!(
            got[0].to_string().contains("budget.threshold"),
            "{b}: {got:?}"
        );
        assert!(
            got[0].to_string().contains("\"percent\":80"),
            "{b}: {got:?}"
        );
        // Spent: what can wait is suppressed, and the 100% alert goes once.
        for _ in 0..2 {
            let ns = event(&api, "invoice.due", "owner-1", json!({})).await;
            let n = wait_status(&api, on(&ns, "email").0, "suppressed").await;
            assert_eq!(n["status_reason"], "budget", "{b}: {n}");
        }
        // A recall still goes.
        let recall = event(&api, "recall.issued", "owner-1", json!({})).await;
        wait_status(&api, on(&recall, "email").0, "sent").await;
        sink.wait_for(2, std::time::Duration::from_secs(20)).await;
        let got = alerts();
        let percents: Vec<String> = got
            .iter()
            .map(|a| {
                let t = a.to_string();
                if t.contains("\"percent\":100") {
                    "100"
                } else {
                    "80"
                }
                .to_string()
            })
            .collect();
        assert_eq!(percents, vec!["80", "100"], "{b}: each once: {got:?}");
        let (_, v) = api.get("/v1/budgets").await;
        assert_eq!(v["usage"][0]["state"], "exhausted", "{b}: {v}");
        // The cost report agrees with the budget's count.
        let (_, costs) = api.get("/v1/reports/costs").await;
        assert!(
            costs.to_string().contains("1.5"),
            "{b}: five sends at 0.30: {costs}"
        );
        // A budget that is no amount is refused.
        let (s, v) = api
            .put(
                "/v1/budgets",
                json!({"monthly": {"sms": {"amount": "-1", "currency": "usd"}}}),
            )
            .await;
        assert_eq!(
            (s, &v["field"]),
            (422, &json!("monthly.sms.amount")),
            "{b}: {v}"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retention_removes_expired_detail_in_batches_and_the_cost_report_stays() {
    for env in envs().await {
        let b = env.backend();
        webhook_provider(
            &env,
            "[pricing.sandbox]\nemail = \"0.30\"\n\
             [retention]\nsandbox = \"1d\"\nattempts = \"1d\"\nreceipts = \"1d\"\nevery = \"1s\"\nbatch = 2\n",
        );
        let (server, api, ops) = start(&env).await;
        let mut sent = Vec::new();
        for _ in 0..5 {
            let ns = event(&api, "invoice.due", "owner-1", json!({})).await;
            let id = on(&ns, "email").0.to_string();
            wait_status(&api, &id, "sent").await;
            sent.push(id);
        }
        let month = chrono::Utc::now().format("%Y-%m").to_string();
        let report = format!("/v1/reports/costs?month={month}");
        let (s, before) = api.get(&report).await;
        assert_eq!(s, 200, "{b}: {before}");
        assert!(before.to_string().contains("1.5"), "{b}: {before}");
        assert_eq!(inbox(&api).await.len(), 5, "{b}");
        assert_eq!(
            notification(&api, &sent[0]).await["attempts"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let (s, _) = ops
            .post("/v1/admin/clock", json!({"advance_ms": 2 * 86_400_000}))
            .await;
        assert_eq!(s, 200);
        let start = std::time::Instant::now();
        loop {
            let left = inbox(&api).await.len();
            let attempts = notification(&api, &sent[4]).await["attempts"]
                .as_array()
                .map_or(0, Vec::len);
            if left == 0 && attempts == 0 {
                break;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "{b}: {left} captured messages and {attempts} attempts left"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let (_, after) = api.get(&report).await;
        assert_eq!(after, before, "{b}: the cost report outlives the detail");
        let n = notification(&api, &sent[0]).await;
        assert_eq!(
            n["status"], "sent",
            "{b}: the notification itself stays: {n}"
        );
        let logs = server.logs();
        assert!(
            logs.contains("retention removed expired rows") && logs.contains("batches=3"),
            "{b}: five rows went two at a time: {logs}"
        );
        server.stop().await;
    }
}
