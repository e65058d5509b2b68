//! A circuit breaker per provider, per node.
//!
//! After `threshold` consecutive transient failures the circuit opens: the
//! engine skips the provider (moving sends to the next one) instead of
//! spending every message's attempts on an outage. After `open_for`, one
//! probe is let through; its success closes the circuit, its failure opens it
//! again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
    threshold: u32,
    open_for: Duration,
}

/// Whether a send may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Open; try again after this instant.
    Rejected(Instant),
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Breaker {
            state: Mutex::new(State::Closed { failures: 0 }),
            threshold: threshold.max(1),
            open_for,
        }
    }

    pub fn admit(&self, now: Instant) -> Admission {
        let Ok(mut s) = self.state.lock() else {
            return Admission::Allowed;
        };
        match *s {
            State::Closed { .. } => Admission::Allowed,
            State::Open { until } if now >= until => {
                *s = State::HalfOpen { probing: true };
                Admission::Allowed
            }
            State::Open { until } => Admission::Rejected(until),
            State::HalfOpen { probing: false } => {
                *s = State::HalfOpen { probing: true };
                Admission::Allowed
            }
            // One probe at a time; the others wait a moment.
            State::HalfOpen { probing: true } => Admission::Rejected(now + Duration::from_secs(1)),
        }
    }

    pub fn record_success(&self) {
        if let Ok(mut s) = self.state.lock() {
            *s = State::Closed { failures: 0 };
        }
    }

    /// A transient failure (the provider, not the message, is at fault).
    pub fn record_failure(&self, now: Instant) {
        if let Ok(mut s) = self.state.lock() {
            *s = match *s {
                State::Closed { failures } if failures + 1 >= self.threshold => State::Open {
                    until: now + self.open_for,
                },
                State::Closed { failures } => State::Closed {
                    failures: failures + 1,
                },
                State::HalfOpen { .. } | State::Open { .. } => State::Open {
                    until: now + self.open_for,
                },
            };
        }
    }

    /// Opens at once (bad credentials: every send would fail alike).
    pub fn trip(&self, now: Instant) {
        if let Ok(mut s) = self.state.lock() {
            *s = State::Open {
                until: now + self.open_for,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_once_after_the_wait() {
        let b = Breaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..2 {
            b.record_failure(t0);
        }
        assert_eq!(b.admit(t0), Admission::Allowed);
        b.record_failure(t0);
        assert!(matches!(
            b.admit(t0 + Duration::from_secs(9)),
            Admission::Rejected(_)
        ));
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.admit(later), Admission::Allowed, "probe");
        assert!(
            matches!(b.admit(later), Admission::Rejected(_)),
            "only one probe"
        );
        b.record_success();
        assert_eq!(b.admit(later), Admission::Allowed);
    }

    #[test]
    fn a_failed_probe_reopens_and_success_resets_the_count() {
        let b = Breaker::new(2, Duration::from_secs(5));
        let t0 = Instant::now();
        b.record_failure(t0);
        b.record_success();
        b.record_failure(t0);
        assert_eq!(b.admit(t0), Admission::Allowed, "count was reset");
        b.record_failure(t0);
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(b.admit(t1), Admission::Allowed);
        b.record_failure(t1);
        assert!(matches!(
            b.admit(t1 + Duration::from_secs(4)),
            Admission::Rejected(_)
        ));
        b.record_success();
        b.trip(t1);
        assert!(
            matches!(b.admit(t1), Admission::Rejected(_)),
            "tripped at once"
        );
    }
}
