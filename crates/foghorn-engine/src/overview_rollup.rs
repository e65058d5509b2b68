//! Keeps the overview's hourly counts up to date: every few minutes the
//! hours that settled (ended a day ago) are rolled up, so the dashboard's
//! 30-day window stays fast however many notifications a tenant keeps.

use foghorn_store::Store;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(300);

pub fn spawn(store: Store) {
    tokio::spawn(async move {
        loop {
            // A backlog (the first run on a large history) is worked off a
            // week per tenant at a time, then the task rests.
            loop {
                match store.roll_up_overview(foghorn_core::clock::now_ms()).await {
                    Ok(0) => break,
                    // A breath between weeks, so that the writer the
                    // accept path needs is not held back to back.
                    Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "rolling up the overview failed; trying again later");
                        break;
                    }
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
