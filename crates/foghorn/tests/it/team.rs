//! Slack and Discord through the real binary: a thread per boat, a signed
//! Acknowledge click that records who and updates the message, Discord's
//! PING, `/find` answering from the tenant's own catalog, and a burst of
//! alerts against a Slack that allows one message a second per channel
//! (every alert once, in order per channel, none refused, none dead).

use crate::common::*;
use foghorn_testkit::{MockServer, Reply};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TOKEN: &str = "xoxb-test-token";

/// Slack's Web API as far as Foghorn uses it: `chat.postMessage` answers a
/// fresh `ts`, and a channel posted to less than a second ago answers 429
/// `ratelimited` with `Retry-After: 1`; `chat.update` answers ok.
async fn slack_api() -> MockServer {
    let last: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    MockServer::start(move |req| {
        let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        let channel = body["channel"].as_str().unwrap_or_default().to_string();
        match req.path {
            "/api/chat.postMessage" => {
                let mut last = last.lock().unwrap();
                let now = Instant::now();
                if last
                    .get(&channel)
                    .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1))
                {
                    return Reply::json(429, json!({"ok": false, "error": "ratelimited"}))
                        .with_header("retry-after", "1");
                }
                last.insert(channel.clone(), now);
                let ts = format!("1765000000.{:06}", req.n);
                Reply::json(
                    200,
                    json!({"ok": true, "channel": channel, "ts": ts, "message": {"ts": ts}}),
                )
            }
            "/api/chat.update" => Reply::json(
                200,
                json!({"ok": true, "channel": channel, "ts": body["ts"]}),
            ),
            _ => Reply::json(200, json!({"ok": false, "error": "unknown_method"})),
        }
    })
    .await
}

fn discord_key() -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[7u8; 32]).unwrap()
}

fn config(env: &Env, slack: &str, discord_hook: &str) {
    let public = hex(discord_key().public_key().as_ref());
    env.write(
        "foghorn.toml",
        &format!(
            "[providers.slack]\nkind = \"slack\"\nbot_token = \"{TOKEN}\"\nsigning_secret = \"{SECRET}\"\nbase_url = \"{slack}/api\"\n\
             [providers.discord]\nkind = \"discord\"\npublic_key = \"{public}\"\nwebhook_url = \"{discord_hook}\"\n"
        ),
    );
    env.write(
        "workflows/warranty.expiring.toml",
        "name = \"warranty.expiring\"\ncategory = \"warranty\"\n[[steps]]\nchannel = \"slack\"\ndestination = \"C0ALERTS\"\ntemplate = \"warranty_expiring\"\nseverity = \"warning\"\nacknowledge = true\n",
    );
}

