//! The storage contract: every test runs against SQLite and, when
//! `FOGHORN_TEST_DATABASE_URL` is set, PostgreSQL.

use crate::testing::TestDb;
use crate::*;
use foghorn_core::{ids, Channel, Contact, Status};

async fn backends() -> Vec<(TestDb, Store)> {
    let mut out = Vec::new();
    let db = TestDb::sqlite();
    let store = db.store().await;
    out.push((db, store));
    if let Some(db) = TestDb::postgres().await {
        let store = db.store().await;
        out.push((db, store));
    }
    out
}

fn draft(tenant: &str, key: Option<&str>, subs: &[&str]) -> EventDraft {
    EventDraft {
        tenant_id: tenant.into(),
        event_id: ids::event_id(),
        name: "document.uploaded".into(),
        idempotency_key: key.map(Into::into),
        grouping_key: Some("boat-7".into()),
        data: r#"{"boat":"Jeanneau 51"}"#.into(),
        subscriber_ids: subs.iter().map(|s| s.to_string()).collect(),
        addresses: Vec::new(),
        created_at: 1_000,
        fingerprint: None,
        catalog: None,
        needs: Default::default(),
    }
}

fn one_notification(run_at: Option<i64>) -> NewNotification {
    NewNotification {
        id: ids::notification_id(),
        workflow: "document.uploaded".into(),
        step: 0,
        channel: Channel::Email,
        subscriber_id: None,
        recipient: r#"{"address":{"kind":"email","value":"a@example.com"}}"#.into(),
        status: if run_at.is_some() {
            Status::Queued
        } else {
            Status::Suppressed
        },
        status_reason: None,
        send_at: None,
        run_at,
        escalates: None,
        series_offset: None,
        category: None,
        dedupe_hash: None,
    }
}

/// Plans one queued notification per event; rejects events naming unknown subscribers.
fn simple_plan(d: &EventDraft, facts: &mut AcceptFacts) -> Result<Plan, String> {
    for s in &d.subscriber_ids {
        if facts.subscriber(&d.tenant_id, s).is_none() {
            return Err(format!("unknown subscriber {s}"));
        }
    }
    let n = one_notification(Some(0));
    Ok(Plan {
        digests: Vec::new(),
        digested_into: Vec::new(),
        response: format!(r#"{{"event_id":"{}","n":"{}"}}"#, d.event_id, n.id),
        notifications: vec![n],
    })
}

fn audit() -> Audit {
    Audit::new("test", "test.change", "x")
}

fn subscriber(tenant: &str, id: &str) -> SubscriberRow {
    SubscriberRow {
        tenant_id: tenant.into(),
        external_id: id.into(),
        contact: Contact {
            email: Some(format!("{id}@example.com")),
            ..Contact::default()
        },
        data: "{}".into(),
        ..Default::default()
    }
}

async fn add_tenant(store: &Store, id: &str) {
    on_db!(store, |pool, DB| {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $1, 0)")
            .bind(id)
            .execute(pool)
            .await
            .unwrap();
    });
}

/// What the planner says it will do with `sql` (the cost report's range),
/// all of its lines in one string.
async fn plan_of(store: &Store, sql: &str) -> String {
    match &store.backend {
        crate::Backend::Sqlite { write, .. } => {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .bind("default")
                    .bind(0_i64)
                    .bind(1_i64)
                    .fetch_all(write)
                    .await
                    .unwrap();
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
        crate::Backend::Postgres(pool) => {
            // An empty table is read whole when allowed; the question is
            // whether the index can serve the range at all.
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("SET LOCAL enable_seqscan = off")
                .execute(&mut *tx)
                .await
                .unwrap();
            let rows: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {sql}"))
                .bind("default")
                .bind(0_i64)
                .bind(1_i64)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            rows.join("\n")
        }
    }
}

#[tokio::test]
async fn the_sent_at_index_holds_only_sent_notifications_and_still_serves_the_cost_range() {
    for (db, store) in backends().await {
        let sql = "SELECT channel FROM notifications WHERE tenant_id = $1 AND sent_at >= $2 AND sent_at < $3";
        let plan = plan_of(&store, sql).await;
        assert!(
            plan.contains("notifications_sent_at"),
            "{}: {plan}",
            store.backend_name()
        );
        let definition: String = match &store.backend {
            crate::Backend::Sqlite { write, .. } => sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE name = 'notifications_sent_at'",
            )
            .fetch_one(write)
            .await
            .unwrap(),
            crate::Backend::Postgres(pool) => sqlx::query_scalar(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'notifications_sent_at'",
            )
            .fetch_one(pool)
            .await
            .unwrap(),
        };
        assert!(
            definition.contains("WHERE") && definition.contains("sent_at IS NOT NULL"),
            "{}: {definition}",
            store.backend_name()
        );
        drop(db);
    }
}

#[tokio::test]
async fn migrations_apply_once() {
    for (_db, store) in backends().await {
        assert_eq!(store.schema_version().await.unwrap(), 18);
        assert!(
            store.migrate().await.unwrap().is_empty(),
            "{}",
            store.backend_name()
        );
        assert!(store
            .tenant_exists(&TenantId::from("default"))
            .await
            .unwrap());
    }
}

#[tokio::test]
async fn accepting_writes_event_notifications_and_jobs_once_per_key() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let first = draft("default", Some("k1"), &[]);
        let same_batch_repeat = draft("default", Some("k1"), &[]);
        let r = store
            .accept_events(&[first.clone(), same_batch_repeat], simple_plan)
            .await
            .unwrap();
        let AcceptResult::Created(resp) = &r[0] else {
            panic!("{b}: first should be created: {r:?}")
        };
        let AcceptResult::Duplicate(again) = &r[1] else {
            panic!("{b}: repeat should be duplicate")
        };
        assert_eq!(resp, again);
        // A later batch with the same key answers the first response too.
        let r = store
            .accept_events(&[draft("default", Some("k1"), &[])], simple_plan)
            .await
            .unwrap();
        assert!(
            matches!(&r[0], AcceptResult::Duplicate(x) if x == resp),
            "{b}"
        );
        assert_eq!(store.queue_depth().await.unwrap(), 1, "{b}");
        // The same key in another tenant is a different event.
        add_tenant(&store, "t2").await;
        let r = store
            .accept_events(&[draft("t2", Some("k1"), &[])], simple_plan)
            .await
            .unwrap();
        assert!(matches!(r[0], AcceptResult::Created(_)), "{b}");
    }
}

