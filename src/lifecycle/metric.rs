//! A metric's name and how it reads: whether higher is better, and how a
//! report shows its value. The Ask's Success Criteria, the gates, the
//! reports and the leaderboard all read metrics the same way.

/// Names of metrics where a lower value is better: losses and errors.
const LOWER_IS_BETTER: [&str; 8] = [
    "loss", "error", "brier", "rmse", "mae", "mape", "mse", "latency",
];

/// Whether a higher value of `metric` is better. The last part of a dotted
/// name decides (`test.log_loss` is a loss); a gate's `greater_is_better`
/// overrides this guess.
pub fn greater_is_better(metric: &str) -> bool {
    let last = metric
        .rsplit('.')
        .next()
        .unwrap_or(metric)
        .to_ascii_lowercase();
    !LOWER_IS_BETTER.iter().any(|m| {
        last == *m || last.ends_with(&format!("_{m}")) || last.starts_with(&format!("{m}_"))
    })
}

/// A metric as reports show it: whole numbers plainly, others with at most
/// four decimals, tiny ones in scientific notation rather than as 0.
pub fn format_metric(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let text = format!("{v:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text == "0" {
        format!("{v:.2e}")
    } else {
        text.to_string()
    }
}
