//! The accept path's writer: group commit.
//!
//! Request handlers hand their validated event to a writer task and wait for
//! its answer. The writer takes everything queued since its last commit and
//! writes it in one transaction, so the 202 still means "durably committed"
//! while one fsync serves many requests. After a commit it wakes the local
//! workers (and, on PostgreSQL, other nodes through NOTIFY).

use super::plan::{plan, EventPlan, Limits, PlanError};
use super::worker::Handoff;
use foghorn_store::{AcceptResult, Accepted, EventDraft, LeaseFresh, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Notify};

/// Most events written in one transaction.
const MAX_BATCH: usize = 1_000;

pub struct Submission {
    pub draft: EventDraft,
    pub plan: EventPlan,
    reply: oneshot::Sender<Result<AcceptResult<PlanError>, Arc<StoreError>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("the event writer has stopped")]
    Stopped,
    #[error(transparent)]
    Store(Arc<StoreError>),
}

#[derive(Clone)]
pub struct Acceptor {
    tx: mpsc::Sender<Submission>,
    /// For reading what the registry has not seen yet.
    pub store: Store,
}

impl Acceptor {
    /// Starts the one writer. SQLite admits no other; on PostgreSQL four
    /// overlapping writers were measured against one (alternating runs, same
    /// box): accepted events/s within the runs' noise of each other (one
    /// writer 2,620-3,021, four 2,697-3,303), PostgreSQL's CPU 0.48-0.53
    /// cores with one against 0.81-0.89 with four, as its batches were four
    /// times larger. That CPU is what several nodes on one database share.
    /// One writer once cost memory (62-66 MiB with 100,000 queued): its
    /// larger batches each made a statement text of their own, kept in the
    /// connections' statement caches, until `batch_sql` made the texts
    /// constant (49 MiB).
    /// With a `handoff`, jobs due now go straight to this node's worker
    /// while it has room (see [`Handoff`]).
    pub fn spawn(
        store: Store,
        wake: Arc<Notify>,
        limits: Limits,
        handoff: Option<Arc<Handoff>>,
    ) -> Acceptor {
        let (tx, rx) = mpsc::channel::<Submission>(16_384);
        let writing = writer(store.clone(), wake, rx, limits, handoff);
        if store.is_postgres() {
            tokio::spawn(writing);
        } else {
            // Dropped, the receiver lets the writer run on: it stops when
            // every sender is gone.
            drop(crate::own_thread::spawn("foghorn-accept", move || writing));
        }
        Acceptor { tx, store }
    }

    pub async fn submit(
        &self,
        draft: EventDraft,
        plan: EventPlan,
    ) -> Result<AcceptResult<PlanError>, AcceptError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Submission { draft, plan, reply })
            .await
            .map_err(|_| AcceptError::Stopped)?;
        rx.await
            .map_err(|_| AcceptError::Stopped)?
            .map_err(AcceptError::Store)
    }
}

async fn writer(
    store: Store,
    wake: Arc<Notify>,
    mut rx: mpsc::Receiver<Submission>,
    limits: Limits,
    handoff: Option<Arc<Handoff>>,
) {
    loop {
        let mut batch = Vec::new();
        match rx.recv().await {
            Some(s) => batch.push(s),
            None => return,
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(s) => batch.push(s),
                Err(_) => break,
            }
        }
        let drafts: Vec<EventDraft> = batch.iter().map(|s| s.draft.clone()).collect();
        let plans: HashMap<&str, &EventPlan> = batch
            .iter()
            .map(|s| (s.draft.event_id.as_str(), &s.plan))
            .collect();
        // Places reserved in the worker's hand-off, one per job taken; sent
        // only once the transaction has committed.
        let mut places = Vec::new();
        let mut take = || match handoff.as_deref().and_then(Handoff::reserve) {
            Some(p) => {
                places.push(p);
                true
            }
            None => false,
        };
        let lease = handoff.as_deref().map(|h| LeaseFresh {
            owner: h.owner(),
            lease_ms: h.lease_ms(),
            take: &mut take,
        });
        let result = store
            .accept_events_leasing(
                &drafts,
                |d, facts| match plans.get(d.event_id.as_str()) {
                    Some(p) => plan(d, p, facts, &limits),
                    None => Err(PlanError::UnknownSubscriber {
                        index: 0,
                        id: String::new(),
                    }),
                },
                lease,
            )
            .await;
        drop(plans);
        match result {
            Ok(Accepted {
                results,
                fresh,
                queued,
            }) => {
                for (place, job) in places.into_iter().zip(fresh) {
                    place.send(job);
                }
                metrics::counter!("foghorn_events_accepted_total").increment(
                    results
                        .iter()
                        .filter(|r| matches!(r, AcceptResult::Created(_)))
                        .count() as u64,
                );
                metrics::histogram!("foghorn_accept_batch_size").record(batch.len() as f64);
                for (s, r) in batch.into_iter().zip(results) {
                    let _ = s.reply.send(Ok(r));
                }
                // Jobs handed over need no claim: wake the workers (here
                // and on other nodes) only for those left in the queue.
                if queued > 0 {
                    wake.notify_one();
                    if let Err(e) = store.notify_workers().await {
                        tracing::warn!(error = %e, "could not notify other nodes of new jobs");
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "writing accepted events failed");
                let e = Arc::new(e);
                for s in batch {
                    let _ = s.reply.send(Err(e.clone()));
                }
            }
        }
    }
}