#[tokio::test]
async fn a_key_reused_with_another_request_is_refused_in_and_across_batches() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let with = |fp: &str| EventDraft {
            fingerprint: Some(fp.into()),
            ..draft("default", Some("k3"), &[])
        };
        let r = store
            .accept_events(&[with("a"), with("b"), with("a")], simple_plan)
            .await
            .unwrap();
        let AcceptResult::Created(first) = &r[0] else {
            panic!("{b}: {r:?}")
        };
        assert!(matches!(r[1], AcceptResult::KeyReused), "{b}: {r:?}");
        assert!(
            matches!(&r[2], AcceptResult::Duplicate(x) if x == first),
            "{b}: {r:?}"
        );
        let r = store
            .accept_events(&[with("b"), with("a")], simple_plan)
            .await
            .unwrap();
        assert!(matches!(r[0], AcceptResult::KeyReused), "{b}: {r:?}");
        assert!(
            matches!(&r[1], AcceptResult::Duplicate(x) if x == first),
            "{b}: {r:?}"
        );
        // A draft without a fingerprint compares with nothing.
        let r = store
            .accept_events(&[draft("default", Some("k3"), &[])], simple_plan)
            .await
            .unwrap();
        assert!(matches!(r[0], AcceptResult::Duplicate(_)), "{b}: {r:?}");
        assert_eq!(store.queue_depth().await.unwrap(), 1, "{b}");
    }
}

#[tokio::test]
async fn a_rejected_event_writes_nothing_and_spares_its_batch() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        store
            .put_subscriber(&subscriber("default", "owner-42"), &audit())
            .await
            .unwrap();
        let good = draft("default", None, &["owner-42"]);
        let bad = draft("default", Some("bad"), &["nobody"]);
        let r = store
            .accept_events(&[good, bad.clone()], simple_plan)
            .await
            .unwrap();
        assert!(matches!(r[0], AcceptResult::Created(_)), "{b}");
        assert!(
            matches!(&r[1], AcceptResult::Rejected(e) if e.contains("nobody")),
            "{b}"
        );
        assert!(
            store
                .event(&TenantId::from("default"), &bad.event_id)
                .await
                .unwrap()
                .is_none(),
            "{b}"
        );
        assert_eq!(store.queue_depth().await.unwrap(), 1, "{b}");
        // The rejected key was not consumed.
        let mut retry = bad.clone();
        retry.subscriber_ids = vec!["owner-42".into()];
        retry.event_id = ids::event_id();
        let r = store.accept_events(&[retry], simple_plan).await.unwrap();
        assert!(matches!(r[0], AcceptResult::Created(_)), "{b}");
    }
}

#[tokio::test]
async fn claims_lease_jobs_and_expired_leases_come_back() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        store
            .accept_events(&[draft("default", None, &[])], simple_plan)
            .await
            .unwrap();
        let jobs = store.claim_jobs("w1", 10_000, 30_000, 10).await.unwrap();
        assert_eq!(jobs.len(), 1, "{b}");
        assert_eq!(jobs[0].event_name, "document.uploaded");
        assert_eq!(jobs[0].notification.status, "sending");
        assert_eq!(jobs[0].claims, 1);
        assert!(
            store
                .claim_jobs("w2", 20_000, 30_000, 10)
                .await
                .unwrap()
                .is_empty(),
            "{b}: leased"
        );
        let again = store.claim_jobs("w2", 40_001, 30_000, 10).await.unwrap();
        assert_eq!(again.len(), 1, "{b}: lease expired");
        assert_eq!(again[0].claims, 2);
        // w1 outlived its lease: its outcome is ignored; w2's is applied.
        let sent = |id: &str| Outcome {
            notification_id: id.into(),
            tenant_id: "default".into(),
            attempt: Some(Attempt {
                id: ids::attempt_id(),
                provider: "sandbox".into(),
                outcome: "sent".into(),
                http_status: Some(200),
                error: None,
                latency_ms: 3,
            }),
            kind: OutcomeKind::Sent {
                provider_message_id: Some("pm-1".into()),
                cost_micros: Some(500),
                currency: Some("USD".into()),
                captured: None,
                note: None,
            },
        };
        let id = again[0].notification.id.clone();
        assert_eq!(
            store
                .record_outcomes("w1", 41_000, &[sent(&id)])
                .await
                .unwrap(),
            0,
            "{b}"
        );
        assert_eq!(
            store
                .record_outcomes("w2", 41_000, &[sent(&id)])
                .await
                .unwrap(),
            1,
            "{b}"
        );
        let n = store
            .notification(&TenantId::from("default"), &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n.status, "sent");
        assert_eq!(n.provider_message_id.as_deref(), Some("pm-1"));
        assert_eq!(n.cost_micros, Some(500));
        assert_eq!(n.attempts, 1);
        assert_eq!(
            store
                .attempts(&TenantId::from("default"), &id)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.queue_depth().await.unwrap(), 0, "{b}");
    }
}

/// Plans one notification per event: due now, or scheduled when the
/// event's name says so.
fn due_or_later_plan(d: &EventDraft, _: &mut AcceptFacts) -> Result<Plan, String> {
    let later = d.name == "later";
    let mut n = one_notification(Some(if later { i64::MAX / 2 } else { 0 }));
    if later {
        n.status = Status::Scheduled;
    }
    Ok(Plan {
        digests: Vec::new(),
        digested_into: Vec::new(),
        notifications: vec![n],
        response: "{}".into(),
    })
}

#[tokio::test]
async fn fresh_jobs_leased_at_accept_are_held_by_their_owner_alone() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let mut later = draft("default", None, &[]);
        later.name = "later".into();
        let drafts = [
            draft("default", None, &[]),
            draft("default", None, &[]),
            later,
        ];
        // Room for one: the first due job is taken, the second is queued,
        // the scheduled one is never offered.
        let mut offered = 0;
        let mut take = || {
            offered += 1;
            offered == 1
        };
        let Accepted {
            results,
            fresh,
            queued,
        } = store
            .accept_events_leasing(
                &drafts,
                due_or_later_plan,
                Some(LeaseFresh {
                    owner: "w1",
                    lease_ms: 600_000,
                    take: &mut take,
                }),
            )
            .await
            .unwrap();
        assert_eq!(offered, 2, "{b}: only jobs due now are offered");
        assert_eq!(
            queued, 2,
            "{b}: the refused and the scheduled job wait for a claim"
        );
        assert!(results
            .iter()
            .all(|r| matches!(r, AcceptResult::Created(_))));
        assert_eq!(fresh.len(), 1, "{b}");
        let job = &fresh[0];
        assert_eq!(job.notification.event_id, drafts[0].event_id, "{b}");
        assert_eq!(job.notification.status, "sending", "{b}");
        assert_eq!(job.event_data, drafts[0].data, "{b}: opened, not sealed");
        assert!(job.notification.recipient.contains("a@example.com"), "{b}");
        assert_eq!((job.attempt, job.provider_idx, job.claims), (0, 0, 1));
        let stored = store
            .notification(&TenantId::from("default"), &job.notification.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, "sending", "{b}");
        // Another worker claims only the job that was not taken.
        let now = crate::migrations::now_ms();
        let claimed = store.claim_jobs("w2", now, 30_000, 10).await.unwrap();
        assert_eq!(claimed.len(), 1, "{b}");
        assert_eq!(claimed[0].notification.event_id, drafts[1].event_id, "{b}");
        // The lease is w1's: w2 cannot record it, w1 can.
        let done = |id: &str| Outcome {
            notification_id: id.into(),
            tenant_id: "default".into(),
            attempt: None,
            kind: OutcomeKind::Suppressed {
                reason: "test".into(),
            },
        };
        let id = job.notification.id.clone();
        assert_eq!(
            store
                .record_outcomes("w2", now, &[done(&id)])
                .await
                .unwrap(),
            0,
            "{b}"
        );
        assert_eq!(
            store
                .record_outcomes("w1", now, &[done(&id)])
                .await
                .unwrap(),
            1,
            "{b}"
        );
        // When the lease ends unrecorded (the node died), any worker claims it.
        let mut take_all = || true;
        let Accepted { fresh, .. } = store
            .accept_events_leasing(
                &[draft("default", None, &[])],
                due_or_later_plan,
                Some(LeaseFresh {
                    owner: "w1",
                    lease_ms: 1_000,
                    take: &mut take_all,
                }),
            )
            .await
            .unwrap();
        assert_eq!(fresh.len(), 1, "{b}");
        let later = crate::migrations::now_ms() + 5_000;
        let again = store.claim_jobs("w3", later, 30_000, 10).await.unwrap();
        assert!(
            again
                .iter()
                .any(|j| j.notification.id == fresh[0].notification.id && j.claims == 2),
            "{b}: the lapsed lease is claimed again"
        );
    }
}

