//! Slack against a local mock that answers as Slack does (plain text for
//! webhooks, `ok: false` with 200 for the Web API, 429 with Retry-After),
//! and the request signature against `slack_sdk.signature`'s own test
//! vector.

use super::interactions::{signature, verify};
use super::*;
use crate::team::testkit::{self, mock, mock_routes, to_path, Reply};
use foghorn_core::team::{Actor, ButtonAction, Command};
use foghorn_core::{Card, Severity};
use std::time::Duration;

const TOKEN: &str = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy";

fn slack(config: Config) -> Slack {
    Slack::new("slack", config, testkit::reach(), testkit::tenant_reach()).unwrap()
}

fn bot(base: &str) -> Slack {
    slack(Config {
        bot_token: Some(TOKEN.into()),
        signing_secret: Some("8f742231b10e8888abcd99yyyzzz85a5".into()),
        base_url: Some(base.into()),
        ..Config::default()
    })
}

fn card() -> Card {
    Card {
        title: Some("Warranty ending: Engine & drive".into()),
        body: "The *Engine* warranty of Sea Breeze ends on 2026-12-15. &lt;!channel&gt;".into(),
        fields: vec![("Boat".into(), "Sea Breeze".into())],
        context: Some("NaviDocs".into()),
        links: vec![(
            "Review in NaviDocs".into(),
            "https://app.navidocs.example/w/1".into(),
        )],
        acknowledge: true,
        severity: Severity::Warning,
        mention: Some("<!subteam^S0614TZR7>".into()),
    }
}

fn posted(ts: &str) -> Reply {
    Reply::json(
        200,
        json!({"ok": true, "channel": "C0123456789", "ts": ts, "message": {"text": "x", "type": "message", "subtype": "bot_message", "ts": ts}}),
    )
}

#[tokio::test]
async fn chat_post_message_sends_json_with_the_bot_token_and_starts_a_thread() {
    let (base, log) = mock(posted("1503435956.000247")).await;
    let s = bot(&base);
    let msg = testkit::message(
        Channel::Slack,
        Address::Channel("C0123456789".into()),
        card(),
    );
    let r = s.send(&msg).await.unwrap();
    assert_eq!(r.provider_message_id.as_deref(), Some("1503435956.000247"));
    assert_eq!(
        r.thread.as_deref(),
        Some("1503435956.000247"),
        "a first message starts the thread"
    );
    let req = to_path(&log, "/chat.postMessage").remove(0);
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(req.header("content-type"), "application/json;charset=utf-8");
    let body = req.json();
    assert_eq!(body["channel"], "C0123456789");
    assert!(body.get("thread_ts").is_none(), "{body}");
    assert_eq!(
        body["text"],
        "<!subteam^S0614TZR7> Warranty ending: Engine & drive: The *Engine* warranty of Sea Breeze ends on 2026-12-15. &lt;!channel&gt;"
    );
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0],
        json!({"type": "header", "text": {"type": "plain_text", "text": "Warranty ending: Engine & drive", "emoji": true}})
    );
    assert_eq!(blocks[1]["type"], "section");
    assert_eq!(
        blocks[1]["fields"],
        json!([{"type": "mrkdwn", "text": "*Boat*\nSea Breeze"}])
    );
    assert!(blocks[1]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("&lt;!channel&gt;"));
    assert_eq!(blocks[2]["type"], "context");
    let actions = &blocks[3]["elements"];
    assert_eq!(actions[0]["url"], "https://app.navidocs.example/w/1");
    assert_eq!(actions[1]["action_id"], "acknowledge");
    assert_eq!(actions[1]["value"], "ntf_01hx7");
    assert_eq!(actions[1]["style"], "primary");
    assert_eq!(actions[2]["action_id"], "dismiss");
}

#[tokio::test]
async fn a_later_message_about_the_entity_replies_in_its_thread() {
    let (base, log) = mock(posted("1503435957.000300")).await;
    let mut msg = testkit::message(
        Channel::Slack,
        Address::Channel("C0123456789".into()),
        card(),
    );
    msg.thread = Some("1503435956.000247".into());
    let r = bot(&base).send(&msg).await.unwrap();
    assert_eq!(r.thread, None);
    let body = to_path(&log, "/chat.postMessage").remove(0).json();
    assert_eq!(body["thread_ts"], "1503435956.000247");
}

