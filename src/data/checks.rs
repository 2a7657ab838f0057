//! Expectations from `datasets:` checked against a loaded table.

use polars::prelude::*;
use regex::Regex;

use super::check_result::{CheckResult, Example};
use super::column::{ColumnView, HashGroups, format_number, row_hashes_of, verified_duplicates};
use super::spec::{ColumnSpec, ColumnType, DatasetSpec, DuplicatePolicy, DuplicateRule};
use super::table::{Table, TableColumn};
use crate::lifecycle::Severity;
use rayon::prelude::*;

const MAX_EXAMPLES: usize = 5;

/// Every check the spec declares, in a stable order: table checks first,
/// then columns by name.
pub fn run(spec: &DatasetSpec, table: &Table) -> Vec<CheckResult> {
    let rows = table.rows as u64;
    let mut results = Vec::new();
    if let Some(bounds) = spec.rows {
        let low = bounds.min.is_none_or(|min| rows >= min);
        let high = bounds.max.is_none_or(|max| rows <= max);
        let expected = match (bounds.min, bounds.max) {
            (Some(min), Some(max)) => format!("between {min} and {max} rows"),
            (Some(min), None) => format!("at least {min} rows"),
            (None, Some(max)) => format!("at most {max} rows"),
            (None, None) => "any number of rows".into(),
        };
        results.push(CheckResult::table(
            "rows",
            &expected,
            low && high,
            rows.to_string(),
        ));
    }
    // The duplicate rows and each column's checks are independent tasks.
    let (duplicates, per_column) = rayon::join(
        || {
            spec.duplicates
                .as_ref()
                .map(|policy| duplicate_rows(policy, &table.views_except(&[]), rows as usize))
        },
        || {
            spec.columns
                .par_iter()
                .map(|(name, column_spec)| {
                    let mut results = Vec::new();
                    match table.column(name) {
                        Some(column) => {
                            column_checks(name, column_spec, column, table, &mut results)
                        }
                        None => results.push(CheckResult {
                            passed: false,
                            observed: format!("missing; the file has {}", column_list(table)),
                            ..CheckResult::new("present", Some(name), "the column exists")
                        }),
                    }
                    results
                })
                .collect::<Vec<_>>()
        },
    );
    results.extend(duplicates);
    results.extend(per_column.into_iter().flatten());
    results
}

fn column_list(table: &Table) -> String {
    let names: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("`{}`", c.name))
        .collect();
    if names.is_empty() {
        "no columns".into()
    } else {
        names.join(", ")
    }
}

fn column_checks(
    name: &str,
    spec: &ColumnSpec,
    column: &TableColumn,
    table: &Table,
    out: &mut Vec<CheckResult>,
) {
    let view = &column.view;
    if let Some(column_type) = spec.column_type {
        out.push(type_check(name, column_type, column, table));
    }
    let nulls = view.null_count();
    if spec.nullable == Some(false) {
        out.push(not_null_check(name, view, nulls));
    }
    if let Some(limit) = spec.max_null_fraction.as_ref().map(|f| f.0) {
        let rows = view.len();
        let fraction = if rows == 0 {
            0.0
        } else {
            nulls as f64 / rows as f64
        };
        let mut result = CheckResult::new(
            "null fraction",
            Some(name),
            format!("at most {}", percent(limit)),
        );
        result.passed = fraction <= limit;
        result.observed = percent(fraction);
        result.offending_rows = nulls;
        out.push(result);
    }
    if spec.min.is_some() || spec.max.is_some() {
        out.push(range_check(name, spec, view));
    }
    if let Some(allowed) = &spec.values {
        out.push(allowed_check(name, allowed, view));
    }
    if let Some(pattern) = spec.regex.as_ref().map(|p| &p.0) {
        out.push(regex_check(name, pattern, view));
    }
    if spec.unique == Some(true) {
        out.push(unique_check(name, view));
    }
}

fn type_check(
    name: &str,
    column_type: ColumnType,
    column: &TableColumn,
    table: &Table,
) -> CheckResult {
    let mut result = CheckResult::new("type", Some(name), type_name(column_type));
    let dtype = &column.dtype;
    match table.type_violations.get(name) {
        Some(found) => {
            result.passed = false;
            result.observed = format!(
                "{} value{} of another type",
                found.count,
                plural(found.count)
            );
            result.offending_rows = found.count;
            result.examples = found
                .examples
                .iter()
                .map(|(row, value)| Example {
                    row: *row,
                    value: value.clone(),
                })
                .collect();
        }
        None if !type_fits(column_type, dtype, &column.view) => {
            result.passed = false;
            result.observed = format!("the column holds {dtype}");
        }
        None => result.observed = type_name(column_type).into(),
    }
    result
}

