//! Discord against a local mock that answers as Discord does (the message
//! object with `wait=true`, error codes, rate-limit headers and 429
//! bodies), and interaction signatures made with a real Ed25519 key.

use super::interactions::{public_key, verify};
use super::*;
use crate::signature::hex;
use crate::team::testkit::{self, mock, mock_routes, to_path, Reply};
use foghorn_core::team::{Actor, ButtonAction, Command};
use foghorn_core::{Card, Severity};
use ring::signature::{Ed25519KeyPair, KeyPair};

fn discord(config: Config) -> Discord {
    Discord::new("discord", config, testkit::reach(), testkit::tenant_reach()).unwrap()
}

fn card() -> Card {
    Card {
        title: Some("OCR failed: Invoice 7".into()),
        body: "Text recognition failed on *Invoice 7* of Sea Breeze. @everyone".into(),
        fields: vec![
            ("Boat".into(), "Sea Breeze".into()),
            ("Pages".into(), "3".into()),
        ],
        context: Some("NaviDocs pipeline".into()),
        links: vec![(
            "Open document".into(),
            "https://app.navidocs.example/d/7".into(),
        )],
        acknowledge: true,
        severity: Severity::Error,
        mention: Some("<@&112233445566778899>".into()),
    }
}

fn message_object() -> Reply {
    Reply::json(
        200,
        json!({"id": "1234567890123456789", "channel_id": "998877665544332211", "type": 0, "content": "", "embeds": []}),
    )
}

#[tokio::test]
async fn a_webhook_is_executed_with_wait_and_an_embed_that_pings_only_the_role() {
    let (base, log) = mock(message_object()).await;
    let url = format!("{base}/api/webhooks/123456789012345678/tok-en");
    let msg = testkit::message(Channel::Discord, Address::Url(url), card());
    let r = discord(Config::default()).send(&msg).await.unwrap();
    assert_eq!(
        r.provider_message_id.as_deref(),
        Some("1234567890123456789")
    );
    let req = to_path(&log, "/api/webhooks/123456789012345678/tok-en").remove(0);
    assert_eq!(req.query.as_deref(), Some("wait=true"));
    assert_eq!(req.header("content-type"), "application/json");
    assert!(
        req.header("user-agent").starts_with("DiscordBot ("),
        "{}",
        req.header("user-agent")
    );
    let body = req.json();
    assert_eq!(body["content"], "<@&112233445566778899>");
    assert_eq!(
        body["allowed_mentions"],
        json!({"parse": [], "roles": ["112233445566778899"], "users": []})
    );
    let e = &body["embeds"][0];
    assert_eq!(e["title"], "OCR failed: Invoice 7");
    assert_eq!(e["color"], 0xED4245);
    assert_eq!(e["url"], "https://app.navidocs.example/d/7");
    assert_eq!(
        e["fields"][0],
        json!({"name": "Boat", "value": "Sea Breeze", "inline": true})
    );
    assert_eq!(e["footer"]["text"], "NaviDocs pipeline");
    assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(e["description"]
        .as_str()
        .unwrap()
        .contains("[Open document](https://app.navidocs.example/d/7)"));
    assert!(
        body.get("components").is_none(),
        "webhooks not owned by an app drop components"
    );
}

#[tokio::test]
async fn a_webhook_message_about_an_entity_goes_to_its_thread() {
    let (base, log) = mock(message_object()).await;
    let mut msg = testkit::message(
        Channel::Discord,
        Address::Url(format!("{base}/api/webhooks/1/t")),
        card(),
    );
    msg.thread = Some("5550001112223334445".into());
    discord(Config::default()).send(&msg).await.unwrap();
    let req = log.lock().unwrap()[0].clone();
    assert_eq!(
        req.query.as_deref(),
        Some("wait=true&thread_id=5550001112223334445")
    );
}

