//! What a proof of notice is built from: the tenant's signing key, one
//! consistent read of an event's notifications with their attempts,
//! receipts and acknowledgements, and the audit row that anchors an export.
//!
//! Key material is produced by the caller (the engine owns the
//! cryptography); this layer only keeps it, the secret half sealed.

use crate::audit::{append, Audit, Chained};
use crate::{on_db, on_read, AttemptRow, EventRow, NotificationRow, Result, Store, TimelineRow};
use foghorn_core::TenantId;

/// A tenant's Ed25519 key for proofs, as stored. `Debug` shows no part of
/// the secret ([`foghorn_core::Secret`] redacts itself).
#[derive(Debug, Clone)]
pub struct ProofKey {
    /// The raw 32-byte public key, base64 (standard alphabet).
    pub public_key: String,
    /// The PKCS#8 document of the key pair, base64, opened.
    pub secret: foghorn_core::Secret,
    pub created_at: i64,
}

/// Everything an event's proof says, read in one snapshot so attempts and
/// receipts cannot be from different moments than their notifications.
#[derive(Debug, Clone)]
pub struct ProofFacts {
    pub event: EventRow,
    /// The event's notifications, escalations and fallbacks included,
    /// oldest first.
    pub notifications: Vec<NotificationRow>,
    /// Their attempts, oldest first.
    pub attempts: Vec<AttemptRow>,
    /// Their timelines (provider receipts and Foghorn's own entries),
    /// oldest first.
    pub timeline: Vec<TimelineRow>,
}

type KeyRow = (String, String, i64);

impl Store {
    /// The tenant's proof key, when one was made.
    pub async fn proof_key(&self, tenant_id: &TenantId) -> Result<Option<ProofKey>> {
        let row: Option<KeyRow> = on_read!(self, |pool, DB| {
            sqlx::query_as(
                "SELECT public_key, secret, created_at FROM proof_keys WHERE tenant_id = $1",
            )
            .bind(tenant_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(|r| self.open_proof_key(r)).transpose()
    }

    /// Keeps `public_key`/`secret` as the tenant's key unless it already has
    /// one, and answers the key that holds: two nodes making a key at once
    /// both end up signing with the one that was written first.
    pub async fn create_proof_key(
        &self,
        tenant_id: &TenantId,
        public_key: &str,
        secret: &str,
        now: i64,
    ) -> Result<ProofKey> {
        let sealed = self.crypto.seal("proof_keys.secret", secret);
        let row: KeyRow = on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            sqlx::query(
                "INSERT INTO proof_keys (tenant_id, public_key, secret, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(tenant_id)
            .bind(public_key)
            .bind(&sealed)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query_as(
                "SELECT public_key, secret, created_at FROM proof_keys WHERE tenant_id = $1",
            )
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            row
        });
        self.open_proof_key(row)
    }

    fn open_proof_key(&self, (public_key, secret, created_at): KeyRow) -> Result<ProofKey> {
        Ok(ProofKey {
            public_key,
            secret: foghorn_core::Secret::new(self.crypto.open("proof_keys.secret", &secret)?),
            created_at,
        })
    }

    /// The tenant's event `event_id` with everything that happened to its
    /// notifications; None when the tenant has no such event.
    pub async fn proof_facts(
        &self,
        tenant_id: &TenantId,
        event_id: &str,
    ) -> Result<Option<ProofFacts>> {
        // A snapshot across the four reads: PostgreSQL's default isolation
        // lets each statement see a newer state; SQLite's read transaction
        // holds one snapshot of the WAL already.
        let begin = if self.is_postgres() {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        } else {
            "BEGIN"
        };
        let facts = on_read!(self, |pool, DB| {
            let mut tx = pool.begin_with(begin).await?;
            let event = sqlx::query_as::<DB, EventRow>(
                "SELECT * FROM events WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(event) = event else {
                return Ok(None);
            };
            let notifications = sqlx::query_as::<DB, NotificationRow>(
                "SELECT * FROM notifications WHERE tenant_id = $1 AND event_id = $2
                 ORDER BY created_at, id",
            )
            .bind(tenant_id)
            .bind(event_id)
            .fetch_all(&mut *tx)
            .await?;
            let attempts = sqlx::query_as::<DB, AttemptRow>(
                "SELECT a.* FROM attempts a JOIN notifications n
                   ON n.tenant_id = a.tenant_id AND n.id = a.notification_id
                 WHERE a.tenant_id = $1 AND n.event_id = $2 ORDER BY a.created_at, a.id",
            )
            .bind(tenant_id)
            .bind(event_id)
            .fetch_all(&mut *tx)
            .await?;
            let timeline = sqlx::query_as::<DB, TimelineRow>(
                "SELECT t.* FROM timeline t JOIN notifications n
                   ON n.tenant_id = t.tenant_id AND n.id = t.notification_id
                 WHERE t.tenant_id = $1 AND n.event_id = $2 ORDER BY t.at, t.id",
            )
            .bind(tenant_id)
            .bind(event_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (event, notifications, attempts, timeline)
        });
        let (event, notifications, attempts, timeline) = facts;
        let c = &self.crypto;
        Ok(Some(ProofFacts {
            event: event.open(c)?,
            notifications: notifications
                .into_iter()
                .map(|n| n.open(c))
                .collect::<Result<_, _>>()?,
            attempts: attempts
                .into_iter()
                .map(|a| a.open(c))
                .collect::<Result<_, _>>()?,
            timeline: timeline
                .into_iter()
                .map(|t| t.open(c))
                .collect::<Result<_, _>>()?,
        }))
    }

    /// Records an export in the audit chain and answers the row's place in
    /// it, which the signed document then cites. `audit.detail` carries the
    /// document's digest, never what the document says about people.
    pub async fn anchor(&self, tenant_id: &TenantId, audit: &Audit, now: i64) -> Result<Chained> {
        Ok(on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            let chained = append::<DB>(&mut tx, tenant_id, audit, now).await?;
            tx.commit().await?;
            chained
        }))
    }
}
