//! The pull request's history in its own sticky comment: one row per
//! pushed head with its verdict and each model's headline metric, folded,
//! so a reviewer sees the trend without scrolling the timeline. The rows
//! ride in the comment itself (a hidden marker), read back on the next push.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::evidence::Evidence;
use crate::lifecycle::Verdict;
use crate::lifecycle::metric::format_metric;

const MARKER: &str = "<!-- dslp:history ";
/// Rows kept: the newest.
const KEPT: usize = 20;

/// One pushed head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub sha: String,
    pub verdict: Verdict,
    /// (model, metric, value) of each model's headline metric.
    #[serde(default)]
    pub metrics: Vec<(String, String, f64)>,
}

impl HistoryRow {
    /// This head's row: its verdict and each model's first shown metric.
    pub fn of(sha: &str, verdict: Verdict, evidence: Option<&Evidence>) -> HistoryRow {
        let metrics = evidence
            .map(|e| {
                e.models
                    .iter()
                    .filter_map(|m| {
                        let values = m.metrics()?;
                        let metric = m
                            .shown_metrics
                            .iter()
                            .find(|k| values.contains_key(*k))
                            .or_else(|| values.keys().next())?;
                        Some((m.name.clone(), metric.clone(), values[metric]))
                    })
                    .collect()
            })
            .unwrap_or_default();
        HistoryRow {
            sha: sha.chars().take(7).collect(),
            verdict,
            metrics,
        }
    }
}

/// The rows an earlier comment keeps; none from a comment without them.
pub fn read(body: &str) -> Vec<HistoryRow> {
    let Some(start) = body.find(MARKER).map(|i| i + MARKER.len()) else {
        return Vec::new();
    };
    let Some(end) = body[start..].find(" -->").map(|e| start + e) else {
        return Vec::new();
    };
    base64::engine::general_purpose::STANDARD
        .decode(body[start..end].trim())
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .unwrap_or_default()
}

/// The earlier rows with this head's (a head seen again replaces its row).
pub fn with(mut rows: Vec<HistoryRow>, current: HistoryRow) -> Vec<HistoryRow> {
    rows.retain(|r| r.sha != current.sha);
    rows.push(current);
    let excess = rows.len().saturating_sub(KEPT);
    rows.drain(..excess);
    rows
}

/// The folded table (newest first) and its hidden marker.
pub fn markdown(rows: &[HistoryRow]) -> String {
    let encoded = serde_json::to_vec(rows)
        .map(|json| base64::engine::general_purpose::STANDARD.encode(json))
        .unwrap_or_default();
    let mut columns: Vec<(String, String)> = Vec::new();
    for row in rows {
        for (model, metric, _) in &row.metrics {
            if !columns.iter().any(|(m, k)| m == model && k == metric) {
                columns.push((model.clone(), metric.clone()));
            }
        }
    }
    let mut out = format!(
        "<details><summary>History of this pull request ({} push{})</summary>\n\n| head | verdict |",
        rows.len(),
        if rows.len() == 1 { "" } else { "es" }
    );
    for (model, metric) in &columns {
        out.push_str(&format!(" {model} {metric} |"));
    }
    out.push_str(&format!("\n|---|---|{}\n", "---|".repeat(columns.len())));
    for row in rows.iter().rev() {
        out.push_str(&format!("| `{}` | {} |", row.sha, row.verdict));
        for (model, metric) in &columns {
            let value = row
                .metrics
                .iter()
                .find(|(m, k, _)| m == model && k == metric)
                .map_or("–".to_string(), |(_, _, v)| format_metric(*v));
            out.push_str(&format!(" {value} |"));
        }
        out.push('\n');
    }
    out.push_str(&format!("\n</details>\n{MARKER}{encoded} -->\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sha: &str, verdict: Verdict, auc: f64) -> HistoryRow {
        HistoryRow {
            sha: sha.into(),
            verdict,
            metrics: vec![("churn".into(), "roc_auc".into(), auc)],
        }
    }

    #[test]
    fn the_history_reads_back_what_it_wrote_newest_first_and_a_head_once() {
        let rows = with(Vec::new(), row("aaaaaaa", Verdict::NoGo, 0.61));
        let rows = with(rows, row("bbbbbbb", Verdict::Go, 0.74));
        let body = format!("<!-- dslp:pr-report -->\nreport\n{}", markdown(&rows));
        assert_eq!(read(&body), rows);
        assert!(body.contains("History of this pull request (2 pushes)"));
        let newest = body.find("`bbbbbbb` | GO | 0.74").unwrap();
        let oldest = body.find("`aaaaaaa` | NO-GO | 0.61").unwrap();
        assert!(newest < oldest, "{body}");
        // The same head again (a rerun) replaces its row.
        let again = with(read(&body), row("bbbbbbb", Verdict::Go, 0.75));
        assert_eq!(again.len(), 2);
        assert_eq!(again[1].metrics[0].2, 0.75);
        // Only the newest are kept.
        let many = (0..30).fold(Vec::new(), |rows, i| {
            with(rows, row(&format!("{i:07}"), Verdict::Go, 0.5))
        });
        assert_eq!(many.len(), KEPT);
        assert_eq!(many[0].sha, "0000010");
        assert!(read("no history here").is_empty());
    }
}