#[tokio::test]
async fn the_bot_posts_to_a_channel_with_buttons() {
    let (base, log) = mock(message_object()).await;
    let d = discord(Config {
        bot_token: Some("MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs".into()),
        base_url: Some(format!("{base}/api/v10")),
        ..Config::default()
    });
    let msg = testkit::message(
        Channel::Discord,
        Address::Channel("998877665544332211".into()),
        card(),
    );
    d.send(&msg).await.unwrap();
    let req = to_path(&log, "/api/v10/channels/998877665544332211/messages").remove(0);
    assert_eq!(
        req.header("authorization"),
        "Bot MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"
    );
    let row = &req.json()["components"][0];
    assert_eq!(row["type"], 1);
    assert_eq!(
        row["components"][0],
        json!({"type": 2, "style": 5, "label": "Open document", "url": "https://app.navidocs.example/d/7"})
    );
    assert_eq!(row["components"][1]["custom_id"], "acknowledge:ntf_01hx7");
    assert_eq!(row["components"][1]["style"], 3);
    assert_eq!(row["components"][2]["custom_id"], "dismiss:ntf_01hx7");
    // A channel id is digits; anything else never reaches the path.
    let bad = testkit::message(
        Channel::Discord,
        Address::Channel("../../users/@me".into()),
        card(),
    );
    assert_eq!(
        d.send(&bad).await.unwrap_err().error_kind(),
        ErrorKind::Permanent
    );
}

#[tokio::test]
async fn an_empty_bucket_is_waited_out_before_a_429_happens() {
    let (base, log) = mock(
        message_object()
            .with_header("x-ratelimit-limit", "5")
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-reset-after", "2.5"),
    )
    .await;
    let d = discord(Config::default());
    let msg = testkit::message(
        Channel::Discord,
        Address::Url(format!("{base}/api/webhooks/1/t")),
        card(),
    );
    d.send(&msg).await.unwrap();
    match d.send(&msg).await.unwrap_err() {
        ProviderError::RateLimited {
            retry_after: Some(w),
            http_status: None,
            ..
        } => {
            assert!(
                w > Duration::from_secs(2) && w <= Duration::from_millis(2500),
                "{w:?}"
            )
        }
        other => panic!("{other}"),
    }
    assert_eq!(log.lock().unwrap().len(), 1, "the second call was not made");
    // Another webhook has its own bucket.
    let other = testkit::message(
        Channel::Discord,
        Address::Url(format!("{base}/api/webhooks/2/t")),
        card(),
    );
    d.send(&other).await.unwrap();
}

#[tokio::test]
async fn a_429_body_sets_the_wait_and_a_global_one_stops_every_destination() {
    let (base, log) = mock_routes(vec![
        ("/api/webhooks/1/t".into(), vec![Reply::json(429, json!({"message": "You are being rate limited.", "retry_after": 64.57, "global": false})).with_header("retry-after", "65")]),
        ("/api/webhooks/2/t".into(), vec![Reply::json(429, json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": true}))]),
        ("/api/webhooks/3/t".into(), vec![message_object()]),
    ])
    .await;
    let d = discord(Config::default());
    let to = |n: u8| {
        testkit::message(
            Channel::Discord,
            Address::Url(format!("{base}/api/webhooks/{n}/t")),
            card(),
        )
    };
    match d.send(&to(1)).await.unwrap_err() {
        ProviderError::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs_f64(64.57)))
        }
        other => panic!("{other}"),
    }
    d.send(&to(3)).await.unwrap();
    assert!(matches!(
        d.send(&to(2)).await.unwrap_err(),
        ProviderError::RateLimited { .. }
    ));
    let before = log.lock().unwrap().len();
    assert!(matches!(
        d.send(&to(3)).await.unwrap_err(),
        ProviderError::RateLimited {
            http_status: None,
            ..
        }
    ));
    assert_eq!(
        log.lock().unwrap().len(),
        before,
        "a global limit holds every destination"
    );
}

#[tokio::test]
async fn errors_are_classified_by_status_and_never_retried_blindly() {
    for (status, code, kind) in [
        (404, 10015, ErrorKind::Permanent),
        (403, 50013, ErrorKind::Permanent),
        (400, 50035, ErrorKind::Permanent),
        (401, 0, ErrorKind::Misconfigured),
        (502, 0, ErrorKind::Retryable),
    ] {
        let (base, _) = mock(Reply::json(status, json!({"code": code, "message": "x"}))).await;
        let msg = testkit::message(
            Channel::Discord,
            Address::Url(format!("{base}/api/webhooks/1/t")),
            card(),
        );
        let e = discord(Config::default()).send(&msg).await.unwrap_err();
        assert_eq!(e.error_kind(), kind, "{status}: {e}");
    }
}

