//! Delivery through the real binary: crash, outage, dead letters, failover,
//! fallback, scheduling and cancellation — on SQLite and PostgreSQL.

use crate::common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn ping(i: usize) -> Value {
    json!({"name": "hook.ping", "data": {"n": i}})
}

/// ≥ 2,000 events queued, the server SIGKILLed mid-run and restarted: every
/// notification reaches the sink; duplicates are only jobs in flight at the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_loses_nothing_and_repeats_only_in_flight_jobs() {
    const EVENTS: usize = 2_000;
    const WORKERS: usize = 16;
    for env in envs().await {
        let sink = Sink::start().await;
        sink.set_delay(5);
        webhook_provider(&env, "");
        hook_workflow(&env, "hook.ping", &format!("{}/hook", sink.url));
        let key = env.key("admin").await;
        let workers = WORKERS.to_string();
        let settings = [("FOGHORN_DELIVERY__WORKERS", workers.as_str())];
        let mut server = Server::start(&env, "all", &settings).await;
        let api = Api::new(&server.base, &key);
        let answers = post_many(&api, EVENTS, 32, ping).await;
        assert!(
            answers.iter().all(|(s, _)| *s == 202),
            "{}: every event accepted",
            env.backend()
        );
        // Kill it while deliveries are under way.
        sink.wait_for(EVENTS / 5, Duration::from_secs(60)).await;
        server.kill9().await;
        let (before, _) = sink.counts();
        assert!(
            before < EVENTS,
            "{}: the kill came too late to prove anything",
            env.backend()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let server = Server::start(&env, "all", &settings).await;
        sink.wait_for(EVENTS, Duration::from_secs(120)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (distinct, total) = sink.counts();
        assert_eq!(
            distinct,
            EVENTS,
            "{}: every notification delivered",
            env.backend()
        );
        let duplicates = total - distinct;
        assert!(
            duplicates <= WORKERS,
            "{}: {duplicates} duplicates, but at most {WORKERS} jobs were in flight",
            env.backend()
        );
        let api = Api::new(&server.base, &key);
        api.wait_for_status("sent", EVENTS, Duration::from_secs(30))
            .await;
        eprintln!(
            "{}: delivered {before} before the kill, {duplicates} duplicate(s) after restart",
            env.backend()
        );
        server.stop().await;
    }
}

/// A node that stops gives back the jobs it had claimed ahead of its free
/// slots: the next node sends them at once, not when their lease would have
/// ended, and nothing is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopping_node_gives_back_the_jobs_it_claimed_but_did_not_start() {
    const EVENTS: usize = 40;
    for env in envs().await {
        let sink = Sink::start().await;
        sink.set_delay(200);
        webhook_provider(&env, "");
        hook_workflow(&env, "hook.ping", &format!("{}/hook", sink.url));
        let key = env.key("admin").await;
        // Two slots, a batch of 50 and a lease far longer than the test.
        let settings = [
            ("FOGHORN_DELIVERY__WORKERS", "2"),
            ("FOGHORN_DELIVERY__CLAIM_BATCH", "50"),
            ("FOGHORN_DELIVERY__LEASE", "10m"),
        ];
        let server = Server::start(&env, "all", &settings).await;
        let api = Api::new(&server.base, &key);
        let answers = post_many(&api, EVENTS, 8, ping).await;
        assert!(answers.iter().all(|(s, _)| *s == 202));
        sink.wait_for(1, Duration::from_secs(30)).await;
        assert_eq!(server.stop().await, 0, "{}: a clean stop", env.backend());
        let (before, _) = sink.counts();
        assert!(
            before < EVENTS,
            "{}: the stop came too late to prove anything",
            env.backend()
        );
        sink.set_delay(0);
        let server = Server::start(&env, "all", &settings).await;
        // Well inside the ten-minute lease.
        sink.wait_for(EVENTS, Duration::from_secs(60)).await;
        let (distinct, total) = sink.counts();
        assert_eq!(distinct, EVENTS, "{}", env.backend());
        assert_eq!(total, EVENTS, "{}: nothing sent twice", env.backend());
        server.stop().await;
    }
}

