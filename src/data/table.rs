//! A dataset read for the data evidence: every column as a [`ColumnView`],
//! built a block of CSV records at a time.
//!
//! At 10⁷ rows a CSV file is over half a gigabyte and polars' frame of it
//! about a gigabyte; holding both, then converting the frame's columns, is
//! what made the evidence need two. Here the file is read in blocks of whole
//! records (validated as they pass: UTF-8, quotes, field counts), each block
//! is parsed by polars, and its columns are appended to compact builders:
//! numbers as `f64`, text with few levels as a `u32` code per row.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

use super::column::{Coded, ColumnView, Texts};
use super::csv::{BLOCK_BYTES, CsvBlocks};
use super::load::{
    Loaded, TypeViolations, conversion_failures, convert, guarded, parse_with_header, read_table,
};
use super::source::{DataError, Input};
use super::spec::{ColumnType, FileFormat};

/// Text columns with more distinct values than this are kept as polars
/// strings rather than coded.
const MAX_CODED_LEVELS: usize = 1 << 16;

/// A column's name and the type the first block gave it.
type TableColumnName = (String, DataType);

/// A dataset's columns, in file order.
#[derive(Debug, Clone)]
pub struct Table {
    pub rows: usize,
    pub columns: Vec<TableColumn>,
    /// Per declared column, the values that were not of its type.
    pub type_violations: BTreeMap<String, TypeViolations>,
}

#[derive(Debug, Clone)]
pub struct TableColumn {
    pub name: String,
    /// The type the column was read as (what the profile reports).
    pub dtype: DataType,
    pub view: ColumnView,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&TableColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The views of all columns but those named in `except`.
    pub fn views_except(&self, except: &[&str]) -> Vec<(String, ColumnView)> {
        self.columns
            .iter()
            .filter(|c| !except.contains(&c.name.as_str()))
            .map(|c| (c.name.clone(), c.view.clone()))
            .collect()
    }
}

/// Reads a dataset as `format`; `file` names it in messages, `declared`
/// gives the types the config expects, and `only`, when given, the columns
/// to keep.
pub fn read_columns(
    input: Input,
    format: FileFormat,
    file: &str,
    declared: &BTreeMap<String, ColumnType>,
    only: Option<&[String]>,
) -> Result<Table, DataError> {
    match format {
        FileFormat::Csv => read_csv_columns(input, file, declared, only, BLOCK_BYTES),
        FileFormat::Parquet | FileFormat::Ndjson => {
            let bytes = input.into_bytes(file)?;
            let loaded = read_table(&bytes, format, file, declared)?;
            drop(bytes);
            let mut table = Table {
                rows: loaded.frame.height(),
                columns: Vec::new(),
                type_violations: loaded.type_violations,
            };
            for column in loaded.frame.columns() {
                let name = column.name().to_string();
                if only.is_some_and(|only| !only.contains(&name)) {
                    continue;
                }
                let mut builder = Builder::for_dtype(column.dtype());
                builder
                    .push(column.as_materialized_series())
                    .map_err(|e| DataError::new(file, e.to_string()))?;
                table
                    .columns
                    .push(builder.finish(name, column.dtype().clone()));
            }
            Ok(table)
        }
    }
}

fn read_csv_columns(
    input: Input,
    file: &str,
    declared: &BTreeMap<String, ColumnType>,
    only: Option<&[String]>,
    block_bytes: usize,
) -> Result<Table, DataError> {
    let mut blocks = CsvBlocks::new(input, file, block_bytes)?;
    let mut table = Table {
        rows: 0,
        columns: Vec::new(),
        type_violations: BTreeMap::new(),
    };
    let mut columns = Columns::default();
    let header = blocks.header.clone();
    let total_bytes = blocks.total_bytes;
    while let Some(block) = blocks.next_block()? {
        let first = columns.schema.is_none();
        if !first && block.iter().all(u8::is_ascii_whitespace) {
            continue; // only blank lines
        }
        let mut frame = match &columns.schema {
            None => parse_with_header(&block, file, &header, declared)?,
            Some(schema) => later_block(&block, file, schema, &columns.projection, declared)?,
        };
        table.add_violations(&mut frame, table.rows as u64);
        if first {
            // Room for the whole file up front, estimated from the first
            // block with 5 % to spare: a vector that doubles as it grows
            // copies itself and, at the last doubling, holds twice its size.
            let rows = frame.frame.height() as u64;
            let estimate = total_bytes * rows / (block.len() as u64).max(1);
            columns.keep(frame.frame.schema().clone(), only, estimate);
        }
        columns
            .push(&frame.frame, first)
            .map_err(|e| DataError::new(file, e.to_string()))?;
        table.rows += frame.frame.height();
    }
    if columns.schema.is_none() {
        return Err(DataError::new(file, "the file has no header row"));
    }
    table.columns = columns.finish();
    Ok(table)
}

