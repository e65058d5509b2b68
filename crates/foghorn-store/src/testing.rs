//! Fresh, isolated databases for tests: a temporary SQLite file, or a new
//! PostgreSQL database created beside the one `FOGHORN_TEST_DATABASE_URL`
//! names (so parallel tests never see each other's rows). Each database is
//! dropped again when its [`TestDb`] goes, a failing test's too.
//!
//! Built for this crate's own tests and, through the `testing` feature,
//! for other crates' dev-dependencies only: the release build has neither
//! this module nor `tempfile`.
//!
//! Test support: a setup failure panics, which fails the test that asked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::scratch::database_name;
use crate::{Result, Store};

pub use crate::scratch::{create_postgres_database, drop_postgres_database, drop_postgres_url};

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
