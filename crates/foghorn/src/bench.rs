//! `foghorn bench`: measures the real binary over loopback HTTP.

use crate::config::Config;
use clap::Args;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Seconds each throughput phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

pub async fn run(_config: Config, _args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("bench is being written")
}
