//! Reading a dataset: safe paths, structural diagnostics with line and
//! column, and a typed parse whose type errors become failed checks.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use super::spec::{ColumnType, FileFormat};

/// Why a dataset could not be read. The message names the file, and the
/// line and column where known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", location(*line, *column))]
pub struct DataError {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

fn location(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl DataError {
    pub fn new(file: &str, message: impl Into<String>) -> DataError {
        DataError {
            file: file.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    fn at(file: &str, line: u64, column: Option<u64>, message: impl Into<String>) -> DataError {
        DataError {
            file: file.to_string(),
            line: Some(line),
            column,
            message: message.into(),
        }
    }
}

/// Resolves a dataset path from the config inside `root`. Absolute paths,
/// `..` escapes and symlinks leading outside the repository are refused.
pub fn resolve_in_repo(root: &Path, relative: &str) -> Result<PathBuf, DataError> {
    let given = Path::new(relative);
    if given.is_absolute() || relative.starts_with('/') || relative.starts_with('\\') {
        return Err(DataError::new(
            relative,
            "dataset paths are relative to the repository root; absolute paths are refused",
        ));
    }
    let mut depth: i64 = 0;
    for component in given.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err(DataError::new(
                        relative,
                        "the path leads outside the repository (`..`); datasets must live inside it",
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(DataError::new(
                    relative,
                    "dataset paths are relative to the repository root; absolute paths are refused",
                ));
            }
        }
    }
    let joined = root.join(given);
    let canonical_root = root.canonicalize().map_err(|e| {
        DataError::new(
            &root.display().to_string(),
            format!("cannot open the repository: {e}"),
        )
    })?;
    match joined.canonicalize() {
        Ok(real) if real.starts_with(&canonical_root) => regular_file(relative, real),
        Ok(_) => Err(DataError::new(
            relative,
            "the path is a symlink leading outside the repository; datasets must live inside it",
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(DataError::new(
            relative,
            "the file does not exist; check `path:` in .github/dslp.yml",
        )),
        Err(e) => Err(DataError::new(
            relative,
            format!("cannot read the file: {e}"),
        )),
    }
}

/// A dataset must be a regular file: reading a named pipe waits for a
/// writer forever, and a device never ends.
fn regular_file(relative: &str, real: PathBuf) -> Result<PathBuf, DataError> {
    let metadata = std::fs::metadata(&real)
        .map_err(|e| DataError::new(relative, format!("cannot read the file: {e}")))?;
    if metadata.is_file() {
        return Ok(real);
    }
    let what = if metadata.is_dir() {
        "a directory"
    } else {
        "not a regular file (a named pipe, a socket or a device)"
    };
    Err(DataError::new(
        relative,
        format!("the path is {what}; `path:` must name a data file inside the repository"),
    ))
}

/// Where a dataset's bytes are: in memory (a revision's blob), or a file of
/// the working tree, which CSV reading takes a block at a time so the whole
/// file is never in memory next to its columns.
#[derive(Debug)]
pub enum Input {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl From<Vec<u8>> for Input {
    fn from(bytes: Vec<u8>) -> Input {
        Input::Bytes(bytes)
    }
}

impl Input {
    /// The whole content (formats that are not read by blocks).
    pub fn into_bytes(self, file: &str) -> Result<Vec<u8>, DataError> {
        match self {
            Input::Bytes(bytes) => Ok(bytes),
            Input::File(path) => std::fs::read(&path)
                .map_err(|e| DataError::new(file, format!("cannot read the file: {e}"))),
        }
    }
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

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

fn check_utf8(bytes: &[u8], file: &str) -> Result<(), DataError> {
    check_utf8_at(bytes, file, 1)
}

/// As [`check_utf8`] for a part of a file that begins on line `first_line`.
pub(super) fn check_utf8_at(bytes: &[u8], file: &str, first_line: u64) -> Result<(), DataError> {
    if let Err(error) = std::str::from_utf8(bytes) {
        let offset = error.valid_up_to();
        let (line, column) = line_and_column(bytes, offset);
        return Err(DataError::at(
            file,
            first_line + line - 1,
            Some(column),
            format!(
                "the file is not UTF-8 (byte 0x{:02x}); save it as UTF-8",
                bytes[offset]
            ),
        ));
    }
    Ok(())
}

pub(super) fn line_and_column(bytes: &[u8], offset: usize) -> (u64, u64) {
    let before = &bytes[..offset];
    let line = memchr::memchr_iter(b'\n', before).count() as u64 + 1;
    let line_start = memchr::memrchr(b'\n', before).map(|p| p + 1).unwrap_or(0);
    (line, (offset - line_start) as u64 + 1)
}

/// One record: how many fields, where its text ends, where the next starts,
/// and how many line breaks it spans.
pub(super) struct Record {
    pub(super) fields: usize,
    pub(super) end: usize,
    pub(super) next: usize,
    pub(super) lines: u64,
}

/// Scans one record from `start` without allocating. Err holds the offset of
/// an unclosed quote.
pub(super) fn scan_record(bytes: &[u8], start: usize) -> Result<Record, usize> {
    let mut fields = 1usize;
    let mut pos = start;
    let mut lines = 0u64;
    while pos < bytes.len() {
        // Fast path: jump to the next byte that matters outside quotes.
        match memchr::memchr3(b'"', b',', b'\n', &bytes[pos..]) {
            None => break,
            Some(offset) => pos += offset,
        }
        match bytes[pos] {
            b',' => fields += 1,
            b'\n' => {
                let end = if pos > start && bytes[pos - 1] == b'\r' {
                    pos - 1
                } else {
                    pos
                };
                let blank = end == start;
                return Ok(Record {
                    fields: if blank { 0 } else { fields },
                    end,
                    next: pos + 1,
                    lines: lines + 1,
                });
            }
            _ => {
                // A quoted field: find its closing quote, `""` being an escaped one.
                let quote_at = pos;
                pos += 1;
                loop {
                    match memchr::memchr(b'"', &bytes[pos..]) {
                        None => return Err(quote_at),
                        Some(offset) => {
                            lines += memchr::memchr_iter(b'\n', &bytes[pos..pos + offset]).count()
                                as u64;
                            pos += offset + 1;
                            if bytes.get(pos) == Some(&b'"') {
                                pos += 1;
                                continue;
                            }
                            break;
                        }
                    }
                }
                continue;
            }
        }
        pos += 1;
    }
    let end = if bytes.len() > start && bytes[bytes.len() - 1] == b'\r' {
        bytes.len() - 1
    } else {
        bytes.len()
    };
    let blank = end == start;
    Ok(Record {
        fields: if blank { 0 } else { fields },
        end,
        next: bytes.len(),
        lines,
    })
}

/// The fields of one (header) record, unquoted.
pub(super) fn split_fields(record: &[u8]) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = Vec::new();
    let mut in_quotes = false;
    let mut i = 0;
    while i < record.len() {
        let byte = record[i];
        match (in_quotes, byte) {
            (true, b'"') if record.get(i + 1) == Some(&b'"') => {
                current.push(b'"');
                i += 1;
            }
            (true, b'"') => in_quotes = false,
            (false, b'"') => in_quotes = true,
            (false, b',') => fields.push(std::mem::take(&mut current)),
            _ => current.push(byte),
        }
        i += 1;
    }
    fields.push(current);
    fields
        .into_iter()
        .map(|f| String::from_utf8_lossy(&f).trim().to_string())
        .collect()
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
    let header = super::table::csv_header(bytes, file)?;
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
