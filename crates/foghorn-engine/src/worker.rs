//! The worker pool of one node: a claimer that takes due jobs in batches a
//! little ahead of the free slots (and, on a node that also accepts, fresh
//! jobs handed over by the accept path), a task per send, and recorders that
//! write the outcomes in batches. Claim and record are separate short
//! transactions; no transaction is open while a provider is called.

use super::deliver::{deliver, now_ms, Shared};
use super::outbound::OutboundSettings;
use super::tenant_routing::TenantRoutes;
use crate::config::DeliveryConfig;
use crate::workflow::Registry;
use foghorn_store::{ClaimedJob, Outcome, OutcomeKind, Store};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

pub struct Worker {
    /// Fresh jobs the accept path of the same node leases to this worker.
    pub fresh: Option<FreshJobs>,
    pub store: Store,
    pub routes: Arc<TenantRoutes>,
    pub workflows: Arc<Registry>,
    pub cfg: DeliveryConfig,
    pub outbound: Arc<OutboundSettings>,
    /// Notified after new jobs are committed.
    pub wake: Arc<Notify>,
}

/// The accept path's side of the hand-off: on a node that both accepts and
/// sends, a job due now is leased to the local worker in the accept
/// transaction and passed over in memory, so it is sent without a claim
/// transaction or a wake-up. Only while the worker has caught up with the
/// queue (its last claim found fewer due jobs than it asked for): a fresh
/// job never overtakes older due ones.
pub struct Handoff {
    owner: String,
    lease_ms: i64,
    tx: mpsc::Sender<ClaimedJob>,
    caught_up: AtomicBool,
}

impl Handoff {
    /// The hand-off and the worker's end of it; holds at most one claim
    /// batch of jobs the worker has not yet taken.
    pub fn new(cfg: &DeliveryConfig) -> (Arc<Handoff>, FreshJobs) {
        let (tx, rx) = mpsc::channel(cfg.claim_batch.max(1));
        let handoff = Arc::new(Handoff {
            owner: new_owner(),
            lease_ms: cfg.lease.as_millis() as i64,
            tx,
            caught_up: AtomicBool::new(false),
        });
        (handoff.clone(), FreshJobs { handoff, rx })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn lease_ms(&self) -> i64 {
        self.lease_ms
    }

    /// A place for one fresh job, if the worker has room and has caught up.
    pub fn reserve(&self) -> Option<mpsc::Permit<'_, ClaimedJob>> {
        if !self.caught_up.load(Ordering::Relaxed) {
            return None;
        }
        self.tx.try_reserve().ok()
    }
}

/// The worker's side of the [`Handoff`].
pub struct FreshJobs {
    handoff: Arc<Handoff>,
    rx: mpsc::Receiver<ClaimedJob>,
}

fn new_owner() -> String {
    format!(
        "node-{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

/// Stops the worker: in-flight sends finish and are recorded first.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    claimer: JoinHandle<()>,
    recorders: Vec<JoinHandle<()>>,
}

impl WorkerHandle {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.claimer.await;
        for r in self.recorders {
            let _ = r.await;
        }
    }
}

/// Outcomes recorded per transaction at most.
const RECORD_BATCH: usize = 512;

/// Least time between outcome commits on SQLite. An outcome waits at most
/// this long (its slot with it), which is short next to a provider call.
const SQLITE_RECORD_EVERY: Duration = Duration::from_millis(5);

/// Recorders writing at once on PostgreSQL. Four overlapping commits were
/// measured against one (same box, same run): one recorder's batches were
/// four times larger (103 outcomes against 26), and the node delivered
/// 4,203 and 4,217/s during ingest against 3,849 and 3,501, and drained
/// 100,000 in 10.4 s against 11.4–11.6 s, with less CPU spent by PostgreSQL.
const RECORDERS_PG: usize = 1;

/// An outcome with the worker slot it holds: the slot is freed only once the
/// outcome is committed, so the jobs a crash can repeat are at most the
/// `workers` in flight.
type Done = (Outcome, OwnedSemaphorePermit);

