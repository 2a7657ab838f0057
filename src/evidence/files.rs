//! The files of a revision's datasets: the working tree's, and the base
//! revision's straight from git.

use std::path::Path;

use crate::data::source::{DataError, Input, resolve_in_repo};
use crate::data::spec::{DatasetSpec, SplitSpec};
use crate::data::{DatasetFiles, Source};
use crate::model::ModelError;
use crate::model::training::TrainingData;
use crate::revision::{RevisionError, Revisions};

pub(super) fn read_working(root: &Path, relative: &str) -> Result<Vec<u8>, DataError> {
    Input::File(resolve_in_repo(root, relative)?).into_bytes(relative)
}

/// The files of a dataset in the working tree, and at the base revision.
pub fn dataset_files<'r>(
    root: &'r Path,
    spec: &'r DatasetSpec,
    base: Option<&'r str>,
    revisions: Option<&'r Revisions>,
) -> DatasetFiles<'r> {
    let path = &spec.path.0;
    let base = base.map(|rev| {
        Source::lazy(move || match revisions {
            Some(r) => r.read(rev, path).map_err(|e| match e {
                RevisionError::NoSuchFile { .. } => {
                    DataError::new(path, format!("the dataset is new: {e}"))
                }
                other => DataError::new(path, other.to_string()),
            }),
            None => Err(DataError::new(
                path,
                format!("{} is not inside a git repository", root.display()),
            )),
        })
    });
    let split = match &spec.split {
        Some(SplitSpec::Files {
            train_path,
            test_path,
        }) => Some((
            read_working(root, &train_path.0),
            read_working(root, &test_path.0),
        )),
        _ => None,
    };
    DatasetFiles {
        head: resolve_in_repo(root, path).map(Input::File),
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
    Ok(TrainingData { bytes, split_files })
}

/// Trains (or reads the metrics file of) one model at one revision's files.
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
