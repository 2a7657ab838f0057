//! The metrics of one set of predictions, named as scikit-learn names them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::metrics::{self, Average, CalibrationBin};
use super::spec::Task;

pub use crate::lifecycle::metric::{format_metric, greater_is_better};

/// A change in a metric, with its sign.
pub fn format_change(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", format_metric(v))
    } else {
        format_metric(v)
    }
}

/// Every metric a task reports.
pub fn metric_names(task: Task) -> &'static [&'static str] {
    match task {
        Task::Binary => &[
            "accuracy",
            "balanced_accuracy",
            "precision",
            "recall",
            "f1",
            "precision_macro",
            "recall_macro",
            "f1_macro",
            "precision_weighted",
            "recall_weighted",
            "f1_weighted",
            "roc_auc",
            "average_precision",
            "log_loss",
            "brier",
        ],
        Task::Multiclass => &[
            "accuracy",
            "balanced_accuracy",
            "precision_macro",
            "recall_macro",
            "f1_macro",
            "precision_weighted",
            "recall_weighted",
            "f1_weighted",
            "roc_auc_ovr",
            "log_loss",
        ],
        Task::Regression => &["rmse", "mae", "r2", "mape"],
    }
}

/// Metrics, plus the tables that go with classification.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    pub metrics: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confusion_matrix: Vec<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibration: Vec<CalibrationBin>,
    /// Binary classification: the ROC and precision-recall curves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curves: Option<super::curves::Curves>,
}

/// Classification metrics from class indices and probabilities; `positive`
/// is the class scored by the binary metrics.
pub fn classification(
    truth: &[usize],
    probabilities: &[Vec<f64>],
    predicted: &[usize],
    classes: usize,
    positive: usize,
) -> Evaluation {
    let mut m = BTreeMap::new();
    m.insert("accuracy".to_string(), metrics::accuracy(truth, predicted));
    m.insert(
        "balanced_accuracy".into(),
        metrics::balanced_accuracy(truth, predicted, classes),
    );
    for (name, average) in [("macro", Average::Macro), ("weighted", Average::Weighted)] {
        let (p, r, f) = metrics::averaged_scores(truth, predicted, classes, average);
        m.insert(format!("precision_{name}"), p);
        m.insert(format!("recall_{name}"), r);
        m.insert(format!("f1_{name}"), f);
    }
    m.insert("log_loss".into(), metrics::log_loss(truth, probabilities));
    let mut calibration = Vec::new();
    let mut curves = None;
    if classes == 2 {
        let scores = metrics::class_scores(truth, predicted, positive);
        m.insert("precision".into(), scores.precision);
        m.insert("recall".into(), scores.recall);
        m.insert("f1".into(), scores.f1);
        let is_positive: Vec<bool> = truth.iter().map(|t| *t == positive).collect();
        let score: Vec<f64> = probabilities.iter().map(|row| row[positive]).collect();
        if let Some(auc) = metrics::roc_auc(&is_positive, &score) {
            m.insert("roc_auc".into(), auc);
        }
        if let Some(ap) = metrics::average_precision(&is_positive, &score) {
            m.insert("average_precision".into(), ap);
        }
        m.insert("brier".into(), metrics::brier(&is_positive, &score));
        calibration = metrics::calibration(&is_positive, &score, 10);
        curves = super::curves::curves(&is_positive, &score);
    } else if let Some(auc) = metrics::roc_auc_ovr_macro(truth, probabilities, classes) {
        m.insert("roc_auc_ovr".into(), auc);
    }
    Evaluation {
        metrics: m,
        confusion_matrix: metrics::confusion_matrix(truth, predicted, classes),
        calibration,
        curves,
    }
}

pub fn regression(truth: &[f64], predicted: &[f64]) -> Evaluation {
    let mut m = BTreeMap::new();
    m.insert("rmse".to_string(), metrics::rmse(truth, predicted));
    m.insert("mae".into(), metrics::mae(truth, predicted));
    m.insert("r2".into(), metrics::r2(truth, predicted));
    m.insert("mape".into(), metrics::mape(truth, predicted));
    Evaluation {
        metrics: m,
        ..Evaluation::default()
    }
}
