//! Columns as the checks see them: numbers or text, hashed for grouping.

use polars::prelude::*;

use super::stats::radix_sort_u64;

/// A column's values, as numbers or as text. Booleans, dates and categories
/// are text here (their profile is a count per value).
#[derive(Debug, Clone)]
pub enum ColumnView {
    Numeric(Float64Chunked),
    Text(StringChunked),
}

impl ColumnView {
    pub fn of(column: &Column) -> PolarsResult<ColumnView> {
        let series = column.as_materialized_series();
        if series.dtype().is_primitive_numeric() {
            let cast = series.cast(&DataType::Float64)?;
            return Ok(ColumnView::Numeric(cast.f64()?.clone()));
        }
        let text = if series.dtype() == &DataType::String {
            series.clone()
        } else {
            series.cast(&DataType::String)?
        };
        Ok(ColumnView::Text(text.str()?.clone()))
    }

    pub fn len(&self) -> usize {
        match self {
            ColumnView::Numeric(values) => values.len(),
            ColumnView::Text(values) => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Nulls, counting NaN as null the way pandas does.
    pub fn null_count(&self) -> u64 {
        match self {
            ColumnView::Numeric(values) => {
                values.iter().filter(|v| v.is_none_or(f64::is_nan)).count() as u64
            }
            ColumnView::Text(values) => values.null_count() as u64,
        }
    }

    /// The value of one row as text, for examples in reports.
    pub fn display(&self, row: usize) -> String {
        match self {
            ColumnView::Numeric(values) => match values.get(row) {
                Some(v) if !v.is_nan() => format_number(v),
                _ => "null".into(),
            },
            ColumnView::Text(values) => values
                .get(row)
                .map(str::to_string)
                .unwrap_or_else(|| "null".into()),
        }
    }

    /// The non-null numbers (NaN dropped), in row order.
    pub fn numbers(&self) -> Vec<f64> {
        match self {
            ColumnView::Numeric(values) => {
                values.iter().flatten().filter(|v| !v.is_nan()).collect()
            }
            ColumnView::Text(_) => Vec::new(),
        }
    }

    /// One hash per row; nulls share a hash. Seeds are fixed, so runs agree.
    pub fn row_hashes(&self) -> Vec<u64> {
        let state = hasher();
        match self {
            ColumnView::Numeric(values) => values
                .iter()
                .map(|v| match v {
                    Some(v) if !v.is_nan() => {
                        state.hash_one(if v == 0.0 { 0u64 } else { v.to_bits() })
                    }
                    _ => NULL_HASH,
                })
                .collect(),
            ColumnView::Text(values) => values
                .iter()
                .map(|v| v.map(|v| state.hash_one(v)).unwrap_or(NULL_HASH))
                .collect(),
        }
    }

    /// Whether two rows hold the same value (nulls equal each other).
    pub fn same(&self, a: usize, b: usize) -> bool {
        match self {
            ColumnView::Numeric(values) => {
                let norm = |v: Option<f64>| {
                    v.filter(|v| !v.is_nan())
                        .map(|v| if v == 0.0 { 0.0 } else { v })
                };
                norm(values.get(a)) == norm(values.get(b))
            }
            ColumnView::Text(values) => values.get(a) == values.get(b),
        }
    }

    /// Count per value of a text column, or `None` past `limit` values.
    pub fn level_counts(&self, limit: usize) -> Option<std::collections::BTreeMap<String, u64>> {
        match self {
            ColumnView::Text(values) => super::profile::level_counts(values, limit),
            ColumnView::Numeric(_) => None,
        }
    }

    /// Per row, whether the value is `a`, and whether it is `b`.
    pub fn membership(&self, a: &str, b: &str) -> (Vec<bool>, Vec<bool>) {
        match self {
            ColumnView::Text(values) => values.iter().map(|v| (v == Some(a), v == Some(b))).unzip(),
            ColumnView::Numeric(values) => values
                .iter()
                .map(|v| {
                    let text = v.filter(|v| !v.is_nan()).map(format_number);
                    (text.as_deref() == Some(a), text.as_deref() == Some(b))
                })
                .unzip(),
        }
    }

    pub fn is_null(&self, row: usize) -> bool {
        match self {
            ColumnView::Numeric(values) => values.get(row).is_none_or(f64::is_nan),
            ColumnView::Text(values) => values.get(row).is_none(),
        }
    }
}

/// The hash every null gets in [`ColumnView::row_hashes`].
pub const NULL_HASH: u64 = 0x9e37_79b9_7f4a_7c15;

fn hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(0x5151, 0xd51b, 0x2026, 0x0b07)
}

/// One hash per row over all `columns`, folded in one column at a time so
/// that only one column's hashes exist at once (at 10⁷ rows each is 80 MB).
pub fn row_hashes_of(columns: &[(String, ColumnView)], rows: usize) -> Vec<u64> {
    let state = hasher();
    let mut combined = vec![0x243f_6a88_85a3_08d3u64; rows];
    for (_, column) in columns {
        let hashes = column.row_hashes();
        for (acc, h) in combined.iter_mut().zip(&hashes) {
            *acc = state.hash_one((*acc, *h));
        }
    }
    combined
}

/// Rows grouped by equal hash: each group's size, and which hashes recur.
#[derive(Debug, Clone)]
pub struct HashGroups {
    /// (hash, rows with it), ascending by hash.
    pub runs: Vec<(u64, u64)>,
}

impl HashGroups {
    pub fn of(hashes: &[u64], skip: Option<u64>) -> HashGroups {
        let mut sorted: Vec<u64> = match skip {
            Some(skip) => hashes.iter().copied().filter(|h| *h != skip).collect(),
            None => hashes.to_vec(),
        };
        radix_sort_u64(&mut sorted);
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for hash in sorted {
            match runs.last_mut() {
                Some((last, count)) if *last == hash => *count += 1,
                _ => runs.push((hash, 1)),
            }
        }
        HashGroups { runs }
    }

    pub fn distinct(&self) -> u64 {
        self.runs.len() as u64
    }

    /// Hashes seen more than once: candidates for duplicates, to verify.
    pub fn repeated(&self) -> ahash::HashSet<u64> {
        self.runs
            .iter()
            .filter(|(_, n)| *n > 1)
            .map(|(h, _)| *h)
            .collect()
    }
}

/// Rows that repeat an earlier row, verified value by value so that a hash
/// collision is never reported: (duplicate rows, first few as (row, first row)).
pub fn verified_duplicates(
    hashes: &[u64],
    repeated: &ahash::HashSet<u64>,
    same: impl Fn(usize, usize) -> bool,
    max_examples: usize,
) -> (u64, Vec<(usize, usize)>) {
    if repeated.is_empty() {
        return (0, Vec::new());
    }
    let mut firsts: ahash::HashMap<u64, Vec<usize>> = ahash::HashMap::default();
    let mut count = 0u64;
    let mut examples = Vec::new();
    for (row, hash) in hashes.iter().enumerate() {
        if !repeated.contains(hash) {
            continue;
        }
        let seen = firsts.entry(*hash).or_default();
        match seen.iter().find(|first| same(**first, row)) {
            Some(first) => {
                count += 1;
                if examples.len() < max_examples {
                    examples.push((row, *first));
                }
            }
            None => seen.push(row),
        }
    }
    (count, examples)
}

/// Numbers in reports: integers without a decimal point, others as Rust
/// prints them (shortest round-trip form).
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}
