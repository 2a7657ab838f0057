//! The ROC and precision-recall curves of a binary classifier, sampled on
//! a fixed grid so a report can draw them (Mermaid spaces a line's points
//! evenly along its axis): the true-positive rate at false-positive rates
//! 0, 0.05, …, 1 (linear between the curve's points, as `numpy.interp` on
//! scikit-learn's `roc_curve`), and the interpolated precision (the best
//! precision at that recall or more) at recalls 0, 0.05, …, 1.

use serde::{Deserialize, Serialize};

/// Points on each curve's grid.
pub const GRID: usize = 21;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// True-positive rate at false-positive rate i / (GRID − 1).
    pub roc: Vec<f64>,
    /// Interpolated precision at recall i / (GRID − 1).
    pub precision_recall: Vec<f64>,
}

/// The curves; `None` when one class is absent (neither curve exists).
pub fn curves(is_positive: &[bool], score: &[f64]) -> Option<Curves> {
    let positives = is_positive.iter().filter(|p| **p).count() as f64;
    let negatives = is_positive.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|a, b| score[*b].total_cmp(&score[*a]));
    // One point per distinct threshold, highest first: (fpr, tpr, precision).
    let mut points = vec![(0.0, 0.0, 1.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (i, &row) in order.iter().enumerate() {
        if is_positive[row] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_threshold = order
            .get(i + 1)
            .is_none_or(|next| score[*next] != score[row]);
        if last_of_threshold {
            points.push((fp / negatives, tp / positives, tp / (tp + fp)));
        }
    }
    let grid = |i: usize| i as f64 / (GRID - 1) as f64;
    let roc = (0..GRID).map(|i| tpr_at(&points, grid(i))).collect();
    let precision_recall = (0..GRID)
        .map(|i| {
            // The first point (recall 0, precision 1) is scikit-learn's too.
            points
                .iter()
                .filter(|(_, recall, _)| *recall >= grid(i) - 1e-12)
                .map(|(_, _, precision)| *precision)
                .fold(0.0, f64::max)
        })
        .collect();
    Some(Curves {
        roc,
        precision_recall,
    })
}

/// The ROC curve's true-positive rate at false-positive rate `at`.
fn tpr_at(points: &[(f64, f64, f64)], at: f64) -> f64 {
    let last = points
        .iter()
        .rposition(|(fpr, _, _)| *fpr <= at + 1e-12)
        .unwrap_or(0);
    let (f0, t0, _) = points[last];
    match points.get(last + 1) {
        Some(&(f1, t1, _)) if f1 > f0 => t0 + (t1 - t0) * (at - f0) / (f1 - f0),
        _ => t0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curves_follow_the_points_between_thresholds() {
        // ROC points: (0,0) (0,.5) (.5,.5) (.5,1) (1,1).
        let curves = curves(&[true, false, true, false], &[0.9, 0.8, 0.7, 0.6]).unwrap();
        assert_eq!(curves.roc.len(), GRID);
        assert_eq!(curves.roc[0], 0.5);
        assert_eq!(curves.roc[5], 0.5, "fpr 0.25");
        assert_eq!(curves.roc[10], 1.0, "fpr 0.5");
        assert_eq!(curves.roc[20], 1.0);
        // Precision 1 up to recall .5, then 2/3 up to recall 1.
        assert_eq!(curves.precision_recall[10], 1.0);
        assert!((curves.precision_recall[20] - 2.0 / 3.0).abs() < 1e-12);
        assert!(super::curves(&[true, true], &[0.1, 0.2]).is_none());
    }

    #[test]
    fn tied_scores_are_one_threshold() {
        // Both rows at one score: a straight line from (0,0) to (1,1).
        let curves = curves(&[true, false], &[0.5, 0.5]).unwrap();
        assert!((curves.roc[10] - 0.5).abs() < 1e-12, "{:?}", curves.roc);
    }
}
