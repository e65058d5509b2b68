//! Escalation until acknowledged, through the real binary on SQLite and
//! PostgreSQL: a critical recall emails and texts the owner; unacknowledged
//! after its window, Twilio is asked to call, and Foghorn serves the call's
//! TwiML itself; a signed `Digits=1` acknowledges the whole event and
//! cancels the escalation still waiting. An owner who confirms through the
//! email's link first is never called.

use crate::common::*;
use crate::inbound::{twilio_hook, twilio_signature};
use foghorn_testkit::{MockServer, Reply};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub(crate) const PUBLIC_URL: &str = "https://foghorn.example";
pub(crate) const SID: &str = "AC00000000000000000000000000000009";
pub(crate) const TOKEN: &str = "twilio-voice-token-0009";
pub(crate) const OUR_NUMBER: &str = "+12025550100";

/// Twilio's Messages and Calls resources: 201 with a fresh SID each.
async fn twilio() -> MockServer {
    twilio_refusing(None).await
}

/// Like [`twilio`], but a message or call to a number starting with
/// `refused` is refused as Twilio refuses a number it cannot reach (400,
/// error 21211), which no retry changes.
pub(crate) async fn twilio_refusing(refused: Option<&'static str>) -> MockServer {
    MockServer::start(move |req| {
        let to = form_urlencoded::parse(req.body)
            .find(|(k, _)| k == "To")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if refused.is_some_and(|prefix| to.starts_with(prefix)) {
            Reply::json(
                400,
                json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}),
            )
        } else if req.path.ends_with("/Calls.json") {
            Reply::json(201, json!({"sid": format!("CA{:032}", req.n), "status": "queued"}))
        } else {
            Reply::json(
                201,
                json!({"sid": format!("SM{:032}", req.n), "status": "queued", "price": null, "price_unit": "USD"}),
            )
        }
    })
    .await
}

/// Slack's Web API: a post answers its `ts`, an update answers ok.
async fn slack() -> MockServer {
    MockServer::start(|req| {
        let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        Reply::json(
            200,
            json!({"ok": true, "channel": body["channel"], "ts": format!("1765000000.{:06}", req.n)}),
        )
    })
    .await
}

/// Answers as Discord does: the message object for a post or an edit.
async fn discord() -> MockServer {
    MockServer::start(|req| {
        Reply::json(
            200,
            json!({"id": format!("13000000000000000{:02}", req.n), "channel_id": DISCORD_CHANNEL, "type": 0}),
        )
    })
    .await
}

const DISCORD_CHANNEL: &str = "998877665544332211";

/// The pack's recall workflow with its escalation shortened for the test,
/// and its team alert in the dealer's #alerts (and, given a Discord mock,
/// in a Discord channel too).
fn config(env: &Env, twilio: &str, slack: &str) {
    config_with(env, twilio, slack, None)
}

fn config_with(env: &Env, twilio: &str, slack: &str, discord: Option<&str>) {
    recall_config(env, (twilio, slack, discord), "3s", 2)
}

