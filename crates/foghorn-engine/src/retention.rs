//! The retention sweep: every `retention.every`, each kind of kept detail
//! older than its configured age goes, one bounded batch at a time with a
//! pause between batches, so accepting and sending never wait long behind
//! it. Every node may sweep; batches from two nodes only skip each other's
//! rows.

use crate::config::RetentionConfig;
use foghorn_core::clock;
use foghorn_store::{Kept, Store};
use std::time::Duration;

/// Between two batches: room for the writers the sweep shares the
/// database with.
const PAUSE: Duration = Duration::from_millis(5);

fn age(cfg: &RetentionConfig, kind: Kept) -> Option<Duration> {
    match kind {
        Kept::Sandbox => cfg.sandbox,
        Kept::Attempts => cfg.attempts,
        Kept::Receipts => cfg.receipts,
        Kept::Clicks => cfg.clicks,
    }
}

fn cutoff(age: Duration) -> i64 {
    clock::now_ms().saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX))
}

/// Where the inbound sweep goes on from: event ids grow with time, so
/// the messages already emptied are not read again.
#[derive(Debug, Default)]
pub struct Cursor {
    inbound: String,
}

/// One pass over every kind; returns the rows removed per kind.
pub async fn sweep(
    store: &Store,
    cfg: &RetentionConfig,
    cursor: &mut Cursor,
) -> Vec<(&'static str, u64, u64)> {
    let batch = cfg.batch as i64;
    let mut done = Vec::new();
    for kind in Kept::ALL {
        let Some(age) = age(cfg, kind) else { continue };
        let before = cutoff(age);
        let (mut removed, mut batches) = (0u64, 0u64);
        loop {
            match store.prune(kind, before, batch).await {
                Ok(n) => {
                    removed += n;
                    batches += 1;
                    if n < batch as u64 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(kind = kind.name(), error = %e, "retention sweep failed; trying again next time");
                    break;
                }
            }
            tokio::time::sleep(PAUSE).await;
        }
        done.push((kind.name(), removed, batches));
    }
    if let Some(age) = cfg.inbound {
        let before = cutoff(age);
        let (mut removed, mut batches) = (0u64, 0u64);
        loop {
            match store.prune_inbound(before, &cursor.inbound, batch).await {
                Ok(Some((last, n))) => {
                    cursor.inbound = last;
                    removed += n;
                    batches += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(kind = "inbound", error = %e, "retention sweep failed; trying again next time");
                    break;
                }
            }
            tokio::time::sleep(PAUSE).await;
        }
        done.push(("inbound", removed, batches));
    }
    for (kind, removed, batches) in &done {
        if *removed > 0 {
            metrics::counter!("foghorn_retention_removed_total", "kind" => *kind)
                .increment(*removed);
            tracing::info!(kind, removed, batches, "retention removed expired rows");
        }
    }
    done
}

/// Sweeps for as long as the process runs, when any retention is set.
pub fn spawn(store: Store, cfg: RetentionConfig) {
    let any = Kept::ALL.iter().any(|k| age(&cfg, *k).is_some()) || cfg.inbound.is_some();
    if !any {
        return;
    }
    tokio::spawn(async move {
        let mut cursor = Cursor::default();
        loop {
            tokio::time::sleep(cfg.every).await;
            sweep(&store, &cfg, &mut cursor).await;
        }
    });
}