#[tokio::test]
async fn web_api_errors_are_classified_by_their_names() {
    let cases = [
        ("channel_not_found", ErrorKind::Permanent),
        ("is_archived", ErrorKind::Permanent),
        ("not_in_channel", ErrorKind::Permanent),
        ("msg_too_long", ErrorKind::Permanent),
        ("no_text", ErrorKind::Permanent),
        ("invalid_auth", ErrorKind::Misconfigured),
        ("account_inactive", ErrorKind::Misconfigured),
        ("token_revoked", ErrorKind::Misconfigured),
        ("fatal_error", ErrorKind::Retryable),
    ];
    for (error, kind) in cases {
        let (base, _) = mock(Reply::json(200, json!({"ok": false, "error": error}))).await;
        let msg = testkit::message(Channel::Slack, Address::Channel("C1".into()), card());
        let e = bot(&base).send(&msg).await.unwrap_err();
        assert_eq!(e.error_kind(), kind, "{error}: {e}");
        assert!(e.to_string().contains(error), "{e}");
    }
    let (base, _) = mock(
        Reply::json(429, json!({"ok": false, "error": "ratelimited"}))
            .with_header("retry-after", "7"),
    )
    .await;
    let msg = testkit::message(Channel::Slack, Address::Channel("C1".into()), card());
    match bot(&base).send(&msg).await.unwrap_err() {
        ProviderError::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn incoming_webhooks_post_the_blocks_and_read_plain_text_answers() {
    let (base, log) = mock_routes(vec![
        ("/services/T1/B1/ok".into(), vec![Reply::text(200, "ok")]),
        (
            "/services/T1/B1/gone".into(),
            vec![Reply::text(410, "channel_is_archived")],
        ),
        (
            "/services/T1/B1/bad".into(),
            vec![Reply::text(400, "invalid_payload")],
        ),
        (
            "/services/T1/B1/no".into(),
            vec![Reply::text(403, "action_prohibited")],
        ),
        (
            "/services/T1/B1/missing".into(),
            vec![Reply::text(404, "channel_not_found")],
        ),
        (
            "/services/T1/B1/odd".into(),
            vec![Reply::text(500, "rollup_error")],
        ),
        (
            "/services/T1/B1/busy".into(),
            vec![Reply::text(429, "rate limited").with_header("retry-after", "3")],
        ),
    ])
    .await;
    let s = slack(Config::default());
    let send = |path: &str| {
        testkit::message(
            Channel::Slack,
            Address::Url(format!("{base}/services/T1/B1/{path}")),
            card(),
        )
    };
    let r = s.send(&send("ok")).await.unwrap();
    assert_eq!(r.http_status, Some(200));
    let req = to_path(&log, "/services/T1/B1/ok").remove(0);
    assert_eq!(req.header("content-type"), "application/json;charset=utf-8");
    assert_eq!(
        req.header("authorization"),
        "",
        "a webhook URL is its own credential"
    );
    let body = req.json();
    assert!(body["text"].as_str().unwrap().contains("Warranty ending"));
    assert_eq!(body["blocks"][0]["type"], "header");
    for (path, kind) in [
        ("gone", ErrorKind::Permanent),
        ("bad", ErrorKind::Permanent),
        ("no", ErrorKind::Permanent),
        ("missing", ErrorKind::Permanent),
        ("odd", ErrorKind::Retryable),
        ("busy", ErrorKind::RateLimited),
    ] {
        let e = s.send(&send(path)).await.unwrap_err();
        assert_eq!(e.error_kind(), kind, "{path}: {e}");
    }
}

#[tokio::test]
async fn a_tenants_webhook_url_may_not_reach_private_networks() {
    let (base, log) = mock(Reply::text(200, "ok")).await;
    let mut msg = testkit::message(Channel::Slack, Address::Url(format!("{base}/hook")), card());
    msg.tenant_target = true;
    let e = slack(Config::default()).send(&msg).await.unwrap_err();
    assert!(
        e.to_string().contains("private") || e.to_string().contains("refused"),
        "{e}"
    );
    assert!(log.lock().unwrap().is_empty());
    // Without a URL of its own and none configured, nothing is sent.
    let msg = testkit::message(Channel::Slack, Address::Url(String::new()), card());
    let e = slack(Config::default()).send(&msg).await.unwrap_err();
    assert_eq!(e.error_kind(), ErrorKind::Misconfigured);
}

#[tokio::test]
async fn chat_update_redraws_the_clicked_message_without_its_buttons() {
    let (base, log) = mock(Reply::json(
        200,
        json!({"ok": true, "channel": "C1", "ts": "1.2", "text": "x"}),
    ))
    .await;
    let s = bot(&base);
    let original = json!(blocks::draw(&card(), "ntf_01hx7"));
    let interaction = Interaction::Button {
        action: ButtonAction::Acknowledge,
        notification_id: "ntf_01hx7".into(),
        actor: Actor {
            id: "U2CERLKJA".into(),
            name: "roadrunner".into(),
        },
        channel: Some("C1".into()),
        message: Some("1.2".into()),
        original: Some(original),
    };
    let answer = Answer::Acknowledged {
        by: "slack:U2CERLKJA (roadrunner)".into(),
        at_ms: 1_765_000_000_000,
        first: true,
    };
    assert_eq!(s.reply(&interaction, &answer), foghorn_core::Reply::empty());
    // A later click by someone else changes nothing.
    let again = Answer::Acknowledged {
        by: "slack:U0FIRST (ana)".into(),
        at_ms: 1,
        first: false,
    };
    s.follow_up(&interaction, &again).await.unwrap();
    assert!(to_path(&log, "/chat.update").is_empty());
    s.follow_up(&interaction, &answer).await.unwrap();
    let req = to_path(&log, "/chat.update").remove(0);
    assert_eq!(req.header("authorization"), format!("Bearer {TOKEN}"));
    let body = req.json();
    assert_eq!(body["channel"], "C1");
    assert_eq!(body["ts"], "1.2");
    let text = body.to_string();
    assert!(!text.contains("\"action_id\":\"acknowledge\""), "{text}");
    assert!(text.contains("Review in NaviDocs"), "links stay: {text}");
    assert!(
        text.contains("Acknowledged by <@U2CERLKJA> at <!date^1765000000^"),
        "{text}"
    );
}

#[tokio::test]
async fn a_note_redraws_a_posted_alert_with_its_buttons_and_the_note_last() {
    let (base, log) = mock(Reply::json(
        200,
        json!({"ok": true, "channel": "C1", "ts": "1.2", "text": "x"}),
    ))
    .await;
    let msg = testkit::message(Channel::Slack, Address::Channel("C1".into()), card());
    bot(&base)
        .annotate(
            &msg,
            "1.2",
            "Confirmed by the recipient (voice) <@U1>",
            1_765_000_000_000,
        )
        .await
        .unwrap();
    let req = to_path(&log, "/chat.update").remove(0);
    assert_eq!(req.header("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(req.header("content-type"), "application/json;charset=utf-8");
    let body = req.json();
    assert_eq!(
        (body["channel"].as_str(), body["ts"].as_str()),
        (Some("C1"), Some("1.2"))
    );
    let blocks = body["blocks"].as_array().unwrap();
    let last = blocks.last().unwrap();
    assert_eq!(last["type"], "context");
    let line = last["elements"][0]["text"].as_str().unwrap();
    // The note is text: it cannot mention anyone.
    assert!(line.starts_with(":white_check_mark: Confirmed by the recipient (voice) &lt;@U1&gt; at <!date^1765000000^"), "{line}");
    assert!(
        body.to_string().contains("\"action_id\":\"acknowledge\""),
        "the team may still act"
    );
    // Through a webhook there is no message to update.
    let (base, log) = mock(Reply::text(200, "ok")).await;
    let hook = testkit::message(Channel::Slack, Address::Url(format!("{base}/hook")), card());
    bot(&base).annotate(&hook, "1.2", "x", 0).await.unwrap();
    assert!(log.lock().unwrap().is_empty());
}

#[test]
fn signatures_match_the_sdks_test_vector() {
    // slack_sdk tests/slack_sdk/signature/test_signature_verifier.py
    let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    assert_eq!(
        signature(
            "8f742231b10e8888abcd99yyyzzz85a5",
            "1531420618",
            body.as_bytes()
        )
        .unwrap(),
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    );
}

fn request<'a>(headers: &'a [(String, String)], body: &'a [u8], now: i64) -> InboundRequest<'a> {
    InboundRequest {
        method: "POST",
        url: "https://foghorn.example.com/interactions/slack",
        headers,
        body,
        now,
    }
}

fn signed(secret: &str, ts: i64, body: &str) -> Vec<(String, String)> {
    vec![
        ("x-slack-request-timestamp".into(), ts.to_string()),
        (
            "x-slack-signature".into(),
            signature(secret, &ts.to_string(), body.as_bytes()).unwrap(),
        ),
    ]
}

#[test]
fn a_request_is_refused_unless_signed_now_with_the_apps_secret() {
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let body = "command=%2Ffind&text=warranty&user_id=U1&user_name=ana";
    let now = 1_765_000_000;
    let h = signed(secret, now, body);
    assert!(verify(secret, &request(&h, body.as_bytes(), now)).is_ok());
    // 5 minutes either way is the window, inclusive.
    assert!(verify(secret, &request(&h, body.as_bytes(), now + 300)).is_ok());
    let tampered = body.replace("warranty", "invoice");
    assert!(matches!(
        verify(secret, &request(&h, tampered.as_bytes(), now)),
        Err(InboundError::Unauthorized(_))
    ));
    let wrong = signed("another-apps-secret", now, body);
    assert!(matches!(
        verify(secret, &request(&wrong, body.as_bytes(), now)),
        Err(InboundError::Unauthorized(_))
    ));
    let stale = signed(secret, now - 301, body);
    assert!(matches!(
        verify(secret, &request(&stale, body.as_bytes(), now)),
        Err(InboundError::Unauthorized(_))
    ));
    let future = signed(secret, now + 301, body);
    assert!(matches!(
        verify(secret, &request(&future, body.as_bytes(), now)),
        Err(InboundError::Unauthorized(_))
    ));
    assert!(verify(secret, &request(&[], body.as_bytes(), now)).is_err());
}

#[test]
fn button_clicks_and_slash_commands_are_read() {
    // The shape of bolt-python's block_actions test payload.
    let payload = json!({
        "type": "block_actions",
        "user": {"id": "W111", "username": "primary-owner", "name": "primary-owner", "team_id": "T111"},
        "api_app_id": "A111", "token": "verification_token",
        "container": {"type": "message", "message_ts": "111.222", "channel_id": "C111", "is_ephemeral": false},
        "trigger_id": "111.222.valid",
        "team": {"id": "T111", "domain": "workspace-domain"},
        "channel": {"id": "C111", "name": "test-channel"},
        "message": {"ts": "111.222", "blocks": [{"type": "actions", "elements": []}]},
        "response_url": "https://hooks.slack.com/actions/T111/111/random-value",
        "actions": [{"action_id": "acknowledge", "block_id": "b", "text": {"type": "plain_text", "text": "Acknowledge"},
                     "value": "ntf_42", "type": "button", "action_ts": "1596530385.194939"}]
    });
    let body = format!(
        "payload={}",
        form_urlencoded::byte_serialize(payload.to_string().as_bytes()).collect::<String>()
    );
    match interactions::read(body.as_bytes()).unwrap() {
        Interaction::Button {
            action,
            notification_id,
            actor,
            channel,
            message,
            original,
        } => {
            assert_eq!(action, ButtonAction::Acknowledge);
            assert_eq!(notification_id, "ntf_42");
            assert_eq!(
                actor,
                Actor {
                    id: "W111".into(),
                    name: "primary-owner".into()
                }
            );
            assert_eq!(channel.as_deref(), Some("C111"));
            assert_eq!(message.as_deref(), Some("111.222"));
            assert!(original.is_some());
        }
        other => panic!("{other:?}"),
    }
    let cmd = "token=t&team_id=T111&channel_id=C111&user_id=W111&user_name=primary-owner&command=%2Ffind&text=engine+warranty&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT111%2F111%2Fxxxxx";
    assert_eq!(
        interactions::read(cmd.as_bytes()).unwrap(),
        Interaction::Command {
            command: Command::Find("engine warranty".into()),
            actor: Actor {
                id: "W111".into(),
                name: "primary-owner".into()
            },
            follow_up: None,
        }
    );
    let other = "command=%2Fweather&text=";
    assert!(matches!(
        interactions::read(other.as_bytes()).unwrap(),
        Interaction::Other(_)
    ));
    assert!(matches!(
        interactions::read(b"nothing=1"),
        Err(InboundError::Malformed(_))
    ));
}

#[test]
fn a_commands_answer_is_ephemeral_and_escapes_catalog_text() {
    let s = bot("https://slack.com/api");
    let hit = foghorn_core::team::CatalogHit {
        document_id: "d1".into(),
        boat: "Sea <Breeze>".into(),
        title: "Engine warranty".into(),
        kind: Some("warranty".into()),
        link: Some("https://app.navidocs.example/d/1".into()),
        expires_on: Some("2026-12-15".into()),
        updated_at: 1,
    };
    let i = Interaction::Command {
        command: Command::Find("warranty".into()),
        actor: Actor::default(),
        follow_up: None,
    };
    let reply = s.reply(
        &i,
        &Answer::Found {
            query: "warranty".into(),
            hits: vec![hit],
        },
    );
    let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["response_type"], "ephemeral");
    let text = v["blocks"].to_string();
    assert!(
        text.contains("<https://app.navidocs.example/d/1|Engine warranty>"),
        "{text}"
    );
    assert!(text.contains("Sea &lt;Breeze&gt;"), "{text}");
}
