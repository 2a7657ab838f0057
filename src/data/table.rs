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
use std::io::{Cursor, Read};
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

use super::column::{Coded, ColumnView, Texts};
use super::load::{
    DataError, Input, Loaded, TypeViolations, check_utf8_at, conversion_failures, convert, guarded,
    parse_with_header, read_table, scan_record, split_fields,
};
use super::spec::{ColumnType, FileFormat};

/// Records are handed to polars in blocks of about this many bytes.
const BLOCK_BYTES: usize = 32 << 20;
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
    // Set by the first block: the file's schema, and per kept column its
    // position in that schema and its builder.
    let mut schema: Option<SchemaRef> = None;
    let mut kept: Vec<(usize, TableColumnName, Builder)> = Vec::new();
    // Later blocks parse only the kept columns, in file order.
    let mut projection: Vec<usize> = Vec::new();
    let header = blocks.header.clone();
    let total_bytes = blocks.total_bytes;
    while let Some(block) = blocks.next_block()? {
        let first = schema.is_none();
        if !first && block.iter().all(u8::is_ascii_whitespace) {
            continue; // only blank lines
        }
        let this_block = block.len();
        let mut frame = match &schema {
            None => parse_with_header(&block, file, &header, declared)?,
            Some(schema) => later_block(&block, file, schema, &projection, declared)?,
        };
        let offset = table.rows as u64;
        for (name, mut violations) in std::mem::take(&mut frame.type_violations) {
            let entry = table.type_violations.entry(name).or_default();
            entry.count += violations.count;
            for (row, value) in violations.examples.drain(..) {
                if entry.examples.len() < 5 {
                    entry.examples.push((row + offset, value));
                }
            }
        }
        if first {
            let file_schema = frame.frame.schema().clone();
            for (position, (name, dtype)) in file_schema.iter().enumerate() {
                if only.is_none_or(|only| only.iter().any(|o| o.as_str() == name.as_str())) {
                    kept.push((
                        position,
                        (name.to_string(), dtype.clone()),
                        Builder::for_dtype(dtype),
                    ));
                }
            }
            projection = kept.iter().map(|(position, ..)| *position).collect();
            if projection.is_empty() {
                projection.push(0); // polars wants a column to count rows by
            }
            // Room for the whole file up front, estimated from the first
            // block with 5 % to spare: a vector that doubles as it grows
            // copies itself and, at the last doubling, holds twice its size.
            let rows = frame.frame.height() as u64;
            let estimate = total_bytes * rows / (this_block as u64).max(1);
            let estimate = (estimate + estimate / 20 + 1024) as usize;
            for (.., builder) in &mut kept {
                builder.reserve(estimate);
            }
            schema = Some(file_schema);
        }
        let columns = frame.frame.columns();
        kept.par_iter_mut()
            .enumerate()
            .try_for_each(|(i, (position, _, builder))| {
                let column = if first {
                    &columns[*position]
                } else {
                    &columns[i]
                };
                builder.push(column.as_materialized_series())
            })
            .map_err(|e| DataError::new(file, e.to_string()))?;
        table.rows += frame.frame.height();
    }
    if schema.is_none() {
        return Err(DataError::new(file, "the file has no header row"));
    }
    table.columns = kept
        .into_iter()
        .map(|(_, (name, dtype), builder)| {
            let dtype = if !builder.is_numeric() && dtype.is_primitive_numeric() {
                DataType::String // demoted: a later block held text
            } else {
                dtype
            };
            builder.finish(name, dtype)
        })
        .collect();
    Ok(table)
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

/// Whole CSV records from an [`Input`], a block at a time, checked as they
/// pass: UTF-8, closed quotes, and as many fields as the header.
struct CsvBlocks<'f> {
    file_name: &'f str,
    reader: Option<std::fs::File>,
    buffer: std::borrow::Cow<'f, [u8]>,
    /// Bytes before this have been handed out.
    handed: usize,
    /// Bytes before this have been checked.
    start: usize,
    /// Whether `buffer` holds the rest of the input.
    complete: bool,
    /// The line number of `buffer[start]`.
    line: u64,
    header: Vec<String>,
    /// The size of the whole input.
    total_bytes: u64,
    block_bytes: usize,
    /// Blank lines checked but not handed out, as byte ranges of `buffer`:
    /// polars would read each as a row of nulls; they are left out, as
    /// pandas leaves them out.
    blank_lines: Vec<std::ops::Range<usize>>,
    /// Where the header record ends, until the first block is handed out:
    /// that block holds at least one record after it, when there is one, so
    /// polars infers types from data.
    header_end: Option<usize>,
}

