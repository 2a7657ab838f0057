//! The learning algorithms, through linfa, behind one fitted-model type.

use std::collections::BTreeMap;

use linfa::prelude::*;
use linfa_bayes::{GaussianNb, NaiveBayes};
use linfa_elasticnet::ElasticNet;
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2, ArrayView2, Axis, concatenate, s};

use super::boosting::{self, BoostParams, Boosted, EarlyStopping, Target};
use super::design::Design;
use super::forest::{self, ForestParams};
use super::histogram::{GrowParams, HistTree};
use super::lbfgs::Options;
use super::logistic;
use super::tree::{Forest, Tree, TreeParams};
use serde::{Deserialize, Serialize};

use super::ModelError;
use super::spec::Algorithm;

/// What training produced; every variant can say how sure it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Fitted {
    /// Binary logistic regression: weights, intercept, and which class is positive.
    Logistic {
        weights: Vec<f64>,
        intercept: f64,
        positive: usize,
        negative: usize,
    },
    /// Multinomial logistic regression: one weight row and intercept per class.
    Multinomial {
        weights: Vec<Vec<f64>>,
        intercepts: Vec<f64>,
        classes: Vec<usize>,
    },
    Tree(Tree),
    Forest(Forest),
    /// Gradient boosting, any task.
    Boosted(Boosted),
    /// A regression tree or forest: the mean of its trees.
    RegressionTrees(Vec<HistTree>),
    /// A two-class forest: the mean of its trees is the share of class 1.
    BinaryTrees(Vec<HistTree>),
    /// A classification forest (or a tree with weighed classes): each
    /// leaf holds every class's share.
    ClassTrees(Vec<forest::WideTree>),
    /// Gaussian naive Bayes, kept as linfa's model.
    GaussianNb(GaussianNb<f64, usize>),
    /// A linear model for regression (OLS, ridge, elastic net).
    Linear {
        weights: Vec<f64>,
        intercept: f64,
    },
    /// The dummy baseline: class priors, or the training mean.
    Prior {
        probabilities: Vec<f64>,
    },
    Mean {
        value: f64,
    },
}

/// A warning from training that the report should show.
pub type TrainingNote = Option<String>;

fn param(params: &BTreeMap<String, f64>, name: &str, default: f64) -> f64 {
    params.get(name).copied().unwrap_or(default)
}

/// Fits a classifier on `x` and class indices `y` (0..classes).
/// A classification target: class indices, how many classes, and the
/// weight of each class when they are weighed (`class_weight`).
pub struct Classification<'a> {
    pub labels: &'a Array1<usize>,
    pub classes: usize,
    pub weights: Option<&'a [f64]>,
}

pub fn fit_classifier(
    algorithm: Algorithm,
    params: &BTreeMap<String, f64>,
    x: &Array2<f64>,
    target: Classification<'_>,
) -> Result<(Fitted, TrainingNote), ModelError> {
    let (y, classes, weights) = (target.labels, target.classes, target.weights);
    if weights.is_some() && !algorithm.takes_class_weights() {
        return Err(ModelError::new(format!(
            "{} does not weigh classes; `class_weight` is for logistic_regression, gradient_boosting, decision_tree and random_forest",
            algorithm.name()
        )));
    }
    let failed = |e: &dyn std::fmt::Display| {
        ModelError::new(format!("{} failed to train: {e}", algorithm.name()))
    };
    match algorithm {
        Algorithm::LogisticRegression => fit_logistic(params, x, y, classes, weights),
        Algorithm::GradientBoosting => {
            let labels = y
                .as_slice()
                .map(<[usize]>::to_vec)
                .unwrap_or_else(|| y.to_vec());
            Ok(fit_boosting(
                params,
                x,
                Target::Classes(&labels, classes),
                weights,
            ))
        }
        Algorithm::DecisionTree if weights.is_none() => {
            let tree = Tree::fit(x, y, classes, tree_params(params, None));
            Ok((Fitted::Tree(tree), None))
        }
        Algorithm::DecisionTree => {
            // Weighed classes: one tree of the forests' binned grower.
            let one = ForestParams {
                trees: 1,
                bootstrap: false,
                max_features: x.ncols(),
                ..forest_params(params, x.ncols(), true)
            };
            Ok((class_trees(x, y, classes, weights, one), None))
        }
        Algorithm::RandomForest => {
            let shape = forest_params(params, x.ncols(), true);
            Ok((class_trees(x, y, classes, weights, shape), None))
        }
        Algorithm::GaussianNb => {
            let model = GaussianNb::params()
                .var_smoothing(param(params, "var_smoothing", 1e-9))
                .fit(&DatasetView::new(x.view(), y.view()))
                .map_err(|e| failed(&e))?;
            Ok((Fitted::GaussianNb(model), None))
        }
        other => Err(ModelError::new(format!(
            "{} is a regression algorithm; use it with `task: regression`",
            other.name()
        ))),
    }
}

