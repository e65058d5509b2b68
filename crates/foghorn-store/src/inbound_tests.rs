//! The inbound contract (callbacks, suppressions, consent, the accept-time
//! facts) on SQLite and, when `FOGHORN_TEST_DATABASE_URL` is set, PostgreSQL.

use crate::crypto::{Crypto, KeyRing, MasterKey};
use crate::testing::TestDb;
use crate::*;
use foghorn_core::{ids, Channel, Status};

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

fn draft(tenant: &str, subs: &[&str], addresses: &[&str]) -> EventDraft {
    EventDraft {
        tenant_id: tenant.into(),
        event_id: ids::event_id(),
        name: "document.uploaded".into(),
        idempotency_key: None,
        grouping_key: None,
        data: "{}".into(),
        subscriber_ids: subs.iter().map(|s| s.to_string()).collect(),
        addresses: addresses.iter().map(|s| s.to_string()).collect(),
        created_at: now_ms(),
        fingerprint: None,
        catalog: None,
        needs: Default::default(),
    }
}

fn now_ms() -> i64 {
    crate::migrations::now_ms()
}

fn notification(channel: &str, subscriber: Option<&str>) -> NewNotification {
    NewNotification {
        id: ids::notification_id(),
        workflow: "document.uploaded".into(),
        step: 0,
        channel: channel.parse().expect("a channel"),
        subscriber_id: subscriber.map(str::to_string),
        recipient: r#"{"address":{"kind":"email","value":"a@example.com"}}"#.into(),
        status: Status::Queued,
        status_reason: None,
        send_at: None,
        run_at: Some(0),
        escalates: None,
        series_offset: None,
        category: None,
        dedupe_hash: None,
    }
}

/// Accepts one email notification and records it sent with `pmid`.
async fn sent_notification(store: &Store, tenant: &str, pmid: &str) -> String {
    let n = notification("email", None);
    let id = n.id.clone();
    store
        .accept_events(&[draft(tenant, &[], &[])], |_, _| {
            Ok::<_, String>(Plan {
                digests: Vec::new(),
                digested_into: Vec::new(),
                notifications: vec![n.clone()],
                response: "{}".into(),
            })
        })
        .await
        .unwrap();
    let jobs = store.claim_jobs("w", now_ms(), 60_000, 100).await.unwrap();
    let job = jobs.iter().find(|j| j.notification.id == id).unwrap();
    let o = Outcome {
        notification_id: job.notification.id.clone(),
        tenant_id: tenant.into(),
        attempt: None,
        kind: OutcomeKind::Sent {
            provider_message_id: Some(pmid.into()),
            cost_micros: Some(7_500),
            currency: Some("USD".into()),
            captured: None,
            note: None,
        },
    };
    assert_eq!(store.record_outcomes("w", now_ms(), &[o]).await.unwrap(), 1);
    id
}

fn src(tenant: &TenantId) -> InboundSource<'_> {
    InboundSource {
        tenant_id: tenant,
        kind: "mailgun",
        provider: "mailgun",
    }
}

fn about(pmid: &str, event_id: &str) -> InboundItem {
    InboundItem {
        event_id: Some(event_id.into()),
        target: Some(Target {
            notification_id: None,
            provider_message_id: Some(pmid.into()),
        }),
    }
}

fn status(status: Status, reason: Option<&str>) -> Vec<Effect> {
    vec![
        Effect::Status {
            status,
            reason: reason.map(str::to_string),
        },
        Effect::Timeline {
            kind: status.as_str().into(),
            code: None,
            detail: Some("owner@example.com said hello".into()),
        },
    ]
}

