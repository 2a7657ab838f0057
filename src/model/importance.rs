//! Permutation importance on the test rows, as scikit-learn's
//! `permutation_importance` with the estimator's own score (accuracy for
//! classifiers, R² for regressors): each feature's values are shuffled among
//! the rows `REPEATS` times and the drop in score is its importance, with
//! the spread (standard deviation, ddof 0 as numpy's) over the repeats. A
//! text feature's one-hot columns move together, as its one column would.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::SeededRng;
use super::algorithms::{Fitted, select_rows};
use super::features::{EncodedColumn, FeaturePlan};
use super::problem::Problem;

/// scikit-learn's default `n_repeats`.
pub const REPEATS: usize = 5;
/// Test rows scored at most; a larger test split is sampled (seeded), so
/// that a forest of deep trees spends seconds here, not minutes.
pub const MAX_ROWS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    pub feature: String,
    /// The score the model loses when this feature is shuffled.
    pub mean: f64,
    pub std: f64,
}

/// The importances of a model's features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importances {
    /// The score the drops are in: `accuracy` or `r2`.
    pub score: String,
    pub repeats: usize,
    /// Test rows scored.
    pub rows: usize,
    /// The largest drop first.
    pub features: Vec<Importance>,
}

/// Every feature's importance; `None` when the score cannot be computed
/// (fewer than two test rows).
pub fn permutation(
    fitted: &Fitted,
    plan: &FeaturePlan,
    test: &Problem,
    x_test: &Array2<f64>,
    seed: u64,
) -> Option<Importances> {
    let key = if test.classes() > 0 { "accuracy" } else { "r2" };
    let mut rng = SeededRng::new(seed);
    let (problem, x) = if x_test.nrows() > MAX_ROWS {
        let mut rows: Vec<usize> = (0..x_test.nrows()).collect();
        rng.shuffle(&mut rows);
        rows.truncate(MAX_ROWS);
        rows.sort_unstable();
        (test.subset(&rows), select_rows(x_test, &rows))
    } else {
        (test.clone(), x_test.clone())
    };
    if x.nrows() < 2 {
        return None;
    }
    let score = |x: &Array2<f64>| problem.evaluate(fitted, x).metrics.get(key).copied();
    let reference = score(&x)?;
    let mut out = Vec::new();
    let mut offset = 0;
    for column in &plan.columns {
        let (name, width) = match column {
            EncodedColumn::Numeric { name, .. } => (name, 1),
            EncodedColumn::OneHot { name, levels } => (name, levels.len()),
        };
        let drops: Vec<f64> = (0..REPEATS)
            .filter_map(|_| {
                let mut order: Vec<usize> = (0..x.nrows()).collect();
                rng.shuffle(&mut order);
                let mut shuffled = x.clone();
                for j in offset..offset + width {
                    for (to, from) in order.iter().enumerate() {
                        shuffled[[to, j]] = x[[*from, j]];
                    }
                }
                score(&shuffled).map(|s| reference - s)
            })
            .collect();
        offset += width;
        let n = drops.len().max(1) as f64;
        let mean = drops.iter().sum::<f64>() / n;
        let std = (drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
        out.push(Importance {
            feature: name.clone(),
            mean,
            std,
        });
    }
    out.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    Some(Importances {
        score: key.to_string(),
        repeats: REPEATS,
        rows: x.nrows(),
        features: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::problem::Target;
    use crate::model::tree::{Tree, TreeParams};

    /// A tree that splits on the first feature only: shuffling it costs
    /// about half the accuracy, shuffling the second costs nothing.
    #[test]
    fn the_deciding_feature_matters_and_the_ignored_one_does_not() {
        let rows = 400;
        let labels: Vec<usize> = (0..rows).map(|i| i % 2).collect();
        let x = Array2::from_shape_fn((rows, 2), |(i, j)| match j {
            0 => labels[i] as f64,
            _ => ((i * 7919) % 13) as f64,
        });
        let y = ndarray::Array1::from(labels.clone());
        let params = TreeParams {
            max_depth: Some(1),
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: None,
        };
        let fitted = Fitted::Tree(Tree::fit(&x, &y, 2, params));
        let target = Target::Classes {
            index: labels.iter().map(|l| Some(*l)).collect(),
            labels: vec!["0".into(), "1".into()],
            positive: 1,
        };
        let all: Vec<usize> = (0..rows).collect();
        let plan = FeaturePlan {
            columns: ["decides", "noise"]
                .iter()
                .map(|name| EncodedColumn::Numeric {
                    name: name.to_string(),
                    fill: 0.0,
                    center: 0.0,
                    scale: 1.0,
                })
                .collect(),
        };
        let found = permutation(&fitted, &plan, &Problem::new(&target, &all), &x, 0).unwrap();
        assert_eq!(found.score, "accuracy");
        assert_eq!(found.features[0].feature, "decides");
        assert!((0.35..0.65).contains(&found.features[0].mean), "{found:?}");
        assert!(found.features[0].std > 0.0);
        assert_eq!(found.features[1].mean, 0.0);
        assert_eq!(found.features[1].std, 0.0);
    }
}
