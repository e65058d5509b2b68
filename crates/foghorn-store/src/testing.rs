//! Fresh, isolated databases for tests: a temporary SQLite file, or a new
//! PostgreSQL database created beside the one `FOGHORN_TEST_DATABASE_URL`
//! names (so parallel tests never see each other's rows).

use crate::{Result, Store};

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir for a test database");
        let url = format!("sqlite://{}", dir.path().join("foghorn.db").display());
        TestDb {
            url,
            _dir: Some(dir),
        }
    }

    /// None when `FOGHORN_TEST_DATABASE_URL` is not set.
    pub async fn postgres() -> Option<TestDb> {
        let base = std::env::var("FOGHORN_TEST_DATABASE_URL").ok()?;
        Some(TestDb {
            url: create_postgres_database(&base)
                .await
                .expect("create a PostgreSQL test database"),
            _dir: None,
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