#[tokio::test]
async fn released_jobs_are_due_again_at_once_and_their_claim_is_not_counted() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        store
            .accept_events(
                &[draft("default", None, &[]), draft("default", None, &[])],
                simple_plan,
            )
            .await
            .unwrap();
        let jobs = store.claim_jobs("w1", 10_000, 30_000, 10).await.unwrap();
        assert_eq!(jobs.len(), 2, "{b}");
        let ids: Vec<String> = jobs.iter().map(|j| j.notification.id.clone()).collect();
        // Another owner cannot give back what it does not hold.
        assert_eq!(
            store.release_jobs("w2", &ids, 11_000).await.unwrap(),
            0,
            "{b}"
        );
        assert!(
            store
                .claim_jobs("w2", 11_000, 30_000, 10)
                .await
                .unwrap()
                .is_empty(),
            "{b}: still leased to w1"
        );
        assert_eq!(
            store.release_jobs("w1", &ids[..1], 11_000).await.unwrap(),
            1,
            "{b}"
        );
        let n = store
            .notification(&TenantId::from("default"), &ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n.status, "queued", "{b}");
        // Due at once, long before w1's lease would have ended, and claimed
        // as a first claim: no attempt was made.
        let again = store.claim_jobs("w2", 11_001, 30_000, 10).await.unwrap();
        assert_eq!(again.len(), 1, "{b}");
        assert_eq!(again[0].notification.id, ids[0], "{b}");
        assert_eq!(again[0].claims, 1, "{b}");
        // w1's outcome for the job it gave back is not applied.
        let dead = Outcome {
            notification_id: ids[0].clone(),
            tenant_id: "default".into(),
            attempt: None,
            kind: OutcomeKind::Dead {
                reason: "late".into(),
            },
        };
        assert_eq!(
            store.record_outcomes("w1", 12_000, &[dead]).await.unwrap(),
            0,
            "{b}"
        );
        assert_eq!(store.queue_depth().await.unwrap(), 2, "{b}");
    }
}

#[tokio::test]
async fn retries_wait_for_their_time_and_dead_letters_replay() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        store
            .accept_events(&[draft("default", None, &[])], simple_plan)
            .await
            .unwrap();
        let job = store.claim_jobs("w", 0, 1_000, 10).await.unwrap().remove(0);
        let id = job.notification.id.clone();
        let failed = |kind| Outcome {
            notification_id: id.clone(),
            tenant_id: "default".into(),
            attempt: Some(Attempt {
                id: ids::attempt_id(),
                provider: "hook".into(),
                outcome: "retryable".into(),
                http_status: Some(503),
                error: Some("503".into()),
                latency_ms: 1,
            }),
            kind,
        };
        let retry = OutcomeKind::Retry {
            run_at: 60_000,
            attempt: 1,
            provider_idx: 0,
        };
        assert_eq!(
            store
                .record_outcomes("w", 100, &[failed(retry)])
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .notification(&TenantId::from("default"), &id)
                .await
                .unwrap()
                .unwrap()
                .status,
            "queued"
        );
        assert!(
            store
                .claim_jobs("w", 59_999, 1_000, 10)
                .await
                .unwrap()
                .is_empty(),
            "{b}: not yet due"
        );
        let job = store
            .claim_jobs("w", 60_000, 1_000, 10)
            .await
            .unwrap()
            .remove(0);
        assert_eq!((job.attempt, job.provider_idx), (1, 0));
        let dead = OutcomeKind::Dead {
            reason: "attempts spent".into(),
        };
        store
            .record_outcomes("w", 60_100, &[failed(dead)])
            .await
            .unwrap();
        let page = store
            .list_notifications(
                &TenantId::from("default"),
                &NotificationFilter {
                    status: Some("dead".into()),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1, "{b}");
        assert!(
            !store
                .replay_dead(&TenantId::from("other"), &id, 70_000, &audit())
                .await
                .unwrap(),
            "{b}: other tenant"
        );
        assert!(store
            .replay_dead(&TenantId::from("default"), &id, 70_000, &audit())
            .await
            .unwrap());
        assert!(
            !store
                .replay_dead(&TenantId::from("default"), &id, 70_000, &audit())
                .await
                .unwrap(),
            "{b}: only dead ones"
        );
        let job = store
            .claim_jobs("w", 70_000, 1_000, 10)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(
            (job.attempt, job.provider_idx),
            (0, 0),
            "{b}: replay starts over"
        );
        assert_eq!(
            store
                .attempts(&TenantId::from("default"), &id)
                .await
                .unwrap()
                .len(),
            2
        );
    }
}

#[tokio::test]
async fn fallback_opens_a_notification_on_the_next_channel() {
    for (_db, store) in backends().await {
        store
            .accept_events(&[draft("default", Some("fb"), &[])], simple_plan)
            .await
            .unwrap();
        let job = store.claim_jobs("w", 0, 1_000, 10).await.unwrap().remove(0);
        let mut next = one_notification(Some(5));
        next.channel = Channel::Sms;
        let o = Outcome {
            notification_id: job.notification.id.clone(),
            tenant_id: "default".into(),
            attempt: None,
            kind: OutcomeKind::Fallback {
                reason: "email exhausted".into(),
                fallback: Box::new(next.clone()),
            },
        };
        store.record_outcomes("w", 10, &[o]).await.unwrap();
        assert_eq!(
            store
                .notification(&TenantId::from("default"), &job.notification.id)
                .await
                .unwrap()
                .unwrap()
                .status,
            "failed"
        );
        let child = store
            .notification(&TenantId::from("default"), &next.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            child.parent_id.as_deref(),
            Some(job.notification.id.as_str())
        );
        assert_eq!(child.idempotency_key.as_deref(), Some("fb"));
        let claimed = store.claim_jobs("w", 10, 1_000, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].notification.channel, "sms");
    }
}

