//! `models:` in `.github/dslp.yml`: what to train, how to judge it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::data::spec::{Fraction, RepoPath};

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The dataset to train on: a name under `datasets:`.
    pub dataset: String,
    pub task: Task,
    /// The label column.
    pub target: String,
    /// For binary tasks, the label scored as positive; by default the larger
    /// of the two labels (scikit-learn's `pos_label=1` for 0/1 labels).
    #[serde(default)]
    pub positive: Option<String>,
    /// The feature columns; by default every column but the target, the split
    /// column and those in `exclude`.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Standardise numeric features (mean 0, variance 1 on the training split).
    #[serde(default = "yes")]
    pub standardize: bool,
    /// Text columns are one-hot encoded; more levels than this is an error.
    #[serde(default = "default_max_levels")]
    pub max_levels: usize,
    /// The learning algorithm; absent when `metrics_file` is given.
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
    /// `balanced`: weigh each class by n / (classes · its rows), as
    /// scikit-learn's `class_weight="balanced"` (logistic regression and
    /// gradient boosting).
    // Left out when absent, so existing configs keep their hash (and cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_weight: Option<ClassWeight>,
    /// The algorithm's parameters (README: Model evidence lists them; a
    /// parameter the algorithm does not take is a config error).
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// How rows are split into training and test parts.
    #[serde(default)]
    pub split: SplitChoice,
    /// Also report k-fold cross-validation on the training split.
    #[serde(default)]
    pub cv: Option<u32>,
    /// A search over the parameters, scored by k-fold cross-validation on
    /// the training split.
    #[serde(default)]
    pub tune: Option<TuneSpec>,
    /// Metrics from the team's own pipeline (JSON, nested keys allowed),
    /// instead of training here.
    #[serde(default)]
    pub metrics_file: Option<RepoPath>,
    /// The metrics to report; by default every metric of the task.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Report every metric again per value of these columns.
    #[serde(default)]
    pub slices: Vec<String>,
    /// Conditions for a GO, by metric name; `data_tests: pass` requires the
    /// data tests to pass.
    #[serde(default)]
    pub gates: BTreeMap<String, Gate>,
    /// The metric the Ask's leaderboard ranks by; by default the first gate's.
    #[serde(default)]
    pub primary_metric: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    Balanced,
}

impl Algorithm {
    /// Whether it can weigh classes (`class_weight`).
    pub fn takes_class_weights(self) -> bool {
        matches!(
            self,
            Algorithm::LogisticRegression
                | Algorithm::GradientBoosting
                | Algorithm::DecisionTree
                | Algorithm::RandomForest
        )
    }
}

fn yes() -> bool {
    true
}

