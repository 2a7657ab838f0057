//! The working tree's files, and what reading a dataset can say: a safe
//! path inside the repository, and an error that names the file.

use std::path::{Component, Path, PathBuf};

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

    pub(crate) fn at(
        file: &str,
        line: u64,
        column: Option<u64>,
        message: impl Into<String>,
    ) -> DataError {
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
pub enum Input {
    Bytes(Vec<u8>),
    File(PathBuf),
    /// A revision's large blob, inflated as it is read.
    Stream(crate::revision::Streamed),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Input::File(path) => write!(f, "File({})", path.display()),
            Input::Stream(stream) => write!(f, "Stream({} bytes)", stream.size),
        }
    }
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
            Input::Stream(mut stream) => {
                let mut bytes = Vec::with_capacity(stream.size as usize);
                stream
                    .reader
                    .read_to_end(&mut bytes)
                    .map_err(|e| DataError::new(file, format!("cannot read the file: {e}")))?;
                Ok(bytes)
            }
        }
    }
}