impl Table {
    /// A block's type violations, its rows counted from `offset`.
    fn add_violations(&mut self, frame: &mut Loaded, offset: u64) {
        for (name, mut violations) in std::mem::take(&mut frame.type_violations) {
            let entry = self.type_violations.entry(name).or_default();
            entry.count += violations.count;
            for (row, value) in violations.examples.drain(..) {
                if entry.examples.len() < 5 {
                    entry.examples.push((row + offset, value));
                }
            }
        }
    }
}

/// The columns being built. The first block sets the file's schema and,
/// per kept column, its position in that schema and its builder; later
/// blocks parse only the kept columns, in file order.
#[derive(Default)]
struct Columns {
    schema: Option<SchemaRef>,
    kept: Vec<(usize, TableColumnName, Builder)>,
    projection: Vec<usize>,
}

impl Columns {
    /// Keeps the columns `only` names (all without it), with room for
    /// about `rows` values each.
    fn keep(&mut self, schema: SchemaRef, only: Option<&[String]>, rows: u64) {
        for (position, (name, dtype)) in schema.iter().enumerate() {
            if only.is_none_or(|only| only.iter().any(|o| o.as_str() == name.as_str())) {
                self.kept.push((
                    position,
                    (name.to_string(), dtype.clone()),
                    Builder::for_dtype(dtype),
                ));
            }
        }
        self.projection = self.kept.iter().map(|(position, ..)| *position).collect();
        if self.projection.is_empty() {
            self.projection.push(0); // polars wants a column to count rows by
        }
        let reserve = (rows + rows / 20 + 1024) as usize;
        for (.., builder) in &mut self.kept {
            builder.reserve(reserve);
        }
        self.schema = Some(schema);
    }

    /// Appends a block's columns: the first block has every column of the
    /// file, later ones only the kept.
    fn push(&mut self, frame: &DataFrame, first: bool) -> PolarsResult<()> {
        let columns = frame.columns();
        self.kept
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(i, (position, _, builder))| {
                let column = if first {
                    &columns[*position]
                } else {
                    &columns[i]
                };
                builder.push(column.as_materialized_series())
            })
    }

    fn finish(self) -> Vec<TableColumn> {
        self.kept
            .into_iter()
            .map(|(_, (name, dtype), builder)| {
                let dtype = if !builder.is_numeric() && dtype.is_primitive_numeric() {
                    DataType::String // demoted: a later block held text
                } else {
                    dtype
                };
                builder.finish(name, dtype)
            })
            .collect()
    }
}

/// A later block, parsed with the schema the first block set.
fn later_block(
    bytes: &[u8],
    file: &str,
    schema: &SchemaRef,
    projection: &[usize],
    declared: &BTreeMap<String, ColumnType>,
) -> Result<Loaded, DataError> {
    let projection = (projection.len() < schema.len()).then(|| Arc::new(projection.to_vec()));
    let parse = |schema: SchemaRef| {
        guarded(file, || {
            CsvReadOptions::default()
                .with_has_header(false)
                .with_schema(Some(schema))
                .with_projection(projection.clone())
                .into_reader_with_file_handle(Cursor::new(bytes))
                .finish()
        })
    };
    if let Ok(frame) = parse(schema.clone()) {
        return Ok(Loaded {
            frame,
            type_violations: BTreeMap::new(),
        });
    }
    let text: Schema = schema
        .iter_names()
        .map(|name| Field::new(name.clone(), DataType::String))
        .collect();
    let mut frame = parse(Arc::new(text))?;
    let mut violations = BTreeMap::new();
    for (name, dtype) in schema.iter() {
        let Ok(column) = frame.column(name) else {
            continue;
        };
        let series = column.as_materialized_series().clone();
        let converted = match declared.get(name.as_str()) {
            Some(column_type) => {
                let Ok(converted) = convert(&series, *column_type) else {
                    continue;
                };
                let found = conversion_failures(&series, &converted);
                if found.count > 0 {
                    violations.insert(name.to_string(), found);
                }
                converted
            }
            // An undeclared column keeps the type the first block gave it
            // when it can; else it stays text (and its builder turns to text).
            None => series.strict_cast(dtype).unwrap_or(series),
        };
        let _ = frame.replace(name, converted.into());
    }
    Ok(Loaded {
        frame,
        type_violations: violations,
    })
}

