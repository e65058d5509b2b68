//! The proof's storage on both backends: one key per tenant whoever makes
//! it first, an event's facts only for its own tenant, and an anchor that
//! is a verifying row of the chain.

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

fn draft(event_id: &str) -> EventDraft {
    EventDraft {
        tenant_id: "default".into(),
        event_id: event_id.into(),
        name: "recall.issued".into(),
        idempotency_key: None,
        grouping_key: None,
        data: r#"{"boat":"Sea Breeze"}"#.into(),
        subscriber_ids: Vec::new(),
        addresses: Vec::new(),
        created_at: 1_000,
        fingerprint: None,
        catalog: None,
        needs: Default::default(),
    }
}

fn plan(_: &EventDraft, _: &mut AcceptFacts) -> Result<Plan, String> {
    let n = |channel| NewNotification {
        id: ids::notification_id(),
        workflow: "recall.issued".into(),
        step: 0,
        channel,
        subscriber_id: Some("owner-1".into()),
        recipient: r#"{"id":"owner-1","phone":"+12025550142"}"#.into(),
        status: Status::Queued,
        status_reason: None,
        send_at: None,
        run_at: Some(0),
        escalates: None,
        series_offset: None,
        category: None,
        dedupe_hash: None,
    };
    Ok(Plan {
        notifications: vec![n(Channel::Sms), n(Channel::Email)],
        digests: Vec::new(),
        digested_into: Vec::new(),
        response: "{}".into(),
    })
}

#[tokio::test]
async fn the_first_key_written_is_the_tenants_key() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let t = TenantId::from("default");
        assert!(store.proof_key(&t).await.unwrap().is_none(), "{b}");
        let first = store
            .create_proof_key(&t, "pub-a", "secret-a", 1)
            .await
            .unwrap();
        let second = store
            .create_proof_key(&t, "pub-b", "secret-b", 2)
            .await
            .unwrap();
        assert_eq!(
            (
                second.public_key.as_str(),
                second.secret.expose(),
                second.created_at
            ),
            ("pub-a", "secret-a", 1),
            "{b}: the second writer reads the first key back"
        );
        assert_eq!(first.public_key, "pub-a", "{b}");
        // The secret is sealed at rest.
        let stored: (String,) = on_read!(store, |pool, DB| {
            sqlx::query_as("SELECT secret FROM proof_keys WHERE tenant_id = 'default'")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_ne!(stored.0, "secret-a", "{b}");
        let other = TenantId::from("other");
        assert!(store.proof_key(&other).await.unwrap().is_none(), "{b}");
    }
}

#[tokio::test]
async fn an_events_facts_are_its_tenants_only_and_an_anchor_is_a_chain_row() {
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let t = TenantId::from("default");
        let event = ids::event_id();
        store.accept_events(&[draft(&event)], plan).await.unwrap();
        let facts = store.proof_facts(&t, &event).await.unwrap().unwrap();
        assert_eq!(facts.event.name, "recall.issued", "{b}");
        assert_eq!(facts.notifications.len(), 2, "{b}");
        assert!(
            facts.notifications[0].recipient.contains("+12025550142"),
            "{b}: opened"
        );
        assert!(
            facts.attempts.is_empty() && facts.timeline.is_empty(),
            "{b}"
        );
        let other = TenantId::from("other");
        assert!(
            store.proof_facts(&other, &event).await.unwrap().is_none(),
            "{b}"
        );
        assert!(
            store.proof_facts(&t, "evt_none").await.unwrap().is_none(),
            "{b}"
        );

        store
            .audit(&t, &Audit::new("test", "before", "x"), 5)
            .await
            .unwrap();
        let a = Audit::new("cli", "proof.export", &event)
            .with_detail(serde_json::json!({"document_sha256": "00"}));
        let chained = store.anchor(&t, &a, 6).await.unwrap();
        assert_eq!(chained.seq, 2, "{b}");
        let rows = store.audit_rows(Some(&t), 0, 10).await.unwrap();
        let row = rows.iter().find(|r| r.seq == chained.seq).unwrap();
        assert_eq!(
            (row.action.as_str(), row.hash.as_str()),
            ("proof.export", chained.hash.as_str()),
            "{b}"
        );
        assert_eq!(store.verify_audit().await.unwrap(), Ok(2), "{b}");
    }
}

#[tokio::test]
async fn a_proof_key_and_an_acknowledgement_survive_a_master_key_rotation() {
    use crate::crypto::{KeyRing, MasterKey};
    for (_db, store) in backends().await {
        let b = store.backend_name();
        let t = TenantId::from("default");
        store
            .create_proof_key(&t, "pub-a", "secret-a", 1)
            .await
            .unwrap();
        let event = ids::event_id();
        store.accept_events(&[draft(&event)], plan).await.unwrap();
        let facts = store.proof_facts(&t, &event).await.unwrap().unwrap();
        let id = facts.notifications[0].id.clone();
        on_db!(store, |pool, DB| {
            sqlx::query("UPDATE notifications SET status = 'sent' WHERE id = $1")
                .bind(&id)
                .execute(pool)
                .await
                .unwrap();
        });
        store
            .acknowledge(&t, &id, "recipient (link)", "link", 5)
            .await
            .unwrap()
            .unwrap();
        // The new key first, the old one kept for reading; re-seal; drop the old.
        let old = store.crypto().ring();
        let fresh = MasterKey::generate();
        let mut both = vec![fresh.clone()];
        both.extend(old.keys.iter().cloned());
        store.crypto().replace(KeyRing { keys: both });
        store.reseal_all(|_| {}).await.unwrap();
        store.crypto().replace(KeyRing { keys: vec![fresh] });
        let key = store.proof_key(&t).await.unwrap().unwrap();
        assert_eq!(key.secret.expose(), "secret-a", "{b}");
        let facts = store.proof_facts(&t, &event).await.unwrap().unwrap();
        let acked = facts.notifications.iter().find(|n| n.id == id).unwrap();
        assert_eq!(
            acked.acknowledged_by.as_deref(),
            Some("recipient (link)"),
            "{b}"
        );
    }
}
