//! Re-sealing every encrypted value under the current key, for master key
//! rotation. Runs online: each value is replaced only if it is still the one
//! read (compare and swap), so a concurrent write is never overwritten.

use crate::{on_db, Result, Store};

/// (table, primary key columns, sealed column).
const SEALED: &[(&str, &[&str], &str)] = &[
    ("subscribers", &["tenant_id", "external_id"], "email"),
    ("subscribers", &["tenant_id", "external_id"], "phone"),
    ("subscribers", &["tenant_id", "external_id"], "whatsapp"),
    ("subscribers", &["tenant_id", "external_id"], "data"),
    ("events", &["id"], "data"),
    ("notifications", &["id"], "recipient"),
    ("notifications", &["id"], "acknowledged_by"),
    ("attempts", &["id"], "error"),
    ("sandbox_messages", &["id"], "recipient"),
    ("sandbox_messages", &["id"], "content"),
    ("tenant_providers", &["tenant_id", "name"], "config"),
    ("timeline", &["id"], "detail"),
    (
        "suppressions",
        &["tenant_id", "channel", "address_hash"],
        "address",
    ),
    ("consent_ledger", &["id"], "address"),
    ("short_links", &["code"], "url"),
    ("key_canary", &["id"], "sealed"),
    ("proof_keys", &["tenant_id"], "secret"),
];

const BATCH: i64 = 500;

impl Store {
    /// Re-seals values sealed by older keys; returns how many it changed.
    /// Look-up hashes of subscribers are recomputed with their values.
    pub async fn reseal_all(&self, progress: impl Fn(u64)) -> Result<u64> {
        let mut done = 0u64;
        let current = self.crypto.current_id();
        let fresh = format!("enc1:{current}:%");
        for (table, pk, col) in SEALED {
            let column = format!("{table}.{col}");
            let pk_list = pk.join(", ");
            let select = format!(
                "SELECT {pk_list}, {col} FROM {table} WHERE {col} LIKE 'enc1:%' AND {col} NOT LIKE $1 LIMIT {BATCH}"
            );
            let pk_match: Vec<String> = pk
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{k} = ${}", i + 3))
                .collect();
            let update = format!(
                "UPDATE {table} SET {col} = $1 WHERE {col} = $2 AND {}",
                pk_match.join(" AND ")
            );
            loop {
                let rows: Vec<Vec<String>> = on_db!(self, |pool, DB| {
                    use sqlx::Row;
                    sqlx::query::<DB>(&select)
                        .bind(&fresh)
                        .fetch_all(pool)
                        .await?
                        .iter()
                        .map(|r| {
                            (0..=pk.len())
                                .map(|i| r.try_get::<String, _>(i))
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .collect::<Result<Vec<_>, _>>()?
                });
                if rows.is_empty() {
                    break;
                }
                for row in rows {
                    let (keys, old) = row.split_at(pk.len());
                    let old = &old[0];
                    let plain = self.crypto.open(&column, old)?;
                    let new = self.crypto.seal(&column, &plain);
                    on_db!(self, |pool, DB| {
                        let mut q = sqlx::query::<DB>(&update).bind(new).bind(old.clone());
                        for k in keys {
                            q = q.bind(k.clone());
                        }
                        q.execute(pool).await?;
                    });
                    if *table == "subscribers" && (*col == "email" || *col == "phone") {
                        let hash_col = format!("{col}_hash");
                        let sql = format!("UPDATE subscribers SET {hash_col} = $1 WHERE tenant_id = $2 AND external_id = $3");
                        on_db!(self, |pool, DB| {
                            sqlx::query::<DB>(&sql)
                                .bind(self.crypto.lookup_hash(&plain))
                                .bind(keys[0].clone())
                                .bind(keys[1].clone())
                                .execute(pool)
                                .await?;
                        });
                    }
                    if *table == "suppressions" {
                        self.rehash_suppression(keys, &plain).await?;
                    }
                    if *table == "consent_ledger" {
                        on_db!(self, |pool, DB| {
                            sqlx::query::<DB>(
                                "UPDATE consent_ledger SET address_hash = $1 WHERE id = $2",
                            )
                            .bind(self.crypto.lookup_hash(&plain))
                            .bind(keys[0].clone())
                            .execute(pool)
                            .await?;
                        });
                    }
                    done += 1;
                    if done.is_multiple_of(1000) {
                        progress(done);
                    }
                }
            }
        }
        progress(done);
        Ok(done)
    }

    /// Moves a suppression (tenant, channel, old hash) to the address's hash
    /// under the current key; when that entry exists already, the old one
    /// is the duplicate and goes.
    async fn rehash_suppression(&self, keys: &[String], plain: &str) -> Result<()> {
        let Some(hash) = self.crypto.lookup_hash(plain) else {
            return Ok(());
        };
        if hash == keys[2] {
            return Ok(());
        }
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin().await?;
            sqlx::query::<DB>(
                "UPDATE suppressions SET address_hash = $1 WHERE tenant_id = $2 AND channel = $3 AND address_hash = $4
                 AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.tenant_id = $2 AND s.channel = $3 AND s.address_hash = $1)",
            )
            .bind(hash.clone())
            .bind(keys[0].clone())
            .bind(keys[1].clone())
            .bind(keys[2].clone())
            .execute(&mut *tx)
            .await?;
            sqlx::query::<DB>(
                "DELETE FROM suppressions WHERE tenant_id = $1 AND channel = $2 AND address_hash = $3",
            )
            .bind(keys[0].clone())
            .bind(keys[1].clone())
            .bind(keys[2].clone())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
