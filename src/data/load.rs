//! Reading a dataset: safe paths, structural diagnostics with line and
//! column, and a typed parse whose type errors become failed checks.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use polars::prelude::*;

use super::csv::{check_utf8, csv_header};
use super::source::DataError;
use super::spec::{ColumnType, FileFormat};

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

/// Values in a declared column that do not have the declared type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeViolations {
    /// How many rows hold a value of another type.
    pub count: u64,
    /// Up to five (1-based row, raw value).
    pub examples: Vec<(u64, String)>,
}

/// A table read from a file, with what the typed parse found.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub frame: DataFrame,
    /// Per declared column, the values that were not of its type.
    pub type_violations: BTreeMap<String, TypeViolations>,
}

/// Reads `bytes` as `format`; `file` names it in messages and `declared`
/// gives the types the config expects.
pub fn read_table(
    bytes: &[u8],
    format: FileFormat,
    file: &str,
    declared: &BTreeMap<String, ColumnType>,
) -> Result<Loaded, DataError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DataError::new(file, "the file is empty"));
    }
    match format {
        FileFormat::Csv => read_csv(bytes, file, declared),
        FileFormat::Parquet => {
            let frame = guarded(file, || ParquetReader::new(Cursor::new(bytes)).finish())?;
            Ok(coerce_declared(frame, declared))
        }
        FileFormat::Ndjson => {
            check_utf8(bytes, file)?;
            let frame = guarded(file, || {
                JsonReader::new(Cursor::new(bytes))
                    .with_json_format(JsonFormat::JsonLines)
                    .finish()
            })?;
            Ok(coerce_declared(frame, declared))
        }
    }
}

/// Runs a polars reader; its errors, and any panic inside it, become a
/// message about the file instead of a crash.
pub(super) fn guarded(
    file: &str,
    read: impl FnOnce() -> PolarsResult<DataFrame>,
) -> Result<DataFrame, DataError> {
    match catch_unwind(AssertUnwindSafe(read)) {
        Ok(Ok(frame)) => Ok(frame),
        Ok(Err(error)) => Err(DataError::new(
            file,
            format!("cannot parse the file: {}", first_line(&error.to_string())),
        )),
        Err(_) => Err(DataError::new(
            file,
            "the reader failed on this file; check that it is well-formed",
        )),
    }
}

pub(super) fn polars_type(column_type: ColumnType) -> DataType {
    match column_type {
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::String | ColumnType::Category => DataType::String,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Date => DataType::Date,
        ColumnType::Datetime => DataType::Datetime(TimeUnit::Microseconds, None),
    }
}

fn read_csv(
    bytes: &[u8],
    file: &str,
    declared: &BTreeMap<String, ColumnType>,
) -> Result<Loaded, DataError> {
    let header = csv_header(bytes, file)?;
    parse_with_header(bytes, file, &header, declared)
}

/// Parses CSV that begins with its header: declared columns get their
/// types, others what polars infers from the first rows.
pub(super) fn parse_with_header(
    bytes: &[u8],
    file: &str,
    header: &[String],
    declared: &BTreeMap<String, ColumnType>,
) -> Result<Loaded, DataError> {
    let typed: Schema = header
        .iter()
        .filter_map(|name| {
            declared
                .get(name)
                .map(|t| Field::new(name.into(), polars_type(*t)))
        })
        .collect();
    let strict = guarded(file, || {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(10_000))
            .with_schema_overwrite(Some(Arc::new(typed)))
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
    });
    if let Ok(frame) = strict {
        return Ok(Loaded {
            frame,
            type_violations: BTreeMap::new(),
        });
    }
    // A value did not parse as its column's type. Read everything as text
    // and convert column by column, so each offending row can be named.
    let frame = guarded(file, || {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
    })?;
    let mut loaded = coerce_declared(frame, declared);
    infer_undeclared(&mut loaded.frame, declared);
    Ok(loaded)
}