#[tokio::test]
async fn register_commands_overwrites_the_guilds_commands() {
    let (base, log) = mock(Reply::json(200, api::commands())).await;
    let d = discord(Config {
        bot_token: Some("bot-token".into()),
        application_id: Some("111222333444555666".into()),
        base_url: Some(format!("{base}/api/v10")),
        ..Config::default()
    });
    d.register_commands(Some("777888999000111222"))
        .await
        .unwrap();
    let req = to_path(
        &log,
        "/api/v10/applications/111222333444555666/guilds/777888999000111222/commands",
    )
    .remove(0);
    assert_eq!(req.method, "PUT");
    assert_eq!(req.header("authorization"), "Bot bot-token");
    let body = req.json();
    assert_eq!(body[0]["name"], "find");
    assert_eq!(
        body[0]["options"][0],
        json!({"type": 3, "name": "query", "description": "What to look for", "required": true})
    );
    assert_eq!(body[1]["name"], "boat-status");
    assert_eq!(body[1]["options"][0]["name"], "boat");
    d.register_commands(None).await.unwrap();
    assert_eq!(
        to_path(&log, "/api/v10/applications/111222333444555666/commands").len(),
        1
    );
    assert!(d.register_commands(Some("../x")).await.is_err());
}

fn keys() -> (Ed25519KeyPair, Vec<u8>) {
    let pair = Ed25519KeyPair::from_seed_unchecked(&[7u8; 32]).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    (pair, public)
}

fn signed(pair: &Ed25519KeyPair, ts: i64, body: &str) -> Vec<(String, String)> {
    let mut msg = ts.to_string().into_bytes();
    msg.extend_from_slice(body.as_bytes());
    vec![
        ("x-signature-ed25519".into(), hex(pair.sign(&msg).as_ref())),
        ("x-signature-timestamp".into(), ts.to_string()),
    ]
}

fn request<'a>(headers: &'a [(String, String)], body: &'a str, now: i64) -> InboundRequest<'a> {
    InboundRequest {
        method: "POST",
        url: "https://foghorn.example.com/interactions/discord",
        headers,
        body: body.as_bytes(),
        now,
    }
}

#[test]
fn interactions_are_refused_unless_signed_now_with_the_apps_key() {
    let (pair, public) = keys();
    let key = public_key(&hex(&public)).unwrap();
    let body = r#"{"type":1,"id":"1","application_id":"2","token":"t","version":1}"#;
    let now = 1_765_000_000;
    let h = signed(&pair, now, body);
    assert!(verify(&key, &request(&h, body, now)).is_ok());
    let tampered = body.replace("\"type\":1", "\"type\":2");
    assert!(matches!(
        verify(&key, &request(&h, &tampered, now)),
        Err(InboundError::Unauthorized(_))
    ));
    let other = Ed25519KeyPair::from_seed_unchecked(&[9u8; 32]).unwrap();
    let wrong = signed(&other, now, body);
    assert!(matches!(
        verify(&key, &request(&wrong, body, now)),
        Err(InboundError::Unauthorized(_))
    ));
    let stale = signed(&pair, now - 301, body);
    assert!(matches!(
        verify(&key, &request(&stale, body, now)),
        Err(InboundError::Unauthorized(_))
    ));
    assert!(verify(&key, &request(&[], body, now)).is_err());
    assert!(public_key("abcd").is_err() && public_key("zz").is_err());
}

