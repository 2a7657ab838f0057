//! A prediction problem: the encoded target restricted to some rows, ready
//! to fit a model on or to score one against.

use std::collections::BTreeMap;

use ndarray::{Array1, Array2};

use super::ModelError;
use super::algorithms::{self, Fitted};
use super::evaluation::{self, Evaluation};
use super::metrics;
use super::spec::Algorithm;

/// The target, encoded.
pub(super) enum Target {
    Classes {
        index: Vec<Option<usize>>,
        labels: Vec<String>,
        positive: usize,
    },
    Values(Vec<Option<f64>>),
}

/// The target restricted to some rows, ready to fit or score.
#[derive(Clone)]
pub struct Problem {
    /// Weigh classes by n / (classes · their rows) when fitting.
    pub balanced: bool,
    classes: usize,
    positive: usize,
    labels: Option<Array1<usize>>,
    values: Option<Array1<f64>>,
}

impl Problem {
    pub(super) fn new(target: &Target, rows: &[usize]) -> Problem {
        match target {
            Target::Classes {
                index,
                labels,
                positive,
            } => Problem {
                balanced: false,
                classes: labels.len(),
                positive: *positive,
                labels: Some(rows.iter().map(|r| index[*r].unwrap_or(0)).collect()),
                values: None,
            },
            Target::Values(values) => Problem {
                balanced: false,
                classes: 0,
                positive: 0,
                labels: None,
                values: Some(
                    rows.iter()
                        .map(|r| values[*r].unwrap_or(f64::NAN))
                        .collect(),
                ),
            },
        }
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The same problem on a subset of its rows (positions within it).
    pub fn subset(&self, positions: &[usize]) -> Problem {
        Problem {
            balanced: self.balanced,
            classes: self.classes,
            positive: self.positive,
            labels: self
                .labels
                .as_ref()
                .map(|l| positions.iter().map(|p| l[*p]).collect()),
            values: self
                .values
                .as_ref()
                .map(|v| positions.iter().map(|p| v[*p]).collect()),
        }
    }

    /// Class index per row, for stratified folds.
    pub fn strata(&self) -> Option<&Array1<usize>> {
        self.labels.as_ref()
    }

    pub fn fit(
        &self,
        algorithm: Algorithm,
        params: &BTreeMap<String, f64>,
        x: &Array2<f64>,
    ) -> Result<(Fitted, algorithms::TrainingNote), ModelError> {
        match (&self.labels, &self.values) {
            (Some(labels), _) => {
                let weights = self
                    .balanced
                    .then(|| balanced_weights(labels, self.classes));
                let fit = algorithms::Classification {
                    labels,
                    classes: self.classes,
                    weights: weights.as_deref(),
                };
                algorithms::fit_classifier(algorithm, params, x, fit)
            }
            (_, Some(values)) => algorithms::fit_regressor(algorithm, params, x, values),
            _ => Err(ModelError::new("no target")),
        }
    }

    /// The dummy baseline fitted on these rows.
    pub fn baseline(&self) -> Fitted {
        match (&self.labels, &self.values) {
            (Some(labels), _) => {
                let mut counts = vec![0.0; self.classes];
                for l in labels {
                    counts[*l] += 1.0;
                }
                let total: f64 = counts.iter().sum::<f64>().max(1.0);
                Fitted::Prior {
                    probabilities: counts.iter().map(|c| c / total).collect(),
                }
            }
            (_, Some(values)) => Fitted::Mean {
                value: values.mean().unwrap_or(0.0),
            },
            _ => Fitted::Mean { value: 0.0 },
        }
    }

    pub fn evaluate(&self, fitted: &Fitted, x: &Array2<f64>) -> Evaluation {
        self.evaluate_scores(&self.score(fitted, x))
    }

    /// The model's output for each row: class probabilities, or one value.
    pub fn score(&self, fitted: &Fitted, x: &Array2<f64>) -> Vec<Vec<f64>> {
        match self.labels {
            Some(_) => fitted.probabilities(x.view(), self.classes),
            None => fitted
                .values(x.view())
                .into_iter()
                .map(|v| vec![v])
                .collect(),
        }
    }

    /// The metrics of outputs `score` gave for these rows.
    /// Each row's error: 1 for a wrong class and 0 for a right one, or
    /// the absolute error of a value.
    pub fn errors(&self, scores: &[Vec<f64>]) -> Vec<f64> {
        match (&self.labels, &self.values) {
            (Some(labels), _) => labels
                .iter()
                .zip(scores)
                .map(|(l, s)| (metrics::most_probable(s) != *l) as u8 as f64)
                .collect(),
            (_, Some(values)) => values
                .iter()
                .zip(scores)
                .map(|(v, s)| (s[0] - v).abs())
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn evaluate_scores(&self, scores: &[Vec<f64>]) -> Evaluation {
        match (&self.labels, &self.values) {
            (Some(labels), _) => {
                let predicted: Vec<usize> =
                    scores.iter().map(|r| metrics::most_probable(r)).collect();
                evaluation::classification(
                    labels.as_slice().unwrap_or(&labels.to_vec()),
                    scores,
                    &predicted,
                    self.classes,
                    self.positive,
                )
            }
            (_, Some(values)) => {
                let predicted: Vec<f64> = scores.iter().map(|s| s[0]).collect();
                evaluation::regression(&values.to_vec(), &predicted)
            }
            _ => Evaluation::default(),
        }
    }
}

/// scikit-learn's `compute_class_weight("balanced")`: n / (classes · n_c).
fn balanced_weights(labels: &Array1<usize>, classes: usize) -> Vec<f64> {
    let mut counts = vec![0usize; classes];
    for l in labels {
        counts[*l] += 1;
    }
    let present = counts.iter().filter(|c| **c > 0).count().max(1) as f64;
    counts
        .iter()
        .map(|c| match c {
            0 => 0.0,
            c => labels.len() as f64 / (present * *c as f64),
        })
        .collect()
}