impl Worker {
    pub fn spawn(self) -> WorkerHandle {
        let owner = self
            .fresh
            .as_ref()
            .map_or_else(new_owner, |f| f.handoff.owner.clone());
        let (stop, stop_rx) = watch::channel(false);
        let (tx, rx) = mpsc::channel::<Done>(self.cfg.workers.max(1));
        let shared = Arc::new(Shared {
            routes: self.routes.clone(),
            store: self.store.clone(),
            workflows: self.workflows.clone(),
            cfg: self.cfg.clone(),
            outbound: self.outbound.clone(),
            policies: Default::default(),
            alerts: Default::default(),
            // A send's lane wait and its provider call stay inside its lease,
            // with the time it may wait to be dispatched.
            lanes: crate::deliver::lanes::Lanes::new(
                self.cfg.lease.saturating_sub(self.cfg.send_timeout) / 2,
            ),
        });
        self.store.spawn_wake_listener(self.wake.clone());
        // SQLite admits one writer; on PostgreSQL, too, one recorder with
        // larger batches was measured faster than several (see
        // `RECORDERS_PG`).
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let recorders = (0..if self.store.is_postgres() {
            RECORDERS_PG
        } else {
            1
        })
            .map(|_| {
                let recording = record_loop(
                    self.store.clone(),
                    owner.clone(),
                    rx.clone(),
                    self.wake.clone(),
                );
                if self.store.is_postgres() {
                    return tokio::spawn(recording);
                }
                // SQLite's one recorder talks to the database all the time:
                // on a thread of its own (see `own_thread`).
                let ended = crate::own_thread::spawn("foghorn-record", move || recording);
                tokio::spawn(async move {
                    let _ = ended.await;
                })
            })
            .collect();
        let claimer = tokio::spawn(claim_loop(self, owner, shared, tx, stop_rx));
        WorkerHandle {
            stop,
            claimer,
            recorders,
        }
    }
}

async fn claim_loop(
    mut w: Worker,
    owner: String,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Done>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(w.cfg.workers));
    let lease_ms = w.cfg.lease.as_millis() as i64;
    let fresh_for = w.cfg.lease.saturating_sub(w.cfg.send_timeout) / 2;
    // Claims run ahead of the free slots, so a slot that frees finds its
    // next job already claimed and a claim serves a whole batch, not the
    // few slots that happened to be free. What waits here is bounded:
    // claimed jobs that are not sending are never more than one batch
    // beyond the slots.
    let refill_below = w.cfg.workers.max(2) / 2;
    let mut ready: VecDeque<(Instant, ClaimedJob)> = VecDeque::new();
    let mut failures = 0u32;
    let mut fresh = w.fresh.take();
    loop {
        if *stop.borrow() {
            break;
        }
        if let Some(f) = fresh.as_mut() {
            while let Ok(job) = f.rx.try_recv() {
                ready.push_back((Instant::now(), job));
            }
        }
        dispatch(
            &mut ready, &slots, &shared, &tx, fresh_for, &w.store, &owner,
        )
        .await;
        if ready.len() < refill_below {
            let in_flight = w.cfg.workers - slots.available_permits();
            let room = (w.cfg.workers + w.cfg.claim_batch)
                .saturating_sub(ready.len() + in_flight)
                .min(w.cfg.claim_batch);
            if room > 0 {
                let claiming = Instant::now();
                match w
                    .store
                    .claim_jobs(&owner, now_ms(), lease_ms, room as i64)
                    .await
                {
                    Ok(jobs) if !jobs.is_empty() => {
                        metrics::histogram!("foghorn_claim_seconds")
                            .record(claiming.elapsed().as_secs_f64());
                        failures = 0;
                        set_caught_up(&fresh, jobs.len() < room);
                        metrics::histogram!("foghorn_claim_batch_size").record(jobs.len() as f64);
                        let at = Instant::now();
                        ready.extend(jobs.into_iter().map(|j| (at, j)));
                        continue;
                    }
                    Ok(_) => {
                        failures = 0;
                        set_caught_up(&fresh, true);
                    }
                    Err(e) => {
                        failures += 1;
                        set_caught_up(&fresh, false);
                        tracing::warn!(error = %e, "claiming jobs failed");
                        let pause = Duration::from_millis(100 * u64::from(failures.min(50)));
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = stop.changed() => break,
                        }
                        continue;
                    }
                }
            }
        }
        if ready.is_empty() {
            // Nothing claimed and nothing due: wait to be told, or look
            // again after the poll interval. A slot freeing is no reason
            // to look again when the last claim found nothing.
            tokio::select! {
                Some(job) = next_fresh(&mut fresh) => ready.push_back((Instant::now(), job)),
                _ = w.wake.notified() => {}
                _ = tokio::time::sleep(w.cfg.poll_interval) => {}
                _ = stop.changed() => break,
            }
        } else {
            // Jobs wait for a slot; a freed slot sends the next one.
            tokio::select! {
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => drop(p),
                    Err(_) => break,
                },
                _ = w.wake.notified() => {}
                _ = stop.changed() => break,
            }
        }
    }
    // Claimed jobs that never started go back to the queue now rather than
    // when their lease ends, for another node or the next start; so do
    // fresh ones handed over meanwhile.
    if let Some(mut f) = fresh {
        f.handoff.caught_up.store(false, Ordering::Relaxed);
        f.rx.close();
        while let Some(job) = f.rx.recv().await {
            ready.push_back((Instant::now(), job));
        }
    }
    release(&w.store, &owner, ready.into_iter().map(|(_, j)| j)).await;
    // Let in-flight sends finish (they hold every permit until recorded).
    let _ = slots.acquire_many(w.cfg.workers as u32).await;
}

