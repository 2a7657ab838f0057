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
}

pub fn numeric(column: &str, base: &ValueCounts, head: &ValueCounts) -> ColumnDrift {
    let edges = base.decile_edges();
    ColumnDrift {
        column: column.to_string(),
        psi: psi(&base.bin_counts(&edges), &head.bin_counts(&edges)),
        ks: base.ks(head),
        new_categories: Vec::new(),
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
    ColumnDrift {
        column: column.to_string(),
        psi: psi(&count(base), &count(head)),
        ks: None,
        new_categories: head
            .keys()
            .filter(|k| !base.contains_key(*k))
            .cloned()
            .collect(),
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