/// A tree's shape from the parameters.
fn tree_params(params: &BTreeMap<String, f64>, max_features: Option<usize>) -> TreeParams {
    let depth = param(params, "max_depth", 0.0);
    TreeParams {
        max_depth: (depth >= 1.0).then_some(depth as usize),
        min_samples_split: param(params, "min_samples_split", 2.0).max(2.0) as usize,
        min_samples_leaf: param(params, "min_samples_leaf", 1.0).max(1.0) as usize,
        max_features,
    }
}

/// Logistic regression, binary or multinomial, on scikit-learn's
/// objective and stopping rule (our L-BFGS over a sparse-aware matrix).
fn fit_logistic(
    params: &BTreeMap<String, f64>,
    x: &Array2<f64>,
    y: &Array1<usize>,
    classes: usize,
    class_weights: Option<&[f64]>,
) -> Result<(Fitted, TrainingNote), ModelError> {
    let c = param(params, "c", 1.0);
    if c <= 0.0 {
        return Err(ModelError::new("logistic regression needs `c` > 0"));
    }
    let iterations = param(params, "max_iterations", 100.0).max(1.0) as usize;
    let tolerance = param(params, "tolerance", 1e-4);
    let design = Design::new(x.view());
    let labels = y
        .as_slice()
        .map(<[usize]>::to_vec)
        .unwrap_or_else(|| y.to_vec());
    let solution = logistic::fit(
        &design,
        &labels,
        classes,
        class_weights,
        c,
        Options::scikit_learn(iterations, tolerance),
    );
    let d = x.ncols();
    let fitted = if classes == 2 {
        Fitted::Logistic {
            weights: solution.weights,
            intercept: solution.intercepts[0],
            positive: 1,
            negative: 0,
        }
    } else {
        Fitted::Multinomial {
            weights: (0..classes)
                .map(|k| (0..d).map(|j| solution.weights[j * classes + k]).collect())
                .collect(),
            intercepts: solution.intercepts,
            classes: (0..classes).collect(),
        }
    };
    let minimum = &solution.minimum;
    let note = (!minimum.converged).then(|| {
        format!(
            "logistic regression did not converge in {} iterations (largest gradient component {:.3e}, `tolerance` {tolerance:e}); raise `max_iterations` or standardise the features",
            minimum.iterations, minimum.gradient_max
        )
    });
    Ok((fitted, note))
}

