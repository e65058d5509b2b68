//! A circuit breaker per provider, per node.
//!
//! After `threshold` consecutive transient failures the circuit opens: the
//! engine skips the provider (moving sends to the next one) instead of
//! spending every message's attempts on an outage. After `open_for`, one
//! probe is let through; its success (or any answer that shows the provider
//! is up, such as a refusal of one message) closes the circuit, its failure
//! opens it again. A probe that never reports (its send ended before an
//! answer) is given up after another `open_for`, so the circuit cannot
//! stay half-open for good.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// `probe`: when the probe now out was let through.
    HalfOpen {
        probe: Option<Instant>,
    },
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
                *s = State::HalfOpen { probe: Some(now) };
                Admission::Allowed
            }
            State::Open { until } => Admission::Rejected(until),
            State::HalfOpen { probe: None } => {
                *s = State::HalfOpen { probe: Some(now) };
                Admission::Allowed
            }
            State::HalfOpen { probe: Some(since) }
                if now.saturating_duration_since(since) >= self.open_for =>
            {
                *s = State::HalfOpen { probe: Some(now) };
                Admission::Allowed
            }
            // One probe at a time; the others wait a moment.
            State::HalfOpen { probe: Some(_) } => Admission::Rejected(now + Duration::from_secs(1)),
        }
    }

    pub fn record_success(&self) {
        if let Ok(mut s) = self.state.lock() {
            *s = State::Closed { failures: 0 };
        }
    }

    /// The provider answered, refusing this one message (a bad number, say):
    /// it is up, so a probe that gets such an answer closes the circuit. A
    /// closed circuit's count of failures is left as it is.
    pub fn record_answer(&self) {
        if let Ok(mut s) = self.state.lock() {
            if let State::HalfOpen { .. } = *s {
                *s = State::Closed { failures: 0 };
            }
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

    /// `closed`, `open` or `half-open` at `now`, for the dashboard and the
    /// overview report; reading it changes nothing.
    pub fn state_name(&self, now: Instant) -> &'static str {
        match self.state.lock().map(|s| *s) {
            Ok(State::Open { until }) if now < until => "open",
            Ok(State::Open { .. }) | Ok(State::HalfOpen { .. }) => "half-open",
            Ok(State::Closed { .. }) | Err(_) => "closed",
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

    #[test]
    fn a_probe_refused_for_its_message_closes_and_a_lost_probe_is_given_up() {
        let b = Breaker::new(1, Duration::from_secs(5));
        let t0 = Instant::now();
        b.record_failure(t0);
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(b.admit(t1), Admission::Allowed, "probe");
        assert_eq!(b.state_name(t1), "half-open");
        // A 4xx for that one message: the provider is answering.
        b.record_answer();
        assert_eq!(b.state_name(t1), "closed");
        assert_eq!(b.admit(t1), Admission::Allowed);
        b.record_answer();
        assert_eq!(b.state_name(t1), "closed", "a closed circuit stays closed");

        // A probe that never reports holds the circuit for one more wait only.
        b.record_failure(t1);
        let t2 = t1 + Duration::from_secs(5);
        assert_eq!(b.admit(t2), Admission::Allowed, "probe, then nothing");
        assert!(matches!(
            b.admit(t2 + Duration::from_secs(4)),
            Admission::Rejected(_)
        ));
        assert_eq!(
            b.admit(t2 + Duration::from_secs(5)),
            Admission::Allowed,
            "a new probe"
        );
        assert_eq!(b.state_name(t0), "half-open");
    }
}
