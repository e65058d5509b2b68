//! The worker pool of one node: a claimer that takes due jobs in batches
//! while there is room, a task per send, and a recorder that writes the
//! outcomes in batches. Claim and record are separate short transactions;
//! no transaction is open while a provider is called.

use super::deliver::{deliver, now_ms, Shared};
use super::outbound::OutboundSettings;
use super::tenant_routing::TenantRoutes;
use crate::config::DeliveryConfig;
use crate::workflow::Registry;
use foghorn_store::{Outcome, OutcomeKind, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

pub struct Worker {
    pub store: Store,
    pub routes: Arc<TenantRoutes>,
    pub workflows: Arc<Registry>,
    pub cfg: DeliveryConfig,
    pub outbound: Arc<OutboundSettings>,
    /// Notified after new jobs are committed.
    pub wake: Arc<Notify>,
}

/// Stops the worker: in-flight sends finish and are recorded first.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    claimer: JoinHandle<()>,
    recorder: JoinHandle<()>,
}

impl WorkerHandle {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.claimer.await;
        let _ = self.recorder.await;
    }
}

/// Outcomes recorded per transaction at most.
const RECORD_BATCH: usize = 512;

/// How long the claimer waits to batch claims when few slots are free:
/// short next to a provider call, long next to the transaction it saves.
const GATHER: Duration = Duration::from_millis(2);

/// An outcome with the worker slot it holds: the slot is freed only once the
/// outcome is committed, so the jobs a crash can repeat are at most the
/// `workers` in flight.
type Done = (Outcome, OwnedSemaphorePermit);

impl Worker {
    pub fn spawn(self) -> WorkerHandle {
        let owner = format!(
            "node-{}",
            ulid::Ulid::new().to_string().to_ascii_lowercase()
        );
        let (stop, stop_rx) = watch::channel(false);
        let (tx, rx) = mpsc::channel::<Done>(self.cfg.workers.max(1));
        let shared = Arc::new(Shared {
            routes: self.routes.clone(),
            store: self.store.clone(),
            workflows: self.workflows.clone(),
            cfg: self.cfg.clone(),
            outbound: self.outbound.clone(),
        });
        self.store.spawn_wake_listener(self.wake.clone());
        let recorder = tokio::spawn(record_loop(
            self.store.clone(),
            owner.clone(),
            rx,
            self.wake.clone(),
        ));
        let claimer = tokio::spawn(claim_loop(self, owner, shared, tx, stop_rx));
        WorkerHandle {
            stop,
            claimer,
            recorder,
        }
    }
}

async fn claim_loop(
    w: Worker,
    owner: String,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Done>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(w.cfg.workers));
    let lease_ms = w.cfg.lease.as_millis() as i64;
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            break;
        }
        // Wait for room before claiming, so claimed jobs never sit waiting
        // for a slot while their lease runs.
        let first = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        // Claim in batches: with few slots free, give in-flight sends a
        // moment to finish so one claim transaction serves many jobs.
        if slots.available_permits() + 1 < (w.cfg.workers / 4).max(1) {
            tokio::time::sleep(GATHER).await;
        }
        let room = (slots.available_permits() + 1).min(w.cfg.claim_batch);
        let jobs = match w
            .store
            .claim_jobs(&owner, now_ms(), lease_ms, room as i64)
            .await
        {
            Ok(j) => {
                failures = 0;
                j
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, "claiming jobs failed");
                drop(first);
                tokio::time::sleep(Duration::from_millis(100 * u64::from(failures.min(50)))).await;
                continue;
            }
        };
        if jobs.is_empty() {
            drop(first);
            tokio::select! {
                _ = w.wake.notified() => {}
                _ = tokio::time::sleep(w.cfg.poll_interval) => {}
                _ = stop.changed() => break,
            }
            continue;
        }
        metrics::histogram!("foghorn_claim_batch_size").record(jobs.len() as f64);
        let mut permit = Some(first);
        for job in jobs {
            let p = match permit.take() {
                Some(p) => p,
                None => match slots.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let (shared, tx) = (shared.clone(), tx.clone());
            if job.claims > 1 {
                metrics::counter!("foghorn_jobs_reclaimed_total").increment(1);
            }
            tokio::spawn(async move {
                let o = deliver(&shared, &job).await;
                let _ = tx.send((o, p)).await;
            });
        }
    }
    // Let in-flight sends finish (they hold every permit until recorded).
    let _ = slots.acquire_many(w.cfg.workers as u32).await;
}

async fn record_loop(store: Store, owner: String, mut rx: mpsc::Receiver<Done>, wake: Arc<Notify>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    let mut permits = Vec::with_capacity(RECORD_BATCH);
    while let Some((first, p)) = rx.recv().await {
        batch.push(first);
        permits.push(p);
        // Group commit without waiting: what finished while the last
        // commit ran is recorded by the next one, so batches grow with the
        // load and a lone outcome is written at once.
        while batch.len() < RECORD_BATCH {
            match rx.try_recv() {
                Ok((o, p)) => {
                    batch.push(o);
                    permits.push(p);
                }
                Err(_) => break,
            }
        }
        let mut tries = 0u32;
        loop {
            match store.record_outcomes(&owner, now_ms(), &batch).await {
                Ok(applied) => {
                    if applied < batch.len() {
                        tracing::warn!(skipped = batch.len() - applied, "outcomes for jobs whose lease had passed to another worker were skipped");
                    }
                    break;
                }
                Err(e) => {
                    // Keep trying: giving up would leave the jobs to run again
                    // after their lease (a duplicate, not a loss), so there is
                    // no reason to stop while the database may come back.
                    tries += 1;
                    tracing::error!(error = %e, outcomes = batch.len(), "recording outcomes failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(tries.min(50)))).await;
                }
            }
        }
        let now = now_ms();
        if batch.iter().any(|o| match &o.kind {
            OutcomeKind::Retry { run_at, .. } => *run_at <= now,
            OutcomeKind::Fallback { .. } => true,
            _ => false,
        }) {
            wake.notify_one();
        }
        batch.clear();
        permits.clear();
    }
}
