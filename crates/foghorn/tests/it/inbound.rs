//! Provider callbacks through the real binary, on SQLite and PostgreSQL:
//! each provider's own verification (Twilio's URL signature, Mailgun's HMAC,
//! SendGrid's ECDSA, Postmark's and Bandwidth's Basic credentials), replays,
//! unknown messages, tenant isolation, the suppression list, SMS keywords
//! and the daily SMS cap.

use crate::common::*;
use crate::mock_providers::{Kind, MockProvider, Received, SendGridKey};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::Duration;

const PUBLIC_URL: &str = "https://foghorn.example";
const TWILIO_SID: &str = "AC00000000000000000000000000000001";
const TWILIO_TOKEN: &str = "twilio-auth-token-0001";
const OUR_NUMBER: &str = "+12025550100";
const OWNER_PHONE: &str = "+12025550142";
const MAILGUN_KEY: &str = "mailgun-signing-key-0001";
const POSTMARK_USER: &str = "postmark-hook";
const POSTMARK_PASS: &str = "postmark-secret";
const BANDWIDTH_USER: &str = "bw-hook";
const BANDWIDTH_PASS: &str = "bw-secret";
const BANDWIDTH_NUMBER: &str = "+12025550111";

// ---------------------------------------------------------------- mocks ---

/// A form as received: its pairs, in order.
type Form = Vec<(String, String)>;

/// The forms the Twilio stand-in got (its Messages resource answers 201
/// with a fresh SID), once it has `n`.
async fn twilio_sent(mock: &MockProvider, n: usize) -> Vec<Form> {
    let sent = mock.wait_accepted(n, Duration::from_secs(20)).await;
    sent.iter().map(Received::form).collect()
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

// -------------------------------------------------------------- signing ---

pub(crate) fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", B64.encode(format!("{user}:{pass}")))
}

// -------------------------------------------------------------- helpers ---

/// A signed Twilio callback to `path_and_query` with `params`; `sent` are
/// the parameters actually posted (a tampered copy, say).
pub(crate) async fn twilio_hook(
    base: &str,
    path_and_query: &str,
    token: &str,
    signed: &[(&str, &str)],
    sent: &[(&str, &str)],
) -> (u16, String) {
    let sig = twilio_signature(token, &format!("{PUBLIC_URL}{path_and_query}"), signed);
    let body = sent
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    hook(
        base,
        path_and_query,
        &[("x-twilio-signature", sig)],
        "application/x-www-form-urlencoded",
        body.into_bytes(),
    )
    .await
}

fn sms_workflow(env: &Env) {
    env.write(
        "workflows/alert.sms.toml",
        "name = \"alert.sms\"\ncategory = \"alerts\"\n[[steps]]\nchannel = \"sms\"\ntext = \"NaviDocs: {{ data.boat }} needs attention\"\n",
    );
}

fn email_workflow(env: &Env) {
    env.write(
        "workflows/alert.email.toml",
        "name = \"alert.email\"\ncategory = \"alerts\"\n[[steps]]\nchannel = \"email\"\nsubject = \"{{ data.boat }}\"\ntext = \"{{ data.boat }} needs attention\"\n",
    );
}

fn twilio_config(mock: &MockProvider) -> String {
    format!(
        "public_url = \"{PUBLIC_URL}/\"\n\
         [providers.twilio]\nkind = \"twilio\"\naccount_sid = \"{TWILIO_SID}\"\nauth_token = \"{TWILIO_TOKEN}\"\n\
         phone_number = \"{OUR_NUMBER}\"\nbase_url = \"{}\"\n\
         [channels.sms]\nproviders = [\"twilio\"]\n",
        mock.url
    )
}

// ---------------------------------------------------------------- tests ---

