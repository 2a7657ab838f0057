//! Scoring new rows with a saved model: the input checked against the
//! model's input schema (a missing feature stops the run; a value that is
//! not a number or a level training never saw is a problem of its row; a
//! number outside the training range is a warning, since a test split
//! routinely holds some), then the artifact's fitted
//! preprocessing and model, in blocks of rows so the dense matrix stays
//! small. The same code path as evaluation, so the same rows give the same
//! probabilities to the last bit.

use polars::prelude::{Float64Chunked, NewChunkedArray, PlSmallStr, StringChunked};

use super::ModelError;
use super::artifact::ModelArtifact;
use super::features::MISSING_LEVEL;
use super::schema::FeatureSchema;
use crate::data::column::ColumnView;

/// Rows transformed and scored at a time.
const BLOCK: usize = 65_536;
/// Problems listed in a message; the rest are counted.
const LISTED: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnInvalid {
    /// Stop and list the problems.
    Fail,
    /// Leave the invalid rows out and list them on stderr.
    Skip,
}

/// One thing wrong with one row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowProblem {
    /// 1-based data row.
    pub row: usize,
    pub message: String,
}

/// The scored rows.
pub struct Scored {
    /// 0-based input rows that were scored, in order.
    pub rows: Vec<usize>,
    /// Per scored row: class probabilities (classification) or one value.
    pub outputs: Vec<Vec<f64>>,
    pub classes: Vec<String>,
    pub skipped: Vec<RowProblem>,
    /// Numbers outside the training range (scored all the same).
    pub warnings: Vec<RowProblem>,
}

/// Scores every valid row of `columns` (the input's columns by name).
pub fn score(
    artifact: &ModelArtifact,
    columns: &[(String, ColumnView)],
    height: usize,
    on_invalid: OnInvalid,
) -> Result<Scored, ModelError> {
    let schema = artifact.input_schema();
    let missing: Vec<&str> = schema
        .features
        .iter()
        .map(FeatureSchema::name)
        .filter(|name| !columns.iter().any(|(c, _)| c == name))
        .collect();
    if !missing.is_empty() {
        let present: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        return Err(ModelError::new(format!(
            "the input lacks the model's feature{} {} (it has {})",
            if missing.len() == 1 { "" } else { "s" },
            quoted(&missing),
            quoted(&present)
        )));
    }
    let mut problems = Problems::default();
    let mut views: Vec<(String, ColumnView)> = Vec::new();
    for feature in &schema.features {
        let view = &columns
            .iter()
            .find(|(c, _)| c == feature.name())
            .expect("checked")
            .1;
        views.push((
            feature.name().to_string(),
            check(feature, view, &mut problems),
        ));
    }
    let Problems {
        invalid: mut problems,
        mut warnings,
    } = problems;
    problems.sort_by_key(|p| p.row);
    warnings.sort_by_key(|p| p.row);
    if on_invalid == OnInvalid::Fail && !problems.is_empty() {
        return Err(ModelError::new(listing(&problems)));
    }
    let bad: std::collections::BTreeSet<usize> = problems.iter().map(|p| p.row - 1).collect();
    let rows: Vec<usize> = (0..height).filter(|r| !bad.contains(r)).collect();
    let borrowed: Vec<(&str, &ColumnView)> = views.iter().map(|(n, v)| (n.as_str(), v)).collect();
    let classes = artifact.classes.len();
    let mut outputs = Vec::with_capacity(rows.len());
    for block in rows.chunks(BLOCK) {
        let x = artifact.features.transform(&borrowed, block)?;
        if classes > 0 {
            outputs.extend(artifact.model.probabilities(x.view(), classes));
        } else {
            outputs.extend(artifact.model.values(x.view()).into_iter().map(|v| vec![v]));
        }
    }
    Ok(Scored {
        rows,
        outputs,
        classes: artifact.classes.clone(),
        skipped: problems,
        warnings,
    })
}

#[derive(Default)]
struct Problems {
    invalid: Vec<RowProblem>,
    warnings: Vec<RowProblem>,
}

