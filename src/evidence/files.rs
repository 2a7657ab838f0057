//! The files of a revision's datasets, through the one source layer: the
//! working tree's (plain, Git LFS, DVC, a URI), and the base revision's
//! (its blob, its pointer, its `.dvc`), as its own config names them.

use crate::data::source::{DataError, Resolver};
use crate::data::spec::{DatasetSpec, FileFormat, SplitSpec};
use crate::data::{DatasetFiles, Source, format_of};
use crate::model::ModelError;
use crate::model::training::TrainingData;

/// The format a file is read as: the dataset's, else its extension's.
fn format_for(spec: Option<&DatasetSpec>, path: &str) -> FileFormat {
    spec.and_then(|s| format_of(s).ok())
        .or_else(|| FileFormat::from_path(path))
        .unwrap_or(FileFormat::Csv)
}

/// The sha256 a dataset pins its own `path` to (URIs), if any.
fn pin_of<'a>(spec: Option<&'a DatasetSpec>, path: &str) -> Option<&'a str> {
    spec.filter(|s| s.path.0 == path)
        .and_then(|s| s.sha256.as_ref())
        .map(|p| p.0.as_str())
}

/// A whole file of the working tree (a dataset's, a split file, a metrics
/// file); `spec` is the dataset it belongs to, for its format and pin.
pub(super) fn read_head(
    resolver: &Resolver<'_>,
    spec: Option<&DatasetSpec>,
    path: &str,
) -> Result<Vec<u8>, DataError> {
    let pin = pin_of(spec, path);
    resolver
        .head(path, pin, format_for(spec, path))?
        .into_bytes(path)
}

/// A whole file at revision `rev`.
pub(super) fn read_at(
    resolver: &Resolver<'_>,
    rev: &str,
    spec: Option<&DatasetSpec>,
    path: &str,
) -> Result<Vec<u8>, DataError> {
    let pin = pin_of(spec, path);
    resolver
        .at(rev, path, pin, format_for(spec, path))?
        .into_bytes(path)
}

/// The files of a dataset in the working tree, and at the base revision
/// as the base's own config declares it (`base_spec`; the head's when the
/// base has none): a pull request that changes a `.dvc` file or a URI
/// changes the data.
pub fn dataset_files<'r>(
    resolver: &'r Resolver<'r>,
    spec: &'r DatasetSpec,
    base: Option<(&'r str, Option<&'r DatasetSpec>)>,
) -> DatasetFiles<'r> {
    let path = &spec.path.0;
    let pin = spec.sha256.as_ref().map(|p| p.0.as_str());
    let base = base.map(|(rev, base_spec)| {
        let base_spec = base_spec.unwrap_or(spec);
        // A remote base downloads while the head is read.
        let prefetch = resolver.prefetch(rev, &base_spec.path.0);
        Source::lazy(move || {
            if let Some(download) = prefetch {
                let _ = download.join();
            }
            let pin = base_spec.sha256.as_ref().map(|p| p.0.as_str());
            let format = format_for(Some(base_spec), &base_spec.path.0);
            resolver.at(rev, &base_spec.path.0, pin, format)
        })
    });
    let split = match &spec.split {
        Some(SplitSpec::Files {
            train_path,
            test_path,
        }) => {
            let read = |p: &str| resolver.head(p, None, format_for(Some(spec), p));
            Some((read(&train_path.0), read(&test_path.0)))
        }
        _ => None,
    };
    DatasetFiles {
        head: resolver.head(path, pin, format_for(Some(spec), path)),
        base,
        split,
    }
}

pub(super) fn training_data(
    read: impl Fn(&str) -> Result<Vec<u8>, String>,
    dataset: &DatasetSpec,
) -> Result<TrainingData, ModelError> {
    let bytes = read(&dataset.path.0).map_err(ModelError::new)?;
    let split_files = match &dataset.split {
        Some(SplitSpec::Files {
            train_path,
            test_path,
        }) => Some((
            read(&train_path.0).map_err(ModelError::new)?,
            read(&test_path.0).map_err(ModelError::new)?,
        )),
        _ => None,
    };
    Ok(TrainingData {
        bytes,
        split_files,
        reference: false,
    })
}

/// Every file a dataset is read from: its path, and its split's files.
pub fn dataset_paths(dataset: &DatasetSpec) -> Vec<String> {
    let mut paths = vec![dataset.path.0.clone()];
    if let Some(SplitSpec::Files {
        train_path,
        test_path,
    }) = &dataset.split
    {
        paths.push(train_path.0.clone());
        paths.push(test_path.0.clone());
    }
    paths
}