fn default_max_levels() -> usize {
    1000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Binary,
    Multiclass,
    Regression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Parameters: c (inverse regularisation, scikit-learn's C; default 1), max_iterations (100), tolerance (1e-4).
    LogisticRegression,
    /// Parameters: max_depth (unlimited), min_samples_split (2), min_samples_leaf (1).
    DecisionTree,
    /// Parameters: var_smoothing (1e-9).
    GaussianNb,
    /// Parameters: n_estimators (100), max_depth (unlimited), min_samples_split (2), min_samples_leaf (1), max_features (0 = √features), seed (0).
    RandomForest,
    /// Ordinary least squares. No parameters.
    LinearRegression,
    /// Parameters: alpha (1).
    Ridge,
    /// Parameters: alpha (1), l1_ratio (0.5), max_iterations (1000), tolerance (1e-4).
    ElasticNet,
    /// Histogram gradient boosting (scikit-learn's `HistGradientBoosting*`).
    /// Parameters: learning_rate (0.1), max_iter (100), max_leaf_nodes (31),
    /// max_depth (unlimited), min_samples_leaf (20), l2_regularization (0),
    /// max_bins (255), early_stopping (-1 = above 10 000 rows; 0 off, 1 on),
    /// validation_fraction (0.1), n_iter_no_change (10), tol (1e-7), seed (0).
    GradientBoosting,
}

impl Algorithm {
    /// The parameters it takes, with their defaults.
    pub fn defaults(self) -> &'static [(&'static str, f64)] {
        match self {
            Algorithm::LogisticRegression => {
                &[("c", 1.0), ("max_iterations", 100.0), ("tolerance", 1e-4)]
            }
            Algorithm::DecisionTree => &[
                ("max_depth", 0.0),
                ("min_samples_split", 2.0),
                ("min_samples_leaf", 1.0),
            ],
            Algorithm::GaussianNb => &[("var_smoothing", 1e-9)],
            Algorithm::RandomForest => &[
                ("n_estimators", 100.0),
                ("max_depth", 0.0),
                ("min_samples_split", 2.0),
                ("min_samples_leaf", 1.0),
                ("max_features", 0.0),
                ("seed", 0.0),
            ],
            Algorithm::LinearRegression => &[],
            Algorithm::Ridge => &[("alpha", 1.0)],
            Algorithm::ElasticNet => &[
                ("alpha", 1.0),
                ("l1_ratio", 0.5),
                ("max_iterations", 1000.0),
                ("tolerance", 1e-4),
            ],
            Algorithm::GradientBoosting => &[
                ("learning_rate", 0.1),
                ("max_iter", 100.0),
                ("max_leaf_nodes", 31.0),
                ("max_depth", 0.0),
                ("min_samples_leaf", 20.0),
                ("l2_regularization", 0.0),
                ("max_bins", 255.0),
                ("early_stopping", -1.0),
                ("validation_fraction", 0.1),
                ("n_iter_no_change", 10.0),
                ("tol", 1e-7),
                ("seed", 0.0),
            ],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::LogisticRegression => "logistic_regression",
            Algorithm::DecisionTree => "decision_tree",
            Algorithm::GaussianNb => "gaussian_nb",
            Algorithm::RandomForest => "random_forest",
            Algorithm::LinearRegression => "linear_regression",
            Algorithm::Ridge => "ridge",
            Algorithm::ElasticNet => "elastic_net",
            Algorithm::GradientBoosting => "gradient_boosting",
        }
    }

    pub fn supports(self, task: Task) -> bool {
        match self {
            Algorithm::DecisionTree | Algorithm::RandomForest | Algorithm::GradientBoosting => true,
            Algorithm::LogisticRegression | Algorithm::GaussianNb => task != Task::Regression,
            Algorithm::LinearRegression | Algorithm::Ridge | Algorithm::ElasticNet => {
                task == Task::Regression
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SplitChoice {
    /// `dataset`: the dataset's declared split.
    Declared(DeclaredSplit),
    Holdout {
        /// The share of rows held out for testing.
        holdout: Fraction,
        #[serde(default)]
        seed: u64,
        /// Keep each class's share in both parts (classification only).
        #[serde(default = "yes")]
        stratify: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeclaredSplit {
    Dataset,
}

impl Default for SplitChoice {
    fn default() -> Self {
        SplitChoice::Holdout {
            holdout: Fraction(0.2),
            seed: 42,
            stratify: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TuneSpec {
    /// Every combination of these values.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<f64>>,
    /// Ranges sampled at random, `budget` candidates in all.
    #[serde(default)]
    pub random: BTreeMap<String, Range>,
    #[serde(default)]
    pub budget: Option<u32>,
    /// The cross-validation metric to maximise (or minimise, for losses).
    pub scoring: String,
    #[serde(default = "default_folds")]
    pub folds: u32,
    #[serde(default)]
    pub seed: u64,
}

fn default_folds() -> u32 {
    5
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub min: f64,
    pub max: f64,
    /// Sample on a log scale (for regularisation strengths).
    #[serde(default)]
    pub log: bool,
    /// Round to whole numbers (for depths and counts).
    #[serde(default)]
    pub integer: bool,
}

/// A condition on one metric, in MLflow's threshold terms.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Gate {
    /// `data_tests: pass`.
    Pass(PassGate),
    Metric(MetricGate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PassGate {
    Pass,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricGate {
    /// A floor (or, when lower is better, a ceiling) on the value.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// The least improvement over the base branch, in the metric's units.
    #[serde(default)]
    pub min_absolute_change: Option<f64>,
    /// The least improvement over the base branch, as a share of its value.
    #[serde(default)]
    pub min_relative_change: Option<f64>,
    /// The model must beat the dummy baseline on this metric.
    #[serde(default)]
    pub beats_baseline: bool,
    /// By default known from the metric (losses and errors: lower is better).
    #[serde(default)]
    pub greater_is_better: Option<bool>,
}