impl<'f> CsvBlocks<'f> {
    fn new(
        input: Input,
        file_name: &'f str,
        block_bytes: usize,
    ) -> Result<CsvBlocks<'f>, DataError> {
        match input {
            Input::Bytes(bytes) => CsvBlocks::start(bytes.into(), None, file_name, block_bytes),
            Input::File(path) => {
                let file = std::fs::File::open(&path)
                    .map_err(|e| DataError::new(file_name, format!("cannot read the file: {e}")))?;
                CsvBlocks::start(Vec::new().into(), Some(file), file_name, block_bytes)
            }
        }
    }

    /// Over `buffer`, then what `reader` holds; the header is read.
    fn start(
        buffer: std::borrow::Cow<'f, [u8]>,
        reader: Option<std::fs::File>,
        file_name: &'f str,
        block_bytes: usize,
    ) -> Result<CsvBlocks<'f>, DataError> {
        let total_bytes = match &reader {
            Some(file) => file
                .metadata()
                .map_err(|e| DataError::new(file_name, format!("cannot read the file: {e}")))?
                .len(),
            None => buffer.len() as u64,
        };
        let mut blocks = CsvBlocks {
            file_name,
            complete: reader.is_none(),
            reader,
            buffer,
            handed: 0,
            start: 0,
            line: 1,
            header: Vec::new(),
            total_bytes,
            block_bytes,
            blank_lines: Vec::new(),
            header_end: None,
        };
        blocks.fill()?;
        while !blocks.complete && blocks.buffer.iter().all(u8::is_ascii_whitespace) {
            blocks.fill()?;
        }
        if blocks.buffer.iter().all(u8::is_ascii_whitespace) {
            return Err(DataError::new(file_name, "the file is empty"));
        }
        blocks.read_header()?;
        Ok(blocks)
    }

    /// Reads up to one more block from the file, keeping what is not handed out.
    fn fill(&mut self) -> Result<(), DataError> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(());
        };
        let buffer = self.buffer.to_mut();
        if self.handed > 0 {
            buffer.drain(..self.handed);
            self.start -= self.handed;
            for blank in &mut self.blank_lines {
                *blank = blank.start - self.handed..blank.end - self.handed;
            }
            if let Some(end) = &mut self.header_end {
                *end -= self.handed;
            }
            self.handed = 0;
        }
        let before = buffer.len();
        reader
            .take(self.block_bytes as u64)
            .read_to_end(buffer)
            .map_err(|e| DataError::new(self.file_name, format!("cannot read the file: {e}")))?;
        if buffer.len() - before < self.block_bytes {
            self.complete = true;
        }
        Ok(())
    }

    /// The first record that is not blank; it stays in the first block.
    fn read_header(&mut self) -> Result<(), DataError> {
        while self.header.is_empty() {
            if self.start >= self.buffer.len() {
                if self.complete {
                    return Err(DataError::new(self.file_name, "the file has no header row"));
                }
                self.fill()?;
                continue;
            }
            let Some(record) = self.next_record()? else {
                self.fill()?;
                continue;
            };
            if record.fields == 0 {
                self.blank_lines.push(self.start..record.next);
            } else {
                self.header = split_fields(&self.buffer[self.start..record.end]);
                let mut seen = std::collections::HashSet::new();
                if let Some(name) = self.header.iter().find(|n| !seen.insert(n.as_str())) {
                    return Err(DataError {
                        file: self.file_name.to_string(),
                        line: Some(self.line),
                        column: None,
                        message: format!("the header names column `{name}` twice"),
                    });
                }
            }
            self.line += record.lines;
            self.start = record.next;
        }
        self.header_end = Some(self.start);
        Ok(())
    }

    /// The record at `start`, checked for UTF-8; `None` when it may go on
    /// past what has been read.
    fn next_record(&self) -> Result<Option<super::load::Record>, DataError> {
        let bytes = &self.buffer;
        let record = match scan_record(bytes, self.start) {
            Ok(record) => record,
            Err(_) if !self.complete => return Ok(None),
            Err(quote_at) => {
                let (l, c) =
                    super::load::line_and_column(&bytes[self.start..], quote_at - self.start);
                return Err(DataError {
                    file: self.file_name.to_string(),
                    line: Some(self.line + l - 1),
                    column: Some(c),
                    message: "a quoted field is never closed; check the quotes on this line".into(),
                });
            }
        };
        if record.next == bytes.len() && !self.complete && bytes.last() != Some(&b'\n') {
            return Ok(None);
        }
        check_utf8_at(&bytes[self.start..record.next], self.file_name, self.line)?;
        Ok(Some(record))
    }

    /// The next block of whole records (the first one begins with the
    /// header), or `None` at the end.
    fn next_block(&mut self) -> Result<Option<std::borrow::Cow<'_, [u8]>>, DataError> {
        loop {
            self.scan()?;
            let at_end = self.complete && self.start >= self.buffer.len();
            let has_records = self.start > self.header_end.unwrap_or(self.handed);
            let big_enough = self.start - self.handed >= self.block_bytes / 2;
            let header_only = at_end && self.header_end.is_some();
            if has_records && (big_enough || at_end) || header_only {
                self.header_end = None;
                let from = std::mem::replace(&mut self.handed, self.start);
                let block = &self.buffer[from..self.start];
                if self.blank_lines.is_empty() {
                    return Ok(Some(block.into()));
                }
                let mut kept = Vec::with_capacity(block.len());
                let mut at = from;
                for blank in self.blank_lines.drain(..) {
                    kept.extend_from_slice(&self.buffer[at..blank.start]);
                    at = blank.end;
                }
                kept.extend_from_slice(&self.buffer[at..self.start]);
                return Ok(Some(kept.into()));
            }
            if at_end {
                return Ok(None);
            }
            if !self.complete {
                self.fill()?;
            }
        }
    }

    /// Checks the records from `start` on, up to one block past `handed`.
    fn scan(&mut self) -> Result<(), DataError> {
        let fields = self.header.len();
        // At least one record per call, however small the blocks.
        let limit = (self.handed + self.block_bytes)
            .max(self.start + 1)
            .min(self.buffer.len());
        // Without quotes a record is a line and its fields are its commas
        // plus one: counted a line at a time (the compiler vectorises it),
        // in pieces on both cores, since polars waits for the check.
        let window = &self.buffer[self.start..limit.max(self.start)];
        if let Some(last_newline) = memchr::memrchr(b'\n', window) {
            let window = &window[..last_newline + 1];
            if memchr::memchr(b'"', window).is_none() {
                let pieces = pieces_at_newlines(window, (self.block_bytes / 8).clamp(64, 1 << 20));
                let checked: Vec<PieceCheck> = pieces
                    .par_iter()
                    .map(|piece| check_piece(&window[piece.clone()], fields))
                    .collect();
                for (piece, check) in pieces.iter().zip(checked) {
                    if check.utf8_error {
                        check_utf8_at(&window[piece.clone()], self.file_name, self.line)?;
                    }
                    if let Some((line, found)) = check.ragged {
                        return Err(ragged(self.file_name, self.line + line, found, fields));
                    }
                    let base = self.start + piece.start;
                    self.blank_lines.extend(
                        check
                            .blank_lines
                            .into_iter()
                            .map(|b| base + b.start..base + b.end),
                    );
                    self.line += check.lines;
                }
                self.start += window.len();
                return Ok(());
            }
        }
        while self.start < limit {
            let Some(record) = self.next_record()? else {
                break;
            };
            if record.fields == 0 {
                self.blank_lines.push(self.start..record.next);
            } else if record.fields != fields {
                return Err(ragged(self.file_name, self.line, record.fields, fields));
            }
            self.line += record.lines;
            self.start = record.next;
        }
        Ok(())
    }
}

