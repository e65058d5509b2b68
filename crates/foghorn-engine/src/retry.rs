//! When to try again: the configured schedule with jitter, or the provider's
//! own `Retry-After` when it gave one.

use rand::Rng;
use std::time::Duration;

/// Wait before attempt `attempt + 1` (attempt counts from 1 for the first
/// failure). The last step of the schedule repeats.
pub fn backoff(schedule: &[Duration], attempt: u32, jitter: f64, rng: &mut impl Rng) -> Duration {
    let base = schedule
        .get((attempt.max(1) - 1) as usize)
        .or(schedule.last())
        .copied()
        .unwrap_or(Duration::from_secs(60));
    if jitter <= 0.0 {
        return base;
    }
    let factor = 1.0 + rng.gen_range(-jitter..=jitter);
    base.mul_f64(factor.max(0.0))
}

/// The provider's hint wins when present: retrying sooner would be refused.
pub fn next_wait(
    schedule: &[Duration],
    attempt: u32,
    jitter: f64,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> Duration {
    match retry_after {
        Some(hint) => hint,
        None => backoff(schedule, attempt, jitter, rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_schedule_within_the_jitter_and_repeats_the_last_step() {
        let s = [
            Duration::from_secs(60),
            Duration::from_secs(300),
            Duration::from_secs(900),
            Duration::from_secs(3600),
        ];
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            let w = backoff(&s, 1, 0.2, &mut rng).as_secs_f64();
            assert!((48.0..=72.0).contains(&w), "{w}");
            let w = backoff(&s, 9, 0.2, &mut rng).as_secs_f64();
            assert!((2880.0..=4320.0).contains(&w), "{w}");
        }
        assert_eq!(backoff(&s, 2, 0.0, &mut rng), Duration::from_secs(300));
        assert_eq!(
            next_wait(&s, 1, 0.2, Some(Duration::from_secs(7)), &mut rng),
            Duration::from_secs(7)
        );
    }
}