/// The sink answers 503 for a while, then recovers: retries deliver everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_is_ridden_out_by_retries() {
    for env in envs().await {
        let sink = Sink::start().await;
        sink.set_status(503);
        webhook_provider(&env, "");
        hook_workflow(&env, "hook.ping", &format!("{}/hook", sink.url));
        let key = env.key("admin").await;
        let server =
            Server::start(&env, "all", &[("FOGHORN_DELIVERY__MAX_ATTEMPTS", "1000")]).await;
        let api = Api::new(&server.base, &key);
        let answers = post_many(&api, 50, 10, ping).await;
        assert!(answers.iter().all(|(s, _)| *s == 202));
        // Wait until the outage has been felt for a while (the circuit
        // breaker then holds most sends back, so not every id is tried).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while sink.requests().iter().filter(|r| r.2 == 503).count() < 20 {
            assert!(
                std::time::Instant::now() < deadline,
                "{}: the outage was not hit",
                env.backend()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(sink.counts().0, 0);
        sink.set_status(OK);
        sink.wait_for(50, Duration::from_secs(60)).await;
        api.wait_for_status("sent", 50, Duration::from_secs(10))
            .await;
        // The first notification sent met the outage at least once.
        let first_hit = sink
            .requests()
            .iter()
            .find(|r| r.2 == 503)
            .map(|r| r.1.clone())
            .unwrap();
        let (_, detail) = api.get(&format!("/v1/notifications/{first_hit}")).await;
        let attempts = detail["attempts"].as_array().unwrap();
        assert!(attempts.len() >= 2, "{}: {detail}", env.backend());
        assert_eq!(attempts[0]["http_status"], 503);
        assert_eq!(attempts[0]["outcome"], "retryable");
        assert_eq!(attempts.last().unwrap()["outcome"], "sent");
        server.stop().await;
    }
}

/// A sink that never recovers: notifications end in the dead-letter queue;
/// a replay delivers them once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_sink_fills_the_dlq_and_replay_delivers() {
    for env in envs().await {
        let sink = Sink::start().await;
        sink.set_status(503);
        webhook_provider(&env, "");
        hook_workflow(&env, "hook.ping", &format!("{}/hook", sink.url));
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[("FOGHORN_DELIVERY__MAX_ATTEMPTS", "3")]).await;
        let api = Api::new(&server.base, &key);
        for i in 0..5 {
            assert_eq!(api.post("/v1/events", ping(i)).await.0, 202);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let dead = loop {
            let (_, v) = api.get("/v1/dlq").await;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            if items.len() == 5 {
                break items;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: not all dead: {v}",
                env.backend()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(
            dead.iter().all(|n| n["attempt_count"] == 3),
            "{}: {dead:?}",
            env.backend()
        );
        assert_eq!(sink.counts().0, 0);
        sink.set_status(OK);
        // One through the API, the rest through the CLI.
        let first = dead[0]["id"].as_str().unwrap();
        let (s, v) = api
            .post(&format!("/v1/dlq/{first}/replay"), json!({}))
            .await;
        assert_eq!((s, v["status"].as_str()), (202, Some("queued")));
        let (s, _) = api
            .post(&format!("/v1/dlq/{first}/replay"), json!({}))
            .await;
        assert_eq!(s, 404, "only dead notifications replay");
        let (code, out, err) = env.run(&["dlq", "replay", "--all"]).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("replayed 4"), "{out}");
        sink.wait_for(5, Duration::from_secs(30)).await;
        let (_, v) = api.get("/v1/dlq").await;
        assert_eq!(v["items"].as_array().map(Vec::len), Some(0));
        server.stop().await;
    }
}

