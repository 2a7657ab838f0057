//! L-BFGS with a strong-Wolfe line search, stopping as scipy's L-BFGS-B
//! does under scikit-learn (`gtol` on the largest gradient component,
//! `ftol` on the relative decrease, `maxiter` iterations, ten corrections).

/// When to stop.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub max_iterations: usize,
    /// Stop once every gradient component is at most this.
    pub gtol: f64,
    /// Stop once `(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1)` is at most this.
    pub ftol: f64,
    pub memory: usize,
}

impl Options {
    /// scikit-learn's `LogisticRegression(solver="lbfgs")` settings.
    pub fn scikit_learn(max_iterations: usize, tol: f64) -> Options {
        Options {
            max_iterations,
            gtol: tol,
            ftol: 64.0 * f64::EPSILON,
            memory: 10,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
    pub converged: bool,
    /// The largest gradient component at `x`.
    pub gradient_max: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Minimises `f` (value and gradient) from `x0`.
/// The objective: its value and gradient at a point.
pub type Objective<'a> = &'a dyn Fn(&[f64]) -> (f64, Vec<f64>);

pub fn minimize(f: Objective<'_>, x0: Vec<f64>, options: Options) -> Minimum {
    let mut x = x0;
    let (mut value, mut gradient) = f(&x);
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    let mut iterations = 0;
    let done = |gradient: &[f64], iterations, converged| (max_abs(gradient), iterations, converged);
    let (gradient_max, iterations, converged) = loop {
        if max_abs(&gradient) <= options.gtol {
            break done(&gradient, iterations, true);
        }
        if iterations >= options.max_iterations {
            break done(&gradient, iterations, false);
        }
        let direction = two_loop(&gradient, &history);
        let slope = dot(&direction, &gradient);
        let (direction, slope) = if slope < 0.0 {
            (direction, slope)
        } else {
            // Not a descent direction (curvature lost): start again from −g.
            history.clear();
            let d: Vec<f64> = gradient.iter().map(|g| -g).collect();
            let s = dot(&d, &gradient);
            (d, s)
        };
        let first = match history.is_empty() {
            true => 1.0 / dot(&gradient, &gradient).sqrt().max(1e-300),
            false => 1.0,
        };
        let Some(step) = line_search(f, &x, value, slope, &direction, first) else {
            break done(&gradient, iterations, false);
        };
        iterations += 1;
        let (next, next_value, next_gradient) = step;
        let s: Vec<f64> = next.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next_gradient
            .iter()
            .zip(&gradient)
            .map(|(a, b)| a - b)
            .collect();
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * dot(&y, &y) {
            if history.len() == options.memory {
                history.remove(0);
            }
            history.push((s, y, 1.0 / sy));
        }
        let decrease = (value - next_value) / value.abs().max(next_value.abs()).max(1.0);
        x = next;
        value = next_value;
        gradient = next_gradient;
        // scipy's "relative reduction of f": converged, as scikit-learn reads it.
        if decrease <= options.ftol {
            break done(&gradient, iterations, true);
        }
    };
    Minimum {
        x,
        value,
        iterations,
        converged,
        gradient_max,
    }
}

/// The L-BFGS direction: −H∇f from the stored corrections.
fn two_loop(gradient: &[f64], history: &[(Vec<f64>, Vec<f64>, f64)]) -> Vec<f64> {
    let mut q: Vec<f64> = gradient.iter().map(|g| -g).collect();
    let mut alphas = Vec::with_capacity(history.len());
    for (s, y, rho) in history.iter().rev() {
        let alpha = rho * dot(s, &q);
        for (qi, yi) in q.iter_mut().zip(y) {
            *qi -= alpha * yi;
        }
        alphas.push(alpha);
    }
    if let Some((s, y, _)) = history.last() {
        let gamma = dot(s, y) / dot(y, y);
        for qi in &mut q {
            *qi *= gamma;
        }
    }
    for ((s, y, rho), alpha) in history.iter().zip(alphas.iter().rev()) {
        let beta = rho * dot(y, &q);
        for (qi, si) in q.iter_mut().zip(s) {
            *qi += (alpha - beta) * si;
        }
    }
    q
}

type Point = (Vec<f64>, f64, Vec<f64>);

/// A step along `direction` meeting the strong Wolfe conditions
/// (c₁ = 10⁻⁴, c₂ = 0.9), found by bracketing and bisecting.
fn line_search(
    f: Objective<'_>,
    x: &[f64],
    value: f64,
    slope: f64,
    direction: &[f64],
    first: f64,
) -> Option<Point> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let at = |t: f64| {
        let point: Vec<f64> = x.iter().zip(direction).map(|(a, d)| a + t * d).collect();
        let (v, g) = f(&point);
        let s = dot(&g, direction);
        (point, v, g, s)
    };
    let (mut low, mut high) = (0.0, f64::INFINITY);
    let mut t = first;
    let mut best: Option<Point> = None;
    for _ in 0..50 {
        let (point, v, g, s) = at(t);
        if !v.is_finite() || v > value + C1 * t * slope {
            high = t;
        } else if s < C2 * slope {
            low = t;
            best = Some((point, v, g));
        } else if s > -C2 * slope {
            high = t;
            best = Some((point, v, g));
        } else {
            return Some((point, v, g));
        }
        t = match high.is_finite() {
            true => 0.5 * (low + high),
            false => 2.0 * t,
        };
        if high - low < 1e-16 * high.max(1.0) {
            break;
        }
    }
    // No Wolfe point: take the best sufficient decrease seen, if any.
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_rosenbrock() {
        let f = |x: &[f64]| {
            let (a, b) = (x[0], x[1]);
            let value = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            let gradient = vec![
                -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
                200.0 * (b - a * a),
            ];
            (value, gradient)
        };
        let found = minimize(&f, vec![-1.2, 1.0], Options::scikit_learn(200, 1e-8));
        assert!(found.converged, "{found:?}");
        assert!(
            (found.x[0] - 1.0).abs() < 1e-6 && (found.x[1] - 1.0).abs() < 1e-6,
            "{found:?}"
        );
    }

    #[test]
    fn stops_at_the_iteration_limit_and_says_so() {
        let f = |x: &[f64]| {
            let (a, b) = (x[0], x[1]);
            let value = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
            (
                value,
                vec![
                    -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
                    200.0 * (b - a * a),
                ],
            )
        };
        let found = minimize(&f, vec![-1.2, 1.0], Options::scikit_learn(3, 1e-8));
        assert!(!found.converged);
        assert_eq!(found.iterations, 3);
    }
}
