//! The App's figures, in Prometheus' text format for `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::github::retry::observed;

/// Upper bounds of the job-duration histogram, in seconds.
const BUCKETS: [f64; 9] = [0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0, 1800.0];

/// Events dslp-bot knows; any other is counted as `other` so that a sender
/// cannot grow the label set without bound.
const EVENTS: [&str; 10] = [
    "pull_request",
    "issues",
    "issue_comment",
    "push",
    "create",
    "check_suite",
    "check_run",
    "installation",
    "installation_repositories",
    "ping",
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    deliveries: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    jobs: Mutex<BTreeMap<&'static str, u64>>,
    durations: Mutex<Histogram>,
}

pub fn event_label(event: Option<&str>) -> &'static str {
    event
        .and_then(|e| EVENTS.iter().find(|known| **known == e))
        .copied()
        .unwrap_or("other")
}

impl Metrics {
    /// A delivery answered: `outcome` is queued, ignored, duplicate, or the rejection.
    pub fn delivery(&self, event: &'static str, outcome: &'static str) {
        if let Ok(mut map) = self.deliveries.lock() {
            *map.entry((event, outcome)).or_default() += 1;
        }
    }

    /// A job ended: done, retried or failed.
    pub fn job(&self, outcome: &'static str, took: Duration) {
        if let Ok(mut map) = self.jobs.lock() {
            *map.entry(outcome).or_default() += 1;
        }
        if let Ok(mut h) = self.durations.lock() {
            let seconds = took.as_secs_f64();
            for (bound, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
                if seconds <= *bound {
                    *count += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        }
    }

    /// The text `/metrics` answers, with the queue's jobs by state.
    pub fn render(&self, jobs_by_state: &[(String, i64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP dslp_deliveries_total Webhook deliveries by event and outcome.\n");
        out.push_str("# TYPE dslp_deliveries_total counter\n");
        if let Ok(map) = self.deliveries.lock() {
            for ((event, outcome), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "dslp_deliveries_total{{event=\"{event}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP dslp_queue_depth Jobs waiting to run.\n");
        out.push_str("# TYPE dslp_queue_depth gauge\n");
        let queued = jobs_by_state
            .iter()
            .find(|(s, _)| s == "queued")
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "dslp_queue_depth {queued}");
        out.push_str("# HELP dslp_jobs Jobs in the store by state.\n");
        out.push_str("# TYPE dslp_jobs gauge\n");
        for (state, n) in jobs_by_state {
            let _ = writeln!(out, "dslp_jobs{{state=\"{state}\"}} {n}");
        }
        out.push_str("# HELP dslp_job_attempts_total Job attempts by outcome.\n");
        out.push_str("# TYPE dslp_job_attempts_total counter\n");
        if let Ok(map) = self.jobs.lock() {
            for (outcome, n) in map.iter() {
                let _ = writeln!(out, "dslp_job_attempts_total{{outcome=\"{outcome}\"}} {n}");
            }
        }
        out.push_str("# HELP dslp_job_duration_seconds How long job attempts took.\n");
        out.push_str("# TYPE dslp_job_duration_seconds histogram\n");
        if let Ok(h) = self.durations.lock() {
            for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(
                    out,
                    "dslp_job_duration_seconds_bucket{{le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "dslp_job_duration_seconds_bucket{{le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "dslp_job_duration_seconds_sum {}", h.sum);
            let _ = writeln!(out, "dslp_job_duration_seconds_count {}", h.count);
        }
        out.push_str("# HELP dslp_github_calls_total GitHub API answers by status.\n");
        out.push_str("# TYPE dslp_github_calls_total counter\n");
        for (status, n) in observed::calls() {
            let _ = writeln!(out, "dslp_github_calls_total{{status=\"{status}\"}} {n}");
        }
        out.push_str(
            "# HELP dslp_github_rate_limit_remaining x-ratelimit-remaining of GitHub's last answer (-1: none yet).\n",
        );
        out.push_str("# TYPE dslp_github_rate_limit_remaining gauge\n");
        let _ = writeln!(
            out,
            "dslp_github_rate_limit_remaining {}",
            observed::rate_limit_remaining()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_a_cumulative_histogram() {
        let metrics = Metrics::default();
        metrics.delivery(event_label(Some("pull_request")), "queued");
        metrics.delivery(event_label(Some("made_up")), "ignored");
        metrics.job("done", Duration::from_millis(300));
        let text = metrics.render(&[("queued".into(), 4), ("done".into(), 1)]);
        assert!(
            text.contains("dslp_deliveries_total{event=\"pull_request\",outcome=\"queued\"} 1")
        );
        assert!(text.contains("dslp_deliveries_total{event=\"other\",outcome=\"ignored\"} 1"));
        assert!(text.contains("dslp_queue_depth 4\n"));
        assert!(text.contains("dslp_job_duration_seconds_bucket{le=\"0.1\"} 0"));
        assert!(text.contains("dslp_job_duration_seconds_bucket{le=\"0.5\"} 1"));
        assert!(text.contains("dslp_job_duration_seconds_count 1"));
    }
}