#[tokio::test]
async fn reports_move_statuses_forward_once_and_stay_in_their_tenant() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let id = sent_notification(&store, "default", "pm-1").await;
        let apply = |item: InboundItem, tenant: &'static str, effects: Vec<Effect>| {
            let store = store.clone();
            async move {
                store
                    .apply_inbound(
                        &src(&TenantId::from(tenant)),
                        &[item],
                        now_ms(),
                        move |_, n| {
                            assert!(n.is_some());
                            effects.clone()
                        },
                    )
                    .await
                    .unwrap()
            }
        };
        let get = || async {
            store
                .notification(&TenantId::from("default"), &id)
                .await
                .unwrap()
                .unwrap()
        };

        let s = apply(
            about("pm-1", "e1"),
            "default",
            status(Status::Bounced, Some("soft bounce (421)")),
        )
        .await;
        assert_eq!((s.applied, s.repeats, s.unknown), (1, 0, 0), "{b}");
        assert_eq!(get().await.status, "bounced");
        // A delivery supersedes a soft bounce; a late `sent` undoes nothing.
        apply(
            about("pm-1", "e2"),
            "default",
            status(Status::Delivered, None),
        )
        .await;
        assert_eq!(get().await.status, "delivered", "{b}");
        apply(about("pm-1", "e3"), "default", status(Status::Sent, None)).await;
        apply(
            about("pm-1", "e4"),
            "default",
            status(Status::Bounced, Some("hard bounce (550)")),
        )
        .await;
        let n = get().await;
        assert_eq!(
            (n.status.as_str(), n.status_reason),
            ("delivered", None),
            "{b}"
        );

        // A repeat is applied once.
        let s = apply(about("pm-1", "e2"), "default", status(Status::Read, None)).await;
        assert_eq!((s.applied, s.repeats), (0, 1), "{b}");
        assert_eq!(get().await.status, "delivered");

        // Another tenant's report cannot reach the notification.
        let s = apply(about("pm-1", "e9"), "t2", status(Status::Read, None)).await;
        assert_eq!((s.applied, s.unknown), (0, 1), "{b}");
        let by_id = InboundItem {
            event_id: Some("e10".into()),
            target: Some(Target {
                notification_id: Some(id.clone()),
                provider_message_id: None,
            }),
        };
        let s = apply(by_id.clone(), "t2", status(Status::Read, None)).await;
        assert_eq!(s.unknown, 1, "{b}");
        assert_eq!(get().await.status, "delivered");

        // The final price replaces the estimate.
        let mut effects = status(Status::Read, None);
        effects.push(Effect::Cost {
            micros: 8_100,
            currency: "EUR".into(),
        });
        apply(by_id, "default", effects).await;
        let n = get().await;
        assert_eq!(n.status, "read", "{b}");
        assert_eq!(
            (n.cost_micros, n.currency.as_deref()),
            (Some(8_100), Some("EUR"))
        );

        let timeline = store
            .timeline(&TenantId::from("default"), &id)
            .await
            .unwrap();
        assert_eq!(
            timeline.len(),
            5,
            "{b}: every fresh report is on the timeline"
        );
        assert_eq!(
            timeline[0].detail.as_deref(),
            Some("owner@example.com said hello")
        );
        assert!(store
            .timeline(&TenantId::from("t2"), &id)
            .await
            .unwrap()
            .is_empty());
        let raw: Vec<(Option<String>,)> = on_db!(store, |pool, DB| {
            sqlx::query_as::<DB, (Option<String>,)>("SELECT detail FROM timeline")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert!(
            raw.iter()
                .all(|(d,)| !d.as_deref().unwrap_or("").contains("owner")),
            "{b}: details are sealed"
        );

        // Old event ids are forgotten.
        assert_eq!(
            store.prune_inbound_seen(now_ms() + 1).await.unwrap(),
            5,
            "{b}"
        );
    }
}

