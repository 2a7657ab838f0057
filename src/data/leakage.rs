//! Leakage: rows shared by the train and test parts, and a feature that on
//! its own predicts the target almost perfectly.
//!
//! The single-feature criterion, per feature (the split column and the
//! target excluded):
//! - binary target, numeric feature: ROC-AUC of the feature as a score is
//!   ≥ 0.99 or ≤ 0.01;
//! - categorical target (at most 20 levels), text feature with fewer
//!   distinct values than half the rows: predicting each level's most common
//!   target is right for ≥ 99 % of rows *and* removes ≥ 95 % of the errors of
//!   always guessing the most common target;
//! - numeric target with more than 20 distinct values, numeric feature:
//!   |Pearson r| ≥ 0.99.

use super::column::{ColumnView, row_hashes_of};
use super::stats::{radix_sort_by_key, roc_auc};
use super::{CheckResult, Example};
use crate::lifecycle::Severity;

const MAX_EXAMPLES: usize = 5;

/// Test rows whose every feature equals some training row's. Training rows
/// are kept as (hash, row) pairs sorted by hash, so a test row finds its
/// candidates by binary search without a map of vectors.
pub fn shared_rows(
    features: &[(String, ColumnView)],
    is_train: &[bool],
    is_test: &[bool],
) -> CheckResult {
    let rows = is_train.len();
    let row_hashes = row_hashes_of(features, rows);
    let mut train: Vec<(u64, u32)> = (0..rows)
        .filter(|r| is_train[*r])
        .map(|r| (row_hashes[r], r as u32))
        .collect();
    radix_sort_by_key(&mut train, |(hash, _)| *hash);
    let same = |a: usize, b: usize| features.iter().all(|(_, v)| v.same(a, b));
    let mut count = 0u64;
    let mut examples = Vec::new();
    for row in (0..rows).filter(|r| is_test[*r]) {
        let hash = row_hashes[row];
        let start = train.partition_point(|(h, _)| *h < hash);
        let found = train[start..]
            .iter()
            .take_while(|(h, _)| *h == hash)
            .find(|(_, t)| same(*t as usize, row));
        if let Some((_, first)) = found {
            count += 1;
            if examples.len() < MAX_EXAMPLES {
                examples.push(Example {
                    row: row as u64 + 1,
                    value: format!("test row equals training row {}", first + 1),
                });
            }
        }
    }
    CheckResult {
        check: "train/test overlap".into(),
        column: None,
        expected: "no test row also in training".into(),
        passed: count == 0,
        severity: Severity::Error,
        observed: format!(
            "{count} test row{} also in training",
            if count == 1 { "" } else { "s" }
        ),
        offending_rows: count,
        examples,
    }
}

/// Most levels a target may have to be treated as classes.
const MAX_CLASSES: usize = 20;
/// Text features with more levels than this are identifiers or free text.
const MAX_FEATURE_LEVELS: usize = 1000;

/// A target as small integer codes (`None` for a numeric target with many
/// values); `levels` are sorted so the last is the positive class.
struct Codes {
    per_row: Vec<Option<u8>>,
    levels: Vec<String>,
}

fn encode_target(target: &ColumnView) -> Option<Codes> {
    let mut levels: Vec<String> = Vec::new();
    let mut raw: Vec<Option<u8>> = Vec::with_capacity(target.len());
    let code = |text: &str, levels: &mut Vec<String>| -> Option<Option<u8>> {
        match levels.iter().position(|l| l == text) {
            Some(k) => Some(Some(k as u8)),
            None if levels.len() < MAX_CLASSES => {
                levels.push(text.to_string());
                Some(Some((levels.len() - 1) as u8))
            }
            None => None,
        }
    };
    match target {
        ColumnView::Numeric(values) => {
            for v in values.iter() {
                match v.filter(|v| !v.is_nan()) {
                    Some(v) => raw.push(code(&super::column::format_number(v), &mut levels)?),
                    None => raw.push(None),
                }
            }
        }
        ColumnView::Text(values) => {
            for v in values.iter() {
                match v {
                    Some(v) => raw.push(code(v, &mut levels)?),
                    None => raw.push(None),
                }
            }
        }
    }
    // Sort the levels (numerically when they are numbers) and remap the codes.
    let mut order: Vec<usize> = (0..levels.len()).collect();
    order.sort_by(
        |a, b| match (levels[*a].parse::<f64>(), levels[*b].parse::<f64>()) {
            (Ok(x), Ok(y)) => x.total_cmp(&y),
            _ => levels[*a].cmp(&levels[*b]),
        },
    );
    let mut remap = vec![0u8; levels.len()];
    for (new, old) in order.iter().enumerate() {
        remap[*old] = new as u8;
    }
    let sorted: Vec<String> = order.iter().map(|k| levels[*k].clone()).collect();
    Some(Codes {
        per_row: raw
            .into_iter()
            .map(|c| c.map(|c| remap[c as usize]))
            .collect(),
        levels: sorted,
    })
}

