//! The EDA summary of a column (DSLP's Explore stage): counts, moments,
//! quantiles and top values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::column::{ColumnView, HashGroups, NULL_HASH};
use super::stats::ValueCounts;

/// The quantiles reported, as numpy's default (linear) computes them.
pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
const TOP: usize = 10;
/// Text columns with at most this many distinct values get per-level counts
/// (for categorical drift); beyond it they are identifiers or free text.
pub const MAX_LEVELS: u64 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnProfile {
    pub column: String,
    pub dtype: String,
    pub count: u64,
    pub nulls: u64,
    pub distinct: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Sample standard deviation (ddof = 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// (q, value) for q in [`QUANTILES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quantiles: Vec<(f64, f64)>,
    /// The most frequent values with their counts, most frequent first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<(String, u64)>,
}

/// A numeric column's profile from the counts of its non-null values.
pub fn numeric(column: &str, dtype: String, rows: u64, counts: &ValueCounts) -> ColumnProfile {
    ColumnProfile {
        column: column.to_string(),
        dtype,
        count: rows,
        nulls: rows - counts.len(),
        distinct: counts.distinct(),
        min: counts.values.first().copied(),
        max: counts.values.last().copied(),
        mean: counts.mean,
        std: counts.std(),
        quantiles: QUANTILES
            .iter()
            .filter_map(|q| counts.quantile(*q).map(|v| (*q, v)))
            .collect(),
        top: Vec::new(),
    }
}

/// A text column's profile, and its per-level counts when it has few levels.
pub fn text(
    column: &str,
    dtype: String,
    view: &ColumnView,
) -> (ColumnProfile, Option<BTreeMap<String, u64>>) {
    let rows = view.len() as u64;
    let nulls = view.null_count();
    let ColumnView::Text(values) = view else {
        unreachable!("text profile of a numeric column")
    };
    // Few levels (the usual case for categories): count them directly.
    // Many levels: fall back to sorting hashes, which needs no map of strings.
    let levels = values.level_counts(MAX_LEVELS as usize);
    let (distinct, top) = match &levels {
        Some(levels) => (
            levels.len() as u64,
            top_of(levels.iter().map(|(k, v)| (k.clone(), *v)).collect()),
        ),
        None => {
            let hashes = view.row_hashes();
            let groups = HashGroups::of(&hashes, Some(NULL_HASH));
            let runs = groups.most_frequent(TOP);
            let wanted: ahash::HashMap<u64, u64> = runs.iter().copied().collect();
            let mut named: ahash::HashMap<u64, String> = ahash::HashMap::default();
            for (value, hash) in values.iter().zip(&hashes) {
                if let (Some(value), true) = (value, wanted.contains_key(hash)) {
                    named.entry(*hash).or_insert_with(|| value.to_string());
                    if named.len() == wanted.len() {
                        break;
                    }
                }
            }
            (
                groups.distinct(),
                top_of(
                    runs.into_iter()
                        .filter_map(|(h, n)| named.remove(&h).map(|v| (v, n)))
                        .collect(),
                ),
            )
        }
    };
    let profile = ColumnProfile {
        column: column.to_string(),
        dtype,
        count: rows,
        nulls,
        distinct,
        min: None,
        max: None,
        mean: None,
        std: None,
        quantiles: Vec::new(),
        top,
    };
    (profile, levels)
}

fn top_of(mut counts: Vec<(String, u64)>) -> Vec<(String, u64)> {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.truncate(TOP);
    counts
}
