//! Foghorn's storage: one interface, [`Store`], over two backends — an
//! embedded SQLite file (the default) and PostgreSQL (for several nodes).
//!
//! Each query is written once in the SQL both engines share (`$1`
//! placeholders, `RETURNING`, `ON CONFLICT`); the `on_db!` macro expands a
//! body once per backend so the compiler checks both. Dialect-specific SQL is
//! kept to the job claim (`FOR UPDATE SKIP LOCKED`) and to the batched
//! statements of the hot paths (`batch_sql`: arrays on PostgreSQL).
//!
//! Error policy: every method returns [`StoreError`]; callers map it at their
//! edge. Every method that touches tenant data takes the tenant id, so
//! isolation is a property of this layer, not of each handler.

mod accept;
mod acknowledgements;
mod audit;
mod batch_sql;
mod budgets;
mod calls;
mod canary;
mod cancel_by_group;
pub mod catalog;
mod costs;
pub mod crypto;
mod digests;
mod gdpr;
mod inbound;
mod keys;
mod links;
mod migrations;
mod notifications;
mod overview;
mod people;
pub mod planning_facts;
mod proof;
mod queue;
mod reseal;
mod retention;
mod rows;
mod sandbox;
pub mod scratch;
mod subscribers;
mod suppressions;
mod team;
mod tenant_providers;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod ui_sessions;
mod unsubscribe;
mod wake;
mod whatsapp;
mod workflows;

pub use accept::{
    AcceptFacts, AcceptResult, Accepted, EventDraft, LeaseFresh, NewDigest, NewNotification, Plan,
    SubscriberMap, SMS_CAP_WINDOW_MS,
};
pub use acknowledgements::Acknowledgement;
pub use audit::{Audit, AuditRow, ChainBreak, Chained};
pub use budgets::SpendRow;
pub use calls::CallScript;
pub use canary::Canary;
pub use costs::CostRow;
pub use digests::DigestEntry;
pub use foghorn_core::TenantId;
pub use gdpr::{Erased, PersonalData};
pub use inbound::{
    progress, ConsentAction, Effect, InboundItem, InboundSource, InboundSummary, SystemMessage,
    Target, SEEN_RETENTION_MS, SOFT_BOUNCE,
};
pub use keys::{TenantRow, DEFAULT_TENANT, OPERATOR_TENANT};
pub use links::ShortLink;
pub use notifications::{NotificationFilter, Page};
pub use overview::{OverviewRow, LATENCY_BOUNDS_MS};
pub use people::{Choice, Choices, PolicyPart, PreferenceChange, SendChecks};
pub use proof::{ProofFacts, ProofKey};
pub use queue::{Attempt, ClaimedJob, Outcome, OutcomeKind};
pub use retention::Kept;
pub use rows::*;
pub use tenant_providers::TenantProviderRow;
pub use ui_sessions::UiSession;
pub use unsubscribe::{UnsubscribeTarget, Unsubscribed};
pub use whatsapp::{NewMedia, StoredMedia, WINDOW_MS as WHATSAPP_WINDOW_MS};

use crypto::Crypto;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, QueryBuilder, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database url `{0}` (expected sqlite://… or postgres://…)")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: sqlx::Error,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// SQLite keeps one writer connection (SQLite admits one writer at a time, and
/// queueing in the pool is cheaper than busy-waiting on the file lock) and a
/// few readers, which WAL lets run beside the writer.
#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite { write: SqlitePool, read: SqlitePool },
    Postgres(PgPool),
}

#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    /// Seals personal data and secrets on write, opens them on read.
    pub(crate) crypto: Crypto,
}

/// Expands `$body` once per backend, with `$pool` bound to that backend's
/// pool (the writer for SQLite) and `$db` naming its `sqlx::Database` type.
macro_rules! on_db {
    ($store:expr, |$pool:ident, $db:ident| $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite { write: $pool, .. } => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                // Take the write lock up front: a deferred transaction that
                // reads first fails at once (no busy wait) when another
                // process wrote meanwhile.
                #[allow(dead_code)]
                const BEGIN: &str = "BEGIN IMMEDIATE";
                $body
            }
            $crate::Backend::Postgres($pool) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                #[allow(dead_code)]
                const BEGIN: &str = "BEGIN";
                $body
            }
        }
    };
}

/// Like [`on_db!`] but with SQLite's reader pool, for queries that only read.
macro_rules! on_read {
    ($store:expr, |$pool:ident, $db:ident| $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite { read: $pool, .. } => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                $body
            }
            $crate::Backend::Postgres($pool) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                $body
            }
        }
    };
}
pub(crate) use on_db;
pub(crate) use on_read;

/// Appends `(v1, v2, …)`, each value bound: the list an `IN` takes.
pub(crate) fn push_list<'a, DB, T>(
    q: &mut QueryBuilder<'a, DB>,
    values: impl IntoIterator<Item = T>,
) where
    DB: sqlx::Database,
    T: 'a + sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push("(");
    let mut sep = q.separated(", ");
    for v in values {
        sep.push_bind(v);
    }
    q.push(")");
}

/// `($start, $start+1, …)`, `count` numbered placeholders: an `IN` list or
/// a VALUES row for functions generic over the backend, where a
/// `QueryBuilder` cannot be used (its borrow does not satisfy the
/// executor's bounds there).
pub(crate) fn numbered(start: usize, count: usize) -> String {
    let mut out = String::from("(");
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&(start + i).to_string());
    }
    out.push(')');
    out
}

/// Rows per multi-row INSERT: stays under SQLite's 32,766 and PostgreSQL's
/// 65,535 bind parameters for the widest table.
pub(crate) const INSERT_CHUNK: usize = 1_000;

impl Store {
    /// Opens (and for SQLite creates) the database. Does not migrate.
    /// `crypto` seals and opens the encrypted columns.
    pub async fn connect(url: &str, crypto: Crypto) -> Result<Store> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a 202 means the event survives power loss, not only a
                // process crash. Group commit keeps this cheap.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-8000");
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(opts.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(4)
                .min_connections(0)
                .connect_with(opts.read_only(false))
                .await?;
            Ok(Store {
                backend: Backend::Sqlite { write, read },
                crypto,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // PostgreSQL sends a NOTICE for every `IF NOT EXISTS` that finds
            // its object ("relation schema_migrations already exists,
            // skipping"), which sqlx logs at INFO on every start: warnings
            // and errors are what an operator needs to see.
            let opts =
                PgConnectOptions::from_str(url)?.options([("client_min_messages", "warning")]);
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Store {
                backend: Backend::Postgres(pool),
                crypto,
            })
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    pub fn crypto(&self) -> &Crypto {
        &self.crypto
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The PostgreSQL pool, for LISTEN/NOTIFY wake-ups between nodes.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.backend {
            Backend::Postgres(p) => Some(p),
            Backend::Sqlite { .. } => None,
        }
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        on_read!(self, |pool, DB| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(p) => p.close().await,
        }
    }
}

/// Database URLs may carry a password; never echo it back.
fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://…"),
        None => "…".into(),
    }
}

#[cfg(test)]
mod inbound_tests;
#[cfg(test)]
mod proof_tests;
#[cfg(test)]
mod status_sql_tests;
#[cfg(test)]
mod tests;