/// A column being built, block by block.
enum Builder {
    Numbers(Vec<f64>),
    Levels {
        codes: Vec<u32>,
        levels: Vec<String>,
        index: ahash::HashMap<Box<str>, u32>,
    },
    Strings(Option<StringChunked>),
}

impl Builder {
    fn for_dtype(dtype: &DataType) -> Builder {
        if dtype.is_primitive_numeric() {
            Builder::Numbers(Vec::new())
        } else {
            Builder::Levels {
                codes: Vec::new(),
                levels: Vec::new(),
                index: ahash::HashMap::default(),
            }
        }
    }

    fn reserve(&mut self, rows: usize) {
        match self {
            Builder::Numbers(values) => values.reserve(rows),
            Builder::Levels { codes, .. } => codes.reserve(rows),
            Builder::Strings(_) => {}
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Builder::Numbers(_))
    }

    fn push(&mut self, series: &Series) -> PolarsResult<()> {
        if let Builder::Numbers(values) = self {
            if series.dtype().is_primitive_numeric() {
                let cast = series.cast(&DataType::Float64)?;
                for array in cast.f64()?.downcast_iter() {
                    if array.validity().map_or(0, |v| v.unset_bits()) == 0 {
                        values.extend_from_slice(array.values());
                    } else {
                        values.extend(array.iter().map(|v| v.copied().unwrap_or(f64::NAN)));
                    }
                }
                return Ok(());
            }
            // Text in a column that began as numbers: it becomes text.
            let mut text = Builder::for_dtype(&DataType::String);
            let earlier: StringChunked = values
                .iter()
                .map(|v| (!v.is_nan()).then(|| super::column::format_number(*v)))
                .collect();
            text.push(&earlier.into_series())?;
            *self = text;
        }
        if matches!(self, Builder::Levels { .. }) && series.dtype() == &DataType::Boolean {
            return self.push_booleans(series.bool()?);
        }
        let text = if series.dtype() == &DataType::String {
            series.clone()
        } else {
            series.cast(&DataType::String)?
        };
        let text = text.str()?;
        if let Builder::Levels {
            codes,
            levels,
            index,
        } = self
        {
            let mut overflow_at = None;
            for (i, value) in text.iter().enumerate() {
                let code = match value {
                    None => Coded::NULL,
                    Some(value) => match index.get(value) {
                        Some(code) => *code,
                        None if levels.len() < MAX_CODED_LEVELS => {
                            let code = levels.len() as u32;
                            levels.push(value.to_string());
                            index.insert(value.into(), code);
                            code
                        }
                        None => {
                            overflow_at = Some(i);
                            break;
                        }
                    },
                };
                codes.push(code);
            }
            let Some(at) = overflow_at else {
                return Ok(());
            };
            // Too many levels to code: polars strings from here on, the
            // rows coded so far decoded first.
            let coded = Texts::Coded(Arc::new(Coded {
                codes: std::mem::take(codes),
                levels: std::mem::take(levels),
            }));
            let mut strings: StringChunked = coded.iter().collect();
            strings.append(&text.slice(at as i64, text.len() - at))?;
            *self = Builder::Strings(Some(strings));
            return Ok(());
        }
        if let Builder::Strings(all) = self {
            match all {
                Some(all) => all.append(text)?,
                None => *all = Some(text.clone()),
            }
        }
        Ok(())
    }

    /// Booleans are coded as the levels `false` and `true`, looked up once.
    fn push_booleans(&mut self, values: &BooleanChunked) -> PolarsResult<()> {
        let Builder::Levels {
            codes,
            levels,
            index,
        } = self
        else {
            return Ok(());
        };
        let mut code_of = |text: &str| match index.get(text) {
            Some(code) => *code,
            None => {
                let code = levels.len() as u32;
                levels.push(text.to_string());
                index.insert(text.into(), code);
                code
            }
        };
        let (no, yes) = (code_of("false"), code_of("true"));
        codes.extend(values.iter().map(|v| match v {
            Some(true) => yes,
            Some(false) => no,
            None => Coded::NULL,
        }));
        Ok(())
    }

    fn finish(self, name: String, dtype: DataType) -> TableColumn {
        let view = match self {
            Builder::Numbers(values) => {
                ColumnView::Numeric(Float64Chunked::from_vec(name.as_str().into(), values))
            }
            Builder::Levels { codes, levels, .. } => {
                ColumnView::Text(Texts::Coded(Arc::new(Coded { codes, levels })))
            }
            Builder::Strings(all) => ColumnView::Text(Texts::Plain(
                all.unwrap_or_else(|| StringChunked::full_null(name.as_str().into(), 0)),
            )),
        };
        TableColumn { name, dtype, view }
    }
}

#[cfg(test)]
mod tests;
