//! Which labelled rows train and which test: the dataset's declared split
//! (a column, or train and test files), or a seeded holdout, stratified by
//! class when asked.

use super::super::problem::Target;
use super::super::spec::{ModelSpec, SplitChoice};
use super::super::{ModelError, SeededRng};
use crate::data::column::ColumnView;
use crate::data::spec::{DatasetSpec, SplitSpec};

/// The training rows and the test rows, each in row order.
pub(super) fn split_rows(
    spec: &ModelSpec,
    dataset: &DatasetSpec,
    labelled: &[usize],
    target: &Target,
    views: &[(String, ColumnView)],
    test_from: Option<usize>,
) -> Result<(Vec<usize>, Vec<usize>), ModelError> {
    let (train, test): (Vec<usize>, Vec<usize>) = match (&spec.split, &dataset.split) {
        (
            SplitChoice::Declared(_),
            Some(SplitSpec::Column {
                column,
                train,
                test,
            }),
        ) => {
            let split = views
                .iter()
                .find(|(n, _)| n == column)
                .map(|(_, v)| v)
                .ok_or_else(|| {
                    ModelError::new(format!("the split column `{column}` is not in the dataset"))
                })?;
            let (is_train, is_test) = split.membership(train, test);
            (
                labelled.iter().copied().filter(|r| is_train[*r]).collect(),
                labelled.iter().copied().filter(|r| is_test[*r]).collect(),
            )
        }
        (SplitChoice::Declared(_), Some(SplitSpec::Files { .. })) => {
            let from =
                test_from.ok_or_else(|| ModelError::new("the split files could not be read"))?;
            labelled.iter().partition(|r| **r < from)
        }
        (SplitChoice::Declared(_), None) => {
            return Err(ModelError::new(format!(
                "`split: dataset` but dataset `{}` declares no split",
                spec.dataset
            )));
        }
        (
            SplitChoice::Holdout {
                holdout,
                seed,
                stratify,
            },
            _,
        ) => holdout_split(labelled, target, holdout.0, *seed, *stratify),
    };
    usable(&train, &test, target)?;
    Ok((train, test))
}

/// A seeded share of each class (or of all rows) held out for testing.
fn holdout_split(
    labelled: &[usize],
    target: &Target,
    share: f64,
    seed: u64,
    stratify: bool,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = SeededRng::new(seed);
    let groups: Vec<Vec<usize>> = match target {
        Target::Classes { index, labels, .. } if stratify => (0..labels.len())
            .map(|c| {
                labelled
                    .iter()
                    .copied()
                    .filter(|r| index[*r] == Some(c))
                    .collect()
            })
            .collect(),
        _ => vec![labelled.to_vec()],
    };
    rng.hold_out(groups, share)
}

/// Both sides have rows, and the training side two classes at least.
fn usable(train: &[usize], test: &[usize], target: &Target) -> Result<(), ModelError> {
    if train.is_empty() || test.is_empty() {
        return Err(ModelError::new(format!(
            "the split leaves {} training and {} test rows; both need rows",
            train.len(),
            test.len()
        )));
    }
    if let Target::Classes { index, labels, .. } = target {
        let seen: std::collections::BTreeSet<usize> =
            train.iter().filter_map(|r| index[*r]).collect();
        if seen.len() < 2 {
            let only = seen
                .iter()
                .next()
                .map(|c| labels[*c].as_str())
                .unwrap_or("none");
            return Err(ModelError::new(format!(
                "the training split holds a single class ({only}); the model cannot learn to tell classes apart"
            )));
        }
    }
    Ok(())
}