fn not_null_check(name: &str, view: &ColumnView, nulls: u64) -> CheckResult {
    let mut result = CheckResult::new("not null", Some(name), "no nulls");
    result.passed = nulls == 0;
    result.observed = format!("{nulls} null{}", plural(nulls));
    result.offending_rows = nulls;
    result.examples = null_flags(view)
        .enumerate()
        .filter(|(_, null)| *null)
        .take(MAX_EXAMPLES)
        .map(|(row, _)| Example {
            row: row as u64 + 1,
            value: "null".into(),
        })
        .collect();
    result
}

fn allowed_check(name: &str, allowed: &[String], view: &ColumnView) -> CheckResult {
    let set: ahash::HashSet<&str> = allowed.iter().map(String::as_str).collect();
    let mut result = CheckResult::new(
        "allowed values",
        Some(name),
        format!("one of {}", allowed.join(", ")),
    );
    match view {
        ColumnView::Text(values) => {
            let flags = values.flags(|v| !set.contains(v));
            fill_offending(&mut result, view, flags, "outside the allowed values");
        }
        ColumnView::Numeric(values) => {
            // Allowed values of a numeric column compare as numbers.
            let numbers: Vec<f64> = allowed
                .iter()
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            let flags = values
                .iter()
                .map(|v| v.is_some_and(|v| !v.is_nan() && !numbers.contains(&v)));
            fill_offending(&mut result, view, flags, "outside the allowed values");
        }
    }
    result
}

fn regex_check(name: &str, pattern: &str, view: &ColumnView) -> CheckResult {
    let mut result = CheckResult::new("regex", Some(name), format!("matches `{pattern}`"));
    match Regex::new(&format!("^(?:{pattern})$")) {
        Ok(regex) => match view {
            ColumnView::Text(values) => {
                let flags = values.flags(|v| !regex.is_match(v));
                fill_offending(&mut result, view, flags, "not matching");
            }
            ColumnView::Numeric(values) => {
                let flags = values
                    .iter()
                    .map(|v| v.is_some_and(|v| !v.is_nan() && !regex.is_match(&format_number(v))));
                fill_offending(&mut result, view, flags, "not matching");
            }
        },
        Err(e) => {
            result.passed = false;
            result.observed = format!("the regex is invalid: {e}");
        }
    }
    result
}

fn unique_check(name: &str, view: &ColumnView) -> CheckResult {
    let mut result = CheckResult::new("unique", Some(name), "no value twice");
    let hashes = view.row_hashes();
    let groups = HashGroups::of(&hashes, None);
    let (count, pairs) = verified_duplicates(
        &hashes,
        &groups.repeated(),
        |a, b| !view.is_null(a) && view.same(a, b),
        MAX_EXAMPLES,
    );
    result.passed = count == 0;
    result.observed = format!("{count} repeated value{}", plural(count));
    result.offending_rows = count;
    result.examples = pairs
        .into_iter()
        .map(|(row, first)| Example {
            row: row as u64 + 1,
            value: format!("{} (as row {})", view.display(row), first + 1),
        })
        .collect();
    result
}

fn range_check(name: &str, spec: &ColumnSpec, view: &ColumnView) -> CheckResult {
    let expected = match (spec.min, spec.max) {
        (Some(min), Some(max)) => {
            format!("between {} and {}", format_number(min), format_number(max))
        }
        (Some(min), None) => format!("at least {}", format_number(min)),
        (None, Some(max)) => format!("at most {}", format_number(max)),
        (None, None) => String::new(),
    };
    let mut result = CheckResult::new("range", Some(name), expected);
    let ColumnView::Numeric(values) = view else {
        result.passed = false;
        result.observed = "the column is not numeric".into();
        return result;
    };
    let outside =
        |v: f64| spec.min.is_some_and(|min| v < min) || spec.max.is_some_and(|max| v > max);
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.iter().flatten().filter(|v| !v.is_nan()) {
        low = low.min(v);
        high = high.max(v);
    }
    let flags = values
        .iter()
        .map(|v| v.is_some_and(|v| !v.is_nan() && outside(v)));
    fill_offending(&mut result, view, flags, "out of range");
    if low <= high {
        result.observed = format!(
            "{}; min {}, max {}",
            result.observed,
            format_number(low),
            format_number(high)
        );
    }
    result
}

