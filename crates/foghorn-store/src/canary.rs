//! The key canary: one sealed value that tells whether a key ring opens
//! this database's sealed data, checked when a node starts.

use crate::{on_db, on_read, Result, Store};

const ID: &str = "canary";
const COLUMN: &str = "key_canary.sealed";
const PLAIN: &str = "foghorn key canary";

/// What the canary says about the configured key ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canary {
    /// No canary and no sealed data: a new database, any key will do.
    Fresh,
    /// Sealed data from before the canary existed; it is written now.
    Unmarked,
    /// The ring opens the canary.
    Opens,
    /// The ring lacks the key the data was sealed with (its id).
    Needs(String),
}

impl Store {
    /// Reads the canary (and, without one, whether anything is sealed).
    pub async fn key_canary(&self) -> Result<Canary> {
        let sealed: Option<String> = on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, String>("SELECT sealed FROM key_canary WHERE id = $1")
                .bind(ID)
                .fetch_optional(pool)
                .await?
        });
        if let Some(sealed) = sealed {
            return Ok(match self.crypto.open(COLUMN, &sealed) {
                Ok(plain) if plain == PLAIN => Canary::Opens,
                _ => Canary::Needs(sealed.split(':').nth(1).unwrap_or("?").to_string()),
            });
        }
        let any: Option<i64> = on_read!(self, |pool, DB| {
            sqlx::query_scalar::<DB, i64>(
                "SELECT 1 FROM subscribers UNION ALL SELECT 1 FROM events
                 UNION ALL SELECT 1 FROM tenant_providers LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
        });
        Ok(if any.is_some() {
            Canary::Unmarked
        } else {
            Canary::Fresh
        })
    }

    /// Seals the canary under the current key unless one exists.
    pub async fn mark_key_canary(&self) -> Result<()> {
        let sealed = self.crypto.seal(COLUMN, PLAIN);
        on_db!(self, |pool, DB| {
            sqlx::query::<DB>(
                "INSERT INTO key_canary (id, sealed) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            )
            .bind(ID)
            .bind(&sealed)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
