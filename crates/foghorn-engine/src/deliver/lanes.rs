//! One lane per destination whose provider paces it (Slack: a message a
//! second per channel): sends to it go one at a time, each after the pause
//! since the last answer, and never out of order. A job that would wait
//! longer than the lanes' `max_wait` (what its lease leaves after the
//! send's own timeout) goes back to the queue for when its turn comes, so
//! no lease ends while a send waits and nothing is refused by the provider
//! for going too fast.
//!
//! Order: a job is announced to its lane when it is dispatched (in claim
//! order), and one sent back to the queue stays held in the lane until it
//! is sent. A job never goes while an older one (by notification id, which
//! sorts by creation time) of its lane is announced or held: it goes back
//! to the queue behind it instead.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;
// tokio's clock, so the lanes can be tested on a paused one.
use tokio::time::Instant;

/// How long past its due time a held job keeps the lane for the ones after
/// it: one that never comes back (cancelled, its node gone) stops blocking.
const HELD_FOR: Duration = Duration::from_secs(120);

struct Lane {
    /// When the lane may next send.
    next: Arc<tokio::sync::Mutex<Option<Instant>>>,
    waiting: AtomicUsize,
    /// Jobs dispatched and not yet done, and jobs sent back to the queue
    /// (with when they are due back), by notification id.
    order: Mutex<Order>,
}

#[derive(Default)]
struct Order {
    announced: BTreeMap<String, usize>,
    held: BTreeMap<String, Instant>,
}

pub struct Lanes {
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    /// The longest a send waits in its lane before going back to the queue.
    max_wait: Duration,
}

/// A job's place in its lane, from dispatch to the end of its delivery.
pub struct Ticket {
    lane: Arc<Lane>,
    id: String,
    /// Sent back to the queue: it stays held when the ticket goes.
    back: AtomicBool,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut order) = self.lane.order.lock() {
            if let Some(n) = order.announced.get_mut(&self.id) {
                *n -= 1;
                if *n == 0 {
                    order.announced.remove(&self.id);
                }
            }
            if !self.back.load(Ordering::SeqCst) {
                order.held.remove(&self.id);
            }
        }
    }
}

/// The lane held for one send.
pub struct Turn {
    next: OwnedMutexGuard<Option<Instant>>,
    interval: Duration,
}

impl Turn {
    /// The send is over: the next may go `interval` from now, or later if
    /// the provider asked for a longer pause.
    pub fn finish(mut self, pause: Option<Duration>) {
        let wait = pause.unwrap_or_default().max(self.interval);
        *self.next = Some(Instant::now() + wait);
    }
}

impl Lanes {
    pub fn new(max_wait: Duration) -> Lanes {
        Lanes {
            lanes: Mutex::default(),
            max_wait,
        }
    }

    fn lane(&self, key: &str) -> Option<Arc<Lane>> {
        let mut lanes = self.lanes.lock().ok()?;
        // Lanes nobody waits in, holds or orders are forgotten.
        if lanes.len() > 10_000 {
            lanes.retain(|_, l| {
                Arc::strong_count(l) > 1 || l.order.lock().is_ok_and(|o| !o.held.is_empty())
            });
        }
        Some(
            lanes
                .entry(key.to_string())
                .or_insert_with(|| {
                    Arc::new(Lane {
                        next: Arc::new(tokio::sync::Mutex::new(None)),
                        waiting: AtomicUsize::new(0),
                        order: Mutex::default(),
                    })
                })
                .clone(),
        )
    }

    /// Takes job `id`'s place in lane `key`, in dispatch order.
    pub fn announce(&self, key: &str, id: &str) -> Option<Ticket> {
        let lane = self.lane(key)?;
        if let Ok(mut order) = lane.order.lock() {
            *order.announced.entry(id.to_string()).or_insert(0) += 1;
        }
        Some(Ticket {
            lane,
            id: id.to_string(),
            back: AtomicBool::new(false),
        })
    }