#[test]
fn pings_commands_and_buttons_are_read_and_answered() {
    let d = discord(Config::default());
    assert_eq!(
        interactions::read(br#"{"type":1}"#).unwrap(),
        Interaction::Ping
    );
    assert_eq!(
        d.reply(&Interaction::Ping, &Answer::Pong).body,
        br#"{"type":1}"#
    );
    let cmd = json!({"type": 2, "id": "9", "application_id": "111", "token": "tok", "channel_id": "5",
        "member": {"user": {"id": "42", "username": "mech", "global_name": "Marco"}},
        "data": {"id": "c1", "name": "find", "type": 1, "options": [{"name": "query", "type": 3, "value": "warranty"}]}});
    let i = interactions::read(cmd.to_string().as_bytes()).unwrap();
    assert_eq!(
        i,
        Interaction::Command {
            command: Command::Find("warranty".into()),
            actor: Actor {
                id: "42".into(),
                name: "Marco".into()
            },
            follow_up: Some("111/tok".into()),
        }
    );
    let found = d.reply(
        &i,
        &Answer::Found {
            query: "warranty".into(),
            hits: vec![],
        },
    );
    let v: serde_json::Value = serde_json::from_slice(&found.body).unwrap();
    assert_eq!(v["type"], 4);
    assert_eq!(v["data"]["flags"], 64);
    assert_eq!(
        v["data"]["embeds"][0]["title"],
        "0 documents match “warranty”"
    );
    let click = json!({"type": 3, "id": "9", "application_id": "111", "token": "tok", "channel_id": "5",
        "user": {"id": "42", "username": "mech"},
        "message": {"id": "77", "embeds": [{"title": "OCR failed"}], "components": [{"type": 1, "components": [
            {"type": 2, "style": 5, "label": "Open", "url": "https://x.example"},
            {"type": 2, "style": 3, "label": "Acknowledge", "custom_id": "acknowledge:ntf_9"}]}]},
        "data": {"custom_id": "acknowledge:ntf_9", "component_type": 2}});
    let i = interactions::read(click.to_string().as_bytes()).unwrap();
    let Interaction::Button {
        action,
        notification_id,
        ..
    } = &i
    else {
        panic!("{i:?}")
    };
    assert_eq!(
        (*action, notification_id.as_str()),
        (ButtonAction::Acknowledge, "ntf_9")
    );
    let updated = d.reply(
        &i,
        &Answer::Acknowledged {
            by: "discord:42".into(),
            at_ms: 1_765_000_000_000,
            first: true,
        },
    );
    let v: serde_json::Value = serde_json::from_slice(&updated.body).unwrap();
    assert_eq!(v["type"], 7);
    assert_eq!(
        v["data"]["embeds"][0]["fields"][0]["value"],
        "Acknowledged by <@42> at <t:1765000000:t>"
    );
    assert_eq!(
        v["data"]["components"][0]["components"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "only the link stays"
    );
    let again = d.reply(
        &i,
        &Answer::Acknowledged {
            by: "discord:7 (ana)".into(),
            at_ms: 1,
            first: false,
        },
    );
    let v: serde_json::Value = serde_json::from_slice(&again.body).unwrap();
    assert_eq!(
        (v["type"].as_u64(), v["data"]["flags"].as_u64()),
        (Some(4), Some(64))
    );
    assert_eq!(
        v["data"]["content"],
        "Already acknowledged by discord:7 (ana)."
    );
}

#[tokio::test]
async fn a_posted_alert_is_edited_with_the_note_by_the_bot_or_its_webhook() {
    let (base, log) = mock(message_object()).await;
    let d = discord(Config {
        bot_token: Some("MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs".into()),
        base_url: Some(format!("{base}/api/v10")),
        ..Config::default()
    });
    let at = 1_765_000_000_000;
    // The bot's message: Edit Message, with its buttons and the note last.
    let msg = testkit::message(
        Channel::Discord,
        Address::Channel("998877665544332211".into()),
        card(),
    );
    d.annotate(
        &msg,
        "1234567890123456789",
        "Confirmed by the recipient (voice)",
        at,
    )
    .await
    .unwrap();
    let req = to_path(
        &log,
        "/api/v10/channels/998877665544332211/messages/1234567890123456789",
    )
    .remove(0);
    assert_eq!(req.method, reqwest::Method::PATCH);
    assert!(req.header("authorization").starts_with("Bot "));
    let body = req.json();
    let fields = body["embeds"][0]["fields"].as_array().unwrap();
    assert_eq!(
        fields.last().unwrap(),
        &json!({"name": "Update", "value": "Confirmed by the recipient (voice) at <t:1765000000:t>", "inline": false})
    );
    assert_eq!(
        body["components"][0]["components"][1]["custom_id"],
        "acknowledge:ntf_01hx7"
    );
    // A webhook's message: Edit Webhook Message, no token, no buttons.
    let url = format!("{base}/api/webhooks/123456789012345678/tok-en");
    let msg = testkit::message(Channel::Discord, Address::Url(url), card());
    d.annotate(
        &msg,
        "1234567890123456789",
        "Confirmed by the recipient (sms)",
        at,
    )
    .await
    .unwrap();
    let req = to_path(
        &log,
        "/api/webhooks/123456789012345678/tok-en/messages/1234567890123456789",
    )
    .remove(0);
    assert_eq!(req.method, reqwest::Method::PATCH);
    assert_eq!(req.query, None);
    assert!(req.headers.get("authorization").is_none());
    let body = req.json();
    assert!(body.get("components").is_none());
    assert!(body["embeds"][0]["fields"][2]["value"]
        .as_str()
        .unwrap()
        .starts_with("Confirmed by the recipient (sms)"));
    // An id that is not Discord's never reaches a path.
    let e = d.annotate(&msg, "../x", "note", at).await.unwrap_err();
    assert_eq!(e.error_kind(), ErrorKind::Permanent);
}