/// Send an SMS through Twilio, then Twilio's signed status callbacks:
/// verified, applied once, never backwards, about the tenant's own
/// notifications only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twilio_status_callbacks_are_verified_applied_once_and_stay_in_their_tenant() {
    for env in envs().await {
        let b = env.backend();
        let mock = MockProvider::start(Kind::Twilio).await;
        env.write("foghorn.toml", &twilio_config(&mock));
        sms_workflow(&env);
        let key = env.key("admin").await;
        let (code, _, err) = env
            .run(&["tenants", "create", "Second", "--id", "t2"])
            .await;
        assert_eq!(code, 0, "{err}");
        let key2 = {
            let (code, out, err) = env
                .run(&["keys", "create", "--scope", "admin", "--tenant", "t2"])
                .await;
            assert_eq!(code, 0, "{err}");
            out.lines().last().unwrap().trim().to_string()
        };
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "owner", json!({"phone": OWNER_PHONE})).await;
        let (id, _) = send(
            &api,
            json!({"name": "alert.sms", "to": ["owner"], "data": {"boat": "Jeanneau 51"}}),
        )
        .await;
        let n = wait_status(&api, &id, "sent").await;
        let sid = n["provider_message_id"].as_str().unwrap().to_string();
        assert!(sid.starts_with("SM"), "{b}: {n}");
        let sent = twilio_sent(&mock, 1).await;
        assert_eq!(field(&sent[0], "To"), OWNER_PHONE);
        let callback = field(&sent[0], "StatusCallback").to_string();
        let path = callback
            .strip_prefix(PUBLIC_URL)
            .unwrap_or_else(|| panic!("{b}: callback URL {callback}"))
            .to_string();
        assert_eq!(path, format!("/hooks/twilio?tenant=default&n={id}"), "{b}");

        let delivered = [
            ("AccountSid", TWILIO_SID),
            ("MessageSid", sid.as_str()),
            ("MessageStatus", "delivered"),
            ("To", OWNER_PHONE),
            ("From", OUR_NUMBER),
            ("Price", "-0.00790"),
            ("PriceUnit", "USD"),
            ("ErrorCode", ""),
        ];
        let mut tampered = delivered;
        tampered[2] = ("MessageStatus", "failed");

        // A tampered body, a wrong token, no signature: 401, nothing changes.
        let (s, body) = twilio_hook(&server.base, &path, TWILIO_TOKEN, &delivered, &tampered).await;
        assert_eq!(s, 401, "{b}: {body}");
        assert!(
            body.contains("urn:foghorn:problem:invalid-signature"),
            "{body}"
        );
        let (s, _) = twilio_hook(&server.base, &path, "wrong-token", &delivered, &delivered).await;
        assert_eq!(s, 401, "{b}");
        let (s, _) = hook(
            &server.base,
            &path,
            &[],
            "application/x-www-form-urlencoded",
            b"MessageSid=x&MessageStatus=delivered".to_vec(),
        )
        .await;
        assert_eq!(s, 401, "{b}");
        let n = notification(&api, &id).await;
        assert_eq!(n["status"], "sent", "{b}: {n}");
        assert!(n["timeline"].as_array().unwrap().is_empty(), "{b}");

        // Valid: applied, with the reported price; a repeat is applied once.
        for _ in 0..2 {
            let (s, body) =
                twilio_hook(&server.base, &path, TWILIO_TOKEN, &delivered, &delivered).await;
            assert_eq!(s, 200, "{b}: {body}");
            assert!(body.contains("<Response>"), "{b}: TwiML answer: {body}");
        }
        let n = notification(&api, &id).await;
        assert_eq!(n["status"], "delivered", "{b}: {n}");
        assert_eq!(
            n["cost"],
            json!({"amount": "0.0079", "currency": "USD"}),
            "{b}"
        );
        assert_eq!(timeline_kinds(&n), vec!["delivered"], "{b}: applied once");
        assert_eq!(n["timeline"][0]["provider"], "twilio");

        // A late `sent` is recorded, but does not move the status back.
        let sent_late = [
            ("MessageSid", sid.as_str()),
            ("MessageStatus", "sent"),
            ("To", OWNER_PHONE),
        ];
        let (s, _) = twilio_hook(&server.base, &path, TWILIO_TOKEN, &sent_late, &sent_late).await;
        assert_eq!(s, 200);
        let n = notification(&api, &id).await;
        assert_eq!(n["status"], "delivered", "{b}");
        assert_eq!(timeline_kinds(&n), vec!["delivered", "sent"], "{b}");

        // An unknown message: 200, nothing changes.
        let unknown = [
            ("MessageSid", "SM99999999999999999999999999999999"),
            ("MessageStatus", "read"),
        ];
        let (s, _) = twilio_hook(
            &server.base,
            "/hooks/twilio?tenant=default",
            TWILIO_TOKEN,
            &unknown,
            &unknown,
        )
        .await;
        assert_eq!(s, 200, "{b}");

        // Another tenant cannot touch this notification, by id or by SID.
        let read = [("MessageSid", sid.as_str()), ("MessageStatus", "read")];
        for q in [
            format!("/hooks/twilio?tenant=t2&n={id}"),
            "/hooks/twilio?tenant=t2".to_string(),
        ] {
            let (s, body) = twilio_hook(&server.base, &q, TWILIO_TOKEN, &read, &read).await;
            assert_eq!(s, 200, "{b}: {body}");
        }
        let (s, _) = twilio_hook(
            &server.base,
            "/hooks/twilio?tenant=nobody",
            TWILIO_TOKEN,
            &read,
            &read,
        )
        .await;
        assert_eq!(s, 404, "{b}: no such tenant");
        let n = notification(&api, &id).await;
        assert_eq!(n["status"], "delivered", "{b}: {n}");
        assert_eq!(n["timeline"].as_array().unwrap().len(), 2, "{b}");
        let (s, _) = Api::new(&server.base, &key2)
            .get(&format!("/v1/notifications/{id}"))
            .await;
        assert_eq!(s, 404, "{b}");

        // Twilio may call back with GET: the parameters are in the signed
        // URL; found by SID alone.
        let q = format!("/hooks/twilio?MessageSid={sid}&MessageStatus=read&tenant=default");
        let sig = twilio_signature(TWILIO_TOKEN, &format!("{PUBLIC_URL}{q}"), &[]);
        let res = reqwest::Client::new()
            .get(format!("{}{q}", server.base))
            .header("x-twilio-signature", sig)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{b}");
        assert_eq!(notification(&api, &id).await["status"], "read", "{b}");

        // A provider kind that is not configured, and one that receives none.
        for kind in ["vonage", "sandbox", "carrier-pigeon"] {
            let (s, _) = hook(
                &server.base,
                &format!("/hooks/{kind}"),
                &[],
                "application/json",
                b"{}".to_vec(),
            )
            .await;
            assert_eq!(s, 404, "{b}: {kind}");
        }
        // Oversized and over-deep bodies are refused before anything else.
        let big = vec![b'a'; 300 * 1024];
        let (s, _) = hook(
            &server.base,
            "/hooks/twilio",
            &[],
            "application/x-www-form-urlencoded",
            big,
        )
        .await;
        assert_eq!(s, 413, "{b}");
        let deep = "[".repeat(100) + &"]".repeat(100);
        let (s, _) = hook(
            &server.base,
            "/hooks/twilio",
            &[],
            "application/json",
            deep.into_bytes(),
        )
        .await;
        assert_eq!(s, 400, "{b}");

        let logs = server.logs();
        server.stop().await;
        assert!(
            !logs.contains("2025550142"),
            "{b}: a phone number in the logs"
        );
    }
}

