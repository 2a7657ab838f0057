//! Columns as the checks see them: numbers or text, hashed for grouping.

use std::sync::Arc;

use polars::prelude::*;

use super::stats::radix_sort_u64;

/// A column's values, as numbers or as text. Booleans, dates and categories
/// are text here (their profile is a count per value).
#[derive(Debug, Clone)]
pub enum ColumnView {
    /// NaN and null alike are missing values.
    Numeric(Float64Chunked),
    Text(Texts),
}

/// A text column: as polars holds it, or as a code per row into its few
/// distinct levels (4 bytes a row instead of 16), which is how the data
/// evidence reads columns with few levels.
#[derive(Debug, Clone)]
pub enum Texts {
    Plain(StringChunked),
    Coded(Arc<Coded>),
}

/// Text as a code per row; [`Coded::NULL`] marks a missing value.
#[derive(Debug, Clone, Default)]
pub struct Coded {
    pub codes: Vec<u32>,
    pub levels: Vec<String>,
}

impl Coded {
    pub const NULL: u32 = u32::MAX;
}

impl Texts {
    /// Count per value, or `None` as soon as there are more than `limit` values.
    pub fn level_counts(&self, limit: usize) -> Option<std::collections::BTreeMap<String, u64>> {
        let values = match self {
            Texts::Coded(coded) => {
                let mut counts = vec![0u64; coded.levels.len()];
                for code in coded.codes.iter().filter(|c| **c != Coded::NULL) {
                    counts[*code as usize] += 1;
                }
                let present = counts.iter().filter(|n| **n > 0).count();
                return (present <= limit).then(|| {
                    coded
                        .levels
                        .iter()
                        .zip(counts)
                        .filter(|(_, n)| *n > 0)
                        .map(|(l, n)| (l.clone(), n))
                        .collect()
                });
            }
            Texts::Plain(values) => values,
        };
        let mut counts: ahash::HashMap<&str, u64> = ahash::HashMap::default();
        for value in values.iter().flatten() {
            if let Some(count) = counts.get_mut(value) {
                *count += 1;
            } else {
                if counts.len() == limit {
                    return None;
                }
                counts.insert(value, 1);
            }
        }
        Some(
            counts
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        match self {
            Texts::Plain(values) => values.len(),
            Texts::Coded(coded) => coded.codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, row: usize) -> Option<&str> {
        match self {
            Texts::Plain(values) => values.get(row),
            Texts::Coded(coded) => coded
                .codes
                .get(row)
                .filter(|c| **c != Coded::NULL)
                .map(|c| coded.levels[*c as usize].as_str()),
        }
    }

    /// Every row's value, in row order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Option<&str>> + '_> {
        match self {
            Texts::Plain(values) => Box::new(values.iter()),
            Texts::Coded(coded) => Box::new(
                coded
                    .codes
                    .iter()
                    .map(|c| (*c != Coded::NULL).then(|| coded.levels[*c as usize].as_str())),
            ),
        }
    }

    pub fn null_count(&self) -> usize {
        match self {
            Texts::Plain(values) => values.null_count(),
            Texts::Coded(coded) => coded.codes.iter().filter(|c| **c == Coded::NULL).count(),
        }
    }

    /// Per row, whether its value passes `test` (false for nulls); a coded
    /// column tests each level once.
    pub fn flags<'a>(
        &'a self,
        test: impl Fn(&str) -> bool + 'a,
    ) -> Box<dyn Iterator<Item = bool> + 'a> {
        match self {
            Texts::Plain(values) => Box::new(values.iter().map(move |v| v.is_some_and(&test))),
            Texts::Coded(coded) => {
                let passes: Vec<bool> = coded.levels.iter().map(|l| test(l)).collect();
                Box::new(
                    coded
                        .codes
                        .iter()
                        .map(move |c| *c != Coded::NULL && passes[*c as usize]),
                )
            }
        }
    }
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
        Ok(ColumnView::Text(Texts::Plain(text.str()?.clone())))
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

    /// One hash per row; nulls share a hash. Seeds are fixed, so runs agree.
    pub fn row_hashes(&self) -> Vec<u64> {
        let mut hashes = Vec::with_capacity(self.len());
        self.for_each_hash(|_, hash| hashes.push(hash));
        hashes
    }

    /// Calls `f(row, hash)` for every row in order, hashes as [`Self::row_hashes`].
    fn for_each_hash(&self, mut f: impl FnMut(usize, u64)) {
        let state = hasher();
        match self {
            ColumnView::Numeric(values) => {
                for (row, v) in numbers_of(values).enumerate() {
                    let hash = if v.is_nan() {
                        NULL_HASH
                    } else {
                        state.hash_one(if v == 0.0 { 0u64 } else { v.to_bits() })
                    };
                    f(row, hash);
                }
            }
            ColumnView::Text(Texts::Plain(values)) => {
                for (row, v) in values.iter().enumerate() {
                    f(row, v.map(|v| state.hash_one(v)).unwrap_or(NULL_HASH));
                }
            }
            ColumnView::Text(Texts::Coded(coded)) => {
                let level_hashes: Vec<u64> = coded
                    .levels
                    .iter()
                    .map(|l| state.hash_one(l.as_str()))
                    .collect();
                for (row, c) in coded.codes.iter().enumerate() {
                    f(
                        row,
                        level_hashes.get(*c as usize).copied().unwrap_or(NULL_HASH),
                    );
                }
            }
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
            ColumnView::Text(Texts::Coded(coded)) => coded.codes.get(a) == coded.codes.get(b),
            ColumnView::Text(values) => values.get(a) == values.get(b),
        }
    }

    /// Count per value of a text column, or `None` past `limit` values.
    pub fn level_counts(&self, limit: usize) -> Option<std::collections::BTreeMap<String, u64>> {
        match self {
            ColumnView::Text(values) => values.level_counts(limit),
            ColumnView::Numeric(_) => None,
        }
    }

    /// Per row, whether the value is `a`, and whether it is `b`.
    pub fn membership(&self, a: &str, b: &str) -> (Vec<bool>, Vec<bool>) {
        match self {
            ColumnView::Text(values) => values
                .flags(|v| v == a)
                .zip(values.flags(|v| v == b))
                .unzip(),
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

/// Every value of a numeric column in row order, nulls as NaN.
pub fn numbers_of(values: &Float64Chunked) -> impl Iterator<Item = f64> + '_ {
    values
        .downcast_iter()
        .flat_map(|array| array.iter().map(|v| v.copied().unwrap_or(f64::NAN)))
}

/// The hash every null gets in [`ColumnView::row_hashes`].
pub const NULL_HASH: u64 = 0x9e37_79b9_7f4a_7c15;

fn hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(0x5151, 0xd51b, 0x2026, 0x0b07)
}

