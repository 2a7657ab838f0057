//! `dslp monitor`: fresh production inputs against the reference profile a
//! saved model shipped with — drift of every feature and of the model's
//! scores, and the metrics when the outcomes are known. Exit 1 when a limit
//! is crossed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Result, anyhow};

use super::common::exit;
use super::predict::{read_artifact, read_columns};
use crate::model::monitor::{self, Level, Limits};
use crate::report::monitor::text;

#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub enum MonitorFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// The model: NAME.model.json (`dslp train --output DIR`, a release's
    /// asset), or a release tag (`churn_lr-v1.2.0`) read from the
    /// repository's GitHub releases with GITHUB_TOKEN.
    #[arg(long)]
    model: PathBuf,
    /// Fresh inputs: .csv, .parquet or .ndjson.
    #[arg(long)]
    data: PathBuf,
    /// The column holding the known outcomes, when there is one: the metrics are compared too.
    #[arg(long, value_name = "COLUMN")]
    labels: Option<String>,
    /// PSI above this is a warning.
    #[arg(long, default_value_t = 0.1)]
    psi_warn: f64,
    /// PSI above this fails.
    #[arg(long, default_value_t = 0.25)]
    psi_fail: f64,
    /// A KS statistic above this fails (numeric features and scores).
    #[arg(long)]
    ks_fail: Option<f64>,
    /// The largest allowed fall of a metric below the release's, as
    /// METRIC=AMOUNT (`roc_auc=0.03`; for losses, the largest rise). Repeatable.
    #[arg(long = "max-drop", value_name = "METRIC=AMOUNT")]
    max_drop: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    format: MonitorFormat,
}

pub fn run(args: MonitorArgs) -> Result<i32> {
    let artifact = read_artifact(&args.model)?;
    let (columns, height) = read_columns(&args.data)?;
    let file = args.data.display().to_string();
    let labels = match &args.labels {
        Some(name) => Some(
            &columns
                .iter()
                .find(|(c, _)| c == name)
                .ok_or_else(|| anyhow!("{file} has no column `{name}` for --labels"))?
                .1,
        ),
        None => None,
    };
    let limits = Limits {
        psi_warn: args.psi_warn,
        psi_fail: args.psi_fail,
        ks_fail: args.ks_fail,
        drops: drops(&args.max_drop)?,
    };
    let report = monitor::monitor(&artifact, &columns, height, labels, &limits)
        .map_err(|e| anyhow!("{file}: {e}"))?;
    match args.format {
        MonitorFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        MonitorFormat::Text => print!("{}", text(&report, &limits)),
    }
    Ok(match report.level() {
        Level::Fail => exit::FINDINGS,
        Level::Ok | Level::Warn => exit::CLEAN,
    })
}

fn drops(given: &[String]) -> Result<BTreeMap<String, f64>> {
    given
        .iter()
        .map(|pair| {
            let (metric, amount) = pair.split_once('=').ok_or_else(|| {
                anyhow!("--max-drop `{pair}`: write METRIC=AMOUNT, as roc_auc=0.03")
            })?;
            let amount: f64 = amount
                .parse()
                .map_err(|_| anyhow!("--max-drop `{pair}`: `{amount}` is not a number"))?;
            Ok((metric.to_string(), amount))
        })
        .collect()
}