#[tokio::test]
async fn cancelling_by_key_or_group_stops_pending_sends_of_that_tenant_only() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        add_tenant(&store, "t2").await;
        let mut a = draft("default", Some("renewal-1"), &[]);
        a.grouping_key = Some("warranty-9".into());
        let mut c = draft("default", None, &[]);
        c.grouping_key = Some("warranty-9".into());
        let mut other = draft("t2", Some("renewal-1"), &[]);
        other.grouping_key = Some("warranty-9".into());
        store
            .accept_events(&[a, c, other], simple_plan)
            .await
            .unwrap();
        assert_eq!(
            store
                .cancel(
                    &TenantId::from("default"),
                    Some("renewal-1"),
                    None,
                    5,
                    &audit()
                )
                .await
                .unwrap()
                .len(),
            1,
            "{b}"
        );
        assert_eq!(
            store
                .cancel(
                    &TenantId::from("default"),
                    None,
                    Some("warranty-9"),
                    5,
                    &audit()
                )
                .await
                .unwrap()
                .len(),
            1,
            "{b}"
        );
        assert_eq!(
            store.queue_depth().await.unwrap(),
            1,
            "{b}: t2's job remains"
        );
        assert_eq!(
            store.count_by_status(&TenantId::from("t2")).await.unwrap(),
            vec![("queued".to_string(), 1)]
        );
    }
}

#[tokio::test]
async fn listing_pages_by_cursor_and_stays_inside_the_tenant() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        add_tenant(&store, "t2").await;
        let drafts: Vec<_> = (0..5).map(|_| draft("default", None, &[])).collect();
        store.accept_events(&drafts, simple_plan).await.unwrap();
        store
            .accept_events(&[draft("t2", None, &[])], simple_plan)
            .await
            .unwrap();
        let mut f = NotificationFilter {
            limit: 2,
            ..Default::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = store
                .list_notifications(&TenantId::from("default"), &f)
                .await
                .unwrap();
            seen.extend(page.items.iter().map(|n| n.id.clone()));
            match page.next {
                Some(c) => f.before_id = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), 5, "{b}");
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(seen, sorted, "{b}: newest first");
        let t2 = store
            .list_notifications(
                &TenantId::from("t2"),
                &NotificationFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(t2.items.len(), 1);
        assert!(
            store
                .notification(&TenantId::from("t2"), &seen[0])
                .await
                .unwrap()
                .is_none(),
            "{b}: cross-tenant read"
        );
        let by_event = NotificationFilter {
            event_id: Some(drafts[0].event_id.clone()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            store
                .list_notifications(&TenantId::from("default"), &by_event)
                .await
                .unwrap()
                .items
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn subscribers_are_upserted_read_and_deleted_per_tenant() {
    for (_db, store) in backends().await {
        add_tenant(&store, "t2").await;
        assert!(store
            .put_subscriber(&subscriber("default", "owner-1"), &audit())
            .await
            .unwrap());
        let mut changed = subscriber("default", "owner-1");
        changed.contact.phone = Some("+15005550006".into());
        assert!(!store.put_subscriber(&changed, &audit()).await.unwrap());
        let got = store
            .subscriber(&TenantId::from("default"), "owner-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.contact.phone.as_deref(), Some("+15005550006"));
        assert!(store
            .subscriber(&TenantId::from("t2"), "owner-1")
            .await
            .unwrap()
            .is_none());
        assert!(!store
            .delete_subscriber(&TenantId::from("t2"), "owner-1", &audit(), 1)
            .await
            .unwrap());
        assert!(store
            .delete_subscriber(&TenantId::from("default"), "owner-1", &audit(), 1)
            .await
            .unwrap());
        assert!(store
            .subscriber(&TenantId::from("default"), "owner-1")
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn concurrent_claimers_never_share_a_job() {
    for (_db, store) in backends().await {
        let drafts: Vec<_> = (0..300).map(|_| draft("default", None, &[])).collect();
        store.accept_events(&drafts, simple_plan).await.unwrap();
        let mut handles = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let jobs = store
                        .claim_jobs(&format!("w{w}"), 0, 60_000, 7)
                        .await
                        .unwrap();
                    if jobs.is_empty() {
                        break mine;
                    }
                    mine.extend(jobs.into_iter().map(|j| j.notification.id));
                }
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        let total = all.len();
        all.sort();
        all.dedup();
        assert_eq!((total, all.len()), (300, 300), "{}", store.backend_name());
    }
}

#[tokio::test]
async fn workflows_are_stored_per_tenant() {
    for (_db, store) in backends().await {
        let w = WorkflowRow {
            tenant_id: "default".into(),
            name: "x".into(),
            document: "{}".into(),
            updated_at: 1,
        };
        store.put_workflow(&w, &audit()).await.unwrap();
        store
            .put_workflow(
                &WorkflowRow {
                    document: r#"{"a":1}"#.into(),
                    updated_at: 2,
                    ..w
                },
                &audit(),
            )
            .await
            .unwrap();
        let got = store.workflows(&TenantId::from("default")).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].document, r#"{"a":1}"#);
        assert!(store
            .workflows(&TenantId::from("t2"))
            .await
            .unwrap()
            .is_empty());
        let name = got[0].name.clone();
        assert_eq!(
            store
                .workflow(&TenantId::from("default"), &name)
                .await
                .unwrap()
                .unwrap()
                .updated_at,
            2
        );
        assert_eq!(store.workflows_changed_since(2).await.unwrap().len(), 1);
        assert!(store.workflows_changed_since(3).await.unwrap().is_empty());
        // A deletion is a tombstone other nodes see as a change.
        assert!(store
            .delete_workflow(&TenantId::from("default"), &name, 5, &audit())
            .await
            .unwrap());
        assert!(!store
            .delete_workflow(&TenantId::from("default"), &name, 6, &audit())
            .await
            .unwrap());
        assert!(store
            .workflows(&TenantId::from("default"))
            .await
            .unwrap()
            .is_empty());
        assert!(store.all_workflows().await.unwrap().is_empty());
        let changed = store.workflows_changed_since(3).await.unwrap();
        assert_eq!((changed.len(), changed[0].document.as_str()), (1, ""));
        assert!(!store
            .delete_workflow(&TenantId::from("t2"), &name, 7, &audit())
            .await
            .unwrap());
    }
}

#[tokio::test]
async fn the_audit_chain_verifies_and_names_the_first_bad_row() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        for i in 0..5 {
            store
                .audit(
                    &TenantId::from("default"),
                    &Audit::new("test", "thing.done", format!("t{i}")),
                    i,
                )
                .await
                .unwrap();
        }
        assert_eq!(store.verify_audit().await.unwrap(), Ok(5), "{b}");
        // Edit row 3.
        on_db!(store, |pool, DB| {
            sqlx::query("UPDATE audit_log SET target = 'forged' WHERE seq = 3")
                .execute(pool)
                .await
                .unwrap();
        });
        let broken = store.verify_audit().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, 3, "{b}: {broken:?}");
        on_db!(store, |pool, DB| {
            sqlx::query("UPDATE audit_log SET target = 't2' WHERE seq = 3")
                .execute(pool)
                .await
                .unwrap();
        });
        assert_eq!(store.verify_audit().await.unwrap(), Ok(5), "{b}: restored");
        // Delete row 2.
        on_db!(store, |pool, DB| {
            sqlx::query("DELETE FROM audit_log WHERE seq = 2")
                .execute(pool)
                .await
                .unwrap();
        });
        assert_eq!(
            store.verify_audit().await.unwrap().unwrap_err().seq,
            2,
            "{b}"
        );
    }
}

#[tokio::test]
async fn audit_rows_detect_reordering_and_truncation() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        for i in 0..4 {
            store
                .audit(
                    &TenantId::from("default"),
                    &Audit::new("test", "thing.done", format!("t{i}")),
                    i,
                )
                .await
                .unwrap();
        }
        // Swap the contents of rows 2 and 3 (keeping their seq numbers).
        on_db!(store, |pool, DB| {
            sqlx::query("UPDATE audit_log SET seq = -2 WHERE seq = 2")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("UPDATE audit_log SET seq = 2 WHERE seq = 3")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("UPDATE audit_log SET seq = 3 WHERE seq = -2")
                .execute(pool)
                .await
                .unwrap();
        });
        assert_eq!(
            store.verify_audit().await.unwrap().unwrap_err().seq,
            2,
            "{b}: reordered"
        );
        on_db!(store, |pool, DB| {
            sqlx::query("UPDATE audit_log SET seq = -2 WHERE seq = 2")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("UPDATE audit_log SET seq = 2 WHERE seq = 3")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("UPDATE audit_log SET seq = 3 WHERE seq = -2")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("DELETE FROM audit_log WHERE seq = 4")
                .execute(pool)
                .await
                .unwrap();
        });
        let e = store.verify_audit().await.unwrap().unwrap_err();
        assert!(e.reason.contains("cut from the end"), "{b}: {e:?}");
    }
}

