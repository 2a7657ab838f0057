//! Drift of a dataset versus its base revision.
//!
//! PSI: numeric columns use ten bins on the base's deciles (numpy-linear
//! quantiles; bins are (-∞, d₁], (d₁, d₂], …, (d₉, ∞), equal edges merged),
//! categorical columns one bin per level. An empty bin's share is replaced
//! by [`PSI_EPSILON`](super::stats::PSI_EPSILON) = 10⁻⁴, so
//! PSI = Σ (headᵢ − baseᵢ)·ln(headᵢ / baseᵢ) stays finite.
//! KS: the two-sample Kolmogorov–Smirnov statistic, as scipy's `ks_2samp`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::check_result::CheckResult;
use super::spec::{DriftLimits, NewCategories, Thresholds};
use super::stats::{ValueCounts, psi};
use crate::lifecycle::Severity;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnDrift {
    pub column: String,
    pub psi: Option<f64>,
    /// Numeric columns only.
    pub ks: Option<f64>,
    /// Levels present in the head but not in the base.
    pub new_categories: Vec<String>,
    /// The bins PSI compared, for the report's histogram.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bins: Option<DriftBins>,
}

/// Each bin's share of the base's and of the head's rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DriftBins {
    pub labels: Vec<String>,
    pub base: Vec<f64>,
    pub head: Vec<f64>,
}

/// Levels a categorical histogram shows (the base's most frequent).
const SHOWN_LEVELS: usize = 12;

fn shares(counts: &[u64]) -> Vec<f64> {
    let total = counts.iter().sum::<u64>().max(1) as f64;
    counts.iter().map(|c| *c as f64 / total).collect()
}

pub fn numeric(column: &str, base: &ValueCounts, head: &ValueCounts) -> ColumnDrift {
    let edges = base.decile_edges();
    let (base_counts, head_counts) = (base.bin_counts(&edges), head.bin_counts(&edges));
    let short = crate::lifecycle::metric::format_metric;
    // No edges (an empty or one-valued base): one bin, no histogram.
    let labels = || {
        (0..=edges.len())
            .map(|i| match i {
                i if i == edges.len() => format!("> {}", short(edges[i - 1])),
                i => format!("≤ {}", short(edges[i])),
            })
            .collect()
    };
    ColumnDrift {
        column: column.to_string(),
        psi: psi(&base_counts, &head_counts),
        ks: base.ks(head),
        new_categories: Vec::new(),
        bins: (!edges.is_empty()).then(|| DriftBins {
            labels: labels(),
            base: shares(&base_counts),
            head: shares(&head_counts),
        }),
    }
}

pub fn categorical(
    column: &str,
    base: &BTreeMap<String, u64>,
    head: &BTreeMap<String, u64>,
) -> ColumnDrift {
    let levels: Vec<&String> = base
        .keys()
        .chain(head.keys().filter(|k| !base.contains_key(*k)))
        .collect();
    let count = |map: &BTreeMap<String, u64>| -> Vec<u64> {
        levels
            .iter()
            .map(|l| map.get(*l).copied().unwrap_or(0))
            .collect()
    };
    let (base_shares, head_shares) = (shares(&count(base)), shares(&count(head)));
    // The base's most frequent levels, and every new one after them.
    let mut shown: Vec<usize> = (0..levels.len()).collect();
    shown.sort_by(|a, b| base_shares[*b].total_cmp(&base_shares[*a]));
    shown.truncate(SHOWN_LEVELS);
    ColumnDrift {
        column: column.to_string(),
        psi: psi(&count(base), &count(head)),
        ks: None,
        new_categories: head
            .keys()
            .filter(|k| !base.contains_key(*k))
            .cloned()
            .collect(),
        bins: Some(DriftBins {
            labels: shown.iter().map(|i| levels[*i].clone()).collect(),
            base: shown.iter().map(|i| base_shares[*i]).collect(),
            head: shown.iter().map(|i| head_shares[*i]).collect(),
        }),
    }
}

/// The drift limits as checks; a column passes a measure it has no value for.
pub fn checks(drifts: &[ColumnDrift], limits: &DriftLimits) -> Vec<CheckResult> {
    let mut results = Vec::new();
    for drift in drifts {
        if let (Some(value), Some(limit)) = (drift.psi, limits.psi) {
            results.extend(threshold_check(&drift.column, "PSI", value, limit));
        }
        if let (Some(value), Some(limit)) = (drift.ks, limits.ks) {
            results.extend(threshold_check(&drift.column, "KS", value, limit));
        }
        let policy = limits.new_categories.unwrap_or(NewCategories::Warn);
        if policy != NewCategories::Off && !drift.new_categories.is_empty() {
            let shown: Vec<&str> = drift
                .new_categories
                .iter()
                .take(5)
                .map(String::as_str)
                .collect();
            results.push(CheckResult {
                passed: false,
                severity: if policy == NewCategories::Fail {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                observed: format!("{} new: {}", drift.new_categories.len(), shown.join(", ")),
                ..CheckResult::new(
                    "new categories",
                    Some(&drift.column),
                    "no level absent from the base",
                )
            });
        }
    }
    results
}

fn threshold_check(
    column: &str,
    measure: &str,
    value: f64,
    limit: Thresholds,
) -> Option<CheckResult> {
    let (severity, bound) = match (limit.fail, limit.warn) {
        (Some(fail), _) if value > fail => (Severity::Error, fail),
        (_, Some(warn)) if value > warn => (Severity::Warning, warn),
        (Some(fail), _) => (Severity::Error, fail),
        (None, Some(warn)) => (Severity::Warning, warn),
        (None, None) => return None,
    };
    Some(CheckResult {
        check: format!("drift {measure}"),
        column: Some(column.to_string()),
        expected: format!("at most {bound}"),
        passed: value <= bound,
        severity,
        observed: format!("{value:.4}"),
        offending_rows: 0,
        examples: Vec::new(),
    })
}