/// STOP opts the number out (ledger + suppression), START opts it back in,
/// HELP answers with the tenant's text, anything else reaches the tenant's
/// webhook; Twilio answers keywords itself, Bandwidth leaves it to us.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sms_keywords_opt_out_opt_in_and_forward_everything_else() {
    for env in envs().await {
        let b = env.backend();
        let mock = MockProvider::start(Kind::Twilio).await;
        let sink = Sink::start().await;
        env.write(
            "foghorn.toml",
            &format!(
                "{}[providers.bandwidth]\nkind = \"bandwidth\"\naccount_id = \"9900001\"\nclient_id = \"api\"\n\
                 client_secret = \"api-pass\"\nmessaging_application_id = \"app-1\"\nfrom = \"{BANDWIDTH_NUMBER}\"\n\
                 webhook_username = \"{BANDWIDTH_USER}\"\nwebhook_password = \"{BANDWIDTH_PASS}\"\nchannels = []\n\
                 [providers.webhook]\nkind = \"webhook\"\nsecret = \"{WEBHOOK_SECRET}\"\n",
                twilio_config(&mock)
            ),
        );
        sms_workflow(&env);
        let key = env.key("admin").await;
        let operator = env.key("operator").await;
        let server = Server::start(&env, "all", &[TENANTS_MAY_USE_LOOPBACK]).await;
        let api = Api::new(&server.base, &key);
        let (s, v) = Api::new(&server.base, &operator)
            .put(
                "/v1/admin/tenants/default",
                json!({"name": "default", "settings": {
                    "inbound_webhook_url": format!("{}/inbound", sink.url),
                    "sms_help_text": "NaviDocs help: reply STOP to stop."
                }}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        put_subscriber(&api, "owner", json!({"phone": OWNER_PHONE})).await;
        let alert = json!({"name": "alert.sms", "to": ["owner"], "data": {"boat": "Jeanneau 51"}});
        // Planned before the STOP, due after it.
        let mut later = alert.clone();
        later["send_at"] = json!(chrono::Utc::now() + chrono::Duration::milliseconds(1500));
        let (scheduled, status) = send(&api, later).await;
        assert_eq!(status, "scheduled", "{b}");

        // Twilio: STOP. Twilio confirms it itself, so we send nothing.
        let stop = [
            ("MessageSid", "SMin0000000000000000000000000000001"),
            ("From", OWNER_PHONE),
            ("To", OUR_NUMBER),
            ("Body", "Stop"),
            ("SmsStatus", "received"),
        ];
        for _ in 0..2 {
            let (s, body) =
                twilio_hook(&server.base, "/hooks/twilio", TWILIO_TOKEN, &stop, &stop).await;
            assert_eq!(s, 200, "{b}: {body}");
        }
        let (s, page) = api.get("/v1/suppressions").await;
        assert_eq!(s, 200);
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{b}: {page}");
        assert_eq!(items[0]["channel"], "sms");
        assert_eq!(items[0]["reason"], "unsubscribed");
        assert_eq!(items[0]["address"], "+*********42");
        assert!(!page.to_string().contains("2025550142"), "{b}: {page}");
        let (_, status) = send(&api, alert.clone()).await;
        assert_eq!(status, "suppressed", "{b}");
        let (s, list) = api.get("/v1/notifications?status=suppressed").await;
        assert_eq!(s, 200);
        assert_eq!(list["items"][0]["status_reason"], "unsubscribed", "{b}");
        // The one planned before is stopped when it falls due.
        let n = wait_status(&api, &scheduled, "suppressed").await;
        assert_eq!(n["status_reason"], "unsubscribed", "{b}");
        assert!(
            mock.received().is_empty(),
            "{b}: nothing went to the number"
        );

        // Bandwidth: START, twice (a redelivery). We confirm, once, from the
        // number the person wrote to.
        let start = json!([{
            "type": "message-received", "time": "2026-01-01T00:00:00Z", "to": BANDWIDTH_NUMBER,
            "description": "Incoming message received",
            "message": {"id": "bw-in-1", "from": OWNER_PHONE, "text": "start", "direction": "in"}
        }]);
        for _ in 0..2 {
            let (s, body) = hook(
                &server.base,
                "/hooks/bandwidth",
                &[("authorization", basic(BANDWIDTH_USER, BANDWIDTH_PASS))],
                "application/json",
                start.to_string().into_bytes(),
            )
            .await;
            assert_eq!(s, 200, "{b}: {body}");
        }
        let (s, _) = hook(
            &server.base,
            "/hooks/bandwidth",
            &[("authorization", basic(BANDWIDTH_USER, "guess"))],
            "application/json",
            start.to_string().into_bytes(),
        )
        .await;
        assert_eq!(s, 401, "{b}");
        let sent = twilio_sent(&mock, 1).await;
        assert_eq!(field(&sent[0], "To"), OWNER_PHONE, "{b}");
        assert_eq!(field(&sent[0], "From"), BANDWIDTH_NUMBER, "{b}");
        assert!(
            field(&sent[0], "Body").contains("subscribed again"),
            "{b}: {:?}",
            sent[0]
        );
        let (_, page) = api.get("/v1/suppressions").await;
        assert!(page["items"].as_array().unwrap().is_empty(), "{b}: {page}");
        let (id, status) = send(&api, alert.clone()).await;
        assert_eq!(status, "queued", "{b}");
        wait_status(&api, &id, "sent").await;

        // HELP answers with the tenant's text.
        let help = json!([{
            "type": "message-received", "to": BANDWIDTH_NUMBER,
            "message": {"id": "bw-in-2", "from": OWNER_PHONE, "text": "HELP"}
        }]);
        let (s, _) = hook(
            &server.base,
            "/hooks/bandwidth",
            &[("authorization", basic(BANDWIDTH_USER, BANDWIDTH_PASS))],
            "application/json",
            help.to_string().into_bytes(),
        )
        .await;
        assert_eq!(s, 200);
        // The owner's number is a subscriber's: the reply also offers their
        // preference centre, a link that works.
        let sent = twilio_sent(&mock, 3).await;
        let help_reply = sent
            .iter()
            .map(|m| field(m, "Body"))
            .find(|body| body.starts_with("NaviDocs help: reply STOP to stop."))
            .unwrap_or_else(|| panic!("{b}: {sent:?}"));
        let link = help_reply
            .strip_prefix("NaviDocs help: reply STOP to stop. Your preferences: ")
            .unwrap_or_else(|| panic!("{b}: {help_reply}"));
        let path = link
            .strip_prefix(PUBLIC_URL)
            .unwrap_or_else(|| panic!("{b}: {link}"));
        assert!(
            path.starts_with("/p/") && !path.contains(' '),
            "{b}: {path}"
        );
        let res = reqwest::get(format!("{}{path}", server.base))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{b}: {path}");

        // Anything else goes to the tenant's webhook as sms.received.
        let question = [
            ("MessageSid", "SMin0000000000000000000000000000002"),
            ("From", OWNER_PHONE),
            ("To", OUR_NUMBER),
            ("Body", "Is the survey of Jeanneau 51 done?"),
            ("SmsStatus", "received"),
        ];
        let (s, _) = twilio_hook(
            &server.base,
            "/hooks/twilio",
            TWILIO_TOKEN,
            &question,
            &question,
        )
        .await;
        assert_eq!(s, 200);
        sink.wait_for(1, Duration::from_secs(20)).await;
        let forwarded = sink.requests();
        assert_eq!(forwarded[0].0, "/inbound", "{b}");
        let body: Value = serde_json::from_str(&forwarded[0].3).unwrap();
        assert_eq!(body["type"], "sms.received", "{b}: {body}");
        assert_eq!(body["data"]["text"], "Is the survey of Jeanneau 51 done?");
        assert_eq!(body["data"]["from"], OWNER_PHONE);
        assert_eq!(body["data"]["provider"], "twilio");
        assert!(!forwarded[0].1.is_empty(), "{b}: signed (webhook-id)");

        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            mock.received().len(),
            3,
            "{b}: one START reply, one alert, one HELP reply"
        );
        let logs = server.logs();
        server.stop().await;
        for needle in ["2025550142", "survey", "Jeanneau"] {
            assert!(!logs.contains(needle), "{b}: `{needle}` in the logs");
        }
    }
}