#[tokio::test]
async fn changes_and_their_audit_rows_commit_together() {
    for (_db, store) in backends().await {
        store
            .put_subscriber(
                &subscriber("default", "a"),
                &Audit::new("key:k1", "subscriber.put", "a"),
            )
            .await
            .unwrap();
        store
            .delete_subscriber(
                &TenantId::from("default"),
                "a",
                &Audit::new("key:k1", "subscriber.delete", "a"),
                2,
            )
            .await
            .unwrap();
        assert!(!store
            .delete_subscriber(
                &TenantId::from("default"),
                "a",
                &Audit::new("key:k1", "subscriber.delete", "a"),
                3
            )
            .await
            .unwrap());
        let rows = store
            .audit_rows(Some(&TenantId::from("default")), 0, 10)
            .await
            .unwrap();
        let actions: Vec<_> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(
            actions,
            ["subscriber.put", "subscriber.delete"],
            "a no-op writes no audit row"
        );
        assert!(store
            .audit_rows(Some(&TenantId::from("t2")), 0, 10)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn unsubscribes_are_recorded_once_with_their_audit_row() {
    for (_db, store) in backends().await {
        let be = store.backend_name();
        store
            .put_subscriber(&subscriber("default", "owner-42"), &audit())
            .await
            .unwrap();
        let a = Audit::new("recipient:one-click", "subscriber.unsubscribe", "owner-42");
        let target = UnsubscribeTarget::Subscriber("owner-42");
        let warranty = Some("warranty");
        let first = store
            .unsubscribe(
                &TenantId::from("default"),
                target,
                Channel::Email,
                warranty,
                "one-click",
                &a,
                5,
            )
            .await
            .unwrap();
        let again = store
            .unsubscribe(
                &TenantId::from("default"),
                target,
                Channel::Email,
                warranty,
                "one-click",
                &a,
                6,
            )
            .await
            .unwrap();
        assert_eq!(
            (first, again),
            (Unsubscribed::Recorded, Unsubscribed::Already),
            "{be}"
        );
        let scopes = |rows: Vec<OptOutRow>| -> Vec<(String, String, String)> {
            rows.into_iter()
                .map(|o| (o.channel.to_string(), o.category, o.source))
                .collect()
        };
        let opt_outs = store
            .opt_outs(&TenantId::from("default"), "owner-42")
            .await
            .unwrap();
        assert_eq!(
            scopes(opt_outs),
            [("email".into(), "warranty".into(), "one-click".into())],
            "{be}"
        );
        // Everything, then the category again: already covered.
        assert_eq!(
            store
                .unsubscribe(
                    &TenantId::from("default"),
                    target,
                    Channel::Email,
                    None,
                    "page",
                    &a,
                    7
                )
                .await
                .unwrap(),
            Unsubscribed::Recorded,
            "{be}"
        );
        assert_eq!(
            store
                .unsubscribe(
                    &TenantId::from("default"),
                    target,
                    Channel::Email,
                    Some("invoices"),
                    "one-click",
                    &a,
                    8
                )
                .await
                .unwrap(),
            Unsubscribed::Already,
            "{be}"
        );
        let ledger = store
            .subscriber_consents(&TenantId::from("default"), "owner-42")
            .await
            .unwrap();
        let got: Vec<_> = ledger
            .iter()
            .map(|c| {
                (
                    c.action.as_str(),
                    c.category.as_deref(),
                    c.source.as_str(),
                    c.address.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "opt_out",
                    Some("warranty"),
                    "one-click",
                    Some("owner-42@example.com")
                ),
                ("opt_out", None, "page", Some("owner-42@example.com")),
            ],
            "{be}"
        );
        let gone = UnsubscribeTarget::Subscriber("nobody");
        assert_eq!(
            store
                .unsubscribe(
                    &TenantId::from("default"),
                    gone,
                    Channel::Email,
                    None,
                    "page",
                    &a,
                    7
                )
                .await
                .unwrap(),
            Unsubscribed::NoSuchSubscriber
        );
        // By address: a suppression row, once, for that tenant only.
        let hash = store.crypto().lookup_hash("walk-in@example.com").unwrap();
        let by_address = UnsubscribeTarget::Address(&hash);
        assert_eq!(
            store
                .unsubscribe(
                    &TenantId::from("default"),
                    by_address,
                    Channel::Email,
                    None,
                    "page",
                    &a,
                    8
                )
                .await
                .unwrap(),
            Unsubscribed::Recorded
        );
        assert_eq!(
            store
                .unsubscribe(
                    &TenantId::from("default"),
                    by_address,
                    Channel::Email,
                    None,
                    "page",
                    &a,
                    9
                )
                .await
                .unwrap(),
            Unsubscribed::Already
        );
        let hashes = store.crypto().lookup_hashes("Walk-In@example.com");
        assert_eq!(
            store
                .suppression(&TenantId::from("default"), Channel::Email, &hashes)
                .await
                .unwrap()
                .as_deref(),
            Some("unsubscribed")
        );
        assert_eq!(
            store
                .suppression(&TenantId::from("other"), Channel::Email, &hashes)
                .await
                .unwrap(),
            None
        );
        let rows = store
            .audit_rows(Some(&TenantId::from("default")), 0, 100)
            .await
            .unwrap();
        let unsubs = rows
            .iter()
            .filter(|r| r.actor == "recipient:one-click")
            .count();
        assert_eq!(unsubs, 3, "{be}: one audit row per recorded opt-out");
        assert_eq!(store.verify_audit().await.unwrap(), Ok(rows.len() as i64));
    }
}

#[tokio::test]
async fn opt_outs_survive_a_profile_put_and_api_changes_are_ledgered() {
    for (_db, store) in backends().await {
        let be = store.backend_name();
        let key = Audit::new("key:k1", "subscriber.put", "owner-7");
        store
            .put_subscriber_with(
                &subscriber("default", "owner-7"),
                Some(&[Channel::Sms]),
                &key,
            )
            .await
            .unwrap();
        let a = Audit::new("recipient:one-click", "subscriber.unsubscribe", "owner-7");
        let target = UnsubscribeTarget::Subscriber("owner-7");
        store
            .unsubscribe(
                &TenantId::from("default"),
                target,
                Channel::Email,
                Some("warranty"),
                "one-click",
                &a,
                5,
            )
            .await
            .unwrap();
        // The application's routine update says nothing of opt-outs.
        store
            .put_subscriber(&subscriber("default", "owner-7"), &key)
            .await
            .unwrap();
        let kept: Vec<(String, String)> = store
            .opt_outs(&TenantId::from("default"), "owner-7")
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.channel.to_string(), o.category))
            .collect();
        assert_eq!(
            kept,
            [
                ("sms".to_string(), String::new()),
                ("email".to_string(), "warranty".to_string())
            ],
            "{be}"
        );
        // An explicit list replaces the whole-channel opt-outs only.
        store
            .put_subscriber_with(
                &subscriber("default", "owner-7"),
                Some(&[Channel::Email]),
                &key,
            )
            .await
            .unwrap();
        let now: Vec<(String, String, String)> = store
            .opt_outs(&TenantId::from("default"), "owner-7")
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.channel.to_string(), o.category, o.actor))
            .collect();
        assert_eq!(
            now,
            [
                ("email".into(), String::new(), "key:k1".into()),
                (
                    "email".into(),
                    "warranty".into(),
                    "recipient:one-click".into()
                )
            ],
            "{be}"
        );
        let ledger = store
            .subscriber_consents(&TenantId::from("default"), "owner-7")
            .await
            .unwrap();
        let mut api: Vec<(&str, &str, Option<&str>)> = ledger
            .iter()
            .filter(|c| c.source == "api")
            .map(|c| (c.channel.as_str(), c.action.as_str(), c.actor.as_deref()))
            .collect();
        api.sort_unstable();
        assert_eq!(
            api,
            [
                ("email", "opt_out", Some("key:k1")),
                ("sms", "opt_in", Some("key:k1")),
                ("sms", "opt_out", Some("key:k1")),
            ],
            "{be}"
        );
        let audit = store
            .audit_rows(Some(&TenantId::from("default")), 0, 100)
            .await
            .unwrap();
        let consent: Vec<serde_json::Value> = audit
            .iter()
            .filter(|r| r.action == "subscriber.consent" && r.actor == "key:k1")
            .map(|r| serde_json::from_str(&r.detail).unwrap())
            .collect();
        assert_eq!(
            consent,
            [
                serde_json::json!({"source": "api", "opt_out": ["sms"], "opt_in": []}),
                serde_json::json!({"source": "api", "opt_out": ["email"], "opt_in": ["sms"]}),
            ],
            "{be}: the routine PUT changed nothing and wrote no consent row"
        );
        // Deleting the person deletes their choices, not the ledger.
        store
            .delete_subscriber(&TenantId::from("default"), "owner-7", &key, 9)
            .await
            .unwrap();
        assert!(store
            .opt_outs(&TenantId::from("default"), "owner-7")
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn short_links_are_sealed_and_count_their_clicks() {
    for (_db, store) in backends().await {
        let links = vec![(
            "code1".to_string(),
            "https://navidocs.example/d/1?t=secret".to_string(),
        )];
        store
            .put_short_links(&TenantId::from("default"), "ntf_1", &links, 1)
            .await
            .unwrap();
        // A retried send stores the same code again: no error, no change.
        store
            .put_short_links(&TenantId::from("default"), "ntf_1", &links, 2)
            .await
            .unwrap();
        let link = store.short_link("code1").await.unwrap().unwrap();
        assert_eq!(link.url, links[0].1);
        assert_eq!(link.notification_id, "ntf_1");
        let raw: String = on_db!(store, |pool, DB| {
            sqlx::query_scalar("SELECT url FROM short_links WHERE code = 'code1'")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert!(!raw.contains("secret"), "sealed at rest");
        store.record_click(&link, "code1", 10).await.unwrap();
        store.record_click(&link, "code1", 11).await.unwrap();
        let clicks = store
            .clicks(&TenantId::from("default"), "ntf_1")
            .await
            .unwrap();
        assert_eq!(
            clicks,
            vec![("code1".to_string(), 10), ("code1".to_string(), 11)]
        );
        assert!(store
            .clicks(&TenantId::from("other"), "ntf_1")
            .await
            .unwrap()
            .is_empty());
        assert!(store.short_link("nope").await.unwrap().is_none());
    }
}

/// Outcomes are recorded a statement per kind, not per notification: a
/// batch mixing every kind (and one notification twice) must leave each
/// row as recording them one by one would.
#[tokio::test]
async fn a_mixed_batch_of_outcomes_records_each_one() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let drafts: Vec<_> = (0..6).map(|_| draft("default", None, &[])).collect();
        store.accept_events(&drafts, simple_plan).await.unwrap();
        let jobs = store.claim_jobs("w", 10_000, 30_000, 10).await.unwrap();
        assert_eq!(jobs.len(), 6, "{b}");
        let id = |i: usize| jobs[i].notification.id.clone();
        let attempt = |outcome: &str, status: Option<i64>| Attempt {
            id: ids::attempt_id(),
            provider: "mail-a".into(),
            outcome: outcome.into(),
            http_status: status,
            error: Some("the provider's words".into()),
            latency_ms: 5,
        };
        let outcome = |i: usize, attempt: Option<Attempt>, kind: OutcomeKind| Outcome {
            notification_id: id(i),
            tenant_id: "default".into(),
            attempt,
            kind,
        };
        let sent = |pmid: &str, captured: Option<(String, String, String)>| OutcomeKind::Sent {
            provider_message_id: Some(pmid.into()),
            cost_micros: Some(700),
            currency: Some("USD".into()),
            captured,
            note: Some("a note".into()),
        };
        let retry = OutcomeKind::Retry {
            run_at: 70_000,
            attempt: 2,
            provider_idx: 1,
        };
        let capture = Some((
            "email".to_string(),
            "a@example.com".to_string(),
            "{}".to_string(),
        ));
        let batch = vec![
            outcome(0, Some(attempt("sent", Some(202))), sent("pm-0", capture)),
            outcome(1, Some(attempt("sent", Some(200))), sent("pm-1", None)),
            outcome(2, Some(attempt("transient", Some(503))), retry.clone()),
            outcome(
                3,
                Some(attempt("permanent", Some(400))),
                OutcomeKind::Dead {
                    reason: "refused".into(),
                },
            ),
            outcome(
                4,
                None,
                OutcomeKind::Suppressed {
                    reason: "no template".into(),
                },
            ),
            // The same notification twice: the later outcome stands, both
            // attempts count.
            outcome(5, Some(attempt("transient", None)), retry),
            outcome(5, Some(attempt("sent", Some(200))), sent("pm-5", None)),
        ];
        assert_eq!(
            store.record_outcomes("w", 20_000, &batch).await.unwrap(),
            7,
            "{b}"
        );
        let row = |i: usize| {
            let store = store.clone();
            let id = id(i);
            async move {
                store
                    .notification(&TenantId::from("default"), &id)
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        let n0 = row(0).await;
        assert_eq!(
            (
                n0.status,
                n0.provider.as_deref(),
                n0.provider_message_id.as_deref()
            ),
            (Status::Sent, Some("mail-a"), Some("pm-0")),
            "{b}"
        );
        assert_eq!(
            (
                n0.cost_micros,
                n0.currency.as_deref(),
                n0.status_reason.as_deref(),
                n0.attempts
            ),
            (Some(700), Some("USD"), Some("a note"), 1),
            "{b}"
        );
        assert_eq!(n0.updated_at, 20_000, "{b}");
        assert_eq!(
            row(1).await.provider_message_id.as_deref(),
            Some("pm-1"),
            "{b}"
        );
        let n2 = row(2).await;
        assert_eq!(
            (n2.status, n2.status_reason.as_deref(), n2.attempts),
            (
                Status::Queued,
                Some("retrying after transient (HTTP 503)"),
                1
            ),
            "{b}"
        );
        let n3 = row(3).await;
        assert_eq!(
            (n3.status, n3.status_reason.as_deref()),
            (Status::Dead, Some("refused")),
            "{b}"
        );
        let n4 = row(4).await;
        assert_eq!(
            (
                n4.status,
                n4.status_reason.as_deref(),
                n4.attempts,
                n4.provider
            ),
            (Status::Suppressed, Some("no template"), 0, None),
            "{b}"
        );
        let n5 = row(5).await;
        assert_eq!(
            (n5.status, n5.provider_message_id.as_deref(), n5.attempts),
            (Status::Sent, Some("pm-5"), 2),
            "{b}"
        );
        // Only the retried job is left, due at its new time with its next
        // attempt and provider.
        assert_eq!(store.queue_depth().await.unwrap(), 1, "{b}");
        assert!(
            store
                .claim_jobs("w", 69_999, 30_000, 10)
                .await
                .unwrap()
                .is_empty(),
            "{b}"
        );
        let again = store.claim_jobs("w", 70_000, 30_000, 10).await.unwrap();
        assert_eq!(again.len(), 1, "{b}");
        assert_eq!(
            (
                again[0].notification.id.as_str(),
                again[0].attempt,
                again[0].provider_idx
            ),
            (id(2).as_str(), 2, 1),
            "{b}"
        );
        let tried = store
            .attempts(&TenantId::from("default"), &id(5))
            .await
            .unwrap();
        assert_eq!(tried.len(), 2, "{b}");
        let captured = store
            .sandbox_messages(&TenantId::from("default"), None, 10)
            .await
            .unwrap();
        assert_eq!(captured.items.len(), 1, "{b}");
        assert_eq!(captured.items[0].notification_id, id(0), "{b}");
    }
}

#[tokio::test]
async fn accepted_events_keep_their_documents_newest_first_in_their_tenant() {
    use foghorn_core::team::CatalogHit;
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let doc = |tenant: &str, key: &str, title: &str, at: i64| {
            let d = draft(tenant, Some(key), &[]);
            let hit = CatalogHit {
                document_id: "d1".into(),
                boat: "Jeanneau 51".into(),
                title: title.into(),
                kind: None,
                link: None,
                expires_on: None,
                updated_at: at,
            };
            EventDraft {
                catalog: Some(store.catalog_row(&d.tenant_id, &d.event_id, &hit)),
                ..d
            }
        };
        let titles = |hits: Vec<CatalogHit>| hits.into_iter().map(|h| h.title).collect::<Vec<_>>();
        // One batch names the same document twice (the newer wins) and
        // another tenant's document of the same id.
        store
            .accept_events(
                &[
                    doc("default", "a", "Engine Warranty", 1_000),
                    doc("default", "b", "Hull Survey", 2_000),
                    doc("other", "c", "Engine Manual", 1_500),
                ],
                simple_plan,
            )
            .await
            .unwrap();
        let default = TenantId::from("default");
        let other = TenantId::from("other");
        // SQLite's full-text rows follow in a batch of their own: one per
        // document, once.
        let waiting = if store.catalog_indexer_needed() { 2 } else { 0 };
        assert_eq!(store.index_catalog().await.unwrap(), waiting, "{b}");
        assert_eq!(store.index_catalog().await.unwrap(), 0, "{b}");
        assert!(
            titles(store.search_catalog(&default, "warr").await.unwrap()).is_empty(),
            "{b}"
        );
        assert_eq!(
            titles(store.search_catalog(&default, "hull").await.unwrap()),
            ["Hull Survey"],
            "{b}"
        );
        assert!(
            titles(store.search_catalog(&default, "engine").await.unwrap()).is_empty(),
            "{b}"
        );
        assert_eq!(
            titles(store.search_catalog(&other, "engine").await.unwrap()),
            ["Engine Manual"],
            "{b}"
        );
        // An older event does not replace the newer entry; a repeated key
        // writes nothing.
        store
            .accept_events(
                &[
                    doc("default", "d", "Rigging Check", 1_500),
                    doc("default", "b", "Sails", 3_000),
                ],
                simple_plan,
            )
            .await
            .unwrap();
        assert!(
            titles(store.search_catalog(&default, "rigg").await.unwrap()).is_empty(),
            "{b}"
        );
        assert!(
            titles(store.search_catalog(&default, "sails").await.unwrap()).is_empty(),
            "{b}"
        );
        // A newer event replaces the entry and its words.
        store
            .accept_events(&[doc("default", "e", "Winter Storage", 4_000)], simple_plan)
            .await
            .unwrap();
        assert!(
            titles(store.search_catalog(&default, "hull").await.unwrap()).is_empty(),
            "{b}"
        );
        assert_eq!(
            titles(store.search_catalog(&default, "wint").await.unwrap()),
            ["Winter Storage"],
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_dashboard_session_lives_until_it_expires_is_ended_or_its_key_is_revoked() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let tenant = TenantId::from("default");
        let key = ApiKeyRow {
            id: "key_ui".into(),
            tenant_id: tenant.clone(),
            prefix: "fh_ui".into(),
            hash: "hash-of-key".into(),
            scopes: "read".into(),
            created_at: 1,
            last_used_at: None,
            revoked_at: None,
            name: None,
        };
        store
            .insert_api_key(&key, &Audit::new("test", "key.create", "key_ui"))
            .await
            .unwrap();
        store
            .create_ui_session("s1", &tenant, "key_ui", "csrf-1", 1_000, 2_000)
            .await
            .unwrap();
        store
            .create_ui_session("s2", &tenant, "key_ui", "csrf-2", 1_000, 9_000)
            .await
            .unwrap();
        let s = store.ui_session("s1", 1_500).await.unwrap().expect("live");
        assert_eq!(
            (s.scopes.as_str(), s.csrf.as_str()),
            ("read", "csrf-1"),
            "{b}"
        );
        assert_eq!(
            store.ui_session("s1", 2_000).await.unwrap(),
            None,
            "{b}: expired"
        );
        assert_eq!(store.ui_session("nope", 1_500).await.unwrap(), None, "{b}");
        // A new sign-in clears the expired ones.
        store
            .create_ui_session("s3", &tenant, "key_ui", "csrf-3", 3_000, 9_000)
            .await
            .unwrap();
        assert_eq!(
            store.ui_session("s1", 1_500).await.unwrap(),
            None,
            "{b}: cleared"
        );
        store.delete_ui_session("s3").await.unwrap();
        assert_eq!(
            store.ui_session("s3", 3_500).await.unwrap(),
            None,
            "{b}: signed out"
        );
        assert!(
            store.ui_session("s2", 3_500).await.unwrap().is_some(),
            "{b}"
        );
        assert!(store
            .revoke_api_key("key_ui", 3_600, &Audit::new("test", "key.revoke", "key_ui"))
            .await
            .unwrap());
        assert_eq!(
            store.ui_session("s2", 3_700).await.unwrap(),
            None,
            "{b}: the key is revoked"
        );
    }
}

/// Rolled-up hours and the live count give the same overview as counting
/// every notification, for windows that start mid-hour and on the hour.
#[tokio::test]
async fn the_rolled_up_overview_equals_counting_every_notification() {
    const HOUR: i64 = 3_600_000;
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let tenant = TenantId::from("default");
        let now = 100 * 24 * HOUR + 17 * 60_000;
        // Three notifications every 37 minutes over the last 5 days.
        on_db!(store, |pool, DB| {
            for i in 0..(5 * 24 * 60 / 37) {
                for (k, (status, provider, latency)) in [
                    ("sent", Some("mailgun"), Some(8)),
                    ("dead", Some("twilio"), Some(4_000)),
                    ("suppressed", None, None),
                ]
                .into_iter()
                .enumerate()
                {
                    let created = now - i * 37 * 60_000 - k as i64;
                    sqlx::query(
                        "INSERT INTO notifications (id, tenant_id, event_id, workflow, step, channel, recipient,
                           status, provider, created_at, updated_at, sent_at)
                         VALUES ($1, 'default', 'evt', 'w', 0, 'email', 'x', $2, $3, $4, $4, $5)",
                    )
                    .bind(format!("ntf_{i:05}_{k}"))
                    .bind(status)
                    .bind(provider)
                    .bind(created)
                    .bind(latency.map(|l: i64| created + l))
                    .execute(pool)
                    .await
                    .unwrap();
                }
            }
        });
        let sorted = |mut v: Vec<OverviewRow>| {
            v.sort_by(|a, b| {
                (&a.channel, &a.provider, &a.status, a.bucket).cmp(&(
                    &b.channel,
                    &b.provider,
                    &b.status,
                    b.bucket,
                ))
            });
            v
        };
        let windows = [
            now - 30 * 24 * HOUR,
            now - 3 * 24 * HOUR - 7 * 60_000,
            now - 2 * 24 * HOUR,
            now - HOUR,
        ];
        let before: Vec<_> = futures_like_all(&store, &tenant, &windows).await;
        let mut rolled = 0;
        loop {
            let n = store.roll_up_overview(now).await.unwrap();
            if n == 0 {
                break;
            }
            rolled += n;
        }
        assert!(rolled >= 4 * 24 - 1, "{b}: {rolled} hours");
        assert_eq!(
            store.roll_up_overview(now).await.unwrap(),
            0,
            "{b}: nothing left"
        );
        for (since, live) in windows.iter().zip(before) {
            let combined = store.delivery_overview(&tenant, *since).await.unwrap();
            assert_eq!(sorted(combined), sorted(live), "{b}: since {since}");
        }
        // A second node rolling up the same hours changes nothing.
        on_db!(store, |pool, DB| {
            sqlx::query("UPDATE overview_progress SET until_ms = until_ms - 48 * 3600000")
                .execute(pool)
                .await
                .unwrap();
        });
        while store.roll_up_overview(now).await.unwrap() > 0 {}
        let again = store.delivery_overview(&tenant, windows[0]).await.unwrap();
        let live = store
            .overview_live(&tenant, windows[0], i64::MAX)
            .await
            .unwrap();
        assert_eq!(
            sorted(again),
            sorted(live),
            "{b}: rolled twice, counted once"
        );
    }
}

async fn futures_like_all(
    store: &Store,
    tenant: &TenantId,
    since: &[i64],
) -> Vec<Vec<OverviewRow>> {
    let mut out = Vec::new();
    for s in since {
        out.push(store.overview_live(tenant, *s, i64::MAX).await.unwrap());
    }
    out
}