/// Fits a regressor on `x` and values `y`.
pub fn fit_regressor(
    algorithm: Algorithm,
    params: &BTreeMap<String, f64>,
    x: &Array2<f64>,
    y: &Array1<f64>,
) -> Result<(Fitted, TrainingNote), ModelError> {
    let failed = |e: &dyn std::fmt::Display| {
        ModelError::new(format!("{} failed to train: {e}", algorithm.name()))
    };
    match algorithm {
        Algorithm::GradientBoosting => {
            let values = y
                .as_slice()
                .map(<[f64]>::to_vec)
                .unwrap_or_else(|| y.to_vec());
            Ok(fit_boosting(params, x, Target::Values(&values), None))
        }
        Algorithm::DecisionTree => {
            let values = y
                .as_slice()
                .map(<[f64]>::to_vec)
                .unwrap_or_else(|| y.to_vec());
            let one = ForestParams {
                trees: 1,
                bootstrap: false,
                ..forest_params(params, x.ncols(), false)
            };
            let trees = forest::fit(x.view(), forest::Target::Values(&values), one);
            Ok((Fitted::RegressionTrees(forest::narrow(trees)), None))
        }
        Algorithm::RandomForest => {
            let values = y
                .as_slice()
                .map(<[f64]>::to_vec)
                .unwrap_or_else(|| y.to_vec());
            let shape = forest_params(params, x.ncols(), false);
            let trees = forest::fit(x.view(), forest::Target::Values(&values), shape);
            Ok((Fitted::RegressionTrees(forest::narrow(trees)), None))
        }
        Algorithm::LinearRegression => {
            let model = LinearRegression::new()
                .fit(&Dataset::new(x.clone(), y.clone()))
                .map_err(|e| failed(&e))?;
            Ok((
                Fitted::Linear {
                    weights: model.params().to_vec(),
                    intercept: model.intercept(),
                },
                None,
            ))
        }
        Algorithm::Ridge => fit_ridge(params, x, y),
        Algorithm::ElasticNet => {
            let model = ElasticNet::params()
                .penalty(param(params, "alpha", 1.0))
                .l1_ratio(param(params, "l1_ratio", 0.5))
                .max_iterations(param(params, "max_iterations", 1000.0) as u32)
                .tolerance(param(params, "tolerance", 1e-4))
                .fit(&Dataset::new(x.clone(), y.clone()))
                .map_err(|e| failed(&e))?;
            Ok((
                Fitted::Linear {
                    weights: model.hyperplane().to_vec(),
                    intercept: model.intercept(),
                },
                None,
            ))
        }
        other => Err(ModelError::new(format!(
            "{} is a classification algorithm; use it with `task: binary` or `multiclass`",
            other.name()
        ))),
    }
}

/// scikit-learn's Ridge: ‖y − Xw‖² + α‖w‖², the intercept unpenalised.
/// Centre X and y, append √α·I rows with zero targets, and solve by OLS.
fn fit_ridge(
    params: &BTreeMap<String, f64>,
    x: &Array2<f64>,
    y: &Array1<f64>,
) -> Result<(Fitted, TrainingNote), ModelError> {
    let failed = |e: &dyn std::fmt::Display| ModelError::new(format!("ridge failed to train: {e}"));
    let alpha = param(params, "alpha", 1.0);
    if alpha < 0.0 {
        return Err(ModelError::new("ridge needs `alpha` ≥ 0"));
    }
    let x_mean = x
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(x.ncols()));
    let y_mean = y.mean().unwrap_or(0.0);
    let centred = x - &x_mean;
    let penalty = Array2::<f64>::eye(x.ncols()) * alpha.sqrt();
    let augmented =
        concatenate(Axis(0), &[centred.view(), penalty.view()]).map_err(|e| failed(&e))?;
    let targets = concatenate(
        Axis(0),
        &[(y - y_mean).view(), Array1::zeros(x.ncols()).view()],
    )
    .map_err(|e| failed(&e))?;
    let model = LinearRegression::new()
        .with_intercept(false)
        .fit(&Dataset::new(augmented, targets))
        .map_err(|e| failed(&e))?;
    let weights = model.params().to_owned();
    let intercept = y_mean - x_mean.dot(&weights);
    Ok((
        Fitted::Linear {
            weights: weights.to_vec(),
            intercept,
        },
        None,
    ))
}

