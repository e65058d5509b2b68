//! Tasks that talk to SQLite all the time, each on a thread of its own.

use tokio::sync::oneshot;

/// Runs `task` on a thread of its own. SQLite's driver answers every
/// statement from its worker thread, which wakes the waiting task through
/// the runtime's shared queue, polled behind the HTTP tasks; the one
/// writer issues a dozen statements per batch, so it should not queue
/// behind them for each. (Measured alone the change moved the accept rate
/// little; the writer's own CPU was the larger cost.) Without a runtime of
/// its own (never seen), the task shares the node's; without a thread,
/// the task never runs (its end is reported at once). The receiver hears
/// when the task has ended.
pub fn spawn<F, Fut>(name: &str, task: F) -> oneshot::Receiver<()>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (done, ended) = oneshot::channel();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, thread = name, "no runtime of its own; sharing the node's");
            tokio::spawn(async move {
                task().await;
                let _ = done.send(());
            });
            return ended;
        }
    };
    let spawned = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            runtime.block_on(task());
            let _ = done.send(());
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, thread = name, "cannot start a thread");
    }
    ended
}
