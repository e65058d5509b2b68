//! Throwaway PostgreSQL databases (`foghorn_test_<ulid>`) beside the one a
//! URL names: the bench runs each system on a fresh one, and the tests'
//! `TestDb` (the `testing` module) makes one per test. Only names made here
//! are ever dropped.

use crate::Result;

/// The database name in a PostgreSQL URL.
pub(crate) fn database_name(url: &str) -> &str {
    let path = url.rsplit('/').next().unwrap_or_default();
    path.split('?').next().unwrap_or_default()
}

/// Drops the database `url` names, made by [`create_postgres_database`] on
/// the server `base` points at.
pub async fn drop_postgres_url(base: &str, url: &str) -> Result<()> {
    drop_postgres_database(base, database_name(url)).await
}

/// Drops database `name` on the server `base` points at, ending the
/// connections still open to it (a killed server's, a leaked pool's).
pub async fn drop_postgres_database(base: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    // The name is interpolated into SQL: only names this module makes.
    if !name.starts_with("foghorn_test_")
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(sqlx::Error::Protocol(format!("refusing to drop database {name:?}")).into());
    }
    let mut conn = sqlx::PgConnection::connect(base).await?;
    // WITH (FORCE) (PostgreSQL 13+) ends other sessions first; older
    // servers get them ended by hand.
    let forced = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
    if forced.is_err() {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name)
        .execute(&mut conn)
        .await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}

/// Creates `foghorn_test_<random>` on the server `base` points at and returns its URL.
pub async fn create_postgres_database(base: &str) -> Result<String> {
    use sqlx::Connection;
    let name = format!(
        "foghorn_test_{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let mut conn = sqlx::PgConnection::connect(base).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let (prefix, rest) = match base.rfind('/') {
        Some(i) if i > base.find("://").map(|j| j + 2).unwrap_or(0) => (&base[..i], &base[i + 1..]),
        _ => (base, ""),
    };
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    Ok(format!("{prefix}/{name}{query}"))
}

/// Columns a copied notification keeps as they are (the sealed recipient
/// among them: its seal is bound to the column, not the row).
const KEPT: &str = "tenant_id, event_id, workflow, step, channel, subscriber_id, recipient, \
     status_reason, grouping_key, provider, cost_micros, currency, attempts, parent_id, send_at";

/// Fills the database at `url` up to about `rows` notifications for the
/// dashboard benchmark, by copying the ones already there (real ones, made
/// through the API, so every copy opens with the server's key) `rows /
/// present` times: ids stay unique and sortable, creation times spread
/// evenly over the `spread_ms` before each original's, and one copy in 20
/// fails, one dies, one is suppressed, so the overview has every kind to
/// count. Set-based (one statement), so a million rows take seconds.
pub async fn multiply_notifications(url: &str, rows: i64, spread_ms: i64) -> Result<i64> {
    let store = crate::Store::connect(url, crate::crypto::Crypto::ephemeral()).await?;
    let pg = store.backend_name() == "postgres";
    // The copy numbers 1..=copies: a series in PostgreSQL, a recursive CTE
    // in SQLite (whose INSERT … SELECT from the same table reads the
    // originals before it writes, as PostgreSQL's snapshot does).
    let (with, numbers, n) = if pg {
        ("", "generate_series(1, $1::BIGINT) AS n", "n")
    } else {
        (
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)",
            "seq",
            "seq.n",
        )
    };
    let sql = format!(
        "{with} INSERT INTO notifications (id, {KEPT}, status, created_at, updated_at, sent_at)
         SELECT id || '.' || {n}, {KEPT},
           CASE {n} % 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'dead' WHEN 2 THEN 'suppressed' ELSE status END,
           created_at - ({n} * $2), updated_at - ({n} * $2),
           CASE WHEN {n} % 20 = 2 THEN NULL ELSE sent_at - ({n} * $2) + ({n} % 40) END
         FROM notifications CROSS JOIN {numbers}"
    );
    let count = "SELECT COUNT(*) FROM notifications";
    let total = crate::on_db!(store, |pool, DB| {
        let present: i64 = sqlx::query_scalar(count).fetch_one(pool).await?;
        let copies = (rows / present.max(1)).max(1) - 1;
        let step = spread_ms / copies.max(1);
        sqlx::query(&sql)
            .bind(copies)
            .bind(step)
            .execute(pool)
            .await?;
        sqlx::query("ANALYZE").execute(pool).await?;
        let total: i64 = sqlx::query_scalar(count).fetch_one(pool).await?;
        total
    });
    store.close().await;
    Ok(total)
}
