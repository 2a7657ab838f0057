//! Error analysis: the segments of the test rows where the model does worst
//! — one feature's level, or a numeric feature's quartile — found by
//! itself rather than declared (`slices:`), each with its size and its
//! error against the overall error.

use serde::{Deserialize, Serialize};

use crate::data::column::ColumnView;

/// A segment is reported only with at least this many test rows…
const MIN_ROWS: usize = 20;
/// …and this share of them.
const MIN_SHARE: f64 = 0.02;
/// Segments reported.
const SHOWN: usize = 5;
/// Levels of a text feature looked at (the most frequent).
const LEVELS: usize = 30;

/// How a row's error is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorMeasure {
    /// Classification: the share of rows misclassified.
    ErrorRate,
    /// Regression: the mean absolute error.
    MeanAbsoluteError,
}

/// One weak segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub feature: String,
    /// `plan = monthly`, or a quartile such as `tenure ≤ 12`.
    pub condition: String,
    pub rows: usize,
    pub error: f64,
    pub overall: f64,
}

/// The weakest segments, worst first; `errors[i]` is test row `rows[i]`'s
/// error (0 or 1 for a class, the absolute error for a value).
pub fn weakest(features: &[(&str, &ColumnView)], rows: &[usize], errors: &[f64]) -> Vec<Segment> {
    if rows.is_empty() || rows.len() != errors.len() {
        return Vec::new();
    }
    let overall = mean(errors.iter().copied());
    let least = MIN_ROWS.max((MIN_SHARE * rows.len() as f64).ceil() as usize);
    let mut found: Vec<Segment> = Vec::new();
    for (name, view) in features {
        for (condition, members) in groups(name, view, rows) {
            if members.len() < least || members.len() == rows.len() {
                continue;
            }
            let error = mean(members.iter().map(|i| errors[*i]));
            if error > overall {
                found.push(Segment {
                    feature: name.to_string(),
                    condition,
                    rows: members.len(),
                    error,
                    overall,
                });
            }
        }
    }
    found.sort_by(|a, b| (b.error - b.overall).total_cmp(&(a.error - a.overall)));
    found.truncate(SHOWN);
    found
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// The test rows (positions in `rows`) of each level or quartile.
fn groups(name: &str, view: &ColumnView, rows: &[usize]) -> Vec<(String, Vec<usize>)> {
    match view {
        ColumnView::Text(values) => {
            let mut by_level: std::collections::HashMap<&str, Vec<usize>> = Default::default();
            for (i, row) in rows.iter().enumerate() {
                by_level
                    .entry(values.get(*row).unwrap_or("null"))
                    .or_default()
                    .push(i);
            }
            let mut levels: Vec<_> = by_level.into_iter().collect();
            levels.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
            levels
                .into_iter()
                .take(LEVELS)
                .map(|(level, members)| (format!("{name} = {level}"), members))
                .collect()
        }
        ColumnView::Numeric(values) => {
            let present: Vec<(usize, f64)> = rows
                .iter()
                .enumerate()
                .filter_map(|(i, r)| values.get(*r).filter(|v| !v.is_nan()).map(|v| (i, v)))
                .collect();
            let mut sorted: Vec<f64> = present.iter().map(|(_, v)| *v).collect();
            sorted.sort_by(f64::total_cmp);
            if sorted.is_empty() {
                return Vec::new();
            }
            let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
            let mut edges = vec![at(0.25), at(0.5), at(0.75)];
            edges.dedup();
            let mut out: Vec<(String, Vec<usize>)> = (0..=edges.len())
                .map(|k| {
                    let condition = match k {
                        0 => format!("{name} ≤ {}", short(edges[0])),
                        k if k == edges.len() => format!("{name} > {}", short(edges[k - 1])),
                        k => format!("{} < {name} ≤ {}", short(edges[k - 1]), short(edges[k])),
                    };
                    (condition, Vec::new())
                })
                .collect();
            for (i, v) in present {
                let k = edges.partition_point(|e| *e < v);
                out[k].1.push(i);
            }
            out
        }
    }
}

fn short(v: f64) -> String {
    crate::lifecycle::metric::format_metric(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn the_weakest_segment_is_found_by_itself_with_its_size() {
        let n = 200;
        let plan: Vec<&str> = (0..n)
            .map(|i| if i % 4 == 0 { "monthly" } else { "yearly" })
            .collect();
        let tenure: Vec<f64> = (0..n).map(|i| i as f64).collect();
        // Wrong on every monthly row, right elsewhere.
        let errors: Vec<f64> = (0..n).map(|i| if i % 4 == 0 { 1.0 } else { 0.0 }).collect();
        let plan = ColumnView::of(&Column::new("plan".into(), plan)).unwrap();
        let tenure = ColumnView::of(&Column::new("tenure".into(), tenure)).unwrap();
        let rows: Vec<usize> = (0..n).collect();
        let found = weakest(&[("plan", &plan), ("tenure", &tenure)], &rows, &errors);
        assert_eq!(found[0].condition, "plan = monthly");
        assert_eq!(
            (found[0].rows, found[0].error, found[0].overall),
            (50, 1.0, 0.25)
        );
        assert!(found.iter().all(|s| s.error > s.overall));
        assert!(weakest(&[], &rows, &errors).is_empty());
    }
}
