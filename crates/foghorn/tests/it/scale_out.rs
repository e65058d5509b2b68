//! Three `serve --role worker` processes on one PostgreSQL database deliver
//! 5,000 notifications with none missing and none twice.

use crate::common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_share_one_postgres_without_doubling_or_losing() {
    const EVENTS: usize = 5_000;
    let Some(env) = postgres_env().await else {
        // .ci/run always sets FOGHORN_TEST_DATABASE_URL; locally this test
        // needs it too.
        panic!("FOGHORN_TEST_DATABASE_URL is not set: this test needs PostgreSQL");
    };
    let sink = Sink::start().await;
    webhook_provider(&env, "");
    hook_workflow(&env, "hook.ping", &format!("{}/hook", sink.url));
    let key = env.key("admin").await;
    let api_node = Server::start(&env, "api", &[]).await;
    let api = Api::new(&api_node.base, &key);
    // Queue everything first, so the workers compete for one backlog.
    let answers = post_many(
        &api,
        EVENTS,
        32,
        |i| json!({"name": "hook.ping", "data": {"n": i}}),
    )
    .await;
    assert!(answers.iter().all(|(s, _)| *s == 202));
    assert_eq!(sink.counts().0, 0, "an api node sends nothing");
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers
            .push(Server::start(&env, "worker", &[("FOGHORN_DELIVERY__CLAIM_BATCH", "50")]).await);
    }
    sink.wait_for(EVENTS, Duration::from_secs(240)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (distinct, total) = sink.counts();
    assert_eq!(
        (distinct, total),
        (EVENTS, EVENTS),
        "no double delivery, none missing"
    );
    api.wait_for_status("sent", EVENTS, Duration::from_secs(30))
        .await;
    // A worker node refuses events but still answers reads.
    let worker_api = Api::new(&workers[0].base, &key);
    let (s, _) = worker_api
        .post("/v1/events", json!({"name": "hook.ping"}))
        .await;
    assert_eq!(s, 503);
    for w in workers {
        assert_eq!(w.stop().await, 0);
    }
    api_node.stop().await;
}