/// The accounts (Twilio, Slack, Discord when given) and the recall
/// workflow, calling `after` each period without a confirmation, `max`
/// times.
pub fn recall_config(
    env: &Env,
    (twilio, slack, discord): (&str, &str, Option<&str>),
    after: &str,
    max: u32,
) {
    let (discord_account, discord_step) = match discord {
        Some(url) => (
            format!(
                "[providers.discord]\nkind = \"discord\"\nbot_token = \"MTk4.Cl2FMQ.test\"\nbase_url = \"{url}/api/v10\"\n"
            ),
            format!(
                "[[steps]]\nchannel = \"discord\"\ndestination = \"{DISCORD_CHANNEL}\"\ntext = \"Recall {{{{ data.recall_id }}}} for {{{{ data.boat }}}}\"\nacknowledge = true\n"
            ),
        ),
        None => (String::new(), String::new()),
    };
    env.write(
        "foghorn.toml",
        &format!(
            "public_url = \"{PUBLIC_URL}\"\n{discord_account}\
             [providers.slack]\nkind = \"slack\"\nbot_token = \"xoxb-test\"\nbase_url = \"{slack}/api\"\n\
             [providers.twilio]\nkind = \"twilio\"\naccount_sid = \"{SID}\"\nauth_token = \"{TOKEN}\"\n\
             phone_number = \"{OUR_NUMBER}\"\nbase_url = \"{twilio}\"\n\
             [channels.sms]\nproviders = [\"twilio\"]\n[channels.voice]\nproviders = [\"twilio\"]\n"
        ),
    );
    env.write(
        "workflows/recall.issued.toml",
        &format!(
            "name = \"recall.issued\"\ncategory = \"safety\"\ncritical = true\n\
             [[steps]]\nchannel = \"email\"\ntemplate = \"recall_issued\"\nacknowledge = true\n\
             [[steps]]\nchannel = \"sms\"\ntemplate = \"recall_issued\"\nacknowledge = true\n\
             escalate = {{ after = \"{after}\", to = [\"voice\"], until = \"acknowledged\", max = {max} }}\n\
             [[steps]]\nchannel = \"slack\"\ndestination = \"#alerts\"\ntemplate = \"recall_issued\"\nseverity = \"error\"\nacknowledge = true\n\
             {discord_step}"
        ),
    );
}

fn recall(owner: &str) -> Value {
    json!({"name": "recall.issued", "to": [owner], "data": {
        "boat": "Sea Breeze", "recall_id": "RC-2026-114", "component": "fuel pump",
        "manufacturer": "Volvo Penta", "url": "https://app.navidocs.example/r/114"}})
}

fn by_channel(v: &Value, channel: &str) -> Vec<String> {
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["channel"] == channel)
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

/// The calls Twilio was asked to place.
pub(crate) fn calls(twilio: &MockServer) -> Vec<Vec<(String, String)>> {
    twilio
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/Calls.json"))
        .map(|r| r.form())
        .collect()
}

pub(crate) fn field<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// Twilio's request to a call's page (or its callback endpoint), signed
/// with `token` over the public URL.
pub(crate) async fn page(
    base: &str,
    path: &str,
    token: &str,
    params: &[(&str, &str)],
) -> (u16, String) {
    twilio_hook(base, path, token, params, params).await
}

