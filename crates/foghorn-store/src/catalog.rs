//! The document catalog: what the tenant's events said about each
//! document (boat, title, kind, link, expiry), the latest per id, with a
//! full-text index per backend — FTS5 on SQLite (a table kept in the same
//! transaction), a generated `tsvector` with GIN on PostgreSQL.
//!
//! A title can name a person ("Elena Fischer's survey"), so the text is
//! sealed like every other personal field, and the index holds a blind
//! index instead of words: keyed hashes of each word's prefixes (3 to 20
//! characters), so `warr` finds "Warranty" and the database file holds
//! neither. A query is hashed the same way.

use crate::batch_sql::{int, text, BatchSql};
use crate::{on_db, on_read, Backend, Result, Store};
use foghorn_core::team::{CatalogHit, OpenAlert};
use foghorn_core::TenantId;

/// Words of a query at most, and results at most.
const MAX_TERMS: usize = 8;
/// Prefix lengths indexed: from 3 characters (shorter words whole) to 20.
const MIN_PREFIX: usize = 3;
const MAX_PREFIX: usize = 20;
pub const MAX_HITS: i64 = 25;

/// The words of a search, letters and digits only: nothing a user types
/// can reach FTS5's or `tsquery`'s own syntax.
fn terms(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(MAX_TERMS)
        .collect()
}

/// The blind-index token of one (prefix of a) word.
fn token(crypto: &crate::crypto::Crypto, word: &str) -> Option<String> {
    let hash = crypto.lookup_hash(&format!("catalog-word:{word}"))?;
    Some(format!("w{}", &hash[..hash.len().min(20)]))
}

