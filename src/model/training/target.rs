//! The target column, encoded: classes (sorted as numbers when they are
//! numbers, else as text; the positive class last unless declared) or
//! values to regress.

use super::super::ModelError;
use super::super::problem::Target;
use super::super::spec::{ModelSpec, Task};
use crate::data::column::ColumnView;

/// Encodes the target column for `spec`'s task.
pub(super) fn encode_target(spec: &ModelSpec, view: &ColumnView) -> Result<Target, ModelError> {
    if spec.task == Task::Regression {
        return values(spec, view);
    }
    let (codes, mut labels) = codes_and_labels(view);
    if labels.len() > 1000 {
        return Err(ModelError::new(format!(
            "the target `{}` has {} distinct values, too many classes; is this `task: regression`?",
            spec.target,
            labels.len()
        )));
    }
    let first_seen = labels.clone();
    labels.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    let remap: Vec<usize> = first_seen
        .iter()
        .map(|l| labels.iter().position(|s| s == l).unwrap_or(0))
        .collect();
    learnable(spec, &labels)?;
    let positive = match &spec.positive {
        Some(p) => labels.iter().position(|l| l == p).ok_or_else(|| {
            ModelError::new(format!(
                "`positive: {p}` is not a value of the target (its values are {})",
                labels.join(", ")
            ))
        })?,
        None => labels.len() - 1,
    };
    let index = codes.into_iter().map(|c| c.map(|c| remap[c])).collect();
    Ok(Target::Classes {
        index,
        labels,
        positive,
    })
}

/// A regression target: finite numbers that are not all the same.
fn values(spec: &ModelSpec, view: &ColumnView) -> Result<Target, ModelError> {
    let ColumnView::Numeric(values) = view else {
        return Err(ModelError::new(format!(
            "the target `{}` is not numeric, so it cannot be regressed",
            spec.target
        )));
    };
    let values: Vec<Option<f64>> = values.iter().map(|v| v.filter(|v| !v.is_nan())).collect();
    if let Some(row) = values.iter().position(|v| v.is_some_and(f64::is_infinite)) {
        return Err(ModelError::new(format!(
            "the target `{}` is infinite in row {}",
            spec.target,
            row + 1
        )));
    }
    let mut present = values.iter().flatten();
    let first = present.next().copied();
    if first.is_none() || present.all(|v| Some(*v) == first) {
        return Err(ModelError::new(format!(
            "the target `{}` is constant or empty: there is nothing to learn",
            spec.target
        )));
    }
    Ok(Target::Values(values))
}

/// Each row's class as a code in order of first appearance, and the class
/// labels; each distinct value is formatted once, not once per row.
fn codes_and_labels(view: &ColumnView) -> (Vec<Option<usize>>, Vec<String>) {
    match view {
        ColumnView::Numeric(values) => {
            let mut distinct: Vec<f64> = Vec::new();
            let mut seen: ahash::HashMap<u64, usize> = ahash::HashMap::default();
            let codes = values
                .iter()
                .map(|v| {
                    let v = v.filter(|v| !v.is_nan())?;
                    let key = if v == 0.0 { 0 } else { v.to_bits() };
                    Some(*seen.entry(key).or_insert_with(|| {
                        distinct.push(v);
                        distinct.len() - 1
                    }))
                })
                .collect();
            let labels = distinct
                .into_iter()
                .map(crate::data::column::format_number)
                .collect();
            (codes, labels)
        }
        ColumnView::Text(values) => {
            let mut distinct: Vec<&str> = Vec::new();
            let mut seen: ahash::HashMap<&str, usize> = ahash::HashMap::default();
            let codes = values
                .iter()
                .map(|v| {
                    let v = v?;
                    Some(*seen.entry(v).or_insert_with(|| {
                        distinct.push(v);
                        distinct.len() - 1
                    }))
                })
                .collect();
            (codes, distinct.into_iter().map(str::to_string).collect())
        }
    }
}

/// Two classes at least, and two at most for a binary task.
fn learnable(spec: &ModelSpec, labels: &[String]) -> Result<(), ModelError> {
    match (spec.task, labels.len()) {
        (_, 0) => Err(ModelError::new(format!(
            "the target `{}` has no values",
            spec.target
        ))),
        (_, 1) => Err(ModelError::new(format!(
            "the target `{}` has a single class ({}): there is nothing to learn",
            spec.target, labels[0]
        ))),
        (Task::Binary, n) if n > 2 => Err(ModelError::new(format!(
            "`task: binary` but the target `{}` has {n} classes; use `task: multiclass`",
            spec.target
        ))),
        _ => Ok(()),
    }
}
