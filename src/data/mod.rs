//! Data evidence: the data tests, profile, drift and leakage of the
//! datasets a repository declares under `datasets:`.
//!
//! Pure over bytes: the caller reads the files (from the working tree, or a
//! revision's object database) and this module decides.

pub mod check_result;
pub mod checks;
pub mod column;
pub mod csv;
pub mod drift;
pub mod leakage;
pub mod load;
pub mod profile;
pub mod source;
pub mod spec;
pub mod stats;
pub mod table;

use std::collections::BTreeMap;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use check_result::{CheckResult, Example};
use column::ColumnView;
use drift::ColumnDrift;
use load::read_table;
use profile::ColumnProfile;
use source::{DataError, Input};
use spec::{ColumnType, DatasetSpec, FileFormat, SplitSpec};
use stats::ValueCounts;
use table::{Table, read_columns};

/// Everything learnt about one dataset.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetReport {
    pub name: String,
    pub path: String,
    pub rows: Option<u64>,
    pub checks: Vec<CheckResult>,
    pub profile: Vec<ColumnProfile>,
    /// `None` when no base revision was compared.
    pub drift: Option<Vec<ColumnDrift>>,
    /// Why drift could not be computed, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_note: Option<String>,
    /// What the bytes are and where they live, for a dataset version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<DataContent>,
}

/// A dataset file's identity: its sha256 and where its bytes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataContent {
    pub sha256: String,
    pub source: source::SourceKind,
}

impl DatasetReport {
    /// True when no check failed at error level.
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(CheckResult::blocks)
    }
}

/// A file's bytes, or why they could not be read.
pub type FileInput = Result<Input, DataError>;

/// The files of one dataset, read by the caller.
pub struct DatasetFiles<'a> {
    pub head: Result<Input, DataError>,
    /// The same path at the base revision, when comparing; read only after
    /// the head has been processed and let go, so both are never in memory.
    pub base: Option<Source<'a>>,
    /// The train and test files of a `split: { train_path, test_path }`.
    pub split: Option<(FileInput, FileInput)>,
}

/// A file's bytes, read when first needed.
pub struct Source<'a>(Box<dyn FnOnce() -> FileInput + 'a>);

impl<'a> Source<'a> {
    pub fn lazy(read: impl FnOnce() -> FileInput + 'a) -> Source<'a> {
        Source(Box::new(read))
    }

    pub fn read(self) -> FileInput {
        (self.0)()
    }
}

impl From<FileInput> for Source<'_> {
    fn from(bytes: FileInput) -> Self {
        Source::lazy(move || bytes)
    }
}

/// What drift needs of a head column once the head's table is gone.
enum HeadColumn {
    Numeric(ValueCounts),
    /// The count per level (columns with few levels only).
    Levels(BTreeMap<String, u64>),
}

/// The format of a dataset: declared, or by extension.
pub fn format_of(spec: &DatasetSpec) -> Result<FileFormat, DataError> {
    spec.format
        .or_else(|| FileFormat::from_path(&spec.path.0))
        .ok_or_else(|| {
            DataError::new(
                &spec.path.0,
                "cannot tell the format from the extension; add `format: csv | parquet | ndjson`",
            )
        })
}

/// Runs every check, the profile, drift and leakage for one dataset.
pub fn evaluate(name: &str, spec: &DatasetSpec, files: DatasetFiles<'_>) -> DatasetReport {
    let mut report = DatasetReport {
        name: name.to_string(),
        path: spec.path.0.clone(),
        rows: None,
        checks: Vec::new(),
        profile: Vec::new(),
        drift: None,
        drift_note: None,
        content: None,
    };
    let declared: BTreeMap<String, ColumnType> = spec
        .columns
        .iter()
        .filter_map(|(name, c)| c.column_type.map(|t| (name.clone(), t)))
        .collect();
    let table = format_of(spec)
        .and_then(|format| read_columns(files.head?, format, &spec.path.0, &declared, None));
    let table = match table {
        Ok(table) => table,
        Err(error) => {
            report
                .checks
                .push(CheckResult::unreadable(&error, "dataset"));
            return report;
        }
    };
    report.rows = Some(table.rows as u64);
    let for_drift = files.base.is_some();
    let split_files = files.split;
    let ((checks, (profile, head_columns)), leakage) = rayon::join(
        || {
            rayon::join(
                || checks::run(spec, &table),
                || profile_columns(&table, spec, for_drift),
            )
        },
        || leakage_checks(spec, &table, split_files, &declared),
    );
    report.checks = checks;
    report.profile = profile;
    // Let the head go before the base is read: at 10⁷ rows it is most of a gigabyte.
    drop(table);
    if let Some(source) = files.base {
        let wanted: Vec<String> = head_columns.iter().map(|(n, _)| n.clone()).collect();
        let base = source.read().map_err(|e| e.to_string()).and_then(|input| {
            format_of(spec)
                .and_then(|format| {
                    read_columns(input, format, &spec.path.0, &declared, Some(&wanted))
                })
                .map_err(|error| format!("the base revision's file cannot be read: {error}"))
        });
        match base {
            Ok(base) => {
                let drifts = drift_against(&head_columns, &base);
                if let Some(limits) = &spec.drift {
                    report.checks.extend(drift::checks(&drifts, limits));
                }
                report.drift = Some(drifts);
            }
            Err(note) => report.drift_note = Some(note),
        }
    }
    report.checks.extend(leakage);
    report
}

