//! Fresh, isolated databases for tests: a temporary SQLite file, or a new
//! PostgreSQL database created beside the one `FOGHORN_TEST_DATABASE_URL`
//! names (so parallel tests never see each other's rows). Each database is
//! dropped again when its [`TestDb`] goes, a failing test's too.

use crate::{Result, Store};

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// The server URL it was created from and its name, to drop it.
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir for a test database");
        let url = format!("sqlite://{}", dir.path().join("foghorn.db").display());
        TestDb {
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// None when `FOGHORN_TEST_DATABASE_URL` is not set.
    pub async fn postgres() -> Option<TestDb> {
        let base = std::env::var("FOGHORN_TEST_DATABASE_URL").ok()?;
        let url = create_postgres_database(&base)
            .await
            .expect("create a PostgreSQL test database");
        let name = database_name(&url).to_string();
        Some(TestDb {
            url,
            _dir: None,
            postgres: Some((base, name)),
        })
    }

    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, crate::crypto::Crypto::ephemeral())
            .await
            .expect("connect test database");
        store.migrate().await.expect("migrate test database");
        store
    }
}

impl Drop for TestDb {
    /// Drop runs inside the test's runtime (and during a panic), where
    /// blocking on async work is not allowed: the database is dropped from
    /// a thread of its own with its own small runtime, and waited for.
    fn drop(&mut self) {
        let Some((base, name)) = self.postgres.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(drop_postgres_database(&base, &name))
                .map_err(|e| format!("{name}: {e}"))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {e}"),
            Err(_) => eprintln!("could not drop a test database: the dropping thread panicked"),
        }
    }
}

/// The database name in a PostgreSQL URL.
fn database_name(url: &str) -> &str {
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

/// Runs raw SQL against a test database (tests that tamper with rows).
pub async fn execute(url: &str, sql: &str) -> Result<u64> {
    let store = Store::connect(url, crate::crypto::Crypto::ephemeral()).await?;
    let n = crate::on_db!(store, |pool, DB| {
        sqlx::query::<DB>(sql).execute(pool).await?.rows_affected()
    });
    store.close().await;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    async fn exists(base: &str, name: &str) -> bool {
        let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        n == 1
    }

    #[tokio::test]
    async fn a_test_database_is_dropped_even_when_the_test_panics() {
        let Ok(base) = std::env::var("FOGHORN_TEST_DATABASE_URL") else {
            return;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let failing = tokio::spawn(async move {
            let db = TestDb::postgres().await.unwrap();
            // An open pool, as a test that panics mid-way leaves it.
            let store = db.store().await;
            tx.send(database_name(&db.url).to_string()).unwrap();
            let _keep = store;
            panic!("the test fails");
        });
        assert!(failing.await.is_err());
        let name = rx.await.unwrap();
        assert!(name.starts_with("foghorn_test_"), "{name}");
        assert!(!exists(&base, &name).await, "{name} is left behind");
    }
}
