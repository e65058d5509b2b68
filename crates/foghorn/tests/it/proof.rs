//! Proof of notice through the real binary, on SQLite and PostgreSQL: a
//! recall to 100 owners, some confirming by the text's link, some by
//! pressing 1 on the escalation call, some never, a few unreachable; the
//! signed proof lists each as it happened, verifies offline (with and
//! without a pinned key), fails once a byte changes, is anchored in the
//! audit chain, prints as HTML and PDF, and is no other tenant's to read.

use crate::common::*;
use crate::escalation::{calls, field, page, twilio_refusing, OUR_NUMBER, PUBLIC_URL, SID, TOKEN};
use crate::inbound::twilio_hook;
use foghorn_testkit::{MockServer, Reply};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const OWNERS: usize = 100;
/// owner-1 … owner-30 confirm by the link in their text.
const BY_LINK: std::ops::RangeInclusive<usize> = 1..=30;
/// owner-31 … owner-60 press 1 on the call.
const BY_VOICE: std::ops::RangeInclusive<usize> = 31..=60;
/// owner-97 … owner-100 have only a number Twilio refuses.
const UNREACHABLE: std::ops::RangeInclusive<usize> = 97..=100;
/// Of those who confirm by voice and of those who never confirm, these
/// get a delivery receipt for their text.
const DELIVERED: [usize; 6] = [31, 32, 33, 61, 62, 63];
const REFUSED_PREFIX: &str = "+1310555";

/// Distinct numbers in the 555-01xx range the numbering plan keeps for
/// fiction (the only 555 numbers that validate), over a few area codes.
fn phone(i: usize) -> String {
    if UNREACHABLE.contains(&i) {
        format!("{REFUSED_PREFIX}01{:02}", i - 90)
    } else if i <= 50 {
        format!("+121255501{i:02}")
    } else {
        format!("+121355501{:02}", i % 100)
    }
}

/// Slack's Web API: every post answers its `ts`.
async fn slack() -> MockServer {
    MockServer::start(|req| {
        Reply::json(
            200,
            json!({"ok": true, "channel": "C0ALERTS", "ts": format!("1765000000.{:06}", req.n)}),
        )
    })
    .await
}

/// The pack's recall: email and text to each owner, a call 15 minutes
/// later unless confirmed, and the team's Slack alert (not an owner).
fn config(env: &Env, twilio: &str, slack: &str) {
    crate::escalation::recall_config(env, (twilio, slack, None), "15m", 1);
}

/// Polls `check` until it answers Some, for up to a minute.
async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The event's notifications by (subscriber, channel).
fn planned(v: &Value) -> HashMap<(String, String), String> {
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| {
            Some((
                (
                    n["recipient"].as_str()?.to_string(),
                    n["channel"].as_str()?.to_string(),
                ),
                n["id"].as_str()?.to_string(),
            ))
        })
        .collect()
}

async fn get_raw(api: &Api, path: &str) -> (u16, String, Vec<u8>) {
    let res = api
        .http
        .get(format!("{}{path}", api.base))
        .bearer_auth(&api.key)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, res.bytes().await.unwrap().to_vec())
}

