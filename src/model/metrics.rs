//! Model metrics in f64 with scikit-learn's conventions.
//!
//! Classes are indices into a label list; labels are the union of the true
//! and predicted classes, sorted, as scikit-learn's `unique_labels`. A
//! division by zero counts as 0 (scikit-learn's `zero_division="warn"`).

use serde::{Deserialize, Serialize};

/// `sklearn.metrics.accuracy_score`.
/// The most probable class of a row of probabilities (ties to the lower index).
pub fn most_probable(row: &[f64]) -> usize {
    (0..row.len()).fold(0, |best, k| if row[k] > row[best] { k } else { best })
}

pub fn accuracy(truth: &[usize], predicted: &[usize]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    truth.iter().zip(predicted).filter(|(t, p)| t == p).count() as f64 / truth.len() as f64
}

/// `sklearn.metrics.confusion_matrix`: rows are true classes, columns predicted.
pub fn confusion_matrix(truth: &[usize], predicted: &[usize], classes: usize) -> Vec<Vec<u64>> {
    let mut matrix = vec![vec![0u64; classes]; classes];
    for (t, p) in truth.iter().zip(predicted) {
        if *t < classes && *p < classes {
            matrix[*t][*p] += 1;
        }
    }
    matrix
}

/// The classes scikit-learn averages over: those seen in truth or predictions.
fn present(truth: &[usize], predicted: &[usize], classes: usize) -> Vec<usize> {
    let mut seen = vec![false; classes];
    for c in truth.iter().chain(predicted) {
        if *c < classes {
            seen[*c] = true;
        }
    }
    (0..classes).filter(|c| seen[*c]).collect()
}

/// `sklearn.metrics.balanced_accuracy_score`: mean recall over the classes
/// that occur in the truth.
pub fn balanced_accuracy(truth: &[usize], predicted: &[usize], classes: usize) -> f64 {
    let matrix = confusion_matrix(truth, predicted, classes);
    let recalls: Vec<f64> = (0..classes)
        .filter_map(|c| {
            let support: u64 = matrix[c].iter().sum();
            (support > 0).then(|| matrix[c][c] as f64 / support as f64)
        })
        .collect();
    if recalls.is_empty() {
        0.0
    } else {
        recalls.iter().sum::<f64>() / recalls.len() as f64
    }
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

pub fn class_scores(truth: &[usize], predicted: &[usize], class: usize) -> ClassScores {
    let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
    for (t, p) in truth.iter().zip(predicted) {
        match (*t == class, *p == class) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => {}
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    ClassScores {
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        // scikit-learn's F-beta with beta = 1: 2·tp / (2·tp + fp + fn).
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
        support: tp + fn_,
    }
}

/// How per-class scores are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    Macro,
    Weighted,
}

/// (precision, recall, F1) averaged as scikit-learn's `average=`.
pub fn averaged_scores(
    truth: &[usize],
    predicted: &[usize],
    classes: usize,
    average: Average,
) -> (f64, f64, f64) {
    let labels = present(truth, predicted, classes);
    if labels.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let scores: Vec<ClassScores> = labels
        .iter()
        .map(|c| class_scores(truth, predicted, *c))
        .collect();
    let weights: Vec<f64> = match average {
        Average::Macro => vec![1.0; scores.len()],
        Average::Weighted => scores.iter().map(|s| s.support as f64).collect(),
    };
    let total: f64 = weights.iter().sum();
    if total == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let mean = |f: fn(&ClassScores) -> f64| {
        scores
            .iter()
            .zip(&weights)
            .map(|(s, w)| f(s) * w)
            .sum::<f64>()
            / total
    };
    (mean(|s| s.precision), mean(|s| s.recall), mean(|s| s.f1))
}

/// `sklearn.metrics.roc_auc_score` for one class against the rest, from that
/// class's scores; ties count half (the trapezoidal ROC area).
pub fn roc_auc(is_positive: &[bool], scores: &[f64]) -> Option<f64> {
    let pairs: Vec<(f64, bool)> = scores
        .iter()
        .copied()
        .zip(is_positive.iter().copied())
        .collect();
    crate::data::stats::roc_auc(&pairs)
}

/// `roc_auc_score(..., multi_class="ovr", average="macro")`.
pub fn roc_auc_ovr_macro(
    truth: &[usize],
    probabilities: &[Vec<f64>],
    classes: usize,
) -> Option<f64> {
    let mut total = 0.0;
    for class in 0..classes {
        let positive: Vec<bool> = truth.iter().map(|t| *t == class).collect();
        let scores: Vec<f64> = probabilities.iter().map(|row| row[class]).collect();
        total += roc_auc(&positive, &scores)?;
    }
    Some(total / classes as f64)
}

/// `sklearn.metrics.average_precision_score`: Σ (Rₙ − Rₙ₋₁)·Pₙ over the
/// distinct score thresholds, highest first.
pub fn average_precision(is_positive: &[bool], scores: &[f64]) -> Option<f64> {
    let positives = is_positive.iter().filter(|p| **p).count() as f64;
    if positives == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    let (mut ap, mut previous_recall) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let threshold = scores[order[i]];
        while i < order.len() && scores[order[i]] == threshold {
            if is_positive[order[i]] {
                tp += 1.0
            } else {
                fp += 1.0
            }
            i += 1;
        }
        let recall = tp / positives;
        ap += (recall - previous_recall) * (tp / (tp + fp));
        previous_recall = recall;
    }
    Some(ap)
}

