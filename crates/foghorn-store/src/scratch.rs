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
