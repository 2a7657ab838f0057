//! What a fork's pull request may make dslp-bot read, measured before
//! anything of it is parsed.

use std::path::Path;

use crate::config::RepoConfig;
use crate::data::source::{lfs, resolve_in_repo};
use crate::data::spec::FileFormat;

use super::files::dataset_paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// Rows per dataset file (lines, for CSV and NDJSON).
    pub rows: u64,
    /// Bytes per dataset file, which bounds the memory its reading takes.
    pub bytes: u64,
    /// Columns per dataset file, counted in its header before any parsing:
    /// a narrow file can still ask for much memory if it is very wide.
    pub columns: u64,
}

/// Checks every declared dataset file against the limits before anything
/// is parsed; answers why not, naming the file. The file is streamed,
/// never held whole.
pub fn within_limits(root: &Path, config: &RepoConfig, limits: FileLimits) -> Result<(), String> {
    for spec in config.datasets.values() {
        for relative in dataset_paths(spec) {
            let Ok(path) = resolve_in_repo(root, &relative) else {
                continue; // the data tests report a bad path themselves
            };
            // A Git LFS pointer: its object's size, told before any download.
            if let Some(pointer) = lfs::peek(&path) {
                if pointer.size > limits.bytes {
                    return Err(format!(
                        "`{relative}` is a Git LFS pointer to {:.1} MB, over the limit of {:.1} MB for pull requests from forks",
                        pointer.size as f64 / 1e6,
                        limits.bytes as f64 / 1e6
                    ));
                }
                continue;
            }
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            if metadata.len() > limits.bytes {
                return Err(format!(
                    "`{relative}` is {:.1} MB, over the limit of {:.1} MB for pull requests from forks",
                    metadata.len() as f64 / 1e6,
                    limits.bytes as f64 / 1e6
                ));
            }
            let format = spec
                .format
                .or_else(|| FileFormat::from_path(&relative))
                .unwrap_or(FileFormat::Csv);
            let shape = measure(&path, format).map_err(|e| format!("reading `{relative}`: {e}"))?;
            if shape.columns > limits.columns {
                return Err(format!(
                    "`{relative}` has {} columns, over the limit of {} for pull requests from forks",
                    shape.columns, limits.columns
                ));
            }
            if shape.rows > limits.rows {
                return Err(format!(
                    "`{relative}` has {} rows, over the limit of {} for pull requests from forks",
                    shape.rows, limits.rows
                ));
            }
        }
    }
    Ok(())
}

/// A file's rows and columns, as far as they can be told without parsing.
struct Shape {
    rows: u64,
    columns: u64,
}

fn measure(path: &Path, format: FileFormat) -> std::io::Result<Shape> {
    use std::io::Read;
    if format == FileFormat::Parquet {
        // Rows and columns are in the footer, which parquet keeps small.
        let file = std::fs::File::open(path)?;
        let mut reader = polars::prelude::ParquetReader::new(file);
        use polars::prelude::SerReader as _;
        let schema = reader.schema().map_err(std::io::Error::other)?;
        let rows = reader.num_rows().map_err(std::io::Error::other)?;
        return Ok(Shape {
            rows: rows as u64,
            columns: schema.len() as u64,
        });
    }
    let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut buffer = vec![0u8; 1 << 20];
    let (mut lines, mut last, mut header) = (0u64, b'\n', HeaderCount::default());
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        let chunk = &buffer[..read];
        if !header.done {
            header.scan(chunk, format);
        }
        lines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        last = chunk[read - 1];
    }
    let lines = lines + u64::from(last != b'\n');
    // A CSV's header line is not a row.
    let rows = match format {
        FileFormat::Csv => lines.saturating_sub(1),
        _ => lines,
    };
    Ok(Shape {
        rows,
        columns: header.fields,
    })
}

/// Counts the fields of a file's first record: commas outside quotes in a
/// CSV header, top-level keys in an NDJSON line (by its `":` pairs at depth
/// one).
#[derive(Default)]
struct HeaderCount {
    fields: u64,
    done: bool,
    quoted: bool,
    depth: u32,
    started: bool,
}

impl HeaderCount {
    fn scan(&mut self, chunk: &[u8], format: FileFormat) {
        for &byte in chunk {
            if !self.started {
                self.started = true;
                self.fields = u64::from(format == FileFormat::Csv);
            }
            match (format, byte) {
                (_, b'"') => self.quoted = !self.quoted,
                (_, b'\n') if !self.quoted => {
                    self.done = true;
                    return;
                }
                (FileFormat::Csv, b',') if !self.quoted => self.fields += 1,
                (FileFormat::Ndjson, b'{' | b'[') if !self.quoted => self.depth += 1,
                (FileFormat::Ndjson, b'}' | b']') if !self.quoted => {
                    self.depth = self.depth.saturating_sub(1)
                }
                (FileFormat::Ndjson, b':') if !self.quoted && self.depth == 1 => self.fields += 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(text: &str, format: FileFormat) -> (u64, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, text).unwrap();
        let shape = measure(&path, format).unwrap();
        (shape.rows, shape.columns)
    }

    #[test]
    fn a_files_rows_and_columns_are_told_from_its_bytes() {
        assert_eq!(shape_of("a,b,c\n1,2,3\n4,5,6\n", FileFormat::Csv), (2, 3));
        // Quoted commas and line breaks are not fields.
        assert_eq!(
            shape_of("a,\"b,\nc\",d\n1,2,3", FileFormat::Csv),
            (2, 3),
            "the last row has no line end"
        );
        assert_eq!(
            shape_of(
                "{\"a\": 1, \"b\": {\"c\": 2}, \"d\": \"x:y\"}\n{}\n",
                FileFormat::Ndjson
            ),
            (2, 3)
        );
        assert_eq!(shape_of("", FileFormat::Csv), (0, 0));
    }

    #[test]
    fn a_wide_fork_file_is_refused_by_its_header_before_anything_is_parsed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let header: Vec<String> = (0..5000).map(|i| format!("c{i}")).collect();
        std::fs::write(
            dir.path().join("data/wide.csv"),
            format!("{}\n", header.join(",")),
        )
        .unwrap();
        let config = RepoConfig::parse(
            "version: 1\ndatasets:\n  wide:\n    path: data/wide.csv\n",
            "t.yml",
        )
        .unwrap();
        let limits = FileLimits {
            rows: 10,
            bytes: 1 << 30,
            columns: 1000,
        };
        let refused = within_limits(dir.path(), &config, limits).unwrap_err();
        assert_eq!(
            refused,
            "`data/wide.csv` has 5000 columns, over the limit of 1000 for pull requests from forks"
        );
        let wide_enough = FileLimits {
            columns: 5000,
            ..limits
        };
        assert!(within_limits(dir.path(), &config, wide_enough).is_ok());
    }
}
