//! Several rounds of one run, merged into one report per system: each figure
//! is the median of its rounds, and keeps its range. On a shared box the same
//! binary's drain of 100,000 was seen to take 9.7 s in one round and 17.7 s
//! in another, so one round says little about a change of 10%; rounds run
//! interleaved across the systems, so a slow spell of the box falls on all
//! of them alike.

use crate::cpu::PhaseCpu;
use crate::{Report, ScalePoint};
use serde::Serialize;
use std::collections::BTreeMap;

/// The lowest and the highest a figure was over the rounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn range(values: &[f64]) -> Option<Range> {
    let min = values.iter().copied().min_by(f64::total_cmp)?;
    let max = values.iter().copied().max_by(f64::total_cmp)?;
    Some(Range { min, max })
}

/// What a merge collects for one figure.
#[derive(Default)]
struct Figure(Vec<f64>);

impl Figure {
    fn of(rounds: &[Report], get: impl Fn(&Report) -> Option<f64>) -> Figure {
        Figure(rounds.iter().filter_map(get).collect())
    }

    /// The median, with the range noted under `name` when rounds differ.
    fn merged(self, name: &str, ranges: &mut BTreeMap<String, Range>) -> Option<f64> {
        if self.0.len() > 1 {
            if let Some(r) = range(&self.0) {
                ranges.insert(name.to_string(), r);
            }
        }
        median(self.0)
    }
}

/// One report of a system's rounds (all of them of the same system).
pub fn merge(rounds: Vec<Report>) -> Report {
    if rounds.len() <= 1 {
        return rounds.into_iter().next().unwrap_or_default();
    }
    let mut ranges = BTreeMap::new();
    // A phase not run leaves its figures at zero: no range for those.
    let mut scalar = |name: &str, get: fn(&Report) -> f64| {
        Figure::of(&rounds, |r| Some(get(r)).filter(|v| *v != 0.0))
            .merged(name, &mut ranges)
            .unwrap_or_default()
    };
    let accepted_per_sec = scalar("accepted_per_sec", |r| r.accepted_per_sec);
    let deliveries_per_sec = scalar("deliveries_per_sec", |r| r.deliveries_per_sec);
    let latency_p50_ms = scalar("latency_p50_ms", |r| r.latency_p50_ms);
    let latency_p99_ms = scalar("latency_p99_ms", |r| r.latency_p99_ms);
    let accept_latency_p50_ms = scalar("accept_latency_p50_ms", |r| r.accept_latency_p50_ms);
    let accept_latency_p99_ms = scalar("accept_latency_p99_ms", |r| r.accept_latency_p99_ms);
    let mut optional = |name: &str, get: fn(&Report) -> Option<f64>| {
        Figure::of(&rounds, get).merged(name, &mut ranges)
    };
    let peak_rss_mib_queued = optional("peak_rss_mib_queued", |r| r.peak_rss_mib_queued);
    let peak_rss_mib_draining = optional("peak_rss_mib_draining", |r| r.peak_rss_mib_draining);
    let drain_seconds = optional("drain_seconds", |r| r.drain_seconds);
    let drain_per_sec = optional("drain_per_sec", |r| r.drain_per_sec);
    let startup_ms = optional("startup_ms", |r| r.startup_ms);
    let accepted_per_sec_whole_node = optional("accepted_per_sec_whole_node", |r| {
        r.accepted_per_sec_whole_node
    });

    let scale_out = by_key(rounds.iter().flat_map(|r| &r.scale_out), |p| p.nodes)
        .into_iter()
        .filter_map(|(nodes, points)| {
            let per_sec = Figure(points.iter().map(|p| p.deliveries_per_sec).collect())
                .merged(&format!("scale_out_{nodes}_nodes"), &mut ranges)?;
            Some(ScalePoint {
                nodes,
                deliveries_per_sec: per_sec,
            })
        })
        .collect();

    let cpu = by_key(rounds.iter().flat_map(|r| &r.cpu), |c| c.phase.clone())
        .into_iter()
        .map(|(phase, of_phase)| {
            let of = |get: fn(&PhaseCpu) -> f64| {
                median(of_phase.iter().map(|c| get(c)).collect()).unwrap_or_default()
            };
            PhaseCpu {
                box_busy_pct: of(|c| c.box_busy_pct),
                under_test_cores: of(|c| c.under_test_cores),
                database_cores: of(|c| c.database_cores),
                redis_cores: of(|c| c.redis_cores),
                phase,
            }
        })
        .collect();

    let batches = by_key(rounds.iter().flat_map(|r| &r.batches), |(p, m, _)| {
        (p.clone(), m.clone())
    })
    .into_iter()
    .filter_map(|((phase, metric), of_metric)| {
        let mean = median(of_metric.iter().map(|(_, _, v)| *v).collect())?;
        Some((phase, metric, mean))
    })
    .collect();

    Report {
        system: rounds[0].system.clone(),
        rounds: rounds.len(),
        accepted_per_sec,
        deliveries_per_sec,
        latency_p50_ms,
        latency_p99_ms,
        accept_latency_p50_ms,
        accept_latency_p99_ms,
        latency_samples: rounds.iter().map(|r| r.latency_samples).sum(),
        peak_rss_mib_queued,
        peak_rss_mib_draining,
        drain_seconds,
        drain_per_sec,
        startup_ms,
        accepted_per_sec_whole_node,
        scale_out,
        dashboard: rounds.iter().find_map(|r| r.dashboard.clone()),
        cpu,
        batches,
        ranges,
    }
}