/// Features that alone predict `target` almost perfectly (warnings).
pub fn leaky_features(
    features: &[(String, ColumnView)],
    target_name: &str,
    target: &ColumnView,
) -> Vec<CheckResult> {
    let codes = encode_target(target);
    let mut results = Vec::new();
    for (name, view) in features {
        let finding = match (view, &codes) {
            (ColumnView::Numeric(values), Some(codes)) if codes.levels.len() == 2 => {
                let pairs: Vec<(f64, bool)> = values
                    .iter()
                    .zip(&codes.per_row)
                    .filter_map(|(v, c)| match (v, c) {
                        (Some(v), Some(c)) if !v.is_nan() => Some((v, *c == 1)),
                        _ => None,
                    })
                    .collect();
                roc_auc(&pairs)
                    .filter(|auc| *auc >= 0.99 || *auc <= 0.01)
                    .map(|auc| {
                        format!("ROC-AUC {auc:.4} for `{target_name}` = {}", codes.levels[1])
                    })
            }
            (ColumnView::Numeric(values), None) => {
                let ColumnView::Numeric(target_values) = target else {
                    continue;
                };
                let pairs: Vec<(f64, f64)> = values
                    .iter()
                    .zip(target_values.iter())
                    .filter_map(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) if !x.is_nan() && !y.is_nan() => Some((x, y)),
                        _ => None,
                    })
                    .collect();
                pearson(&pairs)
                    .filter(|r| r.abs() >= 0.99)
                    .map(|r| format!("Pearson r {r:.4} with `{target_name}`"))
            }
            (ColumnView::Text(values), Some(codes)) if codes.levels.len() >= 2 => {
                level_purity(values, codes)
            }
            _ => None,
        };
        if let Some(observed) = finding {
            results.push(CheckResult {
                passed: false,
                severity: Severity::Warning,
                observed,
                ..CheckResult::new(
                    "single-feature leakage",
                    Some(name),
                    format!("does not alone predict `{target_name}`"),
                )
            });
        }
    }
    results
}

fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

fn level_purity(values: &polars::prelude::StringChunked, codes: &Codes) -> Option<String> {
    let classes = codes.levels.len();
    let mut level_of: ahash::HashMap<&str, usize> = ahash::HashMap::default();
    let mut counts: Vec<Vec<u64>> = Vec::new();
    let mut by_target = vec![0u64; classes];
    let mut rows = 0u64;
    for (value, code) in values.iter().zip(&codes.per_row) {
        let (Some(value), Some(code)) = (value, code) else {
            continue;
        };
        let next = level_of.len();
        let level = *level_of.entry(value).or_insert(next);
        if level == counts.len() {
            if counts.len() >= MAX_FEATURE_LEVELS {
                return None; // an identifier or free text, not a feature
            }
            counts.push(vec![0; classes]);
        }
        counts[level][*code as usize] += 1;
        by_target[*code as usize] += 1;
        rows += 1;
    }
    if rows == 0 || counts.len() as u64 * 2 > rows {
        return None;
    }
    let right: u64 = counts
        .iter()
        .map(|c| c.iter().max().copied().unwrap_or(0))
        .sum();
    let purity = right as f64 / rows as f64;
    let baseline = by_target.iter().max().copied().unwrap_or(0) as f64 / rows as f64;
    let removes_errors = (1.0 - purity) <= 0.05 * (1.0 - baseline);
    (purity >= 0.99 && removes_errors).then(|| {
        format!(
            "its levels predict the target for {:.1}% of rows (most-common guess: {:.1}%)",
            purity * 100.0,
            baseline * 100.0
        )
    })
}