async fn post_signed(
    base: &str,
    path: &str,
    headers: Vec<(String, String)>,
    content_type: &str,
    body: String,
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn slack_signed(ts: i64, body: &str) -> Vec<(String, String)> {
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    hmac::Mac::update(&mut mac, format!("v0:{ts}:{body}").as_bytes());
    vec![
        ("x-slack-request-timestamp".into(), ts.to_string()),
        (
            "x-slack-signature".into(),
            format!("v0={}", hex(&hmac::Mac::finalize(mac).into_bytes())),
        ),
    ]
}

fn discord_signed(key: &Ed25519KeyPair, ts: i64, body: &str) -> Vec<(String, String)> {
    let mut msg = ts.to_string().into_bytes();
    msg.extend_from_slice(body.as_bytes());
    vec![
        ("x-signature-ed25519".into(), hex(key.sign(&msg).as_ref())),
        ("x-signature-timestamp".into(), ts.to_string()),
    ]
}

fn warranty(boat: &str, title: &str) -> Value {
    json!({"name": "warranty.expiring", "grouping_key": format!("boat:{boat}"), "data": {
        "boat": boat, "title": title, "component": "Engine", "expires_on": "2026-12-15", "days_left": 13,
        "url": "https://app.navidocs.example/w/1"}})
}

#[tokio::test]
async fn a_boat_gets_a_thread_an_acknowledge_click_is_recorded_and_find_stays_in_its_tenant() {
    for env in envs().await {
        let b = env.backend();
        let slack = slack_api().await;
        let discord =
            MockServer::start(|_| Reply::json(200, json!({"id": "1", "channel_id": "2"}))).await;
        config(
            &env,
            &slack.url,
            &format!("{}/api/webhooks/1/t", discord.url),
        );
        let key = env.key("admin").await;
        let (_, other_key) = tenant_with_key(&env, "other-dealer").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);

        // Twice about one boat: one message, then a reply in its thread.
        let (first, _) = send(&api, warranty("Sea Breeze", "Engine warranty")).await;
        wait_status(&api, &first, "sent").await;
        let (second, _) = send(&api, warranty("Sea Breeze", "Engine warranty")).await;
        wait_status(&api, &second, "sent").await;
        let posts = slack.to_path("/api/chat.postMessage");
        let posts: Vec<Value> = posts
            .iter()
            .filter(|r| r.status == 200)
            .map(|r| r.json())
            .collect();
        assert_eq!(posts.len(), 2, "{b}: {posts:?}");
        assert_eq!(posts[0]["channel"], "C0ALERTS", "{b}");
        assert!(posts[0].get("thread_ts").is_none(), "{b}: {}", posts[0]);
        let first_ts = notification(&api, &first).await["provider_message_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            posts[1]["thread_ts"],
            first_ts.as_str(),
            "{b}: {}",
            posts[1]
        );
        assert_eq!(
            posts[0]["blocks"][0]["text"]["text"], "Warranty ending: Engine warranty",
            "{b}"
        );

        // A signed Acknowledge click on the first message.
        let payload = json!({"type": "block_actions", "user": {"id": "U0OWNER", "username": "owner"},
            "channel": {"id": "C0ALERTS"}, "container": {"message_ts": first_ts, "channel_id": "C0ALERTS"},
            "message": {"ts": first_ts, "blocks": posts[0]["blocks"]},
            "actions": [{"action_id": "acknowledge", "value": first, "type": "button"}]});
        let body = format!("payload={}", enc(&payload.to_string()));
        // Tampered, a wrong secret and a stale timestamp change nothing.
        let now = now_s();
        let tampered = body.replace("U0OWNER", "U0EVIL0");
        let (s, _) = post_signed(
            &server.base,
            "/interactions/slack",
            slack_signed(now, &body),
            "application/x-www-form-urlencoded",
            tampered,
        )
        .await;
        assert_eq!(s, 401, "{b}");
        let (s, _) = post_signed(
            &server.base,
            "/interactions/slack",
            slack_signed(now - 600, &body),
            "application/x-www-form-urlencoded",
            body.clone(),
        )
        .await;
        assert_eq!(s, 401, "{b}");
        assert!(
            notification(&api, &first)
                .await
                .get("acknowledged")
                .is_none(),
            "{b}"
        );
        let (s, text) = post_signed(
            &server.base,
            "/interactions/slack",
            slack_signed(now, &body),
            "application/x-www-form-urlencoded",
            body.clone(),
        )
        .await;
        assert_eq!(s, 200, "{b}: {text}");
        let n = notification(&api, &first).await;
        assert_eq!(n["acknowledged"]["via"], "slack", "{b}: {n}");
        assert!(
            n["acknowledged"]["by"]
                .as_str()
                .unwrap()
                .contains("U0OWNER"),
            "{b}: {n}"
        );
        assert!(
            timeline_kinds(&n).contains(&"acknowledged".to_string()),
            "{b}: {n}"
        );
        let mut updated = Vec::new();
        for _ in 0..100 {
            updated = slack.to_path("/api/chat.update");
            if !updated.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let update = updated
            .first()
            .unwrap_or_else(|| panic!("{b}: no chat.update"))
            .json();
        assert_eq!(update["channel"], "C0ALERTS", "{b}");
        assert_eq!(update["ts"], first_ts.as_str(), "{b}");
        assert!(
            update["text"]
                .as_str()
                .unwrap()
                .contains("Acknowledged by <@U0OWNER>"),
            "{b}: {update}"
        );
        assert!(
            !update["blocks"].to_string().contains("\"acknowledge\""),
            "{b}: the buttons are gone"
        );

        // Discord checks the endpoint with a PING, and with bad signatures.
        let k = discord_key();
        let ping = r#"{"type":1,"id":"1","application_id":"2","token":"t","version":1}"#;
        let (s, text) = post_signed(
            &server.base,
            "/interactions/discord",
            discord_signed(&k, now_s(), ping),
            "application/json",
            ping.into(),
        )
        .await;
        assert_eq!((s, text.as_str()), (200, r#"{"type":1}"#), "{b}");
        let wrong = Ed25519KeyPair::from_seed_unchecked(&[8u8; 32]).unwrap();
        let (s, _) = post_signed(
            &server.base,
            "/interactions/discord",
            discord_signed(&wrong, now_s(), ping),
            "application/json",
            ping.into(),
        )
        .await;
        assert_eq!(s, 401, "{b}");

        // The other dealer's warranty is in its own catalog only.
        let other = Api::new(&server.base, &other_key);
        let (s, v) = other
            .post(
                "/v1/events",
                warranty("Blue Fin", "Hull warranty of the other dealer"),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        let mut found = Value::Null;
        for _ in 0..100 {
            let (_, v) = api.get("/v1/catalog/search?q=warr").await;
            let (_, o) = other.get("/v1/catalog/search?q=warranty").await;
            if v["items"].as_array().is_some_and(|i| !i.is_empty())
                && o["items"].as_array().is_some_and(|i| !i.is_empty())
            {
                found = v;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            found["items"].as_array().map(Vec::len),
            Some(1),
            "{b}: {found}"
        );
        assert_eq!(found["items"][0]["title"], "Engine warranty", "{b}");
        let (s, v) = api.get("/v1/catalog/search?q=").await;
        assert_eq!(s, 422, "{b}: {v}");
        let command = json!({"type": 2, "id": "9", "application_id": "111", "token": "tok", "channel_id": "5",
            "member": {"user": {"id": "42", "username": "mech"}},
            "data": {"id": "c1", "name": "find", "type": 1, "options": [{"name": "query", "type": 3, "value": "warranty"}]}})
            .to_string();
        let (s, text) = post_signed(
            &server.base,
            "/interactions/discord",
            discord_signed(&k, now_s(), &command),
            "application/json",
            command.clone(),
        )
        .await;
        assert_eq!(s, 200, "{b}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["type"], 4, "{b}");
        let fields = answer["data"]["embeds"][0]["fields"].to_string();
        assert!(fields.contains("Engine warranty"), "{b}: {answer}");
        assert!(
            !fields.contains("other dealer"),
            "{b}: another tenant's document: {answer}"
        );

        // `/boat-status` in Slack: the boat's documents and its open alert
        // (the second message; the first was acknowledged).
        let cmd = "token=t&team_id=T1&channel_id=C0ALERTS&user_id=U0OWNER&user_name=owner&command=%2Fboat-status&text=sea+breeze";
        let (s, text) = post_signed(
            &server.base,
            "/interactions/slack",
            slack_signed(now_s(), cmd),
            "application/x-www-form-urlencoded",
            cmd.into(),
        )
        .await;
        assert_eq!(s, 200, "{b}: {text}");
        let status: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(status["response_type"], "ephemeral", "{b}");
        let blocks = status["blocks"].to_string();
        assert!(blocks.contains("Engine warranty"), "{b}: {status}");
        assert!(blocks.contains("expires 2026-12-15"), "{b}: {status}");
        assert!(
            blocks.contains(&second) && !blocks.contains(&first),
            "{b}: open alerts: {status}"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn a_burst_of_alerts_keeps_slacks_pace_in_order_and_loses_none() {
    for env in envs().await {
        let b = env.backend();
        let slack = slack_api().await;
        config(
            &env,
            &slack.url,
            "https://discord.com/api/webhooks/1/unused",
        );
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        // 1,000 alerts over 50 channels: 20 a channel, a second apart.
        const CHANNELS: usize = 50;
        const ALERTS: usize = 1_000;
        let mut workflows = Vec::new();
        for c in 0..CHANNELS {
            let doc = json!({"name": format!("ops.alert.{c}"), "steps": [{"channel": "slack", "destination": format!("C{c:04}"), "text": "# Alert {{ data.seq }}"}]});
            workflows.push(doc);
        }
        for doc in &workflows {
            let (s, v) = api
                .put(
                    &format!("/v1/workflows/{}", doc["name"].as_str().unwrap()),
                    doc.clone(),
                )
                .await;
            assert!(s == 200 || s == 201, "{b}: {v}");
        }
        for i in 0..ALERTS {
            let (s, v) = api
                .post(
                    "/v1/events",
                    json!({"name": format!("ops.alert.{}", i % CHANNELS), "data": {"seq": i}}),
                )
                .await;
            assert_eq!(s, 202, "{b}: {v}");
        }
        let sent = api
            .wait_for_status("sent", ALERTS, Duration::from_secs(90))
            .await;
        assert_eq!(sent.len(), ALERTS, "{b}");
        let (_, dlq) = api.get("/v1/dlq").await;
        assert_eq!(dlq["items"].as_array().map(Vec::len), Some(0), "{b}: {dlq}");
        let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
        for r in slack
            .to_path("/api/chat.postMessage")
            .iter()
            .filter(|r| r.status == 200)
        {
            let body = r.json();
            let seq: u64 = body["text"]
                .as_str()
                .unwrap()
                .trim_start_matches("Alert ")
                .parse()
                .unwrap();
            seen.entry(body["channel"].as_str().unwrap().to_string())
                .or_default()
                .push(seq);
        }
        assert_eq!(
            seen.values().map(Vec::len).sum::<usize>(),
            ALERTS,
            "{b}: one post each; {} refused; C0000 got {:?}",
            slack
                .to_path("/api/chat.postMessage")
                .iter()
                .filter(|r| r.status == 429)
                .count(),
            seen.get("C0000")
        );
        // Each channel got its alerts in the order they were sent.
        for (channel, seqs) in &seen {
            let mut sorted = seqs.clone();
            sorted.sort_unstable();
            assert_eq!(seqs, &sorted, "{b}: {channel} out of order");
        }
        // Slack never had to refuse one: the queue kept the pace.
        let refused = slack
            .to_path("/api/chat.postMessage")
            .iter()
            .filter(|r| r.status == 429)
            .count();
        assert_eq!(refused, 0, "{b}");
        assert_eq!(seen.len(), CHANNELS, "{b}");
        server.stop().await;
    }
}

/// The pack's team steps name `#alerts` and `#incidents`; each dealer says
/// where those are. One dealer's names take its alerts to its Slack and
/// Discord channels with its mentions; a dealer that names nothing keeps
/// the webhook; a hostile or careless table is refused and changes nothing.
#[tokio::test]
async fn named_destinations_take_the_packs_alerts_to_each_dealers_channels() {
    for env in envs().await {
        let b = env.backend();
        let slack = slack_api().await;
        let discord = MockServer::start(|req| {
            Reply::json(
                200,
                json!({"id": format!("9{:05}", req.n), "channel_id": "1100"}),
            )
        })
        .await;
        env.write(
            "foghorn.toml",
            &format!(
                "[providers.slack]\nkind = \"slack\"\nbot_token = \"{TOKEN}\"\nbase_url = \"{}/api\"\n\
                 [providers.discord]\nkind = \"discord\"\nbot_token = \"bot-token\"\nbase_url = \"{}/api/v10\"\n",
                slack.url, discord.url
            ),
        );
        let key = env.key("admin").await;
        let (_, other_key) = tenant_with_key(&env, "other-dealer").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let other = Api::new(&server.base, &other_key);

        let table = json!({
            "alerts": {"slack": {"channel": "C0ALERTS", "mention": "<!subteam^S0MECHANIC>"}},
            "incidents": {"discord": {"channel": "1100", "mention": "<@&42>"}}
        });
        // Refused, each naming what is wrong, and nothing stored.
        for (bad, field) in [
            (json!({"Alerts!": {}}), "Alerts!"),
            (
                json!({"alerts": {"slack": {"channel": "../../etc"}}}),
                "alerts.slack.channel",
            ),
            (
                json!({"alerts": {"slack": {"channel": "C1", "mention": "@everyone"}}}),
                "alerts.slack.mention",
            ),
            (
                json!({"alerts": {"slack": {"channel": "C1", "mention": "<!channel>"}}}),
                "alerts.slack.mention",
            ),
            (
                json!({"alerts": {"email": {"channel": "C1"}}}),
                "alerts.email",
            ),
            (
                json!({"alerts": {"slack": {"channel": "C1", "url": "http://10.0.0.1/"}}}),
                "",
            ),
            (
                Value::Object((0..51).map(|i| (format!("d{i}"), json!({}))).collect()),
                "destinations",
            ),
        ] {
            let (s, v) = api.put("/v1/destinations", bad.clone()).await;
            assert_eq!(s, 422, "{b}: {bad} → {v}");
            assert!(
                v["type"].as_str().is_some_and(|t| !t.is_empty()),
                "{b}: {v}"
            );
            if !field.is_empty() {
                assert!(v.to_string().contains(field), "{b}: {bad} → {v}");
            }
        }
        let (s, v) = api.get("/v1/destinations").await;
        assert_eq!((s, v.clone()), (200, json!({})), "{b}");
        // A workflow names a destination by channel id or #name, nothing else.
        for (destination, want) in [
            ("#ops-team", 200),
            ("C0OPS", 200),
            ("#Ops!", 422),
            ("#", 422),
            ("../x", 422),
        ] {
            let doc = json!({"name": "ops.note", "steps": [{"channel": "slack", "destination": destination, "text": "# Note"}]});
            let (s, v) = api.put("/v1/workflows/ops.note", doc).await;
            assert_eq!(s, want, "{b}: {destination} → {v}");
        }
        let (s, v) = api.put("/v1/destinations", table.clone()).await;
        assert_eq!((s, v), (200, table.clone()), "{b}");
        let (_, v) = api.get("/v1/destinations").await;
        assert_eq!(v, table, "{b}");
        let (_, v) = other.get("/v1/destinations").await;
        assert_eq!(v, json!({}), "{b}: another dealer's table is its own");

        // The pack's warranty alert goes to this dealer's #alerts, pinging
        // its mechanics; its OCR failure to #incidents on Discord.
        let ids = |v: &Value, channel: &str| -> Vec<String> {
            v["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["channel"] == channel)
                .map(|n| n["id"].as_str().unwrap().to_string())
                .collect()
        };
        let (s, v) = api
            .post(
                "/v1/events",
                with_owner(warranty("Sea Breeze", "Engine warranty")),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        let alert = ids(&v, "slack");
        assert_eq!(alert.len(), 1, "{b}: {v}");
        wait_status(&api, &alert[0], "sent").await;
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "ocr.failed", "data": {"boat": "Sea Breeze", "title": "Survey.pdf", "error": "unreadable"}}),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        let incident = ids(&v, "discord");
        assert_eq!(incident.len(), 1, "{b}: {v}");
        wait_status(&api, &incident[0], "sent").await;

        let posts: Vec<Value> = slack
            .to_path("/api/chat.postMessage")
            .iter()
            .map(|r| r.json())
            .collect();
        assert_eq!(posts.len(), 1, "{b}: {posts:?}");
        assert_eq!(posts[0]["channel"], "C0ALERTS", "{b}");
        assert!(
            posts[0].to_string().contains("<!subteam^S0MECHANIC>"),
            "{b}: the dealer's mention: {}",
            posts[0]
        );
        let sent = discord.to_path("/api/v10/channels/1100/messages");
        assert_eq!(sent.len(), 1, "{b}: {:?}", discord.requests());
        let message = sent[0].json();
        assert_eq!(
            message["allowed_mentions"]["roles"],
            json!(["42"]),
            "{b}: {message}"
        );
        assert!(
            message["content"]
                .as_str()
                .unwrap_or_default()
                .contains("<@&42>"),
            "{b}: {message}"
        );

        // The other dealer named nothing: its alert does not reach this
        // dealer's channel (it goes to the account's webhook, which this
        // account does not have).
        let (s, v) = other
            .post(
                "/v1/events",
                with_owner(warranty("Blue Fin", "Hull warranty")),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        let theirs = ids(&v, "slack");
        assert_eq!(theirs.len(), 1, "{b}: {v}");
        let mut n = Value::Null;
        for _ in 0..200 {
            n = notification(&other, &theirs[0]).await;
            if !matches!(n["status"].as_str(), Some("queued" | "sending")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            matches!(n["status"].as_str(), Some("failed" | "dead" | "suppressed")),
            "{b}: {n}"
        );
        assert_eq!(slack.to_path("/api/chat.postMessage").len(), 1, "{b}");
        server.stop().await;
    }
}

/// The pack's warranty workflow also emails the owner: it needs one.
fn with_owner(mut event: Value) -> Value {
    event["to"] = json!([{"email": "owner@example.com"}]);
    event
}
