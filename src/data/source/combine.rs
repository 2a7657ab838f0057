//! A directory of data files read as one table: CSV files joined under
//! one header (each must have the same), Parquet and NDJSON files stacked.
//! Files whose columns differ are an error that names the first of them.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::local::DataError;
use crate::data::spec::FileFormat;

/// Writes `files` (named by their path in the directory) as one file of
/// `format` at `target`.
pub fn files(
    path: &str,
    files: &[(String, PathBuf)],
    format: FileFormat,
    target: &Path,
) -> Result<(), DataError> {
    let fail = |message: String| DataError::new(path, message);
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| fail(format!("cannot write the download cache: {e}")))?;
    let temporary = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| fail(format!("cannot write the download cache: {e}")))?;
    match format {
        FileFormat::Csv | FileFormat::Ndjson => lines(path, files, format, temporary.as_file())?,
        FileFormat::Parquet => parquet(path, files, temporary.as_file())?,
    }
    temporary
        .persist(target)
        .map_err(|e| fail(format!("cannot write the download cache: {}", e.error)))?;
    Ok(())
}

/// CSV: the first file's header, then every file's rows; NDJSON: every
/// file's lines. Streamed, a line at a time.
fn lines(
    path: &str,
    files: &[(String, PathBuf)],
    format: FileFormat,
    out: &std::fs::File,
) -> Result<(), DataError> {
    let fail = |message: String| DataError::new(path, message);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut header: Option<(String, String)> = None;
    for (name, file) in files {
        let reader = std::fs::File::open(file)
            .map_err(|e| fail(format!("cannot read `{name}` of the directory: {e}")))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, reader);
        let mut line = String::new();
        if format == FileFormat::Csv {
            reader
                .read_line(&mut line)
                .map_err(|e| fail(format!("cannot read `{name}` of the directory: {e}")))?;
            let this = line.trim_end().to_string();
            match &header {
                None => {
                    write_line(&mut out, &line).map_err(|e| fail(e.to_string()))?;
                    header = Some((name.clone(), this));
                }
                Some((first, columns)) if *columns != this => {
                    return Err(fail(format!(
                        "is a directory whose files have different columns: `{name}` has `{this}` where `{first}` has `{columns}`; a directory dataset's files must share their header"
                    )));
                }
                Some(_) => {}
            }
            line.clear();
        }
        std::io::copy(&mut reader, &mut out).map_err(|e| fail(e.to_string()))?;
    }
    out.flush().map_err(|e| fail(e.to_string()))
}

fn write_line(out: &mut impl Write, line: &str) -> std::io::Result<()> {
    out.write_all(line.as_bytes())?;
    if !line.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Parquet: the files read and stacked; their schemas must be equal.
fn parquet(path: &str, files: &[(String, PathBuf)], out: &std::fs::File) -> Result<(), DataError> {
    let fail = |message: String| DataError::new(path, message);
    let mut stacked: Option<(String, DataFrame)> = None;
    for (name, file) in files {
        let reader = std::fs::File::open(file)
            .map_err(|e| fail(format!("cannot read `{name}` of the directory: {e}")))?;
        let frame = ParquetReader::new(reader)
            .finish()
            .map_err(|e| fail(format!("`{name}` of the directory is not Parquet: {e}")))?;
        stacked = Some(match stacked {
            None => (name.clone(), frame),
            Some((first, mut all)) => {
                if all.schema() != frame.schema() {
                    return Err(fail(format!(
                        "is a directory whose files have different columns: `{name}` differs from `{first}`; a directory dataset's files must share their schema"
                    )));
                }
                all.vstack_mut(&frame).map_err(|e| fail(e.to_string()))?;
                (first, all)
            }
        });
    }
    let Some((_, mut frame)) = stacked else {
        return Ok(());
    };
    ParquetWriter::new(out)
        .finish(&mut frame)
        .map(|_| ())
        .map_err(|e| fail(format!("cannot write the joined Parquet file: {e}")))
}
