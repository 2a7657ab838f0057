//! CSV as dslp-bot reads it: records scanned and checked as they pass
//! (UTF-8, closed quotes, as many fields as the header), a block of whole
//! records at a time, with a line and column for every problem.

use std::io::Read;

use rayon::prelude::*;

use super::source::{DataError, Input};

/// Records are handed to polars in blocks of about this many bytes.
pub(super) const BLOCK_BYTES: usize = 32 << 20;

pub(super) fn check_utf8(bytes: &[u8], file: &str) -> Result<(), DataError> {
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

/// Whole CSV records from an [`Input`], a block at a time, checked as they
/// pass: UTF-8, closed quotes, and as many fields as the header.
pub(super) struct CsvBlocks<'f> {
    file_name: &'f str,
    reader: Option<Box<dyn Read + Send>>,
    buffer: std::borrow::Cow<'f, [u8]>,
    /// Bytes before this have been handed out.
    handed: usize,
    /// Bytes before this have been checked.
    start: usize,
    /// Whether `buffer` holds the rest of the input.
    complete: bool,
    /// The line number of `buffer[start]`.
    line: u64,
    pub(super) header: Vec<String>,
    /// The size of the whole input.
    pub(super) total_bytes: u64,
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
    pub(super) fn new(
        input: Input,
        file_name: &'f str,
        block_bytes: usize,
    ) -> Result<CsvBlocks<'f>, DataError> {
        match input {
            Input::Bytes(bytes) => CsvBlocks::start(bytes.into(), None, file_name, block_bytes),
            Input::File(path) => {
                let file = std::fs::File::open(&path)
                    .map_err(|e| DataError::new(file_name, format!("cannot read the file: {e}")))?;
                let size = file
                    .metadata()
                    .map_err(|e| DataError::new(file_name, format!("cannot read the file: {e}")))?
                    .len();
                CsvBlocks::start(
                    Vec::new().into(),
                    Some((Box::new(file), size)),
                    file_name,
                    block_bytes,
                )
            }
            Input::Stream(stream) => CsvBlocks::start(
                Vec::new().into(),
                Some((stream.reader, stream.size)),
                file_name,
                block_bytes,
            ),
        }
    }

    /// Over `buffer`, then what `reader` holds; the header is read.
    fn start(
        buffer: std::borrow::Cow<'f, [u8]>,
        reader: Option<(Box<dyn Read + Send>, u64)>,
        file_name: &'f str,
        block_bytes: usize,
    ) -> Result<CsvBlocks<'f>, DataError> {
        let (reader, total_bytes) = match reader {
            Some((reader, size)) => (Some(reader), size),
            None => (None, buffer.len() as u64),
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
    fn next_record(&self) -> Result<Option<Record>, DataError> {
        let bytes = &self.buffer;
        let record = match scan_record(bytes, self.start) {
            Ok(record) => record,
            Err(_) if !self.complete => return Ok(None),
            Err(quote_at) => {
                let (l, c) = line_and_column(&bytes[self.start..], quote_at - self.start);
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
    pub(super) fn next_block(&mut self) -> Result<Option<std::borrow::Cow<'_, [u8]>>, DataError> {
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
