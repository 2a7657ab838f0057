//! `dslp predict`: a saved model (`NAME.model.json` from `dslp train
//! --output`) scores a CSV, Parquet or NDJSON file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use super::common::exit;
use crate::data::column::ColumnView;
use crate::data::load::columns_of;
use crate::model::artifact::ModelArtifact;
use crate::model::predict::{self, OnInvalid};

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The model: NAME.model.json (`dslp train --output DIR`, a release's
    /// asset), or a release tag (`churn_lr-v1.2.0`) read from the
    /// repository's GitHub releases with GITHUB_TOKEN.
    #[arg(long)]
    model: PathBuf,
    /// The rows to score: .csv, .parquet or .ndjson.
    #[arg(long)]
    input: PathBuf,
    /// Where the predictions go (CSV); standard output by default.
    #[arg(long)]
    output: Option<PathBuf>,
    /// A column of the input copied into each prediction row (a customer id).
    #[arg(long, value_name = "COLUMN")]
    id: Option<String>,
    /// Rows that do not fit the model's input schema: stop (fail) or leave them out (skip).
    #[arg(long, value_enum, default_value = "fail")]
    on_invalid: OnInvalid,
}

/// A model artifact from its file.
pub(super) fn read_artifact(path: &Path) -> Result<ModelArtifact> {
    let model = path.display().to_string();
    // A release tag, not a file: the release's model asset.
    let tagged = (!path.exists())
        .then(|| path.to_str().and_then(super::release_asset::model_of_tag))
        .flatten();
    let text = match tagged {
        Some(name) => super::release_asset::download(&model, name)?,
        None => std::fs::read(path).with_context(|| format!("reading the model {model}"))?,
    };
    serde_json::from_slice(&text).map_err(|e| {
        anyhow!(
            "{model} is not a dslp model artifact ({e}); write one with `dslp train --output DIR`"
        )
    })
}

/// A data file's columns as the model reads them, and its row count.
pub(super) fn read_columns(path: &Path) -> Result<(Vec<(String, ColumnView)>, usize)> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("reading {file}"))?;
    columns_of(&bytes, &file).map_err(|e| anyhow!(e))
}

pub fn run(args: PredictArgs) -> Result<i32> {
    let artifact = read_artifact(&args.model)?;
    let (columns, height) = read_columns(&args.input)?;
    let file = args.input.display().to_string();
    let ids = match &args.id {
        Some(id) => Some(
            columns
                .iter()
                .find(|(name, _)| name == id)
                .map(|(_, view)| view)
                .ok_or_else(|| anyhow!("{file} has no column `{id}` for --id"))?,
        ),
        None => None,
    };
    let scored = predict::score(&artifact, &columns, height, args.on_invalid)
        .map_err(|e| anyhow!("{file}: {e}"))?;
    if !scored.skipped.is_empty() {
        eprintln!("left out: {}", predict::listing(&scored.skipped));
    }
    if !scored.warnings.is_empty() {
        eprintln!("warning: {}", predict::warning_listing(&scored.warnings));
    }
    let csv = render(&scored, args.id.as_deref().zip(ids));
    match &args.output {
        Some(path) => {
            std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().write_all(csv.as_bytes())?,
    }
    Ok(exit::CLEAN)
}

/// The predictions as CSV: the id, the predicted class and each class's
/// probability (shortest text that reads back as the same f64), or the value.
fn render(scored: &predict::Scored, ids: Option<(&str, &ColumnView)>) -> String {
    let mut out = String::new();
    let mut header: Vec<String> = ids.iter().map(|(name, _)| csv_cell(name)).collect();
    header.push("predicted".into());
    header.extend(scored.classes.iter().map(|c| csv_cell(&format!("p_{c}"))));
    out.push_str(&header.join(","));
    out.push('\n');
    for (row, output) in scored.rows.iter().zip(&scored.outputs) {
        let mut cells = Vec::with_capacity(output.len() + 2);
        if let Some((_, view)) = ids {
            let id = match view {
                ColumnView::Text(t) => t.get(*row).unwrap_or("").to_string(),
                ColumnView::Numeric(v) => v.get(*row).map_or(String::new(), |x| x.to_string()),
            };
            cells.push(csv_cell(&id));
        }
        if scored.classes.is_empty() {
            cells.push(output[0].to_string());
        } else {
            let best = crate::model::metrics::most_probable(output);
            cells.push(csv_cell(&scored.classes[best]));
            cells.extend(output.iter().map(f64::to_string));
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
