//! Waking workers on other nodes when jobs arrive (PostgreSQL LISTEN/NOTIFY).
//! On SQLite there is one node, which wakes its workers in-process.

use crate::{Backend, Result, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const CHANNEL: &str = "foghorn_jobs";

impl Store {
    /// Tells listening nodes that new jobs are due.
    pub async fn notify_workers(&self) -> Result<()> {
        if let Backend::Postgres(pool) = &self.backend {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(CHANNEL)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// On PostgreSQL, spawns a task that calls `notify.notify_one()` on every
    /// wake-up from any node; reconnects after errors. No-op on SQLite.
    pub fn spawn_wake_listener(&self, notify: Arc<Notify>) {
        let Backend::Postgres(pool) = &self.backend else {
            return;
        };
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                let listener = async {
                    let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
                    l.listen(CHANNEL).await?;
                    loop {
                        l.recv().await?;
                        notify.notify_one();
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), sqlx::Error>(())
                };
                let result = listener.await;
                if pool.is_closed() {
                    return;
                }
                if let Err(e) = result {
                    tracing::warn!(error = %e, "job wake-up listener failed; polling until it reconnects");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}
