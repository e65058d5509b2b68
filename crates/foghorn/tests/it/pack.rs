//! The NaviDocs pack's timing, end to end through the binary with the dev
//! clock: a warranty's reminder series planned, moved and cancelled with
//! the exact sends each time, and document uploads digested per boat,
//! including an upload that arrives while its digest is being sent.

use crate::common::*;
use crate::mock_providers::provider_table;
use foghorn_testkit::providers::mailgun_queued;
use foghorn_testkit::providers::Kind;
use foghorn_testkit::MockServer;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// Starts a server on the dev clock, set to `at`.
async fn clocked(env: &Env, at: &str, extra: &[(&str, &str)]) -> (Server, Api, Api) {
    let mut all = vec![("FOGHORN_DEV__CLOCK", "true")];
    all.extend_from_slice(extra);
    let server = Server::start(env, "all", &all).await;
    let admin = Api::new(&server.base, &env.key("admin").await);
    let operator = Api::new(&server.base, &env.key("operator").await);
    set_clock(&operator, at).await;
    (server, admin, operator)
}

async fn set_clock(operator: &Api, at: &str) {
    let (s, v) = operator.post("/v1/admin/clock", json!({"to": at})).await;
    assert_eq!(s, 200, "{v}");
}

/// The event's notifications to people: (channel, reminder, status, send_at).
fn planned(answer: &Value) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = answer["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["channel"] == "email" || n["channel"] == "sms")
        .map(|n| {
            let s = |k: &str| n[k].as_str().unwrap_or_default().to_string();
            (s("channel"), s("reminder"), s("status"), s("send_at"))
        })
        .collect();
    out.sort();
    out
}

/// The sandbox's messages of `channel` to the owner, oldest first.
async fn sent(api: &Api, channel: &str) -> Vec<Value> {
    let mut m: Vec<Value> = inbox(api)
        .await
        .into_iter()
        .filter(|m| m["channel"] == channel)
        .collect();
    m.reverse();
    m
}

