//! One lane per destination whose provider paces it (Slack: a message a
//! second per channel): sends to it go one at a time, in the order their
//! jobs were dispatched, each after the pause since the last answer. A job
//! that would wait longer than [`MAX_WAIT`] goes back to the queue for when
//! its turn comes, so nothing holds a lease that long and nothing is refused
//! by the provider for going too fast.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;
// tokio's clock, so the lanes can be tested on a paused one.
use tokio::time::Instant;

struct Lane {
    /// When the lane may next send.
    next: Arc<tokio::sync::Mutex<Option<Instant>>>,
    waiting: AtomicUsize,
}

pub struct Lanes {
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    /// The longest a send waits in its lane before going back to the queue.
    max_wait: Duration,
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

    /// Waits for the lane's turn, or says how long until it would come
    /// when that is more than `max_wait`.
    pub async fn enter(&self, key: &str, interval: Duration) -> Result<Turn, Duration> {
        let lane = {
            let Ok(mut lanes) = self.lanes.lock() else {
                return Err(interval);
            };
            // Lanes nobody waits in or holds are forgotten.
            if lanes.len() > 10_000 {
                lanes.retain(|_, l| Arc::strong_count(l) > 1 || Arc::strong_count(&l.next) > 1);
            }
            lanes
                .entry(key.to_string())
                .or_insert_with(|| {
                    Arc::new(Lane {
                        next: Arc::new(tokio::sync::Mutex::new(None)),
                        waiting: AtomicUsize::new(0),
                    })
                })
                .clone()
        };
        let ahead = lane.waiting.fetch_add(1, Ordering::SeqCst);
        let queued = interval.saturating_mul(ahead as u32);
        if queued > self.max_wait {
            lane.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(queued);
        }
        let next = lane.next.clone().lock_owned().await;
        lane.waiting.fetch_sub(1, Ordering::SeqCst);
        if let Some(at) = *next {
            let now = Instant::now();
            if at > now + self.max_wait {
                return Err(at - now);
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
        for i in 0..4 {
            let (lanes, order) = (lanes.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let turn = lanes.enter("C1", Duration::from_secs(1)).await.unwrap();
                order
                    .lock()
                    .unwrap()
                    .push((i, started.elapsed().as_millis()));
                turn.finish(None);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(
            order.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        for pair in order.windows(2) {
            assert!(pair[1].1 - pair[0].1 >= 1000, "{order:?}");
        }
        // Another destination does not wait for this one.
        let t = Instant::now();
        lanes
            .enter("C2", Duration::from_secs(1))
            .await
            .unwrap()
            .finish(None);
        assert!(t.elapsed() < Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_queue_or_a_provider_pause_sends_the_job_back() {
        let lanes = Lanes::new(Duration::from_secs(5));
        lanes
            .enter("C1", Duration::from_secs(1))
            .await
            .unwrap()
            .finish(Some(Duration::from_secs(30)));
        let back = lanes
            .enter("C1", Duration::from_secs(1))
            .await
            .err()
            .unwrap();
        assert!(back > Duration::from_secs(25), "{back:?}");
    }
}
