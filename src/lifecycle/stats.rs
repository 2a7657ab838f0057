//! Team metrics, as DSLP's "what should I measure" suggests: iteration
//! speed per kind of issue (opened to closed), the experiment success rate,
//! and where the time goes by kind of work. Pure: issues and dates in,
//! figures out.

use serde::Serialize;

use super::labels::{FAILED, ON_HOLD, SUCCEEDED};
use super::{Issue, IssueKind, IssueState};

const DAY: f64 = 86_400.0;

/// An issue with when it was opened and closed (unix seconds).
pub struct Dated<'a> {
    pub issue: &'a Issue,
    pub created: Option<u64>,
    pub closed: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindFigures {
    pub kind: &'static str,
    pub open: usize,
    pub closed: usize,
    /// Days from opened to closed, over closed issues with both dates.
    pub median_days_to_close: Option<f64>,
    pub p90_days_to_close: Option<f64>,
    /// Days spent open, closed issues and open ones (until `now`) alike.
    pub open_days: f64,
    /// Its share of all issues' open days.
    pub share_of_time: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamStats {
    pub kinds: Vec<KindFigures>,
    pub experiments_succeeded: usize,
    pub experiments_failed: usize,
    pub experiments_on_hold: usize,
    /// succeeded / (succeeded + failed): experiments on hold are undecided.
    pub experiment_success_rate: Option<f64>,
    /// Issues without exactly one type label, which these figures leave out.
    pub untyped: usize,
}

/// The value at fraction `p` of sorted `values`, linearly interpolated.
fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = (sorted.len() - 1) as f64 * p;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64))
}

pub fn team_stats(issues: &[Dated<'_>], now: u64) -> TeamStats {
    let issues: Vec<&Dated<'_>> = issues.iter().filter(|d| !d.issue.is_pull_request).collect();
    let mut kinds = Vec::new();
    for kind in IssueKind::ALL {
        let of_kind: Vec<&&Dated<'_>> = issues
            .iter()
            .filter(|d| d.issue.labelled_kind() == Some(kind))
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let mut to_close: Vec<f64> = of_kind
            .iter()
            .filter(|d| d.issue.state == IssueState::Closed)
            .filter_map(|d| Some(d.closed?.saturating_sub(d.created?) as f64 / DAY))
            .collect();
        to_close.sort_by(|a, b| a.total_cmp(b));
        let open_days: f64 = of_kind
            .iter()
            .filter_map(|d| {
                let end = match d.issue.state {
                    IssueState::Closed => d.closed?,
                    IssueState::Open => now,
                };
                Some(end.saturating_sub(d.created?) as f64 / DAY)
            })
            .sum();
        kinds.push(KindFigures {
            kind: kind.label(),
            open: of_kind
                .iter()
                .filter(|d| d.issue.state == IssueState::Open)
                .count(),
            closed: of_kind
                .iter()
                .filter(|d| d.issue.state == IssueState::Closed)
                .count(),
            median_days_to_close: quantile(&to_close, 0.5),
            p90_days_to_close: quantile(&to_close, 0.9),
            open_days,
            share_of_time: 0.0,
        });
    }
    let total: f64 = kinds.iter().map(|k| k.open_days).sum();
    for k in &mut kinds {
        k.share_of_time = if total > 0.0 {
            k.open_days / total
        } else {
            0.0
        };
    }
    let experiments: Vec<&Issue> = issues
        .iter()
        .map(|d| d.issue)
        .filter(|i| i.labelled_kind() == Some(IssueKind::Experiment))
        .collect();
    let count = |label: &str| {
        experiments
            .iter()
            .filter(|i| i.labels.iter().any(|l| l == label))
            .count()
    };
    let (succeeded, failed, on_hold) = (count(SUCCEEDED), count(FAILED), count(ON_HOLD));
    TeamStats {
        kinds,
        experiments_succeeded: succeeded,
        experiments_failed: failed,
        experiments_on_hold: on_hold,
        experiment_success_rate: (succeeded + failed > 0)
            .then(|| succeeded as f64 / (succeeded + failed) as f64),
        untyped: issues
            .iter()
            .filter(|d| d.issue.labelled_kind().is_none())
            .count(),
    }
}

fn days(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |d| format!("{d:.1}"))
}

/// The figures as a markdown table and a line on experiments.
pub fn markdown(stats: &TeamStats) -> String {
    let mut out = String::from(
        "| Kind | Open | Closed | Median days to close | p90 days to close | Share of time |\n|---|---|---|---|---|---|\n",
    );
    for k in &stats.kinds {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.0} % |\n",
            k.kind,
            k.open,
            k.closed,
            days(k.median_days_to_close),
            days(k.p90_days_to_close),
            k.share_of_time * 100.0
        ));
    }
    out.push_str(&format!(
        "\nExperiments: {} succeeded, {} failed, {} on hold; success rate {}.\n",
        stats.experiments_succeeded,
        stats.experiments_failed,
        stats.experiments_on_hold,
        stats.experiment_success_rate.map_or_else(
            || "— (none decided yet)".to_string(),
            |r| format!("{:.0} %", r * 100.0)
        )
    ));
    if stats.untyped > 0 {
        out.push_str(&format!(
            "{} issue{} without exactly one type label {} left out.\n",
            stats.untyped,
            if stats.untyped == 1 { "" } else { "s" },
            if stats.untyped == 1 { "is" } else { "are" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(label: &str, state: IssueState, extra: &[&str]) -> Issue {
        let mut labels = vec![label.to_string()];
        labels.extend(extra.iter().map(|s| s.to_string()));
        Issue {
            number: Some(1),
            labels,
            state,
            ..Issue::default()
        }
    }

    #[test]
    fn speed_success_rate_and_time_share() {
        let day = 86_400;
        let a = issue("Experiment", IssueState::Closed, &["succeeded"]);
        let b = issue("Experiment", IssueState::Closed, &["failed"]);
        let c = issue("Experiment", IssueState::Closed, &["failed"]);
        let d = issue("Data", IssueState::Open, &[]);
        let e = issue("", IssueState::Open, &[]);
        let dated = [
            Dated {
                issue: &a,
                created: Some(0),
                closed: Some(2 * day),
            },
            Dated {
                issue: &b,
                created: Some(0),
                closed: Some(4 * day),
            },
            Dated {
                issue: &c,
                created: Some(0),
                closed: Some(12 * day),
            },
            Dated {
                issue: &d,
                created: Some(0),
                closed: None,
            },
            Dated {
                issue: &e,
                created: Some(0),
                closed: None,
            },
        ];
        let stats = team_stats(&dated, 6 * day);
        let data = stats.kinds.iter().find(|k| k.kind == "Data").unwrap();
        let experiment = stats.kinds.iter().find(|k| k.kind == "Experiment").unwrap();
        assert_eq!(experiment.median_days_to_close, Some(4.0));
        assert!((experiment.p90_days_to_close.unwrap() - 10.4).abs() < 1e-9);
        assert_eq!((data.open, data.open_days), (1, 6.0));
        assert!((experiment.share_of_time - 18.0 / 24.0).abs() < 1e-12);
        assert_eq!(stats.experiment_success_rate, Some(1.0 / 3.0));
        assert_eq!(stats.untyped, 1);
        let text = markdown(&stats);
        assert!(
            text.contains("| Experiment | 0 | 3 | 4.0 | 10.4 | 75 % |"),
            "{text}"
        );
        assert!(text.contains("success rate 33 %"), "{text}");
    }
}