/// Counts the rows flagged as offending and keeps the first five as examples.
fn fill_offending(
    result: &mut CheckResult,
    view: &ColumnView,
    flags: impl Iterator<Item = bool>,
    what: &str,
) {
    let mut count = 0u64;
    for (row, offending) in flags.enumerate() {
        if offending {
            count += 1;
            if result.examples.len() < MAX_EXAMPLES {
                result.examples.push(Example {
                    row: row as u64 + 1,
                    value: view.display(row),
                });
            }
        }
    }
    result.passed = count == 0;
    result.offending_rows = count;
    result.observed = format!("{count} value{} {what}", plural(count));
}

/// Per row, whether it is null (NaN counts as null).
fn null_flags(view: &ColumnView) -> Box<dyn Iterator<Item = bool> + '_> {
    match view {
        ColumnView::Numeric(values) => Box::new(values.iter().map(|v| v.is_none_or(f64::is_nan))),
        ColumnView::Text(values) => Box::new(values.iter().map(|v| v.is_none())),
    }
}

fn duplicate_rows(
    policy: &DuplicatePolicy,
    views: &[(String, ColumnView)],
    rows: usize,
) -> CheckResult {
    let row_hashes = row_hashes_of(views, rows);
    let groups = HashGroups::of(&row_hashes, None);
    let same_row = |a: usize, b: usize| views.iter().all(|(_, v)| v.same(a, b));
    let (count, pairs) =
        verified_duplicates(&row_hashes, &groups.repeated(), same_row, MAX_EXAMPLES);
    let fraction = if rows == 0 {
        0.0
    } else {
        count as f64 / rows as f64
    };
    let (passed, expected) = match policy {
        DuplicatePolicy::Rule(DuplicateRule::Forbid) => {
            (count == 0, "no duplicate rows".to_string())
        }
        DuplicatePolicy::Rule(DuplicateRule::Allow) => (true, "duplicate rows allowed".to_string()),
        DuplicatePolicy::Limit { max_fraction } => (
            fraction <= max_fraction.0,
            format!("at most {} duplicate rows", percent(max_fraction.0)),
        ),
    };
    CheckResult {
        check: "duplicate rows".into(),
        column: None,
        expected,
        passed,
        severity: Severity::Error,
        observed: format!(
            "{count} duplicate row{} ({})",
            plural(count),
            percent(fraction)
        ),
        offending_rows: count,
        examples: pairs
            .into_iter()
            .map(|(row, first)| Example {
                row: row as u64 + 1,
                value: format!("same as row {}", first + 1),
            })
            .collect(),
    }
}

fn type_fits(column_type: ColumnType, dtype: &DataType, view: &ColumnView) -> bool {
    match column_type {
        ColumnType::Int => {
            dtype.is_integer()
                || (dtype.is_float()
                    && matches!(view, ColumnView::Numeric(v) if v.iter().flatten().all(|x| x.is_nan() || x.fract() == 0.0)))
        }
        ColumnType::Float => dtype.is_primitive_numeric(),
        ColumnType::Bool => dtype == &DataType::Boolean,
        ColumnType::String | ColumnType::Category => {
            dtype == &DataType::String
                || matches!(dtype, DataType::Categorical(..) | DataType::Enum(..))
        }
        ColumnType::Date => matches!(dtype, DataType::Date | DataType::String),
        ColumnType::Datetime => matches!(
            dtype,
            DataType::Datetime(..) | DataType::Date | DataType::String
        ),
    }
}

pub fn type_name(column_type: ColumnType) -> &'static str {
    match column_type {
        ColumnType::Int => "int",
        ColumnType::Float => "float",
        ColumnType::String => "string",
        ColumnType::Bool => "bool",
        ColumnType::Date => "date",
        ColumnType::Datetime => "datetime",
        ColumnType::Category => "category",
    }
}

pub fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub fn percent(fraction: f64) -> String {
    let value = fraction * 100.0;
    if value == 0.0 || value >= 10.0 {
        format!("{value:.1}%")
    } else {
        format!("{value:.2}%")
    }
}