/// A primary provider that fails permanently moves sends to the secondary;
/// a channel with nothing left falls back to the workflow's fallback channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn permanent_failures_fail_over_to_the_next_provider_then_the_fallback_channel() {
    for env in envs().await {
        let sink = Sink::start().await;
        sink.set_path_status("/primary", 400);
        sink.set_path_status("/email-relay", 400);
        env.write(
            "foghorn.toml",
            &format!(
                "[providers.primary]\nkind = \"webhook\"\nurl = \"{u}/primary\"\n\
                 [providers.secondary]\nkind = \"webhook\"\nurl = \"{u}/secondary\"\n\
                 [providers.email_relay]\nkind = \"webhook\"\nurl = \"{u}/email-relay\"\nchannels = [\"email\"]\n\
                 [channels.sms]\nproviders = [\"primary\", \"secondary\"]\n\
                 [channels.email]\nproviders = [\"email_relay\"]\n",
                u = sink.url
            ),
        );
        env.write(
            "workflows/boat.alert.toml",
            "name = \"boat.alert\"\n[[steps]]\nchannel = \"email\"\nsubject = \"Alert for {{ data.boat }}\"\ntext = \"Check {{ data.boat }}\"\nfallback = \"sms\"\n",
        );
        env.write(
            "workflows/boat.text.toml",
            "name = \"boat.text\"\n[[steps]]\nchannel = \"sms\"\ntext = \"NaviDocs: check {{ data.boat }}\"\n",
        );
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let to = json!([{"id": "owner-1", "email": "owner@example.com", "phone": "+12025550142"}]);
        let (s, accepted) = api
            .post(
                "/v1/events",
                json!({"name": "boat.text", "to": to, "data": {"boat": "Jeanneau 51"}}),
            )
            .await;
        assert_eq!(s, 202, "{accepted}");
        let (s, alert) = api
            .post(
                "/v1/events",
                json!({"name": "boat.alert", "to": to, "data": {"boat": "Jeanneau 51"}}),
            )
            .await;
        assert_eq!(s, 202, "{alert}");
        sink.wait_for(2, Duration::from_secs(30)).await;
        api.wait_for_status("sent", 2, Duration::from_secs(10))
            .await;
        let sms_id = accepted["notifications"][0]["id"].as_str().unwrap();
        let (_, n) = api.get(&format!("/v1/notifications/{sms_id}")).await;
        assert_eq!(n["status"], "sent", "{}: {n}", env.backend());
        assert_eq!(n["provider"], "secondary");
        let attempts = n["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2);
        assert_eq!(
            (
                attempts[0]["provider"].as_str(),
                attempts[0]["outcome"].as_str()
            ),
            (Some("primary"), Some("permanent"))
        );
        assert_eq!(attempts[1]["provider"], "secondary");
        // The email channel had one provider and it failed: continued on SMS.
        let email_id = alert["notifications"][0]["id"].as_str().unwrap();
        let (_, email) = api.get(&format!("/v1/notifications/{email_id}")).await;
        assert_eq!(email["status"], "failed", "{email}");
        let children = api
            .all_notifications(&format!(
                "&event_id={}",
                alert["event_id"].as_str().unwrap()
            ))
            .await;
        let fallback = children
            .iter()
            .find(|c| c["parent_id"] == email_id)
            .expect("a fallback notification");
        assert_eq!(
            (fallback["channel"].as_str(), fallback["status"].as_str()),
            (Some("sms"), Some("sent"))
        );
        let secondary_bodies: Vec<_> = sink
            .requests()
            .into_iter()
            .filter(|r| r.0 == "/secondary" && r.2 == 204)
            .collect();
        assert!(
            secondary_bodies
                .iter()
                .any(|r| r.3.contains("Check Jeanneau 51")),
            "the SMS fallback used the step's text"
        );
        server.stop().await;
    }
}

/// Scheduled sends wait for their time; cancellation by idempotency key or
/// grouping key stops pending ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_sends_wait_and_can_be_cancelled() {
    for env in envs().await {
        let sink = Sink::start().await;
        webhook_provider(&env, "");
        hook_workflow(&env, "hook.ping", &format!("{}/hook", sink.url));
        let key = env.key("admin").await;
        let server = Server::start(&env, "all", &[]).await;
        let api = Api::new(&server.base, &key);
        let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
        let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let (s, a) = api
            .post(
                "/v1/events",
                json!({"name": "hook.ping", "send_at": soon, "idempotency_key": "a"}),
            )
            .await;
        assert_eq!(s, 202);
        assert_eq!(a["notifications"][0]["status"], "scheduled");
        api.post(
            "/v1/events",
            json!({"name": "hook.ping", "send_at": later, "idempotency_key": "b"}),
        )
        .await;
        api.post(
            "/v1/events",
            json!({"name": "hook.ping", "send_at": later, "grouping_key": "warranty-9"}),
        )
        .await;
        api.post(
            "/v1/events",
            json!({"name": "hook.ping", "send_at": later, "grouping_key": "warranty-9"}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            sink.counts().0,
            0,
            "{}: sent before its time",
            env.backend()
        );
        sink.wait_for(1, Duration::from_secs(10)).await;
        api.wait_for_status("sent", 1, Duration::from_secs(10))
            .await;
        let (s, c) = api
            .post("/v1/cancellations", json!({"idempotency_key": "b"}))
            .await;
        assert_eq!((s, c["cancelled"].as_array().map(Vec::len)), (200, Some(1)));
        let (_, c) = api
            .post("/v1/cancellations", json!({"grouping_key": "warranty-9"}))
            .await;
        assert_eq!(c["cancelled"].as_array().map(Vec::len), Some(2));
        let (_, c) = api
            .post("/v1/cancellations", json!({"idempotency_key": "a"}))
            .await;
        assert_eq!(
            c["cancelled"].as_array().map(Vec::len),
            Some(0),
            "already sent"
        );
        let (s, _) = api.post("/v1/cancellations", json!({})).await;
        assert_eq!(s, 422);
        assert_eq!(api.all_notifications("&status=cancelled").await.len(), 3);
        server.stop().await;
    }
}