/// One hash per row over all `columns`, each column's hash folded in as it
/// is computed: no column-sized buffer besides the result (at 10⁷ rows
/// each would be 80 MB of fresh pages).
pub fn row_hashes_of(columns: &[(String, ColumnView)], rows: usize) -> Vec<u64> {
    let state = hasher();
    let mut combined = vec![0x243f_6a88_85a3_08d3u64; rows];
    for (_, column) in columns {
        column.for_each_hash(|row, hash| {
            if let Some(acc) = combined.get_mut(row) {
                *acc = state.hash_one((*acc, hash));
            }
        });
    }
    combined
}

/// Row hashes sorted, so that equal ones sit together: the distinct count,
/// the hashes that recur and the most frequent ones, without a map.
#[derive(Debug, Clone)]
pub struct HashGroups {
    sorted: Vec<u64>,
}

impl HashGroups {
    pub fn of(hashes: &[u64], skip: Option<u64>) -> HashGroups {
        let mut sorted: Vec<u64> = match skip {
            Some(skip) => hashes.iter().copied().filter(|h| *h != skip).collect(),
            None => hashes.to_vec(),
        };
        radix_sort_u64(&mut sorted);
        HashGroups { sorted }
    }

    /// Each hash with how many rows hold it, ascending by hash.
    pub fn runs(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.sorted
            .chunk_by(|a, b| a == b)
            .map(|run| (run[0], run.len() as u64))
    }

    pub fn distinct(&self) -> u64 {
        self.runs().count() as u64
    }

    /// Hashes seen more than once: candidates for duplicates, to verify.
    pub fn repeated(&self) -> ahash::HashSet<u64> {
        self.runs()
            .filter(|(_, n)| *n > 1)
            .map(|(h, _)| h)
            .collect()
    }

    /// The `k` most frequent hashes with their counts, most frequent first
    /// (ties by hash, so runs agree).
    pub fn most_frequent(&self, k: usize) -> Vec<(u64, u64)> {
        let mut top: std::collections::BinaryHeap<
            std::cmp::Reverse<(u64, std::cmp::Reverse<u64>)>,
        > = std::collections::BinaryHeap::with_capacity(k + 1);
        for (hash, n) in self.runs() {
            top.push(std::cmp::Reverse((n, std::cmp::Reverse(hash))));
            if top.len() > k {
                top.pop();
            }
        }
        let mut top: Vec<(u64, u64)> = top
            .into_iter()
            .map(|std::cmp::Reverse((n, std::cmp::Reverse(hash)))| (hash, n))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top
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