async fn settled(api: &Api, id: &str, status: &str) -> Value {
    let start = Instant::now();
    loop {
        let n = notification(api, id).await;
        if n["status"] == status || start.elapsed() > Duration::from_secs(20) {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unacknowledged_recall_calls_the_owner_and_pressing_1_stops_the_escalation() {
    for env in envs().await {
        let b = env.backend();
        let twilio = twilio().await;
        let slack = slack().await;
        config(&env, &twilio.url, &slack.url);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(
            &api,
            "owner-1",
            json!({"email": "owner1@example.com", "phone": "+12025550142", "name": "Ana"}),
        )
        .await;

        let (s, v) = api
            .put(
                "/v1/destinations",
                json!({"alerts": {"slack": {"channel": "C0ALERTS"}}}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        let (s, v) = api.post("/v1/events", recall("owner-1")).await;
        assert_eq!(s, 202, "{b}: {v}");
        let alert = by_channel(&v, "slack")[0].clone();
        wait_status(&api, &alert, "sent").await;
        let voice = by_channel(&v, "voice");
        assert_eq!(voice.len(), 2, "{b}: two escalations planned: {v}");
        let sms = by_channel(&v, "sms")[0].clone();
        let email = by_channel(&v, "email")[0].clone();
        wait_status(&api, &email, "sent").await;
        wait_status(&api, &sms, "sent").await;
        // Waiting, visible, and saying why.
        let first = notification(&api, &voice[0]).await;
        assert_eq!(first["status"], "scheduled", "{b}: {first}");
        assert!(
            first["status_reason"]
                .as_str()
                .unwrap()
                .contains("escalation 1"),
            "{b}: {first}"
        );
        assert!(
            calls(&twilio).is_empty(),
            "{b}: no call before the window ends"
        );

        // The window passes without an acknowledgement: Twilio is asked to call.
        let start = Instant::now();
        while calls(&twilio).is_empty() && start.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let placed = calls(&twilio);
        assert_eq!(placed.len(), 1, "{b}");
        let path = format!("/voice/twilio/{}", voice[0]);
        assert_eq!(field(&placed[0], "To"), "+12025550142", "{b}");
        assert_eq!(field(&placed[0], "From"), OUR_NUMBER, "{b}");
        assert_eq!(
            field(&placed[0], "Url"),
            format!("{PUBLIC_URL}{path}"),
            "{b}"
        );
        assert_eq!(
            field(&placed[0], "MachineDetection"),
            "DetectMessageEnd",
            "{b}"
        );

        // Twilio fetches the page once the owner answers: the recall's
        // script and a one-key prompt.
        let answered = [
            ("CallSid", "CA1"),
            ("AnsweredBy", "human"),
            ("CallStatus", "in-progress"),
        ];
        let (s, twiml) = page(&server.base, &path, TOKEN, &answered).await;
        assert_eq!(s, 200, "{b}: {twiml}");
        assert!(
            twiml.contains("safety notice about Sea Breeze") && twiml.contains("RC-2026-114"),
            "{b}: {twiml}"
        );
        assert!(
            twiml.contains(&format!("action=\"{PUBLIC_URL}{path}?turn=1\"")),
            "{b}: {twiml}"
        );
        // Not Twilio's signature, or not the account's: refused, nothing changes.
        let (s, _) = page(&server.base, &path, "another-token", &answered).await;
        assert_eq!(s, 401, "{b}");
        let (s, _) = page(&server.base, "/voice/twilio/ntf_unknown", TOKEN, &answered).await;
        assert_eq!(s, 401, "{b}");
        let press_one = [("CallSid", "CA1"), ("Digits", "1")];
        let forged = twilio_signature(
            "another-token",
            &format!("{PUBLIC_URL}{path}?turn=1"),
            &press_one,
        );
        let (s, _) = hook(
            &server.base,
            &format!("{path}?turn=1"),
            &[("x-twilio-signature", forged)],
            "application/x-www-form-urlencoded",
            b"CallSid=CA1&Digits=1".to_vec(),
        )
        .await;
        assert_eq!(s, 401, "{b}");
        assert!(
            notification(&api, &voice[0])
                .await
                .get("acknowledged")
                .is_none(),
            "{b}"
        );

        // The owner presses 1.
        let (s, twiml) = page(&server.base, &format!("{path}?turn=1"), TOKEN, &press_one).await;
        assert_eq!(s, 200, "{b}: {twiml}");
        assert!(
            twiml.contains("confirmation has been recorded") && twiml.contains("<Hangup/>"),
            "{b}: {twiml}"
        );
        let n = notification(&api, &voice[0]).await;
        assert_eq!(n["acknowledged"]["via"], "voice", "{b}: {n}");
        assert_eq!(n["acknowledged_via"], "voice", "{b}: {n}");
        assert!(n["acknowledged_at"].is_string(), "{b}: {n}");
        assert_eq!(n["acknowledged_by"], "recipient (voice)", "{b}: {n}");
        // The team's Slack alert says the owner confirmed.
        let ts = notification(&api, &alert).await["provider_message_id"]
            .as_str()
            .unwrap()
            .to_string();
        let start = Instant::now();
        let update = loop {
            let u = slack.to_path("/api/chat.update");
            if !u.is_empty() || start.elapsed() > Duration::from_secs(20) {
                break u;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let update = update
            .first()
            .unwrap_or_else(|| panic!("{b}: no chat.update"))
            .json();
        assert_eq!(
            (update["channel"].as_str(), update["ts"].as_str()),
            (Some("C0ALERTS"), Some(ts.as_str())),
            "{b}"
        );
        assert!(
            update["text"]
                .as_str()
                .unwrap()
                .contains("Confirmed by the recipient (voice)"),
            "{b}: {update}"
        );
        assert!(
            update["blocks"]
                .to_string()
                .contains("Safety recall RC-2026-114"),
            "{b}: {update}"
        );
        // The whole event is acknowledged for the owner, and the second
        // call is cancelled before it is due.
        for id in [&sms, &email] {
            let n = notification(&api, id).await;
            assert_eq!(n["acknowledged"]["via"], "voice", "{b}: {n}");
        }
        let second = settled(&api, &voice[1], "cancelled").await;
        assert_eq!(second["status"], "cancelled", "{b}: {second}");
        assert!(
            timeline_kinds(&second).contains(&"cancelled".to_string()),
            "{b}: {second}"
        );
        // A repeat changes nothing and says so.
        let (s, twiml) = page(&server.base, &format!("{path}?turn=1"), TOKEN, &press_one).await;
        assert_eq!(s, 200, "{b}: {twiml}");
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(
            calls(&twilio).len(),
            1,
            "{b}: no call after the acknowledgement"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_who_confirms_by_the_emails_link_is_never_called() {
    for env in envs().await {
        let b = env.backend();
        let twilio = twilio().await;
        let slack = slack().await;
        config(&env, &twilio.url, &slack.url);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(
            &api,
            "owner-2",
            json!({"email": "owner2@example.com", "phone": "+12025550143", "locale": "fr"}),
        )
        .await;
        let (s, v) = api.post("/v1/events", recall("owner-2")).await;
        assert_eq!(s, 202, "{b}: {v}");
        let email = by_channel(&v, "email")[0].clone();
        let voice = by_channel(&v, "voice");
        wait_status(&api, &email, "sent").await;

        // The email (captured by the sandbox) carries the signed link.
        let mail = inbox(&api)
            .await
            .into_iter()
            .find(|m| m["to"] == "owner2@example.com")
            .unwrap_or_else(|| panic!("{b}: no email"));
        let text = mail["content"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let link = text
            .split_whitespace()
            .find(|w| w.starts_with(&format!("{PUBLIC_URL}/a/")))
            .unwrap_or_else(|| panic!("{b}: no link in {text}"))
            .to_string();
        let path = link.strip_prefix(PUBLIC_URL).unwrap().to_string();
        let client = reqwest::Client::new();
        // Showing the page (a link scanner's fetch) acknowledges nothing.
        let res = client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{b}");
        assert!(
            res.text().await.unwrap().contains("<form method=\"post\">"),
            "{b}"
        );
        assert!(
            notification(&api, &email)
                .await
                .get("acknowledged")
                .is_none(),
            "{b}"
        );
        // A tampered link is refused.
        let tampered = format!("{}{}x", server.base, path);
        let res = client
            .post(&tampered)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{b}");
        // The button.
        let res = client
            .post(format!("{}{path}", server.base))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{b}");
        let ack: Value = res.json().await.unwrap();
        assert_eq!(
            (ack["via"].as_str(), ack["already"].as_bool()),
            (Some("link"), Some(false)),
            "{b}: {ack}"
        );
        let again: Value = client
            .post(format!("{}{path}", server.base))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(again["already"], true, "{b}: {again}");
        for id in &voice {
            let n = settled(&api, id, "cancelled").await;
            assert_eq!(n["status"], "cancelled", "{b}: {n}");
        }
        // Past both windows: no call was ever placed.
        tokio::time::sleep(Duration::from_secs(7)).await;
        assert!(calls(&twilio).is_empty(), "{b}: {:?}", calls(&twilio));
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reply_of_ok_to_the_text_confirms_and_cancels_the_calls() {
    for env in envs().await {
        let b = env.backend();
        let twilio = twilio().await;
        let slack = slack().await;
        let discord = discord().await;
        config_with(&env, &twilio.url, &slack.url, Some(&discord.url));
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(
            &api,
            "owner-3",
            json!({"email": "owner3@example.com", "phone": "+12025550144"}),
        )
        .await;
        let (s, v) = api.post("/v1/events", recall("owner-3")).await;
        assert_eq!(s, 202, "{b}: {v}");
        let sms = by_channel(&v, "sms")[0].clone();
        let voice = by_channel(&v, "voice");
        let alert = by_channel(&v, "discord")[0].clone();
        wait_status(&api, &sms, "sent").await;
        let posted = wait_status(&api, &alert, "sent").await;
        let message_id = posted["provider_message_id"].as_str().unwrap().to_string();

        // A stranger's "1" confirms nothing of the owner's.
        let hook_path = "/hooks/twilio?tenant=default";
        let stranger = [
            ("MessageSid", "SM9001"),
            ("From", "+12025550199"),
            ("To", OUR_NUMBER),
            ("Body", "1"),
            ("SmsStatus", "received"),
        ];
        let (s, text) = page(&server.base, hook_path, TOKEN, &stranger).await;
        assert_eq!(s, 200, "{b}: {text}");
        assert!(
            notification(&api, &sms).await.get("acknowledged").is_none(),
            "{b}"
        );
        // The owner answers "OK".
        let reply = [
            ("MessageSid", "SM9002"),
            ("From", "+12025550144"),
            ("To", OUR_NUMBER),
            ("Body", "OK"),
            ("SmsStatus", "received"),
        ];
        let (s, text) = page(&server.base, hook_path, TOKEN, &reply).await;
        assert_eq!(s, 200, "{b}: {text}");
        let n = notification(&api, &sms).await;
        assert_eq!(n["acknowledged"]["via"], "sms reply", "{b}: {n}");
        for id in &voice {
            let n = settled(&api, id, "cancelled").await;
            assert_eq!(n["status"], "cancelled", "{b}: {n}");
        }
        // Told it was recorded, from the number they wrote to.
        let start = Instant::now();
        let thanked = loop {
            let found = twilio
                .requests()
                .iter()
                .filter(|r| r.path.ends_with("/Messages.json"))
                .map(|r| r.form())
                .find(|f| field(f, "Body").contains("confirmation has been recorded"));
            if found.is_some() || start.elapsed() > Duration::from_secs(20) {
                break found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let thanked = thanked.unwrap_or_else(|| panic!("{b}: no confirmation text"));
        assert_eq!(field(&thanked, "To"), "+12025550144", "{b}");
        // The team's Discord alert is edited to say the owner confirmed.
        let edit_path = format!("/api/v10/channels/{DISCORD_CHANNEL}/messages/{message_id}");
        let start = Instant::now();
        let edited = loop {
            let found = discord.to_path(&edit_path);
            if !found.is_empty() || start.elapsed() > Duration::from_secs(20) {
                break found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let edit = edited.first().unwrap_or_else(|| {
            panic!(
                "{b}: no Discord edit: {:?}",
                discord
                    .requests()
                    .iter()
                    .map(|r| r.path.clone())
                    .collect::<Vec<_>>()
            )
        });
        assert_eq!(edit.method, "PATCH", "{b}");
        assert!(
            edit.json()["embeds"]
                .to_string()
                .contains("Confirmed by the recipient (sms reply)"),
            "{b}: {}",
            edit.json()
        );
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(calls(&twilio).is_empty(), "{b}: no call after the reply");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn escalations_are_cancelled_with_their_events_grouping_key() {
    for env in envs().await {
        let b = env.backend();
        let twilio = twilio().await;
        let slack = slack().await;
        config(&env, &twilio.url, &slack.url);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(
            &api,
            "owner-4",
            json!({"email": "owner4@example.com", "phone": "+12025550145"}),
        )
        .await;
        let mut event = recall("owner-4");
        event["grouping_key"] = json!("recall:RC-2026-114");
        let (s, v) = api.post("/v1/events", event).await;
        assert_eq!(s, 202, "{b}: {v}");
        let voice = by_channel(&v, "voice");
        let (s, v) = api
            .post(
                "/v1/cancellations",
                json!({"grouping_key": "recall:RC-2026-114"}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        for id in &voice {
            let n = notification(&api, id).await;
            assert_eq!(n["status"], "cancelled", "{b}: {n}");
        }
        tokio::time::sleep(Duration::from_secs(7)).await;
        assert!(
            calls(&twilio).is_empty(),
            "{b}: a cancelled escalation called"
        );
        server.stop().await;
    }
}
