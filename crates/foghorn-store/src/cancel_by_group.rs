//! An event that cancels by grouping key: `warranty.renewed` stops the
//! warranty's reminders, and a later `warranty.expiring` replaces the
//! reminders of its series still to come. Applied in the accept
//! transaction, to stored notifications and to those planned earlier in
//! the same batch, before the event's own notifications are written.

use crate::{EventDraft, Plan, Result, INSERT_CHUNK};
use foghorn_core::Status;
use std::collections::HashSet;

/// Why a notification was cancelled by `d`.
fn reason(d: &EventDraft, series_only: bool) -> String {
    if series_only {
        format!("re-planned by event {}", d.event_id)
    } else {
        format!("cancelled by event {} ({})", d.event_id, d.name)
    }
}

/// Cancels what later events of the batch cancel among the notifications
/// planned by earlier ones.
pub(crate) fn in_batch(
    drafts: &[EventDraft],
    planned: &mut [(usize, Plan)],
    inserted: &HashSet<String>,
) {
    for k in 0..planned.len() {
        let d = &drafts[planned[k].0];
        let Some(group) = &d.grouping_key else {
            continue;
        };
        if d.needs.cancels.is_empty() || !inserted.contains(&d.event_id) {
            continue;
        }
        for (j, plan) in planned[..k].iter_mut() {
            let earlier = &drafts[*j];
            if earlier.tenant_id != d.tenant_id || earlier.grouping_key.as_ref() != Some(group) {
                continue;
            }
            for n in &mut plan.notifications {
                let Some(&(_, series_only)) =
                    d.needs.cancels.iter().find(|(w, _)| *w == n.workflow)
                else {
                    continue;
                };
                let pending = if series_only {
                    n.series_offset.is_some() && n.status == Status::Scheduled
                } else {
                    matches!(n.status, Status::Queued | Status::Scheduled)
                };
                if pending {
                    n.status = Status::Cancelled;
                    n.status_reason = Some(reason(d, series_only));
                    n.run_at = None;
                }
            }
        }
    }
}

/// Cancels the stored notifications `d` cancels, with their jobs; a
/// digest they were collecting is closed with them.
pub(crate) async fn stored<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    d: &EventDraft,
    group: &str,
    now: i64,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (String,): sqlx::FromRow<'r, DB::Row>,
{
    for (workflow, series_only) in &d.needs.cancels {
        let which = if *series_only {
            "status = 'scheduled' AND series_offset IS NOT NULL"
        } else {
            "status IN ('queued', 'scheduled')"
        };
        let ids: Vec<(String,)> = sqlx::query_as(&format!(
            "UPDATE notifications SET status = 'cancelled', status_reason = $1, updated_at = $2
             WHERE tenant_id = $3 AND grouping_key = $4 AND workflow = $5 AND {which}
             RETURNING id"
        ))
        .bind(reason(d, *series_only))
        .bind(now)
        .bind(d.tenant_id.to_string())
        .bind(group.to_string())
        .bind(workflow.clone())
        .fetch_all(&mut **tx)
        .await?;
        let ids: Vec<String> = ids.into_iter().map(|(id,)| id).collect();
        release::<DB>(tx, &d.tenant_id, &ids, now).await?;
    }
    Ok(())
}

/// What follows notifications just cancelled, however they were: their
/// jobs go, and a digest one of them was collecting takes no more events
/// (the next event opens another).
pub(crate) async fn release<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    tenant: &foghorn_core::TenantId,
    ids: &[String],
    now: i64,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for chunk in ids.chunks(INSERT_CHUNK) {
        let sql = format!(
            "DELETE FROM jobs WHERE tenant_id = $1 AND notification_id IN {}",
            crate::numbered(2, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(tenant.to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        q.execute(&mut **tx).await?;
        let sql = format!(
            "UPDATE digests SET closed_at = $2 WHERE tenant_id = $1 AND closed_at IS NULL AND notification_id IN {}",
            crate::numbered(3, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(tenant.to_string()).bind(now);
        for id in chunk {
            q = q.bind(id.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
