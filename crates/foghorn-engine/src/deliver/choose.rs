//! Which provider takes a prepared message: the tenant's routing for the
//! channel and the recipient's country (which also picks an SMS sender),
//! past providers whose circuit is open, then the provider's pacing.

use super::{exhausted, now_ms, outcome, Prepared, Shared};
use crate::breaker::Admission;
use crate::routing::Slot;
use foghorn_core::Address;
use foghorn_store::{ClaimedJob, Outcome, OutcomeKind};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The provider to call, and where it sits in the channel's order.
pub struct Chosen {
    /// The channel's providers for this recipient, in failover order.
    pub slots: Vec<Arc<Slot>>,
    pub idx: usize,
    /// Attempts already made on `slots[idx]`.
    pub attempt: u32,
}

impl Chosen {
    pub fn slot(&self) -> &Slot {
        &self.slots[self.idx]
    }

    pub fn more_providers(&self) -> bool {
        self.idx + 1 < self.slots.len()
    }
}

pub(super) async fn choose(
    shared: &Shared,
    job: &ClaimedJob,
    prepared: &mut Prepared,
) -> Result<Chosen, Outcome> {
    let n = &job.notification;
    let channel = prepared.msg.channel;
    let routing = shared.routes.for_tenant(&n.tenant_id).await;
    // The recipient's country picks the provider order and the sender.
    let country = match &prepared.msg.to {
        Address::Phone(p) => crate::phone::country_of(p),
        _ => None,
    };
    if channel == foghorn_core::Channel::Sms && prepared.msg.from.is_none() {
        prepared.msg.from = routing.sms_sender(country.as_deref()).map(str::to_string);
    }
    let slots = routing.for_recipient(channel, country.as_deref()).to_vec();
    let mut idx = job.provider_idx.max(0) as usize;
    let mut attempt = job.attempt.max(0) as u32;
    let mut reopen: Option<Instant> = None;
    let first_open = idx;
    let now = Instant::now();
    // Skip providers whose circuit is open, without spending attempts.
    while let Some(slot) = slots.get(idx) {
        match slot.breaker.admit(now) {
            Admission::Allowed => {
                if let Some(limiter) = &slot.limiter {
                    limiter.until_ready().await;
                }
                return Ok(Chosen {
                    slots,
                    idx,
                    attempt,
                });
            }
            Admission::Rejected(until) => {
                reopen = Some(reopen.map_or(until, |r| r.min(until)));
                idx += 1;
                attempt = 0;
            }
        }
    }
    if let Some(until) = reopen {
        // Every remaining provider is open: wait for the first to reopen.
        let wait = until
            .saturating_duration_since(now)
            .max(Duration::from_millis(100));
        let run_at = now_ms() + wait.as_millis() as i64;
        return Err(outcome(
            job,
            None,
            OutcomeKind::Retry {
                run_at,
                attempt: job.attempt,
                provider_idx: first_open as i64,
            },
        ));
    }
    Err(exhausted(job, prepared, "every provider failed".into()))
}
