//! The reference profile a release ships and monitoring compares fresh data
//! with: each feature's distribution on the training rows (numeric: counts
//! in ten bins on its deciles, and 1,001 quantiles for the KS statistic;
//! text: each level's count), the model's scores on the test rows, and the
//! test metrics. Drift is measured as the data evidence measures it: PSI
//! with right-closed bins and shares floored at 10⁻⁴.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::column::ColumnView;
use crate::data::stats::{ValueCounts, psi};

/// Quantiles kept per numeric column: KS against them is within 10⁻³ of
/// KS against the full sample.
const GRID: usize = 1001;
/// Text columns with more levels keep the commonest ones.
const MAX_LEVELS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Distribution {
    Number {
        edges: Vec<f64>,
        counts: Vec<u64>,
        quantiles: Vec<f64>,
        nulls: u64,
    },
    Text {
        counts: BTreeMap<String, u64>,
    },
}

/// How far a fresh sample has moved from a reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub psi: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks: Option<f64>,
    /// Levels in the fresh data that the reference never had.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new_levels: Vec<String>,
}

/// A sample as monitoring reads it: a column's numbers, or its levels' counts.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    Numbers(Vec<f64>),
    Levels(BTreeMap<String, u64>),
}

impl Sample {
    pub fn texts<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Sample {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for v in values {
            *counts
                .entry(v.unwrap_or("(missing)").to_string())
                .or_insert(0) += 1;
        }
        Sample::Levels(counts)
    }

    /// A column's rows.
    pub fn of_view(view: &ColumnView, rows: &[usize]) -> Sample {
        match view {
            ColumnView::Numeric(values) => Sample::Numbers(
                rows.iter()
                    .map(|r| values.get(*r).unwrap_or(f64::NAN))
                    .collect(),
            ),
            ColumnView::Text(texts) => Sample::texts(rows.iter().map(|r| texts.get(*r))),
        }
    }

    /// The score monitoring follows for each row of probabilities or
    /// values: the positive class's probability (binary), the predicted
    /// class (multiclass) or the value (regression).
    pub fn of_outputs(outputs: &[Vec<f64>], classes: &[String], positive: usize) -> Sample {
        match classes.len() {
            0 => Sample::Numbers(outputs.iter().map(|o| o[0]).collect()),
            2 => Sample::Numbers(outputs.iter().map(|o| o[positive]).collect()),
            _ => Sample::texts(outputs.iter().map(|o| {
                let best = crate::model::metrics::most_probable(o);
                Some(classes[best].as_str())
            })),
        }
    }
}

impl Distribution {
    /// The reference kept of a sample.
    pub fn of(sample: &Sample) -> Distribution {
        match sample {
            Sample::Numbers(values) => {
                let counts = ValueCounts::of(|| values.iter().copied());
                let edges = counts.decile_edges();
                let quantiles = (0..GRID)
                    .filter_map(|i| counts.quantile(i as f64 / (GRID - 1) as f64))
                    .collect();
                Distribution::Number {
                    counts: counts.bin_counts(&edges),
                    edges,
                    quantiles,
                    nulls: values.iter().filter(|v| v.is_nan()).count() as u64,
                }
            }
            Sample::Levels(counts) => {
                let mut sorted: Vec<(&String, &u64)> = counts.iter().collect();
                sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                sorted.truncate(MAX_LEVELS);
                Distribution::Text {
                    counts: sorted.into_iter().map(|(l, n)| (l.clone(), *n)).collect(),
                }
            }
        }
    }

    /// The fresh sample's drift from this reference: PSI on the reference's
    /// bins, KS against its quantiles; `None` when the kinds differ or a
    /// side is empty.
    pub fn drift(&self, fresh: &Sample) -> Option<Drift> {
        match (self, fresh) {
            (
                Distribution::Number {
                    edges,
                    counts,
                    quantiles,
                    ..
                },
                Sample::Numbers(values),
            ) => {
                let fresh = ValueCounts::of(|| values.iter().copied());
                let reference = ValueCounts::of(|| quantiles.iter().copied());
                Some(Drift {
                    psi: psi(counts, &fresh.bin_counts(edges))?,
                    ks: reference.ks(&fresh),
                    new_levels: Vec::new(),
                })
            }
            (Distribution::Text { counts }, Sample::Levels(fresh)) => {
                let levels: std::collections::BTreeSet<&String> =
                    counts.keys().chain(fresh.keys()).collect();
                let base: Vec<u64> = levels
                    .iter()
                    .map(|l| *counts.get(*l).unwrap_or(&0))
                    .collect();
                let head: Vec<u64> = levels
                    .iter()
                    .map(|l| *fresh.get(*l).unwrap_or(&0))
                    .collect();
                Some(Drift {
                    psi: psi(&base, &head)?,
                    ks: None,
                    new_levels: fresh
                        .keys()
                        .filter(|l| !counts.contains_key(*l))
                        .cloned()
                        .collect(),
                })
            }
            _ => None,
        }
    }
}

/// What monitoring compares fresh data with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    pub rows: usize,
    pub features: BTreeMap<String, Distribution>,
    /// The model's scores on the test rows: the positive class's
    /// probability (binary), the predicted class (multiclass) or the value.
    pub predictions: Distribution,
    pub metrics: BTreeMap<String, f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_sample_does_not_drift_and_a_shifted_one_does() {
        let base: Vec<f64> = (0..10_000).map(|i| (i % 997) as f64).collect();
        let shifted: Vec<f64> = base.iter().map(|v| v + 300.0).collect();
        let reference = Distribution::of(&Sample::Numbers(base.clone()));
        let same = reference.drift(&Sample::Numbers(base)).unwrap();
        assert!(same.psi < 1e-12 && same.ks.unwrap() < 2e-3, "{same:?}");
        let moved = reference.drift(&Sample::Numbers(shifted)).unwrap();
        assert!(moved.psi > 1.0, "{moved:?}");
        // scipy.stats.ks_2samp of these samples: 0.303; the grid's within 10⁻³.
        assert!((moved.ks.unwrap() - 0.303).abs() < 1e-3, "{moved:?}");
        let a = Distribution::of(&Sample::texts(["x", "x", "y"].into_iter().map(Some)));
        let drift = a
            .drift(&Sample::texts(["x", "z", "z"].into_iter().map(Some)))
            .unwrap();
        assert_eq!(drift.new_levels, ["z"]);
        assert!(drift.psi > 1.0);
    }
}