/// Converts declared columns to their types without failing: values that do
/// not convert become nulls and are recorded as type violations.
pub(super) fn coerce_declared(
    mut frame: DataFrame,
    declared: &BTreeMap<String, ColumnType>,
) -> Loaded {
    let mut violations = BTreeMap::new();
    for (name, column_type) in declared {
        let Ok(column) = frame.column(name) else {
            continue;
        };
        let series = column.as_materialized_series().clone();
        let target = polars_type(*column_type);
        if series.dtype() == &target
            || (column_type.is_numeric() && series.dtype().is_primitive_numeric())
        {
            continue;
        }
        let Ok(converted) = convert(&series, *column_type) else {
            continue;
        };
        let found = conversion_failures(&series, &converted);
        if found.count > 0 {
            violations.insert(name.clone(), found);
        }
        let _ = frame.replace(name, converted.into());
    }
    Loaded {
        frame,
        type_violations: violations,
    }
}

pub(super) fn convert(series: &Series, column_type: ColumnType) -> PolarsResult<Series> {
    match column_type {
        ColumnType::Bool if series.dtype() == &DataType::String => {
            let values: BooleanChunked = series
                .str()?
                .iter()
                .map(|v| v.and_then(parse_bool))
                .collect();
            Ok(values.with_name(series.name().clone()).into_series())
        }
        ColumnType::Date | ColumnType::Datetime if series.dtype() == &DataType::String => {
            // Kept as text; values that are not ISO dates become nulls.
            let date_only = column_type == ColumnType::Date;
            let values: StringChunked = series
                .str()?
                .iter()
                .map(|v| v.filter(|v| is_iso_date(v, date_only)))
                .collect();
            Ok(values.with_name(series.name().clone()).into_series())
        }
        _ => series.cast(&polars_type(column_type)),
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "1" => Some(true),
        "false" | "f" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// `YYYY-MM-DD`, and for datetimes an optional `[T ]HH:MM[:SS[.f]]` after it.
fn is_iso_date(text: &str, date_only: bool) -> bool {
    let text = text.trim();
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let date_ok = bytes.len() >= 10
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10);
    if !date_ok {
        return false;
    }
    let month: u32 = text[5..7].parse().unwrap_or(0);
    let day: u32 = text[8..10].parse().unwrap_or(0);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    if bytes.len() == 10 {
        return true;
    }
    if date_only {
        return false;
    }
    (bytes[10] == b'T' || bytes[10] == b' ')
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
}

pub(super) fn conversion_failures(original: &Series, converted: &Series) -> TypeViolations {
    let mut found = TypeViolations::default();
    let (Ok(original), true) = (
        original.cast(&DataType::String),
        original.len() == converted.len(),
    ) else {
        return found;
    };
    let Ok(texts) = original.str() else {
        return found;
    };
    let converted_nulls = converted.is_null();
    for (row, (text, now_null)) in texts.iter().zip(converted_nulls.iter()).enumerate() {
        if let (Some(text), Some(true)) = (text, now_null) {
            if text.trim().is_empty() {
                continue;
            }
            found.count += 1;
            if found.examples.len() < 5 {
                found.examples.push((row as u64 + 1, text.to_string()));
            }
        }
    }
    found
}

/// After a text read, give undeclared columns the type their values support.
pub(super) fn infer_undeclared(frame: &mut DataFrame, declared: &BTreeMap<String, ColumnType>) {
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    for name in names.into_iter().filter(|n| !declared.contains_key(n)) {
        let Ok(column) = frame.column(&name) else {
            continue;
        };
        let series = column.as_materialized_series().clone();
        for target in [DataType::Int64, DataType::Float64] {
            if let Ok(converted) = series.strict_cast(&target) {
                let _ = frame.replace(&name, converted.into());
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests;

/// A file's columns as a model reads them, and its row count: what
/// `dslp predict` and `dslp monitor` score. `file` names it in messages.
pub fn columns_of(
    bytes: &[u8],
    file: &str,
) -> Result<(Vec<(String, crate::data::column::ColumnView)>, usize), String> {
    let format = crate::data::spec::FileFormat::from_path(file)
        .ok_or_else(|| format!("{file}: cannot tell the format; use .csv, .parquet or .ndjson"))?;
    let loaded = read_table(bytes, format, file, &std::collections::BTreeMap::new())
        .map_err(|e| e.to_string())?;
    let columns = loaded
        .frame
        .columns()
        .iter()
        .map(|c| crate::data::column::ColumnView::of(c).map(|v| (c.name().to_string(), v)))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{file}: cannot read its columns: {e}"))?;
    Ok((columns, loaded.frame.height()))
}