/// What checking one quote-free piece of whole lines found.
struct PieceCheck {
    lines: u64,
    utf8_error: bool,
    /// (0-based line within the piece, fields found) of the first ragged line.
    ragged: Option<(u64, usize)>,
    /// Blank lines, as byte ranges of the piece.
    blank_lines: Vec<std::ops::Range<usize>>,
}

fn check_piece(piece: &[u8], fields: usize) -> PieceCheck {
    let mut check = PieceCheck {
        lines: 0,
        utf8_error: std::str::from_utf8(piece).is_err(),
        ragged: None,
        blank_lines: Vec::new(),
    };
    let mut at = 0;
    for line_end in memchr::memchr_iter(b'\n', piece) {
        let line = &piece[at..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            check.blank_lines.push(at..line_end + 1);
        } else {
            let found = line.iter().filter(|b| **b == b',').count() + 1;
            if found != fields {
                check.ragged = Some((check.lines, found));
                return check;
            }
        }
        check.lines += 1;
        at = line_end + 1;
    }
    check
}

/// `bytes` (whole lines) cut into ranges of about `size` bytes, each
/// ending just after a line break.
fn pieces_at_newlines(bytes: &[u8], size: usize) -> Vec<std::ops::Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = match memchr::memchr(b'\n', &bytes[(start + size).min(bytes.len() - 1)..]) {
            Some(offset) => (start + size).min(bytes.len() - 1) + offset + 1,
            None => bytes.len(),
        };
        pieces.push(start..end);
        start = end;
    }
    pieces
}

