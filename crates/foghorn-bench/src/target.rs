//! The systems under test: a `foghorn serve` child process on a fresh
//! database, or the seed document's Node + BullMQ baseline.

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Process {
    pub child: Child,
    /// host:port
    pub addr: String,
}

impl Process {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The process's id, as a list for [`crate::cpu::Meter`].
    pub fn pids(&self) -> Vec<u32> {
        self.pid().into_iter().collect()
    }

    /// Peak resident memory (VmHWM) in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }

    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // SIGTERM, so Foghorn drains; then make sure.
            let _ = Command::new("kill").arg(pid.to_string()).status().await;
        }
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The variable `foghorn` reads its master key ring from.
const MASTER_KEY_ENV: &str = "FOGHORN_MASTER_KEY";

static FOGHORN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Finds the binary under test once: `given`, or `foghorn` beside this
/// program.
pub fn locate_foghorn(given: Option<&Path>) -> anyhow::Result<()> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()
            .context("locating this program")?
            .with_file_name(format!("foghorn{}", std::env::consts::EXE_SUFFIX)),
    };
    if !path.is_file() {
        bail!(
            "no foghorn binary at {}: build it first (cargo build --release) or pass --foghorn PATH",
            path.display()
        );
    }
    let _ = FOGHORN.set(path);
    Ok(())
}

fn foghorn_exe() -> anyhow::Result<PathBuf> {
    FOGHORN
        .get()
        .cloned()
        .context("the foghorn binary was not located")
}

/// One throwaway master key for every process of a bench run.
fn bench_master_key() -> String {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| foghorn_store::crypto::MasterKey::generate().to_base64())
        .clone()
}

/// A folder with the bench workflow and a webhook provider aimed at the sink.
pub fn prepare_dir(dir: &Path, sink_url: &str, extra_config: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("workflows"))?;
    std::fs::write(
        dir.join("workflows/bench.ping.toml"),
        format!("name = \"bench.ping\"\n[[steps]]\nchannel = \"webhook\"\nurl = \"{sink_url}\"\n"),
    )?;
    // The side-by-side kit's event: it names a subscriber.
    std::fs::write(
        dir.join("workflows/document.uploaded.toml"),
        format!("name = \"document.uploaded\"\n[[steps]]\nchannel = \"webhook\"\nurl = \"{sink_url}\"\n"),
    )?;
    std::fs::write(
        dir.join("foghorn.toml"),
        format!(
            "[security]\nallow_private_targets = true\nkey_rate_per_second = 10000000\n[providers.webhook]\nkind = \"webhook\"\n\
             secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n[log]\nlevel = \"warn\"\n{extra_config}"
        ),
    )?;
    Ok(())
}

/// Starts `foghorn serve` from `dir` on `database_url` with `role`.
pub async fn foghorn(
    dir: &Path,
    database_url: &str,
    role: &str,
) -> anyhow::Result<(Process, Duration)> {
    let exe = foghorn_exe()?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--role", role])
        .current_dir(dir)
        .env("FOGHORN_DATABASE_URL", database_url)
        .env(MASTER_KEY_ENV, bench_master_key())
        .env_remove("FOGHORN_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting foghorn serve")?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if let Some(rest) = l.strip_prefix("foghorn listening on http://") {
                return rest.split_whitespace().next().map(String::from);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .context("foghorn serve did not report its address")?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    // Ready means /healthz answers.
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(format!("http://{addr}/healthz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("foghorn did not become healthy");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ready = started.elapsed();
    Ok((Process { child, addr }, ready))
}

/// Creates an admin key with `foghorn keys create` in `dir`.
pub async fn key(dir: &Path, database_url: &str) -> anyhow::Result<String> {
    let exe = foghorn_exe()?;
    let out = Command::new(exe)
        .args(["keys", "create", "--scope", "admin"])
        .current_dir(dir)
        .env("FOGHORN_DATABASE_URL", database_url)
        .env(MASTER_KEY_ENV, bench_master_key())
        .env_remove("FOGHORN_CONFIG")
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "keys create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|s| s.trim().to_string())
        .context("no key printed")
}

/// `node baseline.js PORT SINK 64` from a folder where `npm install` ran.
pub async fn seed_baseline(dir: &Path, sink_url: &str) -> anyhow::Result<Process> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let child = Command::new("node")
        .args(["baseline.js", &port.to_string(), sink_url, "64"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting node baseline.js (is Node installed?)")?;
    let addr = format!("127.0.0.1:{port}");
    let start = Instant::now();
    while tokio::net::TcpStream::connect(&addr).await.is_err() {
        if start.elapsed() > Duration::from_secs(20) {
            bail!("the seed baseline did not start listening");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Process { child, addr })
}

/// The mean of each histogram in `names` that the node at `addr` exports on
/// `/metrics` (its `_sum` over its `_count`), for those it has recorded.
pub async fn histogram_means(addr: &str, names: &[&str]) -> Vec<(String, f64)> {
    let Ok(text) = reqwest::get(format!("http://{addr}/metrics")).await else {
        return Vec::new();
    };
    let Ok(text) = text.text().await else {
        return Vec::new();
    };
    let value = |series: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse::<f64>()
                .ok()
        })
    };
    names
        .iter()
        .filter_map(|n| {
            let sum = value(&format!("{n}_sum"))?;
            let count = value(&format!("{n}_count")).filter(|c| *c > 0.0)?;
            Some((n.to_string(), sum / count))
        })
        .collect()
}
