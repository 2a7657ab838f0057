//! Logistic regression, binary and multinomial, on scikit-learn's
//! objective: the mean log loss plus `‖W‖² / (2·C·n)` (the intercepts not
//! penalised; with class weights, the weighted mean and `n` the sum of the
//! weights, as scikit-learn's `class_weight`), minimised by L-BFGS with its stopping rule. The matrix is
//! read through [`Design`], so one-hot columns cost their non-zeros only,
//! and each product runs on every core.

use rayon::prelude::*;

use super::design::Design;
use super::lbfgs::{self, Minimum, Options};

/// The fitted weights: `cols × k` (row-major) and `k` intercepts, with
/// `k = 1` for a binary problem (the weights of class 1).
pub struct Solution {
    pub weights: Vec<f64>,
    pub intercepts: Vec<f64>,
    pub minimum: Minimum,
}

/// Fits on `x` and class indices `y` in `0..classes`, each class weighed
/// by `class_weights` (1 when `None`).
pub fn fit(
    x: &Design,
    y: &[usize],
    classes: usize,
    class_weights: Option<&[f64]>,
    c: f64,
    options: Options,
) -> Solution {
    let k = if classes == 2 { 1 } else { classes };
    let start = vec![0.0; (x.cols() + 1) * k];
    let ones = vec![1.0; classes];
    let weights = Weights(class_weights.unwrap_or(&ones));
    let minimum = lbfgs::minimize(
        &|theta| objective(x, y, weights, k, c, theta),
        start,
        options,
    );
    let (weights, intercepts) = minimum.x.split_at(x.cols() * k);
    Solution {
        weights: weights.to_vec(),
        intercepts: intercepts.to_vec(),
        minimum: minimum.clone(),
    }
}

/// Each class's weight.
#[derive(Clone, Copy)]
struct Weights<'a>(&'a [f64]);

/// The objective and its gradient at `theta` = weights (`cols × k`), then
/// the `k` intercepts.
fn objective(
    x: &Design,
    y: &[usize],
    weights: Weights<'_>,
    k: usize,
    c: f64,
    theta: &[f64],
) -> (f64, Vec<f64>) {
    let d = x.cols();
    let n = y
        .iter()
        .map(|l| weights.0[*l])
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let (w, b) = theta.split_at(d * k);
    let z = x.times(w, k, b);
    let (loss, residual) = loss_and_residual(&z, y, weights, k);
    let mut gradient = x.transpose_times(&residual, k);
    let mut intercepts = vec![0.0; k];
    for row in residual.chunks(k) {
        for (s, r) in intercepts.iter_mut().zip(row) {
            *s += r;
        }
    }
    let penalty = 1.0 / (c * n);
    for (g, wi) in gradient.iter_mut().zip(w) {
        *g = *g / n + penalty * wi;
    }
    gradient.extend(intercepts.iter().map(|s| s / n));
    let norm: f64 = w.iter().map(|v| v * v).sum();
    (loss / n + 0.5 * penalty * norm, gradient)
}

/// The summed log loss and each row's residual (predicted − observed),
/// in parallel over blocks of rows.
fn loss_and_residual(z: &[f64], y: &[usize], weights: Weights<'_>, k: usize) -> (f64, Vec<f64>) {
    let mut residual = vec![0.0; z.len()];
    let block = 1 << 14;
    let loss: f64 = residual
        .par_chunks_mut(block * k)
        .zip(z.par_chunks(block * k))
        .zip(y.par_chunks(block))
        .map(|((r, z), y)| match k {
            1 => binary(z, y, weights, r),
            _ => multinomial(z, y, weights, k, r),
        })
        .sum();
    (loss, residual)
}

fn binary(z: &[f64], y: &[usize], weights: Weights<'_>, residual: &mut [f64]) -> f64 {
    let mut loss = 0.0;
    for ((zi, yi), ri) in z.iter().zip(y).zip(residual) {
        let positive = *yi == 1;
        let weight = weights.0[*yi];
        // log(1 + e^z) − y·z, without overflow.
        loss +=
            weight * (zi.max(0.0) + (-zi.abs()).exp().ln_1p() - if positive { *zi } else { 0.0 });
        *ri = weight * (sigmoid(*zi) - if positive { 1.0 } else { 0.0 });
    }
    loss
}

fn multinomial(
    z: &[f64],
    y: &[usize],
    weights: Weights<'_>,
    k: usize,
    residual: &mut [f64],
) -> f64 {
    let mut loss = 0.0;
    for ((row, yi), r) in z.chunks(k).zip(y).zip(residual.chunks_mut(k)) {
        let weight = weights.0[*yi];
        let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = row.iter().map(|v| (v - top).exp()).sum();
        let log_total = top + total.ln();
        loss += weight * (log_total - row[*yi]);
        for (class, (ri, zi)) in r.iter_mut().zip(row).enumerate() {
            *ri = weight * ((zi - log_total).exp() - if class == *yi { 1.0 } else { 0.0 });
        }
    }
    loss
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn problem() -> (Design, Vec<usize>) {
        let x = Array2::from_shape_fn((300, 3), |(i, j)| ((i * (j + 2)) as f64 * 0.13).sin());
        let y: Vec<usize> = (0..300).map(|i| (i * 7 % 11) % 3).collect();
        (Design::new(x.view()), y)
    }

    /// The gradient is the objective's, class weights included: central
    /// differences agree.
    #[test]
    fn the_gradient_is_the_objectives() {
        let (design, y) = problem();
        for k in [1, 3] {
            let labels: Vec<usize> = y.iter().map(|v| if k == 1 { v % 2 } else { *v }).collect();
            let theta: Vec<f64> = (0..4 * k).map(|i| (i as f64 * 0.3).cos()).collect();
            let w = Weights(&[0.5, 2.0, 1.3]);
            let (_, gradient) = objective(&design, &labels, w, k, 0.7, &theta);
            for i in 0..theta.len() {
                let mut up = theta.clone();
                let mut down = theta.clone();
                up[i] += 1e-6;
                down[i] -= 1e-6;
                let numeric = (objective(&design, &labels, w, k, 0.7, &up).0
                    - objective(&design, &labels, w, k, 0.7, &down).0)
                    / 2e-6;
                assert!(
                    (numeric - gradient[i]).abs() < 1e-7,
                    "k {k} θ{i}: {numeric} vs {}",
                    gradient[i]
                );
            }
        }
    }

    #[test]
    fn it_converges_to_a_stationary_point() {
        let (design, y) = problem();
        for classes in [2, 3] {
            let labels: Vec<usize> = y.iter().map(|v| v % classes).collect();
            let solution = fit(
                &design,
                &labels,
                classes,
                None,
                0.7,
                Options::scikit_learn(100, 1e-10),
            );
            assert!(solution.minimum.converged, "{:?}", solution.minimum);
        }
    }
}