/// `items` grouped by `key`, the keys in the order first seen (phases in
/// the order they ran, nodes in the order the curve rose).
fn by_key<'r, T, K: PartialEq>(
    items: impl Iterator<Item = &'r T>,
    key: impl Fn(&T) -> K,
) -> Vec<(K, Vec<&'r T>)> {
    let mut groups: Vec<(K, Vec<&'r T>)> = Vec::new();
    for item in items {
        let k = key(item);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, of_key)) => of_key.push(item),
            None => groups.push((k, vec![item])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(accepted: f64, drain: Option<f64>, three_nodes: f64, busy: f64) -> Report {
        Report {
            system: "foghorn (sqlite)".into(),
            rounds: 1,
            accepted_per_sec: accepted,
            latency_samples: 10,
            drain_seconds: drain,
            scale_out: vec![ScalePoint {
                nodes: 3,
                deliveries_per_sec: three_nodes,
            }],
            cpu: vec![PhaseCpu {
                phase: "accept".into(),
                box_busy_pct: busy,
                under_test_cores: 1.0,
                database_cores: 0.0,
                redis_cores: 0.0,
            }],
            batches: vec![("drain".into(), "foghorn_claim_batch_size".into(), busy)],
            ..Default::default()
        }
    }

    #[test]
    fn each_figure_is_the_median_of_the_rounds_that_measured_it_with_its_range() {
        let merged = merge(vec![
            round(9_000.0, Some(9.0), 8_000.0, 60.0),
            round(6_000.0, None, 11_000.0, 80.0),
            round(7_000.0, Some(13.0), 9_000.0, 70.0),
        ]);
        assert_eq!(merged.rounds, 3);
        assert_eq!(merged.accepted_per_sec, 7_000.0);
        // Two rounds measured the drain: the mean of both middles.
        assert_eq!(merged.drain_seconds, Some(11.0));
        assert_eq!(merged.scale_out[0].deliveries_per_sec, 9_000.0);
        assert_eq!(merged.cpu.len(), 1);
        assert_eq!(merged.cpu[0].box_busy_pct, 70.0);
        assert_eq!(
            merged.batches,
            vec![("drain".into(), "foghorn_claim_batch_size".into(), 70.0)]
        );
        assert_eq!(merged.latency_samples, 30);
        assert_eq!(
            merged.ranges.get("accepted_per_sec"),
            Some(&Range {
                min: 6_000.0,
                max: 9_000.0
            })
        );
        assert_eq!(
            merged.ranges.get("drain_seconds"),
            Some(&Range {
                min: 9.0,
                max: 13.0
            })
        );
        assert_eq!(
            merged.ranges.get("scale_out_3_nodes"),
            Some(&Range {
                min: 8_000.0,
                max: 11_000.0
            })
        );
        // Nothing measured, nothing made up.
        assert_eq!(merged.startup_ms, None);
        assert!(!merged.ranges.contains_key("startup_ms"));
        assert_eq!(merged.deliveries_per_sec, 0.0);
        assert!(!merged.ranges.contains_key("deliveries_per_sec"));
    }

    #[test]
    fn one_round_is_reported_as_measured() {
        let merged = merge(vec![round(5_000.0, Some(4.0), 1.0, 50.0)]);
        assert_eq!(merged.accepted_per_sec, 5_000.0);
        assert!(merged.ranges.is_empty());
        assert_eq!(merge(Vec::new()).rounds, 0);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_its_middles() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