/// Mailgun (HMAC), SendGrid (ECDSA) and Postmark (Basic): each verified by
/// its own scheme; hard bounces and complaints suppress the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn email_callbacks_verify_by_each_scheme_and_suppress_bounced_addresses() {
    for env in envs().await {
        let b = env.backend();
        let sg = SendGridKey::generate();
        let other = SendGridKey::generate();
        env.write(
            "foghorn.toml",
            &format!(
                "public_url = \"{PUBLIC_URL}\"\n\
                 [providers.mailgun]\nkind = \"mailgun\"\napi_key = \"key-1\"\ndomain = \"mg.navidocs.example\"\n\
                 from = \"NaviDocs <noreply@mg.navidocs.example>\"\nwebhook_signing_key = \"{MAILGUN_KEY}\"\n\
                 [providers.sendgrid]\nkind = \"sendgrid\"\napi_key = \"SG.x\"\nfrom = \"noreply@navidocs.example\"\n\
                 webhook_verification_key = \"{}\"\n\
                 [providers.postmark]\nkind = \"postmark\"\nserver_token = \"pm-token\"\nfrom = \"noreply@navidocs.example\"\n\
                 webhook_username = \"{POSTMARK_USER}\"\nwebhook_password = \"{POSTMARK_PASS}\"\n\
                 [channels.email]\nproviders = [\"sandbox\"]\n",
                sg.public_b64()
            ),
        );
        email_workflow(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        for who in ["ana", "ben", "cleo", "dan"] {
            put_subscriber(&api, who, json!({"email": format!("{who}@boats.example")})).await;
        }
        let email_to =
            |who: &str| json!({"name": "alert.email", "to": [who], "data": {"boat": "Beneteau"}});
        let mut ids = std::collections::HashMap::new();
        for who in ["ana", "ben", "cleo"] {
            let (id, _) = send(&api, email_to(who)).await;
            wait_status(&api, &id, "sent").await;
            ids.insert(who, id);
        }

        // Mailgun: HMAC over timestamp + token, five-minute window.
        let mg_event = |event: &str, id: &str, extra: Value| {
            let mut data = json!({
                "event": event, "id": format!("mg-{event}-{id}"), "recipient": "ana@boats.example",
                "user-variables": {"notification_id": id},
            });
            if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
                d.extend(e.clone());
            }
            data
        };
        let ana = ids["ana"].clone();
        let post_mg = |body: Value| {
            let base = server.base.clone();
            async move {
                hook(
                    &base,
                    "/hooks/mailgun",
                    &[],
                    "application/json",
                    body.to_string().into_bytes(),
                )
                .await
            }
        };
        let delivered = mg_event("delivered", &ana, json!({}));
        let mut forged = mailgun_body(MAILGUN_KEY, now_s(), "tok-1", delivered.clone());
        forged["signature"]["token"] = json!("tok-2");
        assert_eq!(post_mg(forged).await.0, 401, "{b}: tampered token");
        assert_eq!(
            post_mg(mailgun_body(
                "other-key",
                now_s(),
                "tok-1",
                delivered.clone()
            ))
            .await
            .0,
            401,
            "{b}: wrong key"
        );
        assert_eq!(
            post_mg(mailgun_body(
                MAILGUN_KEY,
                now_s() - 3600,
                "tok-1",
                delivered.clone()
            ))
            .await
            .0,
            401,
            "{b}: stale"
        );
        assert_eq!(notification(&api, &ana).await["status"], "sent", "{b}");
        let good = mailgun_body(MAILGUN_KEY, now_s(), "tok-1", delivered.clone());
        assert_eq!(post_mg(good.clone()).await.0, 200, "{b}");
        assert_eq!(post_mg(good).await.0, 200, "{b}: repeat");
        let n = notification(&api, &ana).await;
        assert_eq!(n["status"], "delivered", "{b}");
        assert_eq!(timeline_kinds(&n), vec!["delivered"], "{b}: once");
        let opened = mailgun_body(
            MAILGUN_KEY,
            now_s(),
            "tok-3",
            mg_event("opened", &ana, json!({})),
        );
        assert_eq!(post_mg(opened).await.0, 200);
        let unknown = mailgun_body(
            MAILGUN_KEY,
            now_s(),
            "tok-4",
            mg_event("failed", "ntf_unknown", json!({"severity": "permanent"})),
        );
        assert_eq!(post_mg(unknown).await.0, 200, "{b}: unknown message");
        let n = notification(&api, &ana).await;
        assert_eq!(
            (n["status"].clone(), timeline_kinds(&n)),
            (
                json!("delivered"),
                vec!["delivered".to_string(), "opened".to_string()]
            ),
            "{b}"
        );
        let (_, page) = api.get("/v1/suppressions").await;
        assert!(
            page["items"].as_array().unwrap().is_empty(),
            "{b}: the unknown bounce suppressed nothing"
        );

        // A hard bounce: the address is suppressed and the next email too.
        let ben = ids["ben"].clone();
        let bounce = mailgun_body(
            MAILGUN_KEY,
            now_s(),
            "tok-5",
            json!({
                "event": "failed", "id": "mg-bounce-ben", "severity": "permanent",
                "recipient": "Ben@Boats.example", "user-variables": {"notification_id": ben},
                "delivery-status": {"code": 550, "message": "5.1.1 ben@boats.example: no such user"}
            }),
        );
        assert_eq!(post_mg(bounce).await.0, 200, "{b}");
        let n = notification(&api, &ben).await;
        assert_eq!(n["status"], "bounced", "{b}: {n}");
        assert_eq!(n["status_reason"], "hard bounce (550)", "{b}");
        assert!(n["timeline"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("no such user"));
        let (_, status) = send(&api, email_to("ben")).await;
        assert_eq!(status, "suppressed", "{b}");
        let (_, list) = api.get("/v1/notifications?status=suppressed").await;
        assert_eq!(list["items"][0]["status_reason"], "bounced", "{b}");
        let (_, page) = api.get("/v1/suppressions?channel=email").await;
        assert_eq!(
            page["items"][0]["address"], "b***@b***.example",
            "{b}: {page}"
        );
        assert_eq!(page["items"][0]["reason"], "bounced");
        assert!(!page.to_string().contains("ben@"), "{b}");

        // SendGrid: ECDSA over timestamp + body.
        let cleo = ids["cleo"].clone();
        let batch = json!([
            {"email": "cleo@boats.example", "event": "delivered", "sg_event_id": "sg-1",
             "sg_message_id": "abc.filter1", "notification_id": cleo, "timestamp": now_s()},
            {"email": "cleo@boats.example", "event": "spamreport", "sg_event_id": "sg-2",
             "sg_message_id": "abc.filter1", "notification_id": cleo, "timestamp": now_s()},
        ]);
        let body = batch.to_string().into_bytes();
        let post_sg = |ts: i64, sig: String, body: Vec<u8>| {
            let base = server.base.clone();
            async move {
                hook(
                    &base,
                    "/hooks/sendgrid",
                    &[
                        ("x-twilio-email-event-webhook-signature", sig),
                        ("x-twilio-email-event-webhook-timestamp", ts.to_string()),
                    ],
                    "application/json",
                    body,
                )
                .await
            }
        };
        let ts = now_s();
        let mut tampered = body.clone();
        let at = tampered.len() / 2;
        tampered[at] = if tampered[at] == b' ' { b'\t' } else { b' ' };
        assert_eq!(
            post_sg(ts, sg.sign(ts, &body), tampered).await.0,
            401,
            "{b}: tampered"
        );
        assert_eq!(
            post_sg(ts, other.sign(ts, &body), body.clone()).await.0,
            401,
            "{b}: wrong key"
        );
        let old = ts - 3600;
        assert_eq!(
            post_sg(old, sg.sign(old, &body), body.clone()).await.0,
            401,
            "{b}: stale"
        );
        assert_eq!(notification(&api, &cleo).await["status"], "sent", "{b}");
        for _ in 0..2 {
            assert_eq!(
                post_sg(ts, sg.sign(ts, &body), body.clone()).await.0,
                200,
                "{b}"
            );
        }
        let n = notification(&api, &cleo).await;
        assert_eq!(
            n["status"], "delivered",
            "{b}: a complaint keeps the status"
        );
        assert_eq!(timeline_kinds(&n), vec!["delivered", "complained"], "{b}");
        let (_, status) = send(&api, email_to("cleo")).await;
        assert_eq!(status, "suppressed", "{b}");

        // Postmark: Basic credentials; a bounce about an unknown message.
        let (dan, _) = send(&api, email_to("dan")).await;
        wait_status(&api, &dan, "sent").await;
        let record = json!({"RecordType": "Delivery", "MessageID": "pm-1", "Recipient": "dan@boats.example",
            "DeliveredAt": "2026-01-01T00:00:00Z", "Metadata": {"notification_id": dan}});
        let post_pm = |auth: String, body: Value| {
            let base = server.base.clone();
            async move {
                hook(
                    &base,
                    "/hooks/postmark",
                    &[("authorization", auth)],
                    "application/json",
                    body.to_string().into_bytes(),
                )
                .await
            }
        };
        assert_eq!(
            post_pm(basic(POSTMARK_USER, "wrong"), record.clone())
                .await
                .0,
            401,
            "{b}"
        );
        assert_eq!(
            post_pm(basic("someone", POSTMARK_PASS), record.clone())
                .await
                .0,
            401,
            "{b}"
        );
        assert_eq!(notification(&api, &dan).await["status"], "sent", "{b}");
        for _ in 0..2 {
            assert_eq!(
                post_pm(basic(POSTMARK_USER, POSTMARK_PASS), record.clone())
                    .await
                    .0,
                200,
                "{b}"
            );
        }
        let n = notification(&api, &dan).await;
        assert_eq!(
            (n["status"].clone(), timeline_kinds(&n).len()),
            (json!("delivered"), 1),
            "{b}"
        );
        let stray = json!({"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "MessageID": "pm-unknown",
            "Email": "dan@boats.example"});
        assert_eq!(
            post_pm(basic(POSTMARK_USER, POSTMARK_PASS), stray).await.0,
            200,
            "{b}"
        );
        assert_eq!(notification(&api, &dan).await["status"], "delivered", "{b}");

        // Lifting a suppression lets mail through again.
        let (s, _, _) = api
            .send(
                reqwest::Method::DELETE,
                "/v1/suppressions/email/BEN@boats.example",
                None,
            )
            .await;
        assert_eq!(s, 204, "{b}");
        let (s, _, _) = api
            .send(
                reqwest::Method::DELETE,
                "/v1/suppressions/email/ben@boats.example",
                None,
            )
            .await;
        assert_eq!(s, 404, "{b}");
        let (_, status) = send(&api, email_to("ben")).await;
        assert_eq!(status, "queued", "{b}");
        let reader = env.key("read").await;
        let (s, _, _) = Api::new(&server.base, &reader)
            .send(
                reqwest::Method::DELETE,
                "/v1/suppressions/email/cleo@boats.example",
                None,
            )
            .await;
        assert_eq!(s, 403, "{b}: lifting takes admin");
        let (code, out, err) = env.run(&["audit", "verify"]).await;
        assert_eq!(code, 0, "{b}: {out}{err}");
        let logs = server.logs();
        server.stop().await;
        assert!(
            !logs.contains("boats.example"),
            "{b}: an address in the logs"
        );
    }
}

