//! What a failed send means for the notification: try the same provider
//! again later, move to the channel's next provider, or give the channel up.
//! A pure function of the provider's answer, the attempts made and the
//! retry policy, so every case is a row in a table test.

use crate::retry::next_wait;
use foghorn_core::ProviderError;
use rand::Rng;
use std::time::Duration;

/// The retry policy of `[delivery]`.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub max_attempts: u32,
    pub schedule: &'a [Duration],
    pub jitter: f64,
}

/// Where the notification goes next.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The same provider after `wait`; `attempt` attempts made on it.
    Retry { wait: Duration, attempt: u32 },
    /// The next provider of the channel, now.
    NextProvider,
    /// No provider is left: the step's fallback channel or the dead-letter
    /// queue, with the reason shown on the notification.
    Exhausted { reason: String },
}

/// What the failure says about the provider's circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Nothing: the message was at fault, or the provider asked us to slow
    /// down (which pacing, not the breaker, answers).
    Unchanged,
    /// One more transient failure toward the threshold.
    Failure,
    /// Open at once: every message would fail alike (bad credentials).
    Trip,
}

/// One failed send classified.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub decision: Decision,
    pub circuit: Circuit,
}

/// Classifies `err` from `provider`, the `attempt`-th failure so far on it
/// (counting from 0 before this one), with `more_providers` after it.
pub fn classify(
    err: &ProviderError,
    provider: &str,
    attempt: u32,
    more_providers: bool,
    policy: &Policy<'_>,
    rng: &mut impl Rng,
) -> Classified {
    let give_up = |reason: String| {
        if more_providers {
            Decision::NextProvider
        } else {
            Decision::Exhausted { reason }
        }
    };
    match err {
        ProviderError::Retryable { .. } | ProviderError::RateLimited { .. } => {
            let circuit = match err {
                ProviderError::Retryable { .. } => Circuit::Failure,
                _ => Circuit::Unchanged,
            };
            let made = attempt + 1;
            let decision = if made < policy.max_attempts {
                let hint = match err {
                    ProviderError::RateLimited { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let wait = next_wait(policy.schedule, made, policy.jitter, hint, rng);
                Decision::Retry {
                    wait,
                    attempt: made,
                }
            } else {
                give_up(format!(
                    "{provider}: {made} attempts failed, last {}",
                    summary(err)
                ))
            };
            Classified { decision, circuit }
        }
        ProviderError::Permanent { .. } => Classified {
            decision: give_up(format!("{provider}: {}", summary(err))),
            circuit: Circuit::Unchanged,
        },
        ProviderError::Misconfigured { .. } => Classified {
            decision: give_up(format!("{provider}: {}", summary(err))),
            circuit: Circuit::Trip,
        },
    }
}

/// A failure as the notification's status reason shows it: the class and
/// HTTP status, not the provider's words (which may quote an address and
/// live sealed in the attempt row).
pub fn summary(err: &ProviderError) -> String {
    match err.http_status() {
        Some(code) => format!("{} (HTTP {code})", err.kind()),
        None => err.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foghorn_core::ErrorKind;
    use rand::rngs::mock::StepRng;

    const SCHEDULE: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(300)];

    fn policy() -> Policy<'static> {
        Policy {
            max_attempts: 3,
            schedule: &SCHEDULE,
            // No jitter: the table states exact waits.
            jitter: 0.0,
        }
    }

    fn retry(wait_s: u64, attempt: u32) -> Decision {
        Decision::Retry {
            wait: Duration::from_secs(wait_s),
            attempt,
        }
    }

    fn exhausted(reason: &str) -> Decision {
        Decision::Exhausted {
            reason: reason.into(),
        }
    }

    #[test]
    fn every_answer_attempt_and_provider_count_has_its_outcome() {
        let transient = ProviderError::new(ErrorKind::Retryable, "timeout", Some(503));
        let slow_down = ProviderError::RateLimited {
            reason: "429".into(),
            retry_after: Some(Duration::from_secs(7)),
            http_status: Some(429),
        };
        let slow_down_no_hint = ProviderError::new(ErrorKind::RateLimited, "429", Some(429));
        let refused = ProviderError::new(ErrorKind::Permanent, "bad number", Some(400));
        let bad_key = ProviderError::new(ErrorKind::Misconfigured, "401", Some(401));
        let cases: Vec<(&str, &ProviderError, u32, bool, Decision, Circuit)> = vec![
            (
                "first transient failure",
                &transient,
                0,
                true,
                retry(60, 1),
                Circuit::Failure,
            ),
            (
                "second transient failure",
                &transient,
                1,
                false,
                retry(300, 2),
                Circuit::Failure,
            ),
            (
                "last attempt, another provider",
                &transient,
                2,
                true,
                Decision::NextProvider,
                Circuit::Failure,
            ),
            (
                "last attempt, last provider",
                &transient,
                2,
                false,
                exhausted("p: 3 attempts failed, last retryable (HTTP 503)"),
                Circuit::Failure,
            ),
            (
                "429 with Retry-After",
                &slow_down,
                0,
                false,
                retry(7, 1),
                Circuit::Unchanged,
            ),
            (
                "429 without a hint",
                &slow_down_no_hint,
                1,
                false,
                retry(300, 2),
                Circuit::Unchanged,
            ),
            (
                "429 on the last attempt",
                &slow_down,
                2,
                true,
                Decision::NextProvider,
                Circuit::Unchanged,
            ),
            (
                "permanent, another provider",
                &refused,
                0,
                true,
                Decision::NextProvider,
                Circuit::Unchanged,
            ),
            (
                "permanent, last provider",
                &refused,
                0,
                false,
                exhausted("p: permanent (HTTP 400)"),
                Circuit::Unchanged,
            ),
            (
                "misconfigured, another provider",
                &bad_key,
                0,
                true,
                Decision::NextProvider,
                Circuit::Trip,
            ),
            (
                "misconfigured, last provider",
                &bad_key,
                1,
                false,
                exhausted("p: misconfigured (HTTP 401)"),
                Circuit::Trip,
            ),
        ];
        for (case, err, attempt, more, decision, circuit) in cases {
            let got = classify(err, "p", attempt, more, &policy(), &mut StepRng::new(0, 1));
            assert_eq!(got, Classified { decision, circuit }, "{case}");
        }
    }

    #[test]
    fn the_reason_never_quotes_the_provider() {
        let err = ProviderError::permanent("owner@example.com is not a valid recipient");
        let got = classify(
            &err,
            "mailgun",
            0,
            false,
            &policy(),
            &mut StepRng::new(0, 1),
        );
        let Decision::Exhausted { reason } = got.decision else {
            panic!("the last provider gives the channel up");
        };
        assert!(!reason.contains("owner@"), "{reason}");
    }
}