#[tokio::test]
async fn suppressions_reach_the_planner_and_survive_key_rotation() {
    for (db, _) in backends().await {
        let old = MasterKey::generate();
        let store = Store::connect(
            &db.url,
            Crypto::new(KeyRing {
                keys: vec![old.clone()],
            }),
        )
        .await
        .unwrap();
        let b = store.backend_name();
        let sms = "+15555550142";
        let email = "owner@example.com";
        let msg = InboundItem {
            event_id: Some("message:1".into()),
            target: None,
        };
        let effects = vec![
            Effect::Consent {
                channel: Channel::Sms,
                address: sms.into(),
                action: ConsentAction::OptOut,
                keyword: Some("STOP".into()),
                source: "sms keyword".into(),
            },
            Effect::Suppress {
                channel: Channel::Sms,
                address: sms.into(),
                reason: "unsubscribed".into(),
                source: "sms keyword".into(),
            },
            Effect::Suppress {
                channel: Channel::Email,
                address: email.into(),
                reason: "bounced".into(),
                source: "mailgun hard bounce".into(),
            },
            // Already there: kept as it was.
            Effect::Suppress {
                channel: Channel::Email,
                address: email.into(),
                reason: "complained".into(),
                source: "mailgun complaint".into(),
            },
        ];
        let s = store
            .apply_inbound(
                &src(&TenantId::from("default")),
                &[msg],
                now_ms(),
                |_, n| {
                    assert!(n.is_none());
                    effects.clone()
                },
            )
            .await
            .unwrap();
        assert_eq!(s.applied, 1, "{b}");

        let check = |sms_suppressed: bool| {
            let store = store.clone();
            async move {
                let mut seen = None;
                store
                    .accept_events(&[draft("default", &[], &[email, sms])], |d, facts| {
                        seen = facts
                            .suppression(&d.tenant_id, Channel::Email, email)
                            .map(str::to_string);
                        assert_eq!(
                            facts.suppression(&d.tenant_id, Channel::Sms, sms).is_some(),
                            sms_suppressed
                        );
                        assert!(facts
                            .suppression(&d.tenant_id, Channel::Sms, email)
                            .is_none());
                        assert!(facts
                            .suppression(&TenantId::from("t2"), Channel::Email, email)
                            .is_none());
                        Ok::<_, String>(Plan {
                            digests: Vec::new(),
                            digested_into: Vec::new(),
                            notifications: vec![],
                            response: "{}".into(),
                        })
                    })
                    .await
                    .unwrap();
                assert_eq!(seen.as_deref(), Some("bounced"));
            }
        };
        check(true).await;

        // Rotation: the old key still finds the entries; after re-sealing,
        // the new key alone does.
        let sealed: (String,) = on_db!(store, |pool, DB| {
            sqlx::query_as::<DB, (String,)>("SELECT address FROM suppressions LIMIT 1")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert!(sealed.0.starts_with(&format!("enc1:{}:", old.id)), "{b}");
        let new_key = MasterKey::generate();
        store.crypto.replace(KeyRing {
            keys: vec![new_key.clone(), old.clone()],
        });
        check(true).await;
        assert!(store.reseal_all(|_| {}).await.unwrap() >= 3, "{b}");
        store.crypto.replace(KeyRing {
            keys: vec![new_key],
        });
        check(true).await;
        let page = store
            .suppressions(&TenantId::from("default"), None, None, 10)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2, "{b}");
        assert!(page
            .items
            .iter()
            .any(|s| s.address.as_deref() == Some(email) && s.reason == "bounced"));
        let ledger = store
            .consent_history(&TenantId::from("default"), Channel::Sms, sms)
            .await
            .unwrap();
        assert_eq!(ledger.len(), 1, "{b}");
        assert_eq!(
            (ledger[0].action.as_str(), ledger[0].keyword.as_deref()),
            ("opt_out", Some("STOP"))
        );

        // Lifting one.
        let audit = Audit::new("test", "suppression.remove", "");
        assert!(store
            .lift_suppression(
                &TenantId::from("default"),
                Channel::Sms,
                sms,
                &audit,
                now_ms()
            )
            .await
            .unwrap());
        assert!(!store
            .lift_suppression(
                &TenantId::from("default"),
                Channel::Sms,
                sms,
                &audit,
                now_ms()
            )
            .await
            .unwrap());
        check(false).await;
        assert_eq!(store.verify_audit().await.unwrap(), Ok(3), "{b}");
    }
}

#[tokio::test]
async fn answers_are_queued_through_the_outbox_and_sms_are_counted() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let reply = SystemMessage {
            event_name: "system.sms_reply".into(),
            workflow: "system.sms_reply".into(),
            channel: Channel::Sms,
            data: r#"{"text":"bye"}"#.into(),
            recipient: r#"{"address":{"kind":"phone","value":"+15555550142"}}"#.into(),
        };
        let s = store
            .apply_inbound(
                &src(&TenantId::from("default")),
                &[InboundItem::default()],
                now_ms(),
                |_, _| vec![Effect::Send(reply.clone())],
            )
            .await
            .unwrap();
        assert_eq!(s.queued.len(), 1, "{b}");
        let jobs = store.claim_jobs("w", now_ms(), 60_000, 10).await.unwrap();
        assert_eq!(jobs.len(), 1, "{b}");
        assert_eq!(jobs[0].notification.id, s.queued[0]);
        assert_eq!(jobs[0].event_name, "system.sms_reply");
        assert!(jobs[0].event_data.contains("bye"));
        assert!(jobs[0].notification.recipient.contains("+15555550142"));

        // The daily count: SMS to the subscriber, not suppressed ones nor email.
        store
            .put_subscriber(
                &SubscriberRow {
                    tenant_id: "default".into(),
                    external_id: "s1".into(),
                    data: "{}".into(),
                    ..Default::default()
                },
                &Audit::new("test", "subscriber.put", "s1"),
            )
            .await
            .unwrap();
        let mut suppressed = notification("sms", Some("s1"));
        suppressed.status = Status::Suppressed;
        suppressed.run_at = None;
        let batch = vec![
            notification("sms", Some("s1")),
            notification("sms", Some("s1")),
            notification("email", Some("s1")),
            suppressed,
        ];
        store
            .accept_events(&[draft("default", &["s1"], &[])], |_, facts| {
                assert_eq!(facts.sms_count(&TenantId::from("default"), "s1"), 0);
                Ok::<_, String>(Plan {
                    digests: Vec::new(),
                    digested_into: Vec::new(),
                    notifications: batch.clone(),
                    response: "{}".into(),
                })
            })
            .await
            .unwrap();
        let drafts = [
            draft("default", &["s1"], &[]),
            draft("default", &["s1"], &[]),
        ];
        let mut counts = Vec::new();
        store
            .accept_events(&drafts, |_, facts| {
                counts.push(facts.sms_count(&TenantId::from("default"), "s1"));
                facts.count_sms(&TenantId::from("default"), "s1");
                Ok::<_, String>(Plan {
                    digests: Vec::new(),
                    digested_into: Vec::new(),
                    notifications: vec![],
                    response: "{}".into(),
                })
            })
            .await
            .unwrap();
        assert_eq!(counts, vec![2, 3], "{b}: the batch counts what it plans");
    }
}
