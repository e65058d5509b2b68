//! Versioned schema migrations, applied in order inside one transaction each
//! and recorded in `schema_migrations`, so `foghorn migrate` and start-up on a
//! fresh file do the same thing and a second run does nothing.

use crate::{on_db, Result, Store, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
    /// What one backend needs beyond the shared SQL (full-text search).
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/0001_init.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 2,
        name: "security",
        sql: include_str!("../migrations/0002_security.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 3,
        name: "inbound",
        sql: include_str!("../migrations/0003_inbound.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 4,
        name: "outbound",
        sql: include_str!("../migrations/0004_outbound.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 5,
        name: "hardening",
        sql: include_str!("../migrations/0005_hardening.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 6,
        name: "idempotency",
        sql: include_str!("../migrations/0006_idempotency.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 7,
        name: "opt_outs",
        sql: include_str!("../migrations/0007_opt_outs.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 8,
        name: "people",
        sql: include_str!("../migrations/0008_people.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 9,
        name: "team",
        sql: include_str!("../migrations/0009_team.sql"),
        sqlite: include_str!("../migrations/0009_team.sqlite.sql"),
        postgres: include_str!("../migrations/0009_team.postgres.sql"),
    },
    Migration {
        version: 10,
        name: "destinations",
        sql: include_str!("../migrations/0010_destinations.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 11,
        name: "escalation",
        sql: include_str!("../migrations/0011_escalation.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 12,
        name: "whatsapp",
        sql: include_str!("../migrations/0012_whatsapp.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 13,
        name: "catalog_rowid",
        sql: include_str!("../migrations/0013_catalog_rowid.sql"),
        sqlite: include_str!("../migrations/0013_catalog_rowid.sqlite.sql"),
        postgres: "",
    },
    Migration {
        version: 14,
        name: "catalog_index",
        sql: include_str!("../migrations/0014_catalog_index.sql"),
        sqlite: include_str!("../migrations/0014_catalog_index.sqlite.sql"),
        postgres: "",
    },
    Migration {
        version: 15,
        name: "media_owner",
        sql: include_str!("../migrations/0015_media_owner.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 16,
        name: "dashboard",
        sql: include_str!("../migrations/0016_dashboard.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 17,
        name: "navidocs_pack",
        sql: include_str!("../migrations/0017_navidocs_pack.sql"),
        sqlite: "",
        postgres: "",
    },
    Migration {
        version: 18,
        name: "lean_indexes",
        sql: include_str!("../migrations/0018_lean_indexes.sql"),
        sqlite: "",
        postgres: "",
    },
];

/// Statements are split on `;` at line ends; the migration files keep to that.
fn statements(sql: &str) -> impl Iterator<Item = String> + '_ {
    let mut current = String::new();
    let mut out = Vec::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out.into_iter()
}

impl Store {
    /// Applies every migration not yet applied; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        on_db!(self, |pool, DB| {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .execute(pool)
            .await?;
        });
        let mut applied = Vec::new();
        for m in MIGRATIONS {
            let done = on_db!(self, |pool, DB| {
                let mut tx = pool.begin_with(BEGIN).await?;
                // Several nodes may start at once on PostgreSQL: the row lock
                // from this insert makes the others wait, then skip.
                let inserted = sqlx::query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)
                     ON CONFLICT (version) DO NOTHING",
                )
                .bind(m.version)
                .bind(m.name)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    tx.rollback().await?;
                    false
                } else {
                    let dialect = match &self.backend {
                        crate::Backend::Sqlite { .. } => m.sqlite,
                        crate::Backend::Postgres(_) => m.postgres,
                    };
                    for stmt in statements(m.sql).chain(statements(dialect)) {
                        sqlx::query(&stmt)
                            .execute(&mut *tx)
                            .await
                            .map_err(|source| StoreError::Migration {
                                version: m.version,
                                name: m.name,
                                source,
                            })?;
                    }
                    tx.commit().await?;
                    true
                }
            });
            if done {
                applied.push(m.version);
            }
        }
        Ok(applied)
    }

    /// The highest applied migration version.
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = on_db!(self, |pool, DB| {
            sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
                .fetch_one(pool)
                .await?
        });
        Ok(v.unwrap_or(0))
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