/// Beyond the daily cap a subscriber's SMS are suppressed; critical events
/// still go.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_sms_cap_suppresses_beyond_the_limit_but_not_critical_events() {
    for env in envs().await {
        let b = env.backend();
        sms_workflow(&env);
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[("FOGHORN_DELIVERY__SMS_DAILY_CAP", "2")]).await;
        let api = Api::new(&server.base, &key);
        put_subscriber(&api, "owner", json!({"phone": OWNER_PHONE})).await;
        put_subscriber(&api, "other", json!({"phone": "+12025550143"})).await;
        let alert = |who: &str| json!({"name": "alert.sms", "to": [who], "data": {"boat": "B"}});
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(send(&api, alert("owner")).await.1);
        }
        assert_eq!(statuses, vec!["queued", "queued", "suppressed"], "{b}");
        let (_, list) = api.get("/v1/notifications?status=suppressed").await;
        assert_eq!(list["items"][0]["status_reason"], "daily cap", "{b}");
        assert_eq!(
            send(&api, alert("other")).await.1,
            "queued",
            "{b}: per subscriber"
        );
        let mut critical = alert("owner");
        critical["priority"] = json!("critical");
        assert_eq!(
            send(&api, critical).await.1,
            "queued",
            "{b}: critical bypasses"
        );

        let doc: Value = reqwest::get(format!("{}/openapi.json", server.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (path, method) in [
            ("/hooks/{provider}", "post"),
            ("/v1/suppressions", "get"),
            ("/v1/suppressions/{channel}/{address}", "delete"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "openapi lacks {method} {path}"
            );
        }
        assert!(doc["components"]["schemas"]["Notification"]["properties"]["timeline"].is_object());
        server.stop().await;
    }
}
