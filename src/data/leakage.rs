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

use rayon::prelude::*;

use super::check_result::{CheckResult, Example};
use super::column::{Coded, ColumnView, Texts, numbers_of, row_hashes_of};
use super::stats::{radix_sort_by_key, roc_auc_counted};
use crate::lifecycle::Severity;

const MAX_EXAMPLES: usize = 5;

/// Test rows whose every feature equals some training row's. Training and
/// test rows are each sorted by row hash and walked together, so equal
/// hashes meet without a lookup per row.
pub fn shared_rows(
    features: &[(String, ColumnView)],
    is_train: &[bool],
    is_test: &[bool],
) -> CheckResult {
    let rows = is_train.len();
    let row_hashes = row_hashes_of(features, rows);
    let part = |part: &[bool]| -> Vec<(u64, u32)> {
        (0..rows)
            .filter(|r| part[*r])
            .map(|r| (row_hashes[r], r as u32))
            .collect()
    };
    let (mut train, mut test) = (part(is_train), part(is_test));
    drop(row_hashes); // before the sorts, which need room of their own
    rayon::join(
        || radix_sort_by_key(&mut train, |(hash, _)| *hash),
        || radix_sort_by_key(&mut test, |(hash, _)| *hash),
    );
    let same = |a: usize, b: usize| features.iter().all(|(_, v)| v.same(a, b));
    // (test row, the first training row equal to it)
    let mut shared: Vec<(u32, u32)> = Vec::new();
    let (mut i, mut j) = (0usize, 0usize);
    while i < train.len() && j < test.len() {
        let (train_hash, test_hash) = (train[i].0, test[j].0);
        if train_hash < test_hash {
            i += 1;
        } else if test_hash < train_hash {
            j += 1;
        } else {
            let train_end = i + train[i..]
                .iter()
                .take_while(|(h, _)| *h == train_hash)
                .count();
            let test_end = j + test[j..]
                .iter()
                .take_while(|(h, _)| *h == test_hash)
                .count();
            for (_, row) in &test[j..test_end] {
                let first = train[i..train_end]
                    .iter()
                    .find(|(_, t)| same(*t as usize, *row as usize));
                if let Some((_, first)) = first {
                    shared.push((*row, *first));
                }
            }
            (i, j) = (train_end, test_end);
        }
    }
    shared.sort_unstable();
    let count = shared.len() as u64;
    let examples = shared
        .iter()
        .take(MAX_EXAMPLES)
        .map(|(row, first)| Example {
            row: *row as u64 + 1,
            value: format!("test row equals training row {}", first + 1),
        })
        .collect();
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
    features
        .par_iter()
        .filter_map(|(name, view)| {
            let observed = single_feature_finding(view, codes.as_ref(), target_name, target)?;
            Some(CheckResult {
                passed: false,
                severity: Severity::Warning,
                observed,
                ..CheckResult::new(
                    "single-feature leakage",
                    Some(name),
                    format!("does not alone predict `{target_name}`"),
                )
            })
        })
        .collect()
}

/// What makes one feature a leak, if it is one.
fn single_feature_finding(
    view: &ColumnView,
    codes: Option<&Codes>,
    target_name: &str,
    target: &ColumnView,
) -> Option<String> {
    match (view, codes) {
        (ColumnView::Numeric(values), Some(codes)) if codes.levels.len() == 2 => {
            let scored = || {
                numbers_of(values)
                    .zip(&codes.per_row)
                    .filter_map(|(v, c)| match c {
                        Some(c) if !v.is_nan() => Some((v, *c == 1)),
                        _ => None,
                    })
            };
            roc_auc_counted(scored)
                .filter(|auc| *auc >= 0.99 || *auc <= 0.01)
                .map(|auc| format!("ROC-AUC {auc:.4} for `{target_name}` = {}", codes.levels[1]))
        }
        (ColumnView::Numeric(values), None) => {
            let ColumnView::Numeric(target_values) = target else {
                return None;
            };
            let pairs: Vec<(f64, f64)> = numbers_of(values)
                .zip(numbers_of(target_values))
                .filter(|(x, y)| !x.is_nan() && !y.is_nan())
                .collect();
            pearson(&pairs)
                .filter(|r| r.abs() >= 0.99)
                .map(|r| format!("Pearson r {r:.4} with `{target_name}`"))
        }
        (ColumnView::Text(values), Some(codes)) if codes.levels.len() >= 2 => {
            level_purity(values, codes)
        }
        _ => None,
    }
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

fn level_purity(values: &Texts, codes: &Codes) -> Option<String> {
    let classes = codes.levels.len();
    let mut level_of: ahash::HashMap<&str, usize> = ahash::HashMap::default();
    // A coded column's levels are already numbered; others are numbered here.
    let levels: Box<dyn Iterator<Item = Option<usize>> + '_> = match values {
        Texts::Coded(coded) => Box::new(
            coded
                .codes
                .iter()
                .map(|c| (*c != Coded::NULL).then_some(*c as usize)),
        ),
        Texts::Plain(_) => Box::new(values.iter().map(move |v| {
            let next = level_of.len();
            v.map(|v| *level_of.entry(v).or_insert(next))
        })),
    };
    let mut counts: Vec<Vec<u64>> = Vec::new();
    let mut by_target = vec![0u64; classes];
    let mut rows = 0u64;
    for (level, code) in levels.zip(&codes.per_row) {
        let (Some(level), Some(code)) = (level, code) else {
            continue;
        };
        if level >= counts.len() {
            if level >= MAX_FEATURE_LEVELS {
                return None; // an identifier or free text, not a feature
            }
            counts.resize(level + 1, vec![0; classes]);
        }
        counts[level][*code as usize] += 1;
        by_target[*code as usize] += 1;
        rows += 1;
    }
    let levels_seen = counts.iter().filter(|c| c.iter().any(|n| *n > 0)).count() as u64;
    if rows == 0 || levels_seen * 2 > rows {
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
