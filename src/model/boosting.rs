//! Histogram gradient boosting with scikit-learn's
//! `HistGradientBoostingClassifier`/`Regressor` semantics: log loss (binary:
//! one tree per iteration; multiclass: one per class, softmax), half squared
//! error for regression, the intercept-only baseline as the first raw
//! prediction, leaf values `−learning_rate · G / (H + l2)`, and early
//! stopping on the loss of a held-out share of the training rows (on by
//! default above 10 000 rows, as scikit-learn's `early_stopping="auto"`).
//!
//! Features reach it imputed (the feature plan fills nulls), so the missing
//! value bin scikit-learn keeps is not needed.

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::SeededRng;
use super::histogram::{Binned, GrowParams, Grower, HistTree};

/// What the model predicts, which fixes its loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Loss {
    Squared,
    Binary,
    Multinomial { classes: usize },
}

impl Loss {
    /// Raw scores per row: 1, or one per class.
    fn width(self) -> usize {
        match self {
            Loss::Multinomial { classes } => classes,
            _ => 1,
        }
    }
}

/// The target of a fit.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Classes(&'a [usize], usize),
    Values(&'a [f64]),
}

#[derive(Debug, Clone, Copy)]
pub struct EarlyStopping {
    pub validation_fraction: f64,
    pub n_iter_no_change: usize,
    pub tol: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct BoostParams {
    pub learning_rate: f64,
    pub max_iter: usize,
    pub max_bins: usize,
    pub tree: GrowParams,
    pub early_stopping: Option<EarlyStopping>,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Boosted {
    pub loss: Loss,
    pub baseline: Vec<f64>,
    /// Per iteration, one tree per raw score.
    pub trees: Vec<Vec<HistTree>>,
    /// Set when early stopping ended training before `max_iter`.
    pub stopped_early: bool,
}

impl Boosted {
    pub fn raw(&self, row: &[f64]) -> Vec<f64> {
        let mut raw = self.baseline.clone();
        for iteration in &self.trees {
            for (score, tree) in raw.iter_mut().zip(iteration) {
                *score += tree.predict(row);
            }
        }
        raw
    }

    /// Class probabilities (classification) or the value (regression, one entry).
    pub fn predict(&self, row: &[f64]) -> Vec<f64> {
        let raw = self.raw(row);
        match self.loss {
            Loss::Squared => raw,
            Loss::Binary => {
                let p = super::logistic::sigmoid(raw[0]);
                vec![1.0 - p, p]
            }
            Loss::Multinomial { .. } => softmax(&raw),
        }
    }
}

fn softmax(raw: &[f64]) -> Vec<f64> {
    let top = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = raw.iter().map(|s| (s - top).exp()).collect();
    let total: f64 = exp.iter().sum();
    exp.iter().map(|e| e / total).collect()
}

/// Fits on all rows of `x` (standard layout); with `class_weights`, each
/// row's gradient and hessian (and the baseline's shares) are weighed by its
/// class's weight, as scikit-learn's sample weights.
pub fn fit(
    x: ArrayView2<f64>,
    target: Target<'_>,
    class_weights: Option<&[f64]>,
    params: BoostParams,
) -> Boosted {
    let loss = match target {
        Target::Values(_) => Loss::Squared,
        Target::Classes(_, 2) => Loss::Binary,
        Target::Classes(_, classes) => Loss::Multinomial { classes },
    };
    let mut rng = SeededRng::new(params.seed);
    let (train, validation) = match params.early_stopping {
        Some(stopping) => hold_out(x.nrows(), target, stopping.validation_fraction, &mut rng),
        None => ((0..x.nrows()).collect(), Vec::new()),
    };
    let binned = Binned::fit(x, &train, params.max_bins, &mut rng);
    let sparse = binned.sparse(0.2);
    let baseline = baseline(target, &train, class_weights, loss);
    let width = loss.width();
    let mut state = State {
        raw: (0..x.nrows()).flat_map(|_| baseline.clone()).collect(),
        gradients: vec![vec![0.0; x.nrows()]; width],
        hessians: vec![vec![0.0; x.nrows()]; width],
    };
    let mut scores = vec![-state.loss(target, loss, &validation)];
    let mut trees = Vec::new();
    let mut stopped_early = false;
    for _ in 0..params.max_iter {
        state.gradients_at(target, loss, &train);
        if let (Some(weights), Target::Classes(labels, _)) = (class_weights, target) {
            state.weigh(weights, labels, &train);
        }
        let mut iteration = Vec::with_capacity(width);
        for k in 0..width {
            let grower = Grower {
                columns: &binned.columns,
                thresholds: &binned.thresholds,
                gradients: &state.gradients[k],
                hessians: &state.hessians[k],
                params: GrowParams {
                    shrinkage: params.learning_rate,
                    ..params.tree
                },
                sparse: Some(&sparse),
            };
            let mut rows: Vec<u32> = train.iter().map(|r| *r as u32).collect();
            let (tree, leaves) = grower.grow(&mut rows, &mut rng);
            for leaf in leaves {
                for r in &rows[leaf.start..leaf.end] {
                    state.raw[*r as usize * width + k] += leaf.value;
                }
            }
            for r in &validation {
                let row = x.row(*r);
                state.raw[r * width + k] += tree.predict(row.as_slice().expect("standard layout"));
            }
            iteration.push(tree);
        }
        trees.push(iteration);
        if let Some(stopping) = params.early_stopping {
            scores.push(-state.loss(target, loss, &validation));
            if should_stop(&scores, stopping) {
                stopped_early = true;
                break;
            }
        }
    }
    Boosted {
        loss,
        baseline,
        trees,
        stopped_early,
    }
}

/// scikit-learn's `_should_stop`: no score of the last `n_iter_no_change`
/// beats the one before them by more than `tol`.
fn should_stop(scores: &[f64], stopping: EarlyStopping) -> bool {
    let reference = stopping.n_iter_no_change + 1;
    if scores.len() < reference {
        return false;
    }
    let reference_score = scores[scores.len() - reference] + stopping.tol;
    !scores[scores.len() - reference + 1..]
        .iter()
        .any(|s| *s > reference_score)
}

/// The training and validation rows; classes keep their shares in both.
fn hold_out(
    rows: usize,
    target: Target<'_>,
    fraction: f64,
    rng: &mut SeededRng,
) -> (Vec<usize>, Vec<usize>) {
    let groups: Vec<Vec<usize>> = match target {
        Target::Classes(labels, classes) => {
            let mut groups = vec![Vec::new(); classes];
            for (r, l) in labels.iter().enumerate() {
                groups[*l].push(r);
            }
            groups
        }
        Target::Values(_) => vec![(0..rows).collect()],
    };
    rng.hold_out(groups, fraction)
}

/// The intercept-only model's raw scores (scikit-learn's `fit_intercept_only`).
fn baseline(
    target: Target<'_>,
    train: &[usize],
    class_weights: Option<&[f64]>,
    loss: Loss,
) -> Vec<f64> {
    let n = train.len().max(1) as f64;
    match target {
        Target::Values(values) => vec![train.iter().map(|r| values[*r]).sum::<f64>() / n],
        Target::Classes(labels, classes) => {
            let weight = |l: usize| class_weights.map_or(1.0, |w| w[l]);
            let total: f64 = train.iter().map(|r| weight(labels[*r])).sum::<f64>();
            let mut shares = vec![0.0; classes];
            for r in train {
                shares[labels[*r]] += weight(labels[*r]) / total.max(f64::MIN_POSITIVE);
            }
            let clipped = |p: f64| p.clamp(f64::EPSILON, 1.0 - f64::EPSILON);
            match loss {
                Loss::Binary => {
                    let p = clipped(shares[1]);
                    vec![(p / (1.0 - p)).ln()]
                }
                _ => shares.iter().map(|p| clipped(*p).ln()).collect(),
            }
        }
    }
}

/// Raw scores of every row, and the gradients and hessians of the loss.
struct State {
    raw: Vec<f64>,
    gradients: Vec<Vec<f32>>,
    hessians: Vec<Vec<f32>>,
}

impl State {
    fn gradients_at(&mut self, target: Target<'_>, loss: Loss, rows: &[usize]) {
        let width = loss.width();
        for r in rows {
            let raw = &self.raw[r * width..(r + 1) * width];
            match (loss, target) {
                (Loss::Squared, Target::Values(values)) => {
                    self.gradients[0][*r] = (raw[0] - values[*r]) as f32;
                    self.hessians[0][*r] = 1.0;
                }
                (Loss::Binary, Target::Classes(labels, _)) => {
                    let p = super::logistic::sigmoid(raw[0]);
                    self.gradients[0][*r] = (p - (labels[*r] == 1) as u8 as f64) as f32;
                    self.hessians[0][*r] = (p * (1.0 - p)) as f32;
                }
                (_, Target::Classes(labels, _)) => {
                    for (k, p) in softmax(raw).into_iter().enumerate() {
                        self.gradients[k][*r] = (p - (labels[*r] == k) as u8 as f64) as f32;
                        self.hessians[k][*r] = (p * (1.0 - p)) as f32;
                    }
                }
                (_, Target::Values(_)) => unreachable!("regression has the squared loss"),
            }
        }
    }

    fn weigh(&mut self, weights: &[f64], labels: &[usize], rows: &[usize]) {
        for (gradients, hessians) in self.gradients.iter_mut().zip(&mut self.hessians) {
            for r in rows {
                let w = weights[labels[*r]] as f32;
                gradients[*r] *= w;
                hessians[*r] *= w;
            }
        }
    }

    /// The mean loss over `rows` (0 when there are none).
    fn loss(&self, target: Target<'_>, loss: Loss, rows: &[usize]) -> f64 {
        if rows.is_empty() {
            return 0.0;
        }
        let width = loss.width();
        let total: f64 = rows
            .par_iter()
            .map(|r| {
                let raw = &self.raw[r * width..(r + 1) * width];
                match target {
                    Target::Values(values) => 0.5 * (raw[0] - values[*r]).powi(2),
                    Target::Classes(labels, _) => {
                        let p = match loss {
                            Loss::Binary => {
                                let p = super::logistic::sigmoid(raw[0]);
                                if labels[*r] == 1 { p } else { 1.0 - p }
                            }
                            _ => softmax(raw)[labels[*r]],
                        };
                        -p.max(1e-300).ln()
                    }
                }
            })
            .sum();
        total / rows.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopping_follows_scikit_learns_rule() {
        let stopping = EarlyStopping {
            validation_fraction: 0.1,
            n_iter_no_change: 2,
            tol: 0.0,
        };
        assert!(!should_stop(&[-3.0, -2.0], stopping));
        assert!(!should_stop(&[-3.0, -2.0, -1.0], stopping));
        assert!(should_stop(&[-1.0, -1.0, -1.5], stopping));
        assert!(!should_stop(&[-1.0, -1.0, -0.5], stopping));
    }

    #[test]
    fn a_step_function_is_learnt_and_classes_are_separated() {
        // 200 distinct values: one bin each, so the step is found exactly.
        let x = ndarray::Array2::from_shape_fn((200, 2), |(i, j)| (i * (j + 1) % 200) as f64);
        let values: Vec<f64> = (0..200).map(|i| if i < 100 { 1.0 } else { 5.0 }).collect();
        let params = BoostParams {
            learning_rate: 0.5,
            max_iter: 50,
            max_bins: 255,
            tree: GrowParams {
                max_leaf_nodes: Some(4),
                max_depth: None,
                min_samples_leaf: 5,
                min_samples_split: 2,
                l2: 0.0,
                max_features: None,
                shrinkage: 1.0,
            },
            early_stopping: None,
            seed: 0,
        };
        let model = fit(x.view(), Target::Values(&values), None, params);
        assert!((model.predict(&[10.0, 20.0])[0] - 1.0).abs() < 1e-6);
        assert!((model.predict(&[190.0, 180.0])[0] - 5.0).abs() < 1e-6);
        let labels: Vec<usize> = (0..200).map(|i| (i >= 100) as usize).collect();
        let model = fit(x.view(), Target::Classes(&labels, 2), None, params);
        assert!(model.predict(&[10.0, 20.0])[1] < 0.01);
        assert!(model.predict(&[190.0, 180.0])[1] > 0.99);
    }
}