/// Gradient boosting with scikit-learn's parameters and defaults.
fn fit_boosting(
    params: &BTreeMap<String, f64>,
    x: &Array2<f64>,
    target: Target<'_>,
    class_weights: Option<&[f64]>,
) -> (Fitted, TrainingNote) {
    let limit = |name: &str, default: f64| {
        let v = param(params, name, default);
        (v >= 1.0).then_some(v as usize)
    };
    let switch = param(params, "early_stopping", -1.0);
    let early = if switch < 0.0 {
        x.nrows() > 10_000
    } else {
        switch > 0.0
    };
    let boost = BoostParams {
        learning_rate: param(params, "learning_rate", 0.1),
        max_iter: param(params, "max_iter", 100.0).max(1.0) as usize,
        max_bins: param(params, "max_bins", 255.0) as usize,
        tree: GrowParams {
            max_leaf_nodes: limit("max_leaf_nodes", 31.0),
            max_depth: limit("max_depth", 0.0),
            min_samples_leaf: param(params, "min_samples_leaf", 20.0).max(1.0) as usize,
            min_samples_split: 2,
            l2: param(params, "l2_regularization", 0.0).max(0.0),
            max_features: None,
            shrinkage: 1.0,
        },
        early_stopping: early.then(|| EarlyStopping {
            validation_fraction: param(params, "validation_fraction", 0.1).clamp(0.0, 0.9),
            n_iter_no_change: param(params, "n_iter_no_change", 10.0).max(1.0) as usize,
            tol: param(params, "tol", 1e-7),
        }),
        seed: param(params, "seed", 0.0).max(0.0) as u64,
    };
    let model = boosting::fit(x.view(), target, class_weights, boost);
    let note = model.stopped_early.then(|| {
        format!(
            "gradient boosting stopped early after {} iterations (no gain on the held-out {} of the training rows)",
            model.trees.len(),
            boost.early_stopping.map_or(0.0, |e| e.validation_fraction)
        )
    });
    (Fitted::Boosted(model), note)
}

/// A forest's shape: scikit-learn's defaults are √features per split for
/// classification and every feature for regression.
/// A classification forest (or one tree): two unweighted classes as the
/// positive class's 0/1 (Gini's decrease is the squared error's on it),
/// otherwise one channel per class, weighed.
fn class_trees(
    x: &Array2<f64>,
    y: &Array1<usize>,
    classes: usize,
    weights: Option<&[f64]>,
    shape: ForestParams,
) -> Fitted {
    if classes == 2 && weights.is_none() {
        let positive: Vec<f64> = y.iter().map(|l| (*l == 1) as u8 as f64).collect();
        let trees = forest::fit(x.view(), forest::Target::Values(&positive), shape);
        return Fitted::BinaryTrees(forest::narrow(trees));
    }
    let labels = y
        .as_slice()
        .map(<[usize]>::to_vec)
        .unwrap_or_else(|| y.to_vec());
    let ones = vec![1.0; classes];
    let target = forest::Target::Classes {
        labels: &labels,
        weights: weights.unwrap_or(&ones),
    };
    Fitted::ClassTrees(forest::fit(x.view(), target, shape))
}

fn forest_params(params: &BTreeMap<String, f64>, features: usize, classify: bool) -> ForestParams {
    let shape = tree_params(params, None);
    let given = param(params, "max_features", 0.0);
    let max_features = match (given >= 1.0, classify) {
        (true, _) => given as usize,
        // scikit-learn's "sqrt": max(1, int(sqrt(n))).
        (false, true) => ((features as f64).sqrt().floor() as usize).max(1),
        (false, false) => features,
    };
    ForestParams {
        trees: param(params, "n_estimators", 100.0).max(1.0) as usize,
        max_depth: shape.max_depth,
        min_samples_split: shape.min_samples_split,
        min_samples_leaf: shape.min_samples_leaf,
        max_features,
        seed: param(params, "seed", 0.0).max(0.0) as u64,
        bootstrap: true,
    }
}

