//! Where a phase's CPU went: the whole box, the system under test (Foghorn's
//! nodes, or the seed's Node process), PostgreSQL and Redis, read from
//! `/proc` before and after. On a box the load generator and the sink
//! share, a figure that stops rising with more nodes is explained (or not)
//! by these: a box already busy to the last core cannot deliver more by
//! adding processes.

use serde::Serialize;
use std::time::Instant;

/// Clock ticks per second of `/proc`'s counters (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// A phase's CPU, as cores kept busy on average over its wall time.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseCpu {
    pub phase: String,
    /// Share of all cores busy (not idle, not waiting on I/O), 0 to 100.
    pub box_busy_pct: f64,
    /// Cores the system under test kept busy.
    pub under_test_cores: f64,
    /// Cores the PostgreSQL server's processes kept busy (0 on SQLite).
    pub database_cores: f64,
    /// Cores Redis kept busy (the seed's queue; seed phases only).
    pub redis_cores: f64,
}

/// Readings taken at a phase's start.
pub struct Meter {
    at: Instant,
    busy: u64,
    total: u64,
    under_test: u64,
    database: u64,
    redis: u64,
    pids: Vec<u32>,
}

impl Meter {
    /// Starts counting for the processes `pids` (the system under test);
    /// the database server and Redis are found by name.
    pub fn start(pids: &[u32]) -> Meter {
        let (busy, total) = box_ticks();
        Meter {
            at: Instant::now(),
            busy,
            total,
            under_test: pids.iter().map(|p| process_ticks(*p)).sum(),
            database: named_ticks(&["postgres"]),
            redis: named_ticks(&["redis-server"]),
            pids: pids.to_vec(),
        }
    }

    pub fn stop(self, phase: &str) -> PhaseCpu {
        let secs = self.at.elapsed().as_secs_f64().max(1e-3);
        let (busy, total) = box_ticks();
        let cores = |now: u64, then: u64| now.saturating_sub(then) as f64 / TICKS_PER_SEC / secs;
        let under_test: u64 = self.pids.iter().map(|p| process_ticks(*p)).sum();
        let all = total.saturating_sub(self.total).max(1) as f64;
        PhaseCpu {
            phase: phase.to_string(),
            box_busy_pct: 100.0 * busy.saturating_sub(self.busy) as f64 / all,
            under_test_cores: cores(under_test, self.under_test),
            database_cores: cores(named_ticks(&["postgres"]), self.database),
            redis_cores: cores(named_ticks(&["redis-server"]), self.redis),
        }
    }
}

/// (busy, total) ticks over all cores; iowait counts as idle.
fn box_ticks() -> (u64, u64) {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return (0, 0);
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …
    let total: u64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// utime + stime of one process, all its threads (0 once it is gone).
fn process_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The command name may hold spaces; the fields after it are fixed.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// The summed ticks of every process whose command is one of `names`.
fn named_ticks(names: &[&str]) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| names.contains(&c.trim()))
                .unwrap_or(false)
        })
        .map(process_ticks)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_spinning_is_counted_as_its_own_cpu() {
        let me = std::process::id();
        let before = process_ticks(me);
        let meter = Meter::start(&[me]);
        // Spin until the kernel has charged us a tenth of a second (or give
        // up after ten: then the counters are not moving at all).
        let start = Instant::now();
        let mut x = 0u64;
        while process_ticks(me) < before + 10 && start.elapsed().as_secs() < 10 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
        }
        std::hint::black_box(x);
        let cpu = meter.stop("spin");
        assert!(
            process_ticks(me) >= before + 10,
            "the process's ticks never rose"
        );
        assert!(cpu.under_test_cores > 0.0, "{cpu:?}");
        let cores = std::thread::available_parallelism().map_or(64, |n| n.get()) as f64;
        assert!(cpu.under_test_cores <= cores * 1.1, "{cpu:?}");
        assert!(
            cpu.box_busy_pct > 0.0 && cpu.box_busy_pct <= 100.0,
            "{cpu:?}"
        );
    }
}