/// The column as the model reads it, and its rows' problems.
fn check(feature: &FeatureSchema, view: &ColumnView, problems: &mut Problems) -> ColumnView {
    let name = feature.name();
    match (feature, view) {
        (FeatureSchema::Number { min, max, .. }, ColumnView::Numeric(values)) => {
            for (r, v) in values.iter().enumerate() {
                if let Some(v) = v.filter(|v| !v.is_nan()) {
                    out_of_range(name, r, v, *min, *max, &mut problems.warnings);
                }
            }
            view.clone()
        }
        (FeatureSchema::Number { min, max, .. }, ColumnView::Text(texts)) => {
            let parsed = (0..texts.len()).map(|r| {
                let text = texts.get(r)?;
                match text.trim().parse::<f64>() {
                    Ok(v) => {
                        out_of_range(name, r, v, *min, *max, &mut problems.warnings);
                        Some(v)
                    }
                    Err(_) => {
                        problems.invalid.push(RowProblem {
                            row: r + 1,
                            message: format!("`{name}` is `{text}`, not a number"),
                        });
                        None
                    }
                }
            });
            ColumnView::Numeric(Float64Chunked::from_iter_options(
                PlSmallStr::from(name),
                parsed,
            ))
        }
        (FeatureSchema::Text { levels, .. }, _) => {
            let text = |r: usize| match view {
                ColumnView::Text(t) => t.get(r).map(str::to_string),
                ColumnView::Numeric(v) => v.get(r).filter(|x| !x.is_nan()).map(|x| x.to_string()),
            };
            let values: Vec<Option<String>> = (0..view.len()).map(text).collect();
            for (r, value) in values.iter().enumerate() {
                let value = value.as_deref().unwrap_or(MISSING_LEVEL);
                if levels.binary_search_by(|l| l.as_str().cmp(value)).is_err() {
                    problems.invalid.push(RowProblem {
                        row: r + 1,
                        message: format!(
                            "`{name}` is `{value}`, a level training never saw ({})",
                            preview(levels)
                        ),
                    });
                }
            }
            match view {
                ColumnView::Text(_) => view.clone(),
                // Numbers where training saw text: the text they spell.
                ColumnView::Numeric(_) => ColumnView::Text(crate::data::column::Texts::Plain(
                    StringChunked::from_iter_options(PlSmallStr::from(name), values.into_iter()),
                )),
            }
        }
    }
}

fn out_of_range(name: &str, r: usize, v: f64, min: f64, max: f64, out: &mut Vec<RowProblem>) {
    let message = if v < min {
        format!("`{name}` is {v}, below the training minimum {min}")
    } else if v > max {
        format!("`{name}` is {v}, above the training maximum {max}")
    } else {
        return;
    };
    out.push(RowProblem {
        row: r + 1,
        message,
    });
}

/// The first problems, and how many more.
pub fn listing(problems: &[RowProblem]) -> String {
    let mut text = format!(
        "{} problem{} in the input (`--on-invalid skip` leaves those rows out):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    text.push_str(&rows_of(problems));
    text
}

/// The first warnings, and how many more.
pub fn warning_listing(warnings: &[RowProblem]) -> String {
    let mut text = format!(
        "{} value{} outside the range seen in training (scored; the model extrapolates):",
        warnings.len(),
        if warnings.len() == 1 { "" } else { "s" }
    );
    text.push_str(&rows_of(warnings));
    text
}

fn rows_of(problems: &[RowProblem]) -> String {
    let mut text = String::new();
    for p in problems.iter().take(LISTED) {
        text.push_str(&format!("\n  row {}: {}", p.row, p.message));
    }
    if problems.len() > LISTED {
        text.push_str(&format!("\n  … and {} more", problems.len() - LISTED));
    }
    text
}

fn preview(levels: &[String]) -> String {
    let shown: Vec<&str> = levels.iter().take(8).map(String::as_str).collect();
    let more = levels.len().saturating_sub(8);
    match more {
        0 => shown.join(", "),
        n => format!("{}, … {n} more", shown.join(", ")),
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
