//! `foghorn-bench` (also `foghorn bench`): measures the real `foghorn`
//! binary over loopback HTTP and, when asked, the seed document's Node +
//! BullMQ architecture in the same run. A crate of its own, so the load
//! generator's HTTP client costs the product nothing.
//!
//! Figures (each per database): events accepted per second (durably
//! committed before the 202; `--role api`, so no sending competes),
//! end-to-end deliveries per second to a loopback webhook sink, POST → sink
//! latency at a steady rate, peak RSS with 100,000 notifications queued and
//! the time one worker node takes to drain them, start-up time to a healthy
//! `/healthz` on a fresh SQLite file, the accept rate of a whole node (API
//! and workers on the same cores, events naming a stored subscriber, as the
//! side-by-side kit's wrk script sends), and on PostgreSQL the drain rate of
//! one, two and three worker nodes sharing the database.

mod cpu;
mod dashboard;
mod load;
mod rounds;
mod sink;
mod target;

use anyhow::Context;
use clap::Parser;
use hyper::body::Bytes;
use load::{MakeBody, Target};
use serde::Serialize;
use sink::BenchSink;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(
    name = "foghorn-bench",
    about = "Throughput and latency of Foghorn, beside the seed baseline"
)]
pub struct BenchArgs {
    /// The `foghorn` binary under test; by default the one next to this
    /// program (`cargo build --release` puts both in target/release).
    #[arg(long)]
    pub foghorn: Option<std::path::PathBuf>,
    /// Seconds each throughput and latency phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent client connections for the throughput phases.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Steady rate for the latency phase, events per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Notifications queued for the memory phase.
    #[arg(long, default_value_t = 100_000)]
    pub queued: u64,
    /// Worker nodes the PostgreSQL scale-out phase goes up to (0 skips it).
    #[arg(long, default_value_t = 3)]
    pub max_nodes: usize,
    /// PostgreSQL server to bench on as well (a fresh database is created
    /// there); defaults to FOGHORN_TEST_DATABASE_URL when set.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Skip PostgreSQL even when a URL is known.
    #[arg(long, conflicts_with = "postgres_only")]
    pub sqlite_only: bool,
    /// Skip SQLite (a PostgreSQL URL is then needed).
    #[arg(long)]
    pub postgres_only: bool,
    /// The phases to run, comma-separated; all by default.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Phase::all())]
    pub phases: Vec<Phase>,
    /// A copy of the seed document's Node + BullMQ baseline where
    /// `npm install` has run, with Redis on 127.0.0.1:6379: measured too.
    #[arg(long)]
    pub seed_baseline: Option<std::path::PathBuf>,
    /// Notifications in the database for the dashboard phase (the overview
    /// and the first page of the list, timed); 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    pub dashboard_rows: i64,
    /// Run only the dashboard phase.
    #[arg(long)]
    pub dashboard_only: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Rounds of the whole run, interleaved across the systems; each figure
    /// is then the median of the rounds, reported with its range (the
    /// dashboard phase runs in the first round only).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
}

/// One measurement of a run; `--phases` picks some, to look at one figure
/// closely (under a profiler, say) without waiting for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    Dashboard,
    Startup,
    Accept,
    /// Deliveries during ingest, and latency at a steady rate after it.
    Deliver,
    Drain,
    Whole,
    ScaleOut,
}

