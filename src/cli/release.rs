//! `dslp release`: train one model and write a versioned release of it —
//! the assets a GitHub Release carries, and its notes — its version decided
//! from the previous release's record by DSLP's rules.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::common::{exit, load_repository};
use crate::data::source::Sources;
use crate::evidence::{self, Request};
use crate::model::artifact::ModelArtifact;
use crate::model::release::{self, ReleaseFacts};
use crate::report::release::{ReleaseRecord, notes, tag};

#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// The model to release (a name under `models:`).
    #[arg(long)]
    model: String,
    /// Where the release's files go.
    #[arg(long, value_name = "DIR")]
    output: PathBuf,
    /// The previous release's record (NAME.release.json); none for a first release.
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,
    /// The repository root; by default the git work tree around the current directory.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

pub fn run(args: ReleaseArgs) -> Result<i32> {
    let (root, _, config) = load_repository(args.root.as_deref(), None)?;
    if !config.models.contains_key(&args.model) {
        let known: Vec<&str> = config.models.keys().map(String::as_str).collect();
        bail!(
            "no model `{}` in the config; the models are {}",
            args.model,
            known.join(", ")
        );
    }
    let previous = args.previous.as_deref().map(read_record).transpose()?;
    let mut evidence = evidence::gather(&Request {
        root: &root,
        config: &config,
        base: None,
        models: std::slice::from_ref(&args.model),
        datasets: &[],
        run_data_tests: false,
        run_training: true,
        keep_artifacts: true,
        sources: &Sources::default(),
    });
    let outcome = evidence
        .models
        .iter_mut()
        .find(|m| m.name == args.model)
        .ok_or_else(|| anyhow!("model `{}` was not trained", args.model))?;
    let artifact = outcome.artifact.take().ok_or_else(|| {
        anyhow!(
            "model `{}` could not be trained: {}",
            args.model,
            outcome
                .error
                .clone()
                .unwrap_or_else(|| "no artifact (its metrics come from a file)".into())
        )
    })?;
    let facts = ReleaseFacts::of(&artifact)
        .ok_or_else(|| anyhow!("model `{}` has no algorithm to release", args.model))?;
    let decision = release::decide(previous.as_ref().map(|p| (p.version, &p.facts)), &facts);
    let record = ReleaseRecord {
        model: args.model.clone(),
        tag: tag(&args.model, decision.version),
        version: decision.version,
        metrics: outcome.metrics().cloned().unwrap_or_default(),
        commit: artifact.stamp.head_commit.clone(),
        decision,
        facts,
    };
    write_assets(
        &args.output,
        &record,
        &artifact,
        previous.as_ref(),
        &crate::report::model_card(outcome),
    )?;
    match record.decision.bump {
        Some(bump) => println!(
            "{} ({}: {})",
            record.tag,
            format!("{bump:?}").to_lowercase(),
            record.decision.reasons.join("; ")
        ),
        None => println!("{} (first release)", record.tag),
    }
    println!("  assets in {}", args.output.display());
    Ok(exit::CLEAN)
}

fn read_record(path: &Path) -> Result<ReleaseRecord> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| {
        anyhow!(
            "{} is not a release record ({e}): pass the previous release's NAME.release.json",
            path.display()
        )
    })
}

/// The release's files: the model, its card, input and output schemas, the
/// reference profile, the stamp, the record and the notes.
fn write_assets(
    dir: &Path,
    record: &ReleaseRecord,
    artifact: &ModelArtifact,
    previous: Option<&ReleaseRecord>,
    card: &str,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = &record.model;
    let output = artifact.output.as_ref().map(|o| o.json_schema());
    let files: Vec<(String, String)> = vec![
        (format!("{name}.model.json"), pretty(artifact)?),
        (format!("{name}.card.md"), card.to_string()),
        (
            format!("{name}.input.schema.json"),
            pretty(&artifact.input_schema().json_schema())?,
        ),
        (format!("{name}.output.schema.json"), pretty(&output)?),
        (
            format!("{name}.reference.json"),
            pretty(&artifact.reference)?,
        ),
        (format!("{name}.stamp.json"), pretty(&artifact.stamp)?),
        (format!("{name}.release.json"), pretty(record)?),
        (format!("{name}.notes.md"), notes(record, previous)),
    ];
    for (file, text) in files {
        let path = dir.join(&file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn pretty(value: &impl serde::Serialize) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)?)
}
