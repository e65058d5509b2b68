//! Batched statements in each backend's cheapest form, written once for the
//! hot paths: multi-row INSERTs, a batch of rows as a table to join, and a
//! list of ids to match.
//!
//! On PostgreSQL a batch's statement text never changes with its size: rows
//! travel as one array per column (`UNNEST($1::text[], $2::bigint[], …)`)
//! and an id list as one array (`= ANY($1)`). `VALUES` and `IN (…)` lists
//! instead made a new statement text per batch size: each was parsed and
//! planned anew, and each size took a place of its own in every
//! connection's statement cache (100 per connection, up to tens of
//! kilobytes each; an api node with one writer peaked at 62 MiB with
//! 100,000 queued, 35 MiB with the cache off). SQLite has no arrays and no
//! round trip to save: it keeps `VALUES` rows and `IN` lists, chunked under
//! its limit on bound parameters.

use crate::{Result, INSERT_CHUNK};
use sqlx::{Postgres, QueryBuilder, Sqlite, Transaction};
use std::ops::Range;

/// One column of a batch, a value per row.
pub(crate) enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::Int(v) => v.len(),
        }
    }
}

/// A text column from each row's value.
pub(crate) fn text(values: impl Iterator<Item = Option<String>>) -> Column {
    Column::Text(values.collect())
}

/// An integer column from each row's value.
pub(crate) fn int(values: impl Iterator<Item = Option<i64>>) -> Column {
    Column::Int(values.collect())
}

/// Rows for `table`, column by column, in the order of `names`.
pub(crate) struct Rows {
    pub table: &'static str,
    pub names: &'static [&'static str],
    pub columns: Vec<Column>,
}

impl Rows {
    fn len(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    fn head(&self) -> String {
        format!("INSERT INTO {} ({}) ", self.table, self.names.join(", "))
    }
}

/// What follows the rows: nothing, or a conflict clause, with or without
/// `RETURNING id`.
pub(crate) struct Tail {
    pub sql: &'static str,
    /// The tail ends in `RETURNING id`: the ids are returned.
    pub returns_ids: bool,
}

pub(crate) const PLAIN: Tail = Tail {
    sql: "",
    returns_ids: false,
};

pub(crate) trait BatchSql: sqlx::Database {
    /// Writes `rows` inside `tx`; returns the ids the tail returns (none
    /// when it returns nothing).
    async fn insert_rows(
        tx: &mut Transaction<'_, Self>,
        rows: Rows,
        tail: &Tail,
    ) -> Result<Vec<String>>;

    /// A table of `columns` to name in a `WITH v (…) AS (…)`. The caller
    /// keeps a batch under [`INSERT_CHUNK`] rows, for SQLite's limit.
    fn push_table(q: &mut QueryBuilder<'_, Self>, columns: Vec<Column>);

    /// Membership of the expression just pushed in `ids`, which the caller
    /// keeps under [`INSERT_CHUNK`].
    fn push_is_one_of(q: &mut QueryBuilder<'_, Self>, ids: Vec<String>);
}

/// The PostgreSQL statement for `rows`: the same text for every batch of
/// the same table, however many rows it holds.
fn unnest_insert(rows: Rows, tail: &Tail) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new(rows.head());
    Postgres::push_table(&mut q, rows.columns);
    q.push(tail.sql);
    q
}

impl BatchSql for Postgres {
    async fn insert_rows(
        tx: &mut Transaction<'_, Postgres>,
        rows: Rows,
        tail: &Tail,
    ) -> Result<Vec<String>> {
        if rows.len() == 0 {
            return Ok(Vec::new());
        }
        let mut q = unnest_insert(rows, tail);
        if tail.returns_ids {
            Ok(q.build_query_scalar().fetch_all(&mut **tx).await?)
        } else {
            q.build().execute(&mut **tx).await?;
            Ok(Vec::new())
        }
    }

    fn push_table(q: &mut QueryBuilder<'_, Postgres>, columns: Vec<Column>) {
        q.push("SELECT * FROM UNNEST(");
        let mut list = q.separated(", ");
        for c in columns {
            match c {
                Column::Text(v) => list.push_bind(v).push_unseparated("::text[]"),
                Column::Int(v) => list.push_bind(v).push_unseparated("::bigint[]"),
            };
        }
        q.push(")");
    }

