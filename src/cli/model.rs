//! `dslp train` and `dslp check`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::common::{exit, load_repository};
use super::data::{DataFormat, text_report};
use super::output;
use crate::config::{self, RepoConfig};
use crate::data::source::Sources;
use crate::evidence::{self, Evidence, Request};
use crate::lifecycle::Rulebook;
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
pub struct CheckArgs {
    /// The base revision; by default the collaboration branch.
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// The branch whose policy applies; by default the checked-out branch.
    #[arg(long, value_name = "NAME")]
    branch: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Args)]
struct CommonArgs {
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The repository root; by default the git work tree around the current directory.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Write each trained model and its model card here.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: DataFormat,
}

fn load(common: &CommonArgs) -> Result<(PathBuf, RepoConfig)> {
    let (root, _, config) = load_repository(common.root.as_deref(), common.config.as_deref())?;
    Ok((root, config))
}

pub fn train(args: TrainArgs) -> Result<i32> {
    let (root, config) = load(&args.common)?;
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

pub fn check(args: CheckArgs) -> Result<i32> {
    let (root, config) = load(&args.common)?;
    let rulebook = config.rulebook(config::CONFIG_PATH)?;
    let branch = match args.branch {
        Some(branch) => branch,
        None => {
            current_branch(&root).context("cannot tell the checked-out branch; pass --branch")?
        }
    };
    let base = args
        .base
        .or_else(|| default_base(&root, &rulebook, &branch));
    let head = rulebook.conventions.classify(&branch);
    let evidence_kind = head
        .kind
        .map(|k| rulebook.conventions.policies.get(k).policy.evidence)
        .unwrap_or_default();
    let evidence = evidence::gather(&Request {
        root: &root,
        config: &config,
        base: base.as_deref(),
        models: &[],
        datasets: &[],
        run_data_tests: evidence_kind.data_tests,
        run_training: evidence_kind.training,
        keep_artifacts: args.common.output.is_some(),
        sources: &Sources::default(),
    });
    let evidence = write_artifacts(evidence, args.common.output.as_deref());
    if !matches!(args.common.format, DataFormat::Json) {
        let kind = head
            .kind
            .map(|k| format!("{k} branch"))
            .unwrap_or_else(|| "branch of no DSLP kind".into());
        let against = base
            .as_deref()
            .map(|b| format!(" versus `{b}`"))
            .unwrap_or_default();
        if matches!(args.common.format, DataFormat::Text) {
            println!("checking `{branch}` ({kind}){against}");
        }
    }
    print(&evidence, args.common.format, base.as_deref());
    Ok(code(evidence.verdict))
}

/// Writes each trained model (`NAME.model.json`) and its model card
/// (`NAME.card.md`) into `dir`, taking the models out of the evidence; a
/// model that cannot be written says so in its notes.
fn write_artifacts(mut evidence: Evidence, dir: Option<&Path>) -> Evidence {
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

fn code(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Go | Verdict::Neutral => exit::CLEAN,
        Verdict::NoGo => exit::FINDINGS,
    }
}

fn current_branch(root: &Path) -> Option<String> {
    let repo = git2::Repository::discover(root).ok()?;
    let head = repo.head().ok()?;
    head.shorthand().ok().map(str::to_string)
}

/// The first collaboration branch that exists, unless we are on it.
fn default_base(root: &Path, rulebook: &Rulebook, branch: &str) -> Option<String> {
    if rulebook.conventions.branches.is_collaboration(branch) {
        return None;
    }
    let repo = git2::Repository::discover(root).ok()?;
    rulebook
        .conventions
        .branches
        .main
        .iter()
        .find(|name| repo.revparse_single(name).is_ok())
        .cloned()
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
        out.push_str(&format!("\nmodel {}: {}\n", model.name, model.verdict));
        if let Some(error) = &model.error {
            out.push_str(&format!("  error: {error}\n"));
        }
        if let Some(report) = &model.report {
            if let Some(algorithm) = report.algorithm {
                out.push_str(&format!(
                    "  {} on {} training / {} test rows, {} features\n",
                    algorithm.name(),
                    report.train_rows,
                    report.test_rows,
                    report.features.len()
                ));
            }
            out.push_str(&format!(
                "  {:<20} {:>10} {:>10} {:>10}\n",
                "metric", "value", "base", "baseline"
            ));
            for name in model
                .shown_metrics
                .iter()
                .filter(|m| report.evaluation.metrics.contains_key(*m))
            {
                let show = |v: Option<f64>| v.map(format_metric).unwrap_or_else(|| "-".into());
                out.push_str(&format!(
                    "  {:<20} {:>10} {:>10} {:>10}\n",
                    name,
                    show(report.evaluation.metrics.get(name).copied()),
                    show(
                        model
                            .base_metrics
                            .as_ref()
                            .and_then(|b| b.get(name))
                            .copied()
                    ),
                    show(report.baseline.metrics.get(name).copied()),
                ));
            }
            for note in &report.notes {
                out.push_str(&format!("  note: {note}\n"));
            }
        }
        if let Some(note) = &model.base_note {
            out.push_str(&format!("  base: {note}\n"));
        }
        for gate in &model.gates {
            out.push_str(&format!(
                "  {} {}: {} — {}\n",
                if gate.passed { "pass" } else { "FAIL" },
                gate.gate,
                gate.condition,
                gate.observed
            ));
        }
    }
    let stamp_head = evidence.head_commit.as_deref().unwrap_or("unknown");
    out.push_str(&format!(
        "\nstamp: head {stamp_head}, base {}\n",
        evidence.base_commit.as_deref().unwrap_or("none")
    ));
    out
}