impl Fitted {
    /// Class probabilities per row, columns in class-index order.
    pub fn probabilities(&self, x: ArrayView2<f64>, classes: usize) -> Vec<Vec<f64>> {
        match self {
            Fitted::Logistic {
                weights,
                intercept,
                positive,
                negative,
            } => {
                let w = Array1::from(weights.clone());
                x.dot(&w)
                    .iter()
                    .map(|z| {
                        let mut row = vec![0.0; classes];
                        let p = logistic::sigmoid(z + intercept);
                        row[*positive] = p;
                        row[*negative] = 1.0 - p;
                        row
                    })
                    .collect()
            }
            Fitted::Multinomial {
                weights,
                intercepts,
                classes: order,
            } => x
                .rows()
                .into_iter()
                .map(|row| {
                    let scores: Vec<f64> = weights
                        .iter()
                        .zip(intercepts)
                        .map(|(w, b)| row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + b)
                        .collect();
                    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let exp: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
                    let total: f64 = exp.iter().sum();
                    let mut out = vec![0.0; classes];
                    for (class, e) in order.iter().zip(exp) {
                        out[*class] = e / total;
                    }
                    out
                })
                .collect(),
            Fitted::Tree(tree) => each_row(x, |row| tree.probabilities(row).to_vec()),
            Fitted::Forest(forest) => forest.probabilities_of(x, classes),
            Fitted::ClassTrees(trees) => forest::mean_of_wide(trees, x, classes),
            Fitted::GaussianNb(model) => {
                let (log_probabilities, order) = model.predict_log_proba(x);
                log_probabilities
                    .rows()
                    .into_iter()
                    .map(|row| {
                        let mut out = vec![0.0; classes];
                        for (class, lp) in order.iter().zip(row) {
                            out[**class] = lp.exp();
                        }
                        out
                    })
                    .collect()
            }
            Fitted::Boosted(model) => each_row(x, |row| model.predict(row)),
            Fitted::BinaryTrees(trees) => forest::mean_prediction(trees, x)
                .into_iter()
                .map(|p| vec![1.0 - p, p])
                .collect(),
            Fitted::Prior { probabilities } => vec![probabilities.clone(); x.nrows()],
            Fitted::Linear { .. } | Fitted::Mean { .. } | Fitted::RegressionTrees(_) => {
                vec![vec![0.0; classes]; x.nrows()]
            }
        }
    }

    /// The predicted class of each row: the most probable one (ties to the lower index).
    pub fn classes(&self, x: ArrayView2<f64>, classes: usize) -> Vec<usize> {
        self.probabilities(x, classes)
            .iter()
            .map(|row| super::metrics::most_probable(row))
            .collect()
    }

    /// Regression predictions.
    pub fn values(&self, x: ArrayView2<f64>) -> Vec<f64> {
        match self {
            Fitted::Linear { weights, intercept } => x
                .dot(&Array1::from(weights.clone()))
                .iter()
                .map(|v| v + intercept)
                .collect(),
            Fitted::Mean { value } => vec![*value; x.nrows()],
            Fitted::Boosted(model) => each_row(x, |row| model.predict(row)[0]),
            Fitted::RegressionTrees(trees) => forest::mean_prediction(trees, x),
            _ => vec![f64::NAN; x.nrows()],
        }
    }
}

/// `predict` of every row, rows in parallel.
fn each_row<T: Send>(x: ArrayView2<f64>, predict: impl Fn(&[f64]) -> T + Sync) -> Vec<T> {
    use rayon::prelude::*;
    (0..x.nrows())
        .into_par_iter()
        .map(|r| {
            let row = x.row(r);
            match row.as_slice() {
                Some(slice) => predict(slice),
                None => predict(&row.to_vec()),
            }
        })
        .collect()
}

/// The given rows of a matrix, in order.
pub fn select_rows(x: &Array2<f64>, rows: &[usize]) -> Array2<f64> {
    let mut out = Array2::zeros((rows.len(), x.ncols()));
    for (i, r) in rows.iter().enumerate() {
        out.slice_mut(s![i, ..]).assign(&x.row(*r));
    }
    out
}
