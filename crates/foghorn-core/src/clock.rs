//! The time Foghorn plans by: the system clock, shifted by an offset that
//! only a server started with `dev.clock = true` lets an operator move.
//!
//! Quiet hours, reminders and budgets depend on the wall clock; tests and
//! rehearsals need to be at 21:30 in New York now, and then at 08:00 the
//! next morning, without waiting. Signature windows and the HTTP layer keep
//! the real clock: a provider signs with its own time.

use std::sync::atomic::{AtomicI64, Ordering};

static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// The furthest the clock may be moved: a century.
const MAX_OFFSET_MS: i64 = 100 * 366 * 86_400_000;

/// Milliseconds since the Unix epoch, as Foghorn sees them.
pub fn now_ms() -> i64 {
    chrono::Utc::now()
        .timestamp_millis()
        .saturating_add(OFFSET_MS.load(Ordering::Relaxed))
}

/// The current instant as a UTC date-time.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(now_ms()).unwrap_or_else(chrono::Utc::now)
}

/// `YYYY-MM` (UTC) of an instant in epoch milliseconds: the month a send's
/// cost counts in, as the cost report groups them.
pub fn month_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m").to_string())
        .unwrap_or_default()
}

/// Moves the clock so that it reads `at_ms` now. The clock never runs
/// backwards for the queue's sake: a request to go back is refused.
pub fn set_ms(at_ms: i64) -> Result<i64, ClockError> {
    let real = chrono::Utc::now().timestamp_millis();
    let offset = at_ms.saturating_sub(real);
    if offset < OFFSET_MS.load(Ordering::Relaxed) {
        return Err(ClockError::Backwards);
    }
    if offset > MAX_OFFSET_MS {
        return Err(ClockError::TooFar);
    }
    OFFSET_MS.store(offset, Ordering::Relaxed);
    Ok(now_ms())
}

/// Moves the clock forward by `ms`.
pub fn advance_ms(ms: i64) -> Result<i64, ClockError> {
    if ms < 0 {
        return Err(ClockError::Backwards);
    }
    let offset = OFFSET_MS.load(Ordering::Relaxed).saturating_add(ms);
    if offset > MAX_OFFSET_MS {
        return Err(ClockError::TooFar);
    }
    OFFSET_MS.store(offset, Ordering::Relaxed);
    Ok(now_ms())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("the clock only moves forward")]
    Backwards,
    #[error("the clock moves at most a century ahead")]
    TooFar,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward_only_and_not_past_a_century() {
        let before = now_ms();
        assert_eq!(advance_ms(i64::MAX), Err(ClockError::TooFar));
        assert_eq!(advance_ms(-1), Err(ClockError::Backwards));
        assert_eq!(set_ms(0), Err(ClockError::Backwards));
        assert!(now_ms() - before < 60_000, "a refused move changes nothing");
        let moved = advance_ms(3_600_000).unwrap();
        assert!(moved - before >= 3_600_000);
        assert_eq!(month_of(0), "1970-01");
    }
}