    fn push_is_one_of(q: &mut QueryBuilder<'_, Postgres>, ids: Vec<String>) {
        q.push(" = ANY(").push_bind(ids).push(")");
    }
}

/// `VALUES` rows `range` of `columns`.
fn push_values(q: &mut QueryBuilder<'_, Sqlite>, columns: &[Column], range: Range<usize>) {
    q.push_values(range, |mut b, i| {
        for c in columns {
            match c {
                Column::Text(v) => b.push_bind(v.get(i).cloned().flatten()),
                Column::Int(v) => b.push_bind(v.get(i).copied().flatten()),
            };
        }
    });
}

impl BatchSql for Sqlite {
    async fn insert_rows(
        tx: &mut Transaction<'_, Sqlite>,
        rows: Rows,
        tail: &Tail,
    ) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let n = rows.len();
        let mut start = 0;
        while start < n {
            let end = (start + INSERT_CHUNK).min(n);
            let mut q = QueryBuilder::<Sqlite>::new(rows.head());
            push_values(&mut q, &rows.columns, start..end);
            q.push(tail.sql);
            if tail.returns_ids {
                ids.extend(
                    q.build_query_scalar::<String>()
                        .fetch_all(&mut **tx)
                        .await?,
                );
            } else {
                q.build().execute(&mut **tx).await?;
            }
            start = end;
        }
        Ok(ids)
    }

    fn push_table(q: &mut QueryBuilder<'_, Sqlite>, columns: Vec<Column>) {
        let n = columns.first().map_or(0, Column::len);
        push_values(q, &columns, 0..n);
    }

    fn push_is_one_of(q: &mut QueryBuilder<'_, Sqlite>, ids: Vec<String>) {
        q.push(" IN ");
        crate::push_list(q, ids);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::testing::TestDb;
    use crate::Backend;

    fn jobs(ids: &[String], owner: Option<&str>) -> Rows {
        Rows {
            table: "jobs",
            names: &[
                "notification_id",
                "tenant_id",
                "run_at",
                "created_at",
                "lease_owner",
            ],
            columns: vec![
                text(ids.iter().map(|id| Some(id.clone()))),
                text(ids.iter().map(|_| Some("default".to_string()))),
                int(ids.iter().enumerate().map(|(i, _)| Some(i as i64))),
                int(ids.iter().map(|_| Some(7))),
                text(ids.iter().map(|_| owner.map(String::from))),
            ],
        }
    }

    fn ids(n: usize, prefix: &str) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}-{i:05}")).collect()
    }

    #[test]
    fn a_postgresql_batch_has_one_text_whatever_its_size() {
        let one = unnest_insert(jobs(&ids(1, "a"), None), &PLAIN);
        let many = unnest_insert(jobs(&ids(1_500, "a"), Some("w")), &PLAIN);
        assert_eq!(one.sql(), many.sql());
        assert_eq!(
            one.sql(),
            "INSERT INTO jobs (notification_id, tenant_id, run_at, created_at, lease_owner) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])"
        );
        let mut q = QueryBuilder::<Postgres>::new("SELECT 1 FROM jobs WHERE notification_id");
        Postgres::push_is_one_of(&mut q, ids(700, "b"));
        assert_eq!(
            q.sql(),
            "SELECT 1 FROM jobs WHERE notification_id = ANY($1)"
        );
    }

    /// Past SQLite's chunk, with NULLs, and with a conflict clause that
    /// returns only the rows it wrote: the same rows on both backends.
    #[tokio::test]
    async fn every_row_is_written_once_and_only_new_ids_come_back() {
        let mut dbs = vec![TestDb::sqlite()];
        dbs.extend(TestDb::postgres().await);
        let tail = Tail {
            sql: " ON CONFLICT (notification_id) DO NOTHING RETURNING notification_id",
            returns_ids: true,
        };
        for db in dbs {
            let store = db.store().await;
            let first = ids(INSERT_CHUNK + 300, "j");
            let mut again = first[..5].to_vec();
            again.extend(ids(3, "k"));
            let (written, new_ids) = match &store.backend {
                Backend::Sqlite { write, .. } => {
                    let mut tx = write.begin().await.unwrap();
                    let w = Sqlite::insert_rows(&mut tx, jobs(&first, None), &tail).await;
                    let n = Sqlite::insert_rows(&mut tx, jobs(&again, Some("w")), &tail).await;
                    tx.commit().await.unwrap();
                    (w.unwrap(), n.unwrap())
                }
                Backend::Postgres(pool) => {
                    let mut tx = pool.begin().await.unwrap();
                    let w = Postgres::insert_rows(&mut tx, jobs(&first, None), &tail).await;
                    let n = Postgres::insert_rows(&mut tx, jobs(&again, Some("w")), &tail).await;
                    tx.commit().await.unwrap();
                    (w.unwrap(), n.unwrap())
                }
            };
            let b = store.backend_name();
            assert_eq!(written.len(), first.len(), "{b}");
            let mut new_ids = new_ids;
            new_ids.sort();
            assert_eq!(new_ids, ids(3, "k"), "{b}");
            let (rows, owned, last_run_at): (i64, i64, i64) = crate::on_read!(store, |pool, DB| {
                sqlx::query_as(
                    "SELECT COUNT(*), COUNT(lease_owner), MAX(run_at) FROM jobs WHERE created_at = 7",
                )
                .fetch_one(pool)
                .await
                .unwrap()
            });
            assert_eq!(
                (rows, owned, last_run_at),
                (first.len() as i64 + 3, 3, first.len() as i64 - 1),
                "{b}"
            );
        }
    }
}