impl Phase {
    fn all() -> Vec<Phase> {
        use clap::ValueEnum;
        Phase::value_variants().to_vec()
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub system: String,
    /// Rounds this report is the median of.
    pub rounds: usize,
    pub accepted_per_sec: f64,
    pub deliveries_per_sec: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    /// The same requests' POST → 202 (the durable accept alone).
    pub accept_latency_p50_ms: f64,
    pub accept_latency_p99_ms: f64,
    pub latency_samples: usize,
    pub peak_rss_mib_queued: Option<f64>,
    pub peak_rss_mib_draining: Option<f64>,
    /// Seconds one worker node took to deliver the queued notifications.
    pub drain_seconds: Option<f64>,
    /// Notifications that drain delivered per second.
    pub drain_per_sec: Option<f64>,
    pub startup_ms: Option<f64>,
    /// Events accepted per second by a node that also delivers them, each
    /// naming a stored subscriber (the side-by-side kit's `event.lua`).
    pub accepted_per_sec_whole_node: Option<f64>,
    /// Drain rate of a queued backlog by 1, 2, … worker nodes on one
    /// PostgreSQL database.
    pub scale_out: Vec<ScalePoint>,
    /// The dashboard with a large history.
    pub dashboard: Option<dashboard::Figures>,
    /// Where each throughput phase's CPU went.
    pub cpu: Vec<cpu::PhaseCpu>,
    /// The nodes' own batch figures after a phase (mean accept batch, claim
    /// and outcome batches and how long each took), by phase and metric.
    pub batches: Vec<(String, String, f64)>,
    /// Each figure's lowest and highest value over the rounds, by its key
    /// in this report (`scale_out_N_nodes` for the curve's points).
    pub ranges: std::collections::BTreeMap<String, rounds::Range>,
}

/// The node histograms [`Report::batches`] reads.
const BATCH_METRICS: [&str; 5] = [
    "foghorn_accept_batch_size",
    "foghorn_claim_batch_size",
    "foghorn_claim_seconds",
    "foghorn_record_batch_size",
    "foghorn_record_seconds",
];

impl Report {
    async fn note_batches(&mut self, phase: &str, node: &target::Process) {
        for (metric, mean) in target::histogram_means(&node.addr, &BATCH_METRICS).await {
            self.batches.push((phase.to_string(), metric, mean));
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ScalePoint {
    pub nodes: usize,
    pub deliveries_per_sec: f64,
}

/// The side-by-side kit's `event.lua` body: one stored subscriber.
fn subscriber_event_body() -> MakeBody {
    Arc::new(|_| {
        Bytes::from_static(
            br#"{"name":"document.uploaded","to":["owner-42"],"data":{"boat":"Jeanneau 51","title":"Engine Warranty","url":"https://navidocs.boat/doc/123"}}"#,
        )
    })
}

fn event_body(name: &'static str) -> MakeBody {
    Arc::new(move |n| {
        Bytes::from(format!(
            r#"{{"name":"{name}","data":{{"boat":"Jeanneau 51","title":"Engine Warranty","n":{n}}}}}"#
        ))
    })
}

fn say(json: bool, msg: &str) {
    if !json {
        eprintln!("{msg}");
    }
}

fn main() -> std::process::ExitCode {
    let args = BenchArgs::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("foghorn-bench: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("foghorn-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: BenchArgs) -> anyhow::Result<()> {
    target::locate_foghorn(args.foghorn.as_deref())?;
    let sink = BenchSink::start().await?;
    let mut dbs = Vec::new();
    if !args.postgres_only {
        dbs.push(("sqlite", None));
    }
    let pg = args
        .postgres
        .clone()
        .or_else(|| std::env::var("FOGHORN_TEST_DATABASE_URL").ok());
    match (pg, args.sqlite_only) {
        (Some(url), false) => dbs.push(("postgres", Some(url))),
        (None, _) if args.postgres_only => {
            anyhow::bail!("--postgres-only needs --postgres URL (or FOGHORN_TEST_DATABASE_URL)")
        }
        _ => {}
    }
    // Each system's rounds, in the order the systems run.
    let mut by_system: Vec<Vec<Report>> = Vec::new();
    for round in 0..args.rounds {
        if args.rounds > 1 {
            say(
                args.json,
                &format!("=== round {} of {}", round + 1, args.rounds),
            );
        }
        let mut systems = Vec::new();
        for (name, pg_url) in &dbs {
            say(args.json, &format!("== Foghorn on {name}"));
            systems.push(bench_foghorn(&args, &sink, name, pg_url.as_deref(), round).await?);
        }
        if let Some(dir) = &args.seed_baseline {
            say(args.json, "== seed baseline (Node + BullMQ on Redis)");
            systems.push(bench_seed(&args, &sink, dir).await?);
        }
        for (i, r) in systems.into_iter().enumerate() {
            match by_system.get_mut(i) {
                Some(of_system) => of_system.push(r),
                None => by_system.push(vec![r]),
            }
        }
    }
    let reports: Vec<Report> = by_system.into_iter().map(rounds::merge).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        print_table(&reports);
    }
    Ok(())
}

async fn fresh_database(
    kind: &str,
    pg: Option<&str>,
    dir: &std::path::Path,
    tag: &str,
) -> anyhow::Result<String> {
    Ok(match (kind, pg) {
        ("postgres", Some(base)) => foghorn_store::scratch::create_postgres_database(base).await?,
        _ => format!("sqlite://{}", dir.join(format!("bench-{tag}.db")).display()),
    })
}

async fn bench_foghorn(
    args: &BenchArgs,
    sink: &BenchSink,
    kind: &str,
    pg: Option<&str>,
    round: u32,
) -> anyhow::Result<Report> {
    // The run's working folder (config, workflows, SQLite files), private
    // to its user and removed when the run ends, a failed one's too.
    let dir = tempfile::tempdir()?;
    target::prepare_dir(dir.path(), &sink.url, "")?;
    let mut report = Report {
        system: format!("foghorn ({kind})"),
        rounds: 1,
        ..Default::default()
    };
    let secs = Duration::from_secs(args.seconds);

    // 0. The dashboard over a large history.
    if round == 0 && args.dashboard_rows > 0 && args.phases.contains(&Phase::Dashboard) {
        let url = fresh_database(kind, pg, dir.path(), "dashboard").await?;
        let json = args.json;
        let figures =
            dashboard::measure(dir.path(), &url, args.dashboard_rows, |m| say(json, m)).await;
        discard(pg, &url).await;
        let f = figures?;
        say(
            args.json,
            &format!(
                "  dashboard with {} notifications (median / slowest of 20): overview {:.1} / {:.1} ms (day), {:.1} / {:.1} ms (30 days); first page of notifications {:.1} / {:.1} ms; API overview {:.1} / {:.1} ms",
                f.rows,
                f.overview_day_ms.0, f.overview_day_ms.1,
                f.overview_30d_ms.0, f.overview_30d_ms.1,
                f.notifications_page_ms.0, f.notifications_page_ms.1,
                f.api_overview_day_ms.0, f.api_overview_day_ms.1,
            ),
        );
        report.dashboard = Some(f);
        if args.dashboard_only {
            return Ok(report);
        }
    }

    // Start-up on a fresh SQLite file.
    if kind == "sqlite" && args.phases.contains(&Phase::Startup) {
        let mut times = Vec::new();
        for i in 0..5 {
            let url = fresh_database(kind, pg, dir.path(), &format!("start{i}")).await?;
            let (p, ready) = target::foghorn(dir.path(), &url, "all").await?;
            times.push(ready.as_secs_f64() * 1000.0);
            p.stop().await;
        }
        report.startup_ms = rounds::median(times);
        say(
            args.json,
            &format!(
                "  start to /healthz (median of 5): {:.0} ms",
                report.startup_ms.unwrap_or_default()
            ),
        );
    }

    let phases = Phases {
        args,
        sink,
        kind,
        pg,
        dir: dir.path(),
    };
    // 1. Accepted events per second, durable, accept path only.
    if args.phases.contains(&Phase::Accept) {
        let (server, t, url) = fresh_server(kind, pg, dir.path(), "accept", "api").await?;
        load::closed_loop(
            &t,
            args.clients,
            Duration::from_secs(2),
            event_body("bench.ping"),
        )
        .await?;
        let meter = cpu::Meter::start(&server.pids());
        let (ok, failed) =
            load::closed_loop(&t, args.clients, secs, event_body("bench.ping")).await?;
        report.cpu.push(meter.stop("accept"));
        report.note_batches("accept", &server).await;
        report.accepted_per_sec = ok as f64 / secs.as_secs_f64();
        say(
            args.json,
            &format!(
                "  accepted: {:.0} events/s ({failed} errors)",
                report.accepted_per_sec
            ),
        );
        server.stop().await;
        discard(pg, &url).await;
    }
    if args.phases.contains(&Phase::Deliver) {
        deliver_phases(phases, &mut report).await?;
    }
    if args.phases.contains(&Phase::Drain) {
        drain_phase(phases, &mut report).await?;
    }
    if args.phases.contains(&Phase::Whole) {
        whole_node_phase(phases, &mut report).await?;
    }
    // 6. Scale-out: the same backlog drained by 1, 2, 3 worker nodes.
    if kind == "postgres" && args.phases.contains(&Phase::ScaleOut) {
        for nodes in 1..=args.max_nodes {
            let rate = scale_out(args, sink, dir.path(), pg, nodes, &mut report).await?;
            say(
                args.json,
                &format!("  {nodes} worker node(s) drain {rate:.0} /s"),
            );
            report.scale_out.push(ScalePoint {
                nodes,
                deliveries_per_sec: rate,
            });
        }
    }
    Ok(report)
}

/// What the phases of one database's run share.
#[derive(Clone, Copy)]
struct Phases<'a> {
    args: &'a BenchArgs,
    sink: &'a BenchSink,
    kind: &'a str,
    pg: Option<&'a str>,
    dir: &'a std::path::Path,
}

/// 2 and 3: deliveries while posting flat out (what reaches the sink),
/// then latency at a steady rate on the same server.
async fn deliver_phases(b: Phases<'_>, report: &mut Report) -> anyhow::Result<()> {
    let (server, t, url) = fresh_server(b.kind, b.pg, b.dir, "e2e", "all").await?;
    let meter = cpu::Meter::start(&server.pids());
    report.deliveries_per_sec = deliveries(b.args, b.sink, &t, event_body("bench.ping")).await?;
    report.cpu.push(meter.stop("deliver"));
    report.note_batches("deliver", &server).await;
    say(
        b.args.json,
        &format!(
            "  delivered end to end: {:.0} /s",
            report.deliveries_per_sec
        ),
    );

    // 3. Latency at a steady rate, same server.
    let l = latency(b.args, b.sink, &t, event_body("bench.ping"), |answer| {
        serde_json::from_slice::<serde_json::Value>(answer).ok()?["notifications"][0]["id"]
            .as_str()
            .map(String::from)
    })
    .await?;
    l.record(b.args, report);
    server.stop().await;
    discard(b.pg, &url).await;
    Ok(())
}

/// 4. Memory with a large queue, and the time one worker takes to drain it.
async fn drain_phase(b: Phases<'_>, report: &mut Report) -> anyhow::Result<()> {
    // 4. Memory with a large queue: an api node fills it, a worker drains it.
    let (api, t, url) = fresh_server(b.kind, b.pg, b.dir, "rss", "api").await?;
    let json = b.args.json;
    let queued = load::post_count(
        &t,
        b.args.clients,
        b.args.queued,
        event_body("bench.ping"),
        move |n| say(json, &format!("    queued {n}")),
    )
    .await?;
    report.peak_rss_mib_queued = api.peak_rss_mib();
    b.sink.reset();
    let (worker, _) = target::foghorn(b.dir, &url, "worker").await?;
    let meter = cpu::Meter::start(&worker.pids());
    let start = Instant::now();
    while b.sink.total() < queued && start.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    report.cpu.push(meter.stop("drain"));
    report.note_batches("drain", &worker).await;
    report.peak_rss_mib_draining = worker.peak_rss_mib();
    let took = start.elapsed().as_secs_f64();
    report.drain_seconds = Some(took);
    report.drain_per_sec = Some(b.sink.total() as f64 / took);
    say(
        b.args.json,
        &format!(
            "  peak RSS with {queued} queued: {:.1} MiB (api node), {:.1} MiB (worker draining them in {:.1} s)",
            report.peak_rss_mib_queued.unwrap_or(0.0),
            report.peak_rss_mib_draining.unwrap_or(0.0),
            took
        ),
    );
    worker.stop().await;
    api.stop().await;
    discard(b.pg, &url).await;
    Ok(())
}

/// 5. A whole node: accept while delivering, events naming a subscriber.
async fn whole_node_phase(b: Phases<'_>, report: &mut Report) -> anyhow::Result<()> {
    let secs = Duration::from_secs(b.args.seconds);
    let (server, t, url) = fresh_server(b.kind, b.pg, b.dir, "whole", "all").await?;
    put_subscriber(&t, "owner-42").await?;
    load::closed_loop(
        &t,
        b.args.clients,
        Duration::from_secs(2),
        subscriber_event_body(),
    )
    .await?;
    let meter = cpu::Meter::start(&server.pids());
    let (ok, failed) = load::closed_loop(&t, b.args.clients, secs, subscriber_event_body()).await?;
    report.cpu.push(meter.stop("whole node"));
    let rate = ok as f64 / secs.as_secs_f64();
    report.accepted_per_sec_whole_node = Some(rate);
    say(
        b.args.json,
        &format!(
            "  accepted by a whole node (subscriber events): {rate:.0} events/s ({failed} errors)"
        ),
    );
    server.stop().await;
    discard(b.pg, &url).await;
    Ok(())
}

/// Queues a backlog with an api node, then starts `nodes` worker nodes at
/// once and measures how fast they deliver it together.
async fn scale_out(
    args: &BenchArgs,
    sink: &BenchSink,
    dir: &std::path::Path,
    pg: Option<&str>,
    nodes: usize,
    report: &mut Report,
) -> anyhow::Result<f64> {
    let (api, t, url) = fresh_server("postgres", pg, dir, &format!("scale{nodes}"), "api").await?;
    let backlog = (args.queued / 2).max(1);
    let queued =
        load::post_count(&t, args.clients, backlog, event_body("bench.ping"), |_| {}).await?;
    sink.reset();
    let mut workers = Vec::new();
    for _ in 0..nodes {
        workers.push(target::foghorn(dir, &url, "worker").await?.0);
    }
    // Counted from the first arrival, so start-up order does not count.
    let start = Instant::now();
    while sink.total() == 0 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let first = Instant::now();
    let pids: Vec<u32> = workers.iter().flat_map(target::Process::pids).collect();
    let meter = cpu::Meter::start(&pids);
    while sink.total() < queued && first.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report
        .cpu
        .push(meter.stop(&format!("scale-out, {nodes} node(s)")));
    let rate = sink.total() as f64 / first.elapsed().as_secs_f64();
    for w in workers {
        w.stop().await;
    }
    api.stop().await;
    discard(pg, &url).await;
    Ok(rate)
}

/// Stores the subscriber the whole-node phase's events name.
async fn put_subscriber(t: &Target, id: &str) -> anyhow::Result<()> {
    let mut conn = load::Conn::open(&t.addr).await?;
    let headers: Vec<(&str, &str)> = t
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, body) = conn
        .put(
            &format!("/v1/subscribers/{id}"),
            &headers,
            Bytes::from_static(br#"{"email":"owner42@example.com","name":"Owner 42"}"#),
        )
        .await?;
    anyhow::ensure!(
        (200..300).contains(&status),
        "creating subscriber {id}: HTTP {status} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

/// Drops a phase's PostgreSQL database once its servers have stopped, so a
/// bench run leaves none behind (SQLite files go with the temporary folder).
async fn discard(pg: Option<&str>, url: &str) {
    if let (Some(base), true) = (pg, url.starts_with("postgres")) {
        if let Err(e) = foghorn_store::scratch::drop_postgres_url(base, url).await {
            eprintln!("could not drop the bench database: {e}");
        }
    }
}

/// A server of `role` on a fresh database, the event endpoint with a key, and
/// the database URL (for a second node on it).
async fn fresh_server(
    kind: &str,
    pg: Option<&str>,
    dir: &std::path::Path,
    tag: &str,
    role: &str,
) -> anyhow::Result<(target::Process, Target, String)> {
    let url = fresh_database(kind, pg, dir, tag).await?;
    let key = target::key(dir, &url).await?;
    let (server, _) = target::foghorn(dir, &url, role).await?;
    let t = Target {
        addr: server.addr.clone(),
        path: "/v1/events".into(),
        headers: vec![("authorization".into(), format!("Bearer {key}"))],
    };
    Ok((server, t, url))
}

/// Posts flat out for the phase and returns sink arrivals per second over it.
async fn deliveries(
    args: &BenchArgs,
    sink: &BenchSink,
    t: &Target,
    make: MakeBody,
) -> anyhow::Result<f64> {
    let secs = Duration::from_secs(args.seconds);
    sink.reset();
    let (warm, _) =
        load::closed_loop(t, args.clients, Duration::from_secs(2), make.clone()).await?;
    drain(sink, warm).await;
    sink.reset();
    let start = Instant::now();
    let (posted, _) = load::closed_loop(t, args.clients, secs, make).await?;
    let delivered = sink.total();
    let rate = delivered as f64 / start.elapsed().as_secs_f64();
    // The next phase measures latency at a steady rate: it must not queue
    // behind this phase's backlog.
    drain(sink, posted).await;
    Ok(rate)
}

/// Waits until the sink has seen `expected` deliveries since its last reset
/// (or stops seeing progress for 10 s).
async fn drain(sink: &BenchSink, expected: u64) {
    let mut last = (sink.total(), Instant::now());
    while sink.total() < expected {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = sink.total();
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
}

/// What the steady-rate phase measured, in milliseconds.
struct Latency {
    sink: (f64, f64),
    accept: (f64, f64),
    samples: usize,
}

impl Latency {
    fn record(&self, args: &BenchArgs, report: &mut Report) {
        (report.latency_p50_ms, report.latency_p99_ms) = self.sink;
        (report.accept_latency_p50_ms, report.accept_latency_p99_ms) = self.accept;
        report.latency_samples = self.samples;
        say(
            args.json,
            &format!(
                "  POST -> sink at {}/s: p50 {:.2} ms, p99 {:.2} ms; POST -> 202 p50 {:.2} ms, p99 {:.2} ms ({} samples)",
                args.rate, self.sink.0, self.sink.1, self.accept.0, self.accept.1, self.samples
            ),
        );
    }
}

/// The 50th and 99th percentiles of `ms`.
fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        ms.get(((ms.len() as f64 * p) as usize).min(ms.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    (pct(0.50), pct(0.99))
}

/// Open loop at `rate`; joins each answer's delivery id with its arrival.
async fn latency(
    args: &BenchArgs,
    sink: &BenchSink,
    t: &Target,
    make: MakeBody,
    id_of: impl Fn(&[u8]) -> Option<String>,
) -> anyhow::Result<Latency> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    sink.reset();
    let sent = load::open_loop(t, 32, args.rate, Duration::from_secs(args.seconds), make).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ms = |from: Instant, to: Instant| to.saturating_duration_since(from).as_secs_f64() * 1000.0;
    let arrived: Vec<f64> = sent
        .iter()
        .filter_map(|(due, _, answer)| Some(ms(*due, sink.arrival(&id_of(answer)?)?)))
        .collect();
    let samples = arrived.len();
    Ok(Latency {
        sink: percentiles(arrived),
        accept: percentiles(sent.iter().map(|(due, at, _)| ms(*due, *at)).collect()),
        samples,
    })
}

async fn bench_seed(
    args: &BenchArgs,
    sink: &BenchSink,
    dir: &std::path::Path,
) -> anyhow::Result<Report> {
    let mut report = Report {
        system: "seed baseline (node+bullmq)".into(),
        rounds: 1,
        ..Default::default()
    };
    let secs = Duration::from_secs(args.seconds);
    let body: MakeBody = event_body("document.uploaded");
    let p = target::seed_baseline(dir, &sink.url)
        .await
        .context("the seed baseline")?;
    let t = Target {
        addr: p.addr.clone(),
        path: "/".into(),
        headers: vec![],
    };
    load::closed_loop(&t, args.clients, Duration::from_secs(2), body.clone()).await?;
    let meter = cpu::Meter::start(&p.pids());
    let (ok, _) = load::closed_loop(&t, args.clients, secs, body.clone()).await?;
    report.cpu.push(meter.stop("accept"));
    report.accepted_per_sec = ok as f64 / secs.as_secs_f64();
    say(
        args.json,
        &format!("  accepted: {:.0} events/s", report.accepted_per_sec),
    );
    let meter = cpu::Meter::start(&p.pids());
    report.deliveries_per_sec = deliveries(args, sink, &t, body.clone()).await?;
    report.cpu.push(meter.stop("deliver"));
    say(
        args.json,
        &format!(
            "  delivered end to end: {:.0} /s",
            report.deliveries_per_sec
        ),
    );
    let l = latency(args, sink, &t, body, |answer| {
        serde_json::from_slice::<serde_json::Value>(answer).ok()?["event_id"]
            .as_str()
            .map(String::from)
    })
    .await?;
    l.record(args, &mut report);
    report.peak_rss_mib_draining = p.peak_rss_mib();
    p.stop().await;
    Ok(report)
}

/// Each system's figures over its rounds, when there were several.
fn print_ranges(reports: &[Report]) {
    for r in reports.iter().filter(|r| !r.ranges.is_empty()) {
        let ranges: Vec<String> = r
            .ranges
            .iter()
            .map(|(name, range)| format!("{name} {:.1}–{:.1}", range.min, range.max))
            .collect();
        println!();
        println!(
            "{} (medians of {} rounds above; ranges): {}",
            r.system,
            r.rounds,
            ranges.join("; ")
        );
    }
}

fn print_table(reports: &[Report]) {
    println!();
    println!(
        "{:30} {:>12} {:>12} {:>9} {:>9} {:>10} {:>10} {:>9}",
        "system",
        "accepted/s",
        "delivered/s",
        "p50 ms",
        "p99 ms",
        "RSS q MiB",
        "RSS w MiB",
        "start ms"
    );
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "-".into());
    for r in reports {
        println!(
            "{:30} {:>12.0} {:>12.0} {:>9.2} {:>9.2} {:>10} {:>10} {:>9}",
            r.system,
            r.accepted_per_sec,
            r.deliveries_per_sec,
            r.latency_p50_ms,
            r.latency_p99_ms,
            opt(r.peak_rss_mib_queued),
            opt(r.peak_rss_mib_draining),
            opt(r.startup_ms)
        );
    }
    println!();
    for r in reports.iter().filter(|r| r.system.starts_with("foghorn")) {
        println!(
            "{}: drain of the queued backlog by one worker node {} s ({} /s); whole node accepts {} events/s",
            r.system,
            opt(r.drain_seconds),
            opt(r.drain_per_sec),
            opt(r.accepted_per_sec_whole_node)
        );
        if !r.scale_out.is_empty() {
            let curve: Vec<String> = r
                .scale_out
                .iter()
                .map(|p| format!("{} node(s) {:.0} /s", p.nodes, p.deliveries_per_sec))
                .collect();
            println!("{}: scale-out drain: {}", r.system, curve.join(", "));
        }
    }
    println!();
    println!(
        "CPU per phase (the box has {} cores; the load generator and the sink run on them too):",
        cores()
    );
    for r in reports {
        for c in &r.cpu {
            println!(
                "{}, {}: box {:.0}% busy; system under test {:.2} cores, PostgreSQL {:.2}, Redis {:.2}",
                r.system, c.phase, c.box_busy_pct, c.under_test_cores, c.database_cores, c.redis_cores
            );
        }
    }
    println!();
    for r in reports.iter().filter(|r| !r.batches.is_empty()) {
        let figures: Vec<String> = r
            .batches
            .iter()
            .map(|(phase, metric, mean)| {
                let name = metric.trim_start_matches("foghorn_");
                match name.strip_suffix("_seconds") {
                    Some(what) => format!("{phase} {what} {:.2} ms", mean * 1000.0),
                    None => format!("{phase} {name} {mean:.1}"),
                }
            })
            .collect();
        println!("{} (means): {}", r.system, figures.join("; "));
    }
    print_ranges(reports);
    if let Some(seed) = reports.iter().find(|r| r.system.starts_with("seed")) {
        println!();
        for r in reports.iter().filter(|r| r.system.starts_with("foghorn")) {
            println!(
                "{}: {:.1}x the seed's accepted/s, {:.1}x its deliveries/s, p99 {:.2} ms vs {:.2} ms",
                r.system,
                r.accepted_per_sec / seed.accepted_per_sec,
                r.deliveries_per_sec / seed.deliveries_per_sec,
                r.latency_p99_ms,
                seed.latency_p99_ms
            );
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}