fn owner<'a>(proof: &'a Value, id: &str) -> &'a Value {
    proof["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["subscriber"] == id)
        .unwrap_or_else(|| panic!("{id} is not in the proof"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recall_to_100_owners_is_proven_per_owner_signed_and_anchored() {
    for env in envs().await {
        let b = env.backend();
        let twilio = twilio_refusing(Some(REFUSED_PREFIX)).await;
        let slack = slack().await;
        config(&env, &twilio.url, &slack.url);
        let key = env.key("admin").await;
        let operator = env.key("operator").await;
        let server = Server::start(&env, "all", &[("FOGHORN_DEV__CLOCK", "true")]).await;
        let api = Api::new(&server.base, &key);
        let clock = Api::new(&server.base, &operator);
        let (s, v) = api
            .put(
                "/v1/destinations",
                json!({"alerts": {"slack": {"channel": "C0ALERTS"}}}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        let ids: Vec<String> = (1..=OWNERS).map(|i| format!("owner-{i}")).collect();
        futures_like::run_bounded((1..=OWNERS).collect(), 8, |i| {
            let api = api.clone();
            async move {
                let body = if UNREACHABLE.contains(&i) {
                    json!({"phone": phone(i)})
                } else {
                    json!({"email": format!("owner{i}@example.com"), "phone": phone(i)})
                };
                put_subscriber(&api, &format!("owner-{i}"), body).await;
            }
        })
        .await;
        // Two owners turned safety notices off; a recall goes out anyway.
        for i in [5, 40] {
            let (s, v) = api
                .put(
                    &format!("/v1/subscribers/owner-{i}/preferences"),
                    json!({"categories": {"safety": {"email": false, "sms": false}}}),
                )
                .await;
            assert_eq!(s, 200, "{b}: {v}");
        }
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "recall.issued", "to": ids, "data": {
                    "boat": "Sea Breeze", "recall_id": "RC-2026-114", "component": "fuel pump",
                    "manufacturer": "Volvo Penta", "url": "https://app.navidocs.example/r/114"}}),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        let event = v["event_id"].as_str().unwrap().to_string();
        let planned = planned(&v);
        let sms = |i: usize| planned[&(format!("owner-{i}"), "sms".to_string())].clone();
        let voice = |i: usize| planned[&(format!("owner-{i}"), "voice".to_string())].clone();

        // Every text has gone out (or been refused for good).
        let texts: HashMap<String, String> = until("every text sent", || {
            let twilio = &twilio;
            async move {
                let sent: HashMap<String, String> = twilio
                    .requests()
                    .iter()
                    .filter(|r| r.path.ends_with("/Messages.json"))
                    .map(|r| {
                        let f = r.form();
                        (field(&f, "To").to_string(), field(&f, "Body").to_string())
                    })
                    .collect();
                (sent.len() >= OWNERS).then_some(sent)
            }
        })
        .await;
        for i in UNREACHABLE {
            wait_status(&api, &sms(i), "dead").await;
        }

        // owner-1 … 30: the link in the text.
        let client = reqwest::Client::new();
        for i in BY_LINK {
            wait_status(&api, &sms(i), "sent").await;
            let body = &texts[&phone(i)];
            let link = body
                .split_whitespace()
                .find(|w| w.starts_with(&format!("{PUBLIC_URL}/a/")))
                .unwrap_or_else(|| panic!("{b}: no link in {body}"));
            let path = link.strip_prefix(PUBLIC_URL).unwrap();
            let res = client
                .post(format!("{}{path}", server.base))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{b}");
            let ack: Value = res.json().await.unwrap();
            assert_eq!(ack["via"], "link", "{b}: {ack}");
        }

        // Delivery receipts for a few texts, signed as Twilio signs them.
        for i in DELIVERED {
            let n = wait_status(&api, &sms(i), "sent").await;
            let sid = n["provider_message_id"].as_str().unwrap().to_string();
            let path = format!("/hooks/twilio?tenant=default&n={}", sms(i));
            let to = phone(i);
            let delivered = [
                ("AccountSid", SID),
                ("MessageSid", sid.as_str()),
                ("MessageStatus", "delivered"),
                ("To", to.as_str()),
                ("From", OUR_NUMBER),
                ("ErrorCode", ""),
            ];
            let (s, text) = twilio_hook(&server.base, &path, TOKEN, &delivered, &delivered).await;
            assert_eq!(s, 200, "{b}: {text}");
        }

        // Fifteen minutes pass: everyone who has not confirmed is called.
        let (s, v) = clock
            .post("/v1/admin/clock", json!({"advance_ms": 16 * 60_000}))
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        let called = BY_VOICE.count() + (61..97).count();
        until("the calls", || {
            let twilio = &twilio;
            async move { (calls(twilio).len() >= called).then_some(()) }
        })
        .await;
        // owner-31 … 60 answer and press 1.
        for i in BY_VOICE {
            let id = voice(i);
            wait_status(&api, &id, "sent").await;
            let path = format!("/voice/twilio/{id}");
            let answered = [
                ("CallSid", "CA1"),
                ("AnsweredBy", "human"),
                ("CallStatus", "in-progress"),
            ];
            let (s, twiml) = page(&server.base, &path, TOKEN, &answered).await;
            assert_eq!(s, 200, "{b}: {twiml}");
            let press_one = [("CallSid", "CA1"), ("Digits", "1")];
            let (s, twiml) = page(&server.base, &format!("{path}?turn=1"), TOKEN, &press_one).await;
            assert_eq!(s, 200, "{b}: {twiml}");
        }
        // Nothing of the event is left to send.
        until("the event to settle", || {
            let api = &api;
            let event = &event;
            async move {
                let all = api.all_notifications(&format!("&event_id={event}")).await;
                all.iter()
                    .all(|n| {
                        !["scheduled", "queued", "sending"]
                            .contains(&n["status"].as_str().unwrap_or(""))
                    })
                    .then_some(())
            }
        })
        .await;

        // The proof.
        let (s, ct, bytes) = get_raw(&api, &format!("/v1/events/{event}/proof")).await;
        assert_eq!(s, 200, "{b}: {}", String::from_utf8_lossy(&bytes));
        assert!(ct.starts_with("application/json"), "{b}: {ct}");
        let text = String::from_utf8(bytes).unwrap();
        let proof: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(proof["event_id"], event.as_str(), "{b}");
        let owners = proof["owners"].as_array().unwrap();
        assert_eq!(owners.len(), OWNERS, "{b}: the team's alert is no owner");
        assert_eq!(
            (
                owners[1]["subscriber"].as_str(),
                owners[9]["subscriber"].as_str()
            ),
            (Some("owner-2"), Some("owner-10")),
            "{b}: in the order people read"
        );
        for i in 1..=OWNERS {
            let o = owner(&proof, &format!("owner-{i}"));
            let attempts = o["attempts"].as_array().unwrap();
            let on = |channel: &str| {
                attempts
                    .iter()
                    .filter(|a| a["channel"] == channel)
                    .cloned()
                    .collect::<Vec<_>>()
            };
            let text_attempt = on("sms");
            assert!(!text_attempt.is_empty(), "{b}: owner-{i}: {o}");
            assert_eq!(text_attempt[0]["provider"], "twilio", "{b}: {o}");
            assert!(
                text_attempt[0]["time"].as_str().unwrap().ends_with('Z'),
                "{b}: {o}"
            );
            let reason = o["reason"].as_str().unwrap_or("");
            if BY_LINK.contains(&i) {
                assert_eq!(o["acknowledged"]["via"], "link", "{b}: {o}");
                assert!(o["acknowledged"]["at"].is_string(), "{b}: {o}");
                assert!(o["reason"].is_null(), "{b}: {o}");
                assert!(on("voice").is_empty(), "{b}: never called: {o}");
            } else if BY_VOICE.contains(&i) {
                assert_eq!(o["acknowledged"]["via"], "voice", "{b}: {o}");
                assert_eq!(o["acknowledged"]["by"], "recipient (voice)", "{b}: {o}");
                let call = on("voice");
                assert_eq!(call.len(), 1, "{b}: {o}");
                assert!(
                    call[0]["provider_message_id"]
                        .as_str()
                        .unwrap()
                        .starts_with("CA"),
                    "{b}: {o}"
                );
            } else if UNREACHABLE.contains(&i) {
                assert!(o["acknowledged"].is_null(), "{b}: {o}");
                assert!(reason.starts_with("unreachable:"), "{b}: {o}");
                assert!(
                    text_attempt
                        .iter()
                        .all(|a| a["outcome"] != "sent" && a["http_status"] == 400),
                    "{b}: {o}"
                );
            } else {
                assert!(o["acknowledged"].is_null(), "{b}: {o}");
                assert!(
                    reason.starts_with("not acknowledged: reached by")
                        && reason.contains("sms at")
                        && reason.contains("voice at"),
                    "{b}: {o}"
                );
                assert_eq!(on("voice").len(), 1, "{b}: called once: {o}");
            }
            if !UNREACHABLE.contains(&i) {
                let sid = text_attempt[0]["provider_message_id"]
                    .as_str()
                    .unwrap_or("");
                assert!(sid.starts_with("SM"), "{b}: {o}");
                assert_eq!(on("email").len(), 1, "{b}: {o}");
            }
            let receipts = o["receipts"].as_array().unwrap();
            let delivered = receipts.iter().any(|r| {
                r["kind"] == "delivered" && r["channel"] == "sms" && r["provider"] == "twilio"
            });
            assert_eq!(delivered, DELIVERED.contains(&i), "{b}: owner-{i}: {o}");
        }
        assert_eq!(
            proof["totals"],
            json!({"reached": 96, "acknowledged": 60, "unreachable": 4}),
            "{b}"
        );
        let sig = &proof["signature"];
        assert_eq!(sig["algorithm"], "Ed25519", "{b}");
        let key_id = sig["key_id"].as_str().unwrap().to_string();

        // Offline verification, with and without the pinned key.
        let (s, published) = api.get("/v1/proof/public-key").await;
        assert_eq!(s, 200, "{b}: {published}");
        assert_eq!(published["key_id"], key_id.as_str(), "{b}");
        let public = published["public_key"].as_str().unwrap().to_string();
        let file = env.path().join("proof.json");
        std::fs::write(&file, &text).unwrap();
        let file = file.to_str().unwrap().to_string();
        let (code, out, err) = env.run(&["proof", "verify", &file]).await;
        assert_eq!(code, 0, "{b}: {out}{err}");
        assert!(
            out.contains(&key_id) && out.contains("96 reached"),
            "{b}: {out}"
        );
        let (code, out, err) = env
            .run(&["proof", "verify", &file, "--public-key", &public])
            .await;
        assert_eq!(code, 0, "{b}: {out}{err}");
        let (code, out, _) = env
            .run(&["proof", "verify", &file, "--json", "--public-key", &public])
            .await;
        assert_eq!(code, 0, "{b}");
        let report: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(report["totals"]["acknowledged"], 60, "{b}: {report}");

        // One byte changed: refused, whichever byte.
        for (from, to) in [
            ("\"acknowledged\":60", "\"acknowledged\":61"),
            ("\"via\":\"link\"", "\"via\":\"lino\""),
        ] {
            assert_eq!(from.len(), to.len());
            let changed = text.replacen(from, to, 1);
            assert_ne!(changed, text, "{b}: {from} is in the export");
            let bad = env.path().join("changed.json");
            std::fs::write(&bad, &changed).unwrap();
            let (code, out, err) = env.run(&["proof", "verify", bad.to_str().unwrap()]).await;
            assert_eq!(code, 1, "{b}: {from}: {out}{err}");
            assert!(err.contains("does not verify"), "{b}: {err}");
            let (code, out, _) = env
                .run(&["proof", "verify", bad.to_str().unwrap(), "--json"])
                .await;
            assert_eq!(code, 1, "{b}");
            let report: Value = serde_json::from_str(out.trim()).unwrap();
            assert_eq!(report["ok"], false, "{b}: {report}");
            assert!(
                report["reason"].as_str().unwrap().contains("signature"),
                "{b}: {report}"
            );
        }
        // Signed by this tenant, not by the key another tenant publishes.
        let (_, other_key) = tenant_with_key(&env, "Other Marine").await;
        let other = Api::new(&server.base, &other_key);
        let (s, theirs) = other.get("/v1/proof/public-key").await;
        assert_eq!(s, 200, "{b}");
        assert_ne!(theirs["public_key"], published["public_key"], "{b}");
        let (code, _, err) = env
            .run(&[
                "proof",
                "verify",
                &file,
                "--public-key",
                theirs["public_key"].as_str().unwrap(),
            ])
            .await;
        assert_eq!(code, 1, "{b}: {err}");
        assert!(err.contains("pinned key"), "{b}: {err}");
        // Misuse.
        let (code, _, _) = env.run(&["proof", "verify"]).await;
        assert_eq!(code, 2, "{b}");
        let (code, _, _) = env
            .run(&["proof", "verify", &file, "--public-key", "short"])
            .await;
        assert_eq!(code, 2, "{b}");
        // Another tenant's key finds no such event.
        let (s, problem) = other.get(&format!("/v1/events/{event}/proof")).await;
        assert_eq!(s, 404, "{b}: {problem}");
        assert_eq!(problem["type"], "urn:foghorn:problem:not-found", "{b}");

        // Anchored: the audit row holds the document's digest, no names,
        // and the chain still verifies.
        let (s, audit) = api.get("/v1/audit?limit=500").await;
        assert_eq!(s, 200, "{b}: {audit}");
        let row = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["action"] == "proof.export" && r["seq"] == proof["anchor"]["audit_seq"])
            .unwrap_or_else(|| panic!("{b}: no proof.export row: {audit}"))
            .clone();
        assert_eq!(row["target"], event.as_str(), "{b}");
        assert_eq!(
            row["detail"]["document_sha256"], proof["anchor"]["document_sha256"],
            "{b}: {row}"
        );
        assert!(!row["detail"].to_string().contains("owner-"), "{b}: {row}");
        assert!(audit["chain"]["ok"].as_bool().unwrap(), "{b}: {audit}");

        // The CLI exports the same proof from the database.
        let cli_file = env.path().join("cli-proof.json");
        let cli_path = cli_file.to_str().unwrap().to_string();
        let (code, _, err) = env.run(&["proof", &event, "--output", &cli_path]).await;
        assert_eq!(code, 0, "{b}: {err}");
        let (code, out, err) = env
            .run(&["proof", "verify", &cli_path, "--public-key", &public])
            .await;
        assert_eq!(code, 0, "{b}: {out}{err}");
        let cli_pdf = env.path().join("proof.pdf");
        let (code, _, err) = env
            .run(&[
                "proof",
                &event,
                "--format",
                "pdf",
                "--output",
                cli_pdf.to_str().unwrap(),
            ])
            .await;
        assert_eq!(code, 0, "{b}: {err}");
        assert!(
            std::fs::read(&cli_pdf).unwrap().starts_with(b"%PDF-"),
            "{b}"
        );
        let (code, html, err) = env.run(&["proof", &event, "--format", "html"]).await;
        assert_eq!(code, 0, "{b}: {err}");
        assert!(html.contains("<h2>owner-100</h2>"), "{b}");
        let (code, _, err) = env.run(&["proof", &event, "--tenant", "nobody"]).await;
        assert_eq!(code, 1, "{b}: {err}");
        let (code, out, err) = env.run(&["audit", "verify"]).await;
        assert_eq!(code, 0, "{b}: {out}{err}");

        // Printable.
        let (s, ct, html) = get_raw(&api, &format!("/v1/events/{event}/proof?format=html")).await;
        assert_eq!(s, 200, "{b}");
        assert!(ct.starts_with("text/html"), "{b}: {ct}");
        let html = String::from_utf8(html).unwrap();
        for id in &ids {
            assert!(html.contains(&format!("<h2>{id}</h2>")), "{b}: {id}");
        }
        assert!(html.contains(&key_id) && html.contains(&event), "{b}");
        let (s, ct, pdf) = get_raw(&api, &format!("/v1/events/{event}/proof?format=pdf")).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(ct, "application/pdf", "{b}");
        assert!(pdf.starts_with(b"%PDF-"), "{b}");
        assert!(
            String::from_utf8_lossy(&pdf).trim_end().ends_with("%%EOF"),
            "{b}"
        );
        let (s, problem) = api
            .get(&format!("/v1/events/{event}/proof?format=docx"))
            .await;
        assert_eq!(s, 422, "{b}: {problem}");
        assert_eq!(problem["field"], "format", "{b}: {problem}");
        server.stop().await;
    }
}