/// `sklearn.metrics.log_loss`: probabilities clipped to [ε, 1 − ε], ε the
/// f64 machine epsilon.
pub fn log_loss(truth: &[usize], probabilities: &[Vec<f64>]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let eps = f64::EPSILON;
    let total: f64 = truth
        .iter()
        .zip(probabilities)
        .map(|(t, row)| -row[*t].clamp(eps, 1.0 - eps).ln())
        .sum();
    total / truth.len() as f64
}

/// `sklearn.metrics.brier_score_loss` for the positive class.
pub fn brier(is_positive: &[bool], probability: &[f64]) -> f64 {
    if is_positive.is_empty() {
        return 0.0;
    }
    let total: f64 = is_positive
        .iter()
        .zip(probability)
        .map(|(y, p)| {
            let y = if *y { 1.0 } else { 0.0 };
            (p - y) * (p - y)
        })
        .sum();
    total / is_positive.len() as f64
}

/// One reliability bin of `sklearn.calibration.calibration_curve` (uniform bins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub count: u64,
    /// Mean predicted probability in the bin.
    pub mean_predicted: f64,
    /// Share of positives in the bin.
    pub fraction_positive: f64,
}

pub fn calibration(is_positive: &[bool], probability: &[f64], bins: usize) -> Vec<CalibrationBin> {
    let edges: Vec<f64> = (0..=bins).map(|i| i as f64 / bins as f64).collect();
    let mut sums = vec![(0u64, 0.0f64, 0u64); bins];
    for (y, p) in is_positive.iter().zip(probability) {
        // numpy.searchsorted(edges[1:-1], p, side="left")
        let bin = edges[1..bins].partition_point(|edge| edge < p);
        sums[bin].0 += 1;
        sums[bin].1 += p;
        sums[bin].2 += *y as u64;
    }
    sums.iter()
        .enumerate()
        .filter(|(_, (count, _, _))| *count > 0)
        .map(|(i, (count, sum, positives))| CalibrationBin {
            lower: edges[i],
            upper: edges[i + 1],
            count: *count,
            mean_predicted: sum / *count as f64,
            fraction_positive: *positives as f64 / *count as f64,
        })
        .collect()
}

/// `sklearn.metrics.root_mean_squared_error`.
pub fn rmse(truth: &[f64], predicted: &[f64]) -> f64 {
    mean(
        truth.iter().zip(predicted).map(|(t, p)| (t - p) * (t - p)),
        truth.len(),
    )
    .sqrt()
}

/// `sklearn.metrics.mean_absolute_error`.
pub fn mae(truth: &[f64], predicted: &[f64]) -> f64 {
    mean(
        truth.iter().zip(predicted).map(|(t, p)| (t - p).abs()),
        truth.len(),
    )
}

/// `sklearn.metrics.r2_score` (with `force_finite`: a constant truth scores 1
/// when predicted exactly, else 0).
pub fn r2(truth: &[f64], predicted: &[f64]) -> f64 {
    let average = mean(truth.iter().copied(), truth.len());
    let residual: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p) * (t - p))
        .sum();
    let total: f64 = truth.iter().map(|t| (t - average) * (t - average)).sum();
    if total == 0.0 {
        return if residual == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - residual / total
}

/// `sklearn.metrics.mean_absolute_percentage_error`: |t − p| / max(|t|, ε).
pub fn mape(truth: &[f64], predicted: &[f64]) -> f64 {
    mean(
        truth
            .iter()
            .zip(predicted)
            .map(|(t, p)| (t - p).abs() / t.abs().max(f64::EPSILON)),
        truth.len(),
    )
}

fn mean(values: impl Iterator<Item = f64>, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        values.sum::<f64>() / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_scores_by_hand() {
        let truth = [1, 1, 0, 0, 1];
        let predicted = [1, 0, 0, 1, 1];
        assert_eq!(accuracy(&truth, &predicted), 0.6);
        let s = class_scores(&truth, &predicted, 1);
        assert_eq!((s.precision, s.recall), (2.0 / 3.0, 2.0 / 3.0));
        assert_eq!(
            confusion_matrix(&truth, &predicted, 2),
            vec![vec![1, 1], vec![1, 2]]
        );
    }

    #[test]
    fn absent_class_scores_zero_and_r2_of_a_constant() {
        let s = class_scores(&[0, 0], &[0, 0], 1);
        assert_eq!((s.precision, s.recall, s.f1), (0.0, 0.0, 0.0));
        assert_eq!(r2(&[3.0, 3.0], &[3.0, 3.0]), 1.0);
        assert_eq!(r2(&[3.0, 3.0], &[2.0, 3.0]), 0.0);
    }

    #[test]
    fn calibration_bins_follow_searchsorted_left() {
        let bins = calibration(&[true, false, true], &[0.1, 0.1, 0.95], 10);
        assert_eq!(bins.len(), 2);
        assert_eq!(bins[0].count, 2);
        assert_eq!((bins[0].lower, bins[0].upper), (0.0, 0.1));
        assert_eq!(bins[1].fraction_positive, 1.0);
    }
}