    /// Waits for the ticket's turn, or says how long until it would come
    /// when that is more than `max_wait` or an older job must go first;
    /// the job is then held in the lane until it is sent.
    pub async fn enter(&self, ticket: &Ticket, interval: Duration) -> Result<Turn, Duration> {
        let lane = &ticket.lane;
        let back = |wait: Duration| {
            if let Ok(mut order) = lane.order.lock() {
                order.held.insert(ticket.id.clone(), Instant::now() + wait);
            }
            ticket.back.store(true, Ordering::SeqCst);
            Err(wait)
        };
        // An older job of this lane goes first.
        let behind = lane.order.lock().ok().and_then(|mut order| {
            let now = Instant::now();
            order.held.retain(|_, due| *due + HELD_FOR > now);
            let older_held = order
                .held
                .range(..ticket.id.clone())
                .map(|(_, due)| *due)
                .max();
            let older_announced = order.announced.range(..ticket.id.clone()).next().is_some();
            match (older_held, older_announced) {
                (Some(due), _) => Some(due.saturating_duration_since(now) + interval),
                (None, true) => Some(interval),
                (None, false) => None,
            }
        });
        if let Some(wait) = behind {
            return back(wait);
        }
        let ahead = lane.waiting.fetch_add(1, Ordering::SeqCst);
        let queued = interval.saturating_mul(ahead as u32 + 1);
        if ahead > 0 && queued > self.max_wait {
            lane.waiting.fetch_sub(1, Ordering::SeqCst);
            return back(queued);
        }
        let next = lane.next.clone().lock_owned().await;
        lane.waiting.fetch_sub(1, Ordering::SeqCst);
        if let Some(at) = *next {
            let now = Instant::now();
            if at > now + self.max_wait {
                return back(at - now);
            }
            tokio::time::sleep_until(at).await;
        }
        Ok(Turn { next, interval })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_to_one_destination_keep_the_pace_and_the_order() {
        let lanes = Arc::new(Lanes::new(Duration::from_secs(5)));
        let order = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let mut tasks = Vec::new();
        // Dispatched in order; the later ones start first.
        let tickets: Vec<Ticket> = (0..4)
            .map(|i| lanes.announce("C1", &format!("ntf_{i}")).unwrap())
            .collect();
        for (i, ticket) in tickets.into_iter().enumerate().rev() {
            let (lanes, order) = (lanes.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    match lanes.enter(&ticket, Duration::from_secs(1)).await {
                        Ok(turn) => {
                            order
                                .lock()
                                .unwrap()
                                .push((i, started.elapsed().as_millis()));
                            turn.finish(None);
                            break;
                        }
                        // Back in the queue: due again after `wait`.
                        Err(wait) => {
                            ticket.back.store(false, Ordering::SeqCst);
                            tokio::time::sleep(wait).await
                        }
                    }
                }
                drop(ticket);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(
            order.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [0, 1, 2, 3],
            "{order:?}"
        );
        for pair in order.windows(2) {
            assert!(pair[1].1 - pair[0].1 >= 1000, "{order:?}");
        }
        // Another destination does not wait for this one.
        let t = Instant::now();
        let other = lanes.announce("C2", "ntf_9").unwrap();
        lanes
            .enter(&other, Duration::from_secs(1))
            .await
            .ok()
            .unwrap()
            .finish(None);
        assert!(t.elapsed() < Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_job_keeps_later_ones_behind_it_until_it_is_sent() {
        let lanes = Lanes::new(Duration::from_secs(5));
        let first = lanes.announce("C1", "ntf_1").unwrap();
        lanes
            .enter(&first, Duration::from_secs(1))
            .await
            .ok()
            .unwrap()
            .finish(Some(Duration::from_secs(30)));
        drop(first);
        // A provider pause longer than the lease allows sends it back.
        let second = lanes.announce("C1", "ntf_2").unwrap();
        let wait = lanes
            .enter(&second, Duration::from_secs(1))
            .await
            .err()
            .unwrap();
        assert!(wait > Duration::from_secs(25), "{wait:?}");
        drop(second);
        // A younger job must not overtake the held one.
        tokio::time::advance(Duration::from_secs(31)).await;
        let third = lanes.announce("C1", "ntf_3").unwrap();
        assert!(lanes.enter(&third, Duration::from_secs(1)).await.is_err());
        drop(third);
        // The held one comes back and goes; then the younger may.
        let second = lanes.announce("C1", "ntf_2").unwrap();
        lanes
            .enter(&second, Duration::from_secs(1))
            .await
            .ok()
            .unwrap()
            .finish(None);
        drop(second);
        tokio::time::advance(Duration::from_secs(2)).await;
        let third = lanes.announce("C1", "ntf_3").unwrap();
        assert!(lanes.enter(&third, Duration::from_secs(1)).await.is_ok());
    }
}