/// The header of a CSV held in memory, after checking every record as
/// [`read_columns`] does: for readers that parse a file whole.
pub fn csv_header(bytes: &[u8], file: &str) -> Result<Vec<String>, DataError> {
    let mut blocks = CsvBlocks::start(bytes.into(), None, file, BLOCK_BYTES)?;
    while blocks.start < blocks.buffer.len() {
        // Nothing is handed out: move the block window along with the scan.
        blocks.handed = blocks.start;
        blocks.blank_lines.clear();
        blocks.scan()?;
    }
    Ok(blocks.header)
}

fn ragged(file: &str, line: u64, found: usize, wanted: usize) -> DataError {
    DataError {
        file: file.to_string(),
        line: Some(line),
        column: None,
        message: format!("the row has {found} fields but the header has {wanted}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every cell as the reports show it, per column.
    fn cells(table: &Table) -> Vec<(String, String, Vec<String>)> {
        table
            .columns
            .iter()
            .map(|c| {
                let values = (0..c.view.len()).map(|r| c.view.display(r)).collect();
                (c.name.clone(), c.dtype.to_string(), values)
            })
            .collect()
    }

    /// The first cell where two tables differ, if any.
    fn difference(a: &Table, b: &Table) -> Option<String> {
        let (a, b) = (cells(a), cells(b));
        if a.len() != b.len() {
            return Some(format!("{} columns vs {}", a.len(), b.len()));
        }
        for ((name, dtype, values), (_, other_dtype, other)) in a.iter().zip(&b) {
            if dtype != other_dtype || values.len() != other.len() {
                return Some(format!(
                    "{name}: {dtype}×{} vs {other_dtype}×{}",
                    values.len(),
                    other.len()
                ));
            }
            if let Some(row) = (0..values.len()).find(|r| values[*r] != other[*r]) {
                return Some(format!(
                    "{name} row {row}: {:?} vs {:?}",
                    values[row], other[row]
                ));
            }
        }
        None
    }

    fn read(
        bytes: &[u8],
        block_bytes: usize,
        declared: &[(&str, ColumnType)],
    ) -> Result<Table, DataError> {
        let declared = declared.iter().map(|(n, t)| (n.to_string(), *t)).collect();
        read_csv_columns(
            Input::Bytes(bytes.to_vec()),
            "t.csv",
            &declared,
            None,
            block_bytes,
        )
    }

    /// A CSV whose later rows hold what the first do not: quotes with commas
    /// and line breaks, CRLF, blank lines, a wrong type in a declared column
    /// and text in a column that began as numbers.
    fn awkward_csv(rows: usize) -> String {
        let mut csv = String::from("id,amount,note,flag,late\r\n");
        for i in 0..rows {
            let amount = if i == rows - 3 {
                "lots".to_string()
            } else {
                format!("{}.5", i % 17)
            };
            let note = match i % 5 {
                0 => "\"a, b\"".to_string(),
                1 => "\"two\nlines\"".to_string(),
                2 => String::new(),
                3 => "\"say \"\"hi\"\"\"".to_string(),
                _ => format!("n{}", i % 3),
            };
            let late = if i == rows - 2 {
                "x".to_string()
            } else {
                (i % 4).to_string()
            };
            csv.push_str(&format!("{i},{amount},{note},{},{late}\r\n", i % 2 == 0));
            if i % 7 == 0 {
                csv.push_str("\r\n");
            }
        }
        csv
    }

    #[test]
    fn blocks_of_any_size_read_the_same_table() {
        let csv = awkward_csv(400);
        let declared = [("amount", ColumnType::Float), ("flag", ColumnType::Bool)];
        let whole = read(csv.as_bytes(), 1 << 30, &declared).unwrap();
        assert_eq!(whole.rows, 400);
        let amount = &whole.type_violations["amount"];
        assert_eq!(
            (amount.count, amount.examples.clone()),
            (1, vec![(398, "lots".into())])
        );
        for block_bytes in [1, 7, 64, 300, 4096] {
            let blocks = read(csv.as_bytes(), block_bytes, &declared).unwrap();
            assert_eq!(blocks.rows, whole.rows, "{block_bytes}");
            assert_eq!(difference(&blocks, &whole), None, "{block_bytes}");
            assert_eq!(
                blocks.type_violations, whole.type_violations,
                "{block_bytes}"
            );
        }
        // The file is read a block at a time too, from disk.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, &csv).unwrap();
        let declared_map = declared.iter().map(|(n, t)| (n.to_string(), *t)).collect();
        let from_file =
            read_csv_columns(Input::File(path), "t.csv", &declared_map, None, 97).unwrap();
        assert_eq!(difference(&from_file, &whole), None);
    }

    #[test]
    fn a_late_column_turns_to_text_and_errors_name_their_line_in_any_block() {
        let csv = awkward_csv(300);
        let table = read(csv.as_bytes(), 50, &[]).unwrap();
        let late = table.column("late").unwrap();
        assert_eq!(late.dtype, DataType::String);
        assert_eq!(late.view.display(298), "x");
        assert_eq!(late.view.display(3), "3");
        let ragged = "a,b\n1,2\n3,4\n5\n";
        for block_bytes in [1, 4, 1 << 20] {
            let error = read(ragged.as_bytes(), block_bytes, &[]).unwrap_err();
            assert_eq!(
                error.to_string(),
                "t.csv:4: the row has 1 fields but the header has 2"
            );
        }
        let unclosed = "a,b\n1,2\n\"3,4\n";
        let error = read(unclosed.as_bytes(), 3, &[]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("t.csv:3:1: a quoted field is never closed"),
            "{error}"
        );
    }

    #[test]
    fn only_the_wanted_columns_are_kept_and_none_is_fine() {
        let csv = "a,b\n1,2\n3,4\n5,6\n";
        let declared = BTreeMap::new();
        let read_only = |only: &[String]| {
            read_csv_columns(
                csv.as_bytes().to_vec().into(),
                "t",
                &declared,
                Some(only),
                4,
            )
        };
        let none = read_only(&[]).unwrap();
        assert_eq!((none.rows, none.columns.len()), (3, 0));
        let b = read_only(&["b".into()]).unwrap();
        assert_eq!(b.columns.len(), 1);
        assert_eq!(b.columns[0].view.display(2), "6");
    }

    #[test]
    fn quote_free_lines_are_checked_in_pieces_with_their_line_numbers() {
        let mut csv = String::from("a,b\n");
        for i in 0..2000 {
            csv.push_str(&format!("{i},{}\n", i % 3));
            if i % 100 == 0 {
                csv.push('\n');
            }
        }
        let whole = read(csv.as_bytes(), 1 << 30, &[]).unwrap();
        assert_eq!(whole.rows, 2000);
        for block_bytes in [512, 4096] {
            assert_eq!(
                difference(&read(csv.as_bytes(), block_bytes, &[]).unwrap(), &whole),
                None
            );
        }
        // Line 1 is the header; data row 1500 sits on line 1 + 1500 + 15 blank lines.
        let broken = csv.replacen("1499,2\n", "1499,2,9\n", 1);
        for block_bytes in [512, 4096, 1 << 30] {
            let error = read(broken.as_bytes(), block_bytes, &[]).unwrap_err();
            assert_eq!(
                error.to_string(),
                "t.csv:1516: the row has 3 fields but the header has 2"
            );
        }
        let latin = csv
            .replacen("1499,2\n", "1499,\u{f6}\n", 1)
            .replace('\u{f6}', "\u{1}");
        let mut bytes = latin.into_bytes();
        let at = bytes.iter().position(|b| *b == 1).unwrap();
        bytes[at] = 0xf6;
        let error = read(&bytes, 512, &[]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("t.csv:1516:6: the file is not UTF-8"),
            "{error}"
        );
    }

    proptest! {
        #[test]
        fn small_blocks_agree_with_one_block(
            cells_in in proptest::collection::vec(
                proptest::collection::vec("[a-c0-9,\"\n ]{0,4}", 3), 1..40),
            block_bytes in 1usize..200,
        ) {
            let mut csv = String::from("x,y,z\n");
            for row in &cells_in {
                let quoted: Vec<String> =
                    row.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
                csv.push_str(&quoted.join(","));
                csv.push('\n');
            }
            // Declared as text: which types polars infers depends on the rows
            // it sees first, and that is the first block's business.
            let text = [("x", ColumnType::String), ("y", ColumnType::String), ("z", ColumnType::String)];
            let whole = read(csv.as_bytes(), 1 << 30, &text);
            let blocks = read(csv.as_bytes(), block_bytes, &text);
            match (whole, blocks) {
                (Ok(whole), Ok(blocks)) => prop_assert_eq!(difference(&blocks, &whole), None),
                (whole, blocks) => prop_assert_eq!(
                    whole.map(|t| t.rows).map_err(|e| e.to_string()),
                    blocks.map(|t| t.rows).map_err(|e| e.to_string())
                ),
            }
        }
    }
}