/// Lets the accept path hand fresh jobs over only while the queue holds no
/// older due ones.
fn set_caught_up(fresh: &Option<FreshJobs>, caught_up: bool) {
    if let Some(f) = fresh {
        f.handoff.caught_up.store(caught_up, Ordering::Relaxed);
    }
}

/// The next fresh job handed over; never ready without a hand-off.
async fn next_fresh(fresh: &mut Option<FreshJobs>) -> Option<ClaimedJob> {
    match fresh {
        Some(f) => f.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Starts a send for each claimed job while slots are free. A job that
/// waited so long that its lease could end before its send does goes back
/// instead: sending it would risk a second node sending it too.
async fn dispatch(
    ready: &mut VecDeque<(Instant, ClaimedJob)>,
    slots: &Arc<Semaphore>,
    shared: &Arc<Shared>,
    tx: &mpsc::Sender<Done>,
    fresh_for: Duration,
    store: &Store,
    owner: &str,
) {
    let mut stale = Vec::new();
    while let Some((claimed, _)) = ready.front() {
        if claimed.elapsed() > fresh_for {
            if let Some((_, job)) = ready.pop_front() {
                stale.push(job);
            }
            continue;
        }
        let Ok(p) = slots.clone().try_acquire_owned() else {
            break;
        };
        let Some((_, job)) = ready.pop_front() else {
            break;
        };
        if job.claims > 1 {
            metrics::counter!("foghorn_jobs_reclaimed_total").increment(1);
        }
        // A chat destination's lane learns the order here, in claim order.
        let ticket = crate::deliver::announce(shared, &job);
        let (shared, tx) = (shared.clone(), tx.clone());
        tokio::spawn(async move {
            let o = deliver(&shared, &job, ticket).await;
            let _ = tx.send((o, p)).await;
        });
    }
    release(store, owner, stale.into_iter()).await;
}

/// Gives claimed jobs back to the queue, due now.
async fn release(store: &Store, owner: &str, jobs: impl Iterator<Item = ClaimedJob>) {
    let ids: Vec<String> = jobs.map(|j| j.notification.id).collect();
    if ids.is_empty() {
        return;
    }
    if let Err(e) = store.release_jobs(owner, &ids, now_ms()).await {
        // Their lease still ends; they run then.
        tracing::warn!(error = %e, jobs = ids.len(), "could not give claimed jobs back; they run when their lease ends");
    }
}

async fn record_loop(
    store: Store,
    owner: String,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Done>>>,
    wake: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    let mut permits = Vec::with_capacity(RECORD_BATCH);
    let linger = if store.is_postgres() {
        Duration::ZERO
    } else {
        SQLITE_RECORD_EVERY
    };
    let mut last = Instant::now()
        .checked_sub(linger)
        .unwrap_or_else(Instant::now);
    loop {
        {
            let mut rx = rx.lock().await;
            let Some((first, p)) = rx.recv().await else {
                return;
            };
            batch.push(first);
            permits.push(p);
            // On SQLite each commit is an fsync on the one writer the
            // accept path also waits for: commits no closer together than
            // the linger leave it free for the events being accepted.
            if let Some(wait) = linger.checked_sub(last.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            // Group commit: what finished while the last commit ran is
            // recorded by the next one, so batches grow with the load.
            while batch.len() < RECORD_BATCH {
                match rx.try_recv() {
                    Ok((o, p)) => {
                        batch.push(o);
                        permits.push(p);
                    }
                    Err(_) => break,
                }
            }
        }
        last = Instant::now();
        metrics::histogram!("foghorn_record_batch_size").record(batch.len() as f64);
        let mut tries = 0u32;
        loop {
            match store.record_outcomes(&owner, now_ms(), &batch).await {
                Ok(applied) => {
                    metrics::histogram!("foghorn_record_seconds")
                        .record(last.elapsed().as_secs_f64());
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