/// The profile of every column and, when drift is wanted, what drift will
/// need of each column, one column per task.
fn profile_columns(
    table: &Table,
    spec: &DatasetSpec,
    for_drift: bool,
) -> (Vec<ColumnProfile>, Vec<(String, HeadColumn)>) {
    let split_column = match &spec.split {
        Some(SplitSpec::Column { column, .. }) => Some(column.as_str()),
        _ => None,
    };
    let profiled: Vec<(ColumnProfile, Option<HeadColumn>)> = table
        .columns
        .par_iter()
        .map(|column| {
            let keep = for_drift && Some(column.name.as_str()) != split_column;
            let dtype = column.dtype.to_string();
            match &column.view {
                ColumnView::Numeric(values) => {
                    let counts = ValueCounts::of(|| column::numbers_of(values));
                    let profile = profile::numeric(&column.name, dtype, table.rows as u64, &counts);
                    (profile, keep.then_some(HeadColumn::Numeric(counts)))
                }
                ColumnView::Text(_) => {
                    let (profile, levels) = profile::text(&column.name, dtype, &column.view);
                    (profile, levels.filter(|_| keep).map(HeadColumn::Levels))
                }
            }
        })
        .collect();
    let mut profiles = Vec::with_capacity(profiled.len());
    let mut kept = Vec::new();
    for ((profile, head), column) in profiled.into_iter().zip(&table.columns) {
        profiles.push(profile);
        if let Some(head) = head {
            kept.push((column.name.clone(), head));
        }
    }
    (profiles, kept)
}

/// Each kept head column's drift against the same column of the base.
fn drift_against(head: &[(String, HeadColumn)], base: &Table) -> Vec<ColumnDrift> {
    head.par_iter()
        .filter_map(|(name, column)| {
            let base_view = &base.column(name)?.view;
            match (column, base_view) {
                (HeadColumn::Numeric(head_counts), ColumnView::Numeric(values)) => {
                    let base_counts = ValueCounts::of(|| column::numbers_of(values));
                    Some(drift::numeric(name, &base_counts, head_counts))
                }
                (HeadColumn::Levels(head_levels), ColumnView::Text(texts)) => texts
                    .level_counts(profile::MAX_LEVELS as usize)
                    .map(|base_levels| drift::categorical(name, &base_levels, head_levels)),
                _ => None,
            }
        })
        .collect()
}

/// Every column of a frame as a view, in the frame's order.
fn views_of(frame: &DataFrame) -> PolarsResult<Vec<(String, ColumnView)>> {
    frame
        .columns()
        .iter()
        .map(|c| Ok((c.name().to_string(), ColumnView::of(c)?)))
        .collect()
}

fn leakage_checks(
    spec: &DatasetSpec,
    table: &Table,
    split_files: Option<(FileInput, FileInput)>,
    declared: &BTreeMap<String, ColumnType>,
) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let target = spec.target.as_deref();
    match &spec.split {
        Some(SplitSpec::Column {
            column,
            train,
            test,
        }) => match table.column(column) {
            Some(split) => {
                let (is_train, is_test) = split.view.membership(train, test);
                let features = table.views_except(&[column]);
                results.push(leakage::shared_rows(&features, &is_train, &is_test));
            }
            None => results.push(CheckResult::table(
                "split column",
                &format!("the split column `{column}` exists"),
                false,
                "missing".into(),
            )),
        },
        Some(SplitSpec::Files { .. }) => {
            if let Some((train, test)) = split_files {
                match split_frames(spec, train, test, declared) {
                    Ok((frame, train_rows)) => match views_of(&frame) {
                        Ok(features) => {
                            let is_train: Vec<bool> =
                                (0..frame.height()).map(|r| r < train_rows).collect();
                            let is_test: Vec<bool> = is_train.iter().map(|t| !t).collect();
                            results.push(leakage::shared_rows(&features, &is_train, &is_test));
                        }
                        Err(e) => results.push(CheckResult::unreadable(
                            &DataError::new(&spec.path.0, e.to_string()),
                            "split",
                        )),
                    },
                    Err(error) => results.push(CheckResult::unreadable(&error, "train/test split")),
                }
            }
        }
        None => {}
    }
    if let Some(target) = target {
        match table.column(target) {
            Some(target_column) => {
                let split_column = match &spec.split {
                    Some(SplitSpec::Column { column, .. }) => column.as_str(),
                    _ => target,
                };
                let features = table.views_except(&[target, split_column]);
                results.extend(leakage::leaky_features(
                    &features,
                    target,
                    &target_column.view,
                ));
            }
            None => results.push(CheckResult::table(
                "target column",
                &format!("the target `{target}` exists"),
                false,
                format!("missing; the file has {} columns", table.columns.len()),
            )),
        }
    }
    results
}

/// The train and test files stacked into one frame, and the training rows' count.
fn split_frames(
    spec: &DatasetSpec,
    train: FileInput,
    test: FileInput,
    declared: &BTreeMap<String, ColumnType>,
) -> Result<(DataFrame, usize), DataError> {
    let Some(SplitSpec::Files {
        train_path,
        test_path,
    }) = &spec.split
    else {
        return Err(DataError::new(&spec.path.0, "no split files declared"));
    };
    let read = |input: FileInput, path: &str| -> Result<DataFrame, DataError> {
        let bytes = input?.into_bytes(path)?;
        let format = FileFormat::from_path(path)
            .or(spec.format)
            .unwrap_or(FileFormat::Csv);
        Ok(read_table(&bytes, format, path, declared)?.frame)
    };
    let (train_path, test_path) = (&train_path.0, &test_path.0);
    let train = read(train, train_path)?;
    let test = read(test, test_path)?;
    let rows = train.height();
    let stacked = train.vstack(&test).map_err(|e| {
        DataError::new(
            test_path,
            format!(
                "the test file's columns differ from the training file's: {}",
                e.to_string().lines().next().unwrap_or("")
            ),
        )
    })?;
    Ok((stacked, rows))
}
