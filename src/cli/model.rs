//! `dslp train` and `dslp check`.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::common::{exit, known_revision, load_repository};
use super::data::{DataFormat, text_report};
use super::output;
use crate::config::RepoConfig;
use crate::data::source::Sources;
use crate::evidence::{self, Evidence, ModelOutcome, Request};
use crate::model::evaluation::format_metric;
use crate::model::gates::Verdict;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Only these models (repeatable); all by default.
    #[arg(long = "model", value_name = "NAME")]
    models: Vec<String>,
    /// Compare with the same model at this revision.
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Args)]
pub(super) struct CommonArgs {
    /// The repository config; by default .github/dslp.yml under the root.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The repository root; by default the git work tree around the current directory.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Write each trained model and its model card here.
    #[arg(long, value_name = "DIR")]
    pub(super) output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub(super) format: DataFormat,
}

pub(super) fn load(common: &CommonArgs) -> Result<(PathBuf, RepoConfig)> {
    let (root, _, config) = load_repository(common.root.as_deref(), common.config.as_deref())?;
    Ok((root, config))
}

pub fn train(args: TrainArgs) -> Result<i32> {
    let (root, config) = load(&args.common)?;
    if let Some(base) = &args.base {
        known_revision(&root, base)?;
    }
    if config.models.is_empty() {
        bail!(
            "the config declares no models; add them under `models:` (see README, Model evidence)"
        );
    }
    for wanted in &args.models {
        if !config.models.contains_key(wanted) {
            let known: Vec<&str> = config.models.keys().map(String::as_str).collect();
            bail!(
                "no model `{wanted}` in the config; the models are {}",
                known.join(", ")
            );
        }
    }
    let evidence = evidence::gather(&Request {
        root: &root,
        config: &config,
        base: args.base.as_deref(),
        models: &args.models,
        datasets: &[],
        run_data_tests: false,
        run_training: true,
        keep_artifacts: args.common.output.is_some(),
        sources: &Sources::default(),
    });
    let evidence = write_artifacts(evidence, args.common.output.as_deref());
    print(&evidence, args.common.format, args.base.as_deref());
    Ok(code(evidence.verdict))
}

/// Writes each trained model (`NAME.model.json`) and its model card
/// (`NAME.card.md`) into `dir`, taking the models out of the evidence; a
/// model that cannot be written says so in its notes.
pub(super) fn write_artifacts(mut evidence: Evidence, dir: Option<&Path>) -> Evidence {
    let Some(dir) = dir else {
        return evidence;
    };
    for outcome in &mut evidence.models {
        let Some(artifact) = outcome.artifact.take() else {
            continue;
        };
        let written = std::fs::create_dir_all(dir).and_then(|()| {
            let name = &outcome.name;
            let json = serde_json::to_vec_pretty(&artifact).map_err(std::io::Error::other)?;
            std::fs::write(dir.join(format!("{name}.model.json")), json)?;
            std::fs::write(
                dir.join(format!("{name}.card.md")),
                crate::report::model_card(outcome),
            )
        });
        if let (Err(e), Some(report)) = (written, outcome.report.as_mut()) {
            report.notes.push(format!(
                "the artifacts could not be written to {}: {e}",
                dir.display()
            ));
        }
    }
    evidence
}

pub(super) fn code(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Go | Verdict::Neutral => exit::CLEAN,
        Verdict::NoGo => exit::FINDINGS,
    }
}

fn print(evidence: &Evidence, format: DataFormat, base: Option<&str>) {
    match format {
        DataFormat::Json => println!("{}", output::json(evidence)),
        DataFormat::Markdown => println!("{}", crate::report::evidence_markdown(evidence)),
        DataFormat::Text => print!("{}", text(evidence, base)),
    }
}

fn text(evidence: &Evidence, base: Option<&str>) -> String {
    let mut out = format!("verdict: {}\n", evidence.verdict);
    for reason in &evidence.reasons {
        out.push_str(&format!("  - {reason}\n"));
    }
    if !evidence.datasets.is_empty() {
        out.push('\n');
        out.push_str(&text_report(&evidence.datasets, base));
    }
    for model in &evidence.models {
        out.push('\n');
        out.push_str(&model_text(model, true));
    }
    let stamp_head = evidence.head_commit.as_deref().unwrap_or("unknown");
    out.push_str(&format!(
        "\nstamp: head {stamp_head}, base {}\n",
        evidence.base_commit.as_deref().unwrap_or("none")
    ));
    out
}

/// A model: its verdict, its metrics beside the base's (with the change)
/// and the baseline's, and its gates (only the failed ones unless `verbose`).
pub(super) fn model_text(model: &ModelOutcome, verbose: bool) -> String {
    let mut out = String::new();
    let what = model
        .report
        .as_ref()
        .and_then(|r| {
            let algorithm = r.algorithm?;
            Some(format!(
                " ({}, {} training / {} test rows, {} features)",
                algorithm.name(),
                r.train_rows,
                r.test_rows,
                r.features.len()
            ))
        })
        .unwrap_or_default();
    out.push_str(&format!("model {}{what}: {}\n", model.name, model.verdict));
    if let Some(error) = &model.error {
        out.push_str(&format!("  error: {error}\n"));
    }
    if let Some(report) = &model.report {
        out.push_str(&metrics_table(model, report));
        for note in &report.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
    }
    if let Some(note) = &model.base_note {
        out.push_str(&format!("  base: {note}\n"));
    }
    let passed = model.gates.iter().filter(|g| g.passed).count();
    if passed > 0 && !verbose {
        out.push_str(&format!(
            "  {passed} gate{} passed\n",
            if passed == 1 { "" } else { "s" }
        ));
    }
    for gate in model.gates.iter().filter(|g| verbose || !g.passed) {
        out.push_str(&format!(
            "  {} {}: {} — {}\n",
            if gate.passed { "pass" } else { "FAIL" },
            gate.gate,
            gate.condition,
            gate.observed
        ));
    }
    out
}

fn metrics_table(model: &ModelOutcome, report: &crate::model::training::ModelReport) -> String {
    let show = |v: Option<f64>| v.map(format_metric).unwrap_or_else(|| "-".into());
    let mut out = format!(
        "  {:<20} {:>10} {:>10} {:>10} {:>10}\n",
        "metric", "value", "base", "Δ", "baseline"
    );
    for name in model
        .shown_metrics
        .iter()
        .filter(|m| report.evaluation.metrics.contains_key(*m))
    {
        let value = report.evaluation.metrics.get(name).copied();
        let base = model
            .base_metrics
            .as_ref()
            .and_then(|b| b.get(name))
            .copied();
        let delta = match (value, base) {
            // A change that rounds to nothing is shown as none, not "-0.0000".
            (Some(v), Some(b)) if (v - b).abs() < 5e-5 => "0".into(),
            (Some(v), Some(b)) => format!("{:+.4}", v - b),
            _ => "-".into(),
        };
        out.push_str(&format!(
            "  {:<20} {:>10} {:>10} {:>10} {:>10}\n",
            name,
            show(value),
            show(base),
            delta,
            show(report.baseline.metrics.get(name).copied()),
        ));
    }
    out
}