/// Waits until the sandbox holds `n` messages of `channel`, and a moment
/// more to see that no other follows.
async fn wait_sent(api: &Api, channel: &str, n: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let m = sent(api, channel).await;
        assert!(m.len() <= n, "more than {n} {channel} messages: {m:?}");
        if m.len() == n {
            tokio::time::sleep(Duration::from_millis(400)).await;
            let again = sent(api, channel).await;
            assert_eq!(again.len(), n, "{again:?}");
            return again;
        }
        assert!(
            start.elapsed() < WAIT,
            "{} of {n} {channel} messages",
            m.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn text_of(m: &Value) -> String {
    m["content"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_warranty_series_is_planned_moved_and_cancelled_with_the_exact_sends() {
    for env in envs().await {
        let b = env.backend();
        let (server, api, operator) = clocked(&env, "2027-01-01T08:00:00Z", &[]).await;
        // Paris: 10:00 is 09:00 UTC in winter, 08:00 UTC in summer.
        put_subscriber(
            &api,
            "owner-1",
            json!({"email": "ana@example.com", "phone": "+33612345678", "timezone": "Europe/Paris"}),
        )
        .await;
        let warranty = |expires_on: &str| {
            json!({"name": "warranty.expiring", "to": ["owner-1"], "grouping_key": "warranty:W-17",
                   "data": {"boat": "Jeanneau 51", "title": "Engine warranty", "expires_on": expires_on}})
        };
        let (s, first) = api.post("/v1/events", warranty("2027-06-30")).await;
        assert_eq!(s, 202, "{b}: {first}");
        let sched = |c: &str, r: &str, at: &str| {
            (
                c.to_string(),
                r.to_string(),
                "scheduled".to_string(),
                at.to_string(),
            )
        };
        assert_eq!(
            planned(&first),
            vec![
                sched("email", "-30d", "2027-05-31T08:00:00Z"),
                sched("email", "-7d", "2027-06-23T08:00:00Z"),
                sched("email", "-90d", "2027-04-01T08:00:00Z"),
                sched("sms", "-7d", "2027-06-23T08:00:00Z"),
            ],
            "{b}: {first}"
        );
        // Visible in the API as scheduled notifications.
        let event = first["event_id"].as_str().unwrap();
        let listed = api
            .all_notifications(&format!("&event_id={event}&status=scheduled"))
            .await;
        assert_eq!(listed.len(), 4, "{b}: {listed:?}");

        // T-90 goes out at its time, reading 90 days left; nothing else.
        set_clock(&operator, "2027-04-01T08:00:01Z").await;
        let mails = wait_sent(&api, "email", 1).await;
        assert!(
            text_of(&mails[0]).contains("90 days left"),
            "{b}: {}",
            text_of(&mails[0])
        );

        // The date moves to 31 August: -30d and -7d are re-planned; -90d,
        // sent, is not sent again though its new date is still ahead.
        let (s, moved) = api.post("/v1/events", warranty("2027-08-31")).await;
        assert_eq!(s, 202, "{b}: {moved}");
        assert_eq!(
            planned(&moved),
            vec![
                sched("email", "-30d", "2027-08-01T08:00:00Z"),
                sched("email", "-7d", "2027-08-24T08:00:00Z"),
                sched("sms", "-7d", "2027-08-24T08:00:00Z"),
            ],
            "{b}: {moved}"
        );
        let old = api
            .all_notifications(&format!("&event_id={event}&status=cancelled"))
            .await;
        assert_eq!(old.len(), 3, "{b}: {old:?}");
        assert!(old.iter().all(|n| n["status_reason"]
            .as_str()
            .unwrap()
            .starts_with("re-planned by event")));
        // The old dates pass: nothing.
        set_clock(&operator, "2027-06-23T08:00:01Z").await;
        wait_sent(&api, "email", 1).await;
        set_clock(&operator, "2027-08-01T08:00:01Z").await;
        let mails = wait_sent(&api, "email", 2).await;
        assert!(text_of(&mails[1]).contains("30 days left"), "{b}");

        // Renewed: what is left is cancelled and never sent.
        let (s, v) = api
            .post(
                "/v1/events",
                json!({"name": "warranty.renewed", "grouping_key": "warranty:W-17"}),
            )
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        let moved_id = moved["event_id"].as_str().unwrap();
        let left = api
            .all_notifications(&format!("&event_id={moved_id}&status=cancelled"))
            .await;
        assert_eq!(left.len(), 2, "{b}: {left:?}");
        set_clock(&operator, "2027-09-01T08:00:00Z").await;
        wait_sent(&api, "email", 2).await;
        wait_sent(&api, "sms", 0).await;
        // A renewal needs the key of what it cancels.
        let (s, v) = api
            .post("/v1/events", json!({"name": "warranty.renewed"}))
            .await;
        assert_eq!(
            (s, v["field"].as_str()),
            (422, Some("grouping_key")),
            "{b}: {v}"
        );

        // A warranty ending in 12 days: -90d and -30d have passed and are
        // skipped, not sent late; -7d is planned; quiet hours move it.
        let (s, v) = api
            .put(
                "/v1/preferences/quiet-hours",
                json!({"quiet_hours": {"start": "08:00", "end": "12:00"}, "timezone": "Europe/Paris"}),
            )
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        put_subscriber(
            &api,
            "owner-2",
            json!({"email": "bo@example.com", "phone": "+12025550142", "timezone": "America/New_York"}),
        )
        .await;
        let (s, late) = api
            .post("/v1/events", json!({"name": "warranty.expiring", "to": ["owner-2"], "grouping_key": "warranty:W-18",
                   "data": {"boat": "Bavaria 46", "title": "Hull warranty", "expires_on": "2027-09-13"}}))
            .await;
        assert_eq!(s, 202, "{b}: {late}");
        assert_eq!(
            planned(&late),
            vec![
                sched("email", "-7d", "2027-09-06T16:00:00Z"),
                sched("sms", "-7d", "2027-09-06T16:00:00Z"),
            ],
            "{b}: 12:00 in New York, the end of the quiet hours: {late}"
        );
        let skipped: Vec<&str> = late["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["reminder"].as_str().unwrap())
            .collect();
        assert_eq!(skipped, ["-90d", "-30d"], "{b}: {late}");
        // Without a date there is no series.
        let (s, v) = api
            .post("/v1/events", json!({"name": "warranty.expiring", "to": ["owner-2"], "grouping_key": "warranty:W-19", "data": {"boat": "x"}}))
            .await;
        assert_eq!(
            (s, v["field"].as_str()),
            (422, Some("data.expires_on")),
            "{b}: {v}"
        );
        server.stop().await;
    }
}

fn upload(boat: &str, n: usize) -> Value {
    json!({"name": "document.uploaded", "to": ["owner-1"],
           "data": {"boat_id": boat, "boat": format!("Boat {boat}"), "title": format!("{boat} document {n:02}"),
                    "uploaded_by": "Marina mechanic"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_uploads_for_one_boat_make_one_digest_and_boats_never_share_one() {
    for env in envs().await {
        let b = env.backend();
        let (server, api, operator) = clocked(&env, "2027-03-01T12:00:00Z", &[]).await;
        put_subscriber(&api, "owner-1", json!({"email": "ana@example.com"})).await;
        let mut ids = std::collections::BTreeSet::new();
        for n in 0..20 {
            let (s, v) = api.post("/v1/events", upload("B-1", n)).await;
            assert_eq!(s, 202, "{b}: {v}");
            ids.insert(v["notifications"][0]["id"].as_str().unwrap().to_string());
            if n % 4 == 0 {
                let (s, v) = api.post("/v1/events", upload("B-2", n)).await;
                assert_eq!(s, 202, "{b}: {v}");
            }
            // Twenty uploads over ten minutes.
            let (s, _) = operator
                .post("/v1/admin/clock", json!({"advance_ms": 30_000}))
                .await;
            assert_eq!(s, 200);
        }
        assert_eq!(
            ids.len(),
            1,
            "{b}: every upload of B-1 joins the one digest"
        );
        let digest = wait_status(&api, ids.first().unwrap(), "scheduled").await;
        assert!(
            digest["status_reason"]
                .as_str()
                .unwrap()
                .starts_with("digest: collecting until 2027-03-01T12:30:00"),
            "{b}: {digest}"
        );
        // Nothing before the window closes, 30 minutes after the first.
        set_clock(&operator, "2027-03-01T12:29:00Z").await;
        wait_sent(&api, "email", 0).await;
        set_clock(&operator, "2027-03-01T12:30:01Z").await;
        let mails = wait_sent(&api, "email", 2).await;
        let one = mails
            .iter()
            .find(|m| text_of(m).contains("B-1 document"))
            .unwrap();
        let two = mails
            .iter()
            .find(|m| text_of(m).contains("B-2 document"))
            .unwrap();
        assert_eq!(
            one["content"]["subject"], "20 new documents for Boat B-1",
            "{b}: {one}"
        );
        for n in 0..20 {
            assert!(
                text_of(one).contains(&format!("B-1 document {n:02}")),
                "{b}: {n}"
            );
        }
        assert!(
            !text_of(one).contains("B-2"),
            "{b}: boats never share a digest"
        );
        assert_eq!(
            two["content"]["subject"], "5 new documents for Boat B-2",
            "{b}: {two}"
        );
        assert!(!text_of(two).contains("B-1"), "{b}");
        // The same upload again within the hour is a duplicate.
        let (s, v) = api.post("/v1/events", upload("B-3", 1)).await;
        assert_eq!(s, 202, "{b}: {v}");
        let (s, again) = api.post("/v1/events", upload("B-3", 1)).await;
        assert_eq!(s, 202, "{b}: {again}");
        let n = &again["notifications"][0];
        assert_eq!(
            n["id"], v["notifications"][0]["id"],
            "{b}: one digest: {again}"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_that_arrives_while_its_digest_is_sent_is_in_exactly_one_digest() {
    for env in envs().await {
        let b = env.backend();
        // Mailgun holds its answer to the first digest for two seconds.
        let arrived = Arc::new(AtomicBool::new(false));
        let seen = arrived.clone();
        let mailgun = MockServer::start(move |r| {
            if r.n == 1 {
                seen.store(true, Ordering::SeqCst);
                mailgun_queued(r.n, r.path).after(Duration::from_secs(2))
            } else {
                mailgun_queued(r.n, r.path)
            }
        })
        .await;
        env.write("foghorn.toml", &provider_table(Kind::Mailgun, &mailgun.url));
        let (server, api, operator) = clocked(
            &env,
            "2027-03-01T12:00:00Z",
            &[
                ("FOGHORN_DELIVERY__SEND_TIMEOUT", "10s"),
                ("FOGHORN_DELIVERY__LEASE", "20s"),
            ],
        )
        .await;
        put_subscriber(&api, "owner-1", json!({"email": "ana@example.com"})).await;
        for n in 0..3 {
            let (s, v) = api.post("/v1/events", upload("B-1", n)).await;
            assert_eq!(s, 202, "{b}: {v}");
        }
        set_clock(&operator, "2027-03-01T12:30:01Z").await;
        let start = Instant::now();
        while !arrived.load(Ordering::SeqCst) {
            assert!(start.elapsed() < WAIT, "{b}: the digest was never sent");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Mid-send: this upload starts the next digest.
        let (s, late) = api.post("/v1/events", upload("B-1", 3)).await;
        assert_eq!(s, 202, "{b}: {late}");
        let next = late["notifications"][0]["id"].as_str().unwrap().to_string();
        let next_n = notification(&api, &next).await;
        assert_eq!(next_n["status"], "scheduled", "{b}: {next_n}");
        set_clock(&operator, "2027-03-01T13:01:00Z").await;
        wait_status(&api, &next, "sent").await;
        let start = Instant::now();
        let texts = loop {
            let texts: Vec<String> = mailgun
                .requests()
                .iter()
                .map(|r| r.field("text").unwrap_or_default())
                .collect();
            if texts.len() >= 2 {
                break texts;
            }
            assert!(start.elapsed() < WAIT, "{b}: {texts:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(texts.len(), 2, "{b}: {texts:?}");
        let first = texts
            .iter()
            .find(|t| t.contains("B-1 document 00"))
            .unwrap();
        let second = texts
            .iter()
            .find(|t| !t.contains("B-1 document 00"))
            .unwrap();
        for n in 0..3 {
            assert!(
                first.contains(&format!("B-1 document {n:02}")),
                "{b}: {first}"
            );
        }
        assert!(!first.contains("B-1 document 03"), "{b}: {first}");
        assert!(second.contains("B-1 document 03"), "{b}: {second}");
        for n in 0..3 {
            assert!(
                !second.contains(&format!("B-1 document {n:02}")),
                "{b}: {second}"
            );
        }
        server.stop().await;
    }
}

/// Sent, or on its way (queued, or already handed to a worker).
fn went(n: &Value) -> bool {
    ["queued", "sending", "sent"].contains(&n["status"].as_str().unwrap_or_default())
}

async fn filing(api: &Api, to: &str, title: &str) -> Value {
    let (s, v) = api
        .post(
            "/v1/events",
            json!({"name": "document.received", "to": [to],
               "data": {"boat": "Jeanneau 51", "title": title, "sender": "Solent Marine Surveys"}}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let id = v["notifications"][0]["id"].as_str().unwrap().to_string();
    notification(api, &id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_alerts_are_suppressed_as_duplicates_and_throttles_hold_the_rest() {
    for env in envs().await {
        let b = env.backend();
        let (server, api, operator) = clocked(&env, "2027-03-01T12:00:00Z", &[]).await;
        put_subscriber(&api, "owner-1", json!({"email": "ana@example.com"})).await;
        put_subscriber(&api, "owner-2", json!({"email": "bo@example.com"})).await;
        let first = filing(&api, "owner-1", "Survey").await;
        assert!(went(&first), "{b}: {first}");
        let again = filing(&api, "owner-1", "Survey").await;
        assert_eq!(again["status"], "suppressed", "{b}: {again}");
        assert_eq!(
            again["status_reason"],
            format!(
                "duplicate of {}: the same alert inside 1h",
                first["id"].as_str().unwrap()
            ),
            "{b}"
        );
        // Another document, or another owner, is not the same alert.
        assert!(went(&filing(&api, "owner-1", "Insurance").await), "{b}");
        assert!(went(&filing(&api, "owner-2", "Survey").await), "{b}");
        // An hour later the same filing is news again.
        set_clock(&operator, "2027-03-01T13:00:01Z").await;
        assert!(went(&filing(&api, "owner-1", "Survey").await), "{b}");
        // Three went out to owner-1 today; seven more reach the throttle's
        // ten, the eleventh is held back; owner-2 is counted apart.
        for n in 0..7 {
            let f = filing(&api, "owner-1", &format!("Invoice {n}")).await;
            assert!(went(&f), "{b}: {f}");
        }
        let over = filing(&api, "owner-1", "Invoice 7").await;
        assert_eq!(
            (over["status"].as_str(), over["status_reason"].as_str()),
            (
                Some("suppressed"),
                Some("throttled: at most 10 documents notifications per subscriber per 1d")
            ),
            "{b}: {over}"
        );
        assert!(went(&filing(&api, "owner-2", "Invoice 7").await), "{b}");
        set_clock(&operator, "2027-03-02T13:00:02Z").await;
        assert!(went(&filing(&api, "owner-1", "Invoice 8").await), "{b}");

        // A tenant's own workflow with a throttle for the whole tenant.
        let custom = json!({"name": "fleet.alert", "category": "fleet",
            "throttle": [{"per": "tenant", "max": 2, "window": "1h"}],
            "steps": [{"channel": "email", "subject": "Fleet: {{ data.what }}", "text": "{{ data.what }}"}]});
        let (s, v) = api.put("/v1/workflows/fleet.alert", custom.clone()).await;
        assert_eq!(s, 200, "{b}: {v}");
        let mut statuses = Vec::new();
        for (to, what) in [("owner-1", "a"), ("owner-2", "b"), ("owner-1", "c")] {
            let (s, v) = api
                .post(
                    "/v1/events",
                    json!({"name": "fleet.alert", "to": [to], "data": {"what": what}}),
                )
                .await;
            assert_eq!(s, 202, "{b}: {v}");
            statuses.push(
                v["notifications"][0]["status"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        assert_eq!(statuses, ["queued", "queued", "suppressed"], "{b}");
        // Settings a tenant cannot use to make the server do more than it
        // should: each refused, and nothing changes.
        for (key, bad) in [
            (
                "throttle",
                json!([{"per": "tenant", "max": 2, "window": "400d"}]),
            ),
            (
                "throttle",
                json!([{"per": "tenant", "max": 0, "window": "1h"}]),
            ),
            ("dedupe", json!("90d")),
            (
                "series",
                json!((0..13).map(|d| format!("-{d}d")).collect::<Vec<_>>()),
            ),
            ("series", json!(["-1h"])),
        ] {
            let mut doc = custom.clone();
            doc[key] = bad.clone();
            let (s, v) = api.put("/v1/workflows/fleet.alert", doc).await;
            assert_eq!(s, 422, "{b}: {key} = {bad}: {v}");
        }
        let mut digest = custom.clone();
        digest["steps"][0]["digest"] = json!({"key": "boat_id", "window": "30m", "at": "18:00"});
        let (s, v) = api.put("/v1/workflows/fleet.alert", digest).await;
        assert_eq!(s, 422, "{b}: {v}");
        let (s, v) = api.get("/v1/workflows/fleet.alert").await;
        assert_eq!((s, &v["throttle"]), (200, &custom["throttle"]), "{b}: {v}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn maintenance_and_invoices_plan_their_own_offsets_and_times() {
    for env in envs().await {
        let b = env.backend();
        let (server, api, _operator) = clocked(&env, "2027-01-01T08:00:00Z", &[]).await;
        // No zone of their own nor the tenant's: UTC.
        put_subscriber(
            &api,
            "owner-1",
            json!({"email": "ana@example.com", "phone": "+33612345678"}),
        )
        .await;
        let sched = |c: &str, r: &str, at: &str| {
            (
                c.to_string(),
                r.to_string(),
                "scheduled".to_string(),
                at.to_string(),
            )
        };
        let (s, task) = api
            .post("/v1/events", json!({"name": "maintenance.due", "to": ["owner-1"], "grouping_key": "task:T-1",
                   "data": {"boat": "Jeanneau 51", "task": "Engine service", "due_on": "2027-03-01"}}))
            .await;
        assert_eq!(s, 202, "{b}: {task}");
        // T-30, T-7 and the day, at 09:00; the SMS only in the last week.
        assert_eq!(
            planned(&task),
            vec![
                sched("email", "-30d", "2027-01-30T09:00:00Z"),
                sched("email", "-7d", "2027-02-22T09:00:00Z"),
                sched("email", "0d", "2027-03-01T09:00:00Z"),
                sched("sms", "-7d", "2027-02-22T09:00:00Z"),
                sched("sms", "0d", "2027-03-01T09:00:00Z"),
            ],
            "{b}: {task}"
        );
        let (s, invoice) = api
            .post("/v1/events", json!({"name": "invoice.due", "to": ["owner-1"], "grouping_key": "invoice:42",
                   "data": {"boat": "Jeanneau 51", "invoice_number": "42", "due_on": "2027-02-15"}}))
            .await;
        assert_eq!(s, 202, "{b}: {invoice}");
        // T-14, T-3 and the day, at 10:00; the SMS from three days out.
        assert_eq!(
            planned(&invoice),
            vec![
                sched("email", "-14d", "2027-02-01T10:00:00Z"),
                sched("email", "-3d", "2027-02-12T10:00:00Z"),
                sched("email", "0d", "2027-02-15T10:00:00Z"),
                sched("sms", "-3d", "2027-02-12T10:00:00Z"),
                sched("sms", "0d", "2027-02-15T10:00:00Z"),
            ],
            "{b}: {invoice}"
        );
        // A series configured by a tenant through the API.
        let (s, v) = api
            .put("/v1/workflows/survey.due", json!({"name": "survey.due", "series": ["-2d"], "at": "07:30", "anchor": "on",
                 "steps": [{"channel": "email", "subject": "Survey in {{ data.days_left }} days", "text": "Soon."}]}))
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        let (s, v) = api
            .post("/v1/events", json!({"name": "survey.due", "to": ["owner-1"], "grouping_key": "s-1", "data": {"on": "2027-05-10"}}))
            .await;
        assert_eq!(s, 202, "{b}: {v}");
        assert_eq!(
            planned(&v),
            vec![sched("email", "-2d", "2027-05-08T07:30:00Z")],
            "{b}: {v}"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_digest_held_back_or_cancelled_takes_no_more_events() {
    for env in envs().await {
        let b = env.backend();
        let (server, api, operator) = clocked(&env, "2027-03-01T12:00:00Z", &[]).await;
        put_subscriber(&api, "owner-1", json!({"email": "ana@example.com"})).await;
        let digest_of = |v: &Value| v["notifications"][0]["id"].as_str().unwrap().to_string();
        let (_, v) = api.post("/v1/events", upload("B-9", 1)).await;
        let held = digest_of(&v);
        // The owner turns email off while it collects: at its time it is
        // held back, and the next upload does not join it.
        let prefs = |on: bool| json!({"channels": {"email": on}});
        let (s, v) = api
            .put("/v1/subscribers/owner-1/preferences", prefs(false))
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        set_clock(&operator, "2027-03-01T12:30:01Z").await;
        let n = wait_status(&api, &held, "suppressed").await;
        assert!(n["status_reason"].is_string(), "{b}: {n}");
        let (s, v) = api
            .put("/v1/subscribers/owner-1/preferences", prefs(true))
            .await;
        assert_eq!(s, 200, "{b}: {v}");
        let (_, v) = api.post("/v1/events", upload("B-9", 2)).await;
        let next = digest_of(&v);
        assert_ne!(next, held, "{b}: {v}");
        assert_eq!(
            notification(&api, &next).await["status"],
            "scheduled",
            "{b}"
        );
        // Cancelled by its grouping key: the next upload opens another.
        let mut grouped = upload("B-8", 1);
        grouped["grouping_key"] = json!("boat:B-8");
        let (_, v) = api.post("/v1/events", grouped).await;
        let cancelled = digest_of(&v);
        let (s, v) = api
            .post("/v1/cancellations", json!({"grouping_key": "boat:B-8"}))
            .await;
        assert!(s == 200 || s == 202, "{b}: {s} {v}");
        assert_eq!(
            notification(&api, &cancelled).await["status"],
            "cancelled",
            "{b}"
        );
        let (_, v) = api.post("/v1/events", upload("B-8", 2)).await;
        assert_ne!(digest_of(&v), cancelled, "{b}: {v}");
        server.stop().await;
    }
}