/// The tokens of every prefix of every word of `texts`.
fn index_words(crypto: &crate::crypto::Crypto, texts: &[&str]) -> String {
    let mut out: Vec<String> = Vec::new();
    for text in texts {
        for word in terms_all(text) {
            let chars: Vec<char> = word.chars().take(MAX_PREFIX).collect();
            for len in chars.len().min(MIN_PREFIX)..=chars.len() {
                let prefix: String = chars[..len].iter().collect();
                if let Some(t) = token(crypto, &prefix) {
                    out.push(t);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out.join(" ")
}

/// The token a query word is looked up by: its prefix as indexed.
fn query_token(crypto: &crate::crypto::Crypto, word: &str) -> Option<String> {
    let prefix: String = word.chars().take(MAX_PREFIX).collect();
    token(crypto, &prefix)
}

fn terms_all(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// How a boat's name is found: case and spacing do not matter.
fn boat_key(crypto: &crate::crypto::Crypto, boat: &str) -> String {
    let name: Vec<String> = terms_all(boat).collect();
    crypto
        .lookup_hash(&format!("catalog-boat:{}", name.join(" ")))
        .unwrap_or_default()
}

type HitRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

fn hit(
    crypto: &crate::crypto::Crypto,
    (document_id, boat, title, kind, link, expires_on, updated_at): HitRow,
) -> Result<CatalogHit> {
    Ok(CatalogHit {
        document_id,
        boat: crypto.open("catalog_documents.boat", &boat)?,
        title: crypto.open("catalog_documents.title", &title)?,
        kind: crypto.open_opt("catalog_documents.kind", kind.as_deref())?,
        link: crypto.open_opt("catalog_documents.link", link.as_deref())?,
        expires_on,
        updated_at,
    })
}

fn hits(crypto: &crate::crypto::Crypto, rows: Vec<HitRow>) -> Result<Vec<CatalogHit>> {
    rows.into_iter().map(|r| hit(crypto, r)).collect()
}

const HIT_COLUMNS: &str =
    "d.document_id, d.boat, d.title, d.kind, d.link, d.expires_on, d.updated_at";

/// A catalog entry as its row holds it: sealed, with its blind index.
/// Made by [`Store::catalog_row`] in the request's task, so the one
/// writer only writes it.
#[derive(Debug, Clone)]
pub struct CatalogRow {
    tenant_id: String,
    document_id: String,
    boat: String,
    boat_key: String,
    title: String,
    kind: Option<String>,
    link: Option<String>,
    expires_on: Option<String>,
    words: String,
    event_id: String,
    updated_at: i64,
}

/// One row per document of a batch: the newest entry wins (the later one
/// on a tie), since one statement may not write a row twice on
/// PostgreSQL.
pub(crate) fn newest<'a>(rows: impl IntoIterator<Item = &'a CatalogRow>) -> Vec<&'a CatalogRow> {
    let mut kept: std::collections::HashMap<(&str, &str), usize> = Default::default();
    let mut out: Vec<&CatalogRow> = Vec::new();
    for row in rows {
        match kept.get(&(row.tenant_id.as_str(), row.document_id.as_str())) {
            Some(&i) if out[i].updated_at > row.updated_at => {}
            Some(&i) => out[i] = row,
            None => {
                kept.insert((&row.tenant_id, &row.document_id), out.len());
                out.push(row);
            }
        }
    }
    out
}

/// Appends the upsert of `rows` to `q`: an older entry never replaces a
/// newer one. On SQLite (`for_indexer`) a written row is marked for the
/// full-text indexer ([`Store::index_catalog`]).
pub(crate) fn push_catalog_upsert<DB: BatchSql>(
    q: &mut sqlx::QueryBuilder<'_, DB>,
    rows: &[&CatalogRow],
    for_indexer: bool,
) {
    q.push(
        "INSERT INTO catalog_documents (tenant_id, document_id, boat, boat_key, title, kind, link, expires_on, words, event_id, updated_at",
    );
    q.push(if for_indexer { ", indexed) " } else { ") " });
    let owned = |f: fn(&CatalogRow) -> &str| text(rows.iter().map(|r| Some(f(r).to_string())));
    let maybe =
        |f: fn(&CatalogRow) -> Option<&str>| text(rows.iter().map(|r| f(r).map(String::from)));
    let mut columns = vec![
        owned(|r| &r.tenant_id),
        owned(|r| &r.document_id),
        owned(|r| &r.boat),
        owned(|r| &r.boat_key),
        owned(|r| &r.title),
        maybe(|r| r.kind.as_deref()),
        maybe(|r| r.link.as_deref()),
        maybe(|r| r.expires_on.as_deref()),
        owned(|r| &r.words),
        owned(|r| &r.event_id),
        int(rows.iter().map(|r| Some(r.updated_at))),
    ];
    if for_indexer {
        columns.push(int(rows.iter().map(|_| Some(0))));
    }
    DB::push_table(q, columns);
    q.push(
        " ON CONFLICT (tenant_id, document_id) DO UPDATE SET boat = excluded.boat, boat_key = excluded.boat_key,
           title = excluded.title, kind = excluded.kind, link = excluded.link, expires_on = excluded.expires_on,
           words = excluded.words, event_id = excluded.event_id, updated_at = excluded.updated_at",
    );
    if for_indexer {
        q.push(", indexed = 0");
    }
    q.push(" WHERE catalog_documents.updated_at <= excluded.updated_at");
}

/// Documents the indexer brings up to date per transaction: few enough
/// that the accepts waiting for SQLite's one writer meanwhile wait a
/// millisecond or two, not the whole backlog.
pub const INDEX_BATCH: i64 = 250;

impl Store {
    /// Keeps the newest facts about a document.
    pub async fn put_catalog(
        &self,
        tenant_id: &TenantId,
        doc: &CatalogHit,
        event_id: &str,
    ) -> Result<()> {
        self.put_catalog_many(&[(tenant_id.clone(), event_id.to_string(), doc.clone())])
            .await
    }

    /// What `doc` (said by event `event_id`) is as its catalog row.
    pub fn catalog_row(
        &self,
        tenant_id: &TenantId,
        event_id: &str,
        doc: &CatalogHit,
    ) -> CatalogRow {
        let c = &self.crypto;
        CatalogRow {
            tenant_id: tenant_id.to_string(),
            document_id: doc.document_id.clone(),
            boat: c.seal("catalog_documents.boat", &doc.boat),
            boat_key: boat_key(c, &doc.boat),
            title: c.seal("catalog_documents.title", &doc.title),
            kind: c.seal_opt("catalog_documents.kind", doc.kind.as_deref()),
            link: c.seal_opt("catalog_documents.link", doc.link.as_deref()),
            expires_on: doc.expires_on.clone(),
            words: index_words(
                c,
                &[
                    &doc.title,
                    &doc.boat,
                    doc.kind.as_deref().unwrap_or_default(),
                ],
            ),
            event_id: event_id.to_string(),
            updated_at: doc.updated_at,
        }
    }

    /// Keeps a batch of documents in one transaction and one statement
    /// per chunk (on SQLite the full-text index follows).
    pub async fn put_catalog_many(&self, docs: &[(TenantId, String, CatalogHit)]) -> Result<()> {
        let made: Vec<CatalogRow> = docs
            .iter()
            .map(|(t, e, d)| self.catalog_row(t, e, d))
            .collect();
        let rows = newest(&made);
        if rows.is_empty() {
            return Ok(());
        }
        let for_indexer = self.catalog_indexer_needed();
        on_db!(self, |pool, DB| {
            let mut tx = pool.begin_with(BEGIN).await?;
            for chunk in rows.chunks(crate::INSERT_CHUNK) {
                let mut q = sqlx::QueryBuilder::<DB>::new("");
                push_catalog_upsert(&mut q, chunk, for_indexer);
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Whether documents wait for [`Store::index_catalog`] (SQLite's FTS5).
    pub fn catalog_indexer_needed(&self) -> bool {
        matches!(self.backend, Backend::Sqlite { .. })
    }

    /// Brings the full-text index up to date for at most [`INDEX_BATCH`]
    /// documents written since it last ran, in one transaction (one FTS5
    /// segment for them all); returns how many. Nothing to do on
    /// PostgreSQL.
    pub async fn index_catalog(&self) -> Result<usize> {
        let Backend::Sqlite { write, .. } = &self.backend else {
            return Ok(0);
        };
        let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT rowid, tenant_id, document_id, words FROM catalog_documents WHERE indexed = 0 LIMIT $1",
        )
        .bind(INDEX_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        for chunk in rows.chunks(crate::INSERT_CHUNK) {
            let mut q =
                sqlx::QueryBuilder::<sqlx::Sqlite>::new("DELETE FROM catalog_fts WHERE rowid IN ");
            crate::push_list(&mut q, chunk.iter().map(|r| r.0));
            q.build().execute(&mut *tx).await?;
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO catalog_fts (rowid, tenant_id, document_id, words) ",
            );
            q.push_values(chunk, |mut b, (rowid, tenant, doc, words)| {
                b.push_bind(rowid)
                    .push_bind(tenant)
                    .push_bind(doc)
                    .push_bind(words);
            });
            q.build().execute(&mut *tx).await?;
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "UPDATE catalog_documents SET indexed = 1 WHERE rowid IN ",
            );
            crate::push_list(&mut q, chunk.iter().map(|r| r.0));
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// The tenant's documents matching every word of `query`, newest first.
    pub async fn search_catalog(
        &self,
        tenant_id: &TenantId,
        query: &str,
    ) -> Result<Vec<CatalogHit>> {
        let words: Vec<String> = terms(query)
            .iter()
            .filter_map(|w| query_token(&self.crypto, w))
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        // A search sees every document written before it: what the
        // background indexer has not reached yet is indexed first.
        if let Backend::Sqlite { read, .. } = &self.backend {
            let waiting: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM catalog_documents WHERE indexed = 0 LIMIT 1")
                    .fetch_optional(read)
                    .await?;
            if waiting.is_some() {
                while self.index_catalog().await? as i64 == INDEX_BATCH {}
            }
        }
        let rows: Vec<HitRow> = match &self.backend {
            Backend::Sqlite { read, .. } => {
                // Every token (letters and digits only) must be there.
                let expr = words.join(" ");
                sqlx::query_as::<sqlx::Sqlite, HitRow>(&format!(
                    "SELECT {HIT_COLUMNS} FROM catalog_fts f
                     JOIN catalog_documents d ON d.rowid = f.rowid
                     WHERE catalog_fts MATCH $1 AND d.tenant_id = $2
                     ORDER BY d.updated_at DESC LIMIT $3"
                ))
                .bind(expr)
                .bind(tenant_id)
                .bind(MAX_HITS)
                .fetch_all(read)
                .await?
            }
            Backend::Postgres(pool) => {
                let expr = words.join(" & ");
                sqlx::query_as::<sqlx::Postgres, HitRow>(&format!(
                    "SELECT {HIT_COLUMNS} FROM catalog_documents d
                     WHERE d.tenant_id = $1 AND d.search @@ to_tsquery('simple', $2)
                     ORDER BY d.updated_at DESC LIMIT $3"
                ))
                .bind(tenant_id)
                .bind(expr)
                .bind(MAX_HITS)
                .fetch_all(pool)
                .await?
            }
        };
        hits(&self.crypto, rows)
    }

    /// A boat's documents, newest first, and those expiring on or after
    /// `today` (`YYYY-MM-DD`), soonest first.
    pub async fn boat_documents(
        &self,
        tenant_id: &TenantId,
        boat: &str,
        today: &str,
    ) -> Result<(Vec<CatalogHit>, Vec<CatalogHit>)> {
        let key = boat_key(&self.crypto, boat);
        let (latest, expiring) = on_read!(self, |pool, DB| {
            let latest = sqlx::query_as::<DB, HitRow>(&format!(
                "SELECT {HIT_COLUMNS} FROM catalog_documents d
                 WHERE d.tenant_id = $1 AND d.boat_key = $2
                 ORDER BY d.updated_at DESC LIMIT $3"
            ))
            .bind(tenant_id)
            .bind(&key)
            .bind(MAX_HITS)
            .fetch_all(pool)
            .await?;
            let expiring = sqlx::query_as::<DB, HitRow>(&format!(
                "SELECT {HIT_COLUMNS} FROM catalog_documents d
                 WHERE d.tenant_id = $1 AND d.boat_key = $2 AND d.expires_on >= $3
                 ORDER BY d.expires_on LIMIT $4"
            ))
            .bind(tenant_id)
            .bind(&key)
            .bind(today)
            .bind(MAX_HITS)
            .fetch_all(pool)
            .await?;
            (latest, expiring)
        });
        Ok((hits(&self.crypto, latest)?, hits(&self.crypto, expiring)?))
    }

    /// Team alerts about a boat's documents that nobody acknowledged.
    pub async fn open_alerts(&self, tenant_id: &TenantId, boat: &str) -> Result<Vec<OpenAlert>> {
        let key = boat_key(&self.crypto, boat);
        let rows: Vec<(String, String, i64)> = on_read!(self, |pool, DB| {
            sqlx::query_as::<DB, (String, String, i64)>(
                "SELECT n.id, n.workflow, n.created_at FROM notifications n
                 WHERE n.tenant_id = $1 AND n.channel IN ('slack', 'discord') AND n.acknowledged_at IS NULL
                   AND n.status IN ('sent', 'delivered', 'read')
                   AND n.event_id IN (SELECT event_id FROM catalog_documents WHERE tenant_id = $1 AND boat_key = $2)
                 ORDER BY n.created_at DESC LIMIT $3",
            )
            .bind(tenant_id)
            .bind(&key)
            .bind(MAX_HITS)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(notification_id, workflow, created_at)| OpenAlert {
                notification_id,
                workflow,
                created_at,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_holds_hashed_prefixes_only() {
        let c = crate::crypto::Crypto::ephemeral();
        let words = index_words(&c, &["Engine warranty", "Sea Breeze"]);
        assert!(!words.to_lowercase().contains("warr") && !words.contains("breeze"));
        for query in ["war", "warranty", "WARRANT", "sea", "en"] {
            let t = query_token(&c, &query.to_lowercase()).unwrap();
            let found = words.split(' ').any(|w| w == t);
            assert_eq!(found, query != "en", "{query}");
        }
        assert_eq!(boat_key(&c, "Sea  breeze"), boat_key(&c, "sea breeze"));
    }

    #[test]
    fn a_query_is_words_only() {
        assert_eq!(
            terms("Warranty \"OR\" * NEAR(x) -- ;"),
            ["warranty", "or", "near", "x"]
        );
        assert!(terms("\"*():^").is_empty());
    }
}
