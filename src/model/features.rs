//! Turning columns into a feature matrix, fitted on the training rows only:
//! numeric columns get mean imputation and optional standardisation, text
//! columns one-hot encoding where levels unseen in training encode as zeros
//! (scikit-learn's `SimpleImputer`, `StandardScaler`, `OneHotEncoder(handle_unknown="ignore")`).

use ndarray::{Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::ModelError;
use crate::data::column::ColumnView;

/// The level nulls get in a one-hot encoded column.
pub const MISSING_LEVEL: &str = "(missing)";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EncodedColumn {
    /// `((value or fill) − center) / scale`.
    Numeric {
        name: String,
        fill: f64,
        center: f64,
        scale: f64,
    },
    /// One indicator per training level.
    OneHot { name: String, levels: Vec<String> },
}

/// How each feature column becomes matrix columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeaturePlan {
    pub columns: Vec<EncodedColumn>,
}

impl FeaturePlan {
    /// Learns the encoding from the training rows.
    pub fn fit(
        features: &[(&str, &ColumnView)],
        train: &[usize],
        all_rows: &[usize],
        standardize: bool,
        max_levels: usize,
    ) -> Result<FeaturePlan, ModelError> {
        let mut columns = Vec::with_capacity(features.len());
        for (name, view) in features {
            match view {
                ColumnView::Numeric(values) => {
                    let infinite: Vec<usize> = all_rows
                        .iter()
                        .filter(|r| values.get(**r).is_some_and(f64::is_infinite))
                        .take(5)
                        .map(|r| r + 1)
                        .collect();
                    if !infinite.is_empty() {
                        return Err(ModelError::new(format!(
                            "feature `{name}` has infinite values (rows {}); replace them or exclude the feature",
                            join(&infinite)
                        )));
                    }
                    let present: Vec<f64> = train
                        .iter()
                        .filter_map(|r| values.get(*r))
                        .filter(|v| !v.is_nan())
                        .collect();
                    if present.is_empty() {
                        return Err(ModelError::new(format!(
                            "feature `{name}` has no values in the training split (all null); exclude it"
                        )));
                    }
                    let mean = present.iter().sum::<f64>() / present.len() as f64;
                    // Imputed values count towards the scaler, as in a scikit-learn pipeline.
                    let filled = train.len() as f64;
                    let variance =
                        (present.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>()) / filled;
                    let std = variance.sqrt();
                    let (center, scale) = if standardize {
                        (mean, if std > 0.0 { std } else { 1.0 })
                    } else {
                        (0.0, 1.0)
                    };
                    columns.push(EncodedColumn::Numeric {
                        name: name.to_string(),
                        fill: mean,
                        center,
                        scale,
                    });
                }
                ColumnView::Text(values) => {
                    if train.iter().all(|r| values.get(*r).is_none()) {
                        return Err(ModelError::new(format!(
                            "feature `{name}` has no values in the training split (all null); exclude it"
                        )));
                    }
                    // Distinct levels first: one string per level, not per row.
                    let distinct: std::collections::HashSet<&str> = train
                        .iter()
                        .map(|r| values.get(*r).unwrap_or(MISSING_LEVEL))
                        .collect();
                    let mut levels: Vec<String> =
                        distinct.into_iter().map(str::to_string).collect();
                    levels.sort_unstable();
                    if levels.len() > max_levels {
                        return Err(ModelError::new(format!(
                            "feature `{name}` has {} levels, more than one-hot encoding allows ({max_levels}); exclude it or raise `max_levels:`",
                            levels.len()
                        )));
                    }
                    columns.push(EncodedColumn::OneHot {
                        name: name.to_string(),
                        levels,
                    });
                }
            }
        }
        Ok(FeaturePlan { columns })
    }

    /// The matrix's column names, such as `tenure` or `plan=monthly`.
    pub fn names(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|c| match c {
                EncodedColumn::Numeric { name, .. } => vec![name.clone()],
                EncodedColumn::OneHot { name, levels } => {
                    levels.iter().map(|l| format!("{name}={l}")).collect()
                }
            })
            .collect()
    }

    pub fn width(&self) -> usize {
        self.columns
            .iter()
            .map(|c| match c {
                EncodedColumn::Numeric { .. } => 1,
                EncodedColumn::OneHot { levels, .. } => levels.len(),
            })
            .sum()
    }

    /// The feature matrix of `rows`, with the columns in the plan's order.
    pub fn transform(
        &self,
        features: &[(&str, &ColumnView)],
        rows: &[usize],
    ) -> Result<Array2<f64>, ModelError> {
        // Each column is checked once; then row blocks fill in parallel.
        let views = self
            .columns
            .iter()
            .map(|encoded| self.view_of(encoded, features))
            .collect::<Result<Vec<_>, _>>()?;
        let mut matrix = Array2::<f64>::zeros((rows.len(), self.width()));
        let blocks: Vec<_> = matrix.axis_chunks_iter_mut(Axis(0), BLOCK).collect();
        blocks
            .into_par_iter()
            .zip(rows.par_chunks(BLOCK))
            .for_each(|(mut block, rows)| {
                let mut offset = 0;
                for (encoded, view) in self.columns.iter().zip(&views) {
                    offset += fill(&mut block, offset, encoded, view, rows);
                }
            });
        Ok(matrix)
    }

    /// The view a planned column reads, of the type it was planned for.
    fn view_of<'v>(
        &self,
        encoded: &EncodedColumn,
        features: &[(&str, &'v ColumnView)],
    ) -> Result<&'v ColumnView, ModelError> {
        let name = match encoded {
            EncodedColumn::Numeric { name, .. } | EncodedColumn::OneHot { name, .. } => name,
        };
        let view = features
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| ModelError::new(format!("feature `{name}` is missing")))?;
        match (encoded, view) {
            (EncodedColumn::Numeric { .. }, ColumnView::Numeric(_))
            | (EncodedColumn::OneHot { .. }, ColumnView::Text(_)) => Ok(view),
            _ => Err(ModelError::new(format!(
                "feature `{name}` changed type between training and prediction"
            ))),
        }
    }
}

/// Rows per parallel block of the matrix.
const BLOCK: usize = 1 << 13;

/// Writes one planned column of `rows` into `block` from `offset`; answers
/// how many matrix columns it took.
fn fill(
    block: &mut ndarray::ArrayViewMut2<f64>,
    offset: usize,
    encoded: &EncodedColumn,
    view: &ColumnView,
    rows: &[usize],
) -> usize {
    match (encoded, view) {
        (
            EncodedColumn::Numeric {
                fill,
                center,
                scale,
                ..
            },
            ColumnView::Numeric(values),
        ) => {
            for (i, row) in rows.iter().enumerate() {
                let value = values.get(*row).filter(|v| !v.is_nan()).unwrap_or(*fill);
                block[[i, offset]] = (value - center) / scale;
            }
            1
        }
        (EncodedColumn::OneHot { levels, .. }, ColumnView::Text(values)) => {
            for (i, row) in rows.iter().enumerate() {
                let level = values.get(*row).unwrap_or(MISSING_LEVEL);
                if let Ok(k) = levels.binary_search_by(|l| l.as_str().cmp(level)) {
                    block[[i, offset + k]] = 1.0;
                }
            }
            levels.len()
        }
        // `view_of` checked the pairs.
        _ => 0,
    }
}

fn join(rows: &[usize]) -> String {
    rows.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
